package broker

import (
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.14: DISCONNECT. What it does to the will (discarded only by a valid DISCONNECT, in
// v5 only with reason 0x00), its reserved flags and reason codes, and the v5 Session Expiry
// Interval it may change.

var _ = catalog.Broker(c.Case{
	ID:         "3.14/disconnect-discards-will",
	Title:      "a client that sends DISCONNECT (reason 0x00) before closing has no will published",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.14.4-3", "MQTT-3.1.2-10"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		t.ConnectLabel("leaves", willConnect(t, wt, "must not appear", 0, false)).Disconnect()
		watcher.ExpectNothing(time.Second)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.14/disconnect-reserved-flags-publishes-will",
	Title:      "a DISCONNECT with fixed-header flags 0001 is malformed, not a normal disconnection: the connection is closed and the will published",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.14.1-1", "MQTT-2.2.2-2", "MQTT-3.1.2-8", "MQTT-2.1.3-1"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		conn := t.ConnectLabel("bad", willConnect(t, wt, "bad disconnect", 0, false))
		conn.SendRaw(c.WithFlags(t.Encode(&codec.Disconnect{}, t.Version), 0x01), "DISCONNECT with fixed-header flags 0001")
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
		watcher.Expect(publishOn(wt, "bad disconnect", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.14/disconnect-with-will-publishes-will",
	Title:      "DISCONNECT with reason 0x04 (Disconnect with Will Message) has the will published",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.14.4-3", "MQTT-3.1.2-8", "MQTT-3.1.2-10"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		conn := t.ConnectLabel("leaves", willConnect(t, wt, "asked for", 0, false))
		conn.Send(&codec.Disconnect{ReasonCode: codec.ReasonDisconnectWithWill})
		conn.Close()
		watcher.Expect(publishOn(wt, "asked for", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.14/disconnect-error-reason-publishes-will",
	Title:      "DISCONNECT with reason 0x80 (Unspecified error) does not discard the will: it is published",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.14.4-3", "MQTT-3.1.2-8", "MQTT-3.1.2-10"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		conn := t.ConnectLabel("fails", willConnect(t, wt, "error exit", 0, false))
		conn.Send(&codec.Disconnect{ReasonCode: codec.ReasonUnspecifiedError})
		conn.Close()
		watcher.Expect(publishOn(wt, "error exit", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.14/disconnect-invalid-reason-code",
	Title:      "a DISCONNECT with reason code 0x03 (not a DISCONNECT reason) is malformed: the connection is closed and the will published",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.14.2-1", "MQTT-4.13.1-1", "MQTT-3.14.4-3"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		conn := t.ConnectLabel("bad", willConnect(t, wt, "bad reason", 0, false))
		conn.SendRaw([]byte{0xE0, 0x01, 0x03}, "DISCONNECT with reason code 0x03")
		conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
		watcher.Expect(publishOn(wt, "bad reason", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.14/disconnect-session-expiry-after-zero",
	Title:      "a DISCONNECT setting a non-zero Session Expiry Interval after CONNECT had 0 is a protocol error, not a normal disconnection: the will is published",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-4.13.1-1", "MQTT-3.14.4-3", "MQTT-3.1.2-8"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		p := willConnect(t, wt, "protocol error", 0, false)
		p.Properties.SetSessionExpiry(0)
		conn := t.ConnectLabel("bad", p)
		d := &codec.Disconnect{}
		d.Properties.SetSessionExpiry(30)
		conn.Send(d)
		conn.ExpectClosed(c.OrDisconnect(codec.ReasonProtocolError))
		watcher.Expect(publishOn(wt, "protocol error", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.14/server-closes-after-disconnect",
	Title:      "after a client's DISCONNECT the server closes the network connection without being asked",
	Versions:   c.Both,
	Level:      c.Should,
	Statements: []string{"mqttspec-3.1.1-3.14.4-should-1", "mqttspec-5.0-3.14.4-should-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Disconnect{})
		conn.ExpectClosed()
	},
})
