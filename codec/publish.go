package codec

import (
	"fmt"
	"strings"
)

// Publish is the PUBLISH packet (section 3.3). QoS is written as given (3 included) so that a test
// can send what the specification forbids.
type Publish struct {
	Dup        bool
	QoS        byte
	Retain     bool
	Topic      string
	PacketID   uint16 // present on the wire only when QoS > 0
	Properties Properties
	Payload    []byte
}

// Type returns PUBLISH.
func (*Publish) Type() PacketType { return PUBLISH }

func (p *Publish) flags() byte {
	f := (p.QoS & 3) << 1
	if p.Dup {
		f |= 0x08
	}
	if p.Retain {
		f |= 0x01
	}
	return f
}

// AppendTo appends the encoded packet.
func (p *Publish) AppendTo(dst []byte, v Version) ([]byte, error) {
	if err := checkLen(PUBLISH, "topic name", len(p.Topic)); err != nil {
		return dst, err
	}
	n := 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		n += 2
	}
	if v == V5 {
		n += p.Properties.blockSize()
	}
	dst, err := appendHeader(dst, byte(PUBLISH)<<4|p.flags(), n)
	if err != nil {
		return dst, err
	}
	dst = appendStr(dst, p.Topic)
	if p.QoS > 0 {
		dst = appendU16(dst, p.PacketID)
	}
	if v == V5 {
		if dst, err = p.Properties.appendBlock(dst, PUBLISH); err != nil {
			return dst, err
		}
	}
	return append(dst, p.Payload...), nil
}

func (p *Publish) decode(d *dec, flags byte) error {
	p.Dup = flags&0x08 != 0
	p.QoS = (flags >> 1) & 3
	p.Retain = flags&0x01 != 0
	p.PacketID = 0
	if p.QoS == 3 {
		if err := d.fail(rulePublishQoS3, "fixed header", "QoS bits are 11", -d.hdr); err != nil {
			return err
		}
	}
	if p.Dup && p.QoS == 0 {
		if err := d.fail(rulePublishDupQoS0, "fixed header", "DUP 1 on a QoS 0 PUBLISH", -d.hdr); err != nil {
			return err
		}
	}
	// Topic name: d.str inlined, with one pass for UTF-8, U+0000 and wildcards on the hot path.
	if d.off+2 > len(d.b) {
		return d.truncated("topic name")
	}
	tl := int(d.b[d.off])<<8 | int(d.b[d.off+1])
	at := d.off + 2
	if at+tl > len(d.b) {
		return d.truncated("topic name")
	}
	tb := d.b[at : at+tl : at+tl]
	d.off = at + tl
	p.Topic = bstr(tb)
	if !topicClean(tb) {
		if err := d.checkUTF8(tb, "topic name", at); err != nil {
			return err
		}
		if r := topicNameRule(p.Topic); r != nil {
			if err := d.fail(r, "topic name", fmt.Sprintf("topic name %q contains a wildcard", p.Topic), at); err != nil {
				return err
			}
		}
	}
	if p.QoS > 0 {
		idAt := d.off
		id, err := d.u16("packet identifier")
		if err != nil {
			return err
		}
		p.PacketID = id
		if id == 0 {
			r := rulePacketIDZero
			if d.side == SideServer {
				r = rulePacketIDZeroSrv
			}
			if err := d.fail(r, "packet identifier", "packet identifier 0", idAt); err != nil {
				return err
			}
		}
	}
	if d.v == V5 {
		if err := d.props(&p.Properties, PUBLISH); err != nil {
			return err
		}
		if len(p.Properties.SubscriptionIDs) > 0 && !PropSubscriptionID.AllowedFrom(PUBLISH, d.side) {
			if err := d.fail(ruleSubIDFromClient, "Subscription Identifier", "", at); err != nil {
				return err
			}
		}
		if tl == 0 && !p.Properties.Has(PropTopicAlias) {
			if err := d.fail(ruleTopicNoAlias, "topic name", "empty topic name without a Topic Alias", at); err != nil {
				return err
			}
		}
	} else {
		p.Properties.reset()
		if tl == 0 {
			if err := d.fail(ruleTopicEmpty, "topic name", "empty topic name", at); err != nil {
				return err
			}
		}
	}
	p.Payload = d.b[d.off:len(d.b):len(d.b)]
	d.off = len(d.b)
	return nil
}

// String renders the packet on one line; the payload is shown quoted when short and printable.
func (p *Publish) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "PUBLISH topic=%q qos=%d", p.Topic, p.QoS)
	if p.QoS > 0 {
		fmt.Fprintf(&b, " id=%d", p.PacketID)
	}
	if p.Dup {
		b.WriteString(" dup")
	}
	if p.Retain {
		b.WriteString(" retain")
	}
	writeProps(&b, &p.Properties)
	fmt.Fprintf(&b, " payload=%d bytes", len(p.Payload))
	if len(p.Payload) > 0 && len(p.Payload) <= 64 && printable(p.Payload) {
		fmt.Fprintf(&b, " %q", p.Payload)
	}
	return b.String()
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
