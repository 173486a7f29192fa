package netfuzz

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

func TestDdmin(t *testing.T) {
	calls := 0
	got := ddmin(20, func(keep []int) bool {
		calls++
		has3, has17 := false, false
		for _, i := range keep {
			has3 = has3 || i == 3
			has17 = has17 || i == 17
		}
		return has3 && has17
	})
	if !reflect.DeepEqual(got, []int{3, 17}) {
		t.Fatalf("ddmin = %v, want [3 17]", got)
	}
	if calls > 60 {
		t.Errorf("%d tests for 20 elements", calls)
	}
	if got := ddmin(1, func([]int) bool { return true }); !reflect.DeepEqual(got, []int{0}) {
		t.Fatalf("ddmin of one = %v", got)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in     string
		remote bool
		want   string
		err    string
	}{
		{"tcp://127.0.0.1:1883", false, "127.0.0.1:1883", ""},
		{"mqtt://localhost:1884", false, "localhost:1884", ""},
		{"tcp://[::1]:1883", false, "[::1]:1883", ""},
		{"tcp://10.0.0.7:1883", false, "", "not a loopback"},
		{"tcp://broker.example:1883", false, "", "not a loopback"},
		{"tcp://10.0.0.7:1883", true, "10.0.0.7:1883", ""},
		{"ws://127.0.0.1:80/mqtt", false, "", "speaks tcp"},
		{"tcp://127.0.0.1", false, "", "host:port"},
	}
	for _, tc := range tests {
		got, err := ParseTarget(tc.in, tc.remote)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseTarget(%q, %t) = %q, %v; want %q, %q", tc.in, tc.remote, got, err, tc.want, tc.err)
		}
	}
}

func TestReproducerFile(t *testing.T) {
	in := Input{{Data: []byte{0x10, 0x02, 0, 0}}, {Delay: 30 * time.Millisecond, Data: []byte{0x36, 0}}}
	rp := newReproducer(Crash, "probe: connection refused", "tcp://127.0.0.1:1", "5.0", 42, in, "flip-flags", time.Second)
	dir := t.TempDir()
	path, err := rp.Save(dir)
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadReproducer(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.Input()
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for name, body := range map[string]string{
		"kind.json":  `{"kind":"oops","steps":[{"delay_ms":0,"hex":"c000"}]}`,
		"hex.json":   `{"kind":"crash","steps":[{"delay_ms":0,"hex":"zz"}]}`,
		"delay.json": `{"kind":"hang","steps":[{"delay_ms":-5,"hex":"c000"}]}`,
		"empty.json": `{"kind":"hang","steps":[]}`,
		"json.json":  `{"kind":`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := LoadReproducer(p); err == nil {
			t.Errorf("%s: loaded %s", name, body)
		}
	}
}

func TestMutationsStayBounded(t *testing.T) {
	m := &mutator{rng: rand.New(rand.NewSource(3))}
	names := map[string]bool{}
	for i := 0; i < 3000; i++ {
		in, v := m.session()
		if len(in) == 0 || packetType(in[0].Data) != codec.CONNECT {
			t.Fatalf("a session must start with CONNECT: %v", in)
		}
		out, name := m.mutate(in, v)
		for _, n := range strings.Split(name, "+") {
			names[n] = true
		}
		if len(out) == 0 || out.Size() > maxInput || out.Duration() > maxDelay {
			t.Fatalf("%s: %d writes, %d bytes, %v of pauses", name, len(out), out.Size(), out.Duration())
		}
		if reflect.DeepEqual(out, in) && !strings.Contains(name, "swap") && !strings.Contains(name, "drop") {
			// A mutation may be a no-op (swap of a step with itself), not a mutation of the original.
			continue
		}
	}
	for _, mu := range mutations {
		if !names[mu.name] {
			t.Errorf("mutation %s never used", mu.name)
		}
	}
}

// fragileBroker is a tiny MQTT responder with two planted bugs: a PUBLISH with both QoS bits set
// kills it (the listener closes: a crash), and a fixed header announcing a megabyte or more
// freezes it (no answers to anyone: a hang) until it is restarted.
type fragileBroker struct {
	t    *testing.T
	addr string

	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]bool
	frozen bool
	wg     sync.WaitGroup
}

func startFragile(t *testing.T) *fragileBroker {
	fb := &fragileBroker{t: t, conns: map[net.Conn]bool{}}
	if err := fb.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fb.stop)
	return fb
}

func (fb *fragileBroker) listen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fb.mu.Lock()
	fb.l, fb.addr, fb.frozen = l, l.Addr().String(), false
	fb.mu.Unlock()
	fb.wg.Add(1)
	go func() {
		defer fb.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fb.mu.Lock()
			fb.conns[c] = true
			fb.mu.Unlock()
			fb.wg.Add(1)
			go func() {
				defer fb.wg.Done()
				fb.serve(c)
			}()
		}
	}()
	return nil
}

// kill closes the listener and every connection: the "process" dies.
func (fb *fragileBroker) kill() {
	fb.mu.Lock()
	if fb.l != nil {
		fb.l.Close()
	}
	for c := range fb.conns {
		c.Close()
	}
	fb.mu.Unlock()
}

// stop kills the broker and waits for its goroutines.
func (fb *fragileBroker) stop() {
	fb.kill()
	fb.wg.Wait()
}

func (fb *fragileBroker) restart(context.Context) error {
	fb.stop()
	fb.mu.Lock()
	addr := fb.addr
	fb.mu.Unlock()
	for i := 0; i < 50; i++ { // the port may take a moment to be free again
		if err := fb.listen(addr); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("cannot listen again")
}

func (fb *fragileBroker) serve(c net.Conn) {
	defer func() {
		fb.mu.Lock()
		delete(fb.conns, c)
		fb.mu.Unlock()
		c.Close()
	}()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	rd := codec.NewReader(c, codec.Options{Lenient: true, MaxPacketSize: 1 << 30})
	for {
		b0 := make([]byte, 5)
		raw, err := rd.ReadRaw()
		if err != nil {
			var ce *codec.Error
			if errors.As(err, &ce) {
				return
			}
			if n := copy(b0, rd.LastRaw()); n >= 2 && fb.announcesHuge(b0[:n]) {
				fb.freeze()
			}
			return
		}
		fb.mu.Lock()
		frozen := fb.frozen
		fb.mu.Unlock()
		if frozen {
			io.Copy(io.Discard, c)
			return
		}
		switch codec.PacketType(raw[0] >> 4) {
		case codec.CONNECT:
			c.Write([]byte{0x20, 0x02, 0, 0})
		case codec.PINGREQ:
			c.Write([]byte{0xD0, 0})
		case codec.PUBLISH:
			if raw[0]&0x06 == 0x06 {
				fb.kill() // the planted crash
				return
			}
		}
	}
}

func (fb *fragileBroker) announcesHuge(b []byte) bool {
	x, shift := 0, 0
	for _, c := range b[1:] {
		x |= int(c&0x7F) << shift
		shift += 7
		if c < 0x80 {
			break
		}
	}
	return x >= 1<<20
}

func (fb *fragileBroker) freeze() {
	fb.mu.Lock()
	fb.frozen = true
	fb.mu.Unlock()
}

func TestFindsPlantedCrashAndHang(t *testing.T) {
	fb := startFragile(t)
	dir := t.TempDir()
	var crash, hang *Finding
	execs := 0
	for seed := int64(1); seed < 40 && (crash == nil || hang == nil); seed++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		rep, err := Run(ctx, Options{Target: "tcp://" + fb.addr, Version: codec.V311, MaxExecs: 300, Seed: seed,
			OutDir: dir, ProbeTimeout: 100 * time.Millisecond, Restart: fb.restart, Minimize: true,
			MinimizeBudget: 12 * time.Second, MinimizePerKind: 1, MaxFindings: 4})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: %d inputs in %v, %d findings, stopped %q", seed, rep.Execs, rep.Elapsed, len(rep.Findings), rep.Stopped)
		execs += rep.Execs
		for i := range rep.Findings {
			f := &rep.Findings[i]
			if f.Found.Kind == Crash && crash == nil && f.Minimized != nil {
				crash = f
			}
			if f.Found.Kind == Hang && hang == nil && f.Minimized != nil {
				hang = f
			}
		}
	}
	if crash == nil || hang == nil {
		t.Fatalf("planted bugs not both found and minimized in %d inputs: crash %v, hang %v", execs, crash != nil, hang != nil)
	}
	t.Logf("found both in %d inputs; crash %+v, hang %+v", execs, crash.Minimized.Steps, hang.Minimized.Steps)
	// A minimized crash is a QoS 3 PUBLISH with little around it; a minimized hang a header
	// announcing a megabyte with little after it.
	cin, _ := crash.Minimized.Input()
	hin, _ := hang.Minimized.Input()
	if cin.Size() > 64 || hin.Size() > 64 || (cin.Size() >= crash.Found.Original && crash.Found.Original > 16) {
		t.Errorf("minimized to %d (crash, from %d) and %d (hang, from %d) bytes", cin.Size(), crash.Found.Original, hin.Size(), hang.Found.Original)
	}
	for _, f := range []*Finding{crash, hang} {
		if f.File == "" || f.MinFile == "" {
			t.Fatalf("%s: reproducer files not written", f.Found.Kind)
		}
		rp, err := LoadReproducer(f.MinFile)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := fb.restart(ctx); err != nil {
			t.Fatal(err)
		}
		kind, detail, err := Replay(ctx, "tcp://"+fb.addr, false, rp, 100*time.Millisecond)
		cancel()
		if err != nil || kind != f.Found.Kind {
			t.Errorf("replay of %s: %q %q %v", f.MinFile, kind, detail, err)
		}
	}
}

func TestRunStopsAtACrashItCannotRestart(t *testing.T) {
	fb := startFragile(t)
	dir := t.TempDir()
	in := Input{{Data: []byte{0x10, 0x0C, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 0}}, {Data: []byte{0x36, 0x05, 0, 1, 'a', 0, 1}}}
	rp := newReproducer(Crash, "", "tcp://"+fb.addr, "3.1.1", 1, in, "", time.Second)
	kind, _, err := Replay(context.Background(), "tcp://"+fb.addr, false, rp, 200*time.Millisecond)
	if err != nil || kind != Crash {
		t.Fatalf("replay of a QoS 3 PUBLISH: %q, %v", kind, err)
	}
	// The broker is dead now: Run refuses to start.
	if _, err := Run(context.Background(), Options{Target: "tcp://" + fb.addr, MaxExecs: 5, OutDir: dir, ProbeTimeout: 100 * time.Millisecond}); err == nil {
		t.Fatal("Run started against a dead target")
	}
}

func TestSplitFrames(t *testing.T) {
	b := []byte{0xC0, 0, 0x30, 2, 'a', 'b', 0xE0, 0, 0x30, 0xFF}
	got := splitFrames(b)
	want := [][]byte{{0xC0, 0}, {0x30, 2, 'a', 'b'}, {0xE0, 0}, {0x30, 0xFF}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("splitFrames = %x", got)
	}
	if j := joinFrames(got, []int{1, 3}); !reflect.DeepEqual(j, []byte{0x30, 2, 'a', 'b', 0x30, 0xFF}) {
		t.Fatalf("joinFrames = %x", j)
	}
}
