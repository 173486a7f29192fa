package publish

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
		persistentSub(t, "sub1", id, topic, 2).Disconnect()
		pub := t.Pub("pub")
		pub.Publish(&codec.Publish{Topic: topic, QoS: 1, Payload: b("queued q1")})
		pub.Publish(&codec.Publish{Topic: topic, QoS: 2, Payload: b("queued q2")})
		sub := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		got := receiveAll(t, sub, 2)
		c.Equal(t, "first queued payload", string(got[0].Payload), "queued q1")
		c.Equal(t, "second queued payload", string(got[1].Payload), "queued q2")
		for _, p := range got {
			if p.Dup || p.Retain || p.Topic != topic {
				t.Failf("DUP 0, RETAIN 0 on the topic published", p.String(), "queued message delivered as %s", p)
			}
		}
		c.Equal(t, "QoS of the first queued message", got[0].QoS, 1)
		c.Equal(t, "QoS of the second queued message", got[1].QoS, 2)
	},
})
