package codec

import (
	"fmt"
	"strings"
)

// Subscription is one topic filter of a SUBSCRIBE with its options (section 3.8.3.1). In 3.1.1
// only QoS is carried; the v5 options are ignored there.
type Subscription struct {
	Filter            string
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	ReservedBits      byte // bits 7-6 of the options byte (v5) or 7-2 (3.1.1), which must be zero
}

func (s *Subscription) options(v Version) byte {
	o := s.QoS & 3
	if v == V5 {
		if s.NoLocal {
			o |= 0x04
		}
		if s.RetainAsPublished {
			o |= 0x08
		}
		o |= (s.RetainHandling & 3) << 4
		o |= s.ReservedBits << 6
	} else {
		o |= s.ReservedBits << 2
	}
	return o
}

// Subscribe is the SUBSCRIBE packet (section 3.8).
type Subscribe struct {
	PacketID      uint16
	Properties    Properties
	Subscriptions []Subscription
}

// Type returns SUBSCRIBE.
func (*Subscribe) Type() PacketType { return SUBSCRIBE }

// AppendTo appends the encoded packet.
func (s *Subscribe) AppendTo(dst []byte, v Version) ([]byte, error) {
	n := 2
	if v == V5 {
		n += s.Properties.blockSize()
	}
	for i := range s.Subscriptions {
		if err := checkLen(SUBSCRIBE, "topic filter", len(s.Subscriptions[i].Filter)); err != nil {
			return dst, err
		}
		n += 3 + len(s.Subscriptions[i].Filter)
	}
	dst, err := appendHeader(dst, byte(SUBSCRIBE)<<4|2, n)
	if err != nil {
		return dst, err
	}
	dst = appendU16(dst, s.PacketID)
	if v == V5 {
		if dst, err = s.Properties.appendBlock(dst, SUBSCRIBE); err != nil {
			return dst, err
		}
	}
	for i := range s.Subscriptions {
		dst = appendStr(dst, s.Subscriptions[i].Filter)
		dst = append(dst, s.Subscriptions[i].options(v))
	}
	return dst, nil
}

func (s *Subscribe) decode(d *dec, _ byte) error {
	s.Subscriptions = s.Subscriptions[:0]
	if err := d.packetID(&s.PacketID, rulePacketIDZero); err != nil {
		return err
	}
	if d.v == V5 {
		if err := d.props(&s.Properties, SUBSCRIBE); err != nil {
			return err
		}
	} else {
		s.Properties.reset()
	}
	if d.remaining() == 0 {
		if err := d.fail(ruleSubscribeEmpty, "payload", "no topic filter", d.off); err != nil {
			return err
		}
	}
	for d.remaining() > 0 {
		at := d.off
		f, err := d.str("topic filter")
		if err != nil {
			return err
		}
		if err := d.filter(f, at); err != nil {
			return err
		}
		optAt := d.off
		o, err := d.u8("subscription options")
		if err != nil {
			return err
		}
		sub := Subscription{Filter: f, QoS: o & 3}
		if d.v == V5 {
			sub.NoLocal = o&0x04 != 0
			sub.RetainAsPublished = o&0x08 != 0
			sub.RetainHandling = (o >> 4) & 3
			sub.ReservedBits = o >> 6
		} else {
			sub.ReservedBits = o >> 2
		}
		if sub.ReservedBits != 0 {
			if err := d.fail(ruleSubOptsReserved, "subscription options", fmt.Sprintf("reserved bits set in 0x%02X", o), optAt); err != nil {
				return err
			}
		}
		if sub.QoS == 3 {
			if err := d.fail(ruleSubQoS3, "subscription options", "requested QoS 3", optAt); err != nil {
				return err
			}
		}
		if sub.RetainHandling == 3 {
			if err := d.fail(ruleRetainHandling3, "subscription options", "Retain Handling 3", optAt); err != nil {
				return err
			}
		}
		if sub.NoLocal && strings.HasPrefix(f, "$share/") {
			if err := d.fail(ruleSharedNoLocal, "subscription options", "No Local on "+f, optAt); err != nil {
				return err
			}
		}
		s.Subscriptions = append(s.Subscriptions, sub)
	}
	return nil
}

// packetID reads a packet identifier that must not be zero; r is the rule that says so.
func (d *dec) packetID(id *uint16, r *Rule) error {
	at := d.off
	x, err := d.u16("packet identifier")
	if err != nil {
		return err
	}
	*id = x
	if x == 0 {
		return d.fail(r, "packet identifier", "packet identifier 0", at)
	}
	return nil
}

func (d *dec) filter(f string, at int) error {
	if r, detail := filterRule(f, d.v); r != nil {
		return d.fail(r, "topic filter", fmt.Sprintf("%s: %q", detail, f), at)
	}
	return nil
}

// String renders the packet on one line.
func (s *Subscribe) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "SUBSCRIBE id=%d", s.PacketID)
	for _, sub := range s.Subscriptions {
		fmt.Fprintf(&b, " [%q qos=%d", sub.Filter, sub.QoS)
		if sub.NoLocal {
			b.WriteString(" nl")
		}
		if sub.RetainAsPublished {
			b.WriteString(" rap")
		}
		if sub.RetainHandling != 0 {
			fmt.Fprintf(&b, " rh=%d", sub.RetainHandling)
		}
		b.WriteString("]")
	}
	writeProps(&b, &s.Properties)
	return b.String()
}

// Suback is the SUBACK packet (section 3.9): one reason (or 3.1.1 return) code per filter.
type Suback struct {
	PacketID    uint16
	Properties  Properties
	ReasonCodes []ReasonCode
}

// Type returns SUBACK.
func (*Suback) Type() PacketType { return SUBACK }

// AppendTo appends the encoded packet.
func (s *Suback) AppendTo(dst []byte, v Version) ([]byte, error) {
	return appendIDPropsCodes(dst, v, SUBACK, s.PacketID, &s.Properties, s.ReasonCodes, true)
}

func appendIDPropsCodes(dst []byte, v Version, t PacketType, id uint16, p *Properties, codes []ReasonCode, v3codes bool) ([]byte, error) {
	n := 2
	if v == V5 {
		n += p.blockSize()
	}
	if v == V5 || v3codes {
		n += len(codes)
	}
	dst, err := appendHeader(dst, byte(t)<<4, n)
	if err != nil {
		return dst, err
	}
	dst = appendU16(dst, id)
	if v == V5 {
		if dst, err = p.appendBlock(dst, t); err != nil {
			return dst, err
		}
	}
	if v == V5 || v3codes {
		for _, c := range codes {
			dst = append(dst, byte(c))
		}
	}
	return dst, nil
}

func (s *Suback) decode(d *dec, _ byte) error {
	codes, err := d.idPropsCodes(&s.PacketID, &s.Properties, s.ReasonCodes[:0])
	s.ReasonCodes = codes
	return err
}

func (d *dec) idPropsCodes(id *uint16, p *Properties, codes []ReasonCode) ([]ReasonCode, error) {
	if err := d.packetID(id, ruleSubAckIDZero); err != nil {
		return codes, err
	}
	if d.v == V5 {
		if err := d.props(p, d.t); err != nil {
			return codes, err
		}
	} else {
		p.reset()
		if d.t == UNSUBACK {
			return codes, nil
		}
	}
	for d.remaining() > 0 {
		at := d.off
		rc := ReasonCode(d.b[d.off])
		d.off++
		if err := d.checkReason(rc, at); err != nil {
			return codes, err
		}
		codes = append(codes, rc)
	}
	return codes, nil
}

// String renders the packet on one line.
func (s *Suback) String() string {
	return idCodesString(SUBACK, s.PacketID, s.ReasonCodes, &s.Properties)
}

func idCodesString(t PacketType, id uint16, codes []ReasonCode, p *Properties) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v id=%d", t, id)
	if len(codes) > 0 {
		b.WriteString(" codes=[")
		for i, c := range codes {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "0x%02X", byte(c))
		}
		b.WriteString("]")
	}
	writeProps(&b, p)
	return b.String()
}

// Unsubscribe is the UNSUBSCRIBE packet (section 3.10).
type Unsubscribe struct {
	PacketID   uint16
	Properties Properties
	Filters    []string
}

// Type returns UNSUBSCRIBE.
func (*Unsubscribe) Type() PacketType { return UNSUBSCRIBE }

// AppendTo appends the encoded packet.
func (u *Unsubscribe) AppendTo(dst []byte, v Version) ([]byte, error) {
	n := 2
	if v == V5 {
		n += u.Properties.blockSize()
	}
	for _, f := range u.Filters {
		if err := checkLen(UNSUBSCRIBE, "topic filter", len(f)); err != nil {
			return dst, err
		}
		n += 2 + len(f)
	}
	dst, err := appendHeader(dst, byte(UNSUBSCRIBE)<<4|2, n)
	if err != nil {
		return dst, err
	}
	dst = appendU16(dst, u.PacketID)
	if v == V5 {
		if dst, err = u.Properties.appendBlock(dst, UNSUBSCRIBE); err != nil {
			return dst, err
		}
	}
	for _, f := range u.Filters {
		dst = appendStr(dst, f)
	}
	return dst, nil
}

func (u *Unsubscribe) decode(d *dec, _ byte) error {
	u.Filters = u.Filters[:0]
	if err := d.packetID(&u.PacketID, rulePacketIDZero); err != nil {
		return err
	}
	if d.v == V5 {
		if err := d.props(&u.Properties, UNSUBSCRIBE); err != nil {
			return err
		}
	} else {
		u.Properties.reset()
	}
	if d.remaining() == 0 {
		if err := d.fail(ruleUnsubscribeEmpty, "payload", "no topic filter", d.off); err != nil {
			return err
		}
	}
	for d.remaining() > 0 {
		at := d.off
		f, err := d.str("topic filter")
		if err != nil {
			return err
		}
		if err := d.filter(f, at); err != nil {
			return err
		}
		u.Filters = append(u.Filters, f)
	}
	return nil
}

// String renders the packet on one line.
func (u *Unsubscribe) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "UNSUBSCRIBE id=%d filters=%q", u.PacketID, u.Filters)
	writeProps(&b, &u.Properties)
	return b.String()
}

// Unsuback is the UNSUBACK packet (section 3.11). 3.1.1 carries no reason codes.
type Unsuback struct {
	PacketID    uint16
	Properties  Properties
	ReasonCodes []ReasonCode
}

// Type returns UNSUBACK.
func (*Unsuback) Type() PacketType { return UNSUBACK }

// AppendTo appends the encoded packet.
func (u *Unsuback) AppendTo(dst []byte, v Version) ([]byte, error) {
	return appendIDPropsCodes(dst, v, UNSUBACK, u.PacketID, &u.Properties, u.ReasonCodes, false)
}

func (u *Unsuback) decode(d *dec, _ byte) error {
	codes, err := d.idPropsCodes(&u.PacketID, &u.Properties, u.ReasonCodes[:0])
	u.ReasonCodes = codes
	return err
}

// String renders the packet on one line.
func (u *Unsuback) String() string {
	return idCodesString(UNSUBACK, u.PacketID, u.ReasonCodes, &u.Properties)
}
