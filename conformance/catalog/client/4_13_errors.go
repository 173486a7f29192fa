package client

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.13 of MQTT 5.0: the client's reaction to malformed packets and protocol errors from
// the server. A client should close the connection, sending a DISCONNECT with the reason code
// first: SHOULDs, since MQTT 5.0 (unlike 3.1.1's MQTT-4.8.0-1) makes no MUST of a client's
// reaction. Each packet has two cases, so that the verdicts tell a client that ignores the error
// (4.13/x warns, 4.13/x-disconnect skips) from one that closes without the DISCONNECT or with
// another reason code (4.13/x passes, 4.13/x-disconnect warns). The 5.0 MUSTs for particular packets (DISCONNECT and AUTH
// flags, a DISCONNECT or CONNACK with a failure code) are in 3_14_disconnect.go, 3_15_auth.go
// and 3_2_connack.go; the 3.1.1 cases for the same packets in 4_8_errors.go.

func init() {
	for _, r := range []struct {
		// id is the case about the close, dID the one about the DISCONNECT before it.
		id, dID string
		v       violation
		// codes are the reason codes the client should send (nil: the one the codec derives
		// from decoding the bytes as a client).
		codes []codec.ReasonCode
	}{
		{id: "4.13/publish-qos3", dID: "4.13/publish-qos3-disconnect", v: publishQoS3},
		{id: "4.13/publish-packet-id-zero", dID: "4.13/publish-packet-id-zero-disconnect", v: publishPacketIDZero},
		{id: "4.13/publish-topic-wildcard", dID: "4.13/publish-topic-wildcard-disconnect", v: publishTopicWildcard},
		{id: "4.13/publish-topic-ill-formed-utf8", dID: "4.13/publish-topic-ill-formed-utf8-disconnect", v: publishTopicIllFormedUTF8},
		{id: "4.13/publish-topic-nul", dID: "4.13/publish-topic-nul-disconnect", v: publishTopicNUL},
		{id: "4.13/remaining-length-five-bytes", dID: "4.13/remaining-length-five-bytes-disconnect", v: remainingLengthFiveBytes, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/packet-type-0", dID: "4.13/packet-type-0-disconnect", v: packetType0, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/second-connack", dID: "4.13/second-connack-disconnect", v: secondConnack, codes: []codec.ReasonCode{codec.ReasonProtocolError}},
		{id: "4.13/connack-reserved-flags", dID: "4.13/connack-reserved-flags-disconnect", v: connackReservedFlags, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/suback-reserved-flags", dID: "4.13/suback-reserved-flags-disconnect", v: subackReservedFlags, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/puback-reserved-flags", dID: "4.13/puback-reserved-flags-disconnect", v: pubackReservedFlags, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/pubrel-reserved-flags", dID: "4.13/pubrel-reserved-flags-disconnect", v: pubrelReservedFlags, codes: []codec.ReasonCode{codec.ReasonMalformedPacket}},
		{id: "4.13/publish-topic-alias-zero", dID: "4.13/publish-topic-alias-zero-disconnect", v: violation{what: "a PUBLISH with Topic Alias 0", setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				p := &codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m")}
				p.Properties.SetTopicAlias(0)
				return t.Encode(p, t.Version), "PUBLISH with Topic Alias 0"
			}}, codes: []codec.ReasonCode{codec.ReasonProtocolError, codec.ReasonTopicAliasInvalid}},
		{id: "4.13/publish-topic-alias-unknown", dID: "4.13/publish-topic-alias-unknown-disconnect", v: violation{what: "a PUBLISH with an empty topic and an alias never set", setup: aliasSubscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				p := &codec.Publish{Topic: "", Payload: []byte("m")}
				p.Properties.SetTopicAlias(1)
				return t.Encode(p, t.Version), "PUBLISH with an empty topic and Topic Alias 1, never set"
			}}, codes: []codec.ReasonCode{codec.ReasonProtocolError}},
		{id: "4.13/publish-topic-alias-above-maximum", dID: "4.13/publish-topic-alias-above-maximum-disconnect", v: violation{what: "a PUBLISH with a Topic Alias above the client's Topic Alias Maximum", setup: aliasSubscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				p := &codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m")}
				p.Properties.SetTopicAlias(3)
				return t.Encode(p, t.Version), "PUBLISH with Topic Alias 3; the client allows 2"
			}}, codes: []codec.ReasonCode{codec.ReasonTopicAliasInvalid}},
		{id: "4.13/publish-above-maximum-packet-size", dID: "4.13/publish-above-maximum-packet-size-disconnect", v: violation{what: "a PUBLISH larger than the client's Maximum Packet Size",
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
				return t.Encode(&codec.Publish{Topic: t.Topic("sub"), Payload: bytes.Repeat([]byte("x"), 300)}, t.Version), "PUBLISH of about 350 bytes; the client allows 256"
			}}, codes: []codec.ReasonCode{codec.ReasonPacketTooLarge}},
		{id: "4.13/publish-above-receive-maximum", dID: "4.13/publish-above-receive-maximum-disconnect", v: violation{what: "a second QoS 2 PUBLISH while the first is unfinished and the client's Receive Maximum is 1",
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
				return t.Encode(&codec.Publish{Topic: t.Topic("sub"), Payload: []byte("2"), QoS: 2, PacketID: 2}, t.Version), "a second QoS 2 PUBLISH before the PUBREL of the first"
			}}, codes: []codec.ReasonCode{codec.ReasonReceiveMaximumExceeded}},
		{id: "4.13/unexpected-auth", dID: "4.13/unexpected-auth-disconnect", v: violation{what: "an AUTH although the client sent no Authentication Method",
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpConnect, Duration: 10 * time.Second})
				conn, _ := connected(t, "")
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
				a.Properties.SetAuthMethod("MQTTSPEC-ECHO")
				return t.Encode(a, t.Version), "AUTH 0x18 to a client without an Authentication Method"
			}}, codes: []codec.ReasonCode{codec.ReasonProtocolError}},
		{id: "4.13/connack-unrequested-auth-method", dID: "4.13/connack-unrequested-auth-method-disconnect", v: violation{what: "a CONNACK with an Authentication Method the client did not send",
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 1})
				conn, _ := accept(t, "")
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				ack := &codec.Connack{}
				ack.Properties.SetAuthMethod("MQTTSPEC-ECHO")
				return t.Encode(ack, t.Version), "CONNACK with Authentication Method MQTTSPEC-ECHO"
			}}, codes: []codec.ReasonCode{codec.ReasonProtocolError}},
	} {
		catalog.Client(c.Case{
			ID:         r.id,
			Title:      "after " + r.v.what + " the client closes the connection",
			Versions:   c.V5,
			Level:      c.Should,
			Statements: []string{"mqttspec-5.0-4.13.1-should-2"},
			Run: func(t *c.T) {
				conn := r.v.setup(t)
				b, desc := r.v.packet(t, conn)
				conn.SendRaw(b, desc+" (a client should close the connection)")
				// Which DISCONNECT comes first is r.dID's business.
				closes(t, conn)
			},
		})
		catalog.Client(c.Case{
			ID:         r.dID,
			Title:      "closing after " + r.v.what + ", the client first sends DISCONNECT with the matching reason code",
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
				disconnectsWith(t, conn, r.id, codes)
			},
		})
	}
}

// disconnectsWith judges how a client that treats the bad packet as an error ends the
// connection: a DISCONNECT with one of codes, then the close. A close without DISCONNECT, or a
// DISCONNECT with another code, breaks the SHOULD; a client that carries on (another packet, or
// nothing within the step timeout) did not treat it as an error at all, which closeCase judges:
// this case is skipped, since there is no reaction to judge.
func disconnectsWith(t *c.T, conn *c.Conn, closeCase string, codes []codec.ReasonCode) {
	want := "DISCONNECT " + fmt.Sprint(codes) + ", then the close"
	p, malformed, closed := conn.NextRaw(t.Timeouts.Step)
	switch {
	case malformed != nil:
		t.Skipf("the client carried on, answering with a packet the codec rejects (%v), instead of treating the packet as an error (judged by %s)", malformed, closeCase)
	case closed:
		t.Failf(want, "closed without DISCONNECT", "[%s] the client closed the connection without a DISCONNECT %v", conn.Label, codes)
	case p == nil:
		t.Skipf("the client neither closed nor sent DISCONNECT within %v: it did not treat the packet as an error (judged by %s)", t.Timeouts.Step, closeCase)
	case p.Type() != codec.DISCONNECT:
		t.Skipf("the client carried on (%s) instead of treating the packet as an error (judged by %s)", p, closeCase)
	}
	d := p.(*codec.Disconnect)
	if !slices.Contains(codes, d.ReasonCode) {
		t.Failf(want, d.String(), "[%s] DISCONNECT reason %s; expected one of %v", conn.Label, d.ReasonCode, codes)
	}
	conn.ExpectClosed()
}
