package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.3.2.3.4 Topic Alias (v5): aliases a client sends to the server, and the aliases the
// server may send to a client.

var aliasFeatures = []c.Feature{c.FeatureTopicAlias}

// aliased returns a QoS 0 PUBLISH with a Topic Alias (topic may be empty to use the alias).
func aliased(topic string, alias uint16, payload string) *codec.Publish {
	p := &codec.Publish{Topic: topic, Payload: b(payload)}
	p.Properties.SetTopicAlias(alias)
	return p
}

// plain is the matcher for a subscriber that did not ask for aliases: full Topic Name and no
// Topic Alias property (the server may not send one to a client whose Topic Alias Maximum is 0).
func plain(topic, payload string) *c.M {
	return c.Publish(topic, b(payload), 0).NoProp(codec.PropTopicAlias)
}

// aliasMax returns the Topic Alias Maximum the connection's CONNACK announced.
func aliasMax(t *c.T, conn *c.Conn) uint16 {
	m := conn.Connack.Properties.TopicAliasMaximum
	if m == 0 {
		t.Skipf("the CONNACK of this connection announces no Topic Alias Maximum")
	}
	return m
}

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-alias-resolved",
	Title:      "a Topic Alias set with a Topic Name and then used with an empty Topic Name is delivered under the full Topic Name",
	Statements: []string{"MQTT-3.3.2-12", "MQTT-3.3.2-11"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   aliasFeatures,
	Run: func(t *c.T) {
		topic := t.Topic("alias")
		sub := t.Sub("sub", topic, 0)
		pub := t.Pub("pub")
		pub.Send(aliased(topic, 1, "sets alias"))
		sub.Expect(plain(topic, "sets alias"))
		pub.Send(aliased("", 1, "uses alias"))
		sub.Expect(plain(topic, "uses alias"))
		pub.Send(aliased("", 1, "uses alias again"))
		sub.Expect(plain(topic, "uses alias again"))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-alias-every-value-accepted",
	Title:      "every Topic Alias from 1 to the Topic Alias Maximum in the CONNACK is accepted and resolves to its own topic",
	Statements: []string{"MQTT-3.3.2-12"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   append([]c.Feature{c.FeatureWildcard}, aliasFeatures...),
	Run: func(t *c.T) {
		sub := t.Sub("sub", t.Topic("a/+"), 0)
		pub := t.Pub("pub")
		max := aliasMax(t, pub)
		// All of them when there are few; otherwise both ends of the range.
		var aliases []uint16
		for a := 1; a <= int(max); a++ {
			if max <= 64 || a <= 32 || a > int(max)-32 {
				aliases = append(aliases, uint16(a))
			}
		}
		for _, a := range aliases {
			pub.Send(aliased(t.Topic(fmt.Sprintf("a/%d", a)), a, "set"))
			sub.Expect(plain(t.Topic(fmt.Sprintf("a/%d", a)), "set"))
		}
		for _, a := range aliases {
			pub.Send(aliased("", a, fmt.Sprintf("via %d", a)))
			sub.Expect(plain(t.Topic(fmt.Sprintf("a/%d", a)), fmt.Sprintf("via %d", a)))
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-alias-remapped",
	Title:      "a Topic Alias sent again with a new Topic Name is remapped: later uses of the alias go to the new topic",
	Statements: []string{"MQTT-3.3.2-12"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   aliasFeatures,
	Run: func(t *c.T) {
		one, two := t.Topic("one"), t.Topic("two")
		sub := t.Sub("sub", one, 0)
		sub.Subscribe(two, 0)
		pub := t.Pub("pub")
		pub.Send(aliased(one, 1, "first mapping"))
		sub.Expect(plain(one, "first mapping"))
		pub.Send(aliased(two, 1, "second mapping"))
		sub.Expect(plain(two, "second mapping"))
		pub.Send(aliased("", 1, "uses alias"))
		sub.Expect(plain(two, "uses alias"))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-alias-zero-closes",
	Title:      "a PUBLISH with Topic Alias 0 is a protocol error: the server closes the connection (DISCONNECT 0x94, 0x82 or 0x81 allowed)",
	Statements: []string{"MQTT-3.3.2-8", "MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("alias")
		sub := t.Sub("sub", topic, 0)
		pub := t.Pub("pub")
		pub.Send(aliased(topic, 0, "alias zero"))
		pub.ExpectErrorClose(codec.ReasonTopicAliasInvalid, codec.ReasonProtocolError, codec.ReasonMalformedPacket)
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-alias-above-maximum-closes",
	Title:      "a PUBLISH with a Topic Alias above the CONNACK's Topic Alias Maximum makes the server close the connection (DISCONNECT 0x94 allowed)",
	Statements: []string{"MQTT-3.3.2-9", "MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("alias")
		sub := t.Sub("sub", topic, 0)
		pub := t.Pub("pub")
		max := pub.Connack.Properties.TopicAliasMaximum // 0 when absent: then alias 1 is already too big
		if max == 65535 {
			t.Skipf("Topic Alias Maximum is 65535: no alias value lies above it")
		}
		pub.Send(aliased(topic, max+1, "alias too big"))
		pub.ExpectErrorClose(codec.ReasonTopicAliasInvalid)
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-alias-unknown-closes",
	Title:      "a PUBLISH with an empty Topic Name and a Topic Alias never mapped on this connection is a protocol error: the server closes the connection",
	Statements: []string{"MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   aliasFeatures,
	Run: func(t *c.T) {
		topic := t.Topic("alias")
		sub := t.Sub("sub", topic, 0)
		pub := t.Pub("pub")
		pub.Send(aliased(topic, 1, "maps alias 1"))
		sub.Expect(plain(topic, "maps alias 1"))
		max := aliasMax(t, pub)
		if max < 2 {
			t.Skipf("Topic Alias Maximum is 1: no second alias to leave unmapped")
		}
		pub.Send(aliased("", 2, "alias 2 is not mapped"))
		pub.ExpectErrorClose(codec.ReasonProtocolError, codec.ReasonTopicAliasInvalid)
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-alias-not-carried-across-connections",
	Title:      "a Topic Alias mapped on one connection is unknown on the next connection of the same session: using it is a protocol error",
	Statements: []string{"MQTT-3.3.2-7", "MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   aliasFeatures,
	Run: func(t *c.T) {
		topic, id := t.Topic("alias"), t.ClientID()
		sub := t.Sub("sub", topic, 0)
		first := t.ConnectResume("pub1", t.PersistentConnect(id), false)
		first.Send(aliased(topic, 1, "maps alias 1"))
		sub.Expect(plain(topic, "maps alias 1"))
		first.Disconnect()
		second := t.ConnectResume("pub2", t.PersistentConnect(id), true)
		second.Send(aliased("", 1, "stale alias"))
		second.ExpectErrorClose(codec.ReasonProtocolError, codec.ReasonTopicAliasInvalid)
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-alias-not-sent-without-client-maximum",
	Title:      "a client that sent no Topic Alias Maximum receives every PUBLISH with its full Topic Name and no Topic Alias",
	Statements: []string{"MQTT-3.3.2-11"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		// A server that never sends aliases passes this trivially: first see that it sends them
		// to a client that allows them.
		if !sendsAliases(t) {
			t.Skipf("the server sent no Topic Alias to a client allowing 2 (sending aliases is optional): MQTT-3.3.2-11 cannot be told apart from not using aliases at all")
		}
		topic := t.Topic("noalias")
		sub := t.Sub("sub", topic, 0)
		pub := t.Pub("pub")
		for i := range 5 {
			pub.PublishMsg(topic, fmt.Sprintf("m%d", i), 0, false)
		}
		for i := range 5 {
			sub.Expect(plain(topic, fmt.Sprintf("m%d", i)))
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/topic-alias-within-client-maximum",
	Title:      "a client with Topic Alias Maximum 2 gets no alias above 2, and every aliased PUBLISH resolves to the topic that was published",
	Statements: []string{"MQTT-3.3.2-11"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWildcard},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.Properties.SetTopicAliasMaximum(2)
		sub := t.ConnectLabel("sub", p)
		sub.Subscribe(t.Topic("t/+"), 0)
		pub := t.Pub("pub")
		var want []string
		for round := range 3 {
			for i := range 4 {
				topic := t.Topic(fmt.Sprintf("t/%d", i))
				pub.PublishMsg(topic, fmt.Sprintf("r%d-%d", round, i), 0, false)
				want = append(want, topic)
			}
		}
		// Resolve aliases as a client would.
		mapping := map[uint16]string{}
		aliased := 0
		for i, topic := range want {
			got := sub.ExpectPublish(c.AnyPublish().QoS(0).Payload(b(fmt.Sprintf("r%d-%d", i/4, i%4))).Dup(false).Retain(false))
			name := got.Topic
			if got.Properties.Has(codec.PropTopicAlias) {
				aliased++
				a := got.Properties.TopicAlias
				if a == 0 || a > 2 {
					t.Failf("Topic Alias 1 or 2", got.String(), "the server sent Topic Alias %d; the client's Topic Alias Maximum is 2", a)
				}
				if name != "" {
					mapping[a] = name
				} else if name = mapping[a]; name == "" {
					t.Failf("a Topic Name for a new alias", got.String(), "the server used Topic Alias %d with an empty Topic Name before mapping it", a)
				}
			}
			if name != topic {
				t.Failf(topic, name, "message %d resolves to topic %q, was published to %q", i, name, topic)
			}
		}
		if aliased == 0 {
			// Sending aliases is optional; without any, the limit was never exercised.
			t.Skipf("the server sent none of the %d messages with a Topic Alias to a client allowing 2: MQTT-3.3.2-11's limit is not exercised", len(want))
		}
	},
})

// sendsAliases reports whether the server uses Topic Aliases towards a client that allows them:
// a subscriber with Topic Alias Maximum 2 receives a few messages on one topic.
func sendsAliases(t *c.T) bool {
	p := t.DefaultConnect()
	p.Properties.SetTopicAliasMaximum(2)
	sub := t.ConnectLabel("alias-probe", p)
	defer sub.Disconnect()
	topic := t.Topic("alias-probe")
	sub.Subscribe(topic, 0)
	pub := t.Pub("alias-probe-pub")
	defer pub.Disconnect()
	const n = 4
	for i := range n {
		pub.PublishMsg(topic, fmt.Sprintf("p%d", i), 0, false)
	}
	used := false
	for i := range n {
		got := sub.ExpectPublish(c.AnyPublish().Payload(b(fmt.Sprintf("p%d", i))))
		used = used || got.Properties.Has(codec.PropTopicAlias)
	}
	return used
}
