package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

var _ = catalog.Broker(c.Case{
	ID:         "3.5/pubrec-reason-without-subscribers",
	Title:      "a QoS 2 PUBLISH to a topic nobody subscribes to gets PUBREC 0x00 or 0x10, and its PUBREL gets PUBCOMP 0x00",
	Statements: []string{"MQTT-3.5.2-1", "MQTT-3.7.2-1", "MQTT-2.2.1-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: t.Topic("nobody"), QoS: 2, PacketID: 0x0203, Payload: b("unheard")})
		pub.Expect(c.Pubrec(0x0203).ReasonIn(codec.ReasonSuccess, codec.ReasonNoMatchingSubscribers))
		pub.Send(&codec.Pubrel{PacketID: 0x0203})
		pub.Expect(c.Pubcomp(0x0203))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.5/pubrec-bad-flags-closes",
	Title:      "a PUBREC from the subscriber with fixed-header flags 0010 instead of 0000 is malformed: the server closes the connection",
	Statements: badFlagStatements,
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("ack")
		sub := t.Sub("sub", topic, 2)
		t.Pub("pub").PublishMsg(topic, "ack me", 2, false)
		p := sub.ExpectPublish(c.Publish(topic, b("ack me"), 2))
		sub.SendRaw(c.WithFlags(t.Encode(&codec.Pubrec{PacketID: p.PacketID}, t.Version), 0x2), fmt.Sprintf("PUBREC id=%d with flags 0010", p.PacketID))
		sub.ExpectErrorClose(codec.ReasonMalformedPacket)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.5/pubrec-within-maximum-packet-size",
	Title:      "a PUBREC that carries a Reason String or User Property when there is room leaves them out rather than exceed the client's Maximum Packet Size (skipped when the server never sends them)",
	Statements: []string{"MQTT-3.5.2-2", "MQTT-3.5.2-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		// The rule binds only a PUBREC that would carry them: first make the server show one.
		for _, e := range findExplained(t, append(deniedPublish(t, 2), publishNobody(t, 2))...) {
			conn := limitedConnect(t, "limited", e.limit)
			e.send(conn)
			rec := conn.Expect(c.Type(codec.PUBREC).ID(9)).(*codec.Pubrec)
			checkFits(t, rec, e.limit)
			if !rec.ReasonCode.IsError() {
				conn.Send(&codec.Pubrel{PacketID: 9})
				checkFits(t, conn.Expect(c.Pubcomp(9)), e.limit)
			}
			conn.Disconnect()
		}
	},
})
