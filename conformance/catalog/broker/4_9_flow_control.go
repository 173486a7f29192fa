package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.9 flow control (MQTT 5.0): the server never has more unacknowledged QoS 1/2 PUBLISH
// packets towards a client than the client's Receive Maximum, resumes as acknowledgements free
// its send quota, and keeps answering other packets meanwhile.

// awayFromServerIDs returns a packet identifier for the client's own SUBSCRIBE or UNSUBSCRIBE
// (n = 0, 1, …) far from held's: a server numbering its deliveries upward gives the messages it
// holds back identifiers just after held's. Client and server allocate identifiers independently
// (§2.2.1), and mochi refuses a SUBSCRIBE whose identifier equals one of its own held-back
// deliveries with 0x91; 5.0 has no MUST against that refusal (3.9/return-code-valid-for-server-
// inflight-id judges it for 3.1.1), so the quota cases keep clear of it and judge only that the
// answer comes at once: with an overlapping identifier their verdict flipped with whether the
// second PUBLISH had reached the server before the SUBSCRIBE.
func awayFromServerIDs(held *codec.Publish, n uint16) uint16 {
	id := held.PacketID + 0x8000 + n
	if id == 0 {
		id = 1
	}
	return id
}

// flowSubscriber connects a 5.0 client announcing Receive Maximum rm and subscribes it to topic.
func flowSubscriber(t *c.T, rm uint16, topic string, qos byte) *c.Conn {
	p := t.DefaultConnect()
	p.Properties.SetReceiveMaximum(rm)
	sub := t.ConnectLabel("sub", p)
	sub.Subscribe(topic, qos)
	return sub
}

var _ = catalog.Broker(c.Case{
	ID:         "4.9/receive-maximum-respected",
	Title:      "with the client's Receive Maximum 2, at most 2 QoS 1 PUBLISH packets are unacknowledged at a time; all five arrive, in order",
	Statements: []string{"MQTT-3.3.4-9", "MQTT-4.9.0-1", "MQTT-4.9.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("rm")
		sub := flowSubscriber(t, 2, topic, 1)
		pub := t.Pub("pub")
		for i := range 5 {
			pub.PublishMsg(topic, fmt.Sprint(i), 1, false)
		}
		// Same topic and QoS: the messages come in publication order.
		// Each PUBLISH stays unacknowledged until nothing more arrives for a quiet window; a third
		// arriving while two are unacknowledged fails. A server may keep fewer in flight.
		var ms []c.Matcher
		for i := range 5 {
			ms = append(ms, publishOn(topic, fmt.Sprint(i), 1))
		}
		receiveHeld(t, sub, heldOpts{ordered: true, limit: 2}, ms...)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.9/receive-maximum-qos2-until-pubcomp",
	Title:      "with Receive Maximum 1, a QoS 2 delivery holds the send quota until its PUBCOMP: the PUBREC frees nothing, the next message follows the PUBCOMP",
	Statements: []string{"MQTT-3.3.4-9", "MQTT-4.9.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("rm")
		sub := flowSubscriber(t, 1, topic, 2)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "first", 2, false)
		pub.PublishMsg(topic, "second", 2, false)
		p := sub.ExpectPublish(publishOn(topic, "first", 2))
		sub.Send(&codec.Pubrec{PacketID: p.PacketID})
		// The quota is the verdict; the PUBREL's reason code is judged by the QoS 2 cases.
		sub.Expect(c.Type(codec.PUBREL).ID(p.PacketID))
		sub.ExpectNothing(0)
		sub.Send(&codec.Pubcomp{PacketID: p.PacketID})
		sub.Receive(publishOn(topic, "second", 2))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.9/receive-maximum-error-pubrec-frees-quota",
	Title:      "with Receive Maximum 1, a PUBREC with reason 0x80 ends the QoS 2 delivery: no PUBREL follows, and the next message is sent",
	Statements: []string{"MQTT-4.9.0-2", "MQTT-4.4.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("rm")
		sub := flowSubscriber(t, 1, topic, 2)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "refused", 2, false)
		pub.PublishMsg(topic, "next", 2, false)
		p := sub.ExpectPublish(publishOn(topic, "refused", 2))
		sub.Send(&codec.Pubrec{PacketID: p.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
		sub.Receive(publishOn(topic, "next", 2))
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.9/other-packets-at-zero-quota",
	Title:      "with the send quota at zero the server still answers PINGREQ, SUBSCRIBE and UNSUBSCRIBE at once",
	Statements: []string{"MQTT-4.9.0-3", "MQTT-3.3.4-10"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("rm")
		sub := flowSubscriber(t, 1, topic, 1)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "held", 1, false)
		pub.PublishMsg(topic, "waiting", 1, false)
		p := sub.ExpectPublish(publishOn(topic, "held", 1))
		sub.ExpectOpen()
		subID, unsubID := awayFromServerIDs(p, 0), awayFromServerIDs(p, 1)
		sub.Send(&codec.Subscribe{PacketID: subID, Subscriptions: []codec.Subscription{{Filter: t.Topic("other"), QoS: 1}}})
		sub.Expect(c.Suback(subID, 1))
		sub.Send(&codec.Unsubscribe{PacketID: unsubID, Filters: []string{t.Topic("other")}})
		sub.Expect(c.Unsuback(unsubID, 0))
		sub.Ack(p)
		sub.Receive(publishOn(topic, "waiting", 1))
	},
})
