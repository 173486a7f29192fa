package client

import (
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.14: DISCONNECT — the client's normal end of a connection, and its reaction to a
// DISCONNECT from the server.

func init() {
	catalog.Client(c.Case{
		ID:         "3.14/disconnect-then-close",
		Title:      "a client leaving normally sends DISCONNECT (5.0: reason 0x00) and closes the connection, sending nothing after it",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.14.4-1", "MQTT-3.14.4-2", "5.0:MQTT-3.14.2-1"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect})
			conn, _ := connected(t, "")
			conn.Expect(c.Disconnect(codec.ReasonSuccess))
			conn.ExpectClosed(c.Within(2 * time.Second))
		},
	})

	catalog.Client(c.Case{
		ID:         "3.14/server-disconnect-closes",
		Title:      "after a DISCONNECT 0x8B (Server shutting down) from the server the client closes the connection",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-4.13.2-1"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect, Duration: 10 * time.Second})
			conn, _ := connected(t, "")
			conn.Send(&codec.Disconnect{ReasonCode: codec.ReasonServerShuttingDown})
			// A DISCONNECT back is pointless but not forbidden; a PINGREQ may have crossed ours.
			conn.ExpectClosed(c.OrDisconnect(codec.ReasonCodesFor(codec.DISCONNECT)...))
		},
	})

	catalog.Client(c.Case{
		ID:         "3.14/disconnect-reserved-flags",
		Title:      "a DISCONNECT with a reserved fixed-header bit set is a malformed packet: the client closes (DISCONNECT 0x81 allowed first)",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.14.1-1"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect, Duration: 10 * time.Second})
			conn, _ := connected(t, "")
			b := c.WithFlags(t.Encode(&codec.Disconnect{ReasonCode: codec.ReasonServerShuttingDown}, codec.V5), 0x01)
			conn.SendRaw(b, "DISCONNECT 0x8B with fixed-header flags 0001")
			conn.ExpectErrorClose(codec.ReasonMalformedPacket)
		},
	})
}
