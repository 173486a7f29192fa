package broker

import (
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.1 session state: kept while connected, kept after the connection for a persistent
// session (3.1.1 Clean Session 0, 5.0 Session Expiry Interval), discarded when the 5.0 interval
// has passed; QoS 1 and 2 messages queued for an offline session delivered on reconnect.

// persistent returns a CONNECT for id with Clean Start 0 and (5.0) the given Session Expiry
// Interval in seconds.
func persistent(t *c.T, id string, expiry uint32) *codec.Connect {
	p := t.PersistentConnect(id)
	if t.V5() {
		p.Properties.SetSessionExpiry(expiry)
	}
	return p
}

// forget removes a session a case created on purpose with a long expiry: a clean start with
// Session Expiry 0 discards it when the connection closes.
func forget(t *c.T, id string) {
	p := t.DefaultConnect()
	p.ClientID = id
	t.ConnectLabel("cleanup", p).Disconnect()
}

var _ = func() int {
	catalog.Broker(c.Case{
		ID:         "4.1/session-kept-while-connected",
		Title:      "a session lives as long as its connection: a subscription made 2.5 s earlier on a connection with clean start (5.0: Session Expiry 1 s) still delivers",
		Level:      c.Must,
		Timeout:    15 * time.Second,
		Statements: []string{"MQTT-4.1.0-1", "3.1.1:MQTT-4.1.0-2"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			topic := t.Topic("a")
			p := t.DefaultConnect()
			if t.V5() {
				// A server that starts the expiry clock at CONNECT instead of at the close
				// drops this session while the client is still connected.
				p.Properties.SetSessionExpiry(1)
			}
			sub := t.ConnectLabel("sub", p)
			sub.Subscribe(topic, 0)
			t.Sleep(2500 * time.Millisecond)
			t.Pub("pub").PublishMsg(topic, "still subscribed", 0, false)
			sub.Expect(publishOn(topic, "still subscribed", 0))
		},
	})

	catalog.Broker(c.Case{
		ID:         "4.1/queued-messages-delivered-on-reconnect",
		Title:      "QoS 1 and QoS 2 messages published while a persistent session is disconnected are delivered on reconnect, at their QoS",
		Level:      c.Must,
		Requires:   []c.Feature{c.FeatureQoS2},
		Statements: []string{"MQTT-3.1.2-5", "3.1.1:MQTT-4.1.0-1", "5.0:MQTT-3.1.2-23"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			id, t1, t2 := t.ClientID(), t.Topic("q1"), t.Topic("q2")
			first := t.ConnectResume("first", t.PersistentConnect(id), false)
			first.Subscribe(t1, 1)
			first.Subscribe(t2, 2)
			first.Disconnect()
			pub := t.Pub("pub")
			pub.PublishMsg(t1, "one", 1, false)
			pub.PublishMsg(t2, "two", 2, false)
			again := t.ConnectResume("again", t.PersistentConnect(id), true)
			// Ordering is only defined per topic and QoS: either may come first. DUP on a first
			// transmission is 4.5/offline-session-receives-queued's verdict (MQTT-3.3.1-3).
			// A server may hold the second until the first is acknowledged: receiveHeld acknowledges
			// when nothing more comes.
			receiveHeld(t, again, heldOpts{}, publishOn(t1, "one", 1).AnyDup(), publishOn(t2, "two", 2).AnyDup())
			again.ExpectNothing(0)
		},
	})

	catalog.Broker(c.Case{
		ID:         "4.1/subscriptions-survive-reconnect",
		Title:      "a resumed session's subscriptions deliver without subscribing again",
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-3.1.2-4", "3.1.1:MQTT-4.1.0-1", "5.0:MQTT-3.1.2-5", "5.0:MQTT-3.1.2-23"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			id, topic := t.ClientID(), t.Topic("a")
			first := t.ConnectResume("first", t.PersistentConnect(id), false)
			first.Subscribe(topic, 0)
			first.Disconnect()
			again := t.ConnectResume("again", t.PersistentConnect(id), true)
			t.Pub("pub").PublishMsg(topic, "live", 0, false)
			again.Expect(publishOn(topic, "live", 0))
		},
	})
	return 0
}()

// expiryProbe is the Session Expiry Interval of the two expiry timing cases: whole seconds,
// so that a server with a one-second timer can meet it exactly.
const expiryProbe = 2 * time.Second

// resumeAt reconnects to id's session (Clean Start 0, Session Expiry 0, so the probe leaves no
// session behind) at `at` after since, when the session was left, and checks Session Present
// against want. The message names the time and the interval: a session's expiry is judged
// against its Session Expiry Interval and the run's timing tolerance.
func resumeAt(t *c.T, label, id string, since time.Time, at, interval time.Duration, want bool) *c.Conn {
	t.Sleep(max(time.Until(since.Add(at)), 0))
	conn := t.Dial(label)
	conn.Send(persistent(t, id, 0))
	conn.Connack = conn.Expect(c.Type(codec.CONNACK).Reason(0)).(*codec.Connack)
	el := conn.LastSent().Sub(since)
	timing := fmt.Sprintf("reconnected %s after the session was left; Session Expiry Interval %s, tolerance %s",
		c.Seconds(el), c.Seconds(interval), c.Seconds(t.Tolerance()))
	if conn.Connack.SessionPresent != want {
		verdict := "the session outlived its interval"
		if want {
			verdict = "the session expired before its interval"
		}
		t.Failf(fmt.Sprintf("Session Present %t", want), conn.Connack.String(), "Session Present %t: %s: %s", conn.Connack.SessionPresent, timing, verdict)
	}
	t.Logf("timing: %s: Session Present %t", timing, want)
	return conn
}

var _ = catalog.Broker(c.Case{
	ID:         "4.1/session-expiry-discards-session",
	Title:      "a session with Session Expiry Interval 2 s is discarded once the interval has passed: at 2 s plus the timing tolerance Session Present is 0 and its queued message is gone",
	Statements: []string{"MQTT-4.1.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Timeout:    15 * time.Second,
	Run: func(t *c.T) {
		id, topic := t.ClientID(), t.Topic("a")
		first := t.ConnectResume("first", persistent(t, id, uint32(expiryProbe/time.Second)), false)
		first.Subscribe(topic, 1)
		// The interval starts when the server sees the DISCONNECT, after this clock starts.
		left := time.Now()
		first.Disconnect()
		t.Pub("pub").PublishMsg(topic, "queued", 1, false)
		again := resumeAt(t, "again", id, left, expiryProbe+t.Tolerance(), expiryProbe, false)
		again.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.1/session-kept-within-expiry",
	Title:      "a session with Session Expiry Interval 2 s is still there just before the interval ends (2 s less the timing tolerance): Session Present 1",
	Statements: []string{"MQTT-3.1.2-23", "MQTT-4.1.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Timeout:    15 * time.Second,
	Run: func(t *c.T) {
		id := t.ClientID()
		first := t.ConnectResume("first", persistent(t, id, uint32(expiryProbe/time.Second)), false)
		first.Subscribe(t.Topic("a"), 0)
		left := time.Now()
		first.Disconnect()
		// Probe as late as the tolerance allows (a reconnect takes a moment to reach the
		// server), but never before half the interval.
		resumeAt(t, "again", id, left, expiryProbe-min(t.Tolerance(), expiryProbe/2), expiryProbe, true).Disconnect()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.1/session-expiry-0-ends-with-connection",
	Title:      "with Clean Start 0 and no Session Expiry Interval (0) the session ends with the connection: reconnecting gives Session Present 0",
	Statements: []string{"MQTT-4.1.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		id := t.ClientID()
		p := t.PersistentConnect(id)
		p.Properties.Clear(codec.PropSessionExpiry)
		first := t.ConnectResume("first", p, false)
		first.Subscribe(t.Topic("a"), 0)
		first.Disconnect()
		// Let the server see the close before the new CONNECT: it may process connections
		// independently, and a CONNECT that overtakes the close would rightly resume the session.
		t.SleepQuiet(200 * time.Millisecond)
		t.ConnectResume("again", persistent(t, id, 0), false)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.1/session-expiry-max-does-not-expire",
	Title:      "a session with Session Expiry Interval 0xFFFFFFFF (never expires) is still there 2 s after the connection closed",
	Statements: []string{"MQTT-3.1.2-23", "MQTT-4.1.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Timeout:    15 * time.Second,
	Run: func(t *c.T) {
		id := t.ClientID()
		first := t.ConnectResume("first", persistent(t, id, 0xFFFFFFFF), false)
		first.Subscribe(t.Topic("a"), 0)
		first.Disconnect()
		t.Sleep(2 * time.Second)
		t.ConnectResume("again", persistent(t, id, 0), true).Disconnect()
		forget(t, id)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.1/disconnect-expiry-0-discards",
	Title:      "a DISCONNECT with Session Expiry Interval 0 ends a session that CONNECT gave 60 s: reconnecting gives Session Present 0",
	Statements: []string{"MQTT-4.1.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		id := t.ClientID()
		first := t.ConnectResume("first", persistent(t, id, 60), false)
		first.Subscribe(t.Topic("a"), 0)
		d := &codec.Disconnect{}
		d.Properties.SetSessionExpiry(0)
		first.Send(d)
		first.Close()
		t.SleepQuiet(200 * time.Millisecond) // see 4.1/session-expiry-0-ends-with-connection
		t.ConnectResume("again", persistent(t, id, 0), false)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.1/disconnect-expiry-extends",
	Title:      "a DISCONNECT with Session Expiry Interval 60 extends a session that CONNECT gave 1 s: 2.5 s later it is still there",
	Statements: []string{"MQTT-3.1.2-23", "MQTT-4.1.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Timeout:    15 * time.Second,
	Run: func(t *c.T) {
		id := t.ClientID()
		first := t.ConnectResume("first", persistent(t, id, 1), false)
		first.Subscribe(t.Topic("a"), 0)
		d := &codec.Disconnect{}
		d.Properties.SetSessionExpiry(60)
		first.Send(d)
		first.Close()
		t.Sleep(2500 * time.Millisecond)
		t.ConnectResume("again", persistent(t, id, 0), true).Disconnect()
	},
})
