package codec_test

import (
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// TestDecoderZeroAlloc: once warm, a Decoder decodes without allocating, properties and all.
func TestDecoderZeroAlloc(t *testing.T) {
	for _, bp := range benchPackets {
		for _, v := range []codec.Version{codec.V311, codec.V5} {
			p := bp.p()
			if c, ok := p.(*codec.Connect); ok && v != codec.V5 {
				c.ProtocolLevel = byte(v)
			}
			wire := mustEncode(t, p, v)
			dc := codec.NewDecoder(v)
			if _, _, err := dc.Decode(wire); err != nil { // warm-up: slices get their capacity
				t.Fatalf("%s %v: %v", bp.name, v, err)
			}
			allocs := testing.AllocsPerRun(200, func() {
				if _, _, err := dc.Decode(wire); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s %v: %.1f allocs per decode, want 0", bp.name, v, allocs)
			}
		}
	}
}

// repeatReader yields the same bytes forever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

// TestReaderNextZeroAlloc: the streaming zero-alloc path stays at 0 allocations per packet.
func TestReaderNextZeroAlloc(t *testing.T) {
	for _, bp := range benchPackets {
		wire := mustEncode(t, bp.p(), codec.V5)
		r := codec.NewReader(&repeatReader{data: wire}, codec.Options{Version: codec.V5})
		for i := 0; i < 3; i++ {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocs per Reader.Next, want 0", bp.name, allocs)
		}
	}
}

// TestAppendToZeroAlloc: encoding into a buffer with room allocates nothing.
func TestAppendToZeroAlloc(t *testing.T) {
	for _, bp := range benchPackets {
		p := bp.p()
		buf := make([]byte, 0, 70000)
		allocs := testing.AllocsPerRun(200, func() {
			var err error
			if buf, err = p.AppendTo(buf[:0], codec.V5); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocs per AppendTo, want 0", bp.name, allocs)
		}
	}
}
