package codec

import (
	"fmt"
	"strings"
)

// Pingreq is the PINGREQ packet (section 3.12).
type Pingreq struct{}

// Pingresp is the PINGRESP packet (section 3.13).
type Pingresp struct{}

// Type returns PINGREQ.
func (*Pingreq) Type() PacketType { return PINGREQ }

// Type returns PINGRESP.
func (*Pingresp) Type() PacketType { return PINGRESP }

// AppendTo appends the encoded packet.
func (*Pingreq) AppendTo(dst []byte, _ Version) ([]byte, error) {
	return append(dst, byte(PINGREQ)<<4, 0), nil
}

// AppendTo appends the encoded packet.
func (*Pingresp) AppendTo(dst []byte, _ Version) ([]byte, error) {
	return append(dst, byte(PINGRESP)<<4, 0), nil
}

func (*Pingreq) decode(*dec, byte) error  { return nil }
func (*Pingresp) decode(*dec, byte) error { return nil }

// String renders the packet.
func (*Pingreq) String() string { return "PINGREQ" }

// String renders the packet.
func (*Pingresp) String() string { return "PINGRESP" }

// Disconnect is the DISCONNECT packet (section 3.14); 3.1.1 carries no fields.
type Disconnect struct {
	ReasonCode ReasonCode
	Properties Properties
}

// Type returns DISCONNECT.
func (*Disconnect) Type() PacketType { return DISCONNECT }

// AppendTo appends the encoded packet.
func (p *Disconnect) AppendTo(dst []byte, v Version) ([]byte, error) {
	return appendReasonProps(dst, v, DISCONNECT, p.ReasonCode, &p.Properties)
}

func appendReasonProps(dst []byte, v Version, t PacketType, rc ReasonCode, p *Properties) ([]byte, error) {
	n := 0
	// DISCONNECT may stop after the reason code (§3.14.2.2.1 defaults a missing Property Length
	// to 0); AUTH may not (§3.15.2.1 allows omitting both or neither), so it always carries one.
	props := !p.Empty() || t == AUTH
	if v == V5 && (rc != 0 || !p.Empty()) {
		n = 1
		if props {
			n += p.blockSize()
		}
	}
	dst, err := appendHeader(dst, byte(t)<<4, n)
	if err != nil || n == 0 {
		return dst, err
	}
	dst = append(dst, byte(rc))
	if props {
		return p.appendBlock(dst, t)
	}
	return dst, nil
}

func (d *dec) reasonProps(rc *ReasonCode, p *Properties) error {
	*rc = 0
	p.reset()
	if d.v != V5 || d.remaining() == 0 {
		return nil
	}
	at := d.off
	*rc = ReasonCode(d.b[d.off])
	d.off++
	if err := d.checkReason(*rc, at); err != nil {
		return err
	}
	if d.remaining() == 0 {
		if d.t == AUTH {
			// §3.15.2.1: the Reason Code and the Property Length are omitted together or not
			// at all; only DISCONNECT defaults a missing Property Length (§3.14.2.2.1).
			return d.truncated("property length")
		}
		return nil
	}
	return d.props(p, d.t)
}

func (p *Disconnect) decode(d *dec, _ byte) error {
	if err := d.reasonProps(&p.ReasonCode, &p.Properties); err != nil {
		return err
	}
	if p.Properties.Has(PropSessionExpiry) && !PropSessionExpiry.AllowedFrom(DISCONNECT, d.side) {
		return d.fail(ruleDiscExpiryServer, "Session Expiry Interval", "", 0)
	}
	return nil
}

// String renders the packet on one line.
func (p *Disconnect) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DISCONNECT reason=0x%02X", byte(p.ReasonCode))
	writeProps(&b, &p.Properties)
	return b.String()
}

// Auth is the v5 AUTH packet (section 3.15).
type Auth struct {
	ReasonCode ReasonCode
	Properties Properties
}

// Type returns AUTH.
func (*Auth) Type() PacketType { return AUTH }

// AppendTo appends the encoded packet (the type is reserved before 5.0, but a test may send it).
func (p *Auth) AppendTo(dst []byte, _ Version) ([]byte, error) {
	return appendReasonProps(dst, V5, AUTH, p.ReasonCode, &p.Properties)
}

func (p *Auth) decode(d *dec, _ byte) error { return d.reasonProps(&p.ReasonCode, &p.Properties) }

// String renders the packet on one line.
func (p *Auth) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AUTH reason=0x%02X", byte(p.ReasonCode))
	writeProps(&b, &p.Properties)
	return b.String()
}
