package client

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.6: message ordering — the client's PUBACK and PUBREC follow the order of the PUBLISH
// packets it received, and its PUBREL the order of the PUBREC packets (the resend order after a
// reconnection is checked in 4_4_redelivery.go).

func init() {
	catalog.Client(c.Case{
		ID:         "4.6/puback-order",
		Title:      "PUBACKs go out in the order the QoS 1 PUBLISH packets arrived",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.6.0-2"},
		Run: func(t *c.T) {
			topic := t.Topic("acks")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 1, Count: 4})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 1)
			ids := []uint16{300, 12, 4000}
			for i, id := range ids {
				conn.Send(&codec.Publish{Topic: topic, Payload: []byte{'a' + byte(i)}, QoS: 1, PacketID: id})
			}
			for _, id := range ids {
				conn.Expect(c.Puback(id))
			}
			lastMessage(t, conn, topic)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.6/pubrec-order",
		Title:      "PUBRECs go out in the order the QoS 2 PUBLISH packets arrived",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.6.0-3"},
		Run: func(t *c.T) {
			topic := t.Topic("recs")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 2, Count: 4})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 2)
			ids := []uint16{77, 5, 901}
			for i, id := range ids {
				conn.Send(&codec.Publish{Topic: topic, Payload: []byte{'a' + byte(i)}, QoS: 2, PacketID: id})
			}
			for _, id := range ids {
				conn.Expect(c.Pubrec(id))
			}
			for _, id := range ids {
				conn.Send(&codec.Pubrel{PacketID: id})
				conn.Expect(c.Pubcomp(id))
			}
			lastMessage(t, conn, topic)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.6/pubrel-order",
		Title:      "PUBRELs go out in the order the PUBRECs arrived, not the order of the PUBLISH packets",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.6.0-4"},
		Run: func(t *c.T) {
			topic := t.Topic("rels")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2, Count: 3})
			conn, _ := connected(t, "")
			pubs := inFlight(t, conn, c.Publish(topic, []byte("m"), 2), 3)
			order := []*codec.Publish{pubs[1], pubs[2], pubs[0]}
			for _, p := range order {
				conn.Send(&codec.Pubrec{PacketID: p.PacketID})
			}
			for _, p := range order {
				conn.Expect(c.Pubrel(p.PacketID))
			}
			for _, p := range order {
				conn.Send(&codec.Pubcomp{PacketID: p.PacketID})
			}
			leaves(t, conn)
		},
	})
}
