package codec

import (
	"fmt"
	"strings"
)

// Puback is the PUBACK packet (section 3.4).
type Puback struct {
	PacketID   uint16
	ReasonCode ReasonCode // v5 only
	Properties Properties // v5 only
}

// Pubrec is the PUBREC packet (section 3.5).
type Pubrec Puback

// Pubrel is the PUBREL packet (section 3.6).
type Pubrel Puback

// Pubcomp is the PUBCOMP packet (section 3.7).
type Pubcomp Puback

// Type returns PUBACK.
func (*Puback) Type() PacketType { return PUBACK }

// Type returns PUBREC.
func (*Pubrec) Type() PacketType { return PUBREC }

// Type returns PUBREL.
func (*Pubrel) Type() PacketType { return PUBREL }

// Type returns PUBCOMP.
func (*Pubcomp) Type() PacketType { return PUBCOMP }

// AppendTo appends the encoded packet.
func (p *Puback) AppendTo(dst []byte, v Version) ([]byte, error) {
	return (*ack)(p).appendTo(dst, v, PUBACK)
}

// AppendTo appends the encoded packet.
func (p *Pubrec) AppendTo(dst []byte, v Version) ([]byte, error) {
	return (*ack)(p).appendTo(dst, v, PUBREC)
}

// AppendTo appends the encoded packet.
func (p *Pubrel) AppendTo(dst []byte, v Version) ([]byte, error) {
	return (*ack)(p).appendTo(dst, v, PUBREL)
}

// AppendTo appends the encoded packet.
func (p *Pubcomp) AppendTo(dst []byte, v Version) ([]byte, error) {
	return (*ack)(p).appendTo(dst, v, PUBCOMP)
}

func (p *Puback) decode(d *dec, _ byte) error  { return (*ack)(p).decode(d) }
func (p *Pubrec) decode(d *dec, _ byte) error  { return (*ack)(p).decode(d) }
func (p *Pubrel) decode(d *dec, _ byte) error  { return (*ack)(p).decode(d) }
func (p *Pubcomp) decode(d *dec, _ byte) error { return (*ack)(p).decode(d) }

// String renders the packet on one line.
func (p *Puback) String() string { return (*ack)(p).String(PUBACK) }

// String renders the packet on one line.
func (p *Pubrec) String() string { return (*ack)(p).String(PUBREC) }

// String renders the packet on one line.
func (p *Pubrel) String() string { return (*ack)(p).String(PUBREL) }

// String renders the packet on one line.
func (p *Pubcomp) String() string { return (*ack)(p).String(PUBCOMP) }

// ack is the shared layout of the four QoS acknowledgements.
type ack Puback

func (p *ack) appendTo(dst []byte, v Version, t PacketType) ([]byte, error) {
	n := 2
	props := v == V5 && !p.Properties.Empty()
	if v == V5 && (p.ReasonCode != 0 || props) {
		n++
		if props {
			n += p.Properties.blockSize()
		}
	}
	dst, err := appendHeader(dst, byte(t)<<4|requiredFlags[t], n)
	if err != nil {
		return dst, err
	}
	dst = appendU16(dst, p.PacketID)
	if n > 2 {
		dst = append(dst, byte(p.ReasonCode))
		if props {
			return p.Properties.appendBlock(dst, t)
		}
	}
	return dst, nil
}

func (p *ack) decode(d *dec) error {
	p.ReasonCode = 0
	p.Properties.reset()
	at := d.off
	id, err := d.u16("packet identifier")
	if err != nil {
		return err
	}
	p.PacketID = id
	if id == 0 {
		if err := d.fail(ruleAckIDZero, "packet identifier", "packet identifier 0", at); err != nil {
			return err
		}
	}
	if d.v != V5 || d.remaining() == 0 {
		return nil
	}
	rcAt := d.off
	rc, _ := d.u8("reason code")
	p.ReasonCode = ReasonCode(rc)
	if err := d.checkReason(p.ReasonCode, rcAt); err != nil {
		return err
	}
	if d.remaining() == 0 {
		return nil
	}
	return d.props(&p.Properties, d.t)
}

func (p *ack) String(t PacketType) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v id=%d", t, p.PacketID)
	if p.ReasonCode != 0 {
		fmt.Fprintf(&b, " reason=0x%02X", byte(p.ReasonCode))
	}
	writeProps(&b, &p.Properties)
	return b.String()
}
