package client

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// Sections 4.8 (3.1.1) and 4.13 (5.0): the client's reaction to malformed packets and protocol
// errors from the server. 3.1.1 requires the receiver of a protocol violation to close the
// connection (MQTT-4.8.0-1), without a DISCONNECT, which would be a normal end; 5.0 says a client
// should close, sending a DISCONNECT with the reason code first (a SHOULD, so the 5.0 cases
// warn). The 5.0 MUSTs for particular packets (DISCONNECT and AUTH flags, a DISCONNECT or
// CONNACK with a failure code) are in 3_14_disconnect.go, 3_15_auth.go and 3_2_connack.go.

// violation is one malformed packet or protocol error sent to the client.
type violation struct {
	id, what string
	// versions the violation exists in; s311 are the 3.1.1 statements (MQTT-4.8.0-1 is added).
	versions c.Versions
	s311     []string
	// setup brings the client to the point where the bad packet is sent.
	setup func(t *c.T) *c.Conn
	// packet returns the bytes and a description; code is the 5.0 reason code the client
	// should send (0: the one the codec derives from decoding the bytes as a client).
	packet func(t *c.T, conn *c.Conn) ([]byte, string)
	codes  []codec.ReasonCode
}

func init() {
	for _, v := range []violation{
		{id: "publish-qos3", what: "a PUBLISH with both QoS bits set", versions: c.Both, s311: ids("MQTT-3.3.1-4"), setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				b := enc(t, &codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m"), QoS: 1, PacketID: 1})
				b[0] |= 0x06
				return b, "PUBLISH with QoS bits 11"
			}},
		{id: "publish-packet-id-zero", what: "a QoS 1 PUBLISH with packet identifier 0", versions: c.Both, s311: ids("MQTT-2.3.1-1"), setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				return enc(t, &codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m"), QoS: 1}), "QoS 1 PUBLISH with packet identifier 0"
			}},
		{id: "publish-topic-wildcard", what: "a PUBLISH whose topic name contains +", versions: c.Both, s311: ids("MQTT-3.3.2-2"), setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				return enc(t, &codec.Publish{Topic: t.Topic("+"), Payload: []byte("m")}), "PUBLISH to a topic name with +"
			}},
		{id: "publish-topic-ill-formed-utf8", what: "a PUBLISH whose topic name is ill-formed UTF-8", versions: c.Both, s311: ids("MQTT-1.5.3-1"), setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				return enc(t, &codec.Publish{Topic: t.Topic("x" + surrogate), Payload: []byte("m")}), "PUBLISH with an encoded surrogate in the topic"
			}},
		{id: "publish-topic-nul", what: "a PUBLISH whose topic name contains U+0000", versions: c.Both, s311: ids("MQTT-1.5.3-2"), setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				return enc(t, &codec.Publish{Topic: t.Topic("x\x00"), Payload: []byte("m")}), "PUBLISH with U+0000 in the topic"
			}},
		{id: "remaining-length-five-bytes", what: "a Remaining Length of five bytes", versions: c.Both, setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				return []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, "PUBLISH header with a five-byte Remaining Length"
			}, codes: rcs(codec.ReasonMalformedPacket)},
		{id: "packet-type-0", what: "a packet of the reserved type 0", versions: c.Both, setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) { return []byte{0x00, 0x00}, "reserved packet type 0" },
			codes:  rcs(codec.ReasonMalformedPacket)},
		{id: "second-connack", what: "a second CONNACK", versions: c.Both, setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				return enc(t, &codec.Connack{}), "a second CONNACK"
			}, codes: rcs(codec.ReasonProtocolError)},
		{id: "connack-reserved-flags", what: "a CONNACK with a reserved acknowledge flag set", versions: c.Both,
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 1})
				conn, _ := accept(t, "")
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				b := enc(t, &codec.Connack{})
				b[2] |= 0x80
				return b, "CONNACK with acknowledge flags 0x80"
			}, codes: rcs(codec.ReasonMalformedPacket)},
		{id: "suback-reserved-flags", what: "a SUBACK with a fixed-header flag set", versions: c.Both, s311: ids("MQTT-2.2.2-2"),
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 1})
				conn, _ := connected(t, "")
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				sub := conn.Expect(c.Type(codec.SUBSCRIBE)).(*codec.Subscribe)
				b := enc(t, &codec.Suback{PacketID: sub.PacketID, ReasonCodes: []codec.ReasonCode{1}})
				b[0] |= 0x01
				return b, "SUBACK with fixed-header flags 0001"
			}, codes: rcs(codec.ReasonMalformedPacket)},
		{id: "puback-reserved-flags", what: "a PUBACK with a fixed-header flag set", versions: c.Both, s311: ids("MQTT-2.2.2-2"),
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpPublish, Topic: t.Topic("pub"), Message: []byte("m"), QoS: 1})
				conn, _ := connected(t, "")
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				pub := conn.ExpectPublish(c.Publish(t.Topic("pub"), []byte("m"), 1))
				b := enc(t, &codec.Puback{PacketID: pub.PacketID})
				b[0] |= 0x02
				return b, "PUBACK with fixed-header flags 0010"
			}, codes: rcs(codec.ReasonMalformedPacket)},
		{id: "pubrel-reserved-flags", what: "a PUBREL with fixed-header flags 0000", versions: c.Both, s311: ids("MQTT-3.6.1-1", "MQTT-2.2.2-2"), setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				conn.Send(&codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m"), QoS: 2, PacketID: 3})
				conn.Expect(c.Pubrec(3))
				b := enc(t, &codec.Pubrel{PacketID: 3})
				b[0] &^= 0x02
				return b, "PUBREL with fixed-header flags 0000"
			}, codes: rcs(codec.ReasonMalformedPacket)},
		{id: "publish-topic-alias-zero", what: "a PUBLISH with Topic Alias 0", versions: c.V5, setup: subscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				p := &codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m")}
				p.Properties.SetTopicAlias(0)
				return enc(t, p), "PUBLISH with Topic Alias 0"
			}, codes: rcs(codec.ReasonProtocolError, codec.ReasonTopicAliasInvalid)},
		{id: "publish-topic-alias-unknown", what: "a PUBLISH with an empty topic and an alias never set", versions: c.V5, setup: aliasSubscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				p := &codec.Publish{Topic: "", Payload: []byte("m")}
				p.Properties.SetTopicAlias(1)
				return enc(t, p), "PUBLISH with an empty topic and Topic Alias 1, never set"
			}, codes: rcs(codec.ReasonProtocolError)},
		{id: "publish-topic-alias-above-maximum", what: "a PUBLISH with a Topic Alias above the client's Topic Alias Maximum", versions: c.V5, setup: aliasSubscriber,
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				p := &codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m")}
				p.Properties.SetTopicAlias(3)
				return enc(t, p), "PUBLISH with Topic Alias 3; the client allows 2"
			}, codes: rcs(codec.ReasonTopicAliasInvalid)},
		{id: "publish-above-maximum-packet-size", what: "a PUBLISH larger than the client's Maximum Packet Size", versions: c.V5,
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
			}, codes: rcs(codec.ReasonPacketTooLarge)},
		{id: "publish-above-receive-maximum", what: "a second QoS 2 PUBLISH while the first is unfinished and the client's Receive Maximum is 1", versions: c.V5,
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
			}, codes: rcs(codec.ReasonReceiveMaximumExceeded)},
		{id: "unexpected-auth", what: "an AUTH although the client sent no Authentication Method", versions: c.V5,
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpConnect, Duration: 10 * time.Second})
				conn, _ := connected(t, "")
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
				a.Properties.SetAuthMethod("MQTTSPEC-ECHO")
				return enc(t, a), "AUTH 0x18 to a client without an Authentication Method"
			}, codes: rcs(codec.ReasonProtocolError)},
		{id: "connack-unrequested-auth-method", what: "a CONNACK with an Authentication Method the client did not send", versions: c.V5,
			setup: func(t *c.T) *c.Conn {
				t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 1})
				conn, _ := accept(t, "")
				return conn
			},
			packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
				ack := &codec.Connack{}
				ack.Properties.SetAuthMethod("MQTTSPEC-ECHO")
				return enc(t, ack), "CONNACK with Authentication Method MQTTSPEC-ECHO"
			}, codes: rcs(codec.ReasonProtocolError)},
	} {
		if v.versions.Has(codec.V311) {
			catalog311(v)
		}
		if v.versions.Has(codec.V5) {
			catalog5(v)
		}
	}
}

func catalog311(v violation) {
	register(c.Case{
		ID:       "4.8/" + v.id,
		Title:    "after " + v.what + " the client closes the connection",
		Versions: c.V311,
		Level:    c.Must,
		Run: func(t *c.T) {
			conn := v.setup(t)
			b, desc := v.packet(t, conn)
			conn.SendRaw(b, desc)
			conn.ExpectErrorClose()
		},
	}, append(ids("MQTT-4.8.0-1"), v.s311...), nil)
}

func catalog5(v violation) {
	register(c.Case{
		ID:       "4.13/" + v.id,
		Title:    "after " + v.what + " the client sends DISCONNECT with the matching reason code and closes",
		Versions: c.V5,
		Level:    c.Should,
		Run: func(t *c.T) {
			conn := v.setup(t)
			b, desc := v.packet(t, conn)
			codes := v.codes
			if len(codes) == 0 {
				codes = rcs(reasonFor(t, b))
			}
			conn.SendRaw(b, fmt.Sprintf("%s (a client should answer DISCONNECT %v)", desc, codes))
			conn.ExpectClosed(c.WithDisconnect(codes...))
		},
	}, nil, ids("mqttspec-5.0-4.13.1-should-2"))
}

// subscriber starts the client as a QoS 2 subscriber waiting for two messages and grants its
// subscription: the client is connected and idle.
func subscriber(t *c.T) *c.Conn {
	t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 2, Count: 2})
	conn, _ := connected(t, "")
	subscribed(t, conn, t.Topic("sub"), 2)
	return conn
}

// aliasSubscriber is subscriber with a Topic Alias Maximum of 2 announced by the client.
func aliasSubscriber(t *c.T) *c.Conn {
	t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 2, Count: 2, TopicAliasMaximum: 2})
	conn, cp := connected(t, "")
	if cp.Properties.TopicAliasMaximum != 2 {
		t.Skipf("the client announced no Topic Alias Maximum of 2 (got %d)", cp.Properties.TopicAliasMaximum)
	}
	subscribed(t, conn, t.Topic("sub"), 2)
	return conn
}

func enc(t *c.T, p codec.Packet) []byte {
	b, err := codec.Encode(p, t.Version)
	if err != nil {
		t.Errorf("encode %v: %v", p.Type(), err)
	}
	return b
}

// reasonFor is the 5.0 reason code the codec assigns to bytes a client receives.
func reasonFor(t *c.T, b []byte) codec.ReasonCode {
	_, _, err := codec.DecodeWith(codec.Options{Version: codec.V5, Sender: codec.SideServer}, b, nil)
	var ce *codec.Error
	if !errors.As(err, &ce) {
		t.Errorf("the bad packet decodes without a codec error (%v): the case is broken", err)
	}
	return ce.Reason
}

func rcs(codes ...codec.ReasonCode) []codec.ReasonCode { return codes }
