package connection

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/spec"
)

// register adds a case that cites s311 when it runs on MQTT 3.1.1 and s5 when it runs on 5.0.
//
// A case has a single statement list for every version it runs on, and the engine counts an ID
// for each version in which it exists. 3.1.1 and 5.0 number many statements of section 3.1
// differently, so an ID cited for one version often names an unrelated statement of the other
// (5.0 MQTT-3.1.2-24 is about Maximum Packet Size, 3.1.1 MQTT-3.1.2-24 about keep alive). When
// that happens the case is registered twice, once per version, with the suffixes "-v311" and
// "-v5"; otherwise it is registered once with both lists. A prefix selection on the base ID
// (--case 3.1/keepalive-enforced) still picks up both halves.
func register(cs c.Case, s311, s5 []string) {
	switch {
	case cs.Versions == c.V311:
		cs.Statements = s311
		catalog.Broker(cs)
		return
	case cs.Versions == c.V5:
		cs.Statements = s5
		catalog.Broker(cs)
		return
	}
	if !collides(s311, s5, spec.V311) && !collides(s5, s311, spec.V5) {
		cs.Statements = union(s311, s5)
		catalog.Broker(cs)
		return
	}
	a, b := cs, cs
	a.ID, a.Versions, a.Statements = cs.ID+"-v311", c.V311, s311
	b.ID, b.Versions, b.Statements = cs.ID+"-v5", c.V5, s5
	catalog.Broker(a)
	catalog.Broker(b)
}

// collides reports whether an ID meant for the other version (in other, not in own) also names a
// statement of version v.
func collides(own, other []string, v string) bool {
	for _, id := range other {
		if !slices.Contains(own, id) && spec.Exists(v, id) {
			return true
		}
	}
	return false
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, id := range b {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// ids is shorthand for a statement list.
func ids(s ...string) []string { return s }

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

// encode encodes p for version v; a failure is a harness error.
func encode(t *c.T, p codec.Packet, v codec.Version) []byte {
	b, err := codec.Encode(p, v)
	if err != nil {
		t.Errorf("encode %v: %v", p.Type(), err)
	}
	return b
}

// withFlags returns a copy of the encoded packet b whose fixed-header flag nibble is flags.
func withFlags(b []byte, flags byte) []byte {
	out := slices.Clone(b)
	out[0] = out[0]&0xF0 | flags&0x0F
	return out
}

// reframe builds a packet from a first header byte and a body, computing the Remaining Length.
func reframe(b0 byte, body []byte) []byte {
	out := append([]byte{b0}, codec.AppendVarint(nil, uint32(len(body)))...)
	return append(out, body...)
}

// body returns the bytes of an encoded packet after its fixed header.
func body(t *c.T, b []byte) []byte {
	h, err := codec.ParseHeader(b, codec.V5)
	if err != nil {
		t.Errorf("parse own packet: %v", err)
	}
	return slices.Clone(b[h.Len:])
}

// rawProps returns the v5 CONNECT p encoded with props as its property block, byte for byte
// (duplicates, unknown identifiers and forbidden values included). p must have no properties.
func rawProps(t *c.T, p *codec.Connect, props []byte) []byte {
	if !p.Properties.Empty() {
		t.Errorf("rawProps: the CONNECT already has properties")
	}
	b := body(t, encode(t, p, codec.V5))
	// Variable header: protocol name (2+len), level, flags, keep alive, then the property length
	// (a single 0x00 byte, as the CONNECT has no properties).
	at := 2 + len(p.ProtocolName) + 1 + 1 + 2
	if b[at] != 0 {
		t.Errorf("rawProps: property length byte is 0x%02X, want 0x00", b[at])
	}
	nb := append(slices.Clone(b[:at]), codec.AppendVarint(nil, uint32(len(props)))...)
	nb = append(nb, props...)
	nb = append(nb, b[at+1:]...)
	return reframe(byte(codec.CONNECT)<<4, nb)
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

// willPublish is the matcher for a will delivered to a live subscriber: exact topic, payload and
// QoS, RETAIN 0 (a live subscription sees RETAIN 0 whatever the will's retain flag, MQTT-3.3.1-9
// in 3.1.1, and in 5.0 unless Retain As Published is set).
func willPublish(topic, payload string, qos byte) *c.M {
	return c.Publish(topic, []byte(payload), qos)
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

// elapsedWithin fails the case unless lo <= d <= hi.
func elapsedWithin(t *c.T, what string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		t.Failf(fmt.Sprintf("%s after %v to %v", what, lo, hi), fmt.Sprintf("after %v", d.Round(time.Millisecond)),
			"%s after %v, expected between %v and %v", what, d.Round(time.Millisecond), lo, hi)
	}
}

// connectWithFlags returns p encoded for the case's version with extra bits ORed into its
// Connect Flags byte, leaving the payload as p describes it (so a flag can announce a field that
// is not there).
func connectWithFlags(t *c.T, p *codec.Connect, or byte) []byte {
	b := body(t, encode(t, p, t.Version))
	at := 2 + len(p.ProtocolName) + 1 // protocol name, then the level byte
	b[at] |= or
	return reframe(byte(codec.CONNECT)<<4, b)
}

// connectWithTrailing returns p encoded with extra bytes appended to its payload (and the
// Remaining Length grown to cover them).
func connectWithTrailing(t *c.T, p *codec.Connect, extra []byte) []byte {
	b := body(t, encode(t, p, t.Version))
	return reframe(byte(codec.CONNECT)<<4, append(b, extra...))
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
