package gen

import (
	"fmt"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
)

// Defect is the one way a generated packet is broken.
type Defect uint8

// Defects. Each generated packet carries at most one, so the rule a parser has to cite is known.
const (
	// Valid is a packet that follows every rule; its fields are often at their valid edges
	// (packet identifier 1 or 65535, empty strings and payloads, long strings, property storms).
	Valid Defect = iota
	// EdgeValue puts a field at a forbidden edge: packet identifier 0, QoS 3, a reason code outside
	// the packet's list, a protocol level nobody defined, a property value of 0 or above 1.
	EdgeValue
	// ReservedBit sets a reserved bit or a flag that contradicts another: fixed-header flags,
	// CONNECT flag bit 0, Will QoS without Will Flag, CONNACK bits 7-1, subscription option bits,
	// DUP on a QoS 0 PUBLISH, No Local on a shared subscription.
	ReservedBit
	// WrongLength makes a length disagree with the content: a string that runs past the end of
	// the packet, bytes after the last field, a property length beyond the packet, a remaining
	// length in five bytes or (5.0) in more bytes than needed.
	WrongLength
	// DuplicateProperty repeats a 5.0 property that may appear only once.
	DuplicateProperty
	// BadString breaks a string: ill-formed UTF-8, U+0000, a wildcard in a topic name, an empty
	// topic or filter, a misplaced wildcard, a malformed shared subscription, a wrong protocol name.
	BadString
	// BadProperty uses a 5.0 property identifier that is unknown or not allowed where it appears,
	// or a property the sender must not send.
	BadProperty
	numDefects

	// Any draws the defect from the input (Valid half of the time).
	Any Defect = 0xFF
)

var defectNames = [numDefects]string{"valid", "edge-value", "reserved-bit", "wrong-length", "duplicate-property",
	"bad-string", "bad-property"}

// String returns the defect's name as used on the command line ("edge-value").
func (d Defect) String() string {
	if d == Any {
		return "any"
	}
	if d < numDefects {
		return defectNames[d]
	}
	return fmt.Sprintf("defect-%d", byte(d))
}

// Defects returns every defect, Valid first.
func Defects() []Defect {
	out := make([]Defect, numDefects)
	for i := range out {
		out[i] = Defect(i)
	}
	return out
}

// ParseDefect accepts a defect's name ("wrong-length") or "any".
func ParseDefect(s string) (Defect, error) {
	if s == "any" {
		return Any, nil
	}
	for i, n := range defectNames {
		if n == s {
			return Defect(i), nil
		}
	}
	return 0, fmt.Errorf("unknown defect %q (want any, %s)", s, strings.Join(defectNames[:], ", "))
}

// Verdict is what a conforming parser must do with a generated packet.
type Verdict struct {
	// Accept: the packet is valid and must decode to the Case's Packet.
	Accept bool
	// Rule is the mqttspec codec rule the packet breaks (codec.Rule.Name, e.g. "publish-qos3").
	Rule string
	// Statement is the normative statement ID for the version ("" where the specification
	// numbers none; Section then says where the rule is stated).
	Statement string
	Section   string
	// Reason is the v5 reason code a receiver answers with: 0x81 Malformed Packet, 0x82 Protocol
	// Error, 0x84 Unsupported Protocol Version.
	Reason codec.ReasonCode
}

// Malformed reports whether the packet is malformed (as opposed to a protocol error): a
// receiver that cannot tell the two apart must at least close the connection.
func (v Verdict) Malformed() bool { return !v.Accept && v.Reason == codec.ReasonMalformedPacket }

// Cite returns the statement ID, or "MQTT <version> §section" when the specification numbers no
// statement for the rule.
func (v Verdict) Cite(ver codec.Version) string {
	if v.Statement != "" {
		return v.Statement
	}
	return "MQTT " + ver.String() + " §" + v.Section
}

// String renders "accept" or "reject publish-qos3 [MQTT-3.3.1-4] 0x81".
func (v Verdict) String() string {
	if v.Accept {
		return "accept"
	}
	cite := v.Statement
	if cite == "" {
		cite = "§" + v.Section
	}
	return fmt.Sprintf("reject %s [%s] 0x%02X", v.Rule, cite, byte(v.Reason))
}

// Options choose what Packet generates.
type Options struct {
	// Version is codec.V311 or codec.V5; codec.VersionUnknown draws one of the two.
	Version codec.Version
	// Sender says who sends the packets: codec.SideClient generates what a broker receives,
	// codec.SideServer what a client receives, codec.SideUnknown every packet type.
	Sender codec.Side
	// Types restricts the packet types (nil: every type the sender sends in the version).
	Types []codec.PacketType
	// Defect is Valid (the default), Any, or one specific defect.
	Defect Defect
	// MaxField is the longest string or binary field generated (default and maximum 65535).
	// Long fields are rare; lower it to keep every packet small.
	MaxField int
}

// Case is one generated packet and what a conforming parser must do with it.
type Case struct {
	Version codec.Version
	Sender  codec.Side
	Type    codec.PacketType
	Defect  Defect
	// Packet is the packet as generated. For a valid case it is exactly what a parser must
	// decode from Bytes; for a broken case it is the packet before (or, for struct-level
	// defects, with) the defect, for reference only.
	Packet codec.Packet
	// Bytes is the encoded packet, with the defect applied.
	Bytes []byte
	// Want is the verdict a conforming parser must reach.
	Want Verdict
	// Detail says what was broken ("packet identifier 0"), empty for a valid case.
	Detail string
}

// String describes the case on one line.
func (c *Case) String() string {
	if c.Want.Accept {
		return fmt.Sprintf("%s %v valid: %v", c.Version, c.Type, c.Packet)
	}
	return fmt.Sprintf("%s %v %s (%s): %v", c.Version, c.Type, c.Defect, c.Detail, c.Want)
}

// Check compares a parser's outcome with the verdict: got and err are what the parser returned
// for Bytes, got converted to codec's structs (nil when the parser rejected, or when its fields
// cannot be compared). It returns nil when the parser behaved as the specification requires.
func (c *Case) Check(got codec.Packet, err error) error {
	switch {
	case c.Want.Accept && err != nil:
		return fmt.Errorf("%v: rejected a valid packet (% X): %v", c.Type, c.Bytes, err)
	case c.Want.Accept && got != nil:
		if d := Diff(c.Packet, got); d != "" {
			return fmt.Errorf("%v: decoded fields differ from what was encoded (% X): %s", c.Type, c.Bytes, d)
		}
	case !c.Want.Accept && err == nil:
		return fmt.Errorf("%v: accepted a packet with %s (% X); it must be rejected citing %s (%s)",
			c.Type, c.Detail, c.Bytes, c.Want.Cite(c.Version), c.Want.Rule)
	}
	return nil
}

// Packet generates one packet from fuzz bytes. Any input, the empty one included, gives a case.
func Packet(data []byte, o Options) *Case { return FromSource(NewSource(data), o) }

// FromSource generates one packet drawing from s (sessions draw several packets from one Source).
func FromSource(s *Source, o Options) *Case {
	g := &builder{s: s, o: o, max: o.MaxField}
	if g.max <= 0 || g.max > 65535 {
		g.max = 65535
	}
	g.v = o.Version
	if g.v != codec.V311 && g.v != codec.V5 {
		g.v = codec.V311
		if s.Bool() {
			g.v = codec.V5
		}
	}
	defect := o.Defect
	if defect == Any {
		defect = Valid
		if s.Bool() {
			defect = Defect(1 + s.Intn(int(numDefects)-1))
		}
	}
	if defect >= numDefects {
		defect = Valid
	}
	types := o.Types
	if len(types) == 0 {
		types = sentBy(o.Sender, g.v)
	}
	if defect != Valid {
		var able []codec.PacketType
		for _, t := range types {
			g.t = t
			if len(g.variants(defect)) > 0 {
				able = append(able, t)
			}
		}
		if len(able) == 0 {
			defect = Valid // nothing in the allowed types can carry this defect
		} else {
			types = able
		}
	}
	g.t = types[s.Intn(len(types))]
	g.p = g.build(g.t)
	g.want = Verdict{Accept: true}
	if defect != Valid {
		vs := g.variants(defect)
		vs[s.Intn(len(vs))](g)
	}
	if g.b == nil {
		g.encode()
	}
	return &Case{Version: g.v, Sender: o.Sender, Type: g.t, Defect: defect, Packet: g.p, Bytes: g.b,
		Want: g.want, Detail: g.detail}
}

// sentBy lists the packet types a side sends in a version.
func sentBy(side codec.Side, v codec.Version) []codec.PacketType {
	var ts []codec.PacketType
	for t := codec.CONNECT; t <= codec.AUTH; t++ {
		if t == codec.AUTH && v != codec.V5 {
			continue
		}
		switch side {
		case codec.SideClient:
			if t == codec.CONNACK || t == codec.SUBACK || t == codec.UNSUBACK || t == codec.PINGRESP {
				continue
			}
		case codec.SideServer:
			if t == codec.CONNECT || t == codec.SUBSCRIBE || t == codec.UNSUBSCRIBE || t == codec.PINGREQ {
				continue
			}
		}
		ts = append(ts, t)
	}
	return ts
}

// rules indexes the codec's rules by name, for verdicts.
var rules = func() map[string]codec.Rule {
	m := make(map[string]codec.Rule)
	for _, r := range codec.Rules() {
		m[r.Name] = r
	}
	return m
}()

// VerdictFor returns the rejection verdict for a codec rule in a version (Accept when the rule is
// unknown, which the package's tests rule out for every rule it uses).
func VerdictFor(rule string, v codec.Version) Verdict {
	r, ok := rules[rule]
	if !ok {
		return Verdict{Accept: true}
	}
	return Verdict{Rule: r.Name, Statement: r.Statement(v), Section: r.Section(v), Reason: r.Reason}
}
