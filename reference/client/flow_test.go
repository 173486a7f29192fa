package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/client/store"
)

// publishAsync starts a Publish and returns the channel its result arrives on.
func publishAsync(t *testing.T, c *Client, m *Message) chan error {
	ch := make(chan error, 1)
	go func() { ch <- c.Publish(ctxT(t, 20*time.Second), m) }()
	return ch
}

func waitErr(t *testing.T, ch chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("call did not return within 10s")
	}
	return nil
}

func persistent(v codec.Version) Options {
	o := Options{ClientID: "persistent", Version: v, AutoReconnect: true, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond}
	if v == codec.V5 {
		o.SessionExpiry = 100
	}
	return o
}

// TestResendOnReconnect: unacknowledged PUBLISH packets go again, with DUP 1, their original
// identifiers and in their original order, on the next connection with a session — and at no
// other time (MQTT-4.4.0-1, MQTT-3.3.1-1, MQTT-4.6.0-1); a PUBREL is resent instead of a QoS 2
// PUBLISH whose PUBREC arrived (MQTT-4.3.3-6).
func TestResendOnReconnect(t *testing.T) {
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			c, fc, _ := connectFake(t, fb, persistent(ver.v), false, nil)
			qos := []byte{1, 2, 2, 1}
			var results []chan error
			var first []*codec.Publish
			for i, q := range qos {
				results = append(results, publishAsync(t, c, &Message{Topic: "t", QoS: q, Payload: []byte{byte('a' + i)}}))
				p := fc.expect(codec.PUBLISH).(*codec.Publish)
				if p.Dup || p.QoS != q || p.PacketID == 0 || string(p.Payload) != string(rune('a'+i)) {
					t.Fatalf("first send %v", p)
				}
				first = append(first, p)
			}
			// PUBREC for the second (QoS 2): the client answers PUBREL.
			fc.send(&codec.Pubrec{PacketID: first[1].PacketID})
			if rel := fc.expect(codec.PUBREL).(*codec.Pubrel); rel.PacketID != first[1].PacketID {
				t.Fatalf("PUBREL %v", rel)
			}
			fc.expectNothing(300 * time.Millisecond) // no retransmission on the same connection
			fc.nc.Close()

			fc2, cp := fb.accept(ver.v)
			if cp.CleanStart {
				t.Fatal("reconnection with Clean Start 1")
			}
			fc2.connack(true, nil)
			// PUBREL first (it is not held by the quota), then the PUBLISH packets in order.
			if rel := fc2.expect(codec.PUBREL).(*codec.Pubrel); rel.PacketID != first[1].PacketID {
				t.Fatalf("resent PUBREL %v, want id %d", rel, first[1].PacketID)
			}
			for _, i := range []int{0, 2, 3} {
				p := fc2.expect(codec.PUBLISH).(*codec.Publish)
				if !p.Dup || p.PacketID != first[i].PacketID || p.QoS != first[i].QoS || string(p.Payload) != string(first[i].Payload) {
					t.Fatalf("resend %d: %v, want DUP, id %d", i, p, first[i].PacketID)
				}
			}
			fc2.send(&codec.Puback{PacketID: first[0].PacketID})
			fc2.send(&codec.Pubcomp{PacketID: first[1].PacketID})
			fc2.send(&codec.Pubrec{PacketID: first[2].PacketID})
			fc2.expect(codec.PUBREL)
			fc2.send(&codec.Pubcomp{PacketID: first[2].PacketID})
			fc2.send(&codec.Puback{PacketID: first[3].PacketID})
			for i, r := range results {
				if err := waitErr(t, r); err != nil {
					t.Fatalf("publish %d: %v", i, err)
				}
			}
			fc2.expectNothing(100 * time.Millisecond)
			if e, _ := c.store.Entries(); len(e) != 0 {
				t.Fatalf("store still holds %d entries", len(e))
			}
		})
	}
}

// TestSessionLostOnReconnect: Session Present 0 makes the client discard its in-flight state
// (MQTT-3.2.2-5): nothing is resent and the waiting Publish calls get ErrSessionLost; messages
// that never left are sent as new ones.
func TestSessionLostOnReconnect(t *testing.T) {
	fb := newFakeBroker(t)
	c, fc, _ := connectFake(t, fb, persistent(codec.V5), false, func(p *codec.Properties) { p.SetReceiveMaximum(1) })
	sent := publishAsync(t, c, &Message{Topic: "t", QoS: 1, Payload: []byte("sent")})
	fc.expect(codec.PUBLISH)
	queued := publishAsync(t, c, &Message{Topic: "t", QoS: 2, Payload: []byte("queued")}) // held by the quota of 1
	fc.expectNothing(100 * time.Millisecond)
	fc.nc.Close()
	fc2, _ := fb.accept(codec.V5)
	fc2.connack(false, nil)
	if err := waitErr(t, sent); !errors.Is(err, ErrSessionLost) {
		t.Fatalf("Publish = %v, want ErrSessionLost", err)
	}
	p := fc2.expect(codec.PUBLISH).(*codec.Publish)
	if string(p.Payload) != "queued" || p.Dup {
		t.Fatalf("after the session loss sent %v, want the never-sent message without DUP", p)
	}
	fc2.send(&codec.Pubrec{PacketID: p.PacketID})
	fc2.expect(codec.PUBREL)
	fc2.send(&codec.Pubcomp{PacketID: p.PacketID})
	if err := waitErr(t, queued); err != nil {
		t.Fatal(err)
	}
}

// TestReceiveMaximumRespected: no more than the server's Receive Maximum QoS 1/2 PUBLISH
// unacknowledged (MQTT-3.3.4-7); QoS 0 and other packets are not held back (MQTT-3.3.4-8).
func TestReceiveMaximumRespected(t *testing.T) {
	fb := newFakeBroker(t)
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a"}, false, func(p *codec.Properties) { p.SetReceiveMaximum(2) })
	var results []chan error
	for i := 0; i < 5; i++ {
		results = append(results, publishAsync(t, c, &Message{Topic: "t", QoS: byte(1 + i%2), Payload: []byte{byte(i)}}))
	}
	var inflight []*codec.Publish
	for i := 0; i < 2; i++ {
		inflight = append(inflight, fc.expect(codec.PUBLISH).(*codec.Publish))
	}
	fc.expectNothing(200 * time.Millisecond)
	// QoS 0 and SUBSCRIBE still go out at quota 0.
	if err := c.Publish(ctxT(t, time.Second), &Message{Topic: "zero", Payload: []byte("q0")}); err != nil {
		t.Fatal(err)
	}
	if p := fc.expect(codec.PUBLISH).(*codec.Publish); p.QoS != 0 || p.Topic != "zero" {
		t.Fatalf("got %v, want the QoS 0 PUBLISH", p)
	}
	acked, failed := 0, false
	for acked < 5 {
		p := inflight[0]
		inflight = inflight[1:]
		switch p.QoS {
		case 1:
			fc.send(&codec.Puback{PacketID: p.PacketID})
		case 2:
			if !failed {
				failed = true
				// A PUBREC with an error ends the flow and frees quota (MQTT-4.4.0-2).
				fc.send(&codec.Pubrec{PacketID: p.PacketID, ReasonCode: codec.ReasonQuotaExceeded})
			} else {
				fc.send(&codec.Pubrec{PacketID: p.PacketID})
				fc.expect(codec.PUBREL)
				fc.expectNothing(50 * time.Millisecond) // still counted until PUBCOMP
				fc.send(&codec.Pubcomp{PacketID: p.PacketID})
			}
		}
		acked++
		if acked <= 3 {
			inflight = append(inflight, fc.expect(codec.PUBLISH).(*codec.Publish))
		}
	}
	var errs []string
	for _, r := range results {
		if err := waitErr(t, r); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) != 1 || errs[0] != "PUBREC 0x97 Quota exceeded" {
		t.Fatalf("publish errors %q, want exactly [PUBREC 0x97 Quota exceeded]", errs)
	}
}

// TestPacketIDs: identifiers are never 0 and never one still in flight (MQTT-2.2.1-3).
func TestPacketIDs(t *testing.T) {
	fb := newFakeBroker(t)
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a"}, false, nil)
	c.mu.Lock()
	c.nextID = 65533
	c.mu.Unlock()
	held := publishAsync(t, c, &Message{Topic: "t", QoS: 1})
	p1 := fc.expect(codec.PUBLISH).(*codec.Publish) // 65534, left in flight
	r2 := publishAsync(t, c, &Message{Topic: "t", QoS: 2})
	p2 := fc.expect(codec.PUBLISH).(*codec.Publish) // 65535
	r3 := publishAsync(t, c, &Message{Topic: "t", QoS: 1})
	p3 := fc.expect(codec.PUBLISH).(*codec.Publish) // wraps to 1, never 0
	if p1.PacketID != 65534 || p2.PacketID != 65535 || p3.PacketID != 1 {
		t.Fatalf("ids %d %d %d, want 65534 65535 1", p1.PacketID, p2.PacketID, p3.PacketID)
	}
	fc.send(&codec.Pubrec{PacketID: 65535})
	fc.expect(codec.PUBREL)
	fc.send(&codec.Pubcomp{PacketID: 65535})
	fc.send(&codec.Puback{PacketID: 1})
	waitErr(t, r2)
	waitErr(t, r3)
	c.mu.Lock()
	c.nextID = 65533
	c.mu.Unlock()
	// 65534 is still in flight: the next identifier is 65535, also for SUBSCRIBE.
	subDone := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: "x"}}, func(*Message) {})
		subDone <- err
	}()
	s := fc.expect(codec.SUBSCRIBE).(*codec.Subscribe)
	if s.PacketID != 65535 {
		t.Fatalf("SUBSCRIBE id %d, want 65535", s.PacketID)
	}
	fc.send(&codec.Suback{PacketID: 65535, ReasonCodes: []codec.ReasonCode{0}})
	if err := waitErr(t, subDone); err != nil {
		t.Fatal(err)
	}
	fc.send(&codec.Puback{PacketID: 65534})
	if err := waitErr(t, held); err != nil {
		t.Fatal(err)
	}
}

// TestServerLimits: Maximum Packet Size (MQTT-3.2.2-15), Maximum QoS (MQTT-3.2.2-11) and Retain
// Available (MQTT-3.2.2-14) are enforced before anything is sent.
func TestServerLimits(t *testing.T) {
	cases := []struct {
		name  string
		props func(*codec.Properties)
		msg   Message
		want  error
	}{
		{"too large qos0", func(p *codec.Properties) { p.SetMaximumPacketSize(64) }, Message{Topic: "t", Payload: make([]byte, 100)}, ErrPacketTooLarge},
		{"too large qos1", func(p *codec.Properties) { p.SetMaximumPacketSize(64) }, Message{Topic: "t", QoS: 1, Payload: make([]byte, 100)}, ErrPacketTooLarge},
		{"max qos 1", func(p *codec.Properties) { p.SetMaximumQoS(1) }, Message{Topic: "t", QoS: 2}, ErrQoSNotSupported},
		{"max qos 0", func(p *codec.Properties) { p.SetMaximumQoS(0) }, Message{Topic: "t", QoS: 1}, ErrQoSNotSupported},
		{"retain unavailable", func(p *codec.Properties) { p.SetRetainAvailable(0) }, Message{Topic: "t", Retain: true}, ErrRetainNotSupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			c, fc, _ := connectFake(t, fb, Options{ClientID: "a"}, false, tc.props)
			if err := c.Publish(ctxT(t, time.Second), &tc.msg); !errors.Is(err, tc.want) {
				t.Fatalf("Publish = %v, want %v", err, tc.want)
			}
			fc.expectNothing(100 * time.Millisecond)
			// Within the limits it works.
			if err := c.Publish(ctxT(t, time.Second), &Message{Topic: "t", Payload: []byte("small")}); err != nil {
				t.Fatal(err)
			}
			fc.expect(codec.PUBLISH)
		})
	}
}

func TestPublishRejected(t *testing.T) {
	fb := newFakeBroker(t)
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a"}, false, nil)
	var alias, subID codec.Properties
	alias.SetTopicAlias(1)
	subID.SubscriptionIDs = []uint32{1}
	var resp codec.Properties
	resp.SetResponseTopic("r/#")
	cases := []struct {
		name string
		m    *Message
		want string
	}{
		{"nil", nil, "nil message"},
		{"empty topic", &Message{}, "not a valid topic name"},
		{"plus", &Message{Topic: "a/+"}, "not a valid topic name"},
		{"hash", &Message{Topic: "#"}, "not a valid topic name"},
		{"nul", &Message{Topic: "a\x00"}, "not a valid topic name"},
		{"qos 3", &Message{Topic: "a", QoS: 3}, "QoS 3"},
		{"topic alias", &Message{Topic: "a", Properties: alias}, "Topic Aliases itself"},
		{"subscription id", &Message{Topic: "a", Properties: subID}, "MQTT-3.3.4-6"},
		{"response topic", &Message{Topic: "a", Properties: resp}, "MQTT-3.3.2-14"},
	}
	for _, tc := range cases {
		if err := c.Publish(ctxT(t, time.Second), tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Publish = %v, want error containing %q", tc.name, err, tc.want)
		}
	}
	fc.expectNothing(100 * time.Millisecond)
}

// TestPublishPacket checks what goes on the wire for each QoS, with 5.0 properties.
func TestPublishPacket(t *testing.T) {
	fb := newFakeBroker(t)
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a"}, false, nil)
	var props codec.Properties
	props.SetContentType("text/plain").SetResponseTopic("reply/to").SetCorrelationData([]byte{1, 2}).SetMessageExpiry(30).
		SetPayloadFormat(1).AddUser("a", "b").AddUser("a", "c")
	for q := byte(0); q <= 2; q++ {
		r := publishAsync(t, c, &Message{Topic: "x/y", QoS: q, Retain: q == 1, Payload: []byte("body"), Properties: props})
		p := fc.expect(codec.PUBLISH).(*codec.Publish)
		if p.QoS != q || p.Dup || p.Retain != (q == 1) || p.Topic != "x/y" || string(p.Payload) != "body" || (q == 0) != (p.PacketID == 0) {
			t.Fatalf("QoS %d: %v", q, p)
		}
		if p.Properties.String() != props.String() {
			t.Fatalf("properties %s, want %s", p.Properties.String(), props.String())
		}
		switch q {
		case 1:
			fc.send(&codec.Puback{PacketID: p.PacketID, ReasonCode: codec.ReasonNoMatchingSubscribers})
		case 2:
			fc.send(&codec.Pubrec{PacketID: p.PacketID})
			fc.expect(codec.PUBREL)
			fc.send(&codec.Pubcomp{PacketID: p.PacketID})
		}
		if err := waitErr(t, r); err != nil { // 0x10 No matching subscribers is a success
			t.Fatalf("QoS %d: %v", q, err)
		}
	}
	// A PUBACK with an error reason is returned as a *ReasonError.
	r := publishAsync(t, c, &Message{Topic: "x", QoS: 1})
	p := fc.expect(codec.PUBLISH).(*codec.Publish)
	ack := &codec.Puback{PacketID: p.PacketID, ReasonCode: codec.ReasonNotAuthorized}
	ack.Properties.SetReasonString("acl")
	fc.send(ack)
	err := waitErr(t, r)
	var re *ReasonError
	if !errors.As(err, &re) || re.Code != codec.ReasonNotAuthorized || err.Error() != "PUBACK 0x87 Not authorized (acl)" {
		t.Fatalf("Publish = %v", err)
	}
}

func TestTopicAliasOutgoing(t *testing.T) {
	type sent struct {
		topic string
		alias uint16 // 0: no alias
	}
	cases := []struct {
		name     string
		use      bool
		serverTM uint16
		want     []sent
	}{
		{"aliases", true, 2, []sent{{"t1", 1}, {"", 1}, {"t2", 2}, {"t3", 0}, {"", 2}, {"", 1}}},
		{"server allows none", true, 0, []sent{{"t1", 0}, {"t1", 0}, {"t2", 0}, {"t3", 0}, {"t2", 0}, {"t1", 0}}},
		{"not enabled", false, 10, []sent{{"t1", 0}, {"t1", 0}, {"t2", 0}, {"t3", 0}, {"t2", 0}, {"t1", 0}}},
	}
	topics := []string{"t1", "t1", "t2", "t3", "t2", "t1"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			c, fc, _ := connectFake(t, fb, Options{ClientID: "a", UseTopicAliases: tc.use}, false, func(p *codec.Properties) {
				if tc.serverTM > 0 {
					p.SetTopicAliasMaximum(tc.serverTM)
				}
			})
			for i, topic := range topics {
				q := byte(i % 2) // QoS 1 goes through the stored-flow path
				r := publishAsync(t, c, &Message{Topic: topic, QoS: q, Payload: []byte(topic)})
				p := fc.expect(codec.PUBLISH).(*codec.Publish)
				var alias uint16
				if p.Properties.Has(codec.PropTopicAlias) {
					alias = p.Properties.TopicAlias
				}
				if p.Topic != tc.want[i].topic || alias != tc.want[i].alias || string(p.Payload) != topic {
					t.Fatalf("publish %d on %q: topic %q alias %d, want %q alias %d", i, topic, p.Topic, alias, tc.want[i].topic, tc.want[i].alias)
				}
				if q == 1 {
					fc.send(&codec.Puback{PacketID: p.PacketID})
				}
				if err := waitErr(t, r); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestTopicAliasIncoming(t *testing.T) {
	withAlias := func(topic string, alias uint16, payload string) *codec.Publish {
		p := &codec.Publish{Topic: topic, Payload: []byte(payload)}
		p.Properties.SetTopicAlias(alias)
		return p
	}
	t.Run("mapped", func(t *testing.T) {
		fb := newFakeBroker(t)
		in := newInbox()
		_, fc, _ := connectFake(t, fb, Options{ClientID: "a", TopicAliasMaximum: 3, OnMessage: in.handler}, false, nil)
		fc.send(withAlias("long/topic/name", 3, "one"))
		fc.send(withAlias("", 3, "two"))
		fc.send(withAlias("other", 3, "three")) // remapped
		fc.send(withAlias("", 3, "four"))
		for _, want := range []struct{ topic, payload string }{{"long/topic/name", "one"}, {"long/topic/name", "two"}, {"other", "three"}, {"other", "four"}} {
			m := in.next(t, 2*time.Second)
			if m.Topic != want.topic || string(m.Payload) != want.payload || m.Properties.Has(codec.PropTopicAlias) {
				t.Fatalf("got %q on %q, want %q on %q", m.Payload, m.Topic, want.payload, want.topic)
			}
		}
	})
	for _, tc := range []struct {
		name   string
		max    uint16
		p      *codec.Publish
		reason codec.ReasonCode
	}{
		{"above maximum", 3, withAlias("t", 4, "x"), codec.ReasonTopicAliasInvalid},
		{"none allowed", 0, withAlias("t", 1, "x"), codec.ReasonTopicAliasInvalid},
		{"unmapped", 3, withAlias("", 2, "x"), codec.ReasonProtocolError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			in := newInbox()
			_, fc, _ := connectFake(t, fb, Options{ClientID: "a", TopicAliasMaximum: tc.max, OnMessage: in.handler}, false, nil)
			fc.send(tc.p)
			checkDisconnect(t, codec.V5, fc.expectClosed(2*time.Second), tc.reason)
			in.none(t, 50*time.Millisecond)
		})
	}
}

// TestKeepAliveDeadServer: a server that answers nothing is declared dead within 1.5 times the
// keep alive of the last packet it sent, after one PINGREQ.
func TestKeepAliveDeadServer(t *testing.T) {
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			lostCh := make(chan error, 1)
			_, fc, _ := connectFake(t, fb, Options{ClientID: "a", Version: ver.v, KeepAlive: 1,
				OnConnectionLost: func(_ *Client, err error) { lostCh <- err }}, false, nil)
			start := time.Now()
			fc.expect(codec.PINGREQ)
			if d := time.Since(start); d < 900*time.Millisecond || d > 1200*time.Millisecond {
				t.Fatalf("PINGREQ after %v, want about the keep alive of 1s", d)
			}
			select {
			case err := <-lostCh:
				d := time.Since(start)
				if !errors.Is(err, ErrKeepAliveTimeout) {
					t.Fatalf("OnConnectionLost(%v), want ErrKeepAliveTimeout", err)
				}
				if d < 1400*time.Millisecond || d > 1700*time.Millisecond {
					t.Fatalf("declared dead after %v, want 1.5s", d)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("a silent server was not detected within 3s")
			}
		})
	}
}

// TestKeepAlivePings: with a server that answers, the client pings every keep alive while idle,
// and a Server Keep Alive replaces the client's value (MQTT-3.1.2-21).
func TestKeepAlivePings(t *testing.T) {
	fb := newFakeBroker(t)
	lostCh := make(chan error, 1)
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a", KeepAlive: 60, OnConnectionLost: func(_ *Client, err error) { lostCh <- err }},
		false, func(p *codec.Properties) { p.SetServerKeepAlive(1) })
	start := time.Now()
	for i := 1; i <= 3; i++ {
		fc.expect(codec.PINGREQ)
		at := time.Since(start)
		if at < time.Duration(i)*time.Second-150*time.Millisecond || at > time.Duration(i)*time.Second+300*time.Millisecond {
			t.Fatalf("PINGREQ %d after %v", i, at)
		}
		fc.send(&codec.Pingresp{})
	}
	select {
	case err := <-lostCh:
		t.Fatalf("connection lost: %v", err)
	default:
	}
	if !c.Connected() {
		t.Fatal("not connected")
	}
}

// TestMalformedFromServer: a malformed or forbidden packet closes the connection, in 5.0 after a
// DISCONNECT carrying the matching reason code.
func TestMalformedFromServer(t *testing.T) {
	cases := []struct {
		name   string
		v      codec.Version
		raw    []byte
		reason codec.ReasonCode
	}{
		{"v5 publish qos 3", codec.V5, []byte{0x36, 0x06, 0x00, 0x01, 'a', 0x00, 0x01, 0x00}, codec.ReasonMalformedPacket},
		{"v5 reserved type 0", codec.V5, []byte{0x00, 0x00}, codec.ReasonMalformedPacket},
		{"v5 bad varint", codec.V5, []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, codec.ReasonMalformedPacket},
		{"v5 second connack", codec.V5, []byte{0x20, 0x03, 0x00, 0x00, 0x00}, codec.ReasonProtocolError},
		{"v5 subscribe from server", codec.V5, []byte{0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x00}, codec.ReasonProtocolError},
		{"v5 pingreq from server", codec.V5, []byte{0xC0, 0x00}, codec.ReasonProtocolError},
		{"v5 puback id 0", codec.V5, []byte{0x40, 0x02, 0x00, 0x00}, codec.ReasonProtocolError},
		{"v311 publish qos 3", codec.V311, []byte{0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01}, 0},
		{"v311 disconnect from server", codec.V311, []byte{0xE0, 0x00}, 0},
		{"v311 pubrel flags", codec.V311, []byte{0x60, 0x02, 0x00, 0x01}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			lostCh := make(chan error, 1)
			_, fc, _ := connectFake(t, fb, Options{ClientID: "a", Version: tc.v, OnConnectionLost: func(_ *Client, err error) { lostCh <- err }}, false, nil)
			fc.w.WriteRaw(tc.raw)
			checkDisconnect(t, tc.v, fc.expectClosed(2*time.Second), tc.reason)
			err := <-lostCh
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("OnConnectionLost(%v), want *ProtocolError", err)
			}
			if tc.v == codec.V5 && pe.Reason != tc.reason {
				t.Fatalf("ProtocolError reason 0x%02X, want 0x%02X", byte(pe.Reason), byte(tc.reason))
			}
		})
	}
}

// TestIncomingReceiveMaximum: a server exceeding the client's Receive Maximum gets DISCONNECT 0x93.
func TestIncomingReceiveMaximum(t *testing.T) {
	fb := newFakeBroker(t)
	release := make(chan struct{})
	defer close(release)
	_, fc, _ := connectFake(t, fb, Options{ClientID: "a", ReceiveMaximum: 1, OnMessage: func(*Message) { <-release }}, false, nil)
	fc.send(&codec.Publish{Topic: "t", QoS: 1, PacketID: 1})
	fc.send(&codec.Publish{Topic: "t", QoS: 2, PacketID: 2})
	checkDisconnect(t, codec.V5, fc.expectClosed(2*time.Second), codec.ReasonReceiveMaximumExceeded)
}

// TestAckOrder: acknowledgements leave after the handler, in PUBLISH order (MQTT-4.6.0-2/-3); a
// repeated QoS 2 PUBLISH before PUBREL is acknowledged again but not delivered again
// (MQTT-4.3.3-10); PUBREL gets PUBCOMP (MQTT-4.3.3-11); after PUBCOMP the identifier is new
// (MQTT-4.3.3-12).
func TestAckOrder(t *testing.T) {
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			in := newInbox()
			gate := make(chan struct{})
			_, fc, _ := connectFake(t, fb, Options{ClientID: "a", Version: ver.v, OnMessage: func(m *Message) {
				<-gate
				in.handler(m)
			}}, false, nil)
			seq := []struct {
				qos byte
				id  uint16
			}{{1, 10}, {2, 11}, {1, 12}, {2, 13}, {0, 0}, {1, 14}}
			for i, s := range seq {
				fc.send(&codec.Publish{Topic: "t", QoS: s.qos, PacketID: s.id, Payload: []byte{byte('a' + i)}})
			}
			fc.expectNothing(100 * time.Millisecond) // the handler holds the acknowledgements
			close(gate)
			for _, s := range seq {
				if s.qos == 0 {
					continue
				}
				p := fc.expect(map[byte]codec.PacketType{1: codec.PUBACK, 2: codec.PUBREC}[s.qos])
				var id uint16
				switch p := p.(type) {
				case *codec.Puback:
					id = p.PacketID
				case *codec.Pubrec:
					id = p.PacketID
				}
				if id != s.id {
					t.Fatalf("acknowledgement %v, want id %d", p, s.id)
				}
			}
			for i := range seq {
				if m := in.next(t, time.Second); string(m.Payload) != string(rune('a'+i)) || m.QoS != seq[i].qos {
					t.Fatalf("delivery %d: %q qos %d", i, m.Payload, m.QoS)
				}
			}
			// Repeated QoS 2 PUBLISH before PUBREL: PUBREC again, no second delivery.
			fc.send(&codec.Publish{Topic: "t", QoS: 2, PacketID: 11, Dup: true, Payload: []byte("b")})
			if p := fc.expect(codec.PUBREC).(*codec.Pubrec); p.PacketID != 11 {
				t.Fatalf("got %v", p)
			}
			in.none(t, 100*time.Millisecond)
			fc.send(&codec.Pubrel{PacketID: 11})
			if p := fc.expect(codec.PUBCOMP).(*codec.Pubcomp); p.PacketID != 11 || p.ReasonCode != 0 {
				t.Fatalf("got %v", p)
			}
			fc.send(&codec.Pubrel{PacketID: 99})
			wantRC := codec.ReasonCode(0)
			if ver.v == codec.V5 {
				wantRC = codec.ReasonPacketIDNotFound
			}
			if p := fc.expect(codec.PUBCOMP).(*codec.Pubcomp); p.PacketID != 99 || p.ReasonCode != wantRC {
				t.Fatalf("PUBREL for an unknown id answered %v, want reason 0x%02X", p, byte(wantRC))
			}
			// After PUBCOMP, identifier 11 starts a new message.
			fc.send(&codec.Publish{Topic: "t", QoS: 2, PacketID: 11, Payload: []byte("new")})
			fc.expect(codec.PUBREC)
			if m := in.next(t, time.Second); string(m.Payload) != "new" {
				t.Fatalf("got %q", m.Payload)
			}
		})
	}
}

func TestSubscribe(t *testing.T) {
	fb := newFakeBroker(t)
	def := newInbox()
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a", OnMessage: def.handler, AutoReconnect: true, ReconnectMin: 10 * time.Millisecond}, false, nil)
	in := newInbox()
	type res struct {
		codes []codec.ReasonCode
		err   error
	}
	done := make(chan res, 1)
	go func() {
		codes, err := c.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{
			{Filter: "ok/#", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
			{Filter: "denied/+", QoS: 2},
			{Filter: "$share/g/shared/+", QoS: 0},
		}, in.handler, WithSubscriptionID(42), WithUserProperty("k", "v"))
		done <- res{codes, err}
	}()
	s := fc.expect(codec.SUBSCRIBE).(*codec.Subscribe)
	if len(s.Subscriptions) != 3 || s.Subscriptions[0] != (codec.Subscription{Filter: "ok/#", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2}) ||
		len(s.Properties.SubscriptionIDs) != 1 || s.Properties.SubscriptionIDs[0] != 42 || len(s.Properties.User) != 1 {
		t.Fatalf("SUBSCRIBE %v", s)
	}
	// A retained message may arrive before the SUBACK: the handler is already there.
	fc.send(&codec.Publish{Topic: "ok/early", Retain: true, Payload: []byte("early")})
	fc.send(&codec.Suback{PacketID: s.PacketID, ReasonCodes: []codec.ReasonCode{1, codec.ReasonNotAuthorized, 0}})
	r := <-done
	var re *ReasonError
	if !errors.As(r.err, &re) || r.err.Error() != `SUBACK for "denied/+": 0x87 Not authorized` || fmt.Sprint(r.codes) != fmt.Sprint([]codec.ReasonCode{1, 0x87, 0}) {
		t.Fatalf("Subscribe = %v, %v", r.codes, r.err)
	}
	if m := in.next(t, time.Second); string(m.Payload) != "early" || !m.Retain {
		t.Fatalf("got %q", m.Payload)
	}
	fc.send(&codec.Publish{Topic: "ok/a", Payload: []byte("1")})
	fc.send(&codec.Publish{Topic: "denied/a", Payload: []byte("2")}) // refused filter: default handler
	fc.send(&codec.Publish{Topic: "shared/x", Payload: []byte("3")})
	if m := in.next(t, time.Second); string(m.Payload) != "1" {
		t.Fatalf("got %q", m.Payload)
	}
	if m := def.next(t, time.Second); string(m.Payload) != "2" {
		t.Fatalf("default handler got %q", m.Payload)
	}
	if m := in.next(t, time.Second); string(m.Payload) != "3" {
		t.Fatalf("got %q", m.Payload)
	}

	// Reconnection without a session: the client subscribes again (grouped by properties).
	fc.nc.Close()
	fc2, _ := fb.accept(codec.V5)
	fc2.connack(false, nil)
	s2 := fc2.expect(codec.SUBSCRIBE).(*codec.Subscribe)
	if len(s2.Subscriptions) != 2 || s2.Subscriptions[0].Filter != "ok/#" || s2.Subscriptions[1].Filter != "$share/g/shared/+" ||
		len(s2.Properties.SubscriptionIDs) != 1 || s2.Properties.SubscriptionIDs[0] != 42 {
		t.Fatalf("resubscription %v", s2)
	}
	fc2.send(&codec.Suback{PacketID: s2.PacketID, ReasonCodes: []codec.ReasonCode{1, 0}})

	// Unsubscribe removes the handler.
	uerr := make(chan error, 1)
	go func() { uerr <- c.Unsubscribe(ctxT(t, 5*time.Second), []string{"ok/#"}, WithUserProperty("u", "1")) }()
	u := fc2.expect(codec.UNSUBSCRIBE).(*codec.Unsubscribe)
	if len(u.Filters) != 1 || u.Filters[0] != "ok/#" || len(u.Properties.User) != 1 {
		t.Fatalf("UNSUBSCRIBE %v", u)
	}
	fc2.send(&codec.Unsuback{PacketID: u.PacketID, ReasonCodes: []codec.ReasonCode{0}})
	if err := waitErr(t, uerr); err != nil {
		t.Fatal(err)
	}
	fc2.send(&codec.Publish{Topic: "ok/b", Payload: []byte("4")})
	if m := def.next(t, time.Second); string(m.Payload) != "4" {
		t.Fatalf("default handler got %q", m.Payload)
	}
	in.none(t, 50*time.Millisecond)

	// A SUBACK whose codes do not match the filters is a protocol error.
	go c.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: "a"}, {Filter: "b"}}, in.handler)
	s3 := fc2.expect(codec.SUBSCRIBE).(*codec.Subscribe)
	fc2.send(&codec.Suback{PacketID: s3.PacketID, ReasonCodes: []codec.ReasonCode{0}})
	checkDisconnect(t, codec.V5, fc2.expectClosed(2*time.Second), codec.ReasonProtocolError)
}

func TestSubscribeRejected(t *testing.T) {
	fb := newFakeBroker(t)
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a"}, false, nil)
	cases := []struct {
		name string
		subs []codec.Subscription
		opts []RequestOption
		want string
	}{
		{"none", nil, nil, "MQTT-3.8.3-3"},
		{"bad filter", []codec.Subscription{{Filter: "a/#/b"}}, nil, "not a valid topic filter"},
		{"qos 3", []codec.Subscription{{Filter: "a", QoS: 3}}, nil, "QoS 3"},
		{"retain handling 3", []codec.Subscription{{Filter: "a", RetainHandling: 3}}, nil, "Retain Handling 3"},
		{"no local shared", []codec.Subscription{{Filter: "$share/g/a", NoLocal: true}}, nil, "MQTT-3.8.3-4"},
		{"subscription id 0", []codec.Subscription{{Filter: "a"}}, []RequestOption{WithSubscriptionID(0)}, "Subscription Identifier 0"},
	}
	for _, tc := range cases {
		if _, err := c.Subscribe(ctxT(t, time.Second), tc.subs, func(*Message) {}, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Subscribe = %v, want error containing %q", tc.name, err, tc.want)
		}
	}
	fc.expectNothing(100 * time.Millisecond)
}

// TestStoreVersionMismatch: a store written by a 3.1.1 client is not replayed by a 5.0 one.
func TestStoreVersionMismatch(t *testing.T) {
	st := store.NewMemory()
	raw, _ := codec.Encode(&codec.Publish{Topic: "t", QoS: 1, PacketID: 3}, codec.V311)
	st.Put(store.Entry{Dir: store.Outgoing, ID: 3, Version: codec.V311, Packet: raw})
	_, err := Dial(context.Background(), "tcp://127.0.0.1:1", Options{ClientID: "a", Store: st})
	if err == nil || !strings.Contains(err.Error(), "session of MQTT 3.1.1") {
		t.Fatalf("Dial = %v", err)
	}
}

// TestIncomingPacketTooLarge: a packet above the client's Maximum Packet Size gets DISCONNECT
// 0x95 (5.0) and closes the connection; 3.1.1 just closes.
func TestIncomingPacketTooLarge(t *testing.T) {
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			in := newInbox()
			_, fc, cp := connectFake(t, fb, Options{ClientID: "a", Version: ver.v, MaxPacketSize: 64, OnMessage: in.handler}, false, nil)
			if ver.v == codec.V5 && cp.Properties.MaximumPacketSize != 64 {
				t.Fatalf("CONNECT Maximum Packet Size %d", cp.Properties.MaximumPacketSize)
			}
			fc.send(&codec.Publish{Topic: "t", Payload: make([]byte, 40)}) // fits
			fc.send(&codec.Publish{Topic: "t", Payload: make([]byte, 80)})
			checkDisconnect(t, ver.v, fc.expectClosed(2*time.Second), codec.ReasonPacketTooLarge)
			if m := in.next(t, time.Second); len(m.Payload) != 40 {
				t.Fatalf("got %d bytes", len(m.Payload))
			}
			in.none(t, 50*time.Millisecond)
		})
	}
}

// TestMQTT31 connects with protocol level 3 ("MQIsdp") and runs a QoS 1 round trip on mosquitto.
func TestMQTT31(t *testing.T) {
	fb := newFakeBroker(t)
	_, _, cp := connectFake(t, fb, Options{ClientID: "old", Version: codec.V31, CleanStart: true}, false, nil)
	if cp.ProtocolName != "MQIsdp" || cp.ProtocolLevel != 3 {
		t.Fatalf("CONNECT %v", cp)
	}
	m := startMosquitto(t)
	c := dial(t, m.URL(), Options{ClientID: "old31", Version: codec.V31, CleanStart: true})
	in := newInbox()
	if _, err := c.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: "v31/t", QoS: 1}}, in.handler); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctxT(t, 5*time.Second), &Message{Topic: "v31/t", QoS: 1, Payload: []byte("3.1")}); err != nil {
		t.Fatal(err)
	}
	if got := in.next(t, 5*time.Second); string(got.Payload) != "3.1" || got.QoS != 1 {
		t.Fatalf("got %q qos %d", got.Payload, got.QoS)
	}
}

// TestKeepAliveBusyPublisher: a client that keeps sending QoS 0 still pings a server that sends
// nothing, so the server's silence is tested before the 1.5× deadline, and the connection lives
// on while the server answers the pings.
func TestKeepAliveBusyPublisher(t *testing.T) {
	fb := newFakeBroker(t)
	lostCh := make(chan error, 1)
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a", KeepAlive: 1, OnConnectionLost: func(_ *Client, err error) { lostCh <- err }}, false, nil)
	stop := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				c.Publish(context.Background(), &Message{Topic: "busy", Payload: []byte("x")})
			}
		}
	}()
	pings := 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		p, err := fc.next(time.Until(deadline))
		if err != nil {
			break
		}
		if p.Type() == codec.PINGREQ {
			pings++
			fc.send(&codec.Pingresp{})
		}
	}
	close(stop)
	<-pubDone
	if pings < 2 || pings > 4 {
		t.Fatalf("%d PINGREQ in 3s with a keep alive of 1s, want about 3", pings)
	}
	select {
	case err := <-lostCh:
		t.Fatalf("connection lost: %v", err)
	default:
	}
}

// TestPublishBackPressure: with a server that stops reading, QoS 0 Publish blocks once about a
// megabyte is queued, and returns ctx's error instead of queueing without bound.
func TestPublishBackPressure(t *testing.T) {
	fb := newFakeBroker(t)
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a"}, false, nil)
	defer fc.nc.Close() // lets Disconnect end at once
	payload := make([]byte, 256<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sent := 0
	var err error
	for sent < 400 { // 100 MiB: far more than socket buffers and the writer's queue hold
		if err = c.Publish(ctx, &Message{Topic: "flood", Payload: payload}); err != nil {
			break
		}
		sent++
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after %d messages Publish = %v, want context.DeadlineExceeded", sent, err)
	}
	c.mu.Lock()
	w := c.cn.w
	c.mu.Unlock()
	w.mu.Lock()
	queued := len(w.buf)
	w.mu.Unlock()
	if queued > highWater+len(payload)+1024 {
		t.Fatalf("%d bytes queued, want at most about %d", queued, highWater)
	}
}

// TestDeliveryQueueBounded: while a handler is stuck, at most maxQueuedQoS0 QoS 0 messages wait
// in memory (the reader stops reading beyond that); none is lost once the handler moves again.
func TestDeliveryQueueBounded(t *testing.T) {
	fb := newFakeBroker(t)
	gate := make(chan struct{})
	var got []int
	var mu sync.Mutex
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a", OnMessage: func(m *Message) {
		<-gate
		mu.Lock()
		got = append(got, int(m.Payload[0])<<8|int(m.Payload[1]))
		mu.Unlock()
	}}, false, nil)
	const n = maxQueuedQoS0 + 500
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		for i := 0; i < n; i++ {
			if fc.w.WritePacket(&codec.Publish{Topic: "q", Payload: []byte{byte(i >> 8), byte(i)}}) != nil {
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	c.dq.mu.Lock()
	queued := c.dq.qos0
	c.dq.mu.Unlock()
	if queued > maxQueuedQoS0 {
		t.Fatalf("%d QoS 0 messages queued, limit %d", queued, maxQueuedQoS0)
	}
	close(gate)
	<-sendDone
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d of %d", k, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, v := range got {
		if v != i {
			t.Fatalf("message %d delivered as %d: order broken", i, v)
		}
	}
}
