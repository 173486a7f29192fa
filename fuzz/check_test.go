package fuzz

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
	"github.com/mqttspec/mqttspec/reference/broker"
)

// The tests in this file show that each invariant the targets check can fail: every checker is
// handed a parser, reader, broker or client that is wrong on purpose and must say so.

func mustEncode(t *testing.T, p codec.Packet, v codec.Version) []byte {
	t.Helper()
	b, err := p.AppendTo(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStrictLenientCatchesDisagreement(t *testing.T) {
	qos3 := append([]byte{versionIndex(codec.V311)}, 0x36, 0x05, 0, 1, 'a', 0, 1) // PUBLISH QoS 3
	valid := append([]byte{versionIndex(codec.V311)}, mustEncode(t, &codec.Publish{Topic: "a", Payload: []byte("x")}, codec.V311)...)
	real := func() parsers {
		return parsers{
			strict: func(o codec.Options, b []byte) (codec.Packet, int, error) { return codec.DecodeWith(o, b, nil) },
			lenient: func(o codec.Options, b []byte) (codec.Packet, int, []codec.Error, error) {
				o.Lenient = true
				var v []codec.Error
				p, n, err := codec.DecodeWith(o, b, &v)
				return p, n, v, err
			},
		}
	}
	if err := checkStrictLenient(qos3, new(decoderPair), real()); err != nil {
		t.Fatalf("the real codec fails the check: %v", err)
	}
	tests := []struct {
		name   string
		input  []byte
		break_ func(*parsers)
		want   string
	}{
		{"lenient names another first violation", qos3, func(ps *parsers) {
			ps.lenient = func(codec.Options, []byte) (codec.Packet, int, []codec.Error, error) {
				return &codec.Publish{}, 7, []codec.Error{{Rule: "publish-dup-qos0", Offset: 0}}, nil
			}
		}, "lenient's first violation is publish-dup-qos0"},
		{"lenient accepts silently", qos3, func(ps *parsers) {
			ps.lenient = func(codec.Options, []byte) (codec.Packet, int, []codec.Error, error) {
				return &codec.Publish{}, 7, nil, nil
			}
		}, "lenient accepts without a violation"},
		{"lenient decodes other fields", valid, func(ps *parsers) {
			ps.lenient = func(o codec.Options, b []byte) (codec.Packet, int, []codec.Error, error) {
				p, n, err := codec.DecodeWith(o, b, nil)
				p.(*codec.Publish).Retain = true
				return p, n, nil, err
			}
		}, "lenient decodes differently"},
		{"strict error of another type", valid, func(ps *parsers) {
			ps.strict = func(codec.Options, []byte) (codec.Packet, int, error) { return nil, 0, errors.New("boom") }
		}, "error of type"},
		{"strict error citing the wrong statement", qos3, func(ps *parsers) {
			ps.strict = func(o codec.Options, b []byte) (codec.Packet, int, error) {
				_, n, err := codec.DecodeWith(o, b, nil)
				e := *err.(*codec.Error)
				e.Statement = "MQTT-9.9.9-9"
				return nil, n, &e
			}
		}, "cites \"MQTT-9.9.9-9\""},
		{"strict accepts more bytes than it has", valid, func(ps *parsers) {
			ps.strict = func(o codec.Options, b []byte) (codec.Packet, int, error) {
				p, _, err := codec.DecodeWith(o, b, nil)
				return p, len(b) + 1, err
			}
		}, "accepted"},
	}
	for _, tc := range tests {
		ps := real()
		tc.break_(&ps)
		err := checkStrictLenient(tc.input, new(decoderPair), ps)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// withDecoder runs f with codecDecode replaced by broken.
func withDecoder(t *testing.T, broken func(codec.Options, []byte, *[]codec.Error) (codec.Packet, int, error), f func()) {
	t.Helper()
	old := codecDecode
	codecDecode = broken
	defer func() { codecDecode = old }()
	f()
}

func TestRoundTripCatchesADecoderThatLosesAField(t *testing.T) {
	// Find an input the generator turns into a retained PUBLISH.
	var in []byte
	for i := 0; i < 10000 && in == nil; i++ {
		c := seedInput(i, 64)
		if p, ok := gen.Packet(c[1:], gen.Options{Sender: codec.Side(c[0] % 3)}).Packet.(*codec.Publish); ok && p.Retain {
			in = c
		}
	}
	if in == nil {
		t.Fatal("no retained PUBLISH among 10000 inputs")
	}
	if err := checkRoundTrip(in); err != nil {
		t.Fatalf("the real codec fails: %v", err)
	}
	withDecoder(t, func(o codec.Options, b []byte, v *[]codec.Error) (codec.Packet, int, error) {
		p, n, err := codec.DecodeWith(o, b, v)
		if pub, ok := p.(*codec.Publish); ok {
			pub.Retain = false
		}
		return p, n, err
	}, func() {
		if err := checkRoundTrip(in); err == nil || !strings.Contains(err.Error(), "Retain") {
			t.Errorf("a decoder dropping RETAIN passes: %v", err)
		}
	})
}

func TestGeneratorCatchesADecoderThatAcceptsEverything(t *testing.T) {
	failed := 0
	withDecoder(t, func(o codec.Options, b []byte, _ *[]codec.Error) (codec.Packet, int, error) {
		o.Lenient = true
		var v []codec.Error
		p, n, err := codec.DecodeWith(o, b, &v)
		if err != nil {
			return &codec.Pingreq{}, len(b), nil
		}
		return p, n, nil
	}, func() {
		for i := 0; i < 200; i++ {
			if checkGenerator(seedInput(i, 80)) != nil {
				failed++
			}
		}
	})
	if failed < 50 {
		t.Fatalf("a decoder accepting everything failed only %d of 200 generator checks", failed)
	}
}

// lossyReader drops every 100th byte.
type lossyReader struct {
	r io.Reader
	n int
}

func (l *lossyReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	out := p[:0]
	for _, c := range p[:n] {
		l.n++
		if l.n%100 != 0 {
			out = append(out, c)
		}
	}
	return len(out), err
}

func TestStreamCatchesAReaderThatLosesBytes(t *testing.T) {
	var stream []byte
	for i := 0; i < 20; i++ {
		stream = append(stream, mustEncode(t, &codec.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: "a/b", Payload: []byte("payload!")}, codec.V311)...)
	}
	in := append([]byte{versionIndex(codec.V311), 2, 5, 9}, stream...)
	if err := checkStream(in); err != nil {
		t.Fatalf("the real Reader fails: %v", err)
	}
	old := newStreamReader
	newStreamReader = func(r io.Reader, o codec.Options) *codec.Reader { return codec.NewReader(&lossyReader{r: r}, o) }
	defer func() { newStreamReader = old }()
	if err := checkStream(in); err == nil {
		t.Fatal("a Reader losing bytes passes")
	}
}

func TestChunkReaderDeliversEveryByte(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	for _, sizes := range [][]byte{nil, {0}, {2, 200}, {63}} {
		got, err := io.ReadAll(&chunkReader{b: data, sizes: sizes})
		if err != nil || string(got) != string(data) {
			t.Errorf("sizes %v: %q, %v", sizes, got, err)
		}
	}
}

// sessionBytes is a 5.0 session the health check has no reason to mind.
func sessionBytes(t *testing.T) []byte {
	var b []byte
	b = append(b, mustEncode(t, &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: 5, CleanStart: true, ClientID: "s"}, codec.V5)...)
	b = append(b, mustEncode(t, &codec.Pingreq{}, codec.V5)...)
	return b
}

func TestBrokerSessionPassesAGoodSession(t *testing.T) {
	if err := checkBrokerSession(sessionBytes(t)); err != nil {
		t.Fatal(err)
	}
}

func TestBrokerSessionCatchesABrokenHealthCheck(t *testing.T) {
	brokerFaults = []string{"wrong-packet-id-in-puback"}
	defer func() { brokerFaults = nil }()
	err := checkBrokerSession(sessionBytes(t))
	if err == nil || !strings.Contains(err.Error(), "health client") {
		t.Fatalf("a broker that acknowledges the wrong packet identifier passes: %v", err)
	}
}

func TestBrokerSessionCatchesAStall(t *testing.T) {
	old, oldStall := serveConn, stallTimeout
	const stall = 200 * time.Millisecond
	stallTimeout = stall
	serveConn = func(_ *broker.Server, c net.Conn) {
		buf := make([]byte, 4)
		io.ReadFull(c, buf) // then stop reading, without closing
		// The constant, not stallTimeout: this goroutine outlives the check, and the deferred
		// restore below would race with a read of the variable.
		time.Sleep(2 * stall)
		c.Close()
	}
	defer func() { serveConn, stallTimeout = old, oldStall }()
	err := checkBrokerSession(sessionBytes(t))
	if err == nil || !strings.Contains(err.Error(), "stopped reading") {
		t.Fatalf("a broker that stops reading passes: %v", err)
	}
}

func TestWaitGoroutinesCatchesALeak(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	for i := 0; i < 5; i++ {
		go func() { <-stop }()
	}
	base := runtime.NumGoroutine() - 5 // (other tests' goroutines may still be ending)
	if err := waitGoroutines(base, 20*time.Millisecond); err == nil || !strings.Contains(err.Error(), "goroutine leak") {
		t.Fatalf("a leaked goroutine passes: %v", err)
	}
}

func TestHeapAllocatedCounts(t *testing.T) {
	a := heapAllocated()
	sink = make([]byte, 16<<20)
	if d := heapAllocated() - a; d < 16<<20 {
		t.Fatalf("a 16 MiB allocation counted as %d bytes", d)
	}
}

var sink []byte

func TestClientTraceMatchesAcks(t *testing.T) {
	tr := &clientTrace{acks: []ackID{{codec.PUBACK, 1}, {codec.PUBREC, 2}, {codec.PUBACK, 1}}}
	need := []*codec.Publish{{QoS: 1, PacketID: 1}, {QoS: 2, PacketID: 2}, {QoS: 1, PacketID: 1}, {QoS: 2, PacketID: 3}}
	if m := tr.missing(need); m != 1 {
		t.Fatalf("missing = %d, want 1 (the PUBREC for 3)", m)
	}
}

// readSeed reads a corpus file in the native format holding one []byte.
func readSeed(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	_, rest, ok := strings.Cut(string(b), "\n[]byte(")
	if !ok || !strings.HasSuffix(rest, ")\n") {
		return nil, errors.New(path + ": not a []byte corpus file")
	}
	s, err := strconv.Unquote(strings.TrimSuffix(rest, ")\n"))
	return []byte(s), err
}

// checkers maps target names (without "Fuzz") to their checkers, for the known-issue test.
var checkers = map[string]func([]byte) error{
	"StrictLenient": checkDecode, "RoundTrip": checkRoundTrip, "Generator": checkGenerator,
	"Stream": checkStream, "BrokerSession": checkBrokerSession, "ClientSession": checkClientSession,
	"PcapSession": checkPcapSession,
	"DiffPaho":    func(b []byte) error { return checkDiff(pahoPeer, b) },
	"DiffMochi":   func(b []byte) error { return checkDiff(mochiPeer, b) },
}

// TestKnownIssuesStillHappen runs each known issue's seed: it must still fail with the known
// error. When it passes, the bug was fixed and the entry has to go.
func TestKnownIssuesStillHappen(t *testing.T) {
	for _, k := range knownIssues {
		data, err := readSeed(filepath.Join("testdata", "fuzz", "Fuzz"+k.target, k.seed))
		if err != nil {
			t.Fatalf("%s: %v", k.id, err)
		}
		err = checkers[k.target](data)
		switch {
		case err == nil:
			t.Errorf("%s: the seed passes now; the bug is fixed, delete the entry from knownIssues and docs/findings.md", k.id)
		case known(err) != k.id:
			t.Errorf("%s: the seed fails differently: %v", k.id, err)
		}
	}
}

func TestPcapSessionCatchesWrongExtraction(t *testing.T) {
	in := seedInput(5001, 47)
	conv, capture, err := buildCapture(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := readCapture(conv, capture); err != nil {
		t.Fatalf("a faithful capture fails: %v", err)
	}
	// The capture holds one packet fewer than the conversation claims.
	more := conv
	more.server = append(append([]*gen.Case(nil), conv.server...), conv.server[0])
	if err := readCapture(more, capture); err == nil || !strings.Contains(err.Error(), "delivered") {
		t.Errorf("a missing packet passes: %v", err)
	}
	// A packet whose bytes differ from what the capture carries.
	other := conv
	other.client = append([]*gen.Case(nil), conv.client...)
	c := *other.client[0]
	c.Bytes = append(append([]byte(nil), c.Bytes...), 0)
	other.client[0] = &c
	if err := readCapture(other, capture); err == nil {
		t.Error("a packet with other bytes passes")
	}
}
