package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// movePort rewrites every TCP port from to to in Ethernet frames (IPv4 or IPv6 without
// extension headers), the way a broker on another port would have produced them. Checksums are
// left stale: Read does not verify them, and tshark does not by default.
func movePort(frames []capFrame, from, to uint16) []capFrame {
	out := make([]capFrame, len(frames))
	for i, f := range frames {
		d := slices.Clone(f.data)
		tcp := 14 + 40
		if binary.BigEndian.Uint16(d[12:14]) == 0x0800 {
			tcp = 14 + int(d[14]&0x0f)*4
		}
		for _, off := range []int{tcp, tcp + 2} {
			if binary.BigEndian.Uint16(d[off:]) == from {
				binary.BigEndian.PutUint16(d[off:], to)
			}
		}
		out[i] = capFrame{ts: f.ts, data: d, orig: f.orig}
	}
	return out
}

// noteView is a Note without its Stream pointer, whose Detected field differs by design.
type noteView struct {
	Frame  int
	Time   time.Time
	Stream int
	Dir    Direction
	Kind   NoteKind
	Text   string
	Bytes  int64
}

func viewNotes(ns []Note) []noteView {
	var out []noteView
	for _, n := range ns {
		if n.Kind == NoteDetected {
			continue
		}
		id := -1
		if n.Stream != nil {
			id = n.Stream.ID
		}
		out = append(out, noteView{n.Frame, n.Time, id, n.Dir, n.Kind, n.Text, n.Bytes})
	}
	return out
}

// sameDecode fails the test unless got (read with Detect on a capture whose ports were not
// listed) holds exactly what want (read with the ports listed) holds: statistics, streams,
// packets and notes, all but the detection notes and Stream.Detected. When the capture was
// moved from one port to another (movePort), moved is {from, to}.
func sameDecode(t *testing.T, want, got *Capture, moved ...uint16) {
	t.Helper()
	if !reflect.DeepEqual(want.Summary.Stats, got.Summary.Stats) {
		t.Errorf("stats differ\n got %+v\nwant %+v", got.Summary.Stats, want.Summary.Stats)
	}
	if len(want.Conversations) != len(got.Conversations) {
		t.Fatalf("%d streams, want %d", len(got.Conversations), len(want.Conversations))
	}
	for i, w := range want.Conversations {
		g := got.Conversations[i]
		ws, gs := *w.Stream, *g.Stream
		if !gs.Detected {
			t.Errorf("stream %d: Detected not set", i)
		}
		gs.Detected = false
		if len(moved) == 2 && gs.Server.Port() == moved[1] {
			gs.Server = netip.AddrPortFrom(gs.Server.Addr(), moved[0])
		}
		if !reflect.DeepEqual(ws, gs) {
			t.Errorf("stream %d differs\n got %+v\nwant %+v", i, gs, ws)
		}
		if !reflect.DeepEqual(w.Records, g.Records) {
			t.Errorf("stream %d: packets differ\n got %v\nwant %v", i, types(g), types(w))
		}
		if wn, gn := viewNotes(w.Notes), viewNotes(g.Notes); !reflect.DeepEqual(wn, gn) {
			t.Errorf("stream %d: notes differ\n got %v\nwant %v", i, gn, wn)
		}
	}
	if wn, gn := viewNotes(want.Notes), viewNotes(got.Notes); !reflect.DeepEqual(wn, gn) {
		t.Errorf("stream-less notes differ\n got %v\nwant %v", gn, wn)
	}
}

// detections returns the detection notes of a capture, whatever stream they are on.
func detections(c *Capture) []Note {
	var out []Note
	for _, n := range c.Notes {
		if n.Kind == NoteDetected {
			out = append(out, n)
		}
	}
	for _, cv := range c.Conversations {
		for _, n := range cv.Notes {
			if n.Kind == NoteDetected {
				out = append(out, n)
			}
		}
	}
	return out
}

// TestDetectCommittedCaptures reads the committed captures, whose broker listened on a port
// that is neither 1883 nor a WebSocket default, once with their ports listed and once with
// only Detect: the two must be the same but for the detection notes.
func TestDetectCommittedCaptures(t *testing.T) {
	m := loadManifest(t)
	for _, c := range m.Captures {
		t.Run(c.File, func(t *testing.T) {
			file := filepath.Join("testdata", c.File)
			want, err := CollectFile(file, Options{Ports: c.Ports, WebSocketPorts: c.WSPorts})
			if err != nil {
				t.Fatal(err)
			}
			got, err := CollectFile(file, Options{Detect: true})
			if err != nil {
				t.Fatal(err)
			}
			sameDecode(t, want, got)
			port := append(c.Ports, c.WSPorts...)[0]
			ds := got.Summary.Detected
			if len(ds) != 1 || ds[0].Server.Port() != port || ds[0].WebSocket != (len(c.WSPorts) > 0) || ds[0].Stream != 0 {
				t.Fatalf("detections %+v, want one of port %d on stream 0", ds, port)
			}
			if ns := detections(got); len(ns) != 1 || ns[0].Stream == nil || ns[0].Stream.ID != 0 || ns[0].Frame != ds[0].Frame ||
				!strings.Contains(ns[0].Text, ds[0].Server.String()) {
				t.Errorf("detection notes %+v, want one on stream 0 at frame %d naming %v", ns, ds[0].Frame, ds[0].Server)
			}
			none, err := CollectFile(file, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if none.Summary.Packets != 0 || len(none.Summary.Streams) != 0 || none.Summary.TCP != 0 || len(none.Summary.Detected) != 0 {
				t.Errorf("without Detect: %d packets, %d streams, %d TCP segments, %d detections; want none",
					none.Summary.Packets, len(none.Summary.Streams), none.Summary.TCP, len(none.Summary.Detected))
			}
		})
	}
}

// v31Conversation is an MQTT 3.1 session ("MQIsdp", level 3).
func v31Conversation(client, server string) *conv {
	v := codec.V31
	c := newConv(client, server).handshake()
	c.pkt(FromClient, v, &codec.Connect{ClientID: "old", CleanStart: true, KeepAlive: 10})
	c.pkt(FromServer, v, &codec.Connack{})
	c.pkt(FromClient, v, &codec.Publish{QoS: 1, PacketID: 1, Topic: "t", Payload: []byte("x")})
	c.pkt(FromServer, v, &codec.Puback{PacketID: 1})
	c.pkt(FromClient, v, &codec.Disconnect{})
	return c.fin(FromClient).fin(FromServer)
}

// v311Split is a 3.1.1 session with a retransmitted SYN and a CONNECT spread over three
// segments, and a second connection to the same broker that the capture joins after its CONNECT.
func v311Split(client, server string) []capFrame {
	v := codec.V311
	c := newConv(client, server)
	c.frames = append(c.frames, capFrame{ts: c.tick(), data: c.segment(FromClient, c.seq[0], nil, true, false, false, false)})
	c.handshake() // the SYN again with the same sequence number: a retransmission
	c.sendChunks(FromClient, encode(v, &codec.Connect{ClientID: "split", KeepAlive: 5, Username: "u", Password: []byte("p"), UsernameFlag: true, PasswordFlag: true}), 12)
	c.pkt(FromServer, v, &codec.Connack{})
	c.pkt(FromClient, v, &codec.Subscribe{PacketID: 7, Subscriptions: []codec.Subscription{{Filter: "a/+", QoS: 1}}})
	c.pkt(FromServer, v, &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{1}})
	c.fin(FromClient).fin(FromServer)
	ap := netip.MustParseAddrPort(client)
	late := sampleConversationAt(netip.AddrPortFrom(ap.Addr(), ap.Port()+1).String(), server).frames[4:] // from its CONNACK on
	n := len(c.frames)
	return slices.Concat(c.frames[:n-2], late, c.frames[n-2:])
}

// TestDetectSynthetic moves synthetic conversations off their listed port: with Detect they
// decode exactly as on the listed port; without, not at all.
func TestDetectSynthetic(t *testing.T) {
	for _, tc := range []struct {
		name     string
		frames   []capFrame
		from, to uint16
		ws       bool
		ng       bool
		streams  int
	}{
		{"v5-11883", sampleConversation().frames, 1883, 11883, false, false, 1},
		{"v5-1884-pcapng", sampleConversation().frames, 1883, 1884, false, true, 1},
		{"v5-ipv6-8883", sampleConversationAt("[2001:db8::10]:50000", "[2001:db8::1]:1883").frames, 1883, 8883, false, false, 1},
		{"v31-mqisdp", v31Conversation("192.0.2.10:50000", "192.0.2.1:1883").frames, 1883, 41234, false, false, 1},
		{"v311-split-connect-syn-retransmitted-second-conn-midstream", v311Split("192.0.2.10:50000", "192.0.2.1:1883"), 1883, 11883, false, false, 2},
		{"no-syn-captured", sampleConversation().frames[1:], 1883, 11883, false, false, 1},
		{"no-handshake-captured", sampleConversation().frames[3:], 1883, 11883, false, false, 1},
		{"websocket-9001-to-19001", wsConversation(true).frames, 9001, 19001, true, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write := pcapBytes
			if tc.ng {
				write = pcapngBytes
			}
			want := collect(t, write(t, tc.frames), Options{})
			if want.Summary.Packets == 0 || len(want.Conversations) != tc.streams {
				t.Fatalf("on the listed port: %d packets in %d streams, want some in %d", want.Summary.Packets, len(want.Conversations), tc.streams)
			}
			moved := write(t, movePort(tc.frames, tc.from, tc.to))
			got := collect(t, moved, Options{Detect: true})
			sameDecode(t, want, got, tc.from, tc.to)
			ds := got.Summary.Detected
			if len(ds) != 1 || ds[0].Server.Port() != tc.to || ds[0].WebSocket != tc.ws {
				t.Fatalf("detections %+v, want one of port %d (WebSocket %t)", ds, tc.to, tc.ws)
			}
			ns := detections(got)
			if len(ns) != 1 || ns[0].Stream == nil || ns[0].Stream.ID != 0 || ns[0].Dir != FromClient {
				t.Fatalf("detection notes %+v, want one on stream 0", ns)
			}
			if !strings.Contains(ns[0].Text, fmt.Sprintf(":%d is not a listed port", tc.to)) {
				t.Errorf("note %q does not name the endpoint", ns[0].Text)
			}
			// The note precedes the stream's packets: it is the first thing said about it.
			if cv := got.Conversations[0]; cv.Notes[0].Kind != NoteDetected || cv.Records[0].Frame < cv.Notes[0].Frame {
				t.Errorf("first note %v at frame %d, first packet at frame %d", cv.Notes[0].Kind, cv.Notes[0].Frame, cv.Records[0].Frame)
			}
			none := collect(t, moved, Options{})
			if none.Summary.Packets != 0 || len(none.Conversations) != 0 || len(none.Notes) != 0 {
				t.Errorf("without Detect: %d packets, %d streams, notes %s; want none", none.Summary.Packets, len(none.Conversations), fmtNotes(none.Notes))
			}
			// Listed and detected together: the listed port wins, nothing is detected.
			both := collect(t, moved, Options{Detect: true, Ports: []uint16{tc.to}, WebSocketPorts: []uint16{tc.to}})
			if both.Summary.Packets != want.Summary.Packets || len(both.Summary.Detected) != 0 {
				t.Errorf("port listed and Detect: %d packets, %d detections; want %d, 0", both.Summary.Packets, len(both.Summary.Detected), want.Summary.Packets)
			}
		})
	}
}

// TestDetectNot lists streams on unlisted ports that must not be taken for MQTT.
func TestDetectNot(t *testing.T) {
	connect := encode(codec.V311, &codec.Connect{ClientID: "x", KeepAlive: 1})
	with := func(b []byte, i int, v byte) []byte { b = slices.Clone(b); b[i] = v; return b }
	onServer := func(client, server []byte, handshake bool) []capFrame {
		c := newConv("192.0.2.10:50000", "192.0.2.1:5555")
		if handshake {
			c.handshake()
		}
		if client != nil {
			c.send(FromClient, client)
		}
		if server != nil {
			c.send(FromServer, server)
		}
		return c.pkt(FromClient, codec.V311, &codec.Pingreq{}).frames
	}
	mid := sampleConversationAt("192.0.2.10:50000", "192.0.2.1:11883").frames
	for _, tc := range []struct {
		name   string
		frames []capFrame
	}{
		{"0x10-without-protocol-name", onServer([]byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'X', 4, 2, 0, 60, 0, 0}, nil, true)},
		{"protocol-level-6", onServer(with(connect, 8, 6), nil, true)},
		{"mqisdp-level-4", onServer(with(encode(codec.V31, &codec.Connect{ClientID: "x"}), 10, 4), nil, true)},
		{"remaining-length-too-small", onServer(with(connect, 1, 9), nil, true)},
		{"remaining-length-5-bytes", onServer([]byte{0x10, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 4, 'M', 'Q', 'T', 'T', 4}, nil, true)},
		{"connect-cut-before-level", onServer(connect[:7], nil, true)},
		{"server-speaks-connect-first", onServer(nil, connect, true)},
		{"connect-not-first-bytes", onServer(append([]byte("hello\r\n"), connect...), nil, true)},
		{"connect-after-other-data", func() []capFrame {
			c := newConv("192.0.2.10:50000", "192.0.2.1:5555").handshake()
			c.send(FromClient, []byte("hello\r\n"))
			return c.send(FromClient, connect).frames
		}()},
		{"capture-starts-after-connect", mid[5:]},
		{"http-get-no-subprotocol", onServer([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"), nil, true)},
		{"http-get-other-subprotocol", onServer([]byte("GET / HTTP/1.1\r\nSec-WebSocket-Protocol: wamp\r\n\r\nmqtt"), nil, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := collect(t, pcapBytes(t, tc.frames), Options{Detect: true})
			s := c.Summary
			if s.Packets != 0 || len(s.Streams) != 0 || len(s.Detected) != 0 || s.TCP != 0 || len(c.Notes) != 0 {
				t.Errorf("%d packets, %d streams, %d detections, %d TCP segments, notes %s; want none",
					s.Packets, len(s.Streams), len(s.Detected), s.TCP, fmtNotes(c.Notes))
			}
		})
	}
}

// synFlood writes n SYNs from distinct clients to unlisted ports, then the given frames.
func synFlood(t testing.TB, n int, before, after []capFrame) []byte {
	tmpl := newConv("10.0.0.1:1", "10.9.0.1:2").segment(FromClient, 77, nil, true, false, false, false)
	frames := slices.Clone(before)
	ts := t0.Add(-time.Hour)
	for i := range n {
		d := slices.Clone(tmpl)
		binary.BigEndian.PutUint16(d[14+12+2:], uint16(i/40000))     // client address 10.0.x.y
		binary.BigEndian.PutUint16(d[14+20:], uint16(20000+i%40000)) // client port, never a listed one
		frames = append(frames, capFrame{ts: ts.Add(time.Duration(i) * time.Microsecond), data: d})
	}
	return pcapBytes(t, append(frames, after...))
}

// TestDetectHandshakeTableBounded floods the reader with SYNs that never carry data: the kept
// handshakes stay within maxHandshakes, memory does not grow with the flood, time grows
// linearly, and eviction is oldest-first.
func TestDetectHandshakeTableBounded(t *testing.T) {
	// A connection whose SYN comes before the flood (evicted by the time its CONNECT arrives),
	// and one whose handshake comes after (kept).
	early := sampleConversationAt("192.0.2.10:50000", "192.0.2.1:11883").frames
	late := sampleConversationAt("192.0.2.20:50000", "192.0.2.2:11884").frames
	early[0].ts = t0.Add(-2 * time.Hour)
	run := func(n int) (*reader, time.Duration, uint64) {
		data := synFlood(t, n, early[:1], append(early[1:], late...))
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		src, err := openSource(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Detect: true}
		rd := newReader(o.withDefaults(), Handler{})
		if err := rd.run(src); err != nil {
			t.Fatal(err)
		}
		rd.finish()
		el := time.Since(start)
		runtime.ReadMemStats(&ms1)
		return rd, el, ms1.TotalAlloc - ms0.TotalAlloc
	}
	var small, big time.Duration
	var smallMem, bigMem uint64
	var rd *reader
	// 60,000 and 200,000: the index map's allocations level off (deleted entries leave slots
	// to reuse only once it reached its working size) between 30,000 and 60,000 SYNs; from
	// there on a flood allocates nothing more.
	for range 3 { // the best of three, on a busy machine
		_, el, mem := run(60000)
		if small == 0 || el < small {
			small, smallMem = el, mem
		}
		rd, el, mem = run(200000)
		if big == 0 || el < big {
			big, bigMem = el, mem
		}
	}
	if n := len(rd.hs.ring); n != maxHandshakes || len(rd.hs.idx) > maxHandshakes {
		t.Errorf("handshake table: %d entries, index %d; want %d and at most that", n, len(rd.hs.idx), maxHandshakes)
	}
	if big > 8*small {
		t.Errorf("200,000 SYNs took %v, 60,000 took %v: more than linear", big, small)
	}
	if bigMem > smallMem+smallMem/4+(256<<10) {
		t.Errorf("200,000 SYNs allocated %d bytes, 60,000 allocated %d: memory grows with the flood", bigMem, smallMem)
	}
	t.Logf("60,000 SYNs: %v, %d bytes allocated; 200,000: %v, %d bytes", small, smallMem, big, bigMem)
	s := rd.sum
	if len(s.Streams) != 2 || len(s.Detected) != 2 || s.Packets != 28 {
		t.Fatalf("%d streams, %d detections, %d packets; want 2, 2, 28", len(s.Streams), len(s.Detected), s.Packets)
	}
	// The early SYN was evicted: its stream opens at the SYN-ACK (evicted too) or the CONNECT,
	// without the handshake; the late one has it.
	if s.Streams[0].Handshake || !s.Streams[1].Handshake {
		t.Errorf("handshake early %t late %t; want false, true", s.Streams[0].Handshake, s.Streams[1].Handshake)
	}
}

// TestDetectLaterConnections: once an endpoint is detected, later connections to it are decoded
// from their SYN (also one without a CONNECT), and connections to another port of the same host
// or to the same port of another host are not.
func TestDetectLaterConnections(t *testing.T) {
	first := sampleConversationAt("192.0.2.10:50000", "192.0.2.1:11883")
	second := sampleConversationAt("192.0.2.10:50001", "192.0.2.1:11883")
	second.t = first.t
	// A second connection without CONNECT: its packets are found only because the endpoint is known.
	noConnect := newConv("192.0.2.10:50002", "192.0.2.1:11883").handshake()
	noConnect.t = second.t
	noConnect.pkt(FromClient, codec.V5, &codec.Pingreq{})
	otherPort := newConv("192.0.2.10:50003", "192.0.2.1:11884").handshake()
	otherPort.pkt(FromClient, codec.V5, &codec.Pingreq{})
	otherHost := newConv("192.0.2.10:50004", "192.0.2.9:11883").handshake()
	otherHost.pkt(FromClient, codec.V5, &codec.Pingreq{})
	frames := slices.Concat(first.frames, second.frames, noConnect.frames, otherPort.frames, otherHost.frames)
	c := collect(t, pcapBytes(t, frames), Options{Detect: true})
	if len(c.Conversations) != 3 {
		t.Fatalf("%d streams, want 3", len(c.Conversations))
	}
	for i, cv := range c.Conversations {
		if !cv.Stream.Detected || !cv.Stream.Handshake || cv.Stream.Server.String() != "192.0.2.1:11883" {
			t.Errorf("stream %d: detected %t handshake %t server %v", i, cv.Stream.Detected, cv.Stream.Handshake, cv.Stream.Server)
		}
	}
	if got := types(c.Conversations[2]); !slices.Equal(got, []string{"C:PINGREQ"}) {
		t.Errorf("third stream: %v, want C:PINGREQ", got)
	}
	if ns := detections(c); len(ns) != 1 || len(c.Summary.Detected) != 1 {
		t.Errorf("%d detection notes, %d detections; want one of each", len(ns), len(c.Summary.Detected))
	}
}

// TestDetectTshark compares per-type counts with tshark told the moved port.
func TestDetectTshark(t *testing.T) {
	bin := tsharkPath(t)
	dir := t.TempDir()
	m := loadManifest(t)
	files := map[string]uint16{}
	for _, c := range m.Captures {
		if len(c.Ports) > 0 {
			files[filepath.Join("testdata", c.File)] = c.Ports[0]
		}
	}
	synth := filepath.Join(dir, "moved.pcapng")
	frames := slices.Concat(movePort(sampleConversation().frames, 1883, 11883), movePort(v311Split("192.0.2.30:50000", "192.0.2.1:1883"), 1883, 11883))
	if err := os.WriteFile(synth, pcapngBytes(t, frames), 0o644); err != nil {
		t.Fatal(err)
	}
	files[synth] = 11883
	for file, port := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := tsharkCounts(t, bin, file, "-d", fmt.Sprintf("tcp.port==%d,mqtt", port))
			sum, err := ReadFile(file, Options{Detect: true}, Handler{})
			if err != nil {
				t.Fatal(err)
			}
			if got := counts(sum.ByType); fmtCounts(got) != fmtCounts(want) || sum.Packets == 0 {
				t.Errorf("per-type counts\n    ours %s\n  tshark %s", fmtCounts(got), fmtCounts(want))
			}
		})
	}
}

func TestPlausibleConnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		v    codec.Version
		ok   bool
	}{
		{"v311", encode(codec.V311, &codec.Connect{ClientID: "c"}), codec.V311, true},
		{"v5", encode(codec.V5, &codec.Connect{ClientID: "c"}), codec.V5, true},
		{"v31", encode(codec.V31, &codec.Connect{ClientID: "c"}), codec.V31, true},
		{"v311-empty-id-minimal", []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 0}, codec.V311, true},
		{"v5-rl-12-too-small", []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0, 0, 0, 0}, codec.V5, false},
		{"rl-two-bytes", append([]byte{0x10, 0x80, 0x01, 0, 4, 'M', 'Q', 'T', 'T', 4}, make([]byte, 118)...), codec.V311, true},
		{"rl-four-bytes", []byte{0x10, 0xff, 0xff, 0xff, 0x7f, 0, 4, 'M', 'Q', 'T', 'T', 5}, codec.V5, true},
		{"rl-unterminated", []byte{0x10, 0xff, 0xff}, 0, false},
		{"publish", []byte{0x30, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 0}, 0, false},
		{"mqtt-level-3", []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 3, 2, 0, 0, 0, 0}, 0, false},
		{"mqisdp-level-4", []byte{0x10, 14, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 4, 2, 0, 0, 0, 0}, 0, false},
		{"v311-bridge-level-0x84", []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 0x84, 2, 0, 0, 0, 0}, codec.V311, true},
		{"v31-bridge-level-0x83", []byte{0x10, 14, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 0x83, 2, 0, 0, 0, 0}, codec.V31, true},
		{"mqtt-level-0x86", []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 0x86, 2, 0, 0, 0, 0}, 0, false},
		{"lowercase-name", []byte{0x10, 12, 0, 4, 'm', 'q', 't', 't', 4, 2, 0, 0, 0, 0}, 0, false},
		{"empty", nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := plausibleConnect(tc.b)
			if ok != tc.ok || (ok && v != tc.v) {
				t.Errorf("got %v %t, want %v %t", v, ok, tc.v, tc.ok)
			}
		})
	}
}
