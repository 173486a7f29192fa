package broker

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

var _ = catalog.Broker(c.Case{
	ID:         "3.6/pubrel-bad-flags-closes",
	Title:      "a PUBREL whose fixed-header flags are 0000 instead of 0010 is malformed: the server closes the connection",
	Statements: append([]string{"MQTT-3.6.1-1"}, badFlagStatements...),
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: t.Topic("rel"), QoS: 2, PacketID: 5, Payload: b("flags")})
		pub.Expect(c.Pubrec(5).ReasonIn(codec.ReasonSuccess, codec.ReasonNoMatchingSubscribers))
		pub.SendRaw(c.WithFlags(t.Encode(&codec.Pubrel{PacketID: 5}, t.Version), 0x0), "PUBREL id=5 with flags 0000")
		pub.ExpectErrorClose(codec.ReasonMalformedPacket)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.6/pubrel-within-maximum-packet-size",
	Title:      "a PUBREL the server sends carrying a Reason String or User Property when there is room leaves them out rather than exceed the client's Maximum Packet Size (skipped when the server never sends them)",
	Statements: []string{"MQTT-3.6.2-2", "MQTT-3.6.2-3", "MQTT-3.6.2-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		// The server sends PUBREL as QoS 2 sender; a PUBREC for an identifier it never used is
		// where it may explain (0x92 Packet Identifier not found).
		unknown := stimulus{what: "PUBREC for an identifier the server never used", want: codec.PUBREL, pkts: func() []codec.Packet {
			return []codec.Packet{&codec.Pubrec{PacketID: 9}}
		}}
		// The rule binds only a PUBREL that would carry them: first make the server show one.
		for _, e := range findExplained(t, unknown) {
			conn := limitedConnect(t, "limited", e.limit)
			e.send(conn)
			checkFits(t, conn.Expect(c.Type(codec.PUBREL).ID(9).ReasonIn(codec.ReasonSuccess, codec.ReasonPacketIDNotFound)), e.limit)
			conn.Disconnect()
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.6/pubrel-after-pubrec-0x10",
	Title:      "a subscriber's PUBREC 0x10 (No matching subscribers, a success) is answered with a PUBREL carrying a PUBREL reason code, not the PUBREC's",
	Statements: []string{"MQTT-3.6.2-1", "MQTT-4.3.3-4"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("rel")
		sub := t.Sub("sub", topic, 2)
		t.Pub("pub").PublishMsg(topic, "accepted", 2, false)
		p := sub.ExpectPublish(c.Publish(topic, b("accepted"), 2))
		sub.Send(&codec.Pubrec{PacketID: p.PacketID, ReasonCode: codec.ReasonNoMatchingSubscribers})
		// 0x10 is below 0x80: the flow goes on (MQTT-4.3.3-4), and the PUBREL may carry only
		// 0x00 or 0x92 (MQTT-3.6.2-1); the identifier is known, but 0x92 is still a PUBREL code.
		sub.Expect(c.Type(codec.PUBREL).ID(p.PacketID).ReasonIn(codec.ReasonSuccess, codec.ReasonPacketIDNotFound))
		sub.Send(&codec.Pubcomp{PacketID: p.PacketID})
	},
})
