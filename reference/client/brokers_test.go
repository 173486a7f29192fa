package client

import (
	"fmt"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

var versions = []struct {
	name string
	v    codec.Version
}{{"v311", codec.V311}, {"v5", codec.V5}}

// TestMosquittoQoS publishes at every QoS and subscribes at every QoS, in both versions: the
// delivered QoS is the minimum of the two, the payload and topic survive, and the order holds.
func TestQoS(t *testing.T) {
	forEachBroker(t, func(t *testing.T, m testBroker) {
		for _, ver := range versions {
			for pubQoS := byte(0); pubQoS <= 2; pubQoS++ {
				for subQoS := byte(0); subQoS <= 2; subQoS++ {
					t.Run(fmt.Sprintf("%s/pub%d/sub%d", ver.name, pubQoS, subQoS), func(t *testing.T) {
						topic := uniq(t)
						sub := dial(t, m.URL(), Options{ClientID: "sub-" + topic, Version: ver.v, CleanStart: true, KeepAlive: 30})
						pub := dial(t, m.URL(), Options{ClientID: "pub-" + topic, Version: ver.v, CleanStart: true, KeepAlive: 30})
						in := newInbox()
						codes, err := sub.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: topic + "/#", QoS: subQoS}}, in.handler)
						if err != nil {
							t.Fatal(err)
						}
						if len(codes) != 1 || codes[0] != codec.ReasonCode(subQoS) {
							t.Fatalf("SUBACK codes %v, want [%d]", codes, subQoS)
						}
						const n = 20
						for i := 0; i < n; i++ {
							msg := &Message{Topic: fmt.Sprintf("%s/%d", topic, i%3), QoS: pubQoS, Payload: []byte(fmt.Sprintf("msg %d", i))}
							if err := pub.Publish(ctxT(t, 5*time.Second), msg); err != nil {
								t.Fatalf("publish %d: %v", i, err)
							}
						}
						want := min(pubQoS, subQoS)
						for i := 0; i < n; i++ {
							got := in.next(t, 5*time.Second)
							if string(got.Payload) != fmt.Sprintf("msg %d", i) || got.Topic != fmt.Sprintf("%s/%d", topic, i%3) || got.QoS != want || got.Retain || got.Dup {
								t.Fatalf("message %d: topic %q payload %q qos %d retain %t dup %t; want %q, %q, qos %d",
									i, got.Topic, got.Payload, got.QoS, got.Retain, got.Dup, fmt.Sprintf("%s/%d", topic, i%3), fmt.Sprintf("msg %d", i), want)
							}
						}
						in.none(t, 50*time.Millisecond)
					})
				}
			}
		}
	})
}

func TestRetained(t *testing.T) {
	forEachBroker(t, func(t *testing.T, m testBroker) {
		for _, ver := range versions {
			t.Run(ver.name, func(t *testing.T) {
				topic := uniq(t)
				pub := dial(t, m.URL(), Options{ClientID: "pub-" + topic, Version: ver.v, CleanStart: true})
				if err := pub.Publish(ctxT(t, 5*time.Second), &Message{Topic: topic, QoS: 1, Retain: true, Payload: []byte("kept")}); err != nil {
					t.Fatal(err)
				}
				sub := dial(t, m.URL(), Options{ClientID: "sub-" + topic, Version: ver.v, CleanStart: true})
				in := newInbox()
				if _, err := sub.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: topic, QoS: 1}}, in.handler); err != nil {
					t.Fatal(err)
				}
				got := in.next(t, 5*time.Second)
				if !got.Retain || string(got.Payload) != "kept" || got.QoS != 1 {
					t.Fatalf("retained message: retain %t payload %q qos %d", got.Retain, got.Payload, got.QoS)
				}
				// An empty retained message clears it.
				if err := pub.Publish(ctxT(t, 5*time.Second), &Message{Topic: topic, QoS: 1, Retain: true}); err != nil {
					t.Fatal(err)
				}
				in.next(t, 5*time.Second) // the live (non-retained) copy of the clearing message
				sub2 := dial(t, m.URL(), Options{ClientID: "sub2-" + topic, Version: ver.v, CleanStart: true})
				in2 := newInbox()
				if _, err := sub2.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: topic, QoS: 1}}, in2.handler); err != nil {
					t.Fatal(err)
				}
				in2.none(t, 200*time.Millisecond)
			})
		}
	})
}

// TestMosquittoWill: an abrupt end publishes the Will; Disconnect discards it; 5.0 KeepWill
// (DISCONNECT 0x04) publishes it.
func TestWill(t *testing.T) {
	forEachBroker(t, func(t *testing.T, m testBroker) {
		cases := []struct {
			name     string
			v        codec.Version
			end      func(c *Client)
			wantWill bool
		}{
			{"v311/abrupt", codec.V311, func(c *Client) { c.abort() }, true},
			{"v5/abrupt", codec.V5, func(c *Client) { c.abort() }, true},
			{"v311/disconnect", codec.V311, func(c *Client) { c.Disconnect(ctxT(t, 5*time.Second)) }, false},
			{"v5/disconnect", codec.V5, func(c *Client) { c.Disconnect(ctxT(t, 5*time.Second)) }, false},
			{"v5/keep-will", codec.V5, func(c *Client) { c.DisconnectWith(ctxT(t, 5*time.Second), DisconnectOptions{KeepWill: true}) }, true},
			{"v311/keep-will", codec.V311, func(c *Client) { c.DisconnectWith(ctxT(t, 5*time.Second), DisconnectOptions{KeepWill: true}) }, true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				topic := uniq(t)
				watcher := dial(t, m.URL(), Options{ClientID: "w-" + topic, Version: tc.v, CleanStart: true})
				in := newInbox()
				if _, err := watcher.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: topic, QoS: 1}}, in.handler); err != nil {
					t.Fatal(err)
				}
				will := &Will{Topic: topic, Payload: []byte("gone"), QoS: 1}
				if tc.v == codec.V5 {
					will.Properties.AddUser("why", "test")
				}
				c := dial(t, m.URL(), Options{ClientID: "c-" + topic, Version: tc.v, CleanStart: true, Will: will})
				tc.end(c)
				if !tc.wantWill {
					in.none(t, 300*time.Millisecond)
					return
				}
				got := in.next(t, 5*time.Second)
				if string(got.Payload) != "gone" || got.QoS != 1 {
					t.Fatalf("will: payload %q qos %d", got.Payload, got.QoS)
				}
				if tc.v == codec.V5 && (len(got.Properties.User) != 1 || got.Properties.User[0] != (codec.UserProperty{Key: "why", Value: "test"})) {
					t.Fatalf("will user properties %v", got.Properties.User)
				}
			})
		}
	})
}

// TestMosquittoPersistentSession: messages published while a persistent subscriber is away are
// delivered when it comes back with Clean Start 0, and the session is present.
func TestPersistentSession(t *testing.T) {
	forEachBroker(t, func(t *testing.T, m testBroker) {
		for _, ver := range versions {
			t.Run(ver.name, func(t *testing.T) {
				topic := uniq(t)
				o := Options{ClientID: "p-" + topic, Version: ver.v, CleanStart: true}
				if ver.v == codec.V5 {
					o.SessionExpiry = 300
				}
				in := newInbox()
				sub := dial(t, m.URL(), o)
				if _, err := sub.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: topic, QoS: 2}}, in.handler); err != nil {
					t.Fatal(err)
				}
				if ver.v == codec.V311 {
					// 3.1.1 keeps the session only without Clean Session: reconnect once that way.
					closeClient(t, sub)
					o.CleanStart = false
					sub = dial(t, m.URL(), o)
					if _, err := sub.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: topic, QoS: 2}}, in.handler); err != nil {
						t.Fatal(err)
					}
				}
				closeClient(t, sub)

				pub := dial(t, m.URL(), Options{ClientID: "pub-" + topic, Version: ver.v, CleanStart: true})
				for i := 0; i < 5; i++ {
					if err := pub.Publish(ctxT(t, 5*time.Second), &Message{Topic: topic, QoS: byte(i % 3), Payload: []byte{byte('a' + i)}}); err != nil {
						t.Fatal(err)
					}
				}
				// Back with Clean Start 0: the queued QoS 1 and 2 messages (and mosquitto's queued QoS 0)
				// reach OnMessage, since no Subscribe was made by this Client.
				o.CleanStart = false
				present := make(chan bool, 1)
				o.OnConnect = func(_ *Client, ack *codec.Connack) { present <- ack.SessionPresent }
				o.OnMessage = in.handler
				dial(t, m.URL(), o)
				if !<-present {
					t.Fatal("CONNACK Session Present 0 for a persistent session")
				}
				// The QoS 1 and 2 messages b, c, e are queued for the session, in order; a broker may
				// also queue QoS 0 ones (mosquitto does not, by default).
				var got []byte
				for len(got) < 3 {
					msg := in.next(t, 5*time.Second)
					if msg.QoS > 0 {
						got = append(got, msg.Payload...)
					}
				}
				if string(got) != "bce" {
					t.Fatalf("queued QoS 1/2 messages %q, want \"bce\"", got)
				}
				for {
					select {
					case msg := <-in.ch:
						if msg.QoS > 0 {
							t.Fatalf("extra queued message %q at QoS %d", msg.Payload, msg.QoS)
						}
						continue
					case <-time.After(100 * time.Millisecond):
					}
					break
				}
				in.none(t, 100*time.Millisecond)
			})
		}
	})
}

// TestMosquittoReconnectAfterRestart: the broker restarts (losing every session, persistence is
// off); the client reconnects with backoff, resubscribes, sends the QoS 1 message queued while
// it was away, and receives again.
func TestReconnectAfterRestart(t *testing.T) {
	forEachBroker(t, func(t *testing.T, m testBroker) {
		for _, ver := range versions {
			t.Run(ver.name, func(t *testing.T) {
				topic := uniq(t)
				lostCh := make(chan error, 4)
				ups := make(chan bool, 4)
				in := newInbox()
				o := Options{ClientID: "r-" + topic, Version: ver.v, KeepAlive: 5, AutoReconnect: true,
					ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
					OnConnectionLost: func(_ *Client, err error) { lostCh <- err },
					OnConnect:        func(_ *Client, ack *codec.Connack) { ups <- ack.SessionPresent }}
				if ver.v == codec.V5 {
					o.SessionExpiry = 600
				}
				c := dial(t, m.URL(), o)
				<-ups
				if _, err := c.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: topic + "/+", QoS: 1}}, in.handler); err != nil {
					t.Fatal(err)
				}
				m.Stop()
				select {
				case err := <-lostCh:
					if err == nil {
						t.Fatal("OnConnectionLost with a nil error")
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the client did not notice that the broker stopped")
				}
				// Published while the broker is down: stored, then sent on the next connection.
				published := make(chan error, 1)
				go func() {
					published <- c.Publish(ctxT(t, 20*time.Second), &Message{Topic: topic + "/queued", QoS: 1, Payload: []byte("while away")})
				}()
				time.Sleep(100 * time.Millisecond)
				m.Start()
				select {
				case present := <-ups:
					if present {
						t.Fatal("Session Present 1 from a restarted broker without persistence")
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no reconnection within 10s of the broker's restart")
				}
				if err := <-published; err != nil {
					t.Fatalf("QoS 1 publish queued while disconnected: %v", err)
				}
				got := in.next(t, 5*time.Second) // resubscribed: our own message comes back
				if got.Topic != topic+"/queued" || string(got.Payload) != "while away" {
					t.Fatalf("got %q on %q", got.Payload, got.Topic)
				}
				pub := dial(t, m.URL(), Options{ClientID: "rp-" + topic, Version: ver.v, CleanStart: true})
				if err := pub.Publish(ctxT(t, 5*time.Second), &Message{Topic: topic + "/after", QoS: 1, Payload: []byte("hello again")}); err != nil {
					t.Fatal(err)
				}
				if got := in.next(t, 5*time.Second); string(got.Payload) != "hello again" {
					t.Fatalf("after restart got %q", got.Payload)
				}
			})
		}
	})
}
