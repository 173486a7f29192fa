package broker

import (
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.12: PINGREQ, answered by PINGRESP (section 3.13).

var _ = catalog.Broker(c.Case{
	ID:         "3.12/pingreq-keeps-connection-alive",
	Title:      "PINGREQs sent every 0.6 s with keep alive 1 s are each answered by a PINGRESP and keep the connection open",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.12.4-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.KeepAlive = 1
		conn := t.Connect(p)
		for i := 0; i < 4; i++ {
			t.Sleep(600 * time.Millisecond)
			conn.Send(&codec.Pingreq{})
			conn.Expect(c.Pingresp())
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.12/pingreq-pipelined",
	Title:      "three PINGREQs sent in one write get three PINGRESPs",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.12.4-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		ping := t.Encode(&codec.Pingreq{}, t.Version)
		conn.SendRaw(append(append(append([]byte(nil), ping...), ping...), ping...), "three PINGREQs in one write")
		for i := 0; i < 3; i++ {
			conn.Expect(c.Pingresp())
		}
		conn.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.12/pingreq-with-body-malformed",
	Title:      "a PINGREQ with Remaining Length 1 is malformed: the connection is closed, no PINGRESP",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.SendRaw([]byte{0xC0, 0x01, 0x00}, "PINGREQ with a one-byte body")
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
	},
})
