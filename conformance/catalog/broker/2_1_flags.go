package connection

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// Chapter 2: the fixed header's reserved flags (3.1.1 section 2.2.2, 5.0 section 2.1.3) and
// packet identifiers (3.1.1 section 2.3.1, 5.0 section 2.2.1).

// flagCase is a client-to-server packet sent with wrong fixed-header flags.
type flagCase struct {
	name     string
	typ      codec.PacketType
	flags    byte // the wrong flags
	requires []c.Feature
	s311, s5 []string // statements beyond the generic reserved-flag ones
	// send reaches the point where the packet matters and sends it with wrong flags; the
	// connection must then close.
	send func(t *c.T, bad func(codec.Packet) []byte) *c.Conn
}

var flagCases = []flagCase{
	{
		name: "connect", typ: codec.CONNECT, flags: 0x01,
		s311: ids("MQTT-3.1.4-1"), s5: ids("MQTT-3.1.4-1"),
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			conn := t.Dial("")
			conn.SendRaw(bad(t.DefaultConnect()), "CONNECT with fixed-header flags 0001")
			return conn
		},
	},
	{
		name: "puback", typ: codec.PUBACK, flags: 0x02, requires: []c.Feature{c.FeatureQoS1},
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			topic := t.Topic("flags")
			sub := t.Sub("sub", topic, 1)
			t.Pub("pub").PublishMsg(topic, "m", 1, false)
			p := sub.ExpectPublish(c.Publish(topic, []byte("m"), 1))
			sub.SendRaw(bad(&codec.Puback{PacketID: p.PacketID}), "PUBACK with fixed-header flags 0010")
			return sub
		},
	},
	{
		name: "pubrec", typ: codec.PUBREC, flags: 0x02, requires: []c.Feature{c.FeatureQoS2},
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			topic := t.Topic("flags")
			sub := t.Sub("sub", topic, 2)
			t.Pub("pub").PublishMsg(topic, "m", 2, false)
			p := sub.ExpectPublish(c.Publish(topic, []byte("m"), 2))
			sub.SendRaw(bad(&codec.Pubrec{PacketID: p.PacketID}), "PUBREC with fixed-header flags 0010")
			return sub
		},
	},
	{
		name: "pubrel", typ: codec.PUBREL, flags: 0x00, requires: []c.Feature{c.FeatureQoS2},
		s311: ids("MQTT-3.6.1-1"), s5: ids("MQTT-3.6.1-1"),
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			conn := t.Connect(t.DefaultConnect())
			id := conn.NextID()
			conn.Send(&codec.Publish{Topic: t.Topic("flags"), Payload: []byte("m"), QoS: 2, PacketID: id})
			conn.Expect(c.Type(codec.PUBREC).ID(id).ReasonIn(0, codec.ReasonNoMatchingSubscribers))
			conn.SendRaw(bad(&codec.Pubrel{PacketID: id}), "PUBREL with fixed-header flags 0000 (must be 0010)")
			return conn
		},
	},
	{
		name: "pubcomp", typ: codec.PUBCOMP, flags: 0x02, requires: []c.Feature{c.FeatureQoS2},
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			topic := t.Topic("flags")
			sub := t.Sub("sub", topic, 2)
			t.Pub("pub").PublishMsg(topic, "m", 2, false)
			p := sub.ExpectPublish(c.Publish(topic, []byte("m"), 2))
			sub.Send(&codec.Pubrec{PacketID: p.PacketID})
			sub.Expect(c.Pubrel(p.PacketID))
			sub.SendRaw(bad(&codec.Pubcomp{PacketID: p.PacketID}), "PUBCOMP with fixed-header flags 0010")
			return sub
		},
	},
	{
		name: "subscribe", typ: codec.SUBSCRIBE, flags: 0x00,
		s311: ids("MQTT-3.8.1-1"), s5: ids("MQTT-3.8.1-1"),
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			conn := t.Connect(t.DefaultConnect())
			s := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("flags")}}}
			conn.SendRaw(bad(s), "SUBSCRIBE with fixed-header flags 0000 (must be 0010)")
			return conn
		},
	},
	{
		name: "unsubscribe", typ: codec.UNSUBSCRIBE, flags: 0x00,
		s311: ids("MQTT-3.10.1-1"), s5: ids("MQTT-3.10.1-1"),
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			conn := t.Connect(t.DefaultConnect())
			conn.Subscribe(t.Topic("flags"), 0)
			u := &codec.Unsubscribe{PacketID: conn.NextID(), Filters: []string{t.Topic("flags")}}
			conn.SendRaw(bad(u), "UNSUBSCRIBE with fixed-header flags 0000 (must be 0010)")
			return conn
		},
	},
	{
		name: "pingreq", typ: codec.PINGREQ, flags: 0x01,
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			conn := t.Connect(t.DefaultConnect())
			conn.SendRaw(bad(&codec.Pingreq{}), "PINGREQ with fixed-header flags 0001")
			return conn
		},
	},
}

func init() {
	for _, fc := range flagCases {
		register(c.Case{
			ID: "2.1/reserved-flags-" + fc.name,
			Title: fmt.Sprintf("a %v with fixed-header flags %04b is malformed: the connection is closed and the packet not answered",
				fc.typ, fc.flags),
			Versions: c.Both,
			Level:    c.Must,
			Requires: fc.requires,
			Run: func(t *c.T) {
				bad := func(p codec.Packet) []byte { return withFlags(encode(t, p, t.Version), fc.flags) }
				conn := fc.send(t, bad)
				if fc.typ == codec.CONNECT {
					// No CONNACK was sent yet: only a refusing CONNACK may precede the close.
					conn.ExpectConnectRefused(nil, malformedOnly)
					return
				}
				conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
			},
		}, union(ids("MQTT-2.2.2-1", "MQTT-2.2.2-2"), fc.s311), union(ids("MQTT-2.1.3-1", "MQTT-4.13.1-1"), fc.s5))
	}

	register(c.Case{
		ID:       "2.3/subscribe-packet-id-zero",
		Title:    "a SUBSCRIBE with Packet Identifier 0 closes the connection without a SUBACK",
		Versions: c.Both,
		Level:    c.Must,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.Send(&codec.Subscribe{PacketID: 0, Subscriptions: []codec.Subscription{{Filter: t.Topic("id0")}}})
			conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
		},
	}, ids("MQTT-2.3.1-1", "MQTT-4.8.0-1"), ids("MQTT-2.2.1-3", "MQTT-4.13.1-1"))

	register(c.Case{
		ID:       "2.3/unsubscribe-packet-id-zero",
		Title:    "an UNSUBSCRIBE with Packet Identifier 0 closes the connection without an UNSUBACK",
		Versions: c.Both,
		Level:    c.Must,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.Send(&codec.Unsubscribe{PacketID: 0, Filters: []string{t.Topic("id0")}})
			conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
		},
	}, ids("MQTT-2.3.1-1", "MQTT-4.8.0-1"), ids("MQTT-2.2.1-3", "MQTT-4.13.1-1"))

	register(c.Case{
		ID:       "2.3/publish-qos1-packet-id-zero",
		Title:    "a QoS 1 PUBLISH with Packet Identifier 0 closes the connection: no PUBACK, not delivered",
		Versions: c.Both,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureQoS1},
		Run: func(t *c.T) {
			topic := t.Topic("id0")
			sub := t.Sub("sub", topic, 1)
			conn := t.ConnectLabel("pub", t.DefaultConnect())
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("id0"), QoS: 1, PacketID: 0})
			conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
			sub.ExpectNothing(0)
		},
	}, ids("MQTT-2.3.1-1", "MQTT-4.8.0-1"), ids("MQTT-2.2.1-3", "MQTT-4.13.1-1"))

	register(c.Case{
		ID:       "2.3/puback-carries-publish-id",
		Title:    "the PUBACK for a QoS 1 PUBLISH carries its Packet Identifier (0xA55A, both bytes checked)",
		Versions: c.Both,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureQoS1},
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.Publish(&codec.Publish{Topic: t.Topic("id"), Payload: []byte("x"), QoS: 1, PacketID: 0xA55A})
		},
	}, ids("MQTT-2.3.1-6", "MQTT-2.3.1-1"), ids("MQTT-2.2.1-5"))

	register(c.Case{
		ID:       "2.3/pubrec-pubcomp-carry-publish-id",
		Title:    "the PUBREC and the PUBCOMP of a QoS 2 flow carry the PUBLISH's Packet Identifier (0x5AA5)",
		Versions: c.Both,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureQoS2},
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.Publish(&codec.Publish{Topic: t.Topic("id"), Payload: []byte("x"), QoS: 2, PacketID: 0x5AA5})
		},
	}, ids("MQTT-2.3.1-6"), ids("MQTT-2.2.1-5"))

	register(c.Case{
		ID:       "2.3/suback-carries-subscribe-id",
		Title:    "the SUBACK carries the SUBSCRIBE's Packet Identifier (0xBEEF) and, in v5, a Property Length",
		Versions: c.Both,
		Level:    c.Must,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.Send(&codec.Subscribe{PacketID: 0xBEEF, Subscriptions: []codec.Subscription{{Filter: t.Topic("id"), QoS: 0}}})
			conn.Expect(c.Suback(0xBEEF, 0))
		},
	}, ids("MQTT-2.3.1-7"), ids("MQTT-2.2.1-6", "MQTT-2.2.2-1"))

	register(c.Case{
		ID:       "2.3/unsuback-carries-unsubscribe-id",
		Title:    "the UNSUBACK carries the UNSUBSCRIBE's Packet Identifier (0xCAFE)",
		Versions: c.Both,
		Level:    c.Must,
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
	}, ids("MQTT-2.3.1-7"), ids("MQTT-2.2.1-6", "MQTT-2.2.2-1"))

	register(c.Case{
		ID:       "2.3/server-packet-ids-distinct",
		Title:    "QoS 1 PUBLISH packets the server has in flight to one client carry distinct non-zero Packet Identifiers",
		Versions: c.Both,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureQoS1},
		Run: func(t *c.T) {
			topic := t.Topic("ids")
			sub := t.Sub("sub", topic, 1)
			pub := t.Pub("pub")
			for i := 0; i < 4; i++ {
				pub.PublishMsg(topic, fmt.Sprint(i), 1, false)
			}
			seen := map[uint16]int{}
			for i := 0; i < 4; i++ {
				// Unacknowledged on purpose: all four are in flight at once.
				p := sub.ExpectPublish(c.Publish(topic, []byte(fmt.Sprint(i)), 1))
				if p.PacketID == 0 {
					t.Failf("a non-zero Packet Identifier", "0", "QoS 1 PUBLISH %d has Packet Identifier 0", i)
				}
				if j, dup := seen[p.PacketID]; dup {
					t.Failf("distinct Packet Identifiers", fmt.Sprintf("%d used by messages %d and %d", p.PacketID, j, i),
						"the server reused Packet Identifier %d while message %d was unacknowledged", p.PacketID, j)
				}
				seen[p.PacketID] = i
			}
		},
	}, ids("MQTT-2.3.1-4", "MQTT-2.3.1-1"), ids("MQTT-2.2.1-4"))

	register(c.Case{
		ID:       "2.3/qos0-delivery-has-no-packet-id",
		Title:    "a QoS 1 message delivered on a QoS 0 subscription is a QoS 0 PUBLISH without Packet Identifier (payload intact)",
		Versions: c.Both,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureQoS1},
		Run: func(t *c.T) {
			// A server that copies the inbound Packet Identifier into the downgraded PUBLISH adds
			// two bytes the receiver reads as the start of the payload.
			topic := t.Topic("qos0")
			sub := t.Sub("sub", topic, 0)
			t.Pub("pub").PublishMsg(topic, "no-id", 1, false)
			sub.Expect(c.Publish(topic, []byte("no-id"), 0))
		},
	}, ids("MQTT-2.3.1-5"), ids("MQTT-2.2.1-2"))

	register(c.Case{
		ID:       "2.1/reserved-packet-type-0",
		Title:    "a packet of the reserved type 0 closes the connection",
		Versions: c.Both,
		Level:    c.Must,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.SendRaw([]byte{0x00, 0x00}, "packet type 0 with no body")
			conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
		},
	}, ids("MQTT-4.8.0-1"), ids("MQTT-4.13.1-1"))
}
