package conformance

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
)

// Matcher checks one packet. Match returns nil when p is what the matcher wants, otherwise an
// error saying what differs; String describes the expectation for failure messages.
type Matcher interface {
	Match(p codec.Packet) error
	String() string
}

// M is the matcher the constructors below return: a packet type plus named field checks.
// Checks are exact by default (a PUBLISH matcher checks DUP 0 and RETAIN 0 unless told
// otherwise), because a broker that gets a flag wrong must fail.
type M struct {
	typ    codec.PacketType
	checks []check
}

type check struct {
	name string
	desc string
	fn   func(codec.Packet) error
}

// Match implements Matcher.
func (m *M) Match(p codec.Packet) error {
	if p == nil {
		return fmt.Errorf("no packet")
	}
	if p.Type() != m.typ {
		return fmt.Errorf("packet type is %v, want %v", p.Type(), m.typ)
	}
	var errs []string
	for _, c := range m.checks {
		if err := c.fn(p); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// String implements Matcher.
func (m *M) String() string {
	var parts []string
	for _, c := range m.checks {
		if c.desc != "" {
			parts = append(parts, c.desc)
		}
	}
	if len(parts) == 0 {
		return m.typ.String()
	}
	return m.typ.String() + "{" + strings.Join(parts, " ") + "}"
}

// set adds a check, replacing an earlier one of the same name.
func (m *M) set(name, desc string, fn func(codec.Packet) error) *M {
	for i := range m.checks {
		if m.checks[i].name == name {
			m.checks[i] = check{name, desc, fn}
			return m
		}
	}
	m.checks = append(m.checks, check{name, desc, fn})
	return m
}

// unset removes a check (Any… methods).
func (m *M) unset(name string) *M {
	m.checks = slices.DeleteFunc(m.checks, func(c check) bool { return c.name == name })
	return m
}

// Where adds a custom check.
func (m *M) Where(desc string, fn func(codec.Packet) error) *M {
	return m.set("where:"+desc, desc, fn)
}

func reasonOf(p codec.Packet) (codec.ReasonCode, bool) {
	switch p := p.(type) {
	case *codec.Connack:
		return p.ReasonCode, true
	case *codec.Puback:
		return p.ReasonCode, true
	case *codec.Pubrec:
		return p.ReasonCode, true
	case *codec.Pubrel:
		return p.ReasonCode, true
	case *codec.Pubcomp:
		return p.ReasonCode, true
	case *codec.Disconnect:
		return p.ReasonCode, true
	case *codec.Auth:
		return p.ReasonCode, true
	}
	return 0, false
}

// PropsOf returns the properties of a packet (nil for PINGREQ/PINGRESP).
func PropsOf(p codec.Packet) *codec.Properties { return codec.PropertiesOf(p) }

// PacketID returns the packet identifier of p, if its type carries one.
func PacketID(p codec.Packet) (uint16, bool) {
	switch p := p.(type) {
	case *codec.Publish:
		return p.PacketID, p.QoS > 0
	case *codec.Puback:
		return p.PacketID, true
	case *codec.Pubrec:
		return p.PacketID, true
	case *codec.Pubrel:
		return p.PacketID, true
	case *codec.Pubcomp:
		return p.PacketID, true
	case *codec.Subscribe:
		return p.PacketID, true
	case *codec.Suback:
		return p.PacketID, true
	case *codec.Unsubscribe:
		return p.PacketID, true
	case *codec.Unsuback:
		return p.PacketID, true
	}
	return 0, false
}

func codesOf(p codec.Packet) ([]codec.ReasonCode, bool) {
	switch p := p.(type) {
	case *codec.Suback:
		return p.ReasonCodes, true
	case *codec.Unsuback:
		return p.ReasonCodes, true
	}
	return nil, false
}

// reasonName names rc as p's packet type has it. A CONNACK code between 0x01 and 0x05 exists in
// 3.1/3.1.1 only (5.0 refusals are 0x80 and above), so it is named as a return code ("0x02
// Identifier rejected", not the 5.0 "Granted QoS 2" that shares the number).
func reasonName(p codec.Packet, rc codec.ReasonCode) string {
	if p.Type() == codec.CONNACK && rc > 0 && rc < 0x80 {
		return fmt.Sprintf("0x%02X %s", byte(rc), rc.NameFor(codec.CONNACK, codec.V311))
	}
	return rc.String()
}

// Reason checks the reason code (v5) or CONNACK return code.
func (m *M) Reason(rc codec.ReasonCode) *M {
	return m.set("reason", fmt.Sprintf("reason=0x%02X", byte(rc)), func(p codec.Packet) error {
		got, ok := reasonOf(p)
		if !ok {
			return fmt.Errorf("%v has no reason code", p.Type())
		}
		if got != rc {
			return fmt.Errorf("reason code is %s, want %s", reasonName(p, got), reasonName(p, rc))
		}
		return nil
	})
}

// ReasonIn accepts any of the codes.
func (m *M) ReasonIn(codes ...codec.ReasonCode) *M {
	return m.set("reason", "reason∈"+codesString(codes), func(p codec.Packet) error {
		got, ok := reasonOf(p)
		if !ok {
			return fmt.Errorf("%v has no reason code", p.Type())
		}
		if !containsCode(codes, got) {
			return fmt.Errorf("reason code is %s, want one of %s", reasonName(p, got), codesString(codes))
		}
		return nil
	})
}

// Refused accepts any failing reason code: 0x80 or above (v5), non-zero (3.1.1 CONNACK).
func (m *M) Refused() *M {
	return m.set("reason", "reason=refusal", func(p codec.Packet) error {
		got, ok := reasonOf(p)
		if !ok {
			return fmt.Errorf("%v has no reason code", p.Type())
		}
		if got == 0 || (got < 0x80 && got > 5) {
			return fmt.Errorf("reason code is %s, want a refusal", reasonName(p, got))
		}
		return nil
	})
}

// ID checks the packet identifier.
func (m *M) ID(id uint16) *M {
	return m.set("id", fmt.Sprintf("id=%d", id), func(p codec.Packet) error {
		got, ok := PacketID(p)
		if !ok {
			return fmt.Errorf("%v carries no packet identifier", p.Type())
		}
		if got != id {
			return fmt.Errorf("packet identifier is %d, want %d", got, id)
		}
		return nil
	})
}

// SessionPresent checks the CONNACK Session Present flag.
func (m *M) SessionPresent(want bool) *M {
	return m.set("sp", fmt.Sprintf("session_present=%t", want), func(p codec.Packet) error {
		if got := p.(*codec.Connack).SessionPresent; got != want {
			return fmt.Errorf("Session Present is %t, want %t", got, want)
		}
		return nil
	})
}

// Topic checks a PUBLISH topic name.
func (m *M) Topic(topic string) *M {
	return m.set("topic", fmt.Sprintf("topic=%q", topic), func(p codec.Packet) error {
		if got := p.(*codec.Publish).Topic; got != topic {
			return fmt.Errorf("topic is %q, want %q", got, topic)
		}
		return nil
	})
}

// Payload checks a PUBLISH payload byte for byte.
func (m *M) Payload(b []byte) *M {
	desc := fmt.Sprintf("payload=%q", b)
	if len(b) > 32 {
		desc = fmt.Sprintf("payload=%d bytes", len(b))
	}
	return m.set("payload", desc, func(p codec.Packet) error {
		if got := p.(*codec.Publish).Payload; !bytes.Equal(got, b) {
			if len(got) > 32 || len(b) > 32 {
				return fmt.Errorf("payload differs (%d bytes, want %d)", len(got), len(b))
			}
			return fmt.Errorf("payload is %q, want %q", got, b)
		}
		return nil
	})
}

// QoS checks a PUBLISH QoS.
func (m *M) QoS(q byte) *M {
	return m.set("qos", fmt.Sprintf("qos=%d", q), func(p codec.Packet) error {
		if got := p.(*codec.Publish).QoS; got != q {
			return fmt.Errorf("QoS is %d, want %d", got, q)
		}
		return nil
	})
}

// Retain checks a PUBLISH RETAIN flag.
func (m *M) Retain(want bool) *M {
	return m.set("retain", fmt.Sprintf("retain=%t", want), func(p codec.Packet) error {
		if got := p.(*codec.Publish).Retain; got != want {
			return fmt.Errorf("RETAIN is %t, want %t", got, want)
		}
		return nil
	})
}

// Dup checks a PUBLISH DUP flag.
func (m *M) Dup(want bool) *M {
	return m.set("dup", fmt.Sprintf("dup=%t", want), func(p codec.Packet) error {
		if got := p.(*codec.Publish).Dup; got != want {
			return fmt.Errorf("DUP is %t, want %t", got, want)
		}
		return nil
	})
}

// AnyRetain stops checking RETAIN; AnyDup stops checking DUP.
func (m *M) AnyRetain() *M { return m.unset("retain") }

// AnyDup stops checking DUP.
func (m *M) AnyDup() *M { return m.unset("dup") }

// Codes checks SUBACK/UNSUBACK reason codes, in order.
func (m *M) Codes(codes ...codec.ReasonCode) *M {
	return m.set("codes", "codes="+codesString(codes), func(p codec.Packet) error {
		got, _ := codesOf(p)
		if !slices.Equal(got, codes) {
			return fmt.Errorf("reason codes are %s, want %s", codesString(got), codesString(codes))
		}
		return nil
	})
}

// HasProp requires a property to be present.
func (m *M) HasProp(id codec.PropID) *M {
	return m.set("has:"+id.String(), "has "+id.String(), func(p codec.Packet) error {
		if pr := PropsOf(p); pr == nil || !pr.Has(id) {
			return fmt.Errorf("%s is absent", id)
		}
		return nil
	})
}

// NoProp requires a property to be absent.
func (m *M) NoProp(id codec.PropID) *M {
	return m.set("no:"+id.String(), "no "+id.String(), func(p codec.Packet) error {
		if pr := PropsOf(p); pr != nil && pr.Has(id) {
			return fmt.Errorf("%s is present (%s), want absent", id, pr.String())
		}
		return nil
	})
}

// Props adds a check on the properties.
func (m *M) Props(desc string, fn func(*codec.Properties) error) *M {
	return m.set("props:"+desc, desc, func(p codec.Packet) error {
		pr := PropsOf(p)
		if pr == nil {
			return fmt.Errorf("%v has no properties", p.Type())
		}
		return fn(pr)
	})
}

// User requires exactly these user properties, in this order.
func (m *M) User(pairs ...codec.UserProperty) *M {
	return m.Props(fmt.Sprintf("user=%v", pairs), func(pr *codec.Properties) error {
		if !slices.Equal(pr.User, pairs) && !(len(pr.User) == 0 && len(pairs) == 0) {
			return fmt.Errorf("user properties are %v, want %v (same order)", pr.User, pairs)
		}
		return nil
	})
}

// SubIDs requires exactly these subscription identifiers (any order).
func (m *M) SubIDs(ids ...uint32) *M {
	return m.Props(fmt.Sprintf("subscription_ids=%v", ids), func(pr *codec.Properties) error {
		got := slices.Clone(pr.SubscriptionIDs)
		want := slices.Clone(ids)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return fmt.Errorf("subscription identifiers are %v, want %v", pr.SubscriptionIDs, ids)
		}
		return nil
	})
}

// Connack expects a CONNACK with the reason code and Session Present 0 (a refusing CONNACK must
// have it 0 anyway; use SessionPresent(true) to expect a resumed session).
func Connack(rc codec.ReasonCode) *M {
	return (&M{typ: codec.CONNACK}).Reason(rc).SessionPresent(false)
}

// Publish expects a PUBLISH with exactly this topic, payload and QoS, DUP 0 and RETAIN 0.
func Publish(topic string, payload []byte, qos byte) *M {
	return (&M{typ: codec.PUBLISH}).Topic(topic).Payload(payload).QoS(qos).Dup(false).Retain(false)
}

// AnyPublish expects a PUBLISH and checks nothing else (chain checks as needed).
func AnyPublish() *M { return &M{typ: codec.PUBLISH} }

// Puback expects a PUBACK for id with reason 0x00.
func Puback(id uint16) *M { return (&M{typ: codec.PUBACK}).ID(id).Reason(0) }

// Pubrec expects a PUBREC for id with reason 0x00.
func Pubrec(id uint16) *M { return (&M{typ: codec.PUBREC}).ID(id).Reason(0) }

// Pubrel expects a PUBREL for id with reason 0x00.
func Pubrel(id uint16) *M { return (&M{typ: codec.PUBREL}).ID(id).Reason(0) }

// Pubcomp expects a PUBCOMP for id with reason 0x00.
func Pubcomp(id uint16) *M { return (&M{typ: codec.PUBCOMP}).ID(id).Reason(0) }

// Suback expects a SUBACK for id with exactly these codes.
func Suback(id uint16, codes ...codec.ReasonCode) *M {
	return (&M{typ: codec.SUBACK}).ID(id).Codes(codes...)
}

// Unsuback expects an UNSUBACK for id with exactly these codes (none in 3.1.1).
func Unsuback(id uint16, codes ...codec.ReasonCode) *M {
	return (&M{typ: codec.UNSUBACK}).ID(id).Codes(codes...)
}

// Pingresp expects a PINGRESP.
func Pingresp() *M { return &M{typ: codec.PINGRESP} }

// Disconnect expects a DISCONNECT with the reason code.
func Disconnect(rc codec.ReasonCode) *M { return (&M{typ: codec.DISCONNECT}).Reason(rc) }

// Auth expects an AUTH with the reason code.
func Auth(rc codec.ReasonCode) *M { return (&M{typ: codec.AUTH}).Reason(rc) }

// Type expects a packet of type t and checks nothing else.
func Type(t codec.PacketType) *M { return &M{typ: t} }

// anyOf matches when one of its matchers does.
type anyOf []Matcher

// OneOf matches a packet that satisfies any of the matchers (for the places where the
// specification allows alternatives).
func OneOf(ms ...Matcher) Matcher { return anyOf(ms) }

func (a anyOf) Match(p codec.Packet) error {
	var errs []string
	for _, m := range a {
		err := m.Match(p)
		if err == nil {
			return nil
		}
		errs = append(errs, m.String()+": "+err.Error())
	}
	return fmt.Errorf("matches none of the alternatives (%s)", strings.Join(errs, "; "))
}

func (a anyOf) String() string {
	s := make([]string, len(a))
	for i, m := range a {
		s[i] = m.String()
	}
	return "one of [" + strings.Join(s, " | ") + "]"
}
