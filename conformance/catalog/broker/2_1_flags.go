package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Chapter 2: the fixed header's reserved flags (3.1.1 section 2.2.2, 5.0 section 2.1.3) and
// packet identifiers (3.1.1 section 2.3.1, 5.0 section 2.2.1).

// flagCase is a client-to-server packet sent with wrong fixed-header flags.
type flagCase struct {
	id       string
	typ      codec.PacketType
	flags    byte // the wrong flags
	requires []c.Feature
	also     []string // statements beyond the generic reserved-flag ones, on both versions
	// send reaches the point where the packet matters and sends it with wrong flags; the
	// connection must then close.
	send func(t *c.T, bad func(codec.Packet) []byte) *c.Conn
}

var flagCases = []flagCase{
	{
		id: "2.1/reserved-flags-connect", typ: codec.CONNECT, flags: 0x01,
		also: []string{"MQTT-3.1.4-1"},
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			conn := t.Dial("")
			conn.SendRaw(bad(t.DefaultConnect()), "CONNECT with fixed-header flags 0001")
			return conn
		},
	},
	{
		id: "2.1/reserved-flags-puback", typ: codec.PUBACK, flags: 0x02, requires: []c.Feature{c.FeatureQoS1},
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
		id: "2.1/reserved-flags-pubrec", typ: codec.PUBREC, flags: 0x02, requires: []c.Feature{c.FeatureQoS2},
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
		id: "2.1/reserved-flags-pubrel", typ: codec.PUBREL, flags: 0x00, requires: []c.Feature{c.FeatureQoS2},
		also: []string{"MQTT-3.6.1-1"},
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
		id: "2.1/reserved-flags-pubcomp", typ: codec.PUBCOMP, flags: 0x02, requires: []c.Feature{c.FeatureQoS2},
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
		id: "2.1/reserved-flags-subscribe", typ: codec.SUBSCRIBE, flags: 0x00,
		also: []string{"MQTT-3.8.1-1"},
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			conn := t.Connect(t.DefaultConnect())
			s := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("flags")}}}
			conn.SendRaw(bad(s), "SUBSCRIBE with fixed-header flags 0000 (must be 0010)")
			return conn
		},
	},
	{
		id: "2.1/reserved-flags-unsubscribe", typ: codec.UNSUBSCRIBE, flags: 0x00,
		also: []string{"MQTT-3.10.1-1"},
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			conn := t.Connect(t.DefaultConnect())
			conn.Subscribe(t.Topic("flags"), 0)
			u := &codec.Unsubscribe{PacketID: conn.NextID(), Filters: []string{t.Topic("flags")}}
			conn.SendRaw(bad(u), "UNSUBSCRIBE with fixed-header flags 0000 (must be 0010)")
			return conn
		},
	},
	{
		id: "2.1/reserved-flags-pingreq", typ: codec.PINGREQ, flags: 0x01,
		send: func(t *c.T, bad func(codec.Packet) []byte) *c.Conn {
			conn := t.Connect(t.DefaultConnect())
			conn.SendRaw(bad(&codec.Pingreq{}), "PINGREQ with fixed-header flags 0001")
			return conn
		},
	},
}

func init() {
	for _, fc := range flagCases {
		catalog.Broker(c.Case{
			ID: fc.id,
			Title: fmt.Sprintf("a %v with fixed-header flags %04b is malformed: the connection is closed and the packet not answered",
				fc.typ, fc.flags),
			Versions: c.Both,
			Level:    c.Must,
			Requires: fc.requires,
			// 3.1.1 MQTT-2.2.2-1 is another rule in 5.0.
			Statements: append([]string{"3.1.1:MQTT-2.2.2-1", "MQTT-2.2.2-2", "MQTT-2.1.3-1", "MQTT-4.13.1-1"}, fc.also...),
			Run: func(t *c.T) {
				bad := func(p codec.Packet) []byte { return c.WithFlags(t.Encode(p, t.Version), fc.flags) }
				conn := fc.send(t, bad)
				if fc.typ == codec.CONNECT {
					// No CONNACK was sent yet: only a refusing CONNACK may precede the close.
					conn.ExpectConnectRefused(nil, malformedOnly)
					return
				}
				conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
			},
		})
	}
}

var _ = catalog.Broker(c.Case{
	ID:         "2.1/reserved-packet-type-0",
	Title:      "a packet of the reserved type 0 closes the connection",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.SendRaw([]byte{0x00, 0x00}, "packet type 0 with no body")
		conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
	},
})
