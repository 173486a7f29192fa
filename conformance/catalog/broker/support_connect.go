package broker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// connackRefusals are the CONNACK reason codes of 0x80 and above (v5) a server may refuse a
// connection with.
var connackRefusals = func() []codec.ReasonCode {
	var out []codec.ReasonCode
	for _, rc := range codec.ReasonCodesFor(codec.CONNACK) {
		if rc >= 0x80 {
			out = append(out, rc)
		}
	}
	return out
}()

// malformedOrProtocol are the v5 codes for a broken packet (section 4.13).
var malformedOrProtocol = []codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError}

// malformedOnly is the v5 code for a packet that is malformed by definition.
var malformedOnly = []codec.ReasonCode{codec.ReasonMalformedPacket}

// rawProps returns the v5 CONNECT p encoded with props as its property block, byte for byte
// (duplicates, unknown identifiers and forbidden values included). p must have no properties.
func rawProps(t *c.T, p *codec.Connect, props []byte) []byte {
	if !p.Properties.Empty() {
		t.Errorf("rawProps: the CONNECT already has properties")
	}
	b := t.Body(t.Encode(p, codec.V5))
	// Variable header: protocol name (2+len), level, flags, keep alive, then the property length
	// (a single 0x00 byte, as the CONNECT has no properties).
	at := 2 + len(p.ProtocolName) + 1 + 1 + 2
	if b[at] != 0 {
		t.Errorf("rawProps: property length byte is 0x%02X, want 0x00", b[at])
	}
	nb := append(slices.Clone(b[:at]), codec.AppendVarint(nil, uint32(len(props)))...)
	nb = append(nb, props...)
	nb = append(nb, b[at+1:]...)
	return c.Reframe(byte(codec.CONNECT)<<4, nb)
}

// u32prop and u16prop encode one property of the given width.
func u32prop(id codec.PropID, v uint32) []byte {
	return []byte{byte(id), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func u16prop(id codec.PropID, v uint16) []byte { return []byte{byte(id), byte(v >> 8), byte(v)} }

// willConnect returns a default CONNECT carrying a will on topic with payload, QoS and retain.
func willConnect(t *c.T, topic, payload string, qos byte, retain bool) *codec.Connect {
	p := t.DefaultConnect()
	p.WillFlag = true
	p.Will = codec.Will{QoS: qos, Retain: retain, Topic: topic, Payload: []byte(payload)}
	return p
}

// watch connects a subscriber to topic at QoS qos.
func watch(t *c.T, topic string, qos byte) *c.Conn { return t.Sub("watcher", topic, qos) }

// sessionExpiryOf returns the Session Expiry Interval in force after the CONNACK: the server's
// if it sent one (v5 section 3.2.2.3.2), else the client's.
func sessionExpiryOf(p *codec.Connect, ack *codec.Connack) uint32 {
	if ack.Properties.Has(codec.PropSessionExpiry) {
		return ack.Properties.SessionExpiry
	}
	return p.Properties.SessionExpiry
}

// connectWithFlags returns p encoded for the case's version with extra bits ORed into its
// Connect Flags byte, leaving the payload as p describes it (so a flag can announce a field that
// is not there).
func connectWithFlags(t *c.T, p *codec.Connect, or byte) []byte {
	b := t.Body(t.Encode(p, t.Version))
	at := 2 + len(p.ProtocolName) + 1 // protocol name, then the level byte
	b[at] |= or
	return c.Reframe(byte(codec.CONNECT)<<4, b)
}

// connectWithTrailing returns p encoded with extra bytes appended to its payload (and the
// Remaining Length grown to cover them).
func connectWithTrailing(t *c.T, p *codec.Connect, extra []byte) []byte {
	b := t.Body(t.Encode(p, t.Version))
	return c.Reframe(byte(codec.CONNECT)<<4, append(b, extra...))
}

// oneOf matches a packet any of its matchers accepts.
type oneOf []c.Matcher

func (o oneOf) Match(p codec.Packet) error {
	var errs []string
	for _, m := range o {
		err := m.Match(p)
		if err == nil {
			return nil
		}
		errs = append(errs, err.Error())
	}
	return fmt.Errorf("%s", strings.Join(errs, " / "))
}

func (o oneOf) String() string {
	s := make([]string, len(o))
	for i, m := range o {
		s[i] = m.String()
	}
	return "one of: " + strings.Join(s, " | ")
}
