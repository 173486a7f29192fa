package publish

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Publications the server does not authorize (the target's ACL-denied topic).

var _ = catalog.Broker(c.Case{
	ID:         "3.3/unauthorized-publish-acknowledged-or-closed",
	Title:      "a QoS 1 PUBLISH to a topic the client may not publish to is acknowledged as usual (PUBACK with its id) or the connection is closed, and nothing is delivered",
	Statements: []string{"MQTT-3.3.5-2"},
	Versions:   c.V311,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureDeniedTopic, c.FeatureQoS1},
	Run: func(t *c.T) {
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: t.Target.DeniedTopic, QoS: 1, PacketID: 11, Payload: []byte("not allowed")})
		if pub.ExpectOrClosed(c.Puback(11)) != nil {
			pub.ExpectOpen()
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-refused-id-is-new-again",
	Title:      "after the server refuses a QoS 2 PUBLISH with PUBREC 0x80 or above, a PUBLISH with the same identifier is a new message: answered with PUBREC 0x00 and delivered",
	Statements: []string{"MQTT-4.3.3-9", "MQTT-4.4.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureDeniedTopic, c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("new")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: t.Target.DeniedTopic, QoS: 2, PacketID: 21, Payload: []byte("refused")})
		p, closed := pub.Next(t.Timeouts.Step)
		switch rec, ok := p.(*codec.Pubrec); {
		case closed:
			t.Skipf("the server closed the connection instead of refusing the PUBLISH with a PUBREC: MQTT-4.3.3-9 cannot be observed")
		case p == nil:
			t.Failf("PUBREC id=21", "nothing", "no answer to a QoS 2 PUBLISH within %v", t.Timeouts.Step)
		case !ok || rec.PacketID != 21:
			t.Failf("PUBREC id=21", p.String(), "unexpected answer to a QoS 2 PUBLISH")
		case !rec.ReasonCode.IsError():
			pub.Send(&codec.Pubrel{PacketID: 21})
			pub.Expect(c.Pubcomp(21))
			t.Skipf("the server accepted the PUBLISH to the denied topic (PUBREC %s): MQTT-4.3.3-9 cannot be observed", rec.ReasonCode)
		}
		// The refused identifier is free again: the same id carries a new message.
		pub.Send(&codec.Publish{Topic: topic, QoS: 2, PacketID: 21, Payload: []byte("new")})
		pub.Expect(c.Pubrec(21))
		pub.Send(&codec.Pubrel{PacketID: 21})
		pub.Expect(c.Pubcomp(21))
		sub.Receive(c.Publish(topic, []byte("new"), 2))
	},
})
