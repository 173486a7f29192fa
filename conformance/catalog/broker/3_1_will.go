package broker

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.1.2.5 and following: the Will Message. When it is published (abnormal close, keep
// alive expiry, a protocol error, a takeover, v5 Will Delay Interval and session end), when it is
// not (normal DISCONNECT, a reconnect within the delay, after it was used once), and how it is
// published (QoS, RETAIN, v5 will properties).

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-published-on-abnormal-close",
	Title:      "a client that closes its connection without DISCONNECT has its will published: exact topic, payload, QoS 0",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-8"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		t.ConnectLabel("dies", willConnect(t, wt, "gone", 0, false)).Close()
		watcher.Expect(publishOn(wt, "gone", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-retain-0-not-retained",
	Title:      "a will with Will Retain 0 is published as a non-retained message: a subscriber arriving afterwards gets nothing",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.2-16", "5.0:MQTT-3.1.2-14"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		t.ConnectLabel("dies", willConnect(t, wt, "not retained", 0, false)).Close()
		watcher.Expect(publishOn(wt, "not retained", 0))
		t.Sub("late", wt, 0).ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-retain-1-retained",
	Title:      "a will with Will Retain 1 is published as a retained message: a subscriber arriving afterwards gets it with RETAIN 1",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain},
	Statements: []string{"3.1.1:MQTT-3.1.2-17", "5.0:MQTT-3.1.2-15"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		t.ConnectLabel("dies", willConnect(t, wt, "retained", 0, true)).Close()
		watcher.Expect(publishOn(wt, "retained", 0))
		t.Sub("late", wt, 0).Expect(c.Publish(wt, []byte("retained"), 0).Retain(true))
		t.Pub("cleanup").PublishMsg(wt, "", 0, true)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-qos-honoured",
	Title:      "a will with Will QoS 1 reaches a QoS 2 subscriber at QoS 1 (not 0, not 2)",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"MQTT-3.1.2-8"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 2)
		t.ConnectLabel("dies", willConnect(t, wt, "qos1", 1, false)).Close()
		watcher.Receive(publishOn(wt, "qos1", 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-on-keepalive-timeout",
	Title:      "a client disconnected for exceeding its keep alive has its will published",
	Versions:   c.Both,
	Level:      c.Must,
	Timeout:    maxKeepAlive*3/2 + 15*time.Second,
	Statements: []string{"MQTT-3.1.2-8"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		p := willConnect(t, wt, "silent", 0, false)
		p.KeepAlive = 1
		conn := t.ConnectLabel("silent", p)
		ka := keepAliveInForce(t, conn, p.KeepAlive)
		// The watcher is as silent as the client: under a Server Keep Alive it would be closed
		// just when the will is due. One PINGREQ half way keeps it open past that moment.
		t.Sleep(ka / 2)
		watcher.ExpectOpen()
		// When the will comes is 3.1/keepalive-enforced's verdict; this case only needs it to
		// come, so it waits well past the keep-alive bound.
		watcher.ExpectWithin(ka*3+t.Tolerance()+t.Timeouts.Step, publishOn(wt, "silent", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-on-protocol-error",
	Title:      "a client disconnected by the server for a protocol error (a second CONNECT) has its will published",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-8"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		conn := t.ConnectLabel("bad", willConnect(t, wt, "protocol error", 0, false))
		conn.Send(t.DefaultConnect())
		conn.ExpectClosed(c.OrDisconnect(codec.ReasonProtocolError))
		watcher.Expect(publishOn(wt, "protocol error", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-removed-after-publish",
	Title:      "a will is published once: after it was published, the resumed session (reconnected without a will) closing abnormally publishes nothing",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-10"},
	Run: func(t *c.T) {
		id, wt := t.ClientID(), t.Topic("will")
		watcher := watch(t, wt, 0)
		p := t.PersistentConnect(id)
		p.WillFlag, p.Will = true, codec.Will{Topic: wt, Payload: []byte("once")}
		t.ConnectResume("first", p, false).Close()
		watcher.Expect(publishOn(wt, "once", 0))
		t.ConnectResume("second", t.PersistentConnect(id), true).Close()
		watcher.ExpectNothing(time.Second)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-discarded-by-disconnect-not-reused",
	Title:      "a will discarded by DISCONNECT is gone: the resumed session (reconnected without a will) closing abnormally publishes nothing",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.2-12", "MQTT-3.1.2-10"},
	Run: func(t *c.T) {
		id, wt := t.ClientID(), t.Topic("will")
		watcher := watch(t, wt, 0)
		p := t.PersistentConnect(id)
		p.WillFlag, p.Will = true, codec.Will{Topic: wt, Payload: []byte("stale")}
		t.ConnectResume("first", p, false).Disconnect()
		t.ConnectResume("second", t.PersistentConnect(id), true).Close()
		watcher.ExpectNothing(time.Second)
	},
})

// --- v5: Will Delay Interval and will properties ---

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-delay-honoured",
	Title:      "a will with Will Delay Interval 1 s is published 1 s after the connection closed: not before, nor later than the timing tolerance",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-8", "MQTT-3.1.2-7"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		p := willConnect(t, wt, "delayed", 0, false)
		p.Properties.SetSessionExpiry(30)
		p.Will.Properties.SetWillDelay(1)
		conn := t.ConnectLabel("dies", p)
		if exp := sessionExpiryOf(p, conn.Connack); exp < 2 {
			t.Skipf("the server set Session Expiry Interval %d in CONNACK", exp)
		}
		// The delay starts when the server sees the close, after this clock starts: a will
		// published on time is never early on it.
		start := time.Now()
		conn.Close()
		watcher.ExpectAt("will published", start, time.Second, publishOn(wt, "delayed", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-delay-cancelled-by-reconnect",
	Title:      "a client that reconnects to its session within the Will Delay Interval (2 s) has no will published",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.3-9", "MQTT-3.1.2-8"},
	Run: func(t *c.T) {
		id, wt := t.ClientID(), t.Topic("will")
		watcher := watch(t, wt, 0)
		p := t.PersistentConnect(id)
		p.Properties.SetSessionExpiry(30)
		p.WillFlag, p.Will = true, codec.Will{Topic: wt, Payload: []byte("cancelled")}
		p.Will.Properties.SetWillDelay(2)
		first := t.ConnectResume("first", p, false)
		closed := time.Now()
		first.Close()
		// Let the server see the close (a CONNECT that overtook it would resume the session with
		// the will still armed, proving nothing); well inside the 2 s delay, so not a quiet window.
		t.Sleep(300 * time.Millisecond)
		again := t.ConnectResume("again", t.PersistentConnect(id), true)
		// A will the reconnect failed to cancel comes 2 s after the close, within the tolerance;
		// one quiet window more covers its way to the watcher.
		watcher.ExpectNothingUntil(closed.Add(2*time.Second+t.Tolerance()+t.QuietWindow(0)), "a will the reconnect within the Will Delay should have cancelled")
		again.Disconnect()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-published-when-session-ends-first",
	Title:      "a will whose Will Delay Interval (30 s) outlasts the session (Session Expiry 0) is published when the session ends, at the close",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-8"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		p := willConnect(t, wt, "session over", 0, false)
		p.Properties.SetSessionExpiry(0)
		p.Will.Properties.SetWillDelay(30)
		t.ConnectLabel("dies", p).Close()
		watcher.ExpectWithin(2*time.Second, publishOn(wt, "session over", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-properties-forwarded",
	Title:      "a will's properties reach the subscriber: Payload Format, Content Type, Response Topic, Correlation Data unchanged, User Properties in order, Message Expiry at most as sent",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.3-10", "MQTT-3.1.2-8", "MQTT-3.3.2-4", "MQTT-3.3.2-6", "MQTT-3.3.2-15", "MQTT-3.3.2-16", "MQTT-3.3.2-20"},
	Run: func(t *c.T) {
		// The will is published as an application message, so the forwarding rules of its
		// properties (section 3.3.2.3, cited above) are what the checks below judge.
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		p := willConnect(t, wt, "props", 0, false)
		user := []codec.UserProperty{{Key: "k", Value: "1"}, {Key: "z", Value: "2"}, {Key: "k", Value: "3"}, {Key: "a", Value: "4"}}
		p.Will.Properties.SetPayloadFormat(1).SetContentType("text/plain; charset=utf-8").SetResponseTopic(t.Topic("reply")).
			SetCorrelationData([]byte{0, 1, 0xFE}).SetMessageExpiry(60)
		p.Will.Properties.User = slices.Clone(user)
		t.ConnectLabel("dies", p).Close()
		watcher.Expect(publishOn(wt, "props", 0).User(user...).Props("will properties unchanged", func(pr *codec.Properties) error {
			switch {
			case !pr.Has(codec.PropPayloadFormat) || pr.PayloadFormat != 1:
				return fmt.Errorf("Payload Format Indicator missing or not 1")
			case pr.ContentType != "text/plain; charset=utf-8":
				return fmt.Errorf("Content Type is %q", pr.ContentType)
			case pr.ResponseTopic != t.Topic("reply"):
				return fmt.Errorf("Response Topic is %q", pr.ResponseTopic)
			case !bytes.Equal(pr.CorrelationData, []byte{0, 1, 0xFE}):
				return fmt.Errorf("Correlation Data is %x", pr.CorrelationData)
			case !pr.Has(codec.PropMessageExpiry) || pr.MessageExpiry == 0 || pr.MessageExpiry > 60:
				return fmt.Errorf("Message Expiry Interval is %d (present %t), want 1..60", pr.MessageExpiry, pr.Has(codec.PropMessageExpiry))
			}
			return nil
		}))
	},
})
