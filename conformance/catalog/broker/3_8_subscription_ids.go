package broker

import (
	"time"

	"fmt"
	"slices"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.8.2.1.2 Subscription Identifier (MQTT 5.0) and the PUBLISH rules it drives
// (section 3.3.4): the server returns the identifier of every matching subscription.

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-id-delivered",
	Title:      "a message matching a subscription made with Subscription Identifier 7 carries Subscription Identifier 7",
	Statements: []string{"MQTT-3.3.4-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID},
	Run: func(t *c.T) {
		topic := t.Topic("sid")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic}, subID(7))
		t.Pub("pub").PublishMsg(topic, "m", 0, false)
		sub.Expect(publishOn(topic, "m", 0).SubIDs(7))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-id-maximum-value",
	Title:      "the largest Subscription Identifier, 268435455 (four-byte variable byte integer), is returned intact",
	Statements: []string{"MQTT-3.3.4-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID},
	Run: func(t *c.T) {
		topic := t.Topic("sid")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic}, subID(268435455))
		t.Pub("pub").PublishMsg(topic, "m", 0, false)
		sub.Expect(publishOn(topic, "m", 0).SubIDs(268435455))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-id-absent-without-one",
	Title:      "a message matching only a subscription made without a Subscription Identifier carries none",
	Statements: []string{"MQTT-3.3.4-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID},
	Run: func(t *c.T) {
		topic := t.Topic("sid")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: t.Topic("other")}, subID(9)) // another subscription of the session has one
		sub.SubscribeOpts(codec.Subscription{Filter: topic}, nil)
		t.Pub("pub").PublishMsg(topic, "m", 0, false)
		sub.Expect(publishOn(topic, "m", 0).NoProp(codec.PropSubscriptionID))
	},
})

// expectOverlapping checks what the server sent for one QoS 0 message matching several
// subscriptions of the session, collected up to the sentinel: either one PUBLISH carrying the
// identifiers of all of them (in any order), or one PUBLISH per subscription, each carrying that
// subscription's identifier or none. want lists one entry per subscription, 0 meaning "made
// without an identifier".
func expectOverlapping(t *c.T, sub *c.Conn, topic, payload, sentinel string, want []uint32) {
	copies := collectUntil(t, sub, sentinel, nil)
	m := publishOn(topic, payload, 0)
	var ids []uint32
	for _, w := range want {
		if w != 0 {
			ids = append(ids, w)
		}
	}
	slices.Sort(ids)
	var got [][]uint32
	for _, p := range copies {
		if err := m.Match(p); err != nil {
			t.Failf(m.String(), p.String(), "[%s] %v", sub.Label, err)
		}
		got = append(got, p.Properties.SubscriptionIDs)
	}
	switch len(copies) {
	case 1:
		if one := slices.Sorted(slices.Values(got[0])); !slices.Equal(one, ids) {
			t.Failf(fmt.Sprintf("one copy with identifiers %v", ids), fmt.Sprint(got[0]),
				"the single copy for %d overlapping subscriptions carries identifiers %v, want %v", len(want), got[0], ids)
		}
	case len(want):
		var keys []uint32
		for _, g := range got {
			if len(g) > 1 {
				t.Failf("one identifier per copy", fmt.Sprint(got), "with one copy per subscription, a copy carries identifiers %v", g)
			}
			if len(g) == 1 {
				keys = append(keys, g[0])
			} else {
				keys = append(keys, 0)
			}
		}
		if !slices.Equal(slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(want))) {
			t.Failf(fmt.Sprintf("copies carrying %v (0 = none)", want), fmt.Sprint(got),
				"the %d copies carry identifiers %v, want one copy per subscription with %v (0 = none)", len(copies), got, want)
		}
	default:
		t.Failf(fmt.Sprintf("1 or %d copies", len(want)), fmt.Sprintf("%d copies", len(copies)),
			"a message matching %d subscriptions of one session arrived %d times", len(want), len(copies))
	}
}

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-ids-overlapping",
	Title:      "a message matching two subscriptions with identifiers 1 and 2 carries both (one copy) or one each (two copies)",
	Statements: []string{"MQTT-3.3.4-3", "MQTT-3.3.4-4", "MQTT-3.3.4-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID, c.FeatureWildcard},
	Run: func(t *c.T) {
		topic := t.Topic("a/b")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: t.TopicPrefix() + "/a/#"}, subID(1))
		sub.SubscribeOpts(codec.Subscription{Filter: topic}, subID(2))
		sentinel := t.Topic("sentinel")
		sub.Subscribe(sentinel, 0)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "m", 0, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		expectOverlapping(t, sub, topic, "m", sentinel, []uint32{1, 2})
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-ids-overlapping-one-without",
	Title:      "a message matching a subscription with identifier 5 and one without carries [5] (one copy) or [5] and none (two copies)",
	Statements: []string{"MQTT-3.3.4-3", "MQTT-3.3.4-4", "MQTT-3.3.4-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID, c.FeatureWildcard},
	Run: func(t *c.T) {
		topic := t.Topic("a/b")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: t.TopicPrefix() + "/a/+"}, nil)
		sub.SubscribeOpts(codec.Subscription{Filter: topic}, subID(5))
		sentinel := t.Topic("sentinel")
		sub.Subscribe(sentinel, 0)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "m", 0, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		expectOverlapping(t, sub, topic, "m", sentinel, []uint32{5, 0})
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-id-replaced",
	Title:      "re-subscribing to the same filter with identifier 2 replaces identifier 1: messages carry 2 only",
	Statements: []string{"MQTT-3.8.4-3", "MQTT-3.3.4-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID},
	Run: func(t *c.T) {
		topic := t.Topic("sid")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic}, subID(1))
		sub.SubscribeOpts(codec.Subscription{Filter: topic}, subID(2))
		t.Pub("pub").PublishMsg(topic, "m", 0, false)
		sub.Expect(publishOn(topic, "m", 0).SubIDs(2))
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-id-removed-on-resubscribe",
	Title:      "re-subscribing to the same filter without an identifier removes the old one: messages carry none",
	Statements: []string{"MQTT-3.8.4-3", "MQTT-3.3.4-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID},
	Run: func(t *c.T) {
		topic := t.Topic("sid")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic}, subID(4))
		sub.SubscribeOpts(codec.Subscription{Filter: topic}, nil)
		t.Pub("pub").PublishMsg(topic, "m", 0, false)
		sub.Expect(publishOn(topic, "m", 0).NoProp(codec.PropSubscriptionID))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-id-on-retained",
	Title:      "a retained message sent because of a new subscription carries that subscription's identifier",
	Statements: []string{"MQTT-3.3.4-3", "MQTT-3.3.1-9"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID, c.FeatureRetain},
	Run: func(t *c.T) {
		topic := t.Topic("sid")
		pub := t.Pub("pub")
		setRetained(pub, topic, "kept")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		id := subscribeMany(sub, subID(11), codec.Subscription{Filter: topic})
		sub.ExpectUnordered(c.Suback(id, 0), retained(topic, "kept", 0).SubIDs(11))
		setRetained(pub, topic, "")
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-id-kept-in-session",
	Title:      "a message queued for a disconnected session carries the identifier of the subscription it matched when delivered on reconnect",
	Statements: []string{"MQTT-3.3.4-3", "MQTT-3.1.2-23"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID, c.FeatureQoS1},
	Run: func(t *c.T) {
		id, topic := t.ClientID(), t.Topic("sid")
		first := t.ConnectResume("first", t.PersistentConnect(id), false)
		first.SubscribeOpts(codec.Subscription{Filter: topic, QoS: 1}, subID(21))
		first.Disconnect()
		t.SleepQuiet(200 * time.Millisecond) // let the server see the close, so the message is queued
		t.Pub("pub").PublishMsg(topic, "queued", 1, false)
		again := t.ConnectResume("again", t.PersistentConnect(id), true)
		// DUP is 4.5/offline-session-receives-queued's claim, not this case's.
		again.Receive(publishOn(topic, "queued", 1).SubIDs(21).AnyDup())
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-id-0-closes",
	Title:      "a SUBSCRIBE with Subscription Identifier 0 is a protocol error: the server closes the connection",
	Statements: []string{"MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Properties: *subID(0), Subscriptions: []codec.Subscription{{Filter: t.Topic("a")}}})
		conn.ExpectErrorClose(malformedOrProtocol...)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-id-twice-closes",
	Title:      "a SUBSCRIBE carrying two Subscription Identifiers is a protocol error: the server closes the connection",
	Statements: []string{"MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Properties: codec.Properties{SubscriptionIDs: []uint32{1, 2}}, Subscriptions: []codec.Subscription{{Filter: t.Topic("a")}}})
		conn.ExpectErrorClose(malformedOrProtocol...)
	},
})
