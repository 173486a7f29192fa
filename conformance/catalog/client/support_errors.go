package client

import (
	"errors"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// The malformed packets and protocol errors sent to clients on both versions: 4_8_errors.go
// (3.1.1) checks that the client closes the connection, 4_13_errors.go (5.0) that it sends the
// DISCONNECT with the reason code first.

// violation is one malformed packet or protocol error sent to the client.
type violation struct {
	what string
	// setup brings the client to the point where the bad packet is sent.
	setup func(t *c.T) *c.Conn
	// packet returns the bytes and a description.
	packet func(t *c.T, conn *c.Conn) ([]byte, string)
}

var publishQoS3 = violation{what: "a PUBLISH with both QoS bits set", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		b := t.Encode(&codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m"), QoS: 1, PacketID: 1}, t.Version)
		b[0] |= 0x06
		return b, "PUBLISH with QoS bits 11"
	}}

var publishPacketIDZero = violation{what: "a QoS 1 PUBLISH with packet identifier 0", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		return t.Encode(&codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m"), QoS: 1}, t.Version), "QoS 1 PUBLISH with packet identifier 0"
	}}

var publishTopicWildcard = violation{what: "a PUBLISH whose topic name contains +", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		return t.Encode(&codec.Publish{Topic: t.Topic("+"), Payload: []byte("m")}, t.Version), "PUBLISH to a topic name with +"
	}}

var publishTopicIllFormedUTF8 = violation{what: "a PUBLISH whose topic name is ill-formed UTF-8", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		return t.Encode(&codec.Publish{Topic: t.Topic("x" + surrogate), Payload: []byte("m")}, t.Version), "PUBLISH with an encoded surrogate in the topic"
	}}

var publishTopicNUL = violation{what: "a PUBLISH whose topic name contains U+0000", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		return t.Encode(&codec.Publish{Topic: t.Topic("x\x00"), Payload: []byte("m")}, t.Version), "PUBLISH with U+0000 in the topic"
	}}

var remainingLengthFiveBytes = violation{what: "a Remaining Length of five bytes", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		return []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, "PUBLISH header with a five-byte Remaining Length"
	}}

var packetType0 = violation{what: "a packet of the reserved type 0", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) { return []byte{0x00, 0x00}, "reserved packet type 0" }}

var secondConnack = violation{what: "a second CONNACK", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		return t.Encode(&codec.Connack{}, t.Version), "a second CONNACK"
	}}

var connackReservedFlags = violation{what: "a CONNACK with a reserved acknowledge flag set",
	setup: func(t *c.T) *c.Conn {
		t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 1})
		conn, _ := accept(t, "")
		return conn
	},
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		b := t.Encode(&codec.Connack{}, t.Version)
		b[2] |= 0x80
		return b, "CONNACK with acknowledge flags 0x80"
	}}

var subackReservedFlags = violation{what: "a SUBACK with a fixed-header flag set",
	setup: func(t *c.T) *c.Conn {
		t.StartClient(c.Action{Op: c.OpSubscribe, Topic: t.Topic("sub"), QoS: 1})
		conn, _ := connected(t, "")
		return conn
	},
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		sub := conn.Expect(c.Type(codec.SUBSCRIBE)).(*codec.Subscribe)
		b := t.Encode(&codec.Suback{PacketID: sub.PacketID, ReasonCodes: []codec.ReasonCode{1}}, t.Version)
		b[0] |= 0x01
		return b, "SUBACK with fixed-header flags 0001"
	}}

// pubackReservedFlags goes to a subscriber, not to the publisher it would acknowledge: a
// publisher that takes a bad PUBACK in its stride has finished its one publication and ends the
// connection normally all the same (with a DISCONNECT), which looks like a reaction. A subscriber
// has nothing to end, so only a client that treats the packet as malformed closes.
var pubackReservedFlags = violation{what: "a PUBACK with a fixed-header flag set", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		b := t.Encode(&codec.Puback{PacketID: 7}, t.Version)
		b[0] |= 0x02
		return b, "PUBACK with fixed-header flags 0010"
	}}

var pubrelReservedFlags = violation{what: "a PUBREL with fixed-header flags 0000", setup: subscriber,
	packet: func(t *c.T, conn *c.Conn) ([]byte, string) {
		conn.Send(&codec.Publish{Topic: t.Topic("sub"), Payload: []byte("m"), QoS: 2, PacketID: 3})
		conn.Expect(c.Pubrec(3))
		b := t.Encode(&codec.Pubrel{PacketID: 3}, t.Version)
		b[0] &^= 0x02
		return b, "PUBREL with fixed-header flags 0000"
	}}

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

// reasonFor is the 5.0 reason code the codec assigns to bytes a client receives.
func reasonFor(t *c.T, b []byte) codec.ReasonCode {
	_, _, err := codec.DecodeWith(codec.Options{Version: codec.V5, Sender: codec.SideServer}, b, nil)
	var ce *codec.Error
	if !errors.As(err, &ce) {
		t.Errorf("the bad packet decodes without a codec error (%v): the case is broken", err)
	}
	return ce.Reason
}
