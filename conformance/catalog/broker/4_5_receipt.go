package broker

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.5: a message the server has taken ownership of goes to every session with a matching
// subscription, connected or not.

var _ = catalog.Broker(c.Case{
	ID:         "4.5/every-matching-subscriber-receives",
	Title:      "a message reaches each client whose subscription matches it (exact, '+' and '#' filters) and no client whose subscription does not",
	Statements: []string{"MQTT-4.5.0-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWildcard, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("fan/out")
		exact := t.Sub("exact", topic, 1)
		plus := t.Sub("plus", t.Topic("fan/+"), 1)
		hash := t.Sub("hash", t.Topic("#"), 1)
		other := t.Sub("other", t.Topic("fan/other"), 1)
		t.Pub("pub").PublishMsg(topic, "to all", 1, false)
		for _, s := range []*c.Conn{exact, plus, hash} {
			s.Receive(c.Publish(topic, b("to all"), 1))
		}
		other.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.5/offline-session-receives-queued",
	Title:      "QoS 1 and QoS 2 messages published while a subscriber's session is offline are delivered on reconnect, on their first transmission with DUP 0",
	Statements: []string{"MQTT-4.5.0-1", "MQTT-3.1.2-5", "MQTT-3.3.1-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic, id := t.Topic("q"), t.ClientID()
		offline(t, persistentSub(t, "sub1", id, topic, 2))
		pub := t.Pub("pub")
		pub.Publish(&codec.Publish{Topic: topic, QoS: 1, Payload: b("queued q1")})
		pub.Publish(&codec.Publish{Topic: topic, QoS: 2, Payload: b("queued q2")})
		sub := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		// Order is only kept per QoS: the two may come either way round.
		got := receiveAll(t, sub, 2)
		want := map[string]byte{"queued q1": 1, "queued q2": 2}
		for _, p := range got {
			qos, ok := want[string(p.Payload)]
			if !ok || p.QoS != qos || p.Dup || p.Retain || p.Topic != topic {
				t.Failf("\"queued q1\" at QoS 1 and \"queued q2\" at QoS 2, each once with DUP 0 and RETAIN 0 on the topic published", payloads(got), "queued message delivered as %s", p)
			}
			delete(want, string(p.Payload))
		}
	},
})
