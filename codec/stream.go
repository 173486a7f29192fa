package codec

import (
	"bufio"
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

	src  io.Reader
	br   *bufio.Reader
	buf  []byte   // reused packet buffer
	last []byte   // bytes of the last packet, for LastRaw
	dec  *Decoder // allocated on first decode: ReadRaw-only users (brokers) do not pay for it
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
func (r *Reader) Violations() []Error {
	if r.dec == nil {
		return nil
	}
	return r.dec.Violations
}

func (r *Reader) decoder() *Decoder {
	if r.dec == nil {
		r.dec = &Decoder{}
	}
	return r.dec
}

// LastRaw returns the bytes of the last packet read (after an error, what arrived of it); valid
// until the next read.
func (r *Reader) LastRaw() []byte { return r.last }

// ReadRaw reads the bytes of one whole packet without decoding its body. The slice is valid until
// the next read. A stream that ends before the first byte of a packet returns io.EOF; one that
// ends inside a packet returns io.ErrUnexpectedEOF. After any error the position in the stream is
// lost (a timeout may strike mid-packet): close the connection.
func (r *Reader) ReadRaw() ([]byte, error) {
	b, err := r.readRaw()
	r.last = b
	if err != nil {
		r.last = r.buf // what arrived of the broken packet, for transcripts
	}
	return b, err
}

func (r *Reader) readRaw() ([]byte, error) {
	dl, _ := r.src.(deadliner)
	if dl != nil && (r.IdleTimeout > 0 || r.PacketTimeout > 0) {
		// Always set (or clear) the deadline: a PacketTimeout from the previous packet must not
		// linger into the idle wait for this one.
		var t time.Time
		if r.IdleTimeout > 0 {
			t = time.Now().Add(r.IdleTimeout)
		}
		if err := dl.SetReadDeadline(t); err != nil {
			return nil, err
		}
	}
	r.buf = r.buf[:0]
	b0, err := r.br.ReadByte()
	if err != nil {
		return nil, err // io.EOF here is a clean end of stream
	}
	if dl != nil && r.PacketTimeout > 0 {
		// Without a PacketTimeout the idle deadline keeps running: clearing it here would let a
		// peer that sent one byte trickle the rest of its packet forever.
		if err := dl.SetReadDeadline(time.Now().Add(r.PacketTimeout)); err != nil {
			return nil, err
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
		if err != nil && !(r.Lenient && isRule(err, ruleVarintMinimal)) {
			return nil, err
		}
		break
	}
	if err := checkLimit(h, &r.Options); err != nil {
		return nil, err
	}
	total := h.PacketLen()
	if total <= cap(r.buf) {
		r.buf = r.buf[:total]
		if _, err := io.ReadFull(r.br, r.buf[h.Len:]); err != nil {
			r.buf = r.buf[:h.Len]
			return nil, unexpected(err)
		}
		return r.buf, nil
	}
	return r.readGrowing(total)
}

// readGrowing reads the rest of a packet larger than the buffer. Memory follows the bytes that
// really arrive, not what the header claims: the body is read into parts, each as large as
// everything received so far (at least 4 KiB, at most what is still missing), and joined once
// complete. A peer that announces 256 MB and trickles bytes therefore costs at most about twice
// what it sent, and a complete packet costs its size twice (parts plus the joined buffer).
func (r *Reader) readGrowing(total int) ([]byte, error) {
	have := len(r.buf)
	parts := [][]byte{r.buf[:have:have]}
	for have < total {
		part := make([]byte, min(max(have, 4096), total-have))
		n, err := io.ReadFull(r.br, part)
		have += n
		parts = append(parts, part[:n])
		if err != nil {
			return nil, unexpected(err)
		}
	}
	out := make([]byte, 0, total)
	for _, p := range parts {
		out = append(out, p...)
	}
	r.buf = out
	return r.buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Next reads and decodes one packet without allocating once warm. The packet, its strings and
// slices are valid until the next call. A CONNECT sets the Reader's version.
func (r *Reader) Next() (Packet, error) {
	raw, err := r.ReadRaw()
	if err != nil {
		return nil, err
	}
	dec := r.decoder()
	dec.Options = r.Options
	p, _, err := dec.Decode(raw)
	if err == nil {
		r.Options.Version = dec.Version
	}
	return p, err
}

// ReadPacket reads one packet that owns its memory. A CONNECT sets the Reader's version.
func (r *Reader) ReadPacket() (Packet, error) {
	raw, err := r.ReadRaw()
	if err != nil {
		return nil, err
	}
	var own []byte
	if cap(raw) > 64<<10 {
		// A large buffer was just allocated for this packet: hand it over instead of copying,
		// so one big packet is not kept pinned by the Reader either.
		own, r.buf = raw, nil
	} else {
		own = append([]byte(nil), raw...)
	}
	dec := r.decoder()
	dec.Violations = dec.Violations[:0]
	d := &dec.d
	p, _, err := decodeOne(d, own, &r.Options, &dec.Violations, nil)
	if err == nil && p.Type() == CONNECT && d.v.Valid() {
		r.Options.Version = d.v
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
