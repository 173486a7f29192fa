package broker

import (
	"fmt"
	"slices"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Reason codes a v5 server may put in the DISCONNECT before closing on a bad Topic Name: it is a
// Malformed Packet or a Protocol Error (section 4.13), and 0x90 names the problem exactly.
var badTopicCodes = []codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicNameInvalid}

// ---- 3.3.4 Actions: the answer to a PUBLISH ----

var _ = catalog.Broker(c.Case{
	ID:         "3.3/qos0-publish-not-acknowledged",
	Title:      "a QoS 0 PUBLISH gets no answer: the next packet from the server is the PINGRESP to a following PINGREQ",
	Statements: []string{"MQTT-3.3.4-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: t.Topic("q0"), Payload: b("qos0")})
		pub.ExpectOpen()
	},
})

// ---- 3.3.1.1 DUP ----

var _ = catalog.Broker(c.Case{
	ID:         "3.3/dup-not-propagated-qos1",
	Title:      "a QoS 1 PUBLISH received with DUP 1 is forwarded on its first delivery with DUP 0",
	Statements: []string{"MQTT-3.3.1-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("dup")
		sub := t.Sub("sub", topic, 1)
		t.Pub("pub").Publish(&codec.Publish{Topic: topic, QoS: 1, Dup: true, Payload: b("dup in")})
		sub.Receive(c.Publish(topic, b("dup in"), 1)) // the matcher requires DUP 0
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/dup-not-propagated-qos2",
	Title:      "a QoS 2 PUBLISH received with DUP 1 is forwarded on its first delivery with DUP 0",
	Statements: []string{"MQTT-3.3.1-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("dup")
		sub := t.Sub("sub", topic, 2)
		t.Pub("pub").Publish(&codec.Publish{Topic: topic, QoS: 2, Dup: true, Payload: b("dup in")})
		sub.Receive(c.Publish(topic, b("dup in"), 2))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/dup-0-when-downgraded-to-qos0",
	Title:      "a QoS 1 PUBLISH received with DUP 1 and delivered at QoS 0 carries DUP 0",
	Statements: []string{"MQTT-3.3.1-2", "MQTT-3.3.1-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("dup")
		sub := t.Sub("sub", topic, 0)
		t.Pub("pub").Publish(&codec.Publish{Topic: topic, QoS: 1, Dup: true, Payload: b("dup in")})
		sub.Expect(c.Publish(topic, b("dup in"), 0))
	},
})

// ---- 3.3.1.2 QoS ----

var _ = catalog.Broker(c.Case{
	ID:         "3.3/qos-3-closes",
	Title:      "a PUBLISH with both QoS bits set (QoS 3) is malformed: the server closes the connection",
	Statements: []string{"MQTT-3.3.1-4", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("q3")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: topic, QoS: 3, PacketID: 1, Payload: b("qos3")})
		pub.ExpectErrorClose(codec.ReasonMalformedPacket)
		sub.ExpectNothing(0)
	},
})

// Found by the differential network fuzzer (docs/findings.md): mosquitto 2.0.11 delivers it.
var _ = catalog.Broker(c.Case{
	ID:         "3.3/dup-on-qos0-closes",
	Title:      "a QoS 0 PUBLISH with DUP 1 breaks a MUST of its own section: the server closes the connection and does not deliver it",
	Statements: []string{"MQTT-3.3.1-2", "3.1.1:MQTT-4.8.0-1", "5.0:MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("dup0")
		sub := t.Sub("sub", topic, 0)
		pub := t.Pub("pub")
		pub.SendRaw(c.WithFlags(t.Encode(&codec.Publish{Topic: topic, Payload: b("dup0")}, t.Version), 0x8), "PUBLISH QoS 0 with DUP 1")
		pub.ExpectErrorClose()
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/packet-id-zero-closes",
	Title:      "a QoS 1 PUBLISH with Packet Identifier 0 is a protocol violation: the server closes the connection",
	Statements: []string{"MQTT-2.3.1-1", "MQTT-2.2.1-3", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: t.Topic("id0"), QoS: 1, PacketID: 0, Payload: b("id 0")})
		pub.ExpectErrorClose()
	},
})

// split keeps 3.1.1's MQTT-3.8.4-6 off the v5 run (there it is the SUBACK reason-code rule).

var _ = catalog.Broker(c.Case{
	ID:         "3.3/qos-downgraded-to-granted-qos0",
	Title:      "a QoS 1 message is delivered at QoS 0 (no packet identifier) to a subscription granted QoS 0",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-3.8.4-6", "MQTT-3.8.4-8"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("down")
		sub := t.Sub("sub", topic, 0)
		t.Pub("pub").PublishMsg(topic, "published at 1", 1, false)
		sub.Expect(c.Publish(topic, b("published at 1"), 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/qos-downgraded-to-granted-qos1",
	Title:      "a QoS 2 message is delivered at QoS 1 to a subscription granted QoS 1",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"3.1.1:MQTT-3.8.4-6", "MQTT-3.8.4-8"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("down")
		sub := t.Sub("sub", topic, 1)
		t.Pub("pub").PublishMsg(topic, "published at 2", 2, false)
		sub.Receive(c.Publish(topic, b("published at 2"), 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/qos-not-upgraded",
	Title:      "a subscription granted QoS 2 receives QoS 0 and QoS 1 messages at their published QoS, never higher",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"3.1.1:MQTT-3.8.4-6", "MQTT-3.8.4-8"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("up")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "published at 1", 1, false)
		sub.Receive(c.Publish(topic, b("published at 1"), 1))
		pub.PublishMsg(topic, "published at 0", 0, false)
		sub.Expect(c.Publish(topic, b("published at 0"), 0))
	},
})

// ---- 3.3.2.1 Topic Name ----

func badTopicCase(id, title string, stmts []string, topic func(t *c.T) string) c.Case {
	return catalog.Broker(c.Case{
		ID:         id,
		Title:      title,
		Statements: stmts,
		Versions:   c.Both,
		Level:      c.Must,
		Run: func(t *c.T) {
			// Where wildcards work, a subscriber to everything under the case's prefix checks
			// that nothing was delivered either.
			var sub *c.Conn
			if t.Caps.Has(c.FeatureWildcard) {
				sub = t.Sub("sub", t.TopicPrefix()+"/#", 0)
			}
			pub := t.Pub("pub")
			pub.Send(&codec.Publish{Topic: topic(t), Payload: b("bad topic")})
			pub.ExpectErrorClose(badTopicCodes...)
			if sub != nil {
				sub.ExpectNothing(0)
			}
		},
	})
}

var (
	_ = badTopicCase("3.3/topic-name-plus-wildcard-closes",
		"a PUBLISH whose Topic Name contains '+' is not delivered and the server closes the connection",
		[]string{"MQTT-3.3.2-2", "MQTT-4.7.0-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
		func(t *c.T) string { return t.TopicPrefix() + "/+/x" })
	_ = badTopicCase("3.3/topic-name-hash-wildcard-closes",
		"a PUBLISH whose Topic Name contains '#' is not delivered and the server closes the connection",
		[]string{"MQTT-3.3.2-2", "MQTT-4.7.0-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
		func(t *c.T) string { return t.TopicPrefix() + "/#" })
	_ = badTopicCase("3.3/topic-name-empty-closes",
		"a PUBLISH with a zero-length Topic Name (and, on v5, no Topic Alias) makes the server close the connection",
		[]string{"MQTT-4.7.3-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
		func(t *c.T) string { return "" })
	_ = badTopicCase("3.3/topic-name-invalid-utf8-closes",
		"a PUBLISH whose Topic Name is not well-formed UTF-8 (a lone 0xFF byte) makes the server close the connection",
		[]string{"MQTT-3.3.2-1", "MQTT-1.5.3-1", "MQTT-1.5.4-1", "MQTT-4.13.1-1"},
		func(t *c.T) string { return t.TopicPrefix() + "/bad\xffutf8" })
	_ = badTopicCase("3.3/topic-name-surrogate-closes",
		"a PUBLISH whose Topic Name encodes a UTF-16 surrogate (ED A0 80) makes the server close the connection",
		[]string{"MQTT-3.3.2-1", "MQTT-1.5.3-1", "MQTT-1.5.4-1", "MQTT-4.13.1-1"},
		func(t *c.T) string { return t.TopicPrefix() + "/sur\xed\xa0\x80rogate" })
	_ = badTopicCase("3.3/topic-name-null-character-closes",
		"a PUBLISH whose Topic Name contains U+0000 makes the server close the connection",
		[]string{"MQTT-4.7.3-2", "MQTT-1.5.3-2", "MQTT-1.5.4-2", "MQTT-4.13.1-1"},
		func(t *c.T) string { return t.TopicPrefix() + "/nul\x00char" })
)

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-name-matches-subscription",
	Title:      "a message delivered through a wildcard subscription carries the published Topic Name, not the filter",
	Statements: []string{"MQTT-3.3.2-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWildcard},
	Run: func(t *c.T) {
		sub := t.Sub("sub", t.Topic("+/c"), 0)
		sub.Subscribe(t.Topic("multi/#"), 0)
		pub := t.Pub("pub")
		pub.PublishMsg(t.Topic("b/c"), "single level", 0, false)
		sub.Expect(c.Publish(t.Topic("b/c"), b("single level"), 0))
		pub.PublishMsg(t.Topic("multi/x/y"), "multi level", 0, false)
		sub.Expect(c.Publish(t.Topic("multi/x/y"), b("multi level"), 0))
	},
})

// ---- 3.3.4 Overlapping subscriptions ----

var _ = catalog.Broker(c.Case{
	ID:         "3.3/overlapping-subscriptions-maximum-qos",
	Title:      "with overlapping subscriptions granted QoS 0 and QoS 2, a QoS 2 message is delivered at QoS 2 (an extra copy may come at QoS 0)",
	Statements: []string{"MQTT-3.3.5-1", "MQTT-3.3.4-2"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWildcard, c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("ov/t")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.Subscribe(topic, 0)
		sub.Subscribe(t.Topic("ov/+"), 2)
		t.Pub("pub").PublishMsg(topic, "overlap", 2, false)
		// One copy at the maximum QoS, or one copy per subscription at that subscription's QoS:
		// read until the QoS 2 copy; before it at most the QoS 0 copy may come.
		var seen []*codec.Publish
		for {
			p := sub.ExpectPublish(c.AnyPublish().Topic(topic).Payload(b("overlap")).Dup(false).Retain(false))
			seen = append(seen, p)
			if p.QoS == 2 {
				break
			}
			if p.QoS != 0 || len(seen) > 1 {
				t.Failf("one copy at QoS 2 (and at most one extra copy at QoS 0)", payloads(seen),
					"copies delivered for two overlapping subscriptions (QoS 0 and QoS 2): %s", payloads(seen))
			}
		}
	},
})

// ---- 3.3.4 Subscription Identifiers (v5) ----

func subIDProps(id uint32) *codec.Properties {
	return &codec.Properties{SubscriptionIDs: []uint32{id}}
}

var _ = catalog.Broker(c.Case{
	ID:         "3.3/subscription-id-forwarded",
	Title:      "a message delivered for a subscription made with Subscription Identifier 200000 carries exactly that identifier",
	Statements: []string{"MQTT-3.3.4-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("sid")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic, QoS: 1}, subIDProps(200000))
		t.Pub("pub").PublishMsg(topic, "with id", 1, false)
		sub.Receive(c.Publish(topic, b("with id"), 1).SubIDs(200000))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/subscription-ids-overlapping",
	Title:      "overlapping subscriptions with identifiers 1 (QoS 1) and 2 (QoS 0): one QoS 1 copy carries both identifiers, or each copy carries its own subscription's",
	Statements: []string{"MQTT-3.3.4-3", "MQTT-3.3.4-4", "MQTT-3.3.4-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID, c.FeatureWildcard, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("ov/t")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic, QoS: 1}, subIDProps(1))
		sub.SubscribeOpts(codec.Subscription{Filter: t.Topic("ov/+"), QoS: 0}, subIDProps(2))
		t.Pub("pub").PublishMsg(topic, "overlap", 1, false)
		m := c.AnyPublish().Topic(topic).Payload(b("overlap")).Dup(false).Retain(false)
		// The QoS 1 copy tells which way the server went: identifiers {1,2} for a single copy,
		// {1} when it sends one copy per subscription, in which case a QoS 0 copy with {2} is due.
		var seen []*codec.Publish
		needQoS0 := false
		gotQoS0 := false
		for gotQoS1 := false; !gotQoS1 || (needQoS0 && !gotQoS0); {
			p := sub.Receive(m)
			seen = append(seen, p)
			ids := slices.Sorted(slices.Values(p.Properties.SubscriptionIDs))
			switch {
			case p.QoS == 1 && !gotQoS1 && slices.Equal(ids, []uint32{1, 2}):
				gotQoS1 = true
			case p.QoS == 1 && !gotQoS1 && slices.Equal(ids, []uint32{1}):
				gotQoS1, needQoS0 = true, true
			case p.QoS == 0 && !gotQoS0 && slices.Equal(ids, []uint32{2}):
				gotQoS0, needQoS0 = true, true
			default:
				t.Failf("a QoS 1 copy with identifiers [1 2], or a QoS 1 copy with [1] and a QoS 0 copy with [2]",
					fmt.Sprintf("copy %d: QoS %d identifiers %v", len(seen), p.QoS, p.Properties.SubscriptionIDs),
					"unexpected copy for overlapping subscriptions: QoS %d with Subscription Identifiers %v", p.QoS, p.Properties.SubscriptionIDs)
			}
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/subscription-id-only-where-given",
	Title:      "overlapping subscriptions, one with identifier 5 (QoS 1), one without (QoS 0): the QoS 1 copy carries exactly [5], a QoS 0 copy carries none",
	Statements: []string{"MQTT-3.3.4-3", "MQTT-3.3.4-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureSubID, c.FeatureWildcard, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("ov/t")
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		sub.SubscribeOpts(codec.Subscription{Filter: topic, QoS: 1}, subIDProps(5))
		sub.Subscribe(t.Topic("ov/+"), 0)
		t.Pub("pub").PublishMsg(topic, "overlap", 1, false)
		base := c.AnyPublish().Topic(topic).Payload(b("overlap")).Dup(false).Retain(false)
		// Read until the QoS 1 copy; a QoS 0 copy (one per subscription) may come first.
		for i := 0; ; i++ {
			p := sub.Receive(base)
			switch {
			case p.QoS == 1:
				if !slices.Equal(p.Properties.SubscriptionIDs, []uint32{5}) {
					t.Failf("Subscription Identifiers [5]", fmt.Sprint(p.Properties.SubscriptionIDs), "the QoS 1 copy carries Subscription Identifiers %v", p.Properties.SubscriptionIDs)
				}
				return
			case p.QoS == 0 && i == 0:
				if len(p.Properties.SubscriptionIDs) != 0 {
					t.Failf("no Subscription Identifier on the copy for the subscription without one", fmt.Sprint(p.Properties.SubscriptionIDs), "the QoS 0 copy carries Subscription Identifiers %v", p.Properties.SubscriptionIDs)
				}
			default:
				t.Failf("a QoS 1 copy (optionally preceded by one QoS 0 copy)", p.String(), "unexpected copy %d at QoS %d", i+1, p.QoS)
			}
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/subscription-id-from-client-closes",
	Title:      "a PUBLISH from a client carrying a Subscription Identifier is a protocol error: the server closes the connection",
	Statements: []string{"MQTT-3.3.4-6", "MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("sid")
		sub := t.Sub("sub", topic, 0)
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: topic, Payload: b("sub id from client"), Properties: *subIDProps(3)})
		pub.ExpectErrorClose()
		sub.ExpectNothing(0)
	},
})

// ---- 3.3.4 Receive Maximum (v5) ----

var _ = catalog.Broker(c.Case{
	ID:         "3.3/receive-maximum-respected",
	Title:      "with the client's Receive Maximum 2, the server has at most 2 QoS 1 PUBLISHes unacknowledged at a time and delivers all five, in order",
	Statements: []string{"MQTT-3.3.4-9"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("rm")
		p := t.DefaultConnect()
		p.Properties.SetReceiveMaximum(2)
		sub := t.ConnectLabel("sub", p)
		sub.Subscribe(topic, 1)
		msgs := make([]*codec.Publish, 5)
		for i := range msgs {
			msgs[i] = &codec.Publish{Topic: topic, QoS: 1, Payload: b(fmt.Sprintf("m%d", i))}
		}
		publishPipelined(t.Pub("pub"), msgs)
		// Each PUBLISH stays unacknowledged until nothing more arrives for a quiet window; a third
		// arriving while two are unacknowledged fails. A server may keep fewer in flight.
		var ms []c.Matcher
		for i := range msgs {
			ms = append(ms, c.Publish(topic, b(fmt.Sprintf("m%d", i)), 1))
		}
		receiveHeld(t, sub, heldOpts{ordered: true, limit: 2}, ms...)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/receive-maximum-counts-qos2-until-pubcomp",
	Title:      "with the client's Receive Maximum 1, a QoS 2 PUBLISH occupies the quota until its PUBCOMP: no second PUBLISH after PUBREC/PUBREL, one right after PUBCOMP",
	Statements: []string{"MQTT-3.3.4-9"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("rm")
		p := t.DefaultConnect()
		p.Properties.SetReceiveMaximum(1)
		sub := t.ConnectLabel("sub", p)
		sub.Subscribe(topic, 2)
		publishPipelined(t.Pub("pub"), []*codec.Publish{
			{Topic: topic, QoS: 2, Payload: b("first")},
			{Topic: topic, QoS: 2, Payload: b("second")},
		})
		first := sub.ExpectPublish(c.Publish(topic, b("first"), 2))
		sub.Send(&codec.Pubrec{PacketID: first.PacketID})
		// The quota is the verdict; the PUBREL's reason code is judged by the QoS 2 cases.
		sub.Expect(c.Type(codec.PUBREL).ID(first.PacketID))
		sub.ExpectNothing(0)
		sub.Send(&codec.Pubcomp{PacketID: first.PacketID})
		sub.Receive(c.Publish(topic, b("second"), 2))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/receive-maximum-does-not-delay-other-packets",
	Title:      "with the client's Receive Maximum 1 used up, the server still answers PINGREQ and SUBSCRIBE at once and holds the next PUBLISH until the PUBACK",
	Statements: []string{"MQTT-3.3.4-10", "MQTT-3.3.4-9"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("rm")
		p := t.DefaultConnect()
		p.Properties.SetReceiveMaximum(1)
		sub := t.ConnectLabel("sub", p)
		sub.Subscribe(topic, 1)
		publishPipelined(t.Pub("pub"), []*codec.Publish{
			{Topic: topic, QoS: 1, Payload: b("first")},
			{Topic: topic, QoS: 1, Payload: b("second")},
		})
		first := sub.ExpectPublish(c.Publish(topic, b("first"), 1))
		sub.Send(&codec.Pingreq{})
		sub.Expect(c.Pingresp())
		id := awayFromServerIDs(first, 0) // see awayFromServerIDs: the held-back "second" has a server identifier
		sub.Send(&codec.Subscribe{PacketID: id, Subscriptions: []codec.Subscription{{Filter: t.Topic("other"), QoS: 1}}})
		sub.Expect(c.Suback(id, 1))
		sub.Ack(first)
		sub.Receive(c.Publish(topic, b("second"), 1))
	},
})
