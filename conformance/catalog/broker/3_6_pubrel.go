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
