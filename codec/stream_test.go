package codec_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// streamPackets returns a v5 conversation: a CONNECT first, then every v5 round-trip packet.
func streamPackets() []codec.Packet {
	ps := []codec.Packet{connectFor(codec.V5)}
	for _, c := range roundTripCases() {
		if c.vers == nil || containsVersion(c.vers, codec.V5) {
			ps = append(ps, c.p)
		}
	}
	return ps
}

// randomSplitReader returns the data in pieces of random length (1 to 64 bytes).
type randomSplitReader struct {
	data []byte
	rnd  *rand.Rand
}

func (r *randomSplitReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(1+r.rnd.Intn(64), len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func TestReaderChunking(t *testing.T) {
	ps := streamPackets()
	var stream []byte
	for _, p := range ps {
		stream = append(stream, mustEncode(t, p, codec.V5)...)
	}
	sources := map[string]func() io.Reader{
		"whole":          func() io.Reader { return bytes.NewReader(stream) },
		"one byte":       func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"half reads":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) },
		"random split 1": func() io.Reader { return &randomSplitReader{stream, rand.New(rand.NewSource(1))} },
		"random split 2": func() io.Reader { return &randomSplitReader{stream, rand.New(rand.NewSource(2))} },
		"data with EOF":  func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) },
	}
	for name, src := range sources {
		t.Run(name+"/ReadPacket", func(t *testing.T) {
			// Version unknown: the CONNECT teaches the Reader 5.0.
			r := codec.NewReader(src(), codec.Options{})
			for i, want := range ps {
				got, err := r.ReadPacket()
				if err != nil {
					t.Fatalf("packet %d (%v): %v", i, want.Type(), err)
				}
				if !reflect2(got, want) {
					t.Fatalf("packet %d\n got %#v\nwant %#v", i, got, want)
				}
			}
			if _, err := r.ReadPacket(); err != io.EOF {
				t.Errorf("after the last packet: %v, want io.EOF", err)
			}
			if r.Version() != codec.V5 {
				t.Errorf("Reader version %v, want 5.0 learnt from CONNECT", r.Version())
			}
		})
		t.Run(name+"/Next", func(t *testing.T) {
			r := codec.NewReader(src(), codec.Options{Version: codec.V5})
			for i, want := range ps {
				got, err := r.Next()
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if !equalPacket(got, want) {
					t.Fatalf("packet %d\n got %#v\nwant %#v", i, got, want)
				}
				if raw := r.LastRaw(); !bytes.Equal(raw, mustEncode(t, want, codec.V5)) {
					t.Fatalf("packet %d: LastRaw % X", i, raw)
				}
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("after the last packet: %v, want io.EOF", err)
			}
		})
	}
}

// reflect2 compares an owned packet with the table's: owned packets come from a fresh struct, so
// apart from nil/empty they must be identical.
func reflect2(a, b codec.Packet) bool { return equalPacket(a, b) }

// TestReaderOwnedPacketsSurviveReuse: packets from ReadPacket own their memory.
func TestReaderOwnedPacketsSurviveReuse(t *testing.T) {
	p1 := &codec.Publish{Topic: "first", Payload: []byte("one")}
	p2 := &codec.Publish{Topic: "other", Payload: []byte("two")}
	big := &codec.Publish{Topic: "big", Payload: bytes.Repeat([]byte{7}, 100<<10)}
	var stream []byte
	for _, p := range []codec.Packet{p1, big, p2, p1} {
		stream = append(stream, mustEncode(t, p, codec.V311)...)
	}
	r := codec.NewReader(bytes.NewReader(stream), codec.Options{Version: codec.V311})
	var got []codec.Packet
	for {
		p, err := r.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	for i, want := range []codec.Packet{p1, big, p2, p1} {
		if !equalPacket(got[i], want) {
			t.Errorf("packet %d changed after later reads: %v", i, got[i])
		}
	}
}

func TestReaderEOF(t *testing.T) {
	pub := mustEncode(t, &codec.Publish{Topic: "a/b", Payload: []byte("payload")}, codec.V311)
	long := mustEncode(t, &codec.Publish{Topic: "a", Payload: make([]byte, 300)}, codec.V311) // 2-byte remaining length
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty stream", nil, io.EOF},
		{"first byte only", pub[:1], io.ErrUnexpectedEOF},
		{"inside the remaining length", long[:2], io.ErrUnexpectedEOF},
		{"inside the body", pub[:len(pub)-1], io.ErrUnexpectedEOF},
		{"inside a large body", long[:200], io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		for _, next := range []bool{false, true} {
			r := codec.NewReader(bytes.NewReader(tt.data), codec.Options{Version: codec.V311})
			var err error
			if next {
				_, err = r.Next()
			} else {
				_, err = r.ReadPacket()
			}
			if err != tt.want {
				t.Errorf("%s (Next=%t): %v, want %v", tt.name, next, err, tt.want)
			}
		}
	}
	// After a whole packet the stream ends cleanly.
	r := codec.NewReader(bytes.NewReader(pub), codec.Options{Version: codec.V311})
	if _, err := r.ReadPacket(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Errorf("after a whole packet: %v, want io.EOF", err)
	}
}

// TestReaderSizeLimitBeforeBody: the limit is enforced from the fixed header alone. The body is
// never sent here, so a Reader that waited for it would block until the test times out.
func TestReaderSizeLimitBeforeBody(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		// PUBLISH announcing 1000 bytes; only the fixed header is written.
		_, _ = client.Write([]byte{0x30, 0xE8, 0x07})
	}()
	defer func() {
		// Deferred calls run last-in first-out: close here so a blocked writer is released.
		client.Close()
		server.Close()
		<-wrote
	}()
	r := codec.NewReader(server, codec.Options{Version: codec.V5, MaxPacketSize: 100})
	r.PacketTimeout = 5 * time.Second // a safety net: the error must come long before this
	start := time.Now()
	_, err := r.ReadPacket()
	e := asCodecError(t, err)
	if e == nil || e.Rule != "packet-too-large" || !errors.Is(err, codec.ErrPacketTooLarge) || e.Reason != codec.ReasonPacketTooLarge {
		t.Fatalf("err = %v, want packet-too-large", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: the Reader waited for the body", d)
	}
	// The raw header that arrived is available for a transcript.
	if raw := r.LastRaw(); !bytes.Equal(raw, []byte{0x30, 0xE8, 0x07}) {
		t.Errorf("LastRaw = % X", raw)
	}
	// ReadRaw enforces the same limit.
	r2 := codec.NewReader(bytes.NewReader([]byte{0x30, 0xE8, 0x07}), codec.Options{MaxPacketSize: 999})
	if _, err := r2.ReadRaw(); !errors.Is(err, codec.ErrPacketTooLarge) {
		t.Errorf("ReadRaw: %v", err)
	}
}

// trickleReader announces the largest possible PUBLISH and then delivers its body a little at a
// time, up to limit bytes, then ends.
type trickleReader struct {
	header []byte
	sent   int
	limit  int
	chunk  int
}

func (r *trickleReader) Read(p []byte) (int, error) {
	if len(r.header) > 0 {
		n := copy(p, r.header)
		r.header = r.header[n:]
		return n, nil
	}
	if r.sent >= r.limit {
		return 0, io.EOF
	}
	n := min(len(p), r.chunk, r.limit-r.sent)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.sent += n
	return n, nil
}

// TestReaderTrickleMemory: a peer announcing 256 MB and trickling bytes must cost memory in
// proportion to what it sent, not to what it announced.
func TestReaderTrickleMemory(t *testing.T) {
	for _, arrive := range []int{10 << 10, 300 << 10, 3 << 20} {
		t.Run(fmt.Sprintf("%dKiB", arrive>>10), func(t *testing.T) {
			src := &trickleReader{header: []byte{0x30, 0xFF, 0xFF, 0xFF, 0x7F}, limit: arrive, chunk: 1000}
			r := codec.NewReader(src, codec.Options{Version: codec.V5})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := r.ReadRaw()
			runtime.ReadMemStats(&after)
			if err != io.ErrUnexpectedEOF {
				t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
			}
			allocated := after.TotalAlloc - before.TotalAlloc
			limit := uint64(2*arrive + 16<<10) // twice what arrived, plus the bufio buffer and slack
			t.Logf("arrived %d bytes, allocated %d (%.2fx)", arrive, allocated, float64(allocated)/float64(arrive))
			if allocated > limit {
				t.Errorf("allocated %d bytes for %d that arrived (limit %d)", allocated, arrive, limit)
			}
		})
	}
}

// TestReaderTimeouts runs the idle and packet timeouts over net.Pipe and a loopback TCP pair.
func TestReaderTimeouts(t *testing.T) {
	pairs := map[string]func(t *testing.T) (net.Conn, net.Conn){
		"pipe": func(t *testing.T) (net.Conn, net.Conn) { return net.Pipe() },
		"tcp":  tcpPair,
	}
	for name, pair := range pairs {
		t.Run(name+"/idle", func(t *testing.T) {
			a, b := pair(t)
			defer a.Close()
			defer b.Close()
			r := codec.NewReader(b, codec.Options{Version: codec.V311})
			r.IdleTimeout = 50 * time.Millisecond
			start := time.Now()
			_, err := r.ReadPacket()
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v, want a deadline error", err)
			}
			if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
				t.Errorf("idle timeout fired after %v", d)
			}
		})
		t.Run(name+"/packet", func(t *testing.T) {
			a, b := pair(t)
			defer a.Close()
			defer b.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = a.Write([]byte{0x30, 0x10, 0x00}) // a PUBLISH that stalls after 3 bytes
			}()
			r := codec.NewReader(b, codec.Options{Version: codec.V311})
			r.IdleTimeout = 5 * time.Second
			r.PacketTimeout = 50 * time.Millisecond
			start := time.Now()
			_, err := r.ReadPacket()
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v, want a deadline error", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("packet timeout fired after %v", d)
			}
			<-done
		})
		t.Run(name+"/idle-bounds-a-trickled-packet", func(t *testing.T) {
			// Regression: with only an IdleTimeout, a peer that starts a packet and then trickles
			// must still hit a deadline (it used to be cleared after the first byte).
			a, b := pair(t)
			defer a.Close()
			defer b.Close()
			go func() {
				for _, c := range []byte{0x30, 0x10, 0x00, 0x01} {
					if _, err := a.Write([]byte{c}); err != nil {
						return
					}
					time.Sleep(40 * time.Millisecond)
				}
			}()
			r := codec.NewReader(b, codec.Options{Version: codec.V311})
			r.IdleTimeout = 100 * time.Millisecond
			start := time.Now()
			if _, err := r.ReadPacket(); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v, want a deadline error", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("deadline fired after %v", d)
			}
		})
		t.Run(name+"/packet-timeout-does-not-linger", func(t *testing.T) {
			// Regression: with a PacketTimeout but no IdleTimeout, the deadline set for one packet
			// must not cut the idle wait for the next.
			a, b := pair(t)
			defer a.Close()
			defer b.Close()
			pkt := mustEncode(t, &codec.Pingreq{}, codec.V311)
			errc := make(chan error, 1)
			go func() {
				if _, err := a.Write(pkt); err != nil {
					errc <- err
					return
				}
				time.Sleep(150 * time.Millisecond) // longer than the PacketTimeout
				_, err := a.Write(pkt)
				errc <- err
			}()
			r := codec.NewReader(b, codec.Options{Version: codec.V311})
			r.PacketTimeout = 50 * time.Millisecond
			for i := 0; i < 2; i++ {
				if _, err := r.ReadPacket(); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		a.Close()
		t.Fatal(r.err)
	}
	return a, r.c
}

func TestReaderLenient(t *testing.T) {
	data := hx(t, "36 07 00 03 61 2F 62 00 01 | C0 00")
	r := codec.NewReader(bytes.NewReader(data), codec.Options{Version: codec.V311, Lenient: true})
	p, err := r.ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	if p.(*codec.Publish).QoS != 3 || len(r.Violations()) != 1 || r.Violations()[0].Rule != "publish-qos3" {
		t.Errorf("packet %v, violations %v", p, r.Violations())
	}
	if _, err := r.Next(); err != nil || len(r.Violations()) != 0 {
		t.Errorf("PINGREQ: %v, violations %v", err, r.Violations())
	}
	// Strict: the error carries the rule, and ReadPacket returns the raw bytes.
	p, raw, err := codec.ReadPacket(bytes.NewReader(data), codec.Options{Version: codec.V311})
	if e := asCodecError(t, err); p != nil || e == nil || e.Rule != "publish-qos3" || !bytes.Equal(raw, data[:9]) {
		t.Errorf("strict ReadPacket: %v %v % X", p, err, raw)
	}
}

// lockedBuffer is a goroutine-safe sink that records each Write call separately.
type lockedBuffer struct {
	mu     sync.Mutex
	writes [][]byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes = append(b.writes, append([]byte(nil), p...))
	return len(p), nil
}

// TestWriterConcurrent: packets written from many goroutines arrive whole (one Write each) and in
// each goroutine's order. Run with -race.
func TestWriterConcurrent(t *testing.T) {
	const writers, each = 8, 200
	sink := &lockedBuffer{}
	w := codec.NewWriter(sink, codec.V5)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				p := &codec.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: fmt.Sprintf("w/%d", g),
					Payload: bytes.Repeat([]byte{byte(g)}, 1+i%300)}
				p.Properties.AddUser("seq", fmt.Sprint(i))
				if err := w.WritePacket(p); err != nil {
					errs <- err
					return
				}
				if i%50 == 0 {
					if err := w.WriteRaw([]byte{0xC0, 0x00}); err != nil {
						errs <- err
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	next := make([]int, writers)
	pubs := 0
	for _, b := range sink.writes {
		p, n, err := codec.Decode(codec.V5, b)
		if err != nil || n != len(b) {
			t.Fatalf("write % X is not one whole packet: %v", b, err)
		}
		pub, ok := p.(*codec.Publish)
		if !ok {
			continue
		}
		pubs++
		var g int
		fmt.Sscanf(pub.Topic, "w/%d", &g)
		if seq := pub.Properties.User[0].Value; seq != fmt.Sprint(next[g]) {
			t.Fatalf("writer %d: got seq %s, want %d", g, seq, next[g])
		}
		next[g]++
	}
	if pubs != writers*each {
		t.Errorf("%d PUBLISH packets, want %d", pubs, writers*each)
	}
}

func TestWriterVersionAndErrors(t *testing.T) {
	var buf bytes.Buffer
	w := codec.NewWriter(&buf, codec.V311)
	ack := &codec.Puback{PacketID: 1, ReasonCode: 0x10}
	if err := w.WritePacket(ack); err != nil {
		t.Fatal(err)
	}
	w.SetVersion(codec.V5)
	if err := w.WritePacket(ack); err != nil {
		t.Fatal(err)
	}
	if want := hx(t, "40 02 00 01 | 40 03 00 01 10"); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("wrote % X, want % X", buf.Bytes(), want)
	}
	// A field too long for its length prefix is an encode error, and nothing is written.
	buf.Reset()
	err := w.WritePacket(&codec.Publish{Topic: string(make([]byte, 70000))})
	if !errors.Is(err, codec.ErrMalformed) || buf.Len() != 0 {
		t.Errorf("oversized topic: err %v, wrote %d bytes", err, buf.Len())
	}
}
