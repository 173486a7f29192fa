package codec_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// Golden vectors, written byte by byte from the field layouts of the specifications (3.1.1
// chapter 3 and 5.0 chapter 3), not produced by the encoder. Each vector is checked in both
// directions: decoding gives the struct, encoding the struct gives the bytes. Where the wire form
// is legal but not the shortest (v5 acknowledgements and DISCONNECT with an empty property block),
// enc gives what the encoder writes instead.
var golden = []struct {
	name string
	v    codec.Version
	wire string
	want codec.Packet
	enc  string // encoder output when it differs from wire
}{
	{
		// The variable header of 3.1.1 §3.1.2.10's example (name MQTT, level 4, flags 0xCE =
		// user name, password, Will QoS 1, Will Flag, Clean Session; Keep Alive 10), with a payload.
		name: "3.1.1 CONNECT, §3.1 example header",
		v:    codec.V311,
		wire: "10 1E | 00 04 4D 51 54 54 | 04 | CE | 00 0A | 00 02 63 31 | 00 03 77 2F 74 | 00 03 62 79 65 | 00 01 75 | 00 01 70",
		want: &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanStart: true, WillFlag: true,
			UsernameFlag: true, PasswordFlag: true, KeepAlive: 10, ClientID: "c1",
			Will: codec.Will{QoS: 1, Topic: "w/t", Payload: []byte("bye")}, Username: "u", Password: []byte("p")},
	},
	{
		name: "3.1 CONNECT, MQIsdp level 3",
		v:    codec.V31,
		wire: "10 10 | 00 06 4D 51 49 73 64 70 | 03 | 02 | 00 3C | 00 02 63 31",
		want: &codec.Connect{ProtocolName: "MQIsdp", ProtocolLevel: 3, CleanStart: true, KeepAlive: 60, ClientID: "c1"},
	},
	{
		// 5.0 §3.1.2.11's example properties (Session Expiry Interval 10) plus Will Properties
		// holding a Will Delay Interval of 5.
		name: "5.0 CONNECT with properties and will properties",
		v:    codec.V5,
		wire: "10 2A | 00 04 4D 51 54 54 | 05 | CE | 00 0A | 05 11 00 00 00 0A | 00 02 63 31 | 05 18 00 00 00 05 | 00 03 77 2F 74 | 00 03 62 79 65 | 00 01 75 | 00 01 70",
		want: func() codec.Packet {
			c := &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: 5, CleanStart: true, WillFlag: true,
				UsernameFlag: true, PasswordFlag: true, KeepAlive: 10, ClientID: "c1",
				Will: codec.Will{QoS: 1, Topic: "w/t", Payload: []byte("bye")}, Username: "u", Password: []byte("p")}
			c.Properties.SetSessionExpiry(10)
			c.Will.Properties.SetWillDelay(5)
			return c
		}(),
	},
	{
		name: "3.1.1 CONNACK session present, accepted",
		v:    codec.V311,
		wire: "20 02 | 01 | 00",
		want: &codec.Connack{SessionPresent: true},
	},
	{
		name: "3.1.1 CONNACK refused, bad user name or password",
		v:    codec.V311,
		wire: "20 02 | 00 | 04",
		want: &codec.Connack{ReasonCode: codec.ConnRefusedBadUsernamePassword},
	},
	{
		name: "5.0 CONNACK with Receive Maximum 20 and Topic Alias Maximum 10",
		v:    codec.V5,
		wire: "20 09 | 00 | 00 | 06 21 00 14 22 00 0A",
		want: func() codec.Packet {
			c := &codec.Connack{}
			c.Properties.SetReceiveMaximum(20).SetTopicAliasMaximum(10)
			return c
		}(),
	},
	{
		name: "3.1.1 PUBLISH QoS 0",
		v:    codec.V311,
		wire: "30 07 | 00 03 61 2F 62 | 68 69",
		want: &codec.Publish{Topic: "a/b", Payload: []byte("hi")},
	},
	{
		name: "3.1.1 PUBLISH QoS 1 DUP RETAIN",
		v:    codec.V311,
		wire: "3B 09 | 00 03 61 2F 62 | 00 0A | 68 69",
		want: &codec.Publish{Dup: true, QoS: 1, Retain: true, Topic: "a/b", PacketID: 10, Payload: []byte("hi")},
	},
	{
		name: "3.1.1 PUBLISH QoS 2, two-byte remaining length (319)",
		v:    codec.V311,
		wire: "34 BF 02 | 00 01 74 | 00 01 | " + repeatHex("AB", 314),
		want: &codec.Publish{QoS: 2, Topic: "t", PacketID: 1, Payload: bytes.Repeat([]byte{0xAB}, 314)},
	},
	{
		name: "5.0 PUBLISH QoS 2, payload format, expiry, topic alias",
		v:    codec.V5,
		wire: "34 14 | 00 03 61 2F 62 | 12 34 | 0A 01 01 02 00 00 00 3C 23 00 05 | 68 69",
		want: func() codec.Packet {
			p := &codec.Publish{QoS: 2, Topic: "a/b", PacketID: 0x1234, Payload: []byte("hi")}
			p.Properties.SetPayloadFormat(1).SetMessageExpiry(60).SetTopicAlias(5)
			return p
		}(),
	},
	{
		name: "5.0 PUBLISH QoS 0, no properties, empty payload",
		v:    codec.V5,
		wire: "30 06 | 00 03 61 2F 62 | 00",
		want: &codec.Publish{Topic: "a/b", Payload: []byte{}},
	},
	{
		name: "5.0 PUBLISH two Subscription Identifiers, one multi-byte (128 = 80 01)",
		v:    codec.V5,
		wire: "30 0B | 00 01 74 | 05 0B 01 0B 80 01 | 78 79",
		want: func() codec.Packet {
			p := &codec.Publish{Topic: "t", Payload: []byte("xy")}
			p.Properties.SubscriptionIDs = []uint32{1, 128}
			return p
		}(),
	},
	{
		name: "5.0 PUBLISH user properties keep their order",
		v:    codec.V5,
		wire: "30 13 | 00 01 74 | 0E 26 00 01 62 00 01 31 26 00 01 61 00 01 32 | 7A",
		want: func() codec.Packet {
			p := &codec.Publish{Topic: "t", Payload: []byte("z")}
			p.Properties.AddUser("b", "1").AddUser("a", "2")
			return p
		}(),
	},
	{
		name: "3.1.1 PUBACK",
		v:    codec.V311,
		wire: "40 02 | 00 0A",
		want: &codec.Puback{PacketID: 10},
	},
	{
		name: "5.0 PUBACK 2-byte form: reason 0, no properties",
		v:    codec.V5,
		wire: "40 02 | 00 0A",
		want: &codec.Puback{PacketID: 10},
	},
	{
		name: "5.0 PUBACK 3-byte form: reason code only",
		v:    codec.V5,
		wire: "40 03 | 00 0A | 10",
		want: &codec.Puback{PacketID: 10, ReasonCode: codec.ReasonNoMatchingSubscribers},
	},
	{
		name: "5.0 PUBACK 4-byte form: reason code, empty property block",
		v:    codec.V5,
		wire: "40 04 | 00 0A | 10 | 00",
		want: &codec.Puback{PacketID: 10, ReasonCode: codec.ReasonNoMatchingSubscribers},
		enc:  "40 03 00 0A 10",
	},
	{
		name: "5.0 PUBACK 4-byte form with reason 0 and empty properties",
		v:    codec.V5,
		wire: "40 04 | 00 0A | 00 | 00",
		want: &codec.Puback{PacketID: 10},
		enc:  "40 02 00 0A",
	},
	{
		name: "5.0 PUBACK with Reason String",
		v:    codec.V5,
		wire: "40 0A | 00 0A | 83 | 06 1F 00 03 62 61 64",
		want: func() codec.Packet {
			p := &codec.Puback{PacketID: 10, ReasonCode: codec.ReasonImplementationSpecific}
			p.Properties.SetReasonString("bad")
			return p
		}(),
	},
	{
		name: "3.1.1 PUBREC",
		v:    codec.V311,
		wire: "50 02 | 00 0B",
		want: &codec.Pubrec{PacketID: 11},
	},
	{
		name: "3.1.1 PUBREL (flags 0010)",
		v:    codec.V311,
		wire: "62 02 | 00 0B",
		want: &codec.Pubrel{PacketID: 11},
	},
	{
		name: "5.0 PUBREL Packet Identifier not found",
		v:    codec.V5,
		wire: "62 03 | 00 0B | 92",
		want: &codec.Pubrel{PacketID: 11, ReasonCode: codec.ReasonPacketIDNotFound},
	},
	{
		name: "3.1.1 PUBCOMP",
		v:    codec.V311,
		wire: "70 02 | 00 0B",
		want: &codec.Pubcomp{PacketID: 11},
	},
	{
		name: "3.1.1 SUBSCRIBE two filters",
		v:    codec.V311,
		wire: "82 0C | 00 0A | 00 03 61 2F 62 01 | 00 01 23 02",
		want: &codec.Subscribe{PacketID: 10, Subscriptions: []codec.Subscription{{Filter: "a/b", QoS: 1}, {Filter: "#", QoS: 2}}},
	},
	{
		name: "5.0 SUBSCRIBE with Subscription Identifier and every option bit",
		v:    codec.V5,
		wire: "82 0B | 00 0A | 02 0B 05 | 00 03 61 2F 62 2D",
		want: func() codec.Packet {
			s := &codec.Subscribe{PacketID: 10, Subscriptions: []codec.Subscription{
				{Filter: "a/b", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2}}}
			s.Properties.SubscriptionIDs = []uint32{5}
			return s
		}(),
	},
	{
		name: "3.1.1 SUBACK granted 0, 1 and failure",
		v:    codec.V311,
		wire: "90 05 | 00 0A | 00 01 80",
		want: &codec.Suback{PacketID: 10, ReasonCodes: []codec.ReasonCode{0, 1, 0x80}},
	},
	{
		name: "5.0 SUBACK granted 2, shared subscriptions not supported",
		v:    codec.V5,
		wire: "90 05 | 00 0A | 00 | 02 9E",
		want: &codec.Suback{PacketID: 10, ReasonCodes: []codec.ReasonCode{2, codec.ReasonSharedSubsNotSupported}},
	},
	{
		name: "3.1.1 UNSUBSCRIBE",
		v:    codec.V311,
		wire: "A2 07 | 00 0A | 00 03 61 2F 62",
		want: &codec.Unsubscribe{PacketID: 10, Filters: []string{"a/b"}},
	},
	{
		name: "3.1.1 UNSUBACK",
		v:    codec.V311,
		wire: "B0 02 | 00 0A",
		want: &codec.Unsuback{PacketID: 10},
	},
	{
		name: "5.0 UNSUBACK no subscription existed",
		v:    codec.V5,
		wire: "B0 04 | 00 0A | 00 | 11",
		want: &codec.Unsuback{PacketID: 10, ReasonCodes: []codec.ReasonCode{codec.ReasonNoSubscriptionExisted}},
	},
	{name: "PINGREQ", v: codec.V311, wire: "C0 00", want: &codec.Pingreq{}},
	{name: "PINGRESP", v: codec.V5, wire: "D0 00", want: &codec.Pingresp{}},
	{name: "3.1.1 DISCONNECT", v: codec.V311, wire: "E0 00", want: &codec.Disconnect{}},
	{
		name: "5.0 DISCONNECT 0-byte body means reason 0x00",
		v:    codec.V5,
		wire: "E0 00",
		want: &codec.Disconnect{ReasonCode: codec.ReasonNormalDisconnection},
	},
	{
		name: "5.0 DISCONNECT reason only: with Will Message",
		v:    codec.V5,
		wire: "E0 01 | 04",
		want: &codec.Disconnect{ReasonCode: codec.ReasonDisconnectWithWill},
	},
	{
		name: "5.0 DISCONNECT reason and empty property block",
		v:    codec.V5,
		wire: "E0 02 | 8E | 00",
		want: &codec.Disconnect{ReasonCode: codec.ReasonSessionTakenOver},
		enc:  "E0 01 8E",
	},
	{
		name: "5.0 DISCONNECT server moved, Server Reference",
		v:    codec.V5,
		wire: "E0 07 | 9D | 05 1C 00 02 68 32",
		want: func() codec.Packet {
			d := &codec.Disconnect{ReasonCode: codec.ReasonServerMoved}
			d.Properties.SetServerReference("h2")
			return d
		}(),
	},
	{name: "5.0 AUTH 0-byte body means success", v: codec.V5, wire: "F0 00", want: &codec.Auth{}},
	{
		name: "5.0 AUTH continue authentication with method and data",
		v:    codec.V5,
		wire: "F0 0C | 18 | 0A 15 00 02 6D 31 16 00 02 01 02",
		want: func() codec.Packet {
			a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
			a.Properties.SetAuthMethod("m1").SetAuthData([]byte{1, 2})
			return a
		}(),
	},
}

func repeatHex(h string, n int) string {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		b.WriteString(h)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			wire := hx(t, g.wire)
			got, n, err := codec.Decode(g.v, wire)
			if err != nil {
				t.Fatalf("decode % X: %v", wire, err)
			}
			if n != len(wire) {
				t.Errorf("consumed %d of %d bytes", n, len(wire))
			}
			if !reflect.DeepEqual(got, g.want) {
				t.Errorf("decode\n got %#v\nwant %#v", got, g.want)
			}
			enc := wire
			if g.enc != "" {
				enc = hx(t, g.enc)
			}
			if b := mustEncode(t, g.want, g.v); !bytes.Equal(b, enc) {
				t.Errorf("encode\n got % X\nwant % X", b, enc)
			}
		})
	}
}

// TestBOMPreserved: 0xEF 0xBB 0xBF is U+FEFF and a receiver must neither skip nor strip it
// (MQTT-1.5.3-3 / MQTT-1.5.4-3).
func TestBOMPreserved(t *testing.T) {
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		wire := hx(t, "30 07 | 00 04 EF BB BF 61 | 78")
		if v == codec.V5 {
			wire = hx(t, "30 08 | 00 04 EF BB BF 61 | 00 | 78")
		}
		p, _, err := codec.Decode(v, wire)
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if topic := p.(*codec.Publish).Topic; topic != "\uFEFFa" {
			t.Errorf("%v: topic %q, want the BOM kept: %q", v, topic, "\uFEFFa")
		}
	}
}
