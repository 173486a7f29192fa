package broker

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

var _ = catalog.Broker(c.Case{
	ID:         "3.11/no-subscription-existed-0x11",
	Title:      "UNSUBACK reason code 0x11 (No subscription existed) answers a filter the client had not subscribed",
	Statements: []string{"MQTT-3.11.3-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Unsubscribe{PacketID: 7, Filters: []string{t.Topic("never")}})
		conn.Expect(c.Unsuback(7, codec.ReasonNoSubscriptionExisted))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.11/unsuback-within-maximum-packet-size",
	Title:      "an UNSUBACK that carries a Reason String or User Property when there is room still arrives without them rather than exceed the client's Maximum Packet Size (skipped when the server never sends them)",
	Statements: []string{"MQTT-3.11.2-1", "MQTT-3.11.2-2", "MQTT-3.1.2-24"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		// The rule binds only an UNSUBACK that would carry them: first make the server show one.
		for _, e := range findExplained(t, unsubscribeNever(t)) {
			conn := limitedConnect(t, "limited", e.limit)
			e.send(conn)
			fits(t, conn, c.Type(codec.UNSUBACK).ID(9), e.limit)
			conn.ExpectOpen()
			conn.Disconnect()
		}
	},
})
