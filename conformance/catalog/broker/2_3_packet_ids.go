package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

var _ = catalog.Broker(c.Case{
	ID:         "2.3/subscribe-packet-id-zero",
	Title:      "a SUBSCRIBE with Packet Identifier 0 closes the connection without a SUBACK",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-2.3.1-1", "MQTT-4.8.0-1", "MQTT-2.2.1-3", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Subscribe{PacketID: 0, Subscriptions: []codec.Subscription{{Filter: t.Topic("id0")}}})
		conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "2.3/unsubscribe-packet-id-zero",
	Title:      "an UNSUBSCRIBE with Packet Identifier 0 closes the connection without an UNSUBACK",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-2.3.1-1", "MQTT-4.8.0-1", "MQTT-2.2.1-3", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Unsubscribe{PacketID: 0, Filters: []string{t.Topic("id0")}})
		conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "2.3/publish-qos1-packet-id-zero",
	Title:      "a QoS 1 PUBLISH with Packet Identifier 0 closes the connection: no PUBACK, not delivered",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"MQTT-2.3.1-1", "MQTT-4.8.0-1", "MQTT-2.2.1-3", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		topic := t.Topic("id0")
		sub := t.Sub("sub", topic, 1)
		conn := t.ConnectLabel("pub", t.DefaultConnect())
		conn.Send(&codec.Publish{Topic: topic, Payload: []byte("id0"), QoS: 1, PacketID: 0})
		conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "2.3/puback-carries-publish-id",
	Title:      "the PUBACK for a QoS 1 PUBLISH carries its Packet Identifier (0xA55A, both bytes checked)",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"MQTT-2.3.1-6", "MQTT-2.3.1-1", "MQTT-2.2.1-5"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Publish(&codec.Publish{Topic: t.Topic("id"), Payload: []byte("x"), QoS: 1, PacketID: 0xA55A})
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "2.3/pubrec-pubcomp-carry-publish-id",
	Title:      "the PUBREC and the PUBCOMP of a QoS 2 flow carry the PUBLISH's Packet Identifier (0x5AA5)",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"MQTT-2.3.1-6", "MQTT-2.2.1-5"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Publish(&codec.Publish{Topic: t.Topic("id"), Payload: []byte("x"), QoS: 2, PacketID: 0x5AA5})
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "2.3/suback-carries-subscribe-id",
	Title:      "the SUBACK carries the SUBSCRIBE's Packet Identifier (0xBEEF) and, in v5, a Property Length",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-2.3.1-7", "MQTT-2.2.1-6", "5.0:MQTT-2.2.2-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Subscribe{PacketID: 0xBEEF, Subscriptions: []codec.Subscription{{Filter: t.Topic("id"), QoS: 0}}})
		conn.Expect(c.Suback(0xBEEF, 0))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "2.3/unsuback-carries-unsubscribe-id",
	Title:      "the UNSUBACK carries the UNSUBSCRIBE's Packet Identifier (0xCAFE)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-2.3.1-7", "MQTT-2.2.1-6", "5.0:MQTT-2.2.2-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Subscribe(t.Topic("id"), 0)
		conn.Send(&codec.Unsubscribe{PacketID: 0xCAFE, Filters: []string{t.Topic("id")}})
		var codes []codec.ReasonCode
		if t.V5() {
			codes = []codec.ReasonCode{codec.ReasonSuccess}
		}
		conn.Expect(c.Unsuback(0xCAFE, codes...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "2.3/server-packet-ids-distinct",
	Title:      "QoS 1 PUBLISH packets the server has in flight to one client at the same time carry distinct non-zero Packet Identifiers",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"MQTT-2.3.1-4", "MQTT-2.3.1-1", "MQTT-2.2.1-4"},
	Run: func(t *c.T) {
		topic := t.Topic("ids")
		sub := t.Sub("sub", topic, 1)
		pub := t.Pub("pub")
		for i := 0; i < 4; i++ {
			pub.PublishMsg(topic, fmt.Sprint(i), 1, false)
		}
		var ms []c.Matcher
		for i := 0; i < 4; i++ {
			ms = append(ms, c.Publish(topic, []byte(fmt.Sprint(i)), 1))
		}
		// Each is left unacknowledged while the server keeps sending: the identifiers must differ
		// among the messages in flight together, and may be re-used once acknowledged.
		_, most := receiveHeld(t, sub, heldOpts{ordered: true, onArrive: distinctFromUnacked(t)}, ms...)
		skipUnlessConcurrent(t, most)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "2.3/qos0-delivery-has-no-packet-id",
	Title:      "a QoS 1 message delivered on a QoS 0 subscription is a QoS 0 PUBLISH without Packet Identifier (payload intact)",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"MQTT-2.3.1-5", "MQTT-2.2.1-2"},
	Run: func(t *c.T) {
		// A server that copies the inbound Packet Identifier into the downgraded PUBLISH adds
		// two bytes the receiver reads as the start of the payload.
		topic := t.Topic("qos0")
		sub := t.Sub("sub", topic, 0)
		t.Pub("pub").PublishMsg(topic, "no-id", 1, false)
		sub.Expect(c.Publish(topic, []byte("no-id"), 0))
	},
})

// Prompted by the differential network fuzzer (docs/findings.md, RabbitMQ R15): RabbitMQ 3.10.8
// numbers a retained delivery from the SUBSCRIBE's identifier (so identifier 0 after a SUBSCRIBE
// 0). It moves on from an identifier still in flight, and passes this case; a server that takes
// the SUBSCRIBE's identifier as it is does not.
var _ = catalog.Broker(c.Case{
	ID:         "2.3/retained-deliveries-distinct-packet-ids",
	Title:      "two retained QoS 1 messages sent for two SUBSCRIBEs using the same identifier, the first left unacknowledged, carry distinct Packet Identifiers (both SUBSCRIBEs get their SUBACK)",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-2.3.1-4", "5.0:MQTT-2.2.1-4", "MQTT-3.8.4-1"},
	Run: func(t *c.T) {
		first, second := t.Topic("ra"), t.Topic("rb")
		pub := t.Pub("pub")
		pub.PublishMsg(first, "ra", 1, true)
		pub.PublishMsg(second, "rb", 1, true)
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		var ids []uint16
		for _, r := range []struct{ topic, payload string }{{first, "ra"}, {second, "rb"}} {
			topic, payload := r.topic, b(r.payload)
			// The client may reuse 8 once its SUBACK has arrived; the server's delivery is another
			// identifier space.
			sub.Send(&codec.Subscribe{PacketID: 8, Subscriptions: []codec.Subscription{{Filter: topic, QoS: 1}}})
			for _, p := range sub.ExpectUnordered(c.Suback(8, 1), c.Publish(topic, payload, 1).Retain(true)) {
				if d, ok := p.(*codec.Publish); ok {
					ids = append(ids, d.PacketID) // not acknowledged: it stays in flight
				}
			}
		}
		if len(ids) == 2 && ids[0] == ids[1] {
			t.Fatalf("the two retained deliveries in flight together both carry Packet Identifier %d", ids[0])
		}
	},
})
