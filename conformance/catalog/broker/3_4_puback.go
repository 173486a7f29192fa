package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Sections 3.4–3.7: PUBACK, PUBREC, PUBREL, PUBCOMP — identifiers, reason codes, fixed-header
// flags, and the v5 rule that an acknowledgement never exceeds the receiver's Maximum Packet
// Size (Reason String and User Properties are dropped first).

var _ = catalog.Broker(c.Case{
	ID:         "3.4/puback-reason-without-subscribers",
	Title:      "a QoS 1 PUBLISH to a topic nobody subscribes to gets PUBACK 0x00 or 0x10 (No matching subscribers) with its packet identifier",
	Statements: []string{"MQTT-3.4.2-1", "MQTT-2.2.1-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: t.Topic("nobody"), QoS: 1, PacketID: 0x0102, Payload: b("unheard")})
		pub.Expect(c.Puback(0x0102).ReasonIn(codec.ReasonSuccess, codec.ReasonNoMatchingSubscribers))
	},
})

// ---- reserved fixed-header flags of the acknowledgements ----

var badFlagStatements = []string{"MQTT-2.2.2-2", "MQTT-2.1.3-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"}

var _ = catalog.Broker(c.Case{
	ID:         "3.4/puback-bad-flags-closes",
	Title:      "a PUBACK from the subscriber with fixed-header flags 0010 instead of 0000 is malformed: the server closes the connection",
	Statements: badFlagStatements,
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("ack")
		sub := t.Sub("sub", topic, 1)
		t.Pub("pub").PublishMsg(topic, "ack me", 1, false)
		p := sub.ExpectPublish(c.Publish(topic, b("ack me"), 1))
		sub.SendRaw(c.WithFlags(t.Encode(&codec.Puback{PacketID: p.PacketID}, t.Version), 0x2), fmt.Sprintf("PUBACK id=%d with flags 0010", p.PacketID))
		sub.ExpectErrorClose(codec.ReasonMalformedPacket)
	},
})

// ---- Maximum Packet Size (v5) ----

// packetSize is the encoded size of p (the codec encodes canonically, so this is what a
// well-formed sender put on the wire).
func packetSize(t *c.T, p codec.Packet) uint32 { return uint32(len(t.Encode(p, codec.V5))) }

func checkFits(t *c.T, p codec.Packet, limit uint32) {
	if n := packetSize(t, p); n > limit {
		t.Failf(fmt.Sprintf("at most %d bytes", limit), fmt.Sprintf("%d bytes: %s", n, p), "the server sent a %v of %d bytes to a client whose Maximum Packet Size is %d", p.Type(), n, limit)
	}
}

var _ = catalog.Broker(c.Case{
	ID:         "3.4/puback-within-maximum-packet-size",
	Title:      "a PUBACK that carries a Reason String or User Property when there is room leaves them out rather than exceed the client's Maximum Packet Size (skipped when the server never sends them)",
	Statements: []string{"MQTT-3.4.2-2", "MQTT-3.4.2-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		// The rule binds only a PUBACK that would carry them: first make the server show one.
		for _, e := range findExplained(t, append(deniedPublish(t, 1), publishNobody(t, 1))...) {
			conn := limitedConnect(t, "limited", e.limit)
			e.send(conn)
			checkFits(t, conn.Expect(c.Type(codec.PUBACK).ID(9)), e.limit)
			conn.Disconnect()
		}
	},
})
