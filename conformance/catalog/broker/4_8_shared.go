package broker

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.8.2 shared subscriptions (MQTT 5.0): "$share/{ShareName}/{filter}" delivers each
// message to one member of the group, each group gets its own copy, share names follow syntax
// rules, and an interrupted delivery stays with the member it was sent to.
//
// Which member gets a message is the server's choice, so the cases read each member up to a
// sentinel: every member also holds a plain subscription to a sentinel topic, which the
// publisher uses after the messages under test.

// shareMember connects a member of group g on filter at qos, also subscribed to sentinel.
func shareMember(t *c.T, label, g, filter, sentinel string, qos byte, p *codec.Connect) *c.Conn {
	if p == nil {
		p = t.DefaultConnect()
	}
	m := t.ConnectResume(label, p, false)
	id := subscribeMany(m, nil, codec.Subscription{Filter: "$share/" + g + "/" + filter, QoS: qos}, codec.Subscription{Filter: sentinel})
	m.Expect(c.Suback(id, codec.ReasonCode(grant(t, qos)), 0))
	return m
}

var _ = catalog.Broker(c.Case{
	ID:         "4.8/shared-one-member-per-message",
	Title:      "each of 8 messages on a shared subscription goes to exactly one of its two members, under its own topic name, at that member's granted QoS",
	Statements: []string{"MQTT-4.8.2-1", "MQTT-4.8.2-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureShared, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic, sentinel := t.Topic("s"), t.Topic("sentinel")
		a := shareMember(t, "a", "g", topic, sentinel, 0, nil)
		b := shareMember(t, "b", "g", topic, sentinel, 1, nil)
		pub := t.Pub("pub")
		const n = 8
		var sent []string
		for i := range n {
			sent = append(sent, fmt.Sprint(i))
			pub.PublishMsg(topic, sent[i], 1, false)
		}
		pub.PublishMsg(sentinel, "end", 0, false)
		seen := map[string]string{}
		for _, m := range []struct {
			conn *c.Conn
			qos  byte
		}{{a, 0}, {b, 1}} {
			for _, p := range collectUntil(t, m.conn, sentinel, nil) {
				want := publishOn(topic, string(p.Payload), m.qos)
				if err := want.Match(p); err != nil {
					t.Failf(want.String(), p.String(), "[%s] %v", m.conn.Label, err)
				}
				if !slices.Contains(sent, string(p.Payload)) {
					t.Failf("one of the published payloads", p.String(), "[%s] received a message that was not published: %s", m.conn.Label, p)
				}
				if other, dup := seen[string(p.Payload)]; dup {
					t.Failf("each message to one member", fmt.Sprintf("message %s to %s and %s", p.Payload, other, m.conn.Label),
						"message %s was delivered to member %s and to member %s", p.Payload, other, m.conn.Label)
				}
				seen[string(p.Payload)] = m.conn.Label
			}
		}
		if len(seen) != n {
			t.Failf(fmt.Sprintf("%d messages delivered", n), fmt.Sprintf("%d delivered", len(seen)),
				"the group received %d of the %d messages: %v", len(seen), n, seen)
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.8/shared-groups-each-get-a-copy",
	Title:      "two share groups on one filter and a plain subscription each receive one copy of a message",
	Statements: []string{"MQTT-4.8.2-1", "MQTT-4.5.0-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureShared},
	Run: func(t *c.T) {
		topic, sentinel := t.Topic("s"), t.Topic("sentinel")
		g1 := shareMember(t, "g1", "g1", topic, sentinel, 0, nil)
		g2 := shareMember(t, "g2", "g2", topic, sentinel, 0, nil)
		plain := t.ConnectLabel("plain", t.DefaultConnect())
		id := subscribeMany(plain, nil, codec.Subscription{Filter: topic}, codec.Subscription{Filter: sentinel})
		plain.Expect(c.Suback(id, 0, 0))
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "m", 0, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		for _, conn := range []*c.Conn{g1, g2, plain} {
			// Ordering is defined per topic only: the sentinel may come first.
			conn.ExpectUnordered(publishOn(topic, "m", 0), publishOn(sentinel, "end", 0))
			conn.ExpectNothing(0)
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.8/shared-wildcard-filter",
	Title:      "a member of \"$share/g/a/+\" receives a message on \"a/x\" under the topic name \"a/x\" (no $share prefix)",
	Statements: []string{"MQTT-4.8.2-1", "MQTT-3.3.2-3"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureShared, c.FeatureWildcard},
	Run: func(t *c.T) {
		topic := t.Topic("a/x")
		m := t.ConnectLabel("member", t.DefaultConnect())
		m.Subscribe("$share/g/"+t.TopicPrefix()+"/a/+", 0)
		t.Pub("pub").PublishMsg(topic, "m", 0, false)
		m.Expect(publishOn(topic, "m", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.8/shared-unsubscribe",
	Title:      "unsubscribing the exact \"$share/g/filter\" ends the membership: the next message goes to the remaining member",
	Statements: []string{"MQTT-3.10.4-1", "MQTT-3.10.4-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureShared},
	Run: func(t *c.T) {
		topic, sentinel := t.Topic("s"), t.Topic("sentinel")
		a := shareMember(t, "a", "g", topic, sentinel, 0, nil)
		b := shareMember(t, "b", "g", topic, sentinel, 0, nil)
		a.Unsubscribe("$share/g/" + topic)
		pub := t.Pub("pub")
		for i := range 4 {
			pub.PublishMsg(topic, fmt.Sprint(i), 0, false)
		}
		pub.PublishMsg(sentinel, "end", 0, false)
		if got := collectUntil(t, a, sentinel, nil); len(got) > 0 {
			t.Failf("nothing for the member that left", got[0].String(), "[a] received %s after unsubscribing from the group", got[0])
		}
		for i := range 4 {
			b.Expect(publishOn(topic, fmt.Sprint(i), 0))
		}
	},
})

// Share name syntax: an invalid shared filter is refused (SUBACK 0x8F) or the connection closed.
var _ = func() int {
	for _, v := range []struct {
		id, filter, why string
		stmts           []string
	}{
		{"4.8/invalid-empty-share-name", "$share//{t}", "an empty ShareName", []string{"MQTT-4.8.2-1"}},
		{"4.8/invalid-plus-in-share-name", "$share/g+/{t}", "a ShareName containing \"+\"", []string{"MQTT-4.8.2-2"}},
		{"4.8/invalid-hash-in-share-name", "$share/g#/{t}", "a ShareName containing \"#\"", []string{"MQTT-4.8.2-2"}},
		{"4.8/invalid-no-filter-after-share-name", "$share/{g}", "no \"/\" and topic filter after the ShareName", []string{"MQTT-4.8.2-2"}},
	} {
		catalog.Broker(c.Case{
			ID:         v.id,
			Title:      fmt.Sprintf("a shared subscription with %s is refused (SUBACK 0x8F) or the connection is closed", v.why),
			Statements: append(v.stmts, "MQTT-4.13.1-1"),
			Versions:   c.V5,
			Level:      c.Must,
			Requires:   []c.Feature{c.FeatureShared},
			Run: func(t *c.T) {
				conn := t.Connect(t.DefaultConnect())
				f := strings.NewReplacer("{t}", t.Topic("s"), "{g}", "g"+strings.ReplaceAll(t.TopicPrefix(), "/", "")).Replace(v.filter)
				sub := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: f}}}
				expectRefusedOrClosed(t, conn, sub, []codec.ReasonCode{codec.ReasonTopicFilterInvalid},
					[]codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicFilterInvalid})
			},
		})
	}
	return 0
}()

var _ = catalog.Broker(c.Case{
	ID:         "4.8/shared-refused-ack-not-redelivered",
	Title:      "a QoS 1 shared message its member answers with PUBACK 0x80 is dropped: no other member (and not that one) gets it",
	Statements: []string{"MQTT-4.8.2-6", "MQTT-4.4.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureShared, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic, sentinel := t.Topic("s"), t.Topic("sentinel")
		a := shareMember(t, "a", "g", topic, sentinel, 1, nil)
		b := shareMember(t, "b", "g", topic, sentinel, 1, nil)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "refused", 1, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		refuse := func(conn *c.Conn) func(*codec.Publish) {
			return func(p *codec.Publish) {
				conn.Send(&codec.Puback{PacketID: p.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
			}
		}
		got := len(collectUntil(t, a, sentinel, refuse(a))) + len(collectUntil(t, b, sentinel, refuse(b)))
		if got != 1 {
			t.Failf("the message delivered once", fmt.Sprintf("%d deliveries", got), "the group received the message %d times before the sentinel", got)
		}
		a.ExpectNothing(0)
		b.ExpectNothing(0)
	},
})

// holder returns which of the members received the one message under test (left unacknowledged)
// before the sentinel, and that PUBLISH.
func holder(t *c.T, sentinel string, members ...*c.Conn) (*c.Conn, *codec.Publish) {
	var who *c.Conn
	var msg *codec.Publish
	for _, m := range members {
		got := collectUntil(t, m, sentinel, func(*codec.Publish) {})
		if len(got) > 1 || (len(got) == 1 && who != nil) {
			t.Failf("one delivery to one member", fmt.Sprintf("%d more on %s", len(got), m.Label), "the shared message was delivered more than once")
		}
		if len(got) == 1 {
			who, msg = m, got[0]
		}
	}
	if who == nil {
		t.Failf("one member receives the message", "none did", "no member of the group received the shared message before the sentinel")
	}
	return who, msg
}

var _ = catalog.Broker(c.Case{
	ID:         "4.8/shared-qos2-completed-to-same-member",
	Title:      "a QoS 2 shared message whose member disconnected before PUBREC is re-sent to that member when its session resumes, not to the other member",
	Statements: []string{"MQTT-4.8.2-4"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureShared, c.FeatureQoS2},
	Run: func(t *c.T) {
		topic, sentinel := t.Topic("s"), t.Topic("sentinel")
		ids := map[*c.Conn]string{}
		var members []*c.Conn
		for _, l := range []string{"a", "b"} {
			id := t.ClientID()
			m := shareMember(t, l, "g", topic, sentinel, 2, t.PersistentConnect(id))
			ids[m] = id
			members = append(members, m)
		}
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "q2", 2, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		who, msg := holder(t, sentinel, members...)
		who.Close()
		for _, m := range members {
			if m != who {
				m.ExpectNothing(time.Second)
			}
		}
		again := t.ConnectResume(who.Label+"-again", t.PersistentConnect(ids[who]), true)
		again.Receive(publishOn(topic, "q2", 2).Dup(true).ID(msg.PacketID))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.8/shared-qos2-not-rerouted-after-session-end",
	Title:      "a QoS 2 shared message whose member's session ended before PUBREC is not sent to the other member",
	Statements: []string{"MQTT-4.8.2-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureShared, c.FeatureQoS2},
	Run: func(t *c.T) {
		topic, sentinel := t.Topic("s"), t.Topic("sentinel")
		// Session Expiry 0: each member's session ends when its connection closes.
		a := shareMember(t, "a", "g", topic, sentinel, 2, nil)
		b := shareMember(t, "b", "g", topic, sentinel, 2, nil)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "q2", 2, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		who, _ := holder(t, sentinel, a, b)
		who.Close()
		other := a
		if who == a {
			other = b
		}
		other.ExpectNothing(time.Second)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.8/shared-qos1-rerouted-after-session-end",
	Title:      "a QoS 1 shared message whose member's session ended before PUBACK should go to another member",
	Statements: []string{"mqttspec-5.0-4.8.2-should-1"},
	Versions:   c.V5,
	Level:      c.Should,
	Requires:   []c.Feature{c.FeatureShared, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic, sentinel := t.Topic("s"), t.Topic("sentinel")
		a := shareMember(t, "a", "g", topic, sentinel, 1, nil)
		b := shareMember(t, "b", "g", topic, sentinel, 1, nil)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "q1", 1, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		who, _ := holder(t, sentinel, a, b)
		who.Close()
		other := a
		if who == a {
			other = b
		}
		other.Receive(c.Publish(topic, []byte("q1"), 1).AnyDup())
	},
})
