package broker

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
