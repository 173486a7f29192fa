package broker

import (
	"strings"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 1.5: data representation. UTF-8 strings (3.1.1 section 1.5.3, 5.0 section 1.5.4),
// Variable Byte Integers (5.0 section 1.5.5) and UTF-8 string pairs (5.0 section 1.5.7).

var _ = catalog.Broker(c.Case{
	ID:         "1.5/utf8-ill-formed-topic-name",
	Title:      "a PUBLISH whose topic name is ill-formed UTF-8 (bytes FF FE) closes the connection (v5: DISCONNECT 0x81 allowed first)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-1.5.3-1", "MQTT-4.8.0-1", "MQTT-1.5.4-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Publish{Topic: t.Topic("bad\xff\xfe"), Payload: []byte("x")})
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "1.5/utf8-surrogate-in-topic-filter",
	Title:      "a SUBSCRIBE whose topic filter encodes a surrogate code point (U+D800 as ED A0 80) closes the connection without a SUBACK",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-1.5.3-1", "MQTT-4.8.0-1", "MQTT-1.5.4-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("s\xed\xa0\x80"), QoS: 0}}})
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "1.5/utf8-overlong-encoding",
	Title:      "a PUBLISH whose topic name holds an overlong UTF-8 encoding ('/' as C0 AF) closes the connection",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-1.5.3-1", "MQTT-4.8.0-1", "MQTT-1.5.4-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		// C0 AF is the classic overlong form of '/', which a lax decoder turns into a level
		// separator. It is ill-formed UTF-8.
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Publish{Topic: t.Topic("a\xc0\xafb"), Payload: []byte("x")})
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "1.5/utf8-null-in-topic-name",
	Title:      "a PUBLISH whose topic name contains U+0000 closes the connection",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-1.5.3-2", "MQTT-4.7.3-2", "MQTT-4.8.0-1", "MQTT-1.5.4-2", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Publish{Topic: t.Topic("a\x00b"), Payload: []byte("x")})
		conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "1.5/utf8-null-in-client-id",
	Title:      "a CONNECT whose client identifier contains U+0000 is refused and the connection closed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-1.5.3-2", "MQTT-3.1.4-1", "MQTT-1.5.4-2"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ClientID = "ms\x00" + p.ClientID[3:]
		conn.Send(p)
		// Identifier rejected is a fair answer too: the identifier is what is wrong.
		conn.ExpectConnectRefused([]codec.ReasonCode{codec.ConnRefusedIdentifierRejected},
			[]codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonClientIDNotValid})
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "1.5/utf8-bom-not-stripped",
	Title:      "a topic name starting a level with EF BB BF (U+FEFF) is delivered with those bytes intact and does not match the name without them",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-1.5.3-3", "MQTT-4.7.3-4", "MQTT-1.5.4-3"},
	Run: func(t *c.T) {
		withBOM, without := t.Topic("\ufeffbom"), t.Topic("bom")
		exact := t.Sub("bom-filter", withBOM, 0)
		plain := t.Sub("plain-filter", without, 0)
		t.Pub("pub").PublishMsg(withBOM, "zwnbsp", 0, false)
		exact.Expect(c.Publish(withBOM, []byte("zwnbsp"), 0))
		plain.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "1.5/utf8-string-pair-ill-formed",
	Title:      "a PUBLISH whose User Property name is ill-formed UTF-8 closes the connection (DISCONNECT 0x81 allowed first)",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-1.5.7-1", "MQTT-1.5.4-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		p := &codec.Publish{Topic: t.Topic("pair"), Payload: []byte("x")}
		p.Properties.AddUser("k\xff", "v")
		conn.Send(p)
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "1.5/vbi-five-bytes",
	Title:      "a Remaining Length of five bytes (80 80 80 80 01) is malformed and closes the connection",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-4.8.0-1", "MQTT-1.5.5-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.SendRaw([]byte{0xC0, 0x80, 0x80, 0x80, 0x80, 0x01}, "PINGREQ whose Remaining Length runs to a fifth byte")
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:       "1.5/vbi-non-minimal-remaining-length",
	Title:    "a PINGREQ whose Remaining Length 0 is encoded in two bytes (80 00) is malformed: the connection is closed, no PINGRESP",
	Versions: c.V5,
	// MQTT-1.5.5-1 binds the sender; no statement obliges a receiver to reject a
	// non-minimal encoding, so rejecting it is graded as a SHOULD.
	Level:      c.Should,
	Statements: []string{"MQTT-1.5.5-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.SendRaw([]byte{0xC0, 0x80, 0x00}, "PINGREQ with Remaining Length 0 encoded as 80 00")
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:       "1.5/vbi-non-minimal-property-length",
	Title:    "a PUBLISH whose Property Length 0 is encoded in two bytes (80 00) is malformed: the connection is closed and nothing is delivered",
	Versions: c.V5,
	// MQTT-1.5.5-1 binds the sender; no statement obliges a receiver to reject a
	// non-minimal encoding, so rejecting it is graded as a SHOULD.
	Level:      c.Should,
	Statements: []string{"MQTT-1.5.5-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		topic := t.Topic("vbi")
		sub := t.Sub("sub", topic, 0)
		conn := t.ConnectLabel("pub", t.DefaultConnect())
		// Topic name, then the Property Length as 80 00, then the payload.
		b := append([]byte{byte(len(topic) >> 8), byte(len(topic))}, topic...)
		b = append(b, 0x80, 0x00)
		b = append(b, "x"...)
		conn.SendRaw(c.Reframe(byte(codec.PUBLISH)<<4, b), "PUBLISH QoS 0 with Property Length encoded as 80 00")
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "1.5/server-vbi-minimal",
	Title:      "the server writes its Variable Byte Integers in the fewest bytes: deliveries whose Remaining Length takes one, two and three bytes, and one whose Property Length takes two",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-1.5.5-1"},
	Run: func(t *c.T) {
		// The server is the sender here: the case's decoder rejects a longer encoding than
		// needed (rule varint-non-minimal), so receiving each delivery intact is the check.
		topic := t.Topic("vbi")
		sub := t.Sub("sub", topic, 0)
		pub := t.Pub("pub")
		sizes := []int{10, 300}
		if mps := t.Caps.MaximumPacketSize; mps == 0 || int(mps) > 20000+len(topic)+64 {
			sizes = append(sizes, 20000)
		}
		for _, n := range sizes {
			payload := []byte(strings.Repeat("v", n))
			pub.Publish(&codec.Publish{Topic: topic, Payload: payload})
			sub.Receive(c.Publish(topic, payload, 0))
		}
		// A 150-byte User Property, forwarded unaltered (MQTT-3.3.2-17): a Property Length of two bytes.
		p := &codec.Publish{Topic: topic, Payload: []byte("props")}
		p.Properties.AddUser("k", strings.Repeat("u", 150))
		pub.Publish(p)
		sub.Receive(c.Publish(topic, []byte("props"), 0))
	},
})
