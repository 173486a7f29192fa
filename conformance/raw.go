package conformance

import (
	"slices"

	"github.com/mqttspec/mqttspec/codec"
)

// Byte-level packet construction for cases that send what a correct client never would: the
// codec encodes permissively, and these helpers bend the result where no field of the packet
// structs can (flag nibbles, lengths, trailing bytes).

// Encode encodes p for protocol version v (usually t.Version); a failure is a harness error, as
// the packet is the case's own.
func (t *T) Encode(p codec.Packet, v codec.Version) []byte {
	b, err := codec.Encode(p, v)
	if err != nil {
		t.Errorf("encode %v: %v", p.Type(), err)
	}
	return b
}

// WithFlags returns a copy of the encoded packet b whose fixed-header flag nibble is flags.
func WithFlags(b []byte, flags byte) []byte {
	out := slices.Clone(b)
	out[0] = out[0]&0xF0 | flags&0x0F
	return out
}

// Reframe builds a packet from a first header byte and a body, computing the Remaining Length.
func Reframe(b0 byte, body []byte) []byte {
	out := append([]byte{b0}, codec.AppendVarint(nil, uint32(len(body)))...)
	return append(out, body...)
}

// Body returns a copy of the bytes of the encoded packet b after its fixed header.
func (t *T) Body(b []byte) []byte {
	h, err := codec.ParseHeader(b, codec.V5)
	if err != nil {
		t.Errorf("parse own packet: %v", err)
	}
	return slices.Clone(b[h.Len:])
}
