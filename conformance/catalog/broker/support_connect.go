package broker

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

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

// expectRefusedAnyLayout sends the v5 CONNECT p on a raw connection and checks that the server
// refuses it: the connection closes, at most after one CONNACK that is either a v5 CONNACK with
// one of the codes v5 (Session Present 0) or the 3.1.1 CONNACK 0x01 (unacceptable protocol
// version). A server that also speaks 3.1.1 may answer in the 3.1.1 layout, which the v5 decoder
// of Conn rejects, so the answer is read raw and judged by its layout. what names p in messages.
func expectRefusedAnyLayout(t *c.T, p *codec.Connect, what string, v5 ...codec.ReasonCode) {
	nc, err := t.Target.Dial(t.Context())
	if err != nil {
		t.Errorf("dial %s: %v", t.Target.URL, err)
	}
	defer nc.Close()
	t.Logf("sending %s in the v5 layout; reading the answer raw", what)
	_ = nc.SetDeadline(time.Now().Add(t.Timeouts.Step))
	if _, err := nc.Write(t.Encode(p, codec.V5)); err != nil {
		t.Errorf("write: %v", err)
	}
	r := codec.NewReader(nc, codec.Options{MaxPacketSize: 1 << 16})
	raw, err := r.ReadRaw()
	if err != nil {
		t.Check(isClosedErr(err), "the connection closed", err.Error(), "%s got neither an answer nor a close within %v: %v", what, t.Timeouts.Step, err)
		return
	}
	t.Logf("received % X", raw)
	v311 := []byte{byte(codec.CONNACK) << 4, 2, 0, byte(codec.ConnRefusedProtocolVersion)}
	if !bytes.Equal(raw, v311) {
		ack, _, derr := codec.DecodeWith(codec.Options{Version: codec.V5, Sender: codec.SideServer}, raw, nil)
		a, ok := ack.(*codec.Connack)
		t.Check(derr == nil && ok && slices.Contains(v5, a.ReasonCode) && !a.SessionPresent,
			fmt.Sprintf("the close, at most after CONNACK %v (v5 layout) or 0x01 (3.1.1 layout)", v5), fmt.Sprintf("% X", raw),
			"%s was answered with % X (decoded as v5: %v, %v), not a refusing CONNACK", what, raw, ack, derr)
	}
	_, err = r.ReadRaw()
	t.Check(err != nil && isClosedErr(err), "the connection closed after the CONNACK", fmt.Sprint(err),
		"after its refusing CONNACK the connection was not closed within %v (%v)", t.Timeouts.Step, err)
}
