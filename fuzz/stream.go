package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

// chunkReader returns the bytes of b in chunks whose sizes cycle through sizes (each at least 1).
type chunkReader struct {
	b     []byte
	sizes []byte
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(r.sizes) > 0 {
		n = int(r.sizes[r.i%len(r.sizes)]%64) + 1
		r.i++
	}
	n = min(n, len(p), len(r.b))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

// newStreamReader makes the Readers the stream target checks; tests replace it.
var newStreamReader = codec.NewReader

// streamEvent is one step of reading a stream: a packet (its bytes) or how reading ended.
type streamEvent struct {
	raw  []byte
	p    codec.Packet
	rule string // the *codec.Error's rule when reading failed on a packet
	end  string // "eof" (clean end), "partial" (ended inside a packet), "error"
}

// streamReference decodes all of b with a Decoder, as the ground truth for the Readers.
func streamReference(b []byte, o codec.Options) []streamEvent {
	dc := &codec.Decoder{Options: o}
	var evs []streamEvent
	for {
		if len(b) == 0 {
			return append(evs, streamEvent{end: "eof"})
		}
		before := dc.Options
		_, n, err := dc.Decode(b)
		var e *codec.Error
		switch {
		case err == nil:
			// The Decoder reuses its packets: keep a copy that owns its memory.
			p, _, _ := codec.DecodeWith(before, b[:n], nil)
			evs = append(evs, streamEvent{raw: b[:n], p: p})
			b = b[n:]
			continue
		case errors.Is(err, codec.ErrShort):
			return append(evs, streamEvent{end: "partial"})
		case errors.As(err, &e):
			return append(evs, streamEvent{end: "error", rule: e.Rule})
		}
		return append(evs, streamEvent{end: "error", rule: err.Error()})
	}
}

// checkStream reads a byte stream through codec.Reader, delivered in arbitrary chunks, and
// checks that it yields the same packets, the same raw bytes and the same ending as decoding
// the whole buffer at once, on each of the Reader's paths (Next, ReadPacket, ReadRaw).
//
// Input: byte 0 selects the options (as for the decode target, plus lenient mode), byte 1 the
// number of chunk-size bytes that follow; the rest is the stream. With no chunk sizes the stream
// arrives one byte at a time.
func checkStream(data []byte) error {
	if len(data) < 2 {
		return nil
	}
	o := decodeOptions(data[0])
	o.Lenient = data[0]&0x80 != 0
	if data[0]&0x40 != 0 {
		o.Version = codec.VersionUnknown // learnt from a CONNECT, else 3.1.1
	}
	k := min(int(data[1]%16), len(data)-2)
	sizes, stream := data[2:2+k], data[2+k:]
	want := streamReference(stream, o)

	for _, path := range []string{"Next", "ReadPacket", "ReadRaw"} {
		r := newStreamReader(&chunkReader{b: stream, sizes: sizes}, o)
		for i, w := range want {
			var p codec.Packet
			var raw []byte
			var err error
			switch path {
			case "Next":
				p, err = r.Next()
				raw = r.LastRaw()
			case "ReadPacket":
				p, err = r.ReadPacket()
				raw = r.LastRaw()
			case "ReadRaw":
				raw, err = r.ReadRaw()
			}
			if w.end == "" {
				if err != nil {
					return fmt.Errorf("%s: packet %d (% X): %v", path, i, w.raw, err)
				}
				if !bytes.Equal(raw, w.raw) {
					return fmt.Errorf("%s: packet %d raw % X, want % X", path, i, raw, w.raw)
				}
				if path != "ReadRaw" {
					if d := gen.Diff(w.p, p); d != "" {
						return fmt.Errorf("%s: packet %d: %s", path, i, d)
					}
				}
				continue
			}
			if err := checkStreamEnd(path, i, w, err); err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// checkStreamEnd compares how a Reader ended with how the buffer decode ended.
func checkStreamEnd(path string, i int, w streamEvent, err error) error {
	var e *codec.Error
	switch w.end {
	case "eof":
		if err != io.EOF {
			return fmt.Errorf("%s: after %d packets the stream ends cleanly, Reader says %v", path, i, err)
		}
	case "partial":
		if err != io.ErrUnexpectedEOF {
			return fmt.Errorf("%s: packet %d is incomplete, Reader says %v", path, i, err)
		}
	case "error":
		if path == "ReadRaw" {
			// ReadRaw does not decode bodies: it fails only on what the header says.
			if err == nil {
				return nil
			}
			if errors.As(err, &e) && e.Rule == w.rule {
				return nil
			}
			return fmt.Errorf("%s: packet %d breaks %s, ReadRaw says %v", path, i, w.rule, err)
		}
		if !errors.As(err, &e) || e.Rule != w.rule {
			return fmt.Errorf("%s: packet %d breaks %s, Reader says %v", path, i, w.rule, err)
		}
	}
	return nil
}
