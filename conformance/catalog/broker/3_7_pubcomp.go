package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

var _ = catalog.Broker(c.Case{
	ID:         "3.7/pubrel-repeated-gets-pubcomp",
	Title:      "a PUBREL repeated after the QoS 2 flow completed is answered again with a PUBCOMP for that identifier (v5: reason 0x00 or 0x92)",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"3.1.1:MQTT-4.3.3-2", "MQTT-4.3.3-11", "MQTT-3.7.2-1"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		pub := t.Pub("pub")
		pub.Publish(&codec.Publish{Topic: t.Topic("rel"), QoS: 2, PacketID: 0x0304, Payload: b("once")})
		pub.Send(&codec.Pubrel{PacketID: 0x0304})
		pub.Expect(c.Pubcomp(0x0304).ReasonIn(codec.ReasonSuccess, codec.ReasonPacketIDNotFound))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.7/pubcomp-bad-flags-closes",
	Title:      "a PUBCOMP from the subscriber with fixed-header flags 0010 instead of 0000 is malformed: the server closes the connection",
	Statements: badFlagStatements,
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("ack")
		sub := t.Sub("sub", topic, 2)
		t.Pub("pub").PublishMsg(topic, "ack me", 2, false)
		p := sub.ExpectPublish(c.Publish(topic, b("ack me"), 2))
		sub.Send(&codec.Pubrec{PacketID: p.PacketID})
		sub.Expect(c.Pubrel(p.PacketID))
		sub.SendRaw(c.WithFlags(t.Encode(&codec.Pubcomp{PacketID: p.PacketID}, t.Version), 0x2), fmt.Sprintf("PUBCOMP id=%d with flags 0010", p.PacketID))
		sub.ExpectErrorClose(codec.ReasonMalformedPacket)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.7/pubcomp-within-maximum-packet-size",
	Title:      "a PUBCOMP answering a PUBREL for an unknown identifier (0x92 or 0x00), carrying a Reason String or User Property when there is room, leaves them out rather than exceed the client's Maximum Packet Size (skipped when the server never sends them)",
	Statements: []string{"MQTT-3.7.2-2", "MQTT-3.7.2-3", "MQTT-3.7.2-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		unknown := stimulus{what: "PUBREL for an unknown packet identifier", want: codec.PUBCOMP, pkts: func() []codec.Packet {
			return []codec.Packet{&codec.Pubrel{PacketID: 9}}
		}}
		// The rule binds only a PUBCOMP that would carry them: first make the server show one.
		for _, e := range findExplained(t, unknown) {
			conn := limitedConnect(t, "limited", e.limit)
			e.send(conn)
			checkFits(t, conn.Expect(c.Pubcomp(9).ReasonIn(codec.ReasonSuccess, codec.ReasonPacketIDNotFound)), e.limit)
			conn.Disconnect()
		}
	},
})
