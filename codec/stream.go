package codec

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// deadliner is what net.Conn offers for read deadlines.
type deadliner interface {
	SetReadDeadline(t time.Time) error
}

// Reader reads packets from a byte stream. It checks the size limit before reading a body and
// grows its buffer only as bytes arrive, so a peer that announces a huge packet and trickles bytes
// costs memory in proportion to what it really sent.
type Reader struct {
	Options
	// IdleTimeout bounds the wait for the first byte of a packet, PacketTimeout the time from the
	// first byte to the last. Both need a source with SetReadDeadline (a net.Conn); zero = none.
	IdleTimeout   time.Duration
	PacketTimeout time.Duration

	src io.Reader
	br  *bufio.Reader
	buf []byte
	dec Decoder
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader, o Options) *Reader {
	return &Reader{Options: o, src: r, br: bufio.NewReaderSize(r, 4096)}
}

// Version returns the version packets are decoded as (learnt from a CONNECT if it was unknown).
func (r *Reader) Version() Version { return r.Options.Version }

// SetVersion sets the version for the following packets (a client learns it from its own CONNECT).
func (r *Reader) SetVersion(v Version) { r.Options.Version = v }

// Violations returns what the last packet broke (lenient mode).
func (r *Reader) Violations() []Error { return r.dec.Violations }

// LastRaw returns the bytes of the last packet read; valid until the next read.
func (r *Reader) LastRaw() []byte { return r.buf }

// ReadRaw reads the bytes of one whole packet without decoding its body. The slice is valid until
// the next read.
func (r *Reader) ReadRaw() ([]byte, error) {
	dl, _ := r.src.(deadliner)
	if dl != nil && r.IdleTimeout > 0 {
		if err := dl.SetReadDeadline(time.Now().Add(r.IdleTimeout)); err != nil {
			return nil, err
		}
	}
	r.buf = r.buf[:0]
	b0, err := r.br.ReadByte()
	if err != nil {
		return nil, err // io.EOF here is a clean end of stream
	}
	if dl != nil {
		var t time.Time
		if r.PacketTimeout > 0 {
			t = time.Now().Add(r.PacketTimeout)
		}
		if r.PacketTimeout > 0 || r.IdleTimeout > 0 {
			if err := dl.SetReadDeadline(t); err != nil {
				return nil, err
			}
		}
	}
	r.buf = append(r.buf, b0)
	var h Header
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, unexpected(err)
		}
		r.buf = append(r.buf, c)
		h, err = ParseHeader(r.buf, r.Options.Version)
		if err == ErrShort {
			continue
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Rule == ruleVarintMinimal.Name && r.Lenient {
				break
			}
			return nil, err
		}
		break
	}
	limit := r.MaxPacketSize
	if limit <= 0 {
		limit = MaxPacketSize
	}
	if h.PacketLen() > limit {
		return nil, newError(rulePacketTooLarge, r.Options.Version, h.Type, "remaining length", 1,
			fmt.Sprintf("packet of %d bytes exceeds the limit of %d", h.PacketLen(), limit))
	}
	total := h.PacketLen()
	for len(r.buf) < total {
		if len(r.buf) == cap(r.buf) {
			// Grow by at most what we already hold (min 4 KiB): memory follows the bytes received.
			grow := max(cap(r.buf), 4096)
			nb := make([]byte, len(r.buf), min(total, len(r.buf)+grow))
			copy(nb, r.buf)
			r.buf = nb
		}
		n, err := r.br.Read(r.buf[len(r.buf):min(total, cap(r.buf))])
		r.buf = r.buf[:len(r.buf)+n]
		if err != nil && len(r.buf) < total {
			return nil, unexpected(err)
		}
	}
	return r.buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Next reads and decodes one packet without allocating once warm. The packet, its strings and
// slices are valid until the next call.
func (r *Reader) Next() (Packet, error) {
	raw, err := r.ReadRaw()
	if err != nil {
		return nil, err
	}
	r.dec.Options = r.Options
	p, _, err := r.dec.Decode(raw)
	if err == nil {
		r.Options.Version = r.dec.Version
	}
	return p, err
}

// ReadPacket reads one packet that owns its memory.
func (r *Reader) ReadPacket() (Packet, error) {
	raw, err := r.ReadRaw()
	if err != nil {
		return nil, err
	}
	r.dec.Violations = r.dec.Violations[:0]
	p, _, v, err := decodeOne(append([]byte(nil), raw...), &r.Options, &r.dec.Violations, New)
	if err == nil && v.Valid() {
		r.Options.Version = v
	}
	return p, err
}

// Writer encodes packets onto a stream, each in a single Write call. It is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	version Version
	buf     []byte
}

// NewWriter returns a Writer that encodes for version v.
func NewWriter(w io.Writer, v Version) *Writer { return &Writer{w: w, version: v} }

// SetVersion changes the version of the packets that follow.
func (w *Writer) SetVersion(v Version) {
	w.mu.Lock()
	w.version = v
	w.mu.Unlock()
}

// WritePacket encodes p and writes it.
func (w *Writer) WritePacket(p Packet) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	w.buf, err = p.AppendTo(w.buf[:0], w.version)
	if err != nil {
		return err
	}
	_, err = w.w.Write(w.buf)
	if cap(w.buf) > 1<<20 {
		w.buf = nil // do not pin a large buffer after one big packet
	}
	return err
}

// WriteRaw writes bytes as they are (for tests that send what no encoder would produce).
func (w *Writer) WriteRaw(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.w.Write(b)
	return err
}
