package codec_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

var fuzzVersions = [...]codec.Version{codec.V31, codec.V311, codec.V5}

// FuzzDecode feeds arbitrary bytes to the decoder in each version and from each side, and checks
// more than "no panic":
//   - the zero-alloc Decoder and the allocating Decode agree;
//   - a packet strict mode accepts is accepted by lenient mode with no violation, unchanged;
//   - re-encoding an accepted packet and decoding it again gives an equal packet, and encoding
//     that gives the same bytes (the encoder's output is a fixed point).
//
// Seeds: every packet of the round-trip table in every version, the golden vectors and every
// negative case.
func FuzzDecode(f *testing.F) {
	for vi, v := range fuzzVersions {
		for _, c := range roundTripCases() {
			if c.vers == nil || containsVersion(c.vers, v) {
				b := mustEncode(f, c.p, v)
				if len(b) > 4096 {
					continue // keep the corpus small: the 64 KiB PUBLISH adds nothing
				}
				f.Add(uint8(vi), uint8(0), b)
			}
		}
	}
	for _, g := range golden {
		f.Add(versionIndex(g.v), uint8(0), hx(f, g.wire))
	}
	for _, c := range negativeCases() {
		f.Add(versionIndex(c.v), uint8(c.side), c.bytes(f))
	}
	f.Fuzz(func(t *testing.T, vi, side uint8, data []byte) {
		v := fuzzVersions[int(vi)%len(fuzzVersions)]
		o := codec.Options{Version: v, Sender: codec.Side(side % 3)}

		p, n, err := codec.DecodeWith(o, data, nil)
		dc := &codec.Decoder{Options: o}
		p2, n2, err2 := dc.Decode(data)
		if (err == nil) != (err2 == nil) || n != n2 {
			t.Fatalf("Decode and Decoder disagree: (%d, %v) vs (%d, %v)", n, err, n2, err2)
		}
		if err == nil && !equalPacket(p, p2) {
			t.Fatalf("Decode and Decoder disagree:\n%#v\n%#v", p, p2)
		}

		lo := o
		lo.Lenient = true
		var viol []codec.Error
		lp, ln, lerr := codec.DecodeWith(lo, data, &viol)
		if err != nil {
			return
		}
		if lerr != nil || len(viol) != 0 || ln != n {
			t.Fatalf("strict accepts but lenient says %v, violations %v", lerr, viol)
		}
		if !reflect.DeepEqual(p, lp) {
			t.Fatalf("lenient decodes differently:\n%#v\n%#v", p, lp)
		}

		b1, err := p.AppendTo(nil, v)
		if err != nil {
			t.Fatalf("re-encode %v: %v", p, err)
		}
		q, qn, err := codec.DecodeWith(o, b1, nil)
		if err != nil {
			t.Fatalf("re-encoded packet % X rejected: %v\n(original % X)", b1, err, data[:n])
		}
		if qn != len(b1) || !equalPacket(p, q) {
			t.Fatalf("round trip changed the packet:\n%#v\n%#v", p, q)
		}
		b2, err := q.AppendTo(nil, v)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not stable: % X then % X (%v)", b1, b2, err)
		}
		_ = p.String()
	})
}

func versionIndex(v codec.Version) uint8 {
	for i, x := range fuzzVersions {
		if x == v {
			return uint8(i)
		}
	}
	return 0
}
