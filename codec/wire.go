package codec

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
	"unsafe"
)

// MaxVarint is the largest value a variable byte integer can carry (section 1.5.5 / 2.2.3).
const MaxVarint = 268435455

// Side says who sent a packet, for the rules that bind only one side.
type Side byte

// Sides. SideUnknown skips the direction-dependent checks.
const (
	SideUnknown Side = iota
	SideClient
	SideServer
)

// dec walks one packet body. In lenient mode fail records the violation and returns nil, so the
// caller carries on where the bytes still make sense; structural errors use fatal and always stop.
type dec struct {
	b       []byte
	off     int
	hdr     int // length of the fixed header, to report offsets from the packet start
	v       Version
	t       PacketType
	side    Side
	lenient bool
	viol    *[]Error
}

func (d *dec) fail(r *Rule, field, detail string, at int) error {
	e := newError(r, d.v, d.t, field, at+d.hdr, detail)
	if d.lenient && r != ruleTruncated && r != ruleVarintLong && r != rulePropUnknown && r != rulePropLength {
		if d.viol != nil {
			*d.viol = append(*d.viol, *e)
		}
		return nil
	}
	return e
}

func (d *dec) truncated(field string) error {
	return newError(ruleTruncated, d.v, d.t, field, d.off+d.hdr, fmt.Sprintf("packet ends at byte %d", len(d.b)+d.hdr))
}

func (d *dec) remaining() int { return len(d.b) - d.off }

func (d *dec) u8(field string) (byte, error) {
	if d.off >= len(d.b) {
		return 0, d.truncated(field)
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *dec) u16(field string) (uint16, error) {
	if d.off+2 > len(d.b) {
		return 0, d.truncated(field)
	}
	x := uint16(d.b[d.off])<<8 | uint16(d.b[d.off+1])
	d.off += 2
	return x, nil
}

func (d *dec) u32(field string) (uint32, error) {
	if d.off+4 > len(d.b) {
		return 0, d.truncated(field)
	}
	b := d.b[d.off : d.off+4]
	d.off += 4
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), nil
}

func (d *dec) varint(field string) (uint32, error) {
	x, n, err := decodeVarint(d.b[d.off:])
	at := d.off
	switch err {
	case nil:
	case errVarintShort:
		return 0, d.truncated(field)
	case errVarintLong:
		return 0, d.fail(ruleVarintLong, field, "more than four bytes", at)
	}
	d.off += n
	if n > 1 && n > varintLen(x) {
		if err := d.fail(ruleVarintMinimal, field, fmt.Sprintf("value %d encoded in %d bytes", x, n), at); err != nil {
			return 0, err
		}
	}
	return x, nil
}

// bin reads two-byte-length-prefixed binary data; the result aliases the input.
func (d *dec) bin(field string) ([]byte, error) {
	n, err := d.u16(field)
	if err != nil {
		return nil, err
	}
	if d.off+int(n) > len(d.b) {
		d.off -= 2
		return nil, d.truncated(field)
	}
	s := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return s, nil
}

// str reads a UTF-8 encoded string and checks it (sections 1.5.3 / 1.5.4); the result aliases the input.
func (d *dec) str(field string) (string, error) {
	if d.off+2 > len(d.b) {
		return "", d.truncated(field)
	}
	at := d.off + 2
	end := at + (int(d.b[d.off])<<8 | int(d.b[d.off+1]))
	if end > len(d.b) {
		return "", d.truncated(field)
	}
	b := d.b[at:end:end]
	d.off = end
	if !asciiClean(b) {
		if err := d.checkUTF8(b, field, at); err != nil {
			return "", err
		}
	}
	return bstr(b), nil
}

func (d *dec) checkUTF8(b []byte, field string, at int) error {
	if r, i, detail := utf8Rule(b); r != nil {
		return d.fail(r, field, detail, at+i)
	}
	return nil
}

// utf8Rule returns the rule b breaks as an MQTT UTF-8 string, the offset of the first bad byte and
// what is wrong there, or a nil rule.
func utf8Rule(b []byte) (*Rule, int, string) {
	i, null := badUTF8(b)
	switch {
	case i < 0:
		return nil, 0, ""
	case null:
		return ruleUTF8Null, i, "contains U+0000"
	}
	return ruleUTF8Invalid, i, fmt.Sprintf("ill-formed UTF-8 at string byte %d", i)
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// hasZeroByte reports whether any byte of x is zero (exact as a boolean).
func hasZeroByte(x uint64) bool { return (x-lo8)&^x&hi8 != 0 }

// asciiClean reports whether every byte of b is in 0x01-0x7F: such a string is valid MQTT UTF-8
// without further checks. It looks at eight bytes at a time; false sends the caller to badUTF8.
func asciiClean(b []byte) bool {
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		if x&hi8 != 0 || hasZeroByte(x) {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c-1 >= 0x7F { // c == 0 wraps to 0xFF
			return false
		}
	}
	return true
}

// topicClean is asciiClean that also rejects the wildcards + and #, for topic names.
func topicClean(b []byte) bool {
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		if x&hi8 != 0 || hasZeroByte(x) || hasZeroByte(x^(lo8*'+')) || hasZeroByte(x^(lo8*'#')) {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c-1 >= 0x7F || c == '+' || c == '#' {
			return false
		}
	}
	return true
}

// badUTF8 returns the index of the first offending byte (-1 when the string is fine) and whether
// the offence is U+0000. Go's utf8 package already treats encoded surrogates and overlong forms
// as invalid.
func badUTF8(b []byte) (int, bool) {
	for j := 0; j < len(b); {
		c := b[j]
		if c == 0 {
			return j, true
		}
		if c < utf8.RuneSelf {
			j++
			continue
		}
		r, n := utf8.DecodeRune(b[j:])
		if r == utf8.RuneError && n <= 1 {
			return j, false
		}
		j += n
	}
	return -1, false
}

// ValidUTF8 reports whether s is an MQTT UTF-8 string: well-formed, no surrogates, no U+0000.
func ValidUTF8(s string) bool {
	i, _ := badUTF8(unsafe.Slice(unsafe.StringData(s), len(s)))
	return i < 0
}

// bstr returns a string that shares b's memory: the zero-allocation decode path hands these out,
// and the allocating path calls it only on a private copy of the input.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

type varintError byte

func (e varintError) Error() string {
	if e == errVarintShort {
		return "variable byte integer truncated"
	}
	return "variable byte integer longer than four bytes"
}

const (
	errVarintShort varintError = 1
	errVarintLong  varintError = 2
)

// decodeVarint decodes a variable byte integer from the front of b.
func decodeVarint(b []byte) (uint32, int, error) {
	var x uint32
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, errVarintShort
		}
		c := b[i]
		x |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1, nil
		}
	}
	return 0, 0, errVarintLong
}

// varintLen is the number of bytes the minimal encoding of x takes.
func varintLen(x uint32) int {
	switch {
	case x < 1<<7:
		return 1
	case x < 1<<14:
		return 2
	case x < 1<<21:
		return 3
	}
	return 4
}

// AppendVarint appends the minimal variable byte integer encoding of x (values above MaxVarint
// are truncated to 28 bits; callers check the limit).
func AppendVarint(dst []byte, x uint32) []byte {
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if x > 0 {
			dst = append(dst, c|0x80)
		} else {
			return append(dst, c)
		}
	}
}

func appendU16(dst []byte, x uint16) []byte { return append(dst, byte(x>>8), byte(x)) }

func appendU32(dst []byte, x uint32) []byte {
	return append(dst, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
}

func appendStr(dst []byte, s string) []byte {
	dst = appendU16(dst, uint16(len(s)))
	return append(dst, s...)
}

func appendBin(dst []byte, b []byte) []byte {
	dst = appendU16(dst, uint16(len(b)))
	return append(dst, b...)
}

// errTooLong reports a string or binary field that cannot be encoded in two length bytes.
func errTooLong(t PacketType, field string, n int) error {
	return fmt.Errorf("encode %v: %s is %d bytes, more than 65535: %w", t, field, n, ErrMalformed)
}

func checkLen(t PacketType, field string, n int) error {
	if n > 65535 {
		return errTooLong(t, field, n)
	}
	return nil
}
