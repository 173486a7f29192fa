package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Sections 3.10 UNSUBSCRIBE and 3.11 UNSUBACK: structure, exact filter comparison, delivery
// stopping, in-flight deliveries completed, one UNSUBACK per UNSUBSCRIBE with (5.0) one reason
// code per filter in order.

var _ = func() int {
	for _, v := range []struct {
		id    string
		flags byte
	}{{"3.10/flags-0000-closes", 0x0}, {"3.10/flags-0011-closes", 0x3}} {
		catalog.Broker(c.Case{
			ID:         v.id,
			Title:      fmt.Sprintf("an UNSUBSCRIBE whose fixed-header flags are %04b instead of 0010 is malformed: the server closes the connection", v.flags),
			Statements: []string{"MQTT-3.10.1-1", "MQTT-2.2.2-2", "MQTT-2.1.3-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
			Versions:   c.Both,
			Level:      c.Must,
			Run: func(t *c.T) {
				conn := t.Connect(t.DefaultConnect())
				topic := t.Topic("a")
				conn.Subscribe(topic, 0)
				u := &codec.Unsubscribe{PacketID: conn.NextID(), Filters: []string{topic}}
				conn.SendRaw(c.WithFlags(t.Encode(u, t.Version), v.flags), fmt.Sprintf("UNSUBSCRIBE with fixed-header flags %04b", v.flags))
				conn.ExpectErrorClose(malformedOrProtocol...)
			},
		})
	}
	return 0
}()

var _ = catalog.Broker(c.Case{
	ID:         "3.10/no-topic-filter-closes",
	Title:      "an UNSUBSCRIBE without any topic filter is a protocol violation: the server closes the connection",
	Statements: []string{"MQTT-3.10.3-2", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Unsubscribe{PacketID: conn.NextID()})
		conn.ExpectErrorClose(malformedOrProtocol...)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.10/packet-id-0-closes",
	Title:      "an UNSUBSCRIBE with Packet Identifier 0 is a protocol violation: the server closes the connection",
	Statements: []string{"MQTT-2.3.1-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Unsubscribe{PacketID: 0, Filters: []string{t.Topic("a")}})
		conn.ExpectErrorClose(malformedOrProtocol...)
	},
})

// unsubackCodes returns the UNSUBACK codes to expect: none on 3.1.1, codes on 5.0.
func unsubackCodes(t *c.T, codes ...codec.ReasonCode) []codec.ReasonCode {
	if !t.V5() {
		return nil
	}
	return codes
}

var _ = catalog.Broker(c.Case{
	ID:         "3.10/unsuback-carries-packet-id",
	Title:      "an UNSUBSCRIBE is answered by an UNSUBACK carrying its Packet Identifier (0xB7E1; 5.0: reason 0x00)",
	Statements: []string{"MQTT-3.10.4-4", "MQTT-3.10.4-5", "MQTT-2.3.1-7", "MQTT-2.2.1-6"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		topic := t.Topic("a")
		conn.Subscribe(topic, 0)
		conn.Send(&codec.Unsubscribe{PacketID: 0xB7E1, Filters: []string{topic}})
		conn.Expect(c.Unsuback(0xB7E1, unsubackCodes(t, codec.ReasonSuccess)...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.10/unsuback-when-nothing-matched",
	Title:      "an UNSUBSCRIBE for a filter the client never subscribed is still answered by an UNSUBACK with its Packet Identifier",
	Statements: []string{"MQTT-3.10.4-4", "MQTT-3.10.4-5"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Unsubscribe{PacketID: 0x0102, Filters: []string{t.Topic("never")}})
		m := c.Type(codec.UNSUBACK).ID(0x0102)
		if t.V5() {
			// The reason code is the subject of 3.11/no-subscription-existed-0x11.
			m = m.Where("one reason code", func(p codec.Packet) error {
				if n := len(p.(*codec.Unsuback).ReasonCodes); n != 1 {
					return fmt.Errorf("%d reason codes for one filter", n)
				}
				return nil
			})
		}
		conn.Expect(m)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.10/exact-match-only",
	Title:      "UNSUBSCRIBE compares filters character by character: \"+\" does not remove \"a\", \"b\" does not remove \"B\"",
	Statements: []string{"MQTT-3.10.4-1", "MQTT-3.11.3-2"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWildcard},
	Run: func(t *c.T) {
		a, upper := t.Topic("a"), t.Topic("B")
		conn := t.ConnectLabel("sub", t.DefaultConnect())
		conn.Subscribe(a, 0)
		conn.Subscribe(upper, 0)
		id := conn.NextID()
		conn.Send(&codec.Unsubscribe{PacketID: id, Filters: []string{t.TopicPrefix() + "/+", t.Topic("b")}})
		conn.Expect(c.Unsuback(id, unsubackCodes(t, codec.ReasonNoSubscriptionExisted, codec.ReasonNoSubscriptionExisted)...))
		pub := t.Pub("pub")
		pub.PublishMsg(a, "still a", 0, false)
		pub.PublishMsg(upper, "still B", 0, false)
		conn.ExpectUnordered(publishOn(a, "still a", 0), publishOn(upper, "still B", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.10/delivery-stops",
	Title:      "after its UNSUBACK a removed subscription delivers no new message",
	Statements: []string{"MQTT-3.10.4-1", "MQTT-3.10.4-2"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic, sentinel := t.Topic("a"), t.Topic("sentinel")
		conn := t.Sub("sub", topic, 0)
		conn.Subscribe(sentinel, 0)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "before", 0, false)
		conn.Expect(publishOn(topic, "before", 0))
		conn.Unsubscribe(topic)
		pub.PublishMsg(topic, "after", 0, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		conn.Expect(publishOn(sentinel, "end", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.10/several-filters-one-unsuback",
	Title:      "an UNSUBSCRIBE for [a, never-subscribed, b] removes a and b and is answered by one UNSUBACK (5.0: codes [0x00, 0x11, 0x00])",
	Statements: []string{"MQTT-3.10.4-6", "MQTT-3.10.4-2", "MQTT-3.11.3-1", "MQTT-3.11.3-2"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		a, b, sentinel := t.Topic("a"), t.Topic("b"), t.Topic("sentinel")
		conn := t.ConnectLabel("sub", t.DefaultConnect())
		id := subscribeMany(conn, nil, codec.Subscription{Filter: a}, codec.Subscription{Filter: b}, codec.Subscription{Filter: sentinel})
		conn.Expect(c.Suback(id, 0, 0, 0))
		id = conn.NextID()
		conn.Send(&codec.Unsubscribe{PacketID: id, Filters: []string{a, t.Topic("never"), b}})
		conn.Expect(c.Unsuback(id, unsubackCodes(t, codec.ReasonSuccess, codec.ReasonNoSubscriptionExisted, codec.ReasonSuccess)...))
		pub := t.Pub("pub")
		pub.PublishMsg(a, "to a", 0, false)
		pub.PublishMsg(b, "to b", 0, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		conn.Expect(publishOn(sentinel, "end", 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.10/inflight-qos2-completed",
	Title:      "a QoS 2 delivery started before the UNSUBSCRIBE is completed: a PUBREC sent after the UNSUBACK is still answered by a PUBREL (v5: reason 0x00)",
	Statements: []string{"MQTT-3.10.4-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("a")
		conn := t.Sub("sub", topic, 2)
		t.Pub("pub").PublishMsg(topic, "m", 2, false)
		p := conn.ExpectPublish(publishOn(topic, "m", 2))
		// The subscription is gone before the PUBREC: the delivery must still go on from where it
		// is (a v5 server that forgot it would answer PUBREL 0x92 Packet Identifier not found).
		id := conn.NextID()
		conn.Send(&codec.Unsubscribe{PacketID: id, Filters: []string{topic}})
		conn.Expect(c.Unsuback(id, unsubackCodes(t, codec.ReasonSuccess)...))
		conn.Send(&codec.Pubrec{PacketID: p.PacketID})
		conn.Expect(c.Pubrel(p.PacketID))
		conn.Send(&codec.Pubcomp{PacketID: p.PacketID})
		conn.ExpectOpen()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.10/inflight-qos1-resent-after-unsubscribe",
	Title:      "an unacknowledged QoS 1 delivery started before the UNSUBSCRIBE is re-sent (DUP 1, same identifier) when the session resumes",
	Statements: []string{"MQTT-3.10.4-3", "MQTT-4.4.0-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		id, topic := t.ClientID(), t.Topic("a")
		first := t.ConnectResume("first", t.PersistentConnect(id), false)
		first.Subscribe(topic, 1)
		t.Pub("pub").PublishMsg(topic, "m", 1, false)
		p := first.ExpectPublish(publishOn(topic, "m", 1))
		first.Unsubscribe(topic)
		first.Close() // without acknowledging the PUBLISH
		again := t.ConnectResume("again", t.PersistentConnect(id), true)
		again.Receive(publishOn(topic, "m", 1).Dup(true).ID(p.PacketID))
	},
})
