package codec

import (
	"fmt"
	"strings"
)

// Will is the Will Message carried in a CONNECT payload.
type Will struct {
	QoS        byte
	Retain     bool
	Properties Properties // v5 Will Properties
	Topic      string
	Payload    []byte
}

// Connect is the CONNECT packet (section 3.1). The flag fields are written as given, so a test can
// send a CONNECT whose flags contradict its payload; the Will, Username and Password fields are
// written only when their flag is set.
type Connect struct {
	ProtocolName  string // "MQTT" ("MQIsdp" for 3.1); empty means the default for the level
	ProtocolLevel byte   // 3, 4 or 5; zero means the version passed to AppendTo
	CleanStart    bool   // Clean Session in 3.1.1
	WillFlag      bool
	UsernameFlag  bool
	PasswordFlag  bool
	ReservedFlag  bool // bit 0 of the connect flags, which must be zero
	KeepAlive     uint16
	Properties    Properties
	ClientID      string
	Will          Will
	Username      string
	Password      []byte
}

// Type returns CONNECT.
func (*Connect) Type() PacketType { return CONNECT }

// Version returns the protocol level as a Version.
func (c *Connect) Version() Version { return Version(c.ProtocolLevel) }

func (c *Connect) level(v Version) byte {
	if c.ProtocolLevel != 0 {
		return c.ProtocolLevel
	}
	return byte(v)
}

// layout is the version whose field layout the packet is written in: the protocol level's when it
// is a known one, else the version being encoded for (so a test can send a v5 CONNECT with a
// forged level 6).
func (c *Connect) layout(v Version) Version {
	if l := Version(c.level(v)); l.Valid() {
		return l
	}
	return v
}

func (c *Connect) name(level byte) string {
	if c.ProtocolName != "" {
		return c.ProtocolName
	}
	if level == byte(V31) {
		return "MQIsdp"
	}
	return "MQTT"
}

func (c *Connect) flags() byte {
	var f byte
	if c.ReservedFlag {
		f |= 0x01
	}
	if c.CleanStart {
		f |= 0x02
	}
	if c.WillFlag {
		f |= 0x04
	}
	f |= (c.Will.QoS & 3) << 3
	if c.Will.Retain {
		f |= 0x20
	}
	if c.PasswordFlag {
		f |= 0x40
	}
	if c.UsernameFlag {
		f |= 0x80
	}
	return f
}

func (c *Connect) bodySize(v Version) int {
	level, v5 := c.level(v), c.layout(v) == V5
	n := 2 + len(c.name(level)) + 1 + 1 + 2 + 2 + len(c.ClientID)
	if v5 {
		n += c.Properties.blockSize()
	}
	if c.WillFlag {
		if v5 {
			n += c.Will.Properties.blockSize()
		}
		n += 4 + len(c.Will.Topic) + len(c.Will.Payload)
	}
	if c.UsernameFlag {
		n += 2 + len(c.Username)
	}
	if c.PasswordFlag {
		n += 2 + len(c.Password)
	}
	return n
}

// AppendTo appends the encoded packet. The protocol level comes from ProtocolLevel when set.
func (c *Connect) AppendTo(dst []byte, v Version) ([]byte, error) {
	level := c.level(v)
	for _, f := range []struct {
		name string
		n    int
	}{{"protocol name", len(c.name(level))}, {"client identifier", len(c.ClientID)}, {"will topic", len(c.Will.Topic)},
		{"will payload", len(c.Will.Payload)}, {"user name", len(c.Username)}, {"password", len(c.Password)}} {
		if err := checkLen(CONNECT, f.name, f.n); err != nil {
			return dst, err
		}
	}
	dst, err := appendHeader(dst, byte(CONNECT)<<4, c.bodySize(v))
	if err != nil {
		return dst, err
	}
	v5 := c.layout(v) == V5
	dst = appendStr(dst, c.name(level))
	dst = append(dst, level, c.flags())
	dst = appendU16(dst, c.KeepAlive)
	if v5 {
		if dst, err = c.Properties.appendBlock(dst, CONNECT); err != nil {
			return dst, err
		}
	}
	dst = appendStr(dst, c.ClientID)
	if c.WillFlag {
		if v5 {
			if dst, err = c.Will.Properties.appendBlock(dst, CONNECT); err != nil {
				return dst, err
			}
		}
		dst = appendStr(dst, c.Will.Topic)
		dst = appendBin(dst, c.Will.Payload)
	}
	if c.UsernameFlag {
		dst = appendStr(dst, c.Username)
	}
	if c.PasswordFlag {
		dst = appendBin(dst, c.Password)
	}
	return dst, nil
}

func (c *Connect) decode(d *dec, _ byte) error {
	wp, up := c.Properties, c.Will.Properties
	*c = Connect{Properties: wp, Will: Will{Properties: up}}
	c.Properties.reset()
	c.Will.Properties.reset()
	var err error
	at := d.off
	if c.ProtocolName, err = d.str("protocol name"); err != nil {
		return err
	}
	if c.ProtocolLevel, err = d.u8("protocol level"); err != nil {
		return err
	}
	level := Version(c.ProtocolLevel)
	want := "MQTT"
	if level == V31 {
		want = "MQIsdp"
	}
	if !level.Valid() {
		if err := d.fail(ruleProtocolLevel, "protocol level", fmt.Sprintf("protocol level %d", c.ProtocolLevel), at+2+len(c.ProtocolName)); err != nil {
			return err
		}
		// Lenient: an unknown level has no defined layout; assume the version the decoder was
		// given (the encoder, symmetrically, writes an unknown level in the layout of the version
		// it encodes for).
		level = d.v
		if !level.Valid() {
			level = V311
		}
	}
	// Known from here on, so that an error about the name carries the version (a v5 server can
	// then answer CONNACK 0x84 in the v5 layout).
	d.v = level
	if c.ProtocolName != want {
		if err := d.fail(ruleProtocolName, "protocol name", fmt.Sprintf("protocol name %q, level %d needs %q", c.ProtocolName, c.ProtocolLevel, want), at); err != nil {
			return err
		}
	}
	d.v = level
	flagsAt := d.off
	f, err := d.u8("connect flags")
	if err != nil {
		return err
	}
	c.ReservedFlag = f&0x01 != 0
	c.CleanStart = f&0x02 != 0
	c.WillFlag = f&0x04 != 0
	c.Will.QoS = (f >> 3) & 3
	c.Will.Retain = f&0x20 != 0
	c.PasswordFlag = f&0x40 != 0
	c.UsernameFlag = f&0x80 != 0
	if c.ReservedFlag {
		if err := d.fail(ruleConnectReserved, "connect flags", "reserved bit 0 is set", flagsAt); err != nil {
			return err
		}
	}
	if !c.WillFlag && c.Will.QoS != 0 {
		if err := d.fail(ruleWillQoSNoWill, "connect flags", fmt.Sprintf("Will QoS %d with Will Flag 0", c.Will.QoS), flagsAt); err != nil {
			return err
		}
	}
	if c.Will.QoS == 3 {
		if err := d.fail(ruleWillQoS3, "connect flags", "Will QoS 3", flagsAt); err != nil {
			return err
		}
	}
	if !c.WillFlag && c.Will.Retain {
		if err := d.fail(ruleWillRetainNoWill, "connect flags", "Will Retain 1 with Will Flag 0", flagsAt); err != nil {
			return err
		}
	}
	if level != V5 && c.PasswordFlag && !c.UsernameFlag {
		if err := d.fail(rulePasswordNoUser, "connect flags", "Password Flag 1 with User Name Flag 0", flagsAt); err != nil {
			return err
		}
	}
	if c.KeepAlive, err = d.u16("keep alive"); err != nil {
		return err
	}
	if level == V5 {
		if err := d.props(&c.Properties, CONNECT); err != nil {
			return err
		}
	}
	if c.ClientID, err = d.str("client identifier"); err != nil {
		return err
	}
	if c.WillFlag {
		if level == V5 {
			if err := d.props(&c.Will.Properties, willProps); err != nil {
				return err
			}
		}
		at := d.off
		if c.Will.Topic, err = d.str("will topic"); err != nil {
			return err
		}
		if c.Will.Topic == "" {
			if err := d.fail(ruleTopicEmpty, "will topic", "empty will topic", at); err != nil {
				return err
			}
		} else if topicNameRule(c.Will.Topic) != nil {
			if err := d.fail(ruleWillTopicWild, "will topic", "will topic contains a wildcard", at); err != nil {
				return err
			}
		}
		if c.Will.Payload, err = d.bin("will payload"); err != nil {
			return err
		}
	}
	if c.UsernameFlag {
		if c.Username, err = d.str("user name"); err != nil {
			return err
		}
	}
	if c.PasswordFlag {
		if c.Password, err = d.bin("password"); err != nil {
			return err
		}
	}
	return nil
}

// String renders the packet on one line.
func (c *Connect) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CONNECT %s/%d client_id=%q clean=%t keepalive=%d", c.ProtocolName, c.ProtocolLevel, c.ClientID, c.CleanStart, c.KeepAlive)
	if c.WillFlag {
		fmt.Fprintf(&b, " will={topic=%q qos=%d retain=%t payload=%d bytes", c.Will.Topic, c.Will.QoS, c.Will.Retain, len(c.Will.Payload))
		if !c.Will.Properties.Empty() {
			fmt.Fprintf(&b, " props={%s}", c.Will.Properties.String())
		}
		b.WriteString("}")
	}
	if c.UsernameFlag {
		fmt.Fprintf(&b, " username=%q", c.Username)
	}
	if c.PasswordFlag {
		fmt.Fprintf(&b, " password=%d bytes", len(c.Password))
	}
	if c.ReservedFlag {
		b.WriteString(" reserved=1")
	}
	writeProps(&b, &c.Properties)
	return b.String()
}

func writeProps(b *strings.Builder, p *Properties) {
	if !p.Empty() {
		b.WriteString(" props={")
		b.WriteString(p.String())
		b.WriteString("}")
	}
}

// Connack is the CONNACK packet (section 3.2). In 3.1/3.1.1 ReasonCode holds the return code.
type Connack struct {
	SessionPresent bool
	ReservedFlags  byte // bits 7-1 of the acknowledge flags, which must be zero
	ReasonCode     ReasonCode
	Properties     Properties
}

// Type returns CONNACK.
func (*Connack) Type() PacketType { return CONNACK }

// AppendTo appends the encoded packet.
func (c *Connack) AppendTo(dst []byte, v Version) ([]byte, error) {
	n := 2
	if v == V5 {
		n += c.Properties.blockSize()
	}
	dst, err := appendHeader(dst, byte(CONNACK)<<4, n)
	if err != nil {
		return dst, err
	}
	f := c.ReservedFlags << 1
	if c.SessionPresent {
		f |= 1
	}
	dst = append(dst, f, byte(c.ReasonCode))
	if v == V5 {
		return c.Properties.appendBlock(dst, CONNACK)
	}
	return dst, nil
}

func (c *Connack) decode(d *dec, _ byte) error {
	c.Properties.reset()
	at := d.off
	f, err := d.u8("acknowledge flags")
	if err != nil {
		return err
	}
	c.SessionPresent = f&1 != 0
	c.ReservedFlags = f >> 1
	// 3.1 has no Session Present flag: the whole byte is unused there.
	if d.v != V31 && c.ReservedFlags != 0 {
		if err := d.fail(ruleConnackFlags, "acknowledge flags", fmt.Sprintf("reserved bits are 0x%02X", f&0xFE), at); err != nil {
			return err
		}
	}
	rcAt := d.off
	rc, err := d.u8("reason code")
	if err != nil {
		return err
	}
	c.ReasonCode = ReasonCode(rc)
	if err := d.checkReason(c.ReasonCode, rcAt); err != nil {
		return err
	}
	if c.SessionPresent && c.ReasonCode != 0 {
		if err := d.fail(ruleConnackPresent, "acknowledge flags", "Session Present 1 with a refusing reason code", at); err != nil {
			return err
		}
	}
	if d.v == V5 {
		return d.props(&c.Properties, CONNACK)
	}
	return nil
}

// checkReason checks a reason (or 3.1.1 return) code against the packet type's list.
func (d *dec) checkReason(rc ReasonCode, at int) error {
	ok := true
	switch {
	case d.v == V5:
		ok = rc.ValidFor(d.t)
	case d.t == CONNACK:
		ok = rc <= 5
	case d.t == SUBACK:
		ok = rc <= 2 || rc == 0x80
	}
	if ok {
		return nil
	}
	r := reasonRules[d.t]
	return d.fail(r, "reason code", fmt.Sprintf("reason code 0x%02X is not valid in %v", byte(rc), d.t), at)
}

// String renders the packet on one line.
func (c *Connack) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CONNACK session_present=%t reason=0x%02X", c.SessionPresent, byte(c.ReasonCode))
	writeProps(&b, &c.Properties)
	return b.String()
}
