package gen

import (
	fuzzheaders "github.com/AdaLogics/go-fuzz-headers"
)

// Source draws the values of a packet from fuzz bytes, through go-fuzz-headers' consumer. It
// never fails: once the bytes run out every draw returns its zero value, so any input (the empty
// one included) produces a packet, and a fuzzer's mutations of the input map onto small changes
// of fields.
type Source struct {
	c    *fuzzheaders.ConsumeFuzzer
	done bool
}

// NewSource returns a Source over data.
func NewSource(data []byte) *Source {
	return &Source{c: fuzzheaders.NewConsumer(data)}
}

// Exhausted reports whether a draw has run past the end of the input.
func (s *Source) Exhausted() bool { return s.done }

// Byte draws one byte (0 once the input is exhausted).
func (s *Source) Byte() byte {
	if s.done {
		return 0
	}
	b, err := s.c.GetByte()
	if err != nil {
		s.done = true
		return 0
	}
	return b
}

// Bool draws a boolean (false once the input is exhausted).
func (s *Source) Bool() bool {
	if s.done {
		return false
	}
	b, err := s.c.GetBool()
	if err != nil {
		s.done = true
		return false
	}
	return b
}

// Intn draws an integer in [0, n); n <= 1 gives 0.
func (s *Source) Intn(n int) int {
	switch {
	case n <= 1:
		return 0
	case n <= 256:
		return int(s.Byte()) % n
	case n <= 65536:
		return int(s.Uint16()) % n
	}
	return int(s.Uint32() % uint32(n))
}

// Uint16 draws a big-endian 16-bit value.
func (s *Source) Uint16() uint16 { return uint16(s.Byte())<<8 | uint16(s.Byte()) }

// Uint32 draws a big-endian 32-bit value.
func (s *Source) Uint32() uint32 {
	return uint32(s.Byte())<<24 | uint32(s.Byte())<<16 | uint32(s.Byte())<<8 | uint32(s.Byte())
}

// Edge16 draws a 16-bit value in [lo, hi], at one of its edges half of the time.
func (s *Source) Edge16(lo, hi uint16) uint16 {
	switch s.Byte() % 8 {
	case 0:
		return lo
	case 1:
		return hi
	case 2:
		if lo < hi {
			return lo + 1
		}
		return lo
	case 3:
		if hi > lo {
			return hi - 1
		}
		return hi
	}
	span := uint32(hi) - uint32(lo) + 1
	return lo + uint16(uint32(s.Uint16())%span)
}

// Edge32 draws a 32-bit value in [lo, hi], at one of its edges half of the time.
func (s *Source) Edge32(lo, hi uint32) uint32 {
	switch s.Byte() % 8 {
	case 0:
		return lo
	case 1:
		return hi
	case 2:
		if lo < hi {
			return lo + 1
		}
		return lo
	case 3:
		if hi > lo {
			return hi - 1
		}
		return hi
	}
	span := uint64(hi) - uint64(lo) + 1
	return lo + uint32(uint64(s.Uint32())%span)
}

// Len draws a length in [0, max], biased towards short values and the edges 0 and max.
func (s *Source) Len(max int) int {
	if max <= 0 {
		return 0
	}
	b := s.Byte()
	switch {
	case b == 0xFF:
		return max
	case b == 0xFE:
		return 0
	case b < 0xC0:
		return int(b&0x0F) % (min(max, 16) + 1)
	}
	return int(s.Uint16()) % (max + 1)
}

// Raw draws n bytes; past the end of the input they are zero.
func (s *Source) Raw(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = s.Byte()
	}
	return out
}

// Binary draws binary data of at most max bytes.
func (s *Source) Binary(max int) []byte { return s.Raw(s.Len(max)) }

// textTokens are the pieces valid strings are made of: ASCII, multi-byte characters of every
// UTF-8 length, and U+FEFF, which a receiver must not strip (MQTT-1.5.4-3).
var textTokens = []string{"a", "b", "c", "x", "y", "z", "0", "1", "9", "-", "_", ".", " ", "A", "Z", "~",
	"é", "ß", "€", "✓", "中", "😀", "\uFEFF", "$", "=", ":", "k", "v"}

// levelTokens may appear inside a topic level (no '/', '+' or '#').
var levelTokens = textTokens

// Text draws a valid MQTT UTF-8 string (no U+0000, no surrogates) of at most max bytes.
func (s *Source) Text(max int) string { return s.tokens(max, textTokens) }

func (s *Source) tokens(max int, set []string) string {
	if s.Byte() == 0xFF && max > 16 {
		// A long string at the edge of the field: up to max bytes of one ASCII character.
		n := max - s.Intn(4)
		b := make([]byte, n)
		for i := range b {
			b[i] = 'l'
		}
		return string(b)
	}
	n := s.Len(min(max, 24))
	var out []byte
	for i := 0; i < n; i++ {
		t := set[s.Intn(len(set))]
		if len(out)+len(t) > max {
			break
		}
		out = append(out, t...)
	}
	return string(out)
}

// Topic draws a valid, non-empty topic name (no wildcards) of at most max bytes.
func (s *Source) Topic(max int) string {
	var out []byte
	if s.Byte()%16 == 0 {
		out = append(out, "$SYS/"...)
	}
	levels := 1 + s.Intn(4)
	for i := 0; i < levels; i++ {
		if i > 0 {
			out = append(out, '/')
		}
		out = append(out, s.tokens(12, levelTokens)...)
	}
	if len(out) == 0 {
		out = append(out, 't')
	}
	if len(out) > max {
		out = out[:max]
		for len(out) > 1 && !validUTF8Tail(out) {
			out = out[:len(out)-1]
		}
	}
	return string(out)
}

// Filter draws a valid topic filter; shared allows a v5 $share/name/ prefix.
func (s *Source) Filter(shared bool) string {
	var prefix string
	if shared && s.Byte()%8 == 0 {
		name := s.tokens(8, levelTokens)
		if name == "" {
			name = "g"
		}
		prefix = "$share/" + name + "/"
	}
	var out []byte
	levels := 1 + s.Intn(4)
	for i := 0; i < levels; i++ {
		if i > 0 {
			out = append(out, '/')
		}
		switch s.Byte() % 8 {
		case 0:
			out = append(out, '+')
		case 1:
			if i == levels-1 {
				out = append(out, '#')
				continue
			}
			fallthrough
		default:
			out = append(out, s.tokens(12, levelTokens)...)
		}
	}
	if len(out) == 0 {
		out = append(out, 'f')
	}
	return prefix + string(out)
}

// validUTF8Tail reports whether b does not end inside a multi-byte character.
func validUTF8Tail(b []byte) bool {
	// Walk back over continuation bytes to the lead byte and check it has all its bytes.
	i := len(b) - 1
	n := 0
	for i >= 0 && b[i]&0xC0 == 0x80 {
		i--
		n++
	}
	if i < 0 {
		return false
	}
	c := b[i]
	switch {
	case c < 0x80:
		return n == 0
	case c&0xE0 == 0xC0:
		return n == 1
	case c&0xF0 == 0xE0:
		return n == 2
	case c&0xF8 == 0xF0:
		return n == 3
	}
	return false
}
