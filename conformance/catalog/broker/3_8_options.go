package broker

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.8.3.1 subscription options of MQTT 5.0: No Local, Retain As Published and Retain
// Handling; and, in both versions, the RETAIN flag of messages forwarded to a live subscription.

var _ = catalog.Broker(c.Case{
	ID:         "3.8/no-local-not-echoed",
	Title:      "with No Local 1 the server does not send a client its own messages, but still sends it other clients' messages",
	Statements: []string{"MQTT-3.8.3-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("nl")
		conn := t.ConnectLabel("self", t.DefaultConnect())
		conn.SubscribeOpts(codec.Subscription{Filter: topic, NoLocal: true}, nil)
		conn.PublishMsg(topic, "own", 0, false)
		t.Pub("other").PublishMsg(topic, "other", 0, false)
		// The own message, if wrongly delivered, would be queued before the other client's.
		conn.Expect(publishOn(topic, "other", 0))
		conn.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/no-local-0-echoes",
	Title:      "with No Local 0 the server sends a client its own messages on a matching subscription",
	Statements: []string{"MQTT-4.5.0-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("echo")
		conn := t.ConnectLabel("self", t.DefaultConnect())
		conn.SubscribeOpts(codec.Subscription{Filter: topic}, nil)
		conn.PublishMsg(topic, "own", 0, false)
		conn.Expect(publishOn(topic, "own", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/no-local-on-shared-closes",
	Title:      "No Local 1 on a shared subscription is a protocol error: the server closes the connection (DISCONNECT 0x82 allowed)",
	Statements: []string{"MQTT-3.8.3-4", "MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureShared},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: "$share/g/" + t.Topic("a"), NoLocal: true}}})
		conn.ExpectClosed(c.OrDisconnect(codec.ReasonProtocolError))
	},
})

var _ = func() int {
	catalog.Broker(c.Case{
		ID:         "3.8/live-retained-forwarded-with-retain-0",
		Title:      "a retained PUBLISH forwarded to an established subscription (5.0: Retain As Published 0) carries RETAIN 0",
		Level:      c.Must,
		Requires:   []c.Feature{c.FeatureRetain},
		Statements: []string{"3.1.1:MQTT-3.3.1-9", "5.0:MQTT-3.3.1-12"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			topic := t.Topic("rap0")
			sub := t.Sub("sub", topic, 0)
			pub := t.Pub("pub")
			pub.PublishMsg(topic, "live", 0, true)
			sub.Expect(publishOn(topic, "live", 0)) // RETAIN 0 checked by the matcher
			setRetained(pub, topic, "")
		},
	})
	return 0
}()

var _ = catalog.Broker(c.Case{
	ID:         "3.8/retain-as-published-1",
	Title:      "with Retain As Published 1 forwarded messages keep the publisher's RETAIN flag: 1 for a retained PUBLISH, 0 for a normal one",
	Statements: []string{"MQTT-3.3.1-13"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain},
	Run: func(t *c.T) {
		topic := t.Topic("rap1")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic, RetainAsPublished: true}, nil)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "retained", 0, true)
		pub.PublishMsg(topic, "normal", 0, false)
		sub.Expect(retained(topic, "retained", 0))
		sub.Expect(publishOn(topic, "normal", 0))
		setRetained(pub, topic, "")
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/retain-handling-0-sends-retained",
	Title:      "a new subscription with Retain Handling 0 gets the matching retained message with RETAIN 1",
	Statements: []string{"MQTT-3.3.1-9"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain},
	Run: func(t *c.T) {
		topic := t.Topic("rh0")
		pub := t.Pub("pub")
		setRetained(pub, topic, "kept")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		id := subscribeMany(sub, nil, codec.Subscription{Filter: topic, RetainHandling: 0})
		sub.ExpectUnordered(c.Suback(id, 0), retained(topic, "kept", 0))
		setRetained(pub, topic, "")
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/retain-handling-1-new-subscription",
	Title:      "a subscription with Retain Handling 1 that did not exist gets the matching retained message",
	Statements: []string{"MQTT-3.3.1-10"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain},
	Run: func(t *c.T) {
		topic := t.Topic("rh1")
		pub := t.Pub("pub")
		setRetained(pub, topic, "kept")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		id := subscribeMany(sub, nil, codec.Subscription{Filter: topic, RetainHandling: 1})
		sub.ExpectUnordered(c.Suback(id, 0), retained(topic, "kept", 0))
		setRetained(pub, topic, "")
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/retain-handling-1-existing-subscription",
	Title:      "re-subscribing with Retain Handling 1 to a filter already subscribed sends no retained message",
	Statements: []string{"MQTT-3.3.1-10"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain},
	Run: func(t *c.T) {
		topic := t.Topic("rh1")
		pub := t.Pub("pub")
		setRetained(pub, topic, "kept")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		id := subscribeMany(sub, nil, codec.Subscription{Filter: topic, RetainHandling: 1})
		sub.ExpectUnordered(c.Suback(id, 0), retained(topic, "kept", 0))
		id = subscribeMany(sub, nil, codec.Subscription{Filter: topic, RetainHandling: 1})
		sub.Expect(c.Suback(id, 0))
		// Anything retained would be sent right after (or before) the SUBACK; a live message
		// published now must be the next PUBLISH.
		pub.PublishMsg(topic, "live", 0, false)
		sub.Expect(publishOn(topic, "live", 0))
		setRetained(pub, topic, "")
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/retain-handling-2-no-retained",
	Title:      "a new subscription with Retain Handling 2 gets no retained message, but live messages flow",
	Statements: []string{"MQTT-3.3.1-11"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain},
	Run: func(t *c.T) {
		topic := t.Topic("rh2")
		pub := t.Pub("pub")
		setRetained(pub, topic, "kept")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		id := subscribeMany(sub, nil, codec.Subscription{Filter: topic, RetainHandling: 2})
		sub.Expect(c.Suback(id, 0))
		pub.PublishMsg(topic, "live", 0, false)
		sub.Expect(publishOn(topic, "live", 0))
		setRetained(pub, topic, "")
	},
})
