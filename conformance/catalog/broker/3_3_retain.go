package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.3.1.3 RETAIN. The statement numbers of this section moved between 3.1.1 and 5.0
// (3.1.1's MQTT-3.3.1-6 "send retained on subscribe" is 5.0's MQTT-3.3.1-9; 5.0's MQTT-3.3.1-6 is
// 3.1.1's MQTT-3.3.1-10 …), so most behaviours are registered once per version with split.

// retained is the matcher for a retained message delivered because a subscription was made.
func retained(topic, payload string, qos byte) *c.M {
	return c.Publish(topic, b(payload), qos).Retain(true)
}

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-sent-to-new-subscriber",
	Title:      "a retained QoS 1 message is sent to a new subscription with RETAIN 1 and its payload unchanged",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"MQTT-3.3.1-5", "3.1.1:MQTT-3.3.1-6", "3.1.1:MQTT-3.3.1-8", "5.0:MQTT-3.3.1-9"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		t.Pub("pub").PublishMsg(topic, "kept", 1, true)
		subRetained(t, "sub", topic, 1, retained(topic, "kept", 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-sent-for-each-matching-topic",
	Title:      "a new wildcard subscription receives the retained message of every matching topic, each with RETAIN 1",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureWildcard},
	Statements: []string{"3.1.1:MQTT-3.3.1-6", "3.1.1:MQTT-3.3.1-8", "5.0:MQTT-3.3.1-9"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		pub := t.Pub("pub")
		pub.PublishMsg(t.Topic("w/a"), "first topic", 0, true)
		pub.PublishMsg(t.Topic("w/b"), "second topic", 0, true)
		pub.ExpectOpen()
		subRetained(t, "sub", t.Topic("w/+"), 0, retained(t.Topic("w/a"), "first topic", 0), retained(t.Topic("w/b"), "second topic", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-downgraded-to-granted-qos",
	Title:      "a message retained at QoS 1 is sent to a new subscription granted QoS 0 at QoS 0, with RETAIN 1",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.8.4-6", "3.1.1:MQTT-3.3.1-6", "3.1.1:MQTT-3.3.1-8", "MQTT-3.8.4-8", "5.0:MQTT-3.3.1-9"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		t.Pub("pub").PublishMsg(topic, "stored at 1", 1, true)
		subRetained(t, "sub", topic, 0, retained(topic, "stored at 1", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-qos0-discards-previous",
	Title:      "a retained QoS 0 PUBLISH discards the message retained before it: a new subscriber never gets the old one",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.3.1-7", "5.0:MQTT-3.3.1-5"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "old", 1, true)
		pub.PublishMsg(topic, "new", 0, true)
		pub.ExpectOpen()
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		q := grant(t, 1)
		id := subscribeMany(sub, nil, codec.Subscription{Filter: topic, QoS: q})
		// The server should keep "new" (a SHOULD, checked by its own case) but may drop it, and
		// may send it before the SUBACK (section 3.8.4). A live marker published after the SUBACK
		// bounds the wait; "old" must not come at all.
		gotNew := sub.Expect(c.OneOf(c.Suback(id, codec.ReasonCode(q)), retained(topic, "new", 0))).Type() == codec.PUBLISH
		if gotNew {
			sub.Expect(c.Suback(id, codec.ReasonCode(q)))
		}
		pub.PublishMsg(topic, "marker", 0, false)
		if !gotNew {
			first := sub.ExpectPublish(c.AnyPublish().Topic(topic).QoS(0).Where("payload is \"new\" (RETAIN 1) or the live marker (RETAIN 0)", func(p codec.Packet) error {
				return retainedOrMarker(p, "new")
			}))
			gotNew = string(first.Payload) == "new"
			if !gotNew {
				return
			}
		}
		sub.Expect(c.Publish(topic, b("marker"), 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-empty-payload-deletes",
	Title:      "a retained PUBLISH with an empty payload removes the topic's retained message: a new subscriber gets nothing",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.3.1-10", "3.1.1:MQTT-3.3.1-11", "5.0:MQTT-3.3.1-6", "5.0:MQTT-3.3.1-7"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "to be deleted", 1, true)
		pub.PublishMsg(topic, "", 1, true)
		t.Sub("sub", topic, 1).ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-empty-payload-forwarded",
	Title:      "a retained PUBLISH with an empty payload is still delivered to existing subscribers, with an empty payload and RETAIN 0",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.3.1-10", "3.1.1:MQTT-3.3.1-9", "5.0:MQTT-3.3.1-6", "5.0:MQTT-3.3.1-12"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		sub := t.Sub("sub", topic, 1)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "set", 1, true)
		sub.Receive(c.Publish(topic, b("set"), 1))
		pub.PublishMsg(topic, "", 1, true)
		sub.Receive(c.Publish(topic, nil, 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-empty-payload-not-stored",
	Title:      "a retained PUBLISH with an empty payload on a topic with no retained message stores nothing: a new subscriber gets nothing",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.3.1-11", "5.0:MQTT-3.3.1-7"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		t.Pub("pub").PublishMsg(topic, "", 1, true)
		t.Sub("sub", topic, 1).ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retain-0-not-stored",
	Title:      "a PUBLISH with RETAIN 0 is not stored as retained: a later subscriber gets nothing",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.3.1-12", "5.0:MQTT-3.3.1-8"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		t.Pub("pub").PublishMsg(topic, "not retained", 1, false)
		// A server may acknowledge before it forwards (mochi writes the PUBACK, then matches
		// subscriptions): a subscription made in between rightly gets the message live, with
		// RETAIN 0. Let the forwarding end first, so that whatever arrives is a stored copy.
		t.SleepQuiet(0)
		t.Sub("sub", topic, 1).ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retain-0-does-not-replace",
	Title:      "a PUBLISH with RETAIN 0 leaves the retained message in place: a new subscriber gets the retained one",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.3.1-12", "5.0:MQTT-3.3.1-8"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "retained", 1, true)
		pub.PublishMsg(topic, "live only", 1, false)
		t.SleepQuiet(0) // see 3.3/retain-0-not-stored: "live only" may still be on its way to subscribers
		subRetained(t, "sub", topic, 1, retained(topic, "retained", 1)).ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retain-0-empty-payload-does-not-delete",
	Title:      "a PUBLISH with RETAIN 0 and an empty payload does not remove the retained message",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.3.1-12", "5.0:MQTT-3.3.1-8"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "retained", 1, true)
		pub.PublishMsg(topic, "", 1, false)
		t.SleepQuiet(0) // see 3.3/retain-0-not-stored: the empty message may still be on its way to subscribers
		subRetained(t, "sub", topic, 1, retained(topic, "retained", 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-forwarded-live-with-retain-0",
	Title:      "a retained PUBLISH forwarded to an existing subscription (v5: Retain As Published 0) carries RETAIN 0",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.3.1-9", "5.0:MQTT-3.3.1-12"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("r")
		sub := t.Sub("sub", topic, 1)
		t.Pub("pub").PublishMsg(topic, "live", 1, true)
		sub.Receive(c.Publish(topic, b("live"), 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-keeps-its-qos",
	Title:      "a message retained at QoS 1 is sent to a new QoS 2 subscription at QoS 1",
	Statements: []string{"MQTT-3.3.1-5"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("r")
		t.Pub("pub").PublishMsg(topic, "stored at 1", 1, true)
		subRetained(t, "sub", topic, 2, retained(topic, "stored at 1", 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-replaced-by-newer",
	Title:      "a second retained message on a topic replaces the first: a new subscriber gets only the second",
	Statements: []string{"MQTT-3.3.1-5"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("r")
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "first", 1, true)
		pub.PublishMsg(topic, "second", 1, true)
		subRetained(t, "sub", topic, 1, retained(topic, "second", 1)).ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retained-qos0-stored",
	Title:      "a retained QoS 0 PUBLISH becomes the topic's retained message: a new subscriber gets it with RETAIN 1",
	Statements: []string{"mqttspec-3.1.1-3.3.1-should-1", "mqttspec-5.0-3.3.1-should-1"},
	Versions:   c.Both,
	Level:      c.Should,
	Requires:   []c.Feature{c.FeatureRetain},
	Run: func(t *c.T) {
		topic := t.Topic("r")
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "qos0 retained", 0, true)
		pub.ExpectOpen()
		subRetained(t, "sub", topic, 1, retained(topic, "qos0 retained", 0))
	},
})

// ---- v5 subscription options that govern retained messages ----

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retain-as-published-1",
	Title:      "a subscription with Retain As Published 1 gets live messages with RETAIN as the publisher set it (1, then 0)",
	Statements: []string{"MQTT-3.3.1-13"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("rap")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic, QoS: 1, RetainAsPublished: true}, nil)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "published retained", 1, true)
		sub.Receive(retained(topic, "published retained", 1))
		pub.PublishMsg(topic, "published plain", 1, false)
		sub.Receive(c.Publish(topic, b("published plain"), 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retain-handling-0-sends-on-every-subscribe",
	Title:      "with Retain Handling 0 the retained message is sent when the subscription is made and again when it is replaced",
	Statements: []string{"MQTT-3.3.1-9", "MQTT-3.8.4-4"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("rh")
		t.Pub("pub").PublishMsg(topic, "kept", 1, true)
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		opts := codec.Subscription{Filter: topic, QoS: 1, RetainHandling: 0}
		subscribeRetained(t, sub, opts, nil, retained(topic, "kept", 1))
		subscribeRetained(t, sub, opts, nil, retained(topic, "kept", 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retain-handling-1-sends-only-on-new-subscription",
	Title:      "with Retain Handling 1 the retained message is sent for a new subscription but not when an existing one is replaced",
	Statements: []string{"MQTT-3.3.1-10"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("rh")
		t.Pub("pub").PublishMsg(topic, "kept", 1, true)
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		opts := codec.Subscription{Filter: topic, QoS: 1, RetainHandling: 1}
		subscribeRetained(t, sub, opts, nil, retained(topic, "kept", 1))
		sub.SubscribeOpts(opts, nil)
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/retain-handling-2-never-sends",
	Title:      "with Retain Handling 2 no retained message is sent when the subscription is made, but live messages are",
	Statements: []string{"MQTT-3.3.1-11"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("rh")
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "kept", 1, true)
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic, QoS: 1, RetainHandling: 2}, nil)
		// The next packet must be the live message, not the retained one.
		pub.PublishMsg(topic, "live", 1, false)
		sub.Receive(c.Publish(topic, b("live"), 1))
	},
})

// retainedOrMarker accepts the retained message with the payload want (RETAIN 1) or the live
// "marker" (RETAIN 0), both with DUP 0.
func retainedOrMarker(p codec.Packet, want string) error {
	pub := p.(*codec.Publish)
	switch {
	case pub.Dup:
		return fmt.Errorf("DUP is 1 on a first delivery")
	case string(pub.Payload) == want && pub.Retain:
		return nil
	case string(pub.Payload) == "marker" && !pub.Retain:
		return nil
	}
	return fmt.Errorf("payload %q with RETAIN %t", pub.Payload, pub.Retain)
}
