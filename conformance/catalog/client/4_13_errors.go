package client

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.13 of MQTT 5.0: the client's reaction to malformed packets and protocol errors from
// the server. A client should close the connection, sending a DISCONNECT with the reason code
// first (a SHOULD, so these cases warn). The 5.0 MUSTs for particular packets (DISCONNECT and AUTH
// flags, a DISCONNECT or CONNACK with a failure code) are in 3_14_disconnect.go, 3_15_auth.go
// and 3_2_connack.go; the 3.1.1 cases for the same packets in 4_8_errors.go.

func init() {
	for _, r := range []struct {
		id string
		v  violation
		// codes are the reason codes the client should send (nil: the one the codec derives
		// from decoding the bytes as a client).
		codes []codec.ReasonCode
	}{
		{id: "4.13/publish-qos3", v: publishQoS3},
		{id: "4.13/publish-packet-id-zero", v: publishPacketIDZero},
		{id: "4.13/publish-topic-wildcard", v: publishTopicWildcard},
		{id: "4.13/publish-topic-ill-formed-utf8", v: publishTopicIllFormedUTF8},
		{id: "4.13/publish-topic-nul", v: publishTopicNUL},
		{id: "4.13/remaining-length-five-bytes", v: remainingLengthFiveBytes, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/packet-type-0", v: packetType0, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/second-connack", v: secondConnack, codes: []codec.ReasonCode{codec.ReasonProtocolError}},
		{id: "4.13/connack-reserved-flags", v: connackReservedFlags, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/suback-reserved-flags", v: subackReservedFlags, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/puback-reserved-flags", v: pubackReservedFlags, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/pubrel-reserved-flags", v: pubrelReservedFlags, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/publish-topic-alias-zero", v: violation{what: "a PUBLISH with Topic Alias 0", setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				p := &codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m")}
				p.Properties.SetTopicAlias(0)
				return enc(t, p), "PUBLISH with Topic Alias 0"
			}}, codes: []codec.ReasonCode{codec.ReasonProtocolError, codec.ReasonTopicAliasInvalid}},
		{id: "4.13/publish-topic-alias-unknown", v: violation{what: "a PUBLISH with an empty topic and an alias never set", setup: aliasSubscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				p := &codec.Publish{Topic: "", Payload: []byte("m")}
				p.Properties.SetTopicAlias(1)
				return enc(t, p), "PUBLISH with an empty topic and Topic Alias 1, never set"
			}}, codes: []codec.ReasonCode{codec.ReasonProtocolError}},
		{id: "4.13/publish-topic-alias-above-maximum", v: violation{what: "a PUBLISH with a Topic Alias above the client's Topic Alias Maximum", setup: aliasSubscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				p := &codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m")}
				p.Properties.SetTopicAlias(3)
				return enc(t, p), "PUBLISH with Topic Alias 3; the client allows 2"
			}}, codes: []codec.ReasonCode{codec.ReasonTopicAliasInvalid}},
		{id: "4.13/publish-above-maximum-packet-size", v: violation{what: "a PUBLISH larger than the client's Maximum Packet Size",
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 2, Count: 2, MaximumPacketSize: 256})
				conn, cp := connected(t, "")
				if cp.Properties.MaximumPacketSize != 256 {
					t.Skipf("the client announced no Maximum Packet Size of 256 (got %d)", cp.Properties.MaximumPacketSize)
				}
				subscribed(t, conn, t.Topic("sub"), 2)
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				return enc(t, &codec.Publish{Topic: t.Topic("sub"), Payload: bytes.Repeat([]byte("x"), 300)}), "PUBLISH of about 350 bytes; the client allows 256"
			}}, codes: []codec.ReasonCode{codec.ReasonPacketTooLarge}},
		{id: "4.13/publish-above-receive-maximum", v: violation{what: "a second QoS 2 PUBLISH while the first is unfinished and the client's Receive Maximum is 1",
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 2, Count: 3, ReceiveMaximum: 1})
				conn, cp := connected(t, "")
				if cp.Properties.ReceiveMaximum != 1 {
					t.Skipf("the client announced no Receive Maximum of 1 (got %d)", cp.Properties.ReceiveMaximum)
				}
				subscribed(t, conn, t.Topic("sub"), 2)
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				conn.Send(&codec.Publish{Topic: t.Topic("sub"), Payload: []byte("1"), QoS: 2, PacketID: 1})
				conn.Expect(c.Pubrec(1))
				return enc(t, &codec.Publish{Topic: t.Topic("sub"), Payload: []byte("2"), QoS: 2, PacketID: 2}), "a second QoS 2 PUBLISH before the PUBREL of the first"
			}}, codes: []codec.ReasonCode{codec.ReasonReceiveMaximumExceeded}},
		{id: "4.13/unexpected-auth", v: violation{what: "an AUTH although the client sent no Authentication Method",
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpConnect, Duration: 10 * time.Second})
				conn, _ := connected(t, "")
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
				a.Properties.SetAuthMethod("MQTTSPEC-ECHO")
				return enc(t, a), "AUTH 0x18 to a client without an Authentication Method"
			}}, codes: []codec.ReasonCode{codec.ReasonProtocolError}},
		{id: "4.13/connack-unrequested-auth-method", v: violation{what: "a CONNACK with an Authentication Method the client did not send",
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 1})
				conn, _ := accept(t, "")
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				ack := &codec.Connack{}
				ack.Properties.SetAuthMethod("MQTTSPEC-ECHO")
				return enc(t, ack), "CONNACK with Authentication Method MQTTSPEC-ECHO"
			}}, codes: []codec.ReasonCode{codec.ReasonProtocolError}},
	} {
		catalog.Client(c.Case{
			ID:         r.id,
			Title:      "after " + r.v.what + " the client sends DISCONNECT with the matching reason code and closes",
			Versions:   c.V5,
			Level:      c.Should,
			Statements: []string{"mqttspec-5.0-4.13.1-should-2"},
			Run: func(t *c.T) {
				conn := r.v.setup(t)
				b, desc := r.v.packet(t, conn)
				codes := r.codes
				if len(codes) == 0 {
					codes = []codec.ReasonCode{reasonFor(t, b)}
				}
				conn.SendRaw(b, fmt.Sprintf("%s (a client should answer DISCONNECT %v)", desc, codes))
				conn.ExpectClosed(c.WithDisconnect(codes...))
			},
		})
	}
}
