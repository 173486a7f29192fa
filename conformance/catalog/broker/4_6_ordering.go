package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.6: by default every topic is ordered — one client's messages on one topic at one
// QoS reach each subscriber in the order the server received them.

var orderStatements = []string{"MQTT-4.6.0-5", "MQTT-4.6.0-6"}

func orderCase(id string, qos byte, n int, requires ...c.Feature) c.Case {
	return catalog.Broker(c.Case{
		ID:         id,
		Title:      fmt.Sprintf("%d QoS %d messages published back to back on one topic reach the subscriber in the order sent", n, qos),
		Statements: orderStatements,
		Versions:   c.Both,
		Level:      c.Must,
		Requires:   requires,
		Run: func(t *c.T) {
			topic := t.Topic("order")
			sub := t.Sub("sub", topic, qos)
			msgs := make([]*codec.Publish, n)
			for i := range msgs {
				msgs[i] = &codec.Publish{Topic: topic, QoS: qos, Payload: b(fmt.Sprintf("m%02d", i))}
			}
			publishPipelined(t.Pub("pub"), msgs)
			got := receiveAll(t, sub, n)
			for i, p := range got {
				if want := fmt.Sprintf("m%02d", i); string(p.Payload) != want || p.QoS != qos || p.Topic != topic {
					t.Failf(fmt.Sprintf("message %d: %q at QoS %d", i, want, qos), payloads(got), "messages arrived out of order or changed: %s", payloads(got))
				}
			}
		},
	})
}

var (
	_ = orderCase("4.6/order-kept-qos0", 0, 20)
	_ = orderCase("4.6/order-kept-qos1", 1, 10, c.FeatureQoS1)
	_ = orderCase("4.6/order-kept-qos2", 2, 10, c.FeatureQoS2)
)

var _ = catalog.Broker(c.Case{
	ID:         "4.6/order-kept-across-reconnect",
	Title:      "the unacknowledged QoS 1 messages (up to three) are re-sent first and in order on reconnect, followed in order by those queued",
	Statements: append([]string{"MQTT-4.4.0-1"}, orderStatements...),
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic, id := t.Topic("order"), t.ClientID()
		sub := persistentSub(t, "sub1", id, topic, 1)
		pub := t.Pub("pub")
		for i := range 3 {
			pub.PublishMsg(topic, fmt.Sprintf("m%d", i), 1, false)
		}
		// None is acknowledged. A server may keep fewer than three in flight (it need not send
		// the next before the previous is acknowledged): those it holds back stay queued in the
		// session, like the three published while offline.
		ids := []uint16{sub.ExpectPublish(c.Publish(topic, b("m0"), 1)).PacketID}
		for i := 1; i < 3; i++ {
			p, closed := sub.Next(t.QuietWindow(0))
			if closed {
				t.Failf(fmt.Sprintf("m%d or nothing", i), "the connection closed", "[sub1] the connection closed before it was dropped")
			}
			if p == nil {
				break
			}
			want := c.Publish(topic, b(fmt.Sprintf("m%d", i)), 1)
			if err := want.Match(p); err != nil {
				t.Failf(want.String(), p.String(), "[sub1] expected %s, got %s: %v", want, p, err)
			}
			ids = append(ids, p.(*codec.Publish).PacketID)
		}
		dropped(t, sub)
		for i := 3; i < 6; i++ {
			pub.PublishMsg(topic, fmt.Sprintf("m%d", i), 1, false)
		}
		again := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		var ms []c.Matcher
		for i := range ids {
			ms = append(ms, c.Publish(topic, b(fmt.Sprintf("m%d", i)), 1).Dup(true).ID(ids[i]))
		}
		// The order is the verdict here; DUP on a first transmission is
		// 4.5/offline-session-receives-queued's (MQTT-3.3.1-3).
		for i := len(ids); i < 6; i++ {
			ms = append(ms, c.Publish(topic, b(fmt.Sprintf("m%d", i)), 1).AnyDup())
		}
		receiveHeld(t, again, heldOpts{ordered: true}, ms...)
	},
})
