package publish

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

func init() {
	split(c.Case{
		ID:       "3.7/pubrel-repeated-gets-pubcomp",
		Title:    "a PUBREL repeated after the QoS 2 flow completed is answered again with a PUBCOMP for that identifier (v5: reason 0x00 or 0x92)",
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureQoS2},
		Run: func(t *c.T) {
			pub := t.Pub("pub")
			pub.Publish(&codec.Publish{Topic: t.Topic("rel"), QoS: 2, PacketID: 0x0304, Payload: b("once")})
			pub.Send(&codec.Pubrel{PacketID: 0x0304})
			pub.Expect(c.Pubcomp(0x0304).ReasonIn(codec.ReasonSuccess, codec.ReasonPacketIDNotFound))
		},
	}, []string{"MQTT-4.3.3-2"}, []string{"MQTT-4.3.3-11", "MQTT-3.7.2-1"})
}

// ---- reserved fixed-header flags of the acknowledgements ----

// rawWithFlags encodes p and replaces the low nibble of its first byte.
func rawWithFlags(t *c.T, p codec.Packet, v codec.Version, flags byte) []byte {
	raw, err := codec.Encode(p, v)
	if err != nil {
		t.Errorf("encode %v: %v", p.Type(), err)
	}
	raw[0] = raw[0]&0xF0 | flags
	return raw
}

var badFlagStatements = []string{"MQTT-2.2.2-2", "MQTT-2.1.3-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"}

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
		pub.SendRaw(rawWithFlags(t, &codec.Pubrel{PacketID: 5}, t.Version, 0x0), "PUBREL id=5 with flags 0000")
		closeOn(pub, codec.ReasonMalformedPacket)
	},
})

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
		sub.SendRaw(rawWithFlags(t, &codec.Puback{PacketID: p.PacketID}, t.Version, 0x2), fmt.Sprintf("PUBACK id=%d with flags 0010", p.PacketID))
		closeOn(sub, codec.ReasonMalformedPacket)
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
		sub.SendRaw(rawWithFlags(t, &codec.Pubrec{PacketID: p.PacketID}, t.Version, 0x2), fmt.Sprintf("PUBREC id=%d with flags 0010", p.PacketID))
		closeOn(sub, codec.ReasonMalformedPacket)
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
		sub.SendRaw(rawWithFlags(t, &codec.Pubcomp{PacketID: p.PacketID}, t.Version, 0x2), fmt.Sprintf("PUBCOMP id=%d with flags 0010", p.PacketID))
		closeOn(sub, codec.ReasonMalformedPacket)
	},
})

// ---- Maximum Packet Size (v5) ----

// packetSize is the encoded size of p (the codec encodes canonically, so this is what a
// well-formed sender put on the wire).
func packetSize(t *c.T, p codec.Packet) uint32 {
	raw, err := codec.Encode(p, codec.V5)
	if err != nil {
		t.Errorf("encode %v: %v", p.Type(), err)
	}
	return uint32(len(raw))
}

// tightConnect connects with the smallest Maximum Packet Size that still admits the server's
// CONNACK (learnt on a probe connection) and any packet of at least floor bytes, so that an
// acknowledgement padded with a Reason String or User Properties no longer fits.
func tightConnect(t *c.T, label string, floor uint32) (*c.Conn, uint32) {
	probe := t.Connect(t.DefaultConnect())
	limit := max(packetSize(t, probe.Connack), floor)
	probe.Disconnect()
	p := t.DefaultConnect()
	p.Properties.SetMaximumPacketSize(limit)
	return t.ConnectLabel(label, p), limit
}

func checkFits(t *c.T, p codec.Packet, limit uint32) {
	if n := packetSize(t, p); n > limit {
		t.Failf(fmt.Sprintf("at most %d bytes", limit), fmt.Sprintf("%d bytes: %s", n, p), "the server sent a %v of %d bytes to a client whose Maximum Packet Size is %d", p.Type(), n, limit)
	}
}

var _ = catalog.Broker(c.Case{
	ID:         "3.4/puback-within-maximum-packet-size",
	Title:      "a PUBACK with reason 0x10 (or 0x00) never exceeds the client's Maximum Packet Size: Reason String and User Properties are left out",
	Statements: []string{"MQTT-3.4.2-2", "MQTT-3.4.2-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		pub, limit := tightConnect(t, "pub", 6)
		pub.Send(&codec.Publish{Topic: t.Topic("nobody"), QoS: 1, PacketID: 9, Payload: b("x")})
		ack := pub.Expect(c.Puback(9).ReasonIn(codec.ReasonSuccess, codec.ReasonNoMatchingSubscribers))
		checkFits(t, ack, limit)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.5/pubrec-within-maximum-packet-size",
	Title:      "a PUBREC with reason 0x10 (or 0x00) never exceeds the client's Maximum Packet Size: Reason String and User Properties are left out",
	Statements: []string{"MQTT-3.5.2-2", "MQTT-3.5.2-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		pub, limit := tightConnect(t, "pub", 6)
		pub.Send(&codec.Publish{Topic: t.Topic("nobody"), QoS: 2, PacketID: 9, Payload: b("x")})
		rec := pub.Expect(c.Pubrec(9).ReasonIn(codec.ReasonSuccess, codec.ReasonNoMatchingSubscribers))
		checkFits(t, rec, limit)
		pub.Send(&codec.Pubrel{PacketID: 9})
		checkFits(t, pub.Expect(c.Pubcomp(9)), limit)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.7/pubcomp-within-maximum-packet-size",
	Title:      "a PUBCOMP answering a PUBREL for an unknown identifier (0x92 or 0x00) never exceeds the client's Maximum Packet Size",
	Statements: []string{"MQTT-3.7.2-2", "MQTT-3.7.2-3", "MQTT-3.7.2-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		pub, limit := tightConnect(t, "pub", 6)
		pub.Send(&codec.Pubrel{PacketID: 0x4321})
		comp := pub.Expect(c.Pubcomp(0x4321).ReasonIn(codec.ReasonSuccess, codec.ReasonPacketIDNotFound))
		checkFits(t, comp, limit)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.6/pubrel-within-maximum-packet-size",
	Title:      "the PUBREL the server sends as QoS 2 sender never exceeds the client's Maximum Packet Size",
	Statements: []string{"MQTT-3.6.2-2", "MQTT-3.6.2-3", "MQTT-3.6.2-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("rel")
		msg := &codec.Publish{Topic: topic, QoS: 2, PacketID: 1, Payload: b("x")}
		// Headroom for properties a broker may add to the forwarded PUBLISH (e.g. Message Expiry):
		// the case is about the PUBREL, not about whether the PUBLISH fits.
		sub, limit := tightConnect(t, "sub", packetSize(t, msg)+32)
		sub.Subscribe(topic, 2)
		t.Pub("pub").Publish(&codec.Publish{Topic: topic, QoS: 2, Payload: b("x")})
		p := sub.ExpectPublish(c.Publish(topic, b("x"), 2))
		sub.Send(&codec.Pubrec{PacketID: p.PacketID})
		checkFits(t, sub.Expect(c.Pubrel(p.PacketID)), limit)
		sub.Send(&codec.Pubcomp{PacketID: p.PacketID})
	},
})
