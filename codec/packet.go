package codec

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Packet is one MQTT control packet. The concrete types are the structs of this package.
type Packet interface {
	// Type returns the control packet type.
	Type() PacketType
	// AppendTo appends the packet, encoded for version v, to dst.
	AppendTo(dst []byte, v Version) ([]byte, error)
	// String renders the packet on one line for logs and transcripts.
	String() string
	decode(d *dec, flags byte) error
}

// New returns an empty packet of type t, or nil for a reserved type.
func New(t PacketType) Packet {
	switch t {
	case CONNECT:
		return &Connect{}
	case CONNACK:
		return &Connack{}
	case PUBLISH:
		return &Publish{}
	case PUBACK:
		return &Puback{}
	case PUBREC:
		return &Pubrec{}
	case PUBREL:
		return &Pubrel{}
	case PUBCOMP:
		return &Pubcomp{}
	case SUBSCRIBE:
		return &Subscribe{}
	case SUBACK:
		return &Suback{}
	case UNSUBSCRIBE:
		return &Unsubscribe{}
	case UNSUBACK:
		return &Unsuback{}
	case PINGREQ:
		return &Pingreq{}
	case PINGRESP:
		return &Pingresp{}
	case DISCONNECT:
		return &Disconnect{}
	case AUTH:
		return &Auth{}
	}
	return nil
}

// MaxPacketSize is the largest packet MQTT can express: a 1-byte header, a 4-byte remaining
// length and 268,435,455 bytes of body.
const MaxPacketSize = 1 + 4 + MaxVarint

// ErrShort means the buffer holds only the beginning of a packet; more bytes are needed.
var ErrShort = errors.New("incomplete packet")

func appendHeader(dst []byte, b0 byte, n int) ([]byte, error) {
	if n > MaxVarint {
		return dst, fmt.Errorf("encode %v: remaining length %d exceeds %d: %w", PacketType(b0>>4), n, MaxVarint, ErrMalformed)
	}
	return AppendVarint(append(dst, b0), uint32(n)), nil
}

// Encode returns the packet encoded for version v.
func Encode(p Packet, v Version) ([]byte, error) { return p.AppendTo(nil, v) }

// Header is the decoded fixed header of a packet.
type Header struct {
	Type      PacketType
	Flags     byte
	Remaining int // remaining length
	Len       int // bytes the fixed header itself takes
}

// PacketLen is the total size of the packet: header plus remaining length.
func (h Header) PacketLen() int { return h.Len + h.Remaining }

// ParseHeader decodes the fixed header at the front of b. It returns ErrShort when b ends inside
// the header, and a *Error for a malformed remaining length.
func ParseHeader(b []byte, v Version) (Header, error) {
	if len(b) < 2 {
		return Header{}, ErrShort
	}
	x, n, err := decodeVarint(b[1:])
	switch err {
	case errVarintShort:
		return Header{}, ErrShort
	case errVarintLong:
		return Header{}, newError(ruleVarintLong, v, PacketType(b[0]>>4), "remaining length", 1, "more than four bytes")
	}
	h := Header{Type: PacketType(b[0] >> 4), Flags: b[0] & 0x0f, Remaining: int(x), Len: 1 + n}
	if n > varintLen(x) {
		return h, newError(ruleVarintMinimal, v, h.Type, "remaining length", 1, fmt.Sprintf("value %d encoded in %d bytes", x, n))
	}
	return h, nil
}

// Options control a decode.
type Options struct {
	// Version the packets are decoded as. VersionUnknown is allowed until a CONNECT is seen; other
	// packets are then decoded as 3.1.1.
	Version Version
	// Lenient decodes past every violation it can step over and records it in Violations.
	Lenient bool
	// MaxPacketSize limits the whole packet (header included); 0 means MaxPacketSize.
	MaxPacketSize int
	// Sender enables the checks that bind only clients or only servers.
	Sender Side
}

// Decoder decodes packets into structs it owns: after the first packet of each type it does not
// allocate. A returned packet (and its strings and slices, which alias the input) is valid until
// the next Decode call or until the input is modified. A Decoder is not safe for concurrent use.
type Decoder struct {
	Options
	// Violations lists what the last packet broke (lenient mode only; strict mode returns the error).
	Violations []Error

	// d is the decode state, kept here so that it does not escape to the heap on every call.
	d dec

	connect     Connect
	connack     Connack
	publish     Publish
	puback      Puback
	pubrec      Pubrec
	pubrel      Pubrel
	pubcomp     Pubcomp
	subscribe   Subscribe
	suback      Suback
	unsubscribe Unsubscribe
	unsuback    Unsuback
	pingreq     Pingreq
	pingresp    Pingresp
	disconnect  Disconnect
	auth        Auth
}

// NewDecoder returns a strict decoder for version v.
func NewDecoder(v Version) *Decoder { return &Decoder{Options: Options{Version: v}} }

// packet returns the decoder's own packet of type t, or a new one when dc is nil (the allocating
// path), or nil for a reserved type.
func (dc *Decoder) packet(t PacketType) Packet {
	if dc == nil {
		return New(t)
	}
	switch t {
	case CONNECT:
		return &dc.connect
	case CONNACK:
		return &dc.connack
	case PUBLISH:
		return &dc.publish
	case PUBACK:
		return &dc.puback
	case PUBREC:
		return &dc.pubrec
	case PUBREL:
		return &dc.pubrel
	case PUBCOMP:
		return &dc.pubcomp
	case SUBSCRIBE:
		return &dc.subscribe
	case SUBACK:
		return &dc.suback
	case UNSUBSCRIBE:
		return &dc.unsubscribe
	case UNSUBACK:
		return &dc.unsuback
	case PINGREQ:
		return &dc.pingreq
	case PINGRESP:
		return &dc.pingresp
	case DISCONNECT:
		return &dc.disconnect
	case AUTH:
		return &dc.auth
	}
	return nil
}

// Decode decodes the packet at the front of b and returns it with the number of bytes it took.
// It returns ErrShort when b holds only part of a packet. A CONNECT sets the decoder's Version
// to the protocol level it carries.
func (dc *Decoder) Decode(b []byte) (Packet, int, error) {
	dc.Violations = dc.Violations[:0]
	p, n, err := decodeOne(&dc.d, b, &dc.Options, &dc.Violations, dc)
	if err == nil && p.Type() == CONNECT && dc.d.v.Valid() {
		dc.Version = dc.d.v
	}
	return p, n, err
}

// Decode decodes one packet of version v from the front of b into a newly allocated packet that
// owns its memory (b may be reused afterwards). It returns the number of bytes consumed.
func Decode(v Version, b []byte) (Packet, int, error) {
	return DecodeWith(Options{Version: v}, b, nil)
}

// DecodeWith is Decode with options; in lenient mode violations are appended to *viol.
func DecodeWith(o Options, b []byte, viol *[]Error) (Packet, int, error) {
	h, err := ParseHeader(b, o.Version)
	if err != nil && !(o.Lenient && isRule(err, ruleVarintMinimal)) {
		return nil, 0, err
	}
	if err := checkLimit(h, &o); err != nil {
		return nil, 0, err
	}
	if len(b) < h.PacketLen() {
		return nil, 0, ErrShort
	}
	own := append([]byte(nil), b[:h.PacketLen()]...)
	d := decPool.Get().(*dec)
	p, n, err := decodeOne(d, own, &o, viol, nil)
	*d = dec{} // drop references to the input and the violation list
	decPool.Put(d)
	return p, n, err
}

// decPool recycles decode states for the allocating path, where a fresh one would escape to the
// heap on every call (the packet's decode method is called through an interface).
var decPool = sync.Pool{New: func() any { return new(dec) }}

func isRule(err error, r *Rule) bool {
	e, ok := err.(*Error)
	return ok && e.Rule == r.Name
}

// checkLimit enforces the maximum packet size from the fixed header alone, before any body byte
// is looked at (or, on a stream, read).
func checkLimit(h Header, o *Options) error {
	limit := o.MaxPacketSize
	if limit <= 0 {
		limit = MaxPacketSize
	}
	if h.PacketLen() > limit {
		return newError(rulePacketTooLarge, o.Version, h.Type, "remaining length", 1,
			fmt.Sprintf("packet of %d bytes exceeds the limit of %d", h.PacketLen(), limit))
	}
	return nil
}

// decodeOne decodes the packet at the front of b with the state d, into a packet from dc (or a
// new one when dc is nil).
func decodeOne(d *dec, b []byte, o *Options, viol *[]Error, dc *Decoder) (Packet, int, error) {
	v := o.Version
	h, err := ParseHeader(b, v)
	if err != nil {
		if o.Lenient && isRule(err, ruleVarintMinimal) {
			if viol != nil {
				*viol = append(*viol, *err.(*Error))
			}
		} else {
			return nil, 0, err
		}
	}
	if err := checkLimit(h, o); err != nil {
		return nil, 0, err
	}
	n := h.PacketLen()
	if len(b) < n {
		return nil, 0, ErrShort
	}
	if v == VersionUnknown && h.Type != CONNECT {
		v = V311
	}
	*d = dec{b: b[h.Len:n], hdr: h.Len, v: v, t: h.Type, side: o.Sender, lenient: o.Lenient, viol: viol}
	p := dc.packet(h.Type)
	if p == nil || (h.Type == AUTH && v != V5) {
		r := rulePacketType
		if p != nil {
			r = ruleWrongVersionPkt
		}
		return nil, n, newError(r, v, h.Type, "fixed header", 0, fmt.Sprintf("packet type %d", h.Type))
	}
	if h.Type != PUBLISH && h.Flags != requiredFlags[h.Type] {
		if err := d.flags(h); err != nil {
			return nil, n, err
		}
	}
	if err := p.decode(d, h.Flags); err != nil {
		return nil, n, err
	}
	if d.off != len(d.b) {
		if err := d.fail(ruleTrailing, "", fmt.Sprintf("%d bytes after the last field", len(d.b)-d.off), d.off); err != nil {
			return nil, n, err
		}
	}
	return p, n, nil
}

// flags reports fixed-header flags that differ from what the packet type requires.
func (d *dec) flags(h Header) error {
	r := ruleReservedFlags
	switch h.Type {
	case PUBREL:
		r = rulePubrelFlags
	case SUBSCRIBE:
		r = ruleSubscribeFlags
	case UNSUBSCRIBE:
		r = ruleUnsubscribeFlags
	case DISCONNECT:
		r = ruleDisconnectFlags
	case AUTH:
		r = ruleAuthFlags
	}
	// 3.1 clients set DUP on PUBREL, SUBSCRIBE and UNSUBSCRIBE retransmissions (the 3.1 header
	// carries DUP/QoS/RETAIN on every packet): tolerate DUP there.
	if d.v == V31 && h.Flags&^8 == requiredFlags[h.Type] {
		return nil
	}
	return d.fail(r, "fixed header", fmt.Sprintf("flags are %04b, must be %04b", h.Flags, requiredFlags[h.Type]), -h.Len)
}

// Validate reports the first strict-mode violation in p when encoded for v (nil when p is valid).
// sender enables the direction-dependent rules.
func Validate(p Packet, v Version, sender Side) error {
	b, err := p.AppendTo(nil, v)
	if err != nil {
		return err
	}
	_, _, err = DecodeWith(Options{Version: v, Sender: sender}, b, nil)
	return err
}

// ReadPacket reads exactly one packet from r, allocating a buffer no larger than the bytes that
// actually arrive (never what the header merely claims) and enforcing the size limit in o before
// reading the body.
func ReadPacket(r io.Reader, o Options) (Packet, []byte, error) {
	rd := NewReader(r, o)
	p, err := rd.ReadPacket()
	return p, rd.LastRaw(), err
}

// PropertiesOf returns the property block of p (a CONNECT's own, not its will's), or nil for
// PINGREQ and PINGRESP, which carry none.
func PropertiesOf(p Packet) *Properties {
	switch p := p.(type) {
	case *Connect:
		return &p.Properties
	case *Connack:
		return &p.Properties
	case *Publish:
		return &p.Properties
	case *Puback:
		return &p.Properties
	case *Pubrec:
		return &p.Properties
	case *Pubrel:
		return &p.Properties
	case *Pubcomp:
		return &p.Properties
	case *Subscribe:
		return &p.Properties
	case *Suback:
		return &p.Properties
	case *Unsubscribe:
		return &p.Properties
	case *Unsuback:
		return &p.Properties
	case *Disconnect:
		return &p.Properties
	case *Auth:
		return &p.Properties
	}
	return nil
}
