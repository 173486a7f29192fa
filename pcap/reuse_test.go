package pcap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fingerprint is everything a read reports about a capture, in a comparable form.
func fingerprint(t *testing.T, b []byte, o Options) string {
	t.Helper()
	cp := collect(t, b, o)
	var out strings.Builder
	sum, err := json.Marshal(cp.Summary)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	out.Write(sum)
	out.WriteString("\n" + fmtNotes(cp.Notes) + "\n")
	for _, cv := range cp.Conversations {
		fmt.Fprintf(&out, "%v %s\n", types(cv), fmtNotes(cv.Notes))
		for _, r := range cv.Records {
			fmt.Fprintf(&out, "%d %d %v;", r.Frame, r.Size, r.Err)
		}
		out.WriteString("\n")
	}
	return out.String()
}

// TestReadsIndependent: reassemblers and port tables are reused between reads (assemblers,
// portTables), so a read must report exactly what it reports with fresh ones, whatever the
// reads before it left behind — held out-of-order pages, limits reached, connections cut off,
// ports listed as something else.
func TestReadsIndependent(t *testing.T) {
	type input struct {
		name string
		b    []byte
		o    Options
	}
	var ins []input
	for _, c := range loadManifest(t).Captures {
		b, err := os.ReadFile(filepath.Join("testdata", c.File))
		if err != nil {
			t.Fatal(err)
		}
		// The port tables are pooled too: a port that was MQTT, WebSocket or TLS in one read
		// must be nothing in the next unless that read lists it.
		ins = append(ins,
			input{c.File, b, Options{Ports: c.Ports, WebSocketPorts: c.WSPorts}},
			input{c.File + " (ports unlisted)", b, Options{Ports: []uint16{1}}},
			input{c.File + " (as TLS)", b, Options{Ports: []uint16{1}, TLSPorts: c.Ports}},
			input{c.File + " (as WebSocket)", b, Options{Ports: []uint16{1}, WebSocketPorts: c.Ports}},
		)
	}
	c, _ := splitPublish()
	hole := holeFrames()
	ins = append(ins,
		input{"missing-segment", pcapBytes(t, hole), Options{}},
		// One buffered page allowed: the held data after the hole overflows it.
		input{"missing-segment-1-page", pcapBytes(t, hole), Options{MaxBufferedPages: 1}},
		input{"in-order", pcapBytes(t, c.frames), Options{}},
		input{"tls", pcapBytes(t, tlsCapture()), Options{Detect: true}},
		input{"tls, no TLS port", pcapBytes(t, tlsCapture()), Options{TLSPorts: []uint16{}}},
	)

	fresh := make([]string, len(ins))
	for i, in := range ins {
		assemblers, portTables = sync.Pool{}, sync.Pool{} // nothing to reuse
		fresh[i] = fingerprint(t, in.b, in.o)
	}
	// Every input after every other, twice over, in both orders.
	order := make([]int, 0, 4*len(ins))
	for range 2 {
		for i := range ins {
			order = append(order, i)
		}
		for i := range ins {
			order = append(order, len(ins)-1-i)
		}
	}
	for _, i := range order {
		if got := fingerprint(t, ins[i].b, ins[i].o); got != fresh[i] {
			t.Errorf("%s read after others differs from a fresh read\n got %s\nwant %s", ins[i].name, got, fresh[i])
		}
	}
}

// TestAssemblerPooled: a read gives its reassembler back idle, and one still holding pages is
// not kept. pagesInUse reads gopacket's Dump; if its format changed, reuse would silently stop.
func TestAssemblerPooled(t *testing.T) {
	hole := pcapBytes(t, holeFrames())
	// sync.Pool may drop what it is given (the race detector drops a quarter on purpose), so
	// the read is tried a few times.
	back := false
	for range 20 {
		rd := runFresh(t, hole)
		a := rd.asm
		if n := pagesInUse(a.Assembler); n < 1 {
			t.Fatalf("data held after a hole: %d pages in use, want some", n)
		}
		rd.finish()
		if n := pagesInUse(a.Assembler); n != 0 {
			t.Fatalf("after the read: %d pages in use, want 0", n)
		}
		if a.f.rd != nil {
			t.Fatal("a pooled reassembler still points at its last reader")
		}
		if getAssembler(nil) == a {
			back = true
			break
		}
	}
	if !back {
		t.Error("the idle reassembler was never reused")
	}
}

// TestBusyAssemblerDropped: a reassembler that still holds pages is not given back.
func TestBusyAssemblerDropped(t *testing.T) {
	hole := pcapBytes(t, holeFrames())
	for range 20 {
		rd := runFresh(t, hole)
		putAssembler(rd.asm) // pages still held: not flushed
		if got := getAssembler(nil); got == rd.asm {
			t.Fatal("a reassembler holding pages was reused")
		}
	}
}

// runFresh reads a capture with a new reassembler (none to reuse), checking it starts idle, and
// returns the reader before finish.
func runFresh(t *testing.T, b []byte) *reader {
	t.Helper()
	src, err := openSource(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	assemblers = sync.Pool{}
	o := Options{}
	rd := newReader(o.withDefaults(), Handler{})
	if n := pagesInUse(rd.asm.Assembler); n != 0 {
		t.Fatalf("fresh reassembler: %d pages in use, want 0", n)
	}
	if err := rd.run(src); err != nil {
		t.Fatal(err)
	}
	return rd
}

// holeFrames is splitPublish without its second PUBLISH segment: the reassembler holds the data
// after the hole (pages in use) until the capture ends.
func holeFrames() []capFrame {
	c, segs := splitPublish()
	return slices.Delete(slices.Clone(c.frames), segs[1], segs[1]+1)
}
