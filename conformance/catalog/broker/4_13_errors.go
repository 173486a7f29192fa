package broker

import (
	"fmt"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.13 (3.1.1: 4.8) handling errors, for SUBSCRIBE and UNSUBSCRIBE packets that cannot be
// parsed, and the 5.0 SHOULD that the server names the error in a DISCONNECT first. Also the
// client's Maximum Packet Size: the server discards what it cannot send (MQTT-3.1.2-24/-25).

// rawPacket builds a packet of type pt with flags 0010 from a hand-written remaining part.
func rawPacket(pt codec.PacketType, body []byte) []byte {
	b := []byte{byte(pt)<<4 | 0x02}
	b = codec.AppendVarint(b, uint32(len(body)))
	return append(b, body...)
}

// propsPrefix is the empty property block 5.0 puts after the packet identifier.
func propsPrefix(t *c.T) []byte {
	if t.V5() {
		return []byte{0x00}
	}
	return nil
}

// malformed lists SUBSCRIBE and UNSUBSCRIBE packets that cannot be parsed.
var malformed = []struct {
	id, what string
	build    func(t *c.T) []byte
}{
	{"4.13/subscribe-filter-length-overruns-closes", "a SUBSCRIBE whose topic filter length (10) exceeds the bytes present (3)", func(t *c.T) []byte {
		body := append([]byte{0x00, 0x01}, propsPrefix(t)...)
		return rawPacket(codec.SUBSCRIBE, append(body, 0x00, 0x0A, 'a', '/', 'b'))
	}},
	{"4.13/subscribe-options-missing-closes", "a SUBSCRIBE whose last topic filter has no options byte", func(t *c.T) []byte {
		body := append([]byte{0x00, 0x01}, propsPrefix(t)...)
		return rawPacket(codec.SUBSCRIBE, append(body, 0x00, 0x03, 'a', '/', 'b'))
	}},
	{"4.13/subscribe-invalid-utf8-closes", "a SUBSCRIBE whose topic filter is not valid UTF-8 (0xC3 0x28)", func(t *c.T) []byte {
		body := append([]byte{0x00, 0x01}, propsPrefix(t)...)
		return rawPacket(codec.SUBSCRIBE, append(body, 0x00, 0x04, 'a', '/', 0xC3, 0x28, 0x00))
	}},
	{"4.13/subscribe-surrogate-closes", "a SUBSCRIBE whose topic filter encodes a UTF-16 surrogate (U+D800)", func(t *c.T) []byte {
		body := append([]byte{0x00, 0x01}, propsPrefix(t)...)
		return rawPacket(codec.SUBSCRIBE, append(body, 0x00, 0x05, 'a', '/', 0xED, 0xA0, 0x80, 0x00))
	}},
	{"4.13/unsubscribe-filter-length-overruns-closes", "an UNSUBSCRIBE whose topic filter length (10) exceeds the bytes present (3)", func(t *c.T) []byte {
		body := append([]byte{0x00, 0x01}, propsPrefix(t)...)
		return rawPacket(codec.UNSUBSCRIBE, append(body, 0x00, 0x0A, 'a', '/', 'b'))
	}},
	{"4.13/unsubscribe-invalid-utf8-closes", "an UNSUBSCRIBE whose topic filter is not valid UTF-8 (0xC3 0x28)", func(t *c.T) []byte {
		body := append([]byte{0x00, 0x01}, propsPrefix(t)...)
		return rawPacket(codec.UNSUBSCRIBE, append(body, 0x00, 0x04, 'a', '/', 0xC3, 0x28))
	}},
}

var _ = func() int {
	for _, m := range malformed {
		stmts := []string{"MQTT-4.8.0-1", "MQTT-4.13.1-1"}
		if strings.Contains(m.id, "utf8") || strings.Contains(m.id, "surrogate") {
			stmts = append(stmts, "MQTT-1.5.3-1", "MQTT-1.5.4-1")
		}
		catalog.Broker(c.Case{
			ID:         m.id,
			Title:      m.what + " is malformed: the server closes the connection",
			Statements: stmts,
			Versions:   c.Both,
			Level:      c.Must,
			Run: func(t *c.T) {
				conn := t.Connect(t.DefaultConnect())
				conn.SendRaw(m.build(t), m.what)
				conn.ExpectErrorClose(malformedOrProtocol...)
			},
		})
	}
	return 0
}()

// The 5.0 SHOULD: the server sends DISCONNECT with the reason code before closing (section
// 4.13.1), 0x81 for a malformed packet and 0x82 for a protocol error.
var _ = func() int {
	for _, v := range []struct {
		id, what string
		code     codec.ReasonCode
		send     func(t *c.T, conn *c.Conn)
	}{
		{"4.13/malformed-subscribe-disconnect-0x81", "a SUBSCRIBE whose topic filter length overruns the packet", codec.ReasonMalformedPacket,
			func(t *c.T, conn *c.Conn) { conn.SendRaw(malformed[0].build(t), malformed[0].what) }},
		{"4.13/reserved-option-bits-disconnect-0x81", "a SUBSCRIBE with a reserved subscription option bit set", codec.ReasonMalformedPacket,
			func(t *c.T, conn *c.Conn) {
				conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("a"), ReservedBits: 1}}})
			}},
		{"4.13/subscribe-flags-disconnect-0x81", "a SUBSCRIBE with fixed-header flags 0000", codec.ReasonMalformedPacket,
			func(t *c.T, conn *c.Conn) {
				sub := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("a")}}}
				conn.SendRaw(c.WithFlags(t.Encode(sub, t.Version), 0), "SUBSCRIBE with fixed-header flags 0000")
			}},
		{"4.13/qos-3-disconnect-0x82", "a SUBSCRIBE requesting QoS 3", codec.ReasonProtocolError,
			func(t *c.T, conn *c.Conn) {
				conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("a"), QoS: 3}}})
			}},
		{"4.13/subscription-id-0-disconnect-0x82", "a SUBSCRIBE with Subscription Identifier 0", codec.ReasonProtocolError,
			func(t *c.T, conn *c.Conn) {
				conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Properties: *subID(0), Subscriptions: []codec.Subscription{{Filter: t.Topic("a")}}})
			}},
		{"4.13/no-topic-filter-disconnect-0x82", "a SUBSCRIBE without any topic filter", codec.ReasonProtocolError,
			func(t *c.T, conn *c.Conn) { conn.Send(&codec.Subscribe{PacketID: conn.NextID()}) }},
	} {
		catalog.Broker(c.Case{
			ID:         v.id,
			Title:      fmt.Sprintf("the server answers %s with DISCONNECT 0x%02X before closing the connection", v.what, byte(v.code)),
			Statements: []string{"mqttspec-5.0-4.13.1-should-1", "MQTT-4.13.2-1"},
			Versions:   c.V5,
			Level:      c.Should,
			Run: func(t *c.T) {
				conn := t.Connect(t.DefaultConnect())
				v.send(t, conn)
				conn.ExpectClosed(c.WithDisconnect(v.code))
			},
		})
	}
	return 0
}()

// maxPacketSubscriber connects a 5.0 subscriber announcing Maximum Packet Size limit.
func maxPacketSubscriber(t *c.T, p *codec.Connect, limit uint32, topic string, qos byte) *c.Conn {
	if p == nil {
		p = t.DefaultConnect()
	}
	p.Properties.SetMaximumPacketSize(limit)
	sub := t.ConnectResume("sub", p, false)
	sub.Subscribe(topic, qos)
	return sub
}

var _ = catalog.Broker(c.Case{
	ID:         "4.13/oversized-publish-not-sent",
	Title:      "a message whose PUBLISH would exceed the client's Maximum Packet Size (128) is not sent to it; a smaller one that follows is",
	Statements: []string{"MQTT-3.1.2-24", "MQTT-3.1.2-25"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("big")
		sub := maxPacketSubscriber(t, nil, 128, topic, 0)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, strings.Repeat("x", 300), 0, false)
		pub.PublishMsg(topic, "small", 0, false)
		sub.Expect(publishOn(topic, "small", 0))
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.13/oversized-qos1-treated-as-sent",
	Title:      "a QoS 1 message too large for the client (Maximum Packet Size 128, Receive Maximum 1) is treated as sent: it uses no send quota and is never re-sent",
	Statements: []string{"MQTT-3.1.2-25", "MQTT-3.1.2-24"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		id, topic := t.ClientID(), t.Topic("big")
		p := t.PersistentConnect(id)
		p.Properties.SetReceiveMaximum(1)
		sub := maxPacketSubscriber(t, p, 128, topic, 1)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, strings.Repeat("x", 300), 1, false)
		pub.PublishMsg(topic, "small", 1, false)
		// Were the big message counted as in flight, Receive Maximum 1 would hold "small" back.
		sub.Receive(publishOn(topic, "small", 1))
		sub.Close()
		again := t.ConnectResume("again", t.PersistentConnect(id), true)
		again.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.13/disconnect-within-maximum-packet-size",
	Title:      "a DISCONNECT the server sends for an invalid filter, carrying a Reason String or User Property when there is room, leaves them out for a client whose Maximum Packet Size they would exceed (skipped when the server never sends them)",
	Statements: []string{"MQTT-3.14.2-3", "MQTT-3.14.2-4", "MQTT-3.1.2-24", "MQTT-4.13.1-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		// A filter breaking the wildcard rules: servers like to explain that in a Reason String.
		// The rule binds only a DISCONNECT that would carry one: first make the server show it.
		bad := stimulus{what: "SUBSCRIBE to the invalid filter a/#/b", want: codec.DISCONNECT, pkts: func() []codec.Packet {
			return []codec.Packet{&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: t.TopicPrefix() + "/a/#/b"}}}}
		}}
		for _, e := range findExplained(t, bad) {
			conn := limitedConnect(t, "limited", e.limit)
			e.send(conn)
			fits(t, conn, c.Type(codec.DISCONNECT).ReasonIn(codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicFilterInvalid), e.limit)
			conn.ExpectClosed()
		}
	},
})
