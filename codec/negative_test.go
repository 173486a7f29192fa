package codec_test

import (
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// negCase is one input that breaks one rule. The expected statement ID is written out per
// version (not looked up from codec.Rules), so a wrong ID in the codec fails here.
type negCase struct {
	name  string
	v     codec.Version
	wire  string       // hex, or
	pkt   codec.Packet // a packet the permissive encoder writes for v
	side  codec.Side
	max   int // MaxPacketSize
	rule  string
	stmt  string
	class error // ErrMalformed, ErrProtocol or ErrPacketTooLarge
	fatal bool  // lenient mode cannot step over it either
}

func (c negCase) bytes(t testing.TB) []byte {
	if c.pkt != nil {
		return mustEncode(t, c.pkt, c.v)
	}
	return hx(t, c.wire)
}

var (
	v311 = codec.V311
	v5   = codec.V5
	mal  = codec.ErrMalformed
	pro  = codec.ErrProtocol
)

func pubWithProps(f func(p *codec.Properties)) *codec.Publish {
	p := &codec.Publish{Topic: "t", Payload: []byte("x")}
	f(&p.Properties)
	return p
}

func connectWith(v codec.Version, f func(c *codec.Connect)) *codec.Connect {
	c := connectFor(v)
	f(c)
	return c
}

func connackWithProps(f func(p *codec.Properties)) *codec.Connack {
	c := &codec.Connack{}
	f(&c.Properties)
	return c
}

func sub(v codec.Version, subs ...codec.Subscription) *codec.Subscribe {
	return &codec.Subscribe{PacketID: 1, Subscriptions: subs}
}

func negativeCases() []negCase {
	cs := []negCase{
		// Fixed header flags of every type with fixed flags (2.2.2 / 2.1.3).
		{name: "CONNECT flags 0001", v: v311, wire: "11 0C 00 04 4D 51 54 54 04 02 00 3C 00 00", rule: "reserved-flags", stmt: "MQTT-2.2.2-2", class: mal},
		{name: "CONNECT flags 0001", v: v5, wire: "11 0D 00 04 4D 51 54 54 05 02 00 3C 00 00 00", rule: "reserved-flags", stmt: "MQTT-2.1.3-1", class: mal},
		{name: "CONNACK flags 0001", v: v311, wire: "21 02 00 00", rule: "reserved-flags", stmt: "MQTT-2.2.2-2", class: mal},
		{name: "CONNACK flags 0001", v: v5, wire: "21 03 00 00 00", rule: "reserved-flags", stmt: "MQTT-2.1.3-1", class: mal},
		{name: "PUBACK flags 0001", v: v311, wire: "41 02 00 01", rule: "reserved-flags", stmt: "MQTT-2.2.2-2", class: mal},
		{name: "PUBACK flags 0010", v: v5, wire: "42 02 00 01", rule: "reserved-flags", stmt: "MQTT-2.1.3-1", class: mal},
		{name: "PUBREC flags 1000", v: v311, wire: "58 02 00 01", rule: "reserved-flags", stmt: "MQTT-2.2.2-2", class: mal},
		{name: "PUBCOMP flags 0010", v: v5, wire: "72 02 00 01", rule: "reserved-flags", stmt: "MQTT-2.1.3-1", class: mal},
		{name: "SUBACK flags 0010", v: v311, wire: "92 03 00 01 00", rule: "reserved-flags", stmt: "MQTT-2.2.2-2", class: mal},
		{name: "UNSUBACK flags 0100", v: v5, wire: "B4 04 00 01 00 00", rule: "reserved-flags", stmt: "MQTT-2.1.3-1", class: mal},
		{name: "PINGREQ flags 0001", v: v311, wire: "C1 00", rule: "reserved-flags", stmt: "MQTT-2.2.2-2", class: mal},
		{name: "PINGRESP flags 1000", v: v5, wire: "D8 00", rule: "reserved-flags", stmt: "MQTT-2.1.3-1", class: mal},
		{name: "PUBREL flags 0000", v: v311, wire: "60 02 00 01", rule: "pubrel-flags", stmt: "MQTT-3.6.1-1", class: mal},
		{name: "PUBREL flags 0011", v: v5, wire: "63 02 00 01", rule: "pubrel-flags", stmt: "MQTT-3.6.1-1", class: mal},
		{name: "SUBSCRIBE flags 0000", v: v311, wire: "80 08 00 01 00 03 61 2F 62 00", rule: "subscribe-flags", stmt: "MQTT-3.8.1-1", class: mal},
		{name: "SUBSCRIBE flags 1010", v: v311, wire: "8A 08 00 01 00 03 61 2F 62 00", rule: "subscribe-flags", stmt: "MQTT-3.8.1-1", class: mal},
		{name: "SUBSCRIBE flags 0000", v: v5, wire: "80 09 00 01 00 00 03 61 2F 62 00", rule: "subscribe-flags", stmt: "MQTT-3.8.1-1", class: mal},
		{name: "UNSUBSCRIBE flags 0000", v: v311, wire: "A0 07 00 01 00 03 61 2F 62", rule: "unsubscribe-flags", stmt: "MQTT-3.10.1-1", class: mal},
		{name: "UNSUBSCRIBE flags 0110", v: v5, wire: "A6 08 00 01 00 00 03 61 2F 62", rule: "unsubscribe-flags", stmt: "MQTT-3.10.1-1", class: mal},
		{name: "DISCONNECT flags 0010", v: v311, wire: "E2 00", rule: "disconnect-flags", stmt: "MQTT-3.14.1-1", class: mal},
		{name: "DISCONNECT flags 0001", v: v5, wire: "E1 00", rule: "disconnect-flags", stmt: "MQTT-3.14.1-1", class: mal},
		{name: "AUTH flags 0001", v: v5, wire: "F1 00", rule: "auth-flags", stmt: "MQTT-3.15.1-1", class: mal},

		// PUBLISH header.
		{name: "PUBLISH QoS 3", v: v311, wire: "36 07 00 03 61 2F 62 00 01", rule: "publish-qos3", stmt: "MQTT-3.3.1-4", class: mal},
		{name: "PUBLISH QoS 3", v: v5, wire: "36 08 00 03 61 2F 62 00 01 00", rule: "publish-qos3", stmt: "MQTT-3.3.1-4", class: mal},
		{name: "PUBLISH DUP on QoS 0", v: v311, wire: "38 05 00 03 61 2F 62", rule: "publish-dup-qos0", stmt: "MQTT-3.3.1-2", class: mal},
		{name: "PUBLISH DUP on QoS 0", v: v5, wire: "38 06 00 03 61 2F 62 00", rule: "publish-dup-qos0", stmt: "MQTT-3.3.1-2", class: mal},

		// Variable byte integers.
		{name: "remaining length of five bytes", v: v311, wire: "30 FF FF FF FF 01", rule: "varint-too-long", stmt: "", class: mal, fatal: true},
		{name: "remaining length of five bytes", v: v5, wire: "30 FF FF FF FF 01", rule: "varint-too-long", stmt: "", class: mal, fatal: true},
		{name: "property length of five bytes", v: v5, wire: "30 07 00 01 74 FF FF FF FF", rule: "varint-too-long", stmt: "", class: mal, fatal: true},
		{name: "remaining length 0 in two bytes", v: v311, wire: "C0 80 00", rule: "varint-non-minimal", stmt: "", class: mal},
		{name: "remaining length 0 in two bytes", v: v5, wire: "C0 80 00", rule: "varint-non-minimal", stmt: "MQTT-1.5.5-1", class: mal},
		{name: "remaining length 2 in three bytes", v: v5, wire: "40 82 80 00 00 01", rule: "varint-non-minimal", stmt: "MQTT-1.5.5-1", class: mal},
		{name: "Subscription Identifier 1 in two bytes", v: v5, wire: "30 08 00 01 74 03 0B 81 00 78", rule: "varint-non-minimal", stmt: "MQTT-1.5.5-1", class: mal},

		// Packet types.
		{name: "packet type 0", v: v311, wire: "00 00", rule: "packet-type-reserved", stmt: "", class: mal, fatal: true},
		{name: "packet type 0", v: v5, wire: "00 00", rule: "packet-type-reserved", stmt: "", class: mal, fatal: true},
		{name: "AUTH in 3.1.1", v: v311, wire: "F0 00", rule: "packet-needs-v5", stmt: "", class: mal, fatal: true},
		{name: "AUTH in 3.1", v: codec.V31, wire: "F0 00", rule: "packet-needs-v5", stmt: "", class: mal, fatal: true},

		// Packet identifiers.
		{name: "PUBLISH QoS 1 id 0", v: v311, wire: "32 07 00 03 61 2F 62 00 00", rule: "packet-id-zero", stmt: "MQTT-2.3.1-1", class: pro},
		{name: "PUBLISH QoS 2 id 0", v: v5, wire: "34 08 00 03 61 2F 62 00 00 00", rule: "packet-id-zero", stmt: "MQTT-2.2.1-3", class: pro},
		{name: "server PUBLISH QoS 1 id 0", v: v5, side: codec.SideServer, wire: "32 08 00 03 61 2F 62 00 00 00", rule: "packet-id-zero-server", stmt: "MQTT-2.2.1-4", class: pro},
		{name: "server PUBLISH QoS 1 id 0", v: v311, side: codec.SideServer, wire: "32 07 00 03 61 2F 62 00 00", rule: "packet-id-zero-server", stmt: "MQTT-2.3.1-1", class: pro},
		{name: "SUBSCRIBE id 0", v: v311, wire: "82 08 00 00 00 03 61 2F 62 00", rule: "packet-id-zero", stmt: "MQTT-2.3.1-1", class: pro},
		{name: "UNSUBSCRIBE id 0", v: v5, wire: "A2 08 00 00 00 00 03 61 2F 62", rule: "packet-id-zero", stmt: "MQTT-2.2.1-3", class: pro},
		{name: "PUBACK id 0", v: v311, wire: "40 02 00 00", rule: "ack-packet-id-zero", stmt: "MQTT-2.3.1-6", class: pro},
		{name: "PUBREC id 0", v: v5, wire: "50 02 00 00", rule: "ack-packet-id-zero", stmt: "MQTT-2.2.1-5", class: pro},
		{name: "PUBREL id 0", v: v5, wire: "62 02 00 00", rule: "ack-packet-id-zero", stmt: "MQTT-2.2.1-5", class: pro},
		{name: "PUBCOMP id 0", v: v311, wire: "70 02 00 00", rule: "ack-packet-id-zero", stmt: "MQTT-2.3.1-6", class: pro},
		{name: "SUBACK id 0", v: v311, wire: "90 03 00 00 00", rule: "suback-packet-id-zero", stmt: "MQTT-2.3.1-7", class: pro},
		{name: "UNSUBACK id 0", v: v5, wire: "B0 04 00 00 00 00", rule: "suback-packet-id-zero", stmt: "MQTT-2.2.1-6", class: pro},

		// UTF-8 strings.
		{name: "topic C3 28 ill-formed", v: v311, wire: "30 04 00 02 C3 28", rule: "utf8-invalid", stmt: "MQTT-1.5.3-1", class: mal},
		{name: "topic C3 28 ill-formed", v: v5, wire: "30 05 00 02 C3 28 00", rule: "utf8-invalid", stmt: "MQTT-1.5.4-1", class: mal},
		{name: "topic surrogate ED A0 80", v: v311, wire: "30 05 00 03 ED A0 80", rule: "utf8-invalid", stmt: "MQTT-1.5.3-1", class: mal},
		{name: "topic surrogate ED A0 80", v: v5, wire: "30 06 00 03 ED A0 80 00", rule: "utf8-invalid", stmt: "MQTT-1.5.4-1", class: mal},
		{name: "topic overlong C0 80", v: v311, wire: "30 04 00 02 C0 80", rule: "utf8-invalid", stmt: "MQTT-1.5.3-1", class: mal},
		{name: "topic truncated sequence E2 82", v: v5, wire: "30 06 00 03 61 E2 82 00", rule: "utf8-invalid", stmt: "MQTT-1.5.4-1", class: mal},
		{name: "client identifier FF", v: v311, pkt: connectWith(v311, func(c *codec.Connect) { c.ClientID = "a\xff" }), rule: "utf8-invalid", stmt: "MQTT-1.5.3-1", class: mal},
		{name: "user name surrogate", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.UsernameFlag, c.Username = true, "\xed\xbf\xbf" }), rule: "utf8-invalid", stmt: "MQTT-1.5.4-1", class: mal},
		{name: "Content Type ill-formed", v: v5, pkt: pubWithProps(func(p *codec.Properties) { p.SetContentType("\x80") }), rule: "utf8-invalid", stmt: "MQTT-1.5.4-1", class: mal},
		{name: "User Property value ill-formed", v: v5, pkt: pubWithProps(func(p *codec.Properties) { p.AddUser("k", "\xc3") }), rule: "utf8-invalid", stmt: "MQTT-1.5.4-1", class: mal},
		{name: "topic with U+0000", v: v311, wire: "30 05 00 03 61 00 62", rule: "utf8-null", stmt: "MQTT-1.5.3-2", class: mal},
		{name: "topic with U+0000", v: v5, wire: "30 06 00 03 61 00 62 00", rule: "utf8-null", stmt: "MQTT-1.5.4-2", class: mal},
		{name: "topic with U+0000 after multi-byte", v: v5, wire: "30 07 00 04 C3 A9 00 62 00", rule: "utf8-null", stmt: "MQTT-1.5.4-2", class: mal},
		{name: "User Property name with U+0000", v: v5, pkt: pubWithProps(func(p *codec.Properties) { p.AddUser("a\x00", "v") }), rule: "utf8-null", stmt: "MQTT-1.5.4-2", class: mal},

		// Topic names and filters.
		{name: "topic name a/+", v: v311, wire: "30 05 00 03 61 2F 2B", rule: "topic-name-wildcard", stmt: "MQTT-3.3.2-2", class: mal},
		{name: "topic name a/#", v: v5, wire: "30 06 00 03 61 2F 23 00", rule: "topic-name-wildcard", stmt: "MQTT-3.3.2-2", class: mal},
		{name: "will topic with +", v: v311, pkt: connectWith(v311, func(c *codec.Connect) { c.WillFlag, c.Will.Topic = true, "w/+" }), rule: "will-topic-wildcard", stmt: "MQTT-4.7.1-1", class: mal},
		{name: "will topic with #", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.WillFlag, c.Will.Topic = true, "#" }), rule: "will-topic-wildcard", stmt: "MQTT-4.7.0-1", class: mal},
		{name: "empty topic name", v: v311, wire: "30 02 00 00", rule: "topic-empty", stmt: "MQTT-4.7.3-1", class: pro},
		{name: "empty will topic", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.WillFlag = true }), rule: "topic-empty", stmt: "MQTT-4.7.3-1", class: pro},
		{name: "empty topic filter", v: v311, wire: "82 05 00 01 00 00 00", rule: "topic-empty", stmt: "MQTT-4.7.3-1", class: pro},
		{name: "empty topic filter", v: v5, wire: "82 06 00 01 00 00 00 00", rule: "topic-empty", stmt: "MQTT-4.7.3-1", class: pro},
		{name: "empty UNSUBSCRIBE filter", v: v311, wire: "A2 04 00 01 00 00", rule: "topic-empty", stmt: "MQTT-4.7.3-1", class: pro},
		{name: "empty topic name without Topic Alias", v: v5, wire: "30 03 00 00 00", rule: "topic-empty-no-alias", stmt: "", class: pro},
		{name: "filter a/#/b", v: v311, pkt: sub(v311, codec.Subscription{Filter: "a/#/b"}), rule: "filter-hash", stmt: "MQTT-4.7.1-2", class: pro},
		{name: "filter a#", v: v5, pkt: sub(v5, codec.Subscription{Filter: "a#"}), rule: "filter-hash", stmt: "MQTT-4.7.1-1", class: pro},
		{name: "filter #/a", v: v5, pkt: sub(v5, codec.Subscription{Filter: "#/a"}), rule: "filter-hash", stmt: "MQTT-4.7.1-1", class: pro},
		{name: "UNSUBSCRIBE filter a/b#", v: v311, pkt: &codec.Unsubscribe{PacketID: 1, Filters: []string{"a/b#"}}, rule: "filter-hash", stmt: "MQTT-4.7.1-2", class: pro},
		{name: "filter a+", v: v311, pkt: sub(v311, codec.Subscription{Filter: "a+"}), rule: "filter-plus", stmt: "MQTT-4.7.1-3", class: pro},
		{name: "filter +a/b", v: v5, pkt: sub(v5, codec.Subscription{Filter: "+a/b"}), rule: "filter-plus", stmt: "MQTT-4.7.1-2", class: pro},
		{name: "filter a/++", v: v5, pkt: &codec.Unsubscribe{PacketID: 1, Filters: []string{"a/++"}}, rule: "filter-plus", stmt: "MQTT-4.7.1-2", class: pro},
		{name: "shared filter without / after the name", v: v5, pkt: sub(v5, codec.Subscription{Filter: "$share/g"}), rule: "shared-filter-invalid", stmt: "MQTT-4.8.2-2", class: pro},
		{name: "shared filter name with +", v: v5, pkt: sub(v5, codec.Subscription{Filter: "$share/g+/a"}), rule: "shared-filter-invalid", stmt: "MQTT-4.8.2-2", class: pro},
		{name: "shared filter name with #", v: v5, pkt: sub(v5, codec.Subscription{Filter: "$share/#/a"}), rule: "shared-filter-invalid", stmt: "MQTT-4.8.2-2", class: pro},
		{name: "shared filter without a filter", v: v5, pkt: sub(v5, codec.Subscription{Filter: "$share/g/"}), rule: "shared-filter-invalid", stmt: "MQTT-4.8.2-2", class: pro},
		{name: "shared filter with a bad filter", v: v5, pkt: sub(v5, codec.Subscription{Filter: "$share/g/a#"}), rule: "filter-hash", stmt: "MQTT-4.7.1-1", class: pro},
		{name: "shared filter with an empty name", v: v5, pkt: sub(v5, codec.Subscription{Filter: "$share//a"}), rule: "shared-name-empty", stmt: "MQTT-4.8.2-1", class: pro},
		{name: "No Local on a shared subscription", v: v5, pkt: sub(v5, codec.Subscription{Filter: "$share/g/a", NoLocal: true}), rule: "shared-no-local", stmt: "MQTT-3.8.3-4", class: pro},

		// SUBSCRIBE / UNSUBSCRIBE payloads.
		{name: "SUBSCRIBE without filters", v: v311, wire: "82 02 00 01", rule: "subscribe-empty", stmt: "MQTT-3.8.3-3", class: pro},
		{name: "SUBSCRIBE without filters", v: v5, wire: "82 03 00 01 00", rule: "subscribe-empty", stmt: "MQTT-3.8.3-2", class: pro},
		{name: "options reserved bit 2", v: v311, pkt: sub(v311, codec.Subscription{Filter: "a", ReservedBits: 1}), rule: "subscribe-options-reserved", stmt: "MQTT-3.8.3-4", class: mal},
		{name: "options reserved bits 7-6", v: v5, pkt: sub(v5, codec.Subscription{Filter: "a", ReservedBits: 2}), rule: "subscribe-options-reserved", stmt: "MQTT-3.8.3-5", class: mal},
		{name: "requested QoS 3", v: v311, pkt: sub(v311, codec.Subscription{Filter: "a", QoS: 3}), rule: "subscribe-qos3", stmt: "MQTT-3.8.3-4", class: pro},
		{name: "requested QoS 3", v: v5, pkt: sub(v5, codec.Subscription{Filter: "a", QoS: 3}), rule: "subscribe-qos3", stmt: "", class: pro},
		{name: "Retain Handling 3", v: v5, pkt: sub(v5, codec.Subscription{Filter: "a", RetainHandling: 3}), rule: "retain-handling-3", stmt: "", class: pro},
		{name: "UNSUBSCRIBE without filters", v: v311, wire: "A2 02 00 01", rule: "unsubscribe-empty", stmt: "MQTT-3.10.3-2", class: pro},
		{name: "UNSUBSCRIBE without filters", v: v5, wire: "A2 03 00 01 00", rule: "unsubscribe-empty", stmt: "MQTT-3.10.3-2", class: pro},

		// CONNECT.
		{name: "protocol name MQTX", v: v311, pkt: connectWith(v311, func(c *codec.Connect) { c.ProtocolName = "MQTX" }), rule: "connect-protocol-name", stmt: "MQTT-3.1.2-1", class: pro},
		{name: "protocol name mqtt", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.ProtocolName = "mqtt" }), rule: "connect-protocol-name", stmt: "MQTT-3.1.2-1", class: pro},
		{name: "protocol name MQTT at level 3", v: codec.V31, pkt: connectWith(codec.V31, func(c *codec.Connect) { c.ProtocolName = "MQTT" }), rule: "connect-protocol-name", stmt: "MQTT-3.1.2-1", class: pro},
		{name: "protocol level 6", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.ProtocolLevel = 6 }), rule: "connect-protocol-level", stmt: "MQTT-3.1.2-2", class: pro},
		{name: "protocol level 2", v: v311, pkt: connectWith(v311, func(c *codec.Connect) { c.ProtocolLevel = 2 }), rule: "connect-protocol-level", stmt: "MQTT-3.1.2-2", class: pro},
		{name: "reserved connect flag", v: v311, pkt: connectWith(v311, func(c *codec.Connect) { c.ReservedFlag = true }), rule: "connect-reserved-flag", stmt: "MQTT-3.1.2-3", class: mal},
		{name: "reserved connect flag", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.ReservedFlag = true }), rule: "connect-reserved-flag", stmt: "MQTT-3.1.2-3", class: mal},
		{name: "Will QoS 1 without Will Flag", v: v311, pkt: connectWith(v311, func(c *codec.Connect) { c.Will.QoS = 1 }), rule: "will-qos-without-will", stmt: "MQTT-3.1.2-13", class: mal},
		{name: "Will QoS 2 without Will Flag", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.Will.QoS = 2 }), rule: "will-qos-without-will", stmt: "MQTT-3.1.2-11", class: mal},
		{name: "Will QoS 3", v: v311, pkt: connectWith(v311, func(c *codec.Connect) { c.WillFlag, c.Will = true, codec.Will{QoS: 3, Topic: "w"} }), rule: "will-qos3", stmt: "MQTT-3.1.2-14", class: mal},
		{name: "Will QoS 3", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.WillFlag, c.Will = true, codec.Will{QoS: 3, Topic: "w"} }), rule: "will-qos3", stmt: "MQTT-3.1.2-12", class: mal},
		{name: "Will Retain without Will Flag", v: v311, pkt: connectWith(v311, func(c *codec.Connect) { c.Will.Retain = true }), rule: "will-retain-without-will", stmt: "MQTT-3.1.2-15", class: mal},
		{name: "Will Retain without Will Flag", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.Will.Retain = true }), rule: "will-retain-without-will", stmt: "MQTT-3.1.2-13", class: mal},
		{name: "password without user name", v: v311, pkt: connectWith(v311, func(c *codec.Connect) { c.PasswordFlag, c.Password = true, []byte("p") }), rule: "password-without-username", stmt: "MQTT-3.1.2-22", class: mal},
		{name: "password without user name", v: codec.V31, pkt: connectWith(codec.V31, func(c *codec.Connect) { c.PasswordFlag, c.Password = true, []byte("p") }), rule: "password-without-username", stmt: "MQTT-3.1.2-22", class: mal},

		// CONNACK.
		{name: "CONNACK reserved flag bits", v: v311, wire: "20 02 02 00", rule: "connack-reserved-flags", stmt: "", class: mal},
		{name: "CONNACK reserved flag bits", v: v5, wire: "20 03 80 00 00", rule: "connack-reserved-flags", stmt: "MQTT-3.2.2-1", class: mal},
		{name: "session present with a refusal", v: v311, wire: "20 02 01 05", rule: "connack-session-present-on-error", stmt: "MQTT-3.2.2-4", class: pro},
		{name: "session present with a refusal", v: v5, wire: "20 03 01 80 00", rule: "connack-session-present-on-error", stmt: "MQTT-3.2.2-6", class: pro},

		// Reason codes (every value of every type is covered by TestReasonCodesPerType).
		{name: "CONNACK return code 6", v: v311, wire: "20 02 00 06", rule: "connack-reason-code", stmt: "", class: pro},
		{name: "CONNACK reason 0x01", v: v5, wire: "20 03 00 01 00", rule: "connack-reason-code", stmt: "MQTT-3.2.2-8", class: pro},
		{name: "PUBACK reason 0x01", v: v5, wire: "40 03 00 01 01", rule: "puback-reason-code", stmt: "MQTT-3.4.2-1", class: pro},
		{name: "PUBREC reason 0x92", v: v5, wire: "50 03 00 01 92", rule: "pubrec-reason-code", stmt: "MQTT-3.5.2-1", class: pro},
		{name: "PUBREL reason 0x10", v: v5, wire: "62 03 00 01 10", rule: "pubrel-reason-code", stmt: "MQTT-3.6.2-1", class: pro},
		{name: "PUBCOMP reason 0x80", v: v5, wire: "70 03 00 01 80", rule: "pubcomp-reason-code", stmt: "MQTT-3.7.2-1", class: pro},
		{name: "SUBACK return code 3", v: v311, wire: "90 03 00 01 03", rule: "suback-reason-code", stmt: "MQTT-3.9.3-2", class: pro},
		{name: "SUBACK reason 0x03", v: v5, wire: "90 04 00 01 00 03", rule: "suback-reason-code", stmt: "MQTT-3.9.3-2", class: pro},
		{name: "UNSUBACK reason 0x01", v: v5, wire: "B0 04 00 01 00 01", rule: "unsuback-reason-code", stmt: "MQTT-3.11.3-2", class: pro},
		{name: "DISCONNECT reason 0x01", v: v5, wire: "E0 01 01", rule: "disconnect-reason-code", stmt: "MQTT-3.14.2-1", class: pro},
		{name: "AUTH reason 0x01", v: v5, wire: "F0 02 01 00", rule: "auth-reason-code", stmt: "MQTT-3.15.2-1", class: pro},

		// Properties.
		{name: "unknown property 0x04", v: v5, wire: "30 06 00 01 74 02 04 00", rule: "property-unknown", stmt: "", class: mal, fatal: true},
		{name: "unknown two-byte property 0x80", v: v5, wire: "30 06 00 01 74 02 80 01", rule: "property-unknown", stmt: "", class: mal, fatal: true},
		{name: "Session Expiry in PUBLISH", v: v5, wire: "30 09 00 01 74 05 11 00 00 00 0A", rule: "property-not-allowed", stmt: "", class: mal},
		{name: "Will Delay in CONNECT properties", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.Properties.SetWillDelay(1) }), rule: "property-not-allowed", stmt: "", class: mal},
		{name: "Topic Alias in Will Properties", v: v5, pkt: connectWith(v5, func(c *codec.Connect) {
			c.WillFlag, c.Will.Topic = true, "w"
			c.Will.Properties.SetTopicAlias(1)
		}), rule: "property-not-allowed", stmt: "", class: mal},
		{name: "Reason String in PUBLISH", v: v5, pkt: pubWithProps(func(p *codec.Properties) { p.SetReasonString("r") }), rule: "property-not-allowed", stmt: "", class: mal},
		{name: "Payload Format Indicator twice", v: v5, wire: "30 08 00 01 74 04 01 01 01 00", rule: "property-duplicate", stmt: "", class: pro},
		{name: "Subscription Identifier twice in SUBSCRIBE", v: v5, wire: "82 0B 00 01 04 0B 01 0B 02 00 01 61 00", rule: "property-duplicate", stmt: "", class: pro},
		{name: "Reason String twice in PUBACK", v: v5, wire: "40 0C 00 01 00 08 1F 00 01 61 1F 00 01 62", rule: "property-duplicate", stmt: "", class: pro},
		{name: "Payload Format Indicator 2", v: v5, pkt: pubWithProps(func(p *codec.Properties) { p.SetPayloadFormat(2) }), rule: "property-value", stmt: "", class: pro},
		{name: "Request Problem Information 2", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.Properties.SetRequestProblemInfo(2) }), rule: "property-value", stmt: "", class: pro},
		{name: "Request Response Information 5", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.Properties.SetRequestResponseInfo(5) }), rule: "property-value", stmt: "", class: pro},
		{name: "Receive Maximum 0 in CONNECT", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.Properties.SetReceiveMaximum(0) }), rule: "property-value", stmt: "", class: pro},
		{name: "Receive Maximum 0 in CONNACK", v: v5, pkt: connackWithProps(func(p *codec.Properties) { p.SetReceiveMaximum(0) }), rule: "property-value", stmt: "", class: pro},
		{name: "Maximum Packet Size 0", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.Properties.SetMaximumPacketSize(0) }), rule: "property-value", stmt: "", class: pro},
		{name: "Maximum QoS 2", v: v5, pkt: connackWithProps(func(p *codec.Properties) { p.SetMaximumQoS(2) }), rule: "property-value", stmt: "", class: pro},
		{name: "Retain Available 2", v: v5, pkt: connackWithProps(func(p *codec.Properties) { p.SetRetainAvailable(2) }), rule: "property-value", stmt: "", class: pro},
		{name: "Wildcard Subscription Available 2", v: v5, pkt: connackWithProps(func(p *codec.Properties) { p.SetWildcardSubAvailable(2) }), rule: "property-value", stmt: "", class: pro},
		{name: "Subscription Identifier Available 255", v: v5, pkt: connackWithProps(func(p *codec.Properties) { p.SetSubIDAvailable(255) }), rule: "property-value", stmt: "", class: pro},
		{name: "Shared Subscription Available 2", v: v5, pkt: connackWithProps(func(p *codec.Properties) { p.SetSharedSubAvailable(2) }), rule: "property-value", stmt: "", class: pro},
		{name: "Topic Alias 0", v: v5, pkt: pubWithProps(func(p *codec.Properties) { p.SetTopicAlias(0) }), rule: "topic-alias-zero", stmt: "MQTT-3.3.2-8", class: pro},
		{name: "Subscription Identifier 0 in PUBLISH", v: v5, pkt: pubWithProps(func(p *codec.Properties) { p.SubscriptionIDs = []uint32{0} }), rule: "subscription-id-zero", stmt: "", class: pro},
		{name: "Subscription Identifier 0 in SUBSCRIBE", v: v5, pkt: &codec.Subscribe{PacketID: 1, Properties: codec.Properties{SubscriptionIDs: []uint32{0}}, Subscriptions: []codec.Subscription{{Filter: "a"}}}, rule: "subscription-id-zero", stmt: "", class: pro},
		{name: "Response Topic with #", v: v5, pkt: pubWithProps(func(p *codec.Properties) { p.SetResponseTopic("r/#") }), rule: "response-topic-wildcard", stmt: "MQTT-3.3.2-14", class: pro},
		{name: "Will Response Topic with +", v: v5, pkt: connectWith(v5, func(c *codec.Connect) {
			c.WillFlag, c.Will.Topic = true, "w"
			c.Will.Properties.SetResponseTopic("+/r")
		}), rule: "response-topic-wildcard", stmt: "MQTT-3.3.2-14", class: pro},
		{name: "Subscription Identifier in a client PUBLISH", v: v5, side: codec.SideClient, pkt: pubWithProps(func(p *codec.Properties) { p.SubscriptionIDs = []uint32{4} }), rule: "publish-subscription-id-from-client", stmt: "MQTT-3.3.4-6", class: pro},
		{name: "Session Expiry in a server DISCONNECT", v: v5, side: codec.SideServer, pkt: func() codec.Packet {
			d := &codec.Disconnect{ReasonCode: codec.ReasonServerShuttingDown}
			d.Properties.SetSessionExpiry(1)
			return d
		}(), rule: "disconnect-session-expiry-from-server", stmt: "MQTT-3.14.2-2", class: pro},
		{name: "Authentication Data without Method in AUTH", v: v5, pkt: func() codec.Packet {
			a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
			a.Properties.SetAuthData([]byte{1})
			return a
		}(), rule: "auth-data-without-method", stmt: "", class: pro},
		{name: "Authentication Data without Method in CONNECT", v: v5, pkt: connectWith(v5, func(c *codec.Connect) { c.Properties.SetAuthData([]byte{1}) }), rule: "auth-data-without-method", stmt: "", class: pro},
		{name: "property length past the packet", v: v5, wire: "40 05 00 01 00 05 1F", rule: "property-length", stmt: "", class: mal, fatal: true},
		{name: "property value past the property block", v: v5, wire: "30 09 00 01 74 02 02 00 00 00 00", rule: "truncated", stmt: "", class: mal, fatal: true},

		// Structure.
		{name: "PUBACK with a trailing byte", v: v311, wire: "40 03 00 01 00", rule: "trailing-bytes", stmt: "", class: mal},
		{name: "PINGREQ with a body", v: v5, wire: "C0 01 00", rule: "trailing-bytes", stmt: "", class: mal},
		{name: "DISCONNECT with a body", v: v311, wire: "E0 01 00", rule: "trailing-bytes", stmt: "", class: mal},
		{name: "DISCONNECT after the property block", v: v5, wire: "E0 03 00 00 00", rule: "trailing-bytes", stmt: "", class: mal},
		{name: "CONNACK with 3 bytes", v: v311, wire: "20 03 00 00 00", rule: "trailing-bytes", stmt: "", class: mal},
		{name: "UNSUBACK with codes", v: v311, wire: "B0 03 00 01 00", rule: "trailing-bytes", stmt: "", class: mal},
		{name: "topic length past the packet", v: v311, wire: "30 05 00 09 61 62 63", rule: "truncated", stmt: "", class: mal, fatal: true},
		{name: "packet identifier cut", v: v5, wire: "32 04 00 01 74 00", rule: "truncated", stmt: "", class: mal, fatal: true},
		{name: "AUTH reason code without property length", v: v5, wire: "F0 01 19", rule: "truncated", stmt: "", class: mal, fatal: true},
		{name: "packet too large", v: v311, max: 8, wire: "30 07 00 03 61 2F 62 68 69", rule: "packet-too-large", stmt: "", class: codec.ErrPacketTooLarge, fatal: true},
		{name: "packet too large", v: v5, max: 9, wire: "30 08 00 03 61 2F 62 00 68 69", rule: "packet-too-large", stmt: "", class: codec.ErrPacketTooLarge, fatal: true},
	}
	return cs
}

func TestNegative(t *testing.T) {
	rules := map[string]codec.Rule{}
	for _, r := range codec.Rules() {
		if _, dup := rules[r.Name]; dup {
			t.Errorf("rule name %q used twice", r.Name)
		}
		rules[r.Name] = r
	}
	for _, c := range negativeCases() {
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			b := c.bytes(t)
			o := codec.Options{Version: c.v, Sender: c.side, MaxPacketSize: c.max}
			_, _, err := codec.DecodeWith(o, b, nil)
			e := asCodecError(t, err)
			if e == nil {
				t.Fatalf("decode % X: err = %v, want a *codec.Error for rule %s", b, err, c.rule)
			}
			if e.Rule != c.rule || e.Statement != c.stmt {
				t.Fatalf("decode % X: rule %s [%s], want %s [%s] (%v)", b, e.Rule, e.Statement, c.rule, c.stmt, e)
			}
			if !errors.Is(err, c.class) {
				t.Errorf("errors.Is(%v, %v) = false (reason %v)", err, c.class, e.Reason)
			}
			for _, other := range []error{codec.ErrMalformed, codec.ErrProtocol, codec.ErrPacketTooLarge} {
				if other != c.class && errors.Is(err, other) {
					t.Errorf("error also matches %v", other)
				}
			}
			r, ok := rules[e.Rule]
			if !ok {
				t.Fatalf("rule %q is not listed by codec.Rules()", e.Rule)
			}
			if r.Statement(c.v) != e.Statement || r.Reason != e.Reason {
				t.Errorf("error disagrees with its rule: %+v vs %+v", e, r)
			}
			// 3.1.1 has no maximum packet size: that limit is the receiver's own.
			noSection := e.Rule == "packet-too-large" && c.v != codec.V5
			if (e.Section == "") != noSection || e.Detail == "" || e.Error() == "" {
				t.Errorf("error lacks section or detail: %+v", e)
			}
			if e.Version != c.v && !(e.Rule == "connect-protocol-level") {
				t.Errorf("error version %v, want %v", e.Version, c.v)
			}

			// The zero-alloc decoder reports the same.
			dc := &codec.Decoder{Options: o}
			if _, _, err2 := dc.Decode(b); asCodecError(t, err2) == nil || asCodecError(t, err2).Rule != c.rule {
				t.Errorf("Decoder.Decode: %v, want rule %s", err2, c.rule)
			}

			// Lenient mode steps over the violation and lists it, unless it is structural.
			lo := o
			lo.Lenient = true
			var viol []codec.Error
			p, _, err := codec.DecodeWith(lo, b, &viol)
			if c.fatal {
				if le := asCodecError(t, err); le == nil || le.Rule != c.rule {
					t.Errorf("lenient: %v, want the fatal rule %s", err, c.rule)
				}
				return
			}
			if err != nil {
				t.Fatalf("lenient decode: %v", err)
			}
			if p == nil || !hasRule(viol, c.rule, c.stmt) {
				t.Errorf("lenient violations %v do not list %s [%s]", viol, c.rule, c.stmt)
			}
			ldc := &codec.Decoder{Options: lo}
			if _, _, err := ldc.Decode(b); err != nil || !hasRule(ldc.Violations, c.rule, c.stmt) {
				t.Errorf("lenient Decoder: err %v, Violations %v", err, ldc.Violations)
			}
		})
	}
}

func hasRule(viol []codec.Error, rule, stmt string) bool {
	for _, v := range viol {
		if v.Rule == rule && v.Statement == stmt {
			return true
		}
	}
	return false
}

// TestNegativeCoversEveryRule: every rule the codec lists has a negative case, in 3.1.1 and in
// 5.0 wherever the rule has a statement (or applies) there.
func TestNegativeCoversEveryRule(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range negativeCases() {
		v := c.v
		if v == codec.V31 {
			v = codec.V311
		}
		seen[c.rule+"/"+v.String()] = true
	}
	v5only := map[string]bool{"auth-flags": true, "topic-empty-no-alias": true, "shared-filter-invalid": true,
		"shared-name-empty": true, "shared-no-local": true, "retain-handling-3": true, "property-unknown": true,
		"property-not-allowed": true, "property-duplicate": true, "property-value": true, "property-length": true,
		"topic-alias-zero": true, "subscription-id-zero": true, "response-topic-wildcard": true,
		"publish-subscription-id-from-client": true, "disconnect-session-expiry-from-server": true,
		"auth-data-without-method": true, "puback-reason-code": true, "pubrec-reason-code": true,
		"pubrel-reason-code": true, "pubcomp-reason-code": true, "unsuback-reason-code": true,
		"disconnect-reason-code": true, "auth-reason-code": true}
	v3only := map[string]bool{"password-without-username": true, "packet-needs-v5": true}
	for _, r := range codec.Rules() {
		if !v5only[r.Name] && !seen[r.Name+"/3.1.1"] {
			t.Errorf("no 3.1.1 negative case for rule %s", r.Name)
		}
		if !v3only[r.Name] && !seen[r.Name+"/5.0"] {
			t.Errorf("no 5.0 negative case for rule %s", r.Name)
		}
		if (r.V311 != "" && v5only[r.Name]) || (r.V5 != "" && v3only[r.Name]) {
			t.Errorf("rule %s has a statement in a version marked as not applying", r.Name)
		}
	}
}

// TestLenientEdgeCases covers behaviour specific to the 3.1 tolerance and the version switch.
func TestLenientEdgeCases(t *testing.T) {
	// 3.1 clients set DUP on SUBSCRIBE/UNSUBSCRIBE/PUBREL retransmissions: accepted there only.
	for _, w := range []string{"8A 08 00 01 00 03 61 2F 62 00", "AA 07 00 01 00 03 61 2F 62", "6A 02 00 01"} {
		if _, _, err := codec.Decode(codec.V31, hx(t, w)); err != nil {
			t.Errorf("3.1 %s: %v", w, err)
		}
		if _, _, err := codec.Decode(codec.V311, hx(t, w)); err == nil {
			t.Errorf("3.1.1 %s accepted", w)
		}
	}
	// 3.1 has no Session Present flag: the acknowledge flags byte is not checked.
	if _, _, err := codec.Decode(codec.V31, hx(t, "20 02 FE 00")); err != nil {
		t.Errorf("3.1 CONNACK with flag bits: %v", err)
	}
	// "$share/g" is an ordinary filter before 5.0.
	if _, _, err := codec.Decode(codec.V311, mustEncode(t, sub(v311, codec.Subscription{Filter: "$share/g"}), v311)); err != nil {
		t.Errorf("3.1.1 $share/g: %v", err)
	}
	// Several violations in one packet are all listed.
	var viol []codec.Error
	_, _, err := codec.DecodeWith(codec.Options{Version: codec.V311, Lenient: true}, hx(t, "3E 07 00 03 61 2F 2B 00 00"), &viol)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range viol {
		names = append(names, v.Rule)
	}
	if want := "[publish-qos3 topic-name-wildcard packet-id-zero]"; fmt.Sprint(names) != want {
		t.Errorf("violations %v, want %s", names, want)
	}
}

// TestDecoderLearnsVersion: a Decoder of unknown version learns it from a CONNECT only.
func TestDecoderLearnsVersion(t *testing.T) {
	dc := codec.NewDecoder(codec.VersionUnknown)
	if _, _, err := dc.Decode(hx(t, "C0 00")); err != nil {
		t.Fatal(err)
	}
	if dc.Version != codec.VersionUnknown {
		t.Errorf("PINGREQ set the version to %v", dc.Version)
	}
	if _, _, err := dc.Decode(mustEncode(t, connectFor(codec.V5), codec.V5)); err != nil {
		t.Fatal(err)
	}
	if dc.Version != codec.V5 {
		t.Errorf("after a v5 CONNECT the version is %v", dc.Version)
	}
	p, _, err := dc.Decode(hx(t, "40 03 00 01 10"))
	if err != nil || p.(*codec.Puback).ReasonCode != codec.ReasonNoMatchingSubscribers {
		t.Errorf("v5 PUBACK after CONNECT: %v %v", p, err)
	}
}

// TestTruncationAtEveryField cuts the body of packets in which every field is required at every
// byte, rewrites the remaining length to match, and expects each prefix to be rejected as a
// structural error naming the field it ended in (never a panic, never a success).
func TestTruncationAtEveryField(t *testing.T) {
	full := func(v codec.Version) *codec.Connect {
		c := connectFor(v)
		c.WillFlag, c.Will = true, codec.Will{QoS: 1, Topic: "will", Payload: []byte("bye")}
		c.UsernameFlag, c.Username = true, "user"
		c.PasswordFlag, c.Password = true, []byte("pw")
		if v == codec.V5 {
			c.Properties.SetSessionExpiry(30).AddUser("k", "v")
			c.Will.Properties.SetWillDelay(5).SetContentType("text")
		}
		return c
	}
	pubProps := &codec.Publish{QoS: 1, Topic: "a/b", PacketID: 7, Payload: []byte{}}
	pubProps.Properties.SetMessageExpiry(9).SetResponseTopic("r").SetCorrelationData([]byte{1}).AddUser("k", "v")
	pubProps.Properties.SubscriptionIDs = []uint32{300}
	connack := &codec.Connack{}
	connack.Properties.SetAssignedClientID("id").SetServerKeepAlive(5)

	cases := []struct {
		v codec.Version
		p codec.Packet
		// body lengths at which a shorter packet is legitimately complete
		valid []int
	}{
		{codec.V311, full(codec.V311), nil},
		{codec.V31, full(codec.V31), nil},
		{codec.V5, full(codec.V5), nil},
		{codec.V311, &codec.Publish{QoS: 2, Topic: "a/b", PacketID: 7, Payload: []byte{}}, nil},
		{codec.V5, pubProps, nil},
		{codec.V311, sub(v311, codec.Subscription{Filter: "a/b", QoS: 1}), nil},
		{codec.V5, &codec.Subscribe{PacketID: 1, Properties: codec.Properties{SubscriptionIDs: []uint32{2}}, Subscriptions: []codec.Subscription{{Filter: "a/+"}}}, nil},
		{codec.V311, &codec.Unsubscribe{PacketID: 1, Filters: []string{"a/b"}}, nil},
		{codec.V5, &codec.Unsubscribe{PacketID: 1, Filters: []string{"a/b"}}, nil},
		{codec.V311, &codec.Puback{PacketID: 1}, nil},
		{codec.V311, &codec.Connack{}, nil},
		{codec.V5, connack, nil},
		{codec.V5, &codec.Pubrec{PacketID: 1, ReasonCode: 0x80, Properties: *new(codec.Properties).SetReasonString("why")}, []int{2, 3}},
		// AUTH: only the empty form (§3.15.2.1); unlike DISCONNECT it has no reason-code-only form.
		{codec.V5, &codec.Auth{ReasonCode: 0x18, Properties: *new(codec.Properties).SetAuthMethod("m").SetAuthData([]byte{1})}, []int{0}},
		{codec.V5, &codec.Disconnect{ReasonCode: 0x8E, Properties: *new(codec.Properties).SetReasonString("x")}, []int{0, 1}},
	}
	structural := map[string]bool{"truncated": true, "property-length": true, "subscribe-empty": true, "unsubscribe-empty": true}
	for _, c := range cases {
		b := mustEncode(t, c.p, c.v)
		h, err := codec.ParseHeader(b, c.v)
		if err != nil {
			t.Fatal(err)
		}
		body := b[h.Len:]
		for cut := 0; cut < len(body); cut++ {
			short := codec.AppendVarint([]byte{b[0]}, uint32(cut))
			short = append(short, body[:cut]...)
			_, _, err := codec.Decode(c.v, short)
			name := fmt.Sprintf("%v %v cut at %d of %d", c.v, c.p.Type(), cut, len(body))
			if containsInt(c.valid, cut) {
				if err != nil {
					t.Errorf("%s: a complete short form was rejected: %v", name, err)
				}
				continue
			}
			e := asCodecError(t, err)
			switch {
			case e == nil:
				t.Errorf("%s: err = %v, want a structural *codec.Error", name, err)
			case !structural[e.Rule]:
				t.Errorf("%s: rule %s, want a structural rule (%v)", name, e.Rule, e)
			case e.Rule == "truncated" && e.Field == "":
				t.Errorf("%s: truncation names no field: %v", name, e)
			}
		}
		// The original remaining length with bytes missing is an incomplete packet.
		for cut := 1; cut < len(b); cut++ {
			if _, _, err := codec.Decode(c.v, b[:cut]); !errors.Is(err, codec.ErrShort) {
				t.Errorf("%v %v: %d of %d bytes: err = %v, want ErrShort", c.v, c.p.Type(), cut, len(b), err)
			}
		}
	}
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// TestRuleStatementIDs: every cited ID is well formed, every rule names a section for each version
// it has a statement in, and rule names are unique.
func TestRuleStatementIDs(t *testing.T) {
	id := regexp.MustCompile(`^MQTT-[1-7]\.[0-9]+\.[0-9]+-[0-9]+$`)
	names := map[string]bool{}
	for _, r := range codec.Rules() {
		if names[r.Name] {
			t.Errorf("duplicate rule %s", r.Name)
		}
		names[r.Name] = true
		for _, s := range []struct{ stmt, sec string }{{r.V311, r.Section311}, {r.V5, r.Section5}} {
			if s.stmt != "" && (!id.MatchString(s.stmt) || s.sec == "") {
				t.Errorf("rule %s: statement %q section %q", r.Name, s.stmt, s.sec)
			}
		}
		if r.Summary == "" || r.Reason < 0x80 {
			t.Errorf("rule %s: summary %q reason %v", r.Name, r.Summary, r.Reason)
		}
	}
}
