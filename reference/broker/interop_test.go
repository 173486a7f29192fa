package broker_test

// Interoperability with real clients: mosquitto_pub/mosquitto_sub (skipped when not installed),
// paho.mqtt.golang (3.1.1) and paho.golang (5.0). Each covers QoS 0/1/2, retained messages, the
// will and a persistent session resumed across connections.

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pahov5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func needMosquittoClients(t *testing.T) {
	for _, b := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed (apt-get install mosquitto-clients)", b)
		}
	}
}

func hostPort(t testing.TB, addr string) (string, string) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// waitConnected waits until the broker counts exactly n validated connections.
func waitConnected(t testing.TB, srv *broker.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Connected != n {
		if time.Now().After(deadline) {
			t.Fatalf("broker has %+v, want %d connected", srv.Stats(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// mosquittoSub starts mosquitto_sub in debug mode and returns once its SUBACK arrived (stdout is
// block-buffered in a pipe: the SUBACK line shows when mosquitto_sub next flushes, after printing
// a message); the returned function waits for the process and returns what it printed, debug
// lines removed.
func mosquittoSub(t *testing.T, args ...string) (*exec.Cmd, func() string) {
	t.Helper()
	cmd := exec.Command("mosquitto_sub", append(args, "-d")...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(wait)
	for subscribed := false; !subscribed; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("mosquitto_sub exited before subscribing")
			}
			subscribed = strings.Contains(l, "received SUBACK")
		case <-timeout:
			cmd.Process.Kill()
			t.Fatal("mosquitto_sub did not subscribe")
		}
	}
	return cmd, func() string {
		var b strings.Builder
		for l := range lines {
			if !strings.HasPrefix(l, "Client ") && !strings.HasPrefix(l, "Subscribed") {
				b.WriteString(l + "\n")
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("mosquitto_sub: %v\n%s", err, b.String())
		}
		return b.String()
	}
}

func TestInteropMosquittoClients(t *testing.T) {
	needMosquittoClients(t)
	_, addr := brokertest.StartServer(t, broker.Options{})
	host, port := hostPort(t, addr)
	common := func(v string) []string { return []string{"-h", host, "-p", port, "-V", v} }
	for _, v := range []string{"mqttv311", "mqttv5"} {
		t.Run(v, func(t *testing.T) {
			for q := 0; q <= 2; q++ {
				qs := strconv.Itoa(q)
				topic := uniq("mosq/")
				// Retained message first, then a live one: -C 2 exits after both.
				run(t, "mosquitto_pub", append(common(v), "-t", topic, "-q", qs, "-r", "-m", "retained-"+qs)...)
				_, output := mosquittoSub(t, append(common(v), "-t", topic, "-q", qs, "-C", "2", "-v", "-W", "10")...)
				run(t, "mosquitto_pub", append(common(v), "-t", topic, "-q", qs, "-m", "live-"+qs)...)
				want := topic + " retained-" + qs + "\n" + topic + " live-" + qs + "\n"
				if got := output(); got != want {
					t.Fatalf("QoS %d: mosquitto_sub printed %q, want %q", q, got, want)
				}
				run(t, "mosquitto_pub", append(common(v), "-t", topic, "-r", "-n")...) // clear
			}
		})
		t.Run(v+"/will", func(t *testing.T) {
			topic := uniq("mosqwill/")
			watch, _ := connect(t, addr, codec.V311)
			watch.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
			// A retained message on the subscribed topic makes mosquitto_sub print, and flush, at once.
			run(t, "mosquitto_pub", append(common(v), "-t", topic+"/ready", "-r", "-m", "ready")...)
			sub, _ := mosquittoSub(t, append(common(v), "-t", topic+"/ready", "--will-topic", topic, "--will-payload", "bye", "--will-qos", "1")...)
			sub.Process.Kill() // no DISCONNECT: the will must be published
			sub.Wait()
			checkPublish(t, watch.publishes(1)[0], topic, "bye", 1, false)
		})
		t.Run(v+"/persistent session", func(t *testing.T) {
			topic := uniq("mosqsess/")
			id := uniq("mosqsess")
			persist := append(common(v), "-t", topic, "-q", "1", "-c", "-i", id)
			if v == "mqttv5" {
				persist = append(persist, "-x", "300")
			}
			run(t, "mosquitto_sub", append(persist, "-E")...) // subscribe, then exit
			run(t, "mosquitto_pub", append(common(v), "-t", topic, "-q", "1", "-m", "while-away")...)
			out := run(t, "mosquitto_sub", append(persist, "-C", "1", "-W", "10")...)
			if out != "while-away\n" {
				t.Fatalf("resumed session received %q, want the queued message", out)
			}
		})
	}
}

func TestInteropPahoMQTTGolang(t *testing.T) {
	srv, addr := brokertest.StartServer(t, broker.Options{})
	newClient := func(t *testing.T, id string, clean bool, tweak func(*paho3.ClientOptions)) paho3.Client {
		o := paho3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
			SetProtocolVersion(4).SetAutoReconnect(false).SetKeepAlive(30 * time.Second)
		if tweak != nil {
			tweak(o)
		}
		c := paho3.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("paho connect: %v", tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(50) })
		return c
	}
	type msg struct {
		topic, payload string
		qos            byte
		retained       bool
	}
	collect := func() (chan msg, paho3.MessageHandler) {
		ch := make(chan msg, 16)
		return ch, func(_ paho3.Client, m paho3.Message) {
			ch <- msg{m.Topic(), string(m.Payload()), m.Qos(), m.Retained()}
		}
	}
	recv := func(t *testing.T, ch chan msg, want msg) {
		t.Helper()
		select {
		case got := <-ch:
			if got != want {
				t.Fatalf("received %+v, want %+v", got, want)
			}
		case <-time.After(wait):
			t.Fatalf("nothing received, want %+v", want)
		}
	}
	t.Run("qos and retained", func(t *testing.T) {
		topic := uniq("paho3/")
		pub := newClient(t, uniq("p3p"), true, nil)
		if tok := pub.Publish(topic+"/r", 1, true, "kept"); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		sub := newClient(t, uniq("p3s"), true, nil)
		ch, h := collect()
		if tok := sub.Subscribe(topic+"/#", 2, h); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		recv(t, ch, msg{topic + "/r", "kept", 1, true})
		for q := byte(0); q <= 2; q++ {
			if tok := pub.Publish(topic+"/live", q, false, "q"+strconv.Itoa(int(q))); !tok.WaitTimeout(wait) || tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			recv(t, ch, msg{topic + "/live", "q" + strconv.Itoa(int(q)), q, false})
		}
	})
	t.Run("will", func(t *testing.T) {
		topic := uniq("paho3will/")
		watch := newClient(t, uniq("p3w"), true, nil)
		ch, h := collect()
		if tok := watch.Subscribe(topic, 1, h); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		var mu sync.Mutex
		var raw net.Conn
		newClient(t, uniq("p3d"), true, func(o *paho3.ClientOptions) {
			o.SetWill(topic, "gone", 1, false)
			o.SetCustomOpenConnectionFn(func(u *url.URL, _ paho3.ClientOptions) (net.Conn, error) {
				c, err := net.Dial("tcp", u.Host)
				mu.Lock()
				raw = c
				mu.Unlock()
				return c, err
			})
		})
		mu.Lock()
		raw.Close() // the network fails under the client
		mu.Unlock()
		recv(t, ch, msg{topic, "gone", 1, false})
	})
	t.Run("persistent session", func(t *testing.T) {
		topic := uniq("paho3sess/")
		id := uniq("p3sess")
		ch, h := collect()
		c := newClient(t, id, false, nil)
		if tok := c.Subscribe(topic, 1, h); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		c.Disconnect(50)
		waitConnected(t, srv, 0)
		pub := newClient(t, uniq("p3p"), true, nil)
		if tok := pub.Publish(topic, 1, false, "queued"); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		newClient(t, id, false, func(o *paho3.ClientOptions) { o.SetDefaultPublishHandler(h) })
		recv(t, ch, msg{topic, "queued", 1, false})
	})
}

func TestInteropPahoGolangV5(t *testing.T) {
	_, addr := brokertest.StartServer(t, broker.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	received := make(chan *pahov5.Publish, 16)
	newClient := func(t *testing.T, cp *pahov5.Connect) (*pahov5.Client, net.Conn, *pahov5.Connack) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := pahov5.NewClient(pahov5.ClientConfig{Conn: nc, OnPublishReceived: []func(pahov5.PublishReceived) (bool, error){
			func(pr pahov5.PublishReceived) (bool, error) { received <- pr.Packet; return true, nil },
		}})
		ack, err := c.Connect(ctx, cp)
		if err != nil {
			t.Fatalf("paho.golang connect: %v", err)
		}
		t.Cleanup(func() { c.Disconnect(&pahov5.Disconnect{}) })
		return c, nc, ack
	}
	recv := func(t *testing.T, topic, payload string, qos byte, retain bool) *pahov5.Publish {
		t.Helper()
		select {
		case p := <-received:
			if p.Topic != topic || string(p.Payload) != payload || p.QoS != qos || p.Retain != retain {
				t.Fatalf("received %s %q qos %d retain %v, want %s %q qos %d retain %v", p.Topic, p.Payload, p.QoS, p.Retain, topic, payload, qos, retain)
			}
			return p
		case <-time.After(wait):
			t.Fatalf("nothing received, want %s %q", topic, payload)
		}
		return nil
	}
	u32 := func(v uint32) *uint32 { return &v }
	t.Run("qos, retained, properties", func(t *testing.T) {
		topic := uniq("paho5/")
		pub, _, _ := newClient(t, &pahov5.Connect{ClientID: uniq("p5p"), CleanStart: true, KeepAlive: 30})
		if _, err := pub.Publish(ctx, &pahov5.Publish{Topic: topic + "/r", QoS: 1, Retain: true, Payload: []byte("kept")}); err != nil {
			t.Fatal(err)
		}
		sub, _, _ := newClient(t, &pahov5.Connect{ClientID: uniq("p5s"), CleanStart: true, KeepAlive: 30})
		if _, err := sub.Subscribe(ctx, &pahov5.Subscribe{Subscriptions: []pahov5.SubscribeOptions{{Topic: topic + "/#", QoS: 2, RetainAsPublished: true}}}); err != nil {
			t.Fatal(err)
		}
		recv(t, topic+"/r", "kept", 1, true)
		for q := byte(0); q <= 2; q++ {
			p := &pahov5.Publish{Topic: topic + "/live", QoS: q, Payload: []byte{'q', '0' + q},
				Properties: &pahov5.PublishProperties{ResponseTopic: "reply", CorrelationData: []byte{q}, User: pahov5.UserProperties{{Key: "k", Value: "v"}}}}
			if _, err := pub.Publish(ctx, p); err != nil {
				t.Fatal(err)
			}
			got := recv(t, topic+"/live", string([]byte{'q', '0' + q}), q, false)
			if got.Properties == nil || got.Properties.ResponseTopic != "reply" || !bytes.Equal(got.Properties.CorrelationData, []byte{q}) || got.Properties.User.Get("k") != "v" {
				t.Fatalf("request/response properties lost: %+v", got.Properties)
			}
		}
	})
	t.Run("will with delay", func(t *testing.T) {
		topic := uniq("paho5will/")
		watch, _, _ := newClient(t, &pahov5.Connect{ClientID: uniq("p5w"), CleanStart: true, KeepAlive: 30})
		if _, err := watch.Subscribe(ctx, &pahov5.Subscribe{Subscriptions: []pahov5.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		_, nc, _ := newClient(t, &pahov5.Connect{ClientID: uniq("p5d"), CleanStart: true, KeepAlive: 30,
			Properties:     &pahov5.ConnectProperties{SessionExpiryInterval: u32(10)},
			WillMessage:    &pahov5.WillMessage{Topic: topic, QoS: 1, Payload: []byte("gone")},
			WillProperties: &pahov5.WillProperties{WillDelayInterval: u32(1)}})
		start := time.Now()
		nc.Close()
		recv(t, topic, "gone", 1, false)
		if el := time.Since(start); el < 900*time.Millisecond {
			t.Fatalf("will after %v, before its 1 s delay", el)
		}
	})
	t.Run("persistent session", func(t *testing.T) {
		topic := uniq("paho5sess/")
		id := uniq("p5sess")
		cp := &pahov5.Connect{ClientID: id, CleanStart: false, KeepAlive: 30, Properties: &pahov5.ConnectProperties{SessionExpiryInterval: u32(300)}}
		c, _, _ := newClient(t, cp)
		if _, err := c.Subscribe(ctx, &pahov5.Subscribe{Subscriptions: []pahov5.SubscribeOptions{{Topic: topic, QoS: 2}}}); err != nil {
			t.Fatal(err)
		}
		c.Disconnect(&pahov5.Disconnect{})
		pub, _, _ := newClient(t, &pahov5.Connect{ClientID: uniq("p5p"), CleanStart: true, KeepAlive: 30})
		if _, err := pub.Publish(ctx, &pahov5.Publish{Topic: topic, QoS: 2, Payload: []byte("queued")}); err != nil {
			t.Fatal(err)
		}
		_, _, ack := newClient(t, cp)
		if !ack.SessionPresent {
			t.Fatal("session not present on resume")
		}
		recv(t, topic, "queued", 2, false)
	})
}
