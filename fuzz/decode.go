package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

// decoderPair is one strict and one lenient decoder, reused across inputs so that the hot path
// allocates nothing for accepted packets.
type decoderPair struct {
	strict, lenient codec.Decoder
	b1, b2          []byte // encodings, for comparing what the two modes decoded
}

var decoderPool = sync.Pool{New: func() any { return new(decoderPair) }}

// parsers are what checkStrictLenient compares; tests swap in ones that disagree on purpose.
type parsers struct {
	strict  func(o codec.Options, b []byte) (codec.Packet, int, error)
	lenient func(o codec.Options, b []byte) (codec.Packet, int, []codec.Error, error)
}

// decodeOptions reads the decode options from the first input byte: the version (3.1, 3.1.1,
// 5.0), who sent the bytes, and now and then a small maximum packet size.
func decodeOptions(b byte) codec.Options {
	o := codec.Options{Version: [...]codec.Version{codec.V31, codec.V311, codec.V5}[b%3], Sender: codec.Side(b / 3 % 3)}
	if b/9%4 == 3 {
		o.MaxPacketSize = 64
	}
	return o
}

// checkDecode is the decode target's checker with the codec's own decoders.
func checkDecode(data []byte) error {
	dp := decoderPool.Get().(*decoderPair)
	defer decoderPool.Put(dp)
	return checkStrictLenient(data, dp, parsers{
		strict: func(o codec.Options, b []byte) (codec.Packet, int, error) {
			dp.strict.Options = o
			return dp.strict.Decode(b)
		},
		lenient: func(o codec.Options, b []byte) (codec.Packet, int, []codec.Error, error) {
			o.Lenient = true
			dp.lenient.Options = o
			p, n, err := dp.lenient.Decode(b)
			return p, n, dp.lenient.Violations, err
		},
	})
}

// checkStrictLenient decodes data[1:] strictly and leniently with the options data[0] selects
// and checks:
//   - strict mode returns a packet, ErrShort or a *codec.Error whose rule, statement, reason and
//     offset are consistent with the codec's rule table (errors.Is matches exactly one class);
//   - an accepted packet is of the type its header names and took between 2 and len bytes;
//   - lenient mode accepts what strict mode accepts, unchanged and without violations;
//   - where strict mode rejects, lenient mode either stops at the same rule or lists that rule
//     as its first violation (at the same offset): the two modes see the same first problem.
func checkStrictLenient(data []byte, dp *decoderPair, ps parsers) error {
	if len(data) == 0 {
		return nil
	}
	o := decodeOptions(data[0])
	b := data[1:]
	p, n, err := ps.strict(o, b)
	var e *codec.Error
	switch {
	case err == nil:
		if n < 2 || n > len(b) {
			return fmt.Errorf("strict decode accepted %d bytes of %d", n, len(b))
		}
		if p == nil || p.Type() != codec.PacketType(b[0]>>4) {
			return fmt.Errorf("strict decode returned %v for a header of type %d", p, b[0]>>4)
		}
	case errors.Is(err, codec.ErrShort):
		if len(b) >= codec.MaxPacketSize {
			return fmt.Errorf("ErrShort for %d bytes, more than any packet", len(b))
		}
	case errors.As(err, &e):
		if cerr := checkCodecError(e, o, len(b)); cerr != nil {
			return cerr
		}
	default:
		return fmt.Errorf("strict decode returned an error of type %T: %v", err, err)
	}

	lp, ln, viol, lerr := ps.lenient(o, b)
	if err == nil {
		if lerr != nil || len(viol) != 0 || ln != n {
			return fmt.Errorf("strict accepts %v but lenient says %v with violations %v (n %d vs %d)", p, lerr, viol, n, ln)
		}
		// Equal encodings are equal packets (every field the decoder fills is encoded); the
		// field-by-field Diff runs only to explain a difference.
		dp.b1, _ = p.AppendTo(dp.b1[:0], o.Version)
		dp.b2, _ = lp.AppendTo(dp.b2[:0], o.Version)
		if !bytes.Equal(dp.b1, dp.b2) {
			return fmt.Errorf("lenient decodes differently: %s", gen.Diff(p, lp))
		}
		return nil
	}
	if e == nil {
		return nil // ErrShort: nothing to compare
	}
	if lerr == nil && len(viol) == 0 {
		return fmt.Errorf("lenient accepts without a violation what strict rejects: %v", e)
	}
	if len(viol) > 0 {
		if viol[0].Rule != e.Rule || viol[0].Offset != e.Offset {
			return fmt.Errorf("strict stops at %s (offset %d) but lenient's first violation is %s (offset %d)",
				e.Rule, e.Offset, viol[0].Rule, viol[0].Offset)
		}
		return nil
	}
	var le *codec.Error
	switch {
	case errors.As(lerr, &le) && le.Rule == e.Rule:
		return nil
	case e.Rule == "varint-non-minimal" && e.Offset == 1:
		// A header lenient mode tolerates: it then checks the size and the length, so it may
		// answer ErrShort or packet-too-large where strict mode stopped at the header.
		return nil
	}
	return fmt.Errorf("strict stops at %s but lenient at %v (no violation listed)", e.Rule, lerr)
}

// checkCodecError checks that e agrees with the codec's rule table.
func checkCodecError(e *codec.Error, o codec.Options, n int) error {
	r, ok := codecRules[e.Rule]
	if !ok {
		return fmt.Errorf("error cites unknown rule %q: %v", e.Rule, e)
	}
	if e.Statement != r.Statement(e.Version) {
		return fmt.Errorf("rule %s cites %q in %v, the table says %q", e.Rule, e.Statement, e.Version, r.Statement(e.Version))
	}
	if e.Reason != r.Reason {
		return fmt.Errorf("rule %s carries reason 0x%02X, the table says 0x%02X", e.Rule, byte(e.Reason), byte(r.Reason))
	}
	if e.Section == "" && (r.Section(e.Version) != "" || r.Statement(e.Version) != "") {
		return fmt.Errorf("rule %s cites no section in %v, the table has %q", e.Rule, e.Version, r.Section(e.Version))
	}
	if e.Offset < -1 || e.Offset > n {
		return fmt.Errorf("rule %s at offset %d of %d bytes", e.Rule, e.Offset, n)
	}
	classes := 0
	for _, s := range []error{codec.ErrMalformed, codec.ErrProtocol, codec.ErrPacketTooLarge} {
		if errors.Is(e, s) {
			classes++
		}
	}
	if classes != 1 {
		return fmt.Errorf("rule %s matches %d error classes", e.Rule, classes)
	}
	if msg := e.Error(); !strings.Contains(msg, e.Cite()) {
		return fmt.Errorf("message %q does not cite %s", msg, e.Cite())
	}
	if o.Version == codec.V5 && e.Packet != codec.CONNECT && e.Version != codec.V5 {
		return fmt.Errorf("error in a 5.0 decode reports version %v", e.Version)
	}
	return nil
}

// codecRules indexes the codec's rules by name.
var codecRules = func() map[string]codec.Rule {
	m := make(map[string]codec.Rule)
	for _, r := range codec.Rules() {
		m[r.Name] = r
	}
	return m
}()
