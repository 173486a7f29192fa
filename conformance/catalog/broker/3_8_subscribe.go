package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.8 SUBSCRIBE: packet structure, SUBACK pairing, several filters, granted QoS and
// replacing an existing subscription. The 5.0 subscription options are in 3_8_options.go, the
// Subscription Identifier in 3_8_subscription_ids.go.

// Fixed-header flags other than 0010 make the SUBSCRIBE malformed. Two variants: a server that
// checks only bit 1 passes the first and fails the second.
var _ = func() int {
	for _, v := range []struct {
		id    string
		flags byte
	}{{"3.8/flags-0000-closes", 0x0}, {"3.8/flags-0011-closes", 0x3}} {
		catalog.Broker(c.Case{
			ID:         v.id,
			Title:      fmt.Sprintf("a SUBSCRIBE whose fixed-header flags are %04b instead of 0010 is malformed: the server closes the connection", v.flags),
			Statements: []string{"MQTT-3.8.1-1", "MQTT-2.2.2-2", "MQTT-2.1.3-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
			Versions:   c.Both,
			Level:      c.Must,
			Run: func(t *c.T) {
				conn := t.Connect(t.DefaultConnect())
				sub := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("a")}}}
				conn.SendRaw(c.WithFlags(t.Encode(sub, t.Version), v.flags), fmt.Sprintf("SUBSCRIBE with fixed-header flags %04b", v.flags))
				conn.ExpectErrorClose(malformedOrProtocol...)
			},
		})
	}
	return 0
}()

var _ = func() int {
	catalog.Broker(c.Case{
		ID:         "3.8/no-topic-filter-closes",
		Title:      "a SUBSCRIBE without any topic filter is a protocol violation: the server closes the connection",
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-3.8.3-3", "MQTT-4.8.0-1", "5.0:MQTT-3.8.3-2", "MQTT-4.13.1-1"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.Send(&codec.Subscribe{PacketID: conn.NextID()})
			conn.ExpectErrorClose(malformedOrProtocol...)
		},
	})

	catalog.Broker(c.Case{
		ID:         "3.8/reserved-option-bits-close",
		Title:      "a SUBSCRIBE whose subscription options have a reserved bit set is malformed: the server closes the connection",
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-3.8.3-4", "MQTT-4.8.0-1", "MQTT-3.8.3-5", "MQTT-4.13.1-1"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			// 3.1.1 reserves bits 7-2 of the requested QoS byte, 5.0 bits 7-6 of the options; the
			// codec shifts ReservedBits into place, so 1 sets the lowest reserved bit (0x04, 0x40).
			conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("a"), ReservedBits: 1}}})
			conn.ExpectErrorClose(malformedOrProtocol...)
		},
	})

	catalog.Broker(c.Case{
		ID:         "3.8/qos-3-closes",
		Title:      "a SUBSCRIBE requesting QoS 3 is malformed (5.0: a protocol error): the server closes the connection",
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-3.8.3-4", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("a"), QoS: 3}}})
			conn.ExpectErrorClose(malformedOrProtocol...)
		},
	})
	return 0
}()

var _ = catalog.Broker(c.Case{
	ID:         "3.8/retain-handling-3-closes",
	Title:      "a SUBSCRIBE with Retain Handling 3 is a protocol error: the server closes the connection",
	Statements: []string{"MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("a"), RetainHandling: 3}}})
		conn.ExpectErrorClose(malformedOrProtocol...)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/packet-id-0-closes",
	Title:      "a SUBSCRIBE with Packet Identifier 0 is a protocol violation: the server closes the connection",
	Statements: []string{"MQTT-2.3.1-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Subscribe{PacketID: 0, Subscriptions: []codec.Subscription{{Filter: t.Topic("a")}}})
		conn.ExpectErrorClose(malformedOrProtocol...)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/suback-carries-packet-id",
	Title:      "every SUBSCRIBE is answered by a SUBACK carrying its Packet Identifier (0xA5C3 and 0x0001 on one connection)",
	Statements: []string{"MQTT-3.8.4-1", "MQTT-3.8.4-2", "MQTT-2.3.1-7", "MQTT-2.2.1-6"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		// A high byte set catches byte-order and truncation bugs; the second SUBSCRIBE is sent
		// before the first is answered, so a server echoing a stale identifier fails too.
		for _, id := range []uint16{0xA5C3, 0x0001} {
			conn.Send(&codec.Subscribe{PacketID: id, Subscriptions: []codec.Subscription{{Filter: t.Topic(fmt.Sprint(id))}}})
		}
		// Each SUBACK must carry its own identifier; the order of the two is not prescribed.
		conn.ExpectUnordered(c.Suback(0xA5C3, 0), c.Suback(0x0001, 0))
	},
})

var _ = func() int {
	catalog.Broker(c.Case{
		ID:         "3.8/several-filters-one-suback",
		Title:      "a SUBSCRIBE with three filters gets one SUBACK with three codes, each granting the QoS asked for that filter, in filter order",
		Level:      c.Must,
		Requires:   []c.Feature{c.FeatureQoS2},
		Statements: []string{"3.1.1:MQTT-3.8.4-4", "MQTT-3.8.4-5", "MQTT-3.9.3-1", "5.0:MQTT-3.8.4-6", "MQTT-3.8.4-7"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			id := subscribeMany(conn, nil,
				codec.Subscription{Filter: t.Topic("q2"), QoS: 2},
				codec.Subscription{Filter: t.Topic("q0"), QoS: 0},
				codec.Subscription{Filter: t.Topic("q1"), QoS: 1})
			conn.Expect(c.Suback(id, 2, 0, 1))
			conn.ExpectNothing(0) // one SUBACK, not one per filter
		},
	})

	catalog.Broker(c.Case{
		ID:         "3.8/several-filters-all-active",
		Title:      "every filter of a multi-filter SUBSCRIBE is subscribed: messages on each arrive at that filter's granted QoS",
		Level:      c.Must,
		Requires:   []c.Feature{c.FeatureQoS2},
		Statements: []string{"3.1.1:MQTT-3.8.4-4", "3.1.1:MQTT-3.8.4-6", "5.0:MQTT-3.8.4-5", "MQTT-3.8.4-8"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			id := subscribeMany(conn, nil,
				codec.Subscription{Filter: t.Topic("a"), QoS: 0},
				codec.Subscription{Filter: t.Topic("b"), QoS: 1},
				codec.Subscription{Filter: t.Topic("c"), QoS: 2})
			conn.Expect(c.Suback(id, 0, 1, 2))
			pub := t.Pub("pub")
			for _, n := range []string{"a", "b", "c"} {
				pub.PublishMsg(t.Topic(n), "to "+n, 2, false)
			}
			conn.Receive(publishOn(t.Topic("a"), "to a", 0))
			conn.Receive(publishOn(t.Topic("b"), "to b", 1))
			conn.Receive(publishOn(t.Topic("c"), "to c", 2))
		},
	})

	// Granted QoS: the message goes out at min(published QoS, granted QoS).
	for _, v := range []struct {
		id          string
		sub, pub    byte
		requires    []c.Feature
		description string
	}{
		{"3.8/qos-downgraded-2-to-0", 0, 2, []c.Feature{c.FeatureQoS2}, "a QoS 2 message to a QoS 0 subscription is delivered at QoS 0"},
		{"3.8/qos-downgraded-2-to-1", 1, 2, []c.Feature{c.FeatureQoS2}, "a QoS 2 message to a QoS 1 subscription is delivered at QoS 1"},
		{"3.8/qos-not-upgraded-1-to-2", 2, 1, []c.Feature{c.FeatureQoS2}, "a QoS 1 message to a QoS 2 subscription is delivered at QoS 1, not upgraded"},
		{"3.8/qos-not-upgraded-0-to-1", 1, 0, []c.Feature{c.FeatureQoS1}, "a QoS 0 message to a QoS 1 subscription is delivered at QoS 0, not upgraded"},
	} {
		catalog.Broker(c.Case{
			ID:         v.id,
			Title:      v.description,
			Level:      c.Must,
			Requires:   v.requires,
			Statements: []string{"3.1.1:MQTT-3.8.4-6", "MQTT-3.8.4-8"},
			Versions:   c.Both,
			Run: func(t *c.T) {
				topic := t.Topic("q")
				sub := t.Sub("sub", topic, v.sub)
				t.Pub("pub").PublishMsg(topic, "m", v.pub, false)
				sub.Receive(publishOn(topic, "m", min(v.sub, v.pub)))
			},
		})
	}
	return 0
}()

var _ = catalog.Broker(c.Case{
	ID:         "3.8/resubscribe-no-duplicate",
	Title:      "subscribing twice to an identical filter replaces the subscription: one message is delivered once",
	Statements: []string{"MQTT-3.8.4-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("a")
		sub := t.Sub("sub", topic, 1)
		sub.Subscribe(topic, 1)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "once", 1, false)
		pub.PublishMsg(topic, "second", 1, false)
		sub.Receive(publishOn(topic, "once", 1))
		// A duplicate of "once" (same topic and QoS, so ordered) would arrive before "second".
		sub.Receive(publishOn(topic, "second", 1))
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/resubscribe-replaces-qos",
	Title:      "re-subscribing to an identical filter at QoS 0 replaces the QoS 2 subscription: a QoS 2 message then arrives once at QoS 0",
	Statements: []string{"MQTT-3.8.4-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("a")
		sub := t.Sub("sub", topic, 2)
		sub.Subscribe(topic, 0)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "m", 2, false)
		pub.PublishMsg(topic, "end", 2, false)
		// A second copy of "m" (the old QoS 2 subscription kept beside the new one) would come
		// before "end".
		sub.Expect(publishOn(topic, "m", 0))
		sub.Expect(publishOn(topic, "end", 0))
	},
})

var _ = func() int {
	catalog.Broker(c.Case{
		ID:         "3.8/resubscribe-resends-retained",
		Title:      "re-subscribing to an identical filter (5.0: Retain Handling 0) sends the matching retained message again, with RETAIN 1",
		Level:      c.Must,
		Requires:   []c.Feature{c.FeatureRetain},
		Statements: []string{"MQTT-3.8.4-3", "3.1.1:MQTT-3.3.1-6", "3.1.1:MQTT-3.3.1-8", "5.0:MQTT-3.8.4-4", "5.0:MQTT-3.3.1-9"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			topic := t.Topic("r")
			pub := t.Pub("pub")
			setRetained(pub, topic, "kept")
			sub := t.ConnectLabel("sub", t.DefaultConnect())
			for range 2 {
				id := subscribeMany(sub, nil, codec.Subscription{Filter: topic})
				// The server may send the retained message before the SUBACK.
				sub.ExpectUnordered(c.Suback(id, 0), retained(topic, "kept", 0))
			}
			setRetained(pub, topic, "")
		},
	})
	return 0
}()

// Features the server says it lacks: a subscription using one is refused with the reason code
// the specification names, or (5.0) the server closes with that code in DISCONNECT.

var _ = func() int {
	catalog.Broker(c.Case{
		ID:         "3.8/wildcard-unsupported-refused",
		Title:      "a server without wildcard subscriptions refuses a filter with a wildcard (5.0: SUBACK or DISCONNECT 0xA2)",
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-3.8.3-2", "MQTT-3.8.4-7", "5.0:MQTT-3.9.3-2"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			if t.Caps.Has(c.FeatureWildcard) {
				t.Skipf("the target supports wildcard subscriptions")
			}
			skipUnlessAnnounced(t, c.FeatureWildcard)
			conn := t.Connect(t.DefaultConnect())
			sub := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.TopicPrefix() + "/+"}}}
			code := codec.SubackFailure
			if t.V5() {
				code = codec.ReasonWildcardSubsNotSupported
			}
			expectRefusedOrClosed(t, conn, sub, []codec.ReasonCode{code}, []codec.ReasonCode{codec.ReasonWildcardSubsNotSupported})
		},
	})
	return 0
}()

var _ = catalog.Broker(c.Case{
	ID:         "3.8/subscription-ids-unsupported-refused",
	Title:      "a server without Subscription Identifiers refuses a SUBSCRIBE carrying one (SUBACK or DISCONNECT 0xA1)",
	Statements: []string{"MQTT-3.8.4-7", "MQTT-3.9.3-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		if t.Caps.Has(c.FeatureSubID) {
			t.Skipf("the target supports Subscription Identifiers")
		}
		skipUnlessAnnounced(t, c.FeatureSubID)
		conn := t.Connect(t.DefaultConnect())
		sub := &codec.Subscribe{PacketID: conn.NextID(), Properties: *subID(3), Subscriptions: []codec.Subscription{{Filter: t.Topic("a")}}}
		code := []codec.ReasonCode{codec.ReasonSubscriptionIDsNotSupported}
		expectRefusedOrClosed(t, conn, sub, code, code)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.8/shared-unsupported-refused",
	Title:      "a server without shared subscriptions refuses a $share filter (SUBACK or DISCONNECT 0x9E)",
	Statements: []string{"MQTT-3.8.4-7", "MQTT-3.9.3-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		if t.Caps.Has(c.FeatureShared) {
			t.Skipf("the target supports shared subscriptions")
		}
		skipUnlessAnnounced(t, c.FeatureShared)
		conn := t.Connect(t.DefaultConnect())
		sub := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: "$share/g/" + t.Topic("a")}}}
		code := []codec.ReasonCode{codec.ReasonSharedSubsNotSupported}
		expectRefusedOrClosed(t, conn, sub, code, code)
	},
})
