package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// splitPublish is a v5 conversation whose client sends a 3000-byte PUBLISH in three segments,
// then a PINGREQ; segs holds the frame indexes of the three PUBLISH segments.
func splitPublish() (c *conv, segs [3]int) {
	v := codec.V5
	c = newConv("10.0.0.2:40001", "10.0.0.1:1883").handshake()
	c.pkt(FromClient, v, &codec.Connect{ClientID: "split", CleanStart: true})
	c.pkt(FromServer, v, &codec.Connack{})
	b := encode(v, &codec.Publish{QoS: 1, PacketID: 9, Topic: "big", Payload: bytes.Repeat([]byte("z"), 3000)})
	k := (len(b) + 2) / 3
	for i := range 3 {
		segs[i] = len(c.frames)
		c.send(FromClient, b[:min(k, len(b))])
		b = b[min(k, len(b)):]
	}
	c.pkt(FromServer, v, &codec.Puback{PacketID: 9})
	c.pkt(FromClient, v, &codec.Pingreq{})
	c.pkt(FromServer, v, &codec.Pingresp{})
	return c, segs
}

var splitTypes = []string{"C:CONNECT", "S:CONNACK", "C:PUBLISH", "S:PUBACK", "C:PINGREQ", "S:PINGRESP"}

func TestReassembly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edit     func(f []capFrame, segs [3]int) []capFrame
		types    []string
		ooo, rtx int
		missing  int64
		notes    []NoteKind
	}{
		{"in-order", func(f []capFrame, _ [3]int) []capFrame { return f }, splitTypes, 0, 0, 0, nil},
		{"out-of-order", func(f []capFrame, s [3]int) []capFrame {
			f[s[1]], f[s[2]] = f[s[2]], f[s[1]]
			return f
		}, splitTypes, 1, 0, 0, nil},
		{"retransmission", func(f []capFrame, s [3]int) []capFrame {
			return slices.Insert(f, s[1]+1, f[s[1]])
		}, splitTypes, 0, 1, 0, nil},
		{"missing-segment", func(f []capFrame, s [3]int) []capFrame {
			return slices.Delete(f, s[1], s[1]+1)
		}, []string{"C:CONNECT", "S:CONNACK", "S:PUBACK", "S:PINGRESP", "C:PINGREQ"}, 2, 0, 1004,
			// The reassembler holds the data after the hole until the capture ends, then reports
			// the gap and everything after it at once; the PUBLISH is lost with it, the PINGREQ
			// found again by scanning for a packet that decodes and is followed by another.
			[]NoteKind{NoteGap, NotePartial, NoteUnsynced, NoteResync}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, segs := splitPublish()
			frames := tc.edit(slices.Clone(c.frames), segs)
			cp := collect(t, pcapBytes(t, frames), Options{})
			if len(cp.Conversations) != 1 {
				t.Fatalf("%d streams, want 1", len(cp.Conversations))
			}
			cv := cp.Conversations[0]
			if got := types(cv); !slices.Equal(got, tc.types) {
				t.Errorf("packets\n got %v\nwant %v", got, tc.types)
			}
			s := cv.Stream
			if s.OutOfOrder[0] != tc.ooo || s.Retransmissions[0] != tc.rtx || s.MissingBytes[0] != tc.missing {
				t.Errorf("out-of-order %d retransmissions %d missing %d; want %d %d %d", s.OutOfOrder[0], s.Retransmissions[0], s.MissingBytes[0], tc.ooo, tc.rtx, tc.missing)
			}
			var kinds []NoteKind
			for _, n := range cv.Notes {
				kinds = append(kinds, n.Kind)
			}
			if !slices.Equal(kinds, tc.notes) {
				t.Errorf("notes %s, want kinds %v", fmtNotes(cv.Notes), tc.notes)
			}
			for _, r := range cv.Records {
				if r.Type == codec.PUBLISH {
					p := r.Packet.(*codec.Publish)
					if len(p.Payload) != 3000 || r.Frame != segs[2]+1 && tc.name == "in-order" {
						t.Errorf("PUBLISH payload %d at frame %d, want 3000 at frame %d", len(p.Payload), r.Frame, segs[2]+1)
					}
				}
			}
		})
	}
}

func TestMidStreamCapture(t *testing.T) {
	v := codec.V5
	c := newConv("10.0.0.2:40002", "10.0.0.1:1883").handshake()
	c.pkt(FromClient, v, &codec.Connect{ClientID: "mid"})
	c.pkt(FromServer, v, &codec.Connack{})
	pub := encode(v, &codec.Publish{QoS: 1, PacketID: 4, Topic: "a", Payload: []byte("hello")})
	c.send(FromClient, pub[:4]) // frame 6: the capture starts after this one
	c.send(FromClient, pub[4:])
	c.pkt(FromServer, v, &codec.Puback{PacketID: 4, ReasonCode: codec.ReasonNoMatchingSubscribers})
	c.pkt(FromClient, v, &codec.Pingreq{})
	frames := c.frames[6:]
	cp := collect(t, pcapBytes(t, frames), Options{})
	cv := cp.Conversations[0]
	if got, want := types(cv), []string{"S:PUBACK", "C:PINGREQ"}; !slices.Equal(got, want) {
		t.Errorf("packets %v, want %v", got, want)
	}
	s := cv.Stream
	if s.Handshake || s.Version != codec.V5 || !s.VersionGuessed {
		t.Errorf("handshake %t version %v guessed %t; want false, 5.0 (from the PUBACK's reason code), true", s.Handshake, s.Version, s.VersionGuessed)
	}
	if s.Client.Port() != 40002 {
		t.Errorf("client %v: the side not on port 1883 is the client", s.Client)
	}
	var kinds []NoteKind
	for _, n := range cv.Notes {
		kinds = append(kinds, n.Kind)
	}
	if want := []NoteKind{NoteUnsynced, NoteResync, NoteResync}; !slices.Equal(kinds, want) {
		t.Errorf("notes %s, want %v", fmtNotes(cv.Notes), want)
	}
}

func TestOversizedAndUnfinished(t *testing.T) {
	v := codec.V311
	t.Run("over-limit-skipped", func(t *testing.T) {
		c := newConv("10.0.0.2:40003", "10.0.0.1:1883").handshake()
		c.pkt(FromClient, v, &codec.Connect{ClientID: "big"})
		c.sendChunks(FromClient, encode(v, &codec.Publish{Topic: "t", Payload: make([]byte, 5000)}), 1400)
		c.pkt(FromClient, v, &codec.Pingreq{})
		cp := collect(t, pcapBytes(t, c.frames), Options{MaxPacketSize: 1000})
		cv := cp.Conversations[0]
		if got, want := types(cv), []string{"C:CONNECT", "C:PUBLISH", "C:PINGREQ"}; !slices.Equal(got, want) {
			t.Fatalf("packets %v, want %v", got, want)
		}
		r := cv.Records[1]
		if r.Raw != nil || r.Packet != nil || r.Size != 5000+2+1+2+1 || r.Err == nil || !strings.Contains(r.Err.Error(), "larger than the 1000-byte analysis limit") {
			t.Errorf("oversized record: raw %d bytes, packet %v, size %d, err %v", len(r.Raw), r.Packet, r.Size, r.Err)
		}
	})
	t.Run("never-completes", func(t *testing.T) {
		c := newConv("10.0.0.2:40004", "10.0.0.1:1883").handshake()
		c.pkt(FromClient, v, &codec.Connect{ClientID: "short"})
		b := encode(v, &codec.Publish{Topic: "t", Payload: make([]byte, 200000)})
		c.sendChunks(FromClient, b[:50000], 1400)
		cp := collect(t, pcapBytes(t, c.frames), Options{})
		cv := cp.Conversations[0]
		if len(cv.Records) != 1 || len(cv.Notes) != 1 || cv.Notes[0].Kind != NotePartial ||
			cv.Notes[0].Text != "stream ended inside a PUBLISH: have 50000 of its 200007 bytes" {
			t.Errorf("records %v notes %s", types(cv), fmtNotes(cv.Notes))
		}
	})
	t.Run("huge-claim", func(t *testing.T) {
		c := newConv("10.0.0.2:40005", "10.0.0.1:1883").handshake()
		c.pkt(FromClient, v, &codec.Connect{ClientID: "huge"})
		c.send(FromClient, []byte{0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, 't'}) // PUBLISH of 268435455 bytes
		c.sendChunks(FromClient, make([]byte, 20000), 1400)
		cp := collect(t, pcapBytes(t, c.frames), Options{})
		cv := cp.Conversations[0]
		if len(cv.Records) != 2 || cv.Records[1].Size != 268435460 || len(cv.Notes) != 1 ||
			cv.Notes[0].Text != "stream ended inside an oversized PUBLISH: 268415452 of its 268435460 bytes missing" {
			t.Errorf("records %v notes %s", types(cv), fmtNotes(cv.Notes))
		}
	})
	t.Run("bad-header-resync", func(t *testing.T) {
		c := newConv("10.0.0.2:40006", "10.0.0.1:1883").handshake()
		c.pkt(FromClient, v, &codec.Connect{ClientID: "bad"})
		c.send(FromClient, []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0xaa}) // five-byte remaining length
		c.pkt(FromClient, v, &codec.Pingreq{})
		cp := collect(t, pcapBytes(t, c.frames), Options{})
		cv := cp.Conversations[0]
		var kinds []NoteKind
		for _, n := range cv.Notes {
			kinds = append(kinds, n.Kind)
		}
		if got, want := types(cv), []string{"C:CONNECT", "C:PINGREQ"}; !slices.Equal(got, want) || !slices.Equal(kinds, []NoteKind{NoteBadHeader, NoteResync}) {
			t.Errorf("packets %v notes %s", got, fmtNotes(cv.Notes))
		}
	})
	t.Run("snaplen", func(t *testing.T) {
		c, segs := splitPublish()
		frames := slices.Clone(c.frames)
		f := frames[segs[1]]
		frames[segs[1]] = capFrame{ts: f.ts, data: f.data[:100], orig: len(f.data)}
		cp := collect(t, pcapBytes(t, frames), Options{})
		if cp.Summary.Snapped != 1 || len(cp.Notes) != 1 || cp.Notes[0].Kind != NoteTruncated {
			t.Errorf("snapped %d, capture notes %s", cp.Summary.Snapped, fmtNotes(cp.Notes))
		}
		if cp.Conversations[0].Stream.MissingBytes[0] == 0 {
			t.Error("the bytes cut by the snap length are not reported missing")
		}
	})
}

// TestFramerMemory checks that a packet that never completes costs memory in proportion to the
// bytes that arrived, and one above the limit costs none.
func TestFramerMemory(t *testing.T) {
	rd := newReader((&Options{MaxPacketSize: 16 << 20}).withDefaults(), Handler{})
	c := &tcpConn{rd: rd, class: portMQTT, mode: modeMQTT, version: codec.V311}
	c.half[0] = half{dir: FromClient, conn: c}
	c.half[1] = half{dir: FromServer, conn: c}
	c.open(&segCtx{}, true)
	f := &c.half[0].mq
	// 8 MB claimed (within the limit), 100 kB trickled in 1000-byte pieces.
	f.feed([]byte{0x30, 0x80, 0x80, 0x80, 0x04})
	chunk := make([]byte, 1000)
	for range 100 {
		f.feed(chunk)
	}
	if len(f.buf) != 100005 || cap(f.buf) > 2*100005+4096 {
		t.Errorf("buffer len %d cap %d after 100005 bytes of an 8 MB packet", len(f.buf), cap(f.buf))
	}
	// 96 MiB claimed (over the limit): nothing is buffered.
	f.buf, f.need = nil, 0
	f.feed([]byte{0x30, 0x80, 0x80, 0x80, 0x30})
	big := make([]byte, 1<<20)
	for range 20 {
		f.feed(big)
	}
	if cap(f.buf) != 0 || f.skip != 0x30<<21-20<<20 {
		t.Errorf("over-limit packet: buffer cap %d, skip %d", cap(f.buf), f.skip)
	}
}

func TestHostileFiles(t *testing.T) {
	le := binary.LittleEndian
	frames := sampleConversation().frames
	good := rawPcap(LinkEthernet, le, false, frames)
	goodNG := rawPcapNG(LinkEthernet, le, 0, frames)
	pcapHeader := good[:24]
	record := func(caplen, orig uint32, data []byte) []byte {
		b := le.AppendUint32(nil, 1)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, caplen)
		b = le.AppendUint32(b, orig)
		return append(b, data...)
	}
	shb := goodNG[:28]
	idbWith := func(opts ...byte) []byte {
		body := le.AppendUint16(nil, 1)
		body = le.AppendUint16(body, 0)
		body = le.AppendUint32(body, 0)
		body = append(body, opts...)
		return ngBlock(nil, le, ngIDB, body)
	}
	idb := idbWith()
	epb := func(iface, caplen uint32, data []byte) []byte {
		body := le.AppendUint32(nil, iface)
		body = append(body, 0, 0, 0, 0, 0, 0, 0, 0)
		body = le.AppendUint32(body, caplen)
		body = le.AppendUint32(body, caplen)
		return ngBlock(nil, le, ngEPB, append(body, data...))
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, tc := range []struct {
		name      string
		data      []byte
		notCap    bool   // ErrNotCapture
		truncated bool   // *CaptureError with Truncated
		msg       string // part of the error message ("" = no error)
		packets   int
	}{
		{"empty", nil, true, false, "file has 0 bytes", 0},
		{"text", []byte("hello, world"), true, false, "starts with 68 65 6c 6c", 0},
		{"gzip-garbage", []byte{0x1f, 0x8b, 1, 2, 3, 4, 5}, true, false, "gzip header", 0},
		{"pcap-header-only", pcapHeader, false, false, "", 0},
		{"pcap-short-header", pcapHeader[:10], false, true, "pcap file header", 0},
		{"pcap-huge-caplen", cat(pcapHeader, record(0x7ffffff0, 0x7ffffff0, []byte{1, 2, 3})), false, false, "capture length exceeds snap length", 0},
		{"pcap-caplen-over-orig", cat(pcapHeader, record(10, 5, make([]byte, 10))), false, false, "exceeds original packet length", 0},
		{"pcap-record-cut", cat(pcapHeader, record(100, 100, make([]byte, 40))), false, true, "record 1", 0},
		{"pcap-cut-in-last-frame", good[:len(good)-10], false, true, "record", 14},
		{"pcapng-bad-byte-order", cat(shb[:8], []byte{1, 2, 3, 4}, shb[12:]), false, false, "byte-order magic", 0},
		{"pcapng-huge-block", cat(shb, idb, le.AppendUint32(le.AppendUint32(nil, ngEPB), 0xfffffff0)), false, false, "more than the 16777216", 0},
		{"pcapng-tiny-block", cat(shb, idb, le.AppendUint32(le.AppendUint32(nil, ngEPB), 8)), false, false, "less than its minimum", 0},
		{"pcapng-odd-block", cat(shb, idb, le.AppendUint32(le.AppendUint32(nil, ngEPB), 30), make([]byte, 30)), false, false, "not a multiple of 4", 0},
		{"pcapng-trailer-mismatch", cat(shb, idb[:len(idb)-4], le.AppendUint32(nil, 99)), false, false, "trailing length 99", 0},
		{"pcapng-caplen-over-block", cat(shb, idb, epb(0, 5000, make([]byte, 64))), false, false, "claims 5000 captured bytes", 0},
		{"pcapng-unknown-interface", cat(shb, idb, epb(3, 4, make([]byte, 4))), false, false, "interface 3", 0},
		{"pcapng-tsresol-2^-127", cat(shb, idbWith(9, 0, 1, 0, 0xff, 0, 0, 0, 0, 0, 0, 0)), false, false, "2^-127", 0},
		{"pcapng-tsresol-10^-25", cat(shb, idbWith(9, 0, 1, 0, 25, 0, 0, 0, 0, 0, 0, 0)), false, false, "10^-25", 0},
		{"pcapng-option-overrun", cat(shb, idbWith(2, 0, 200, 0, 'x', 'x', 'x', 'x')), false, false, "runs past its block", 0},
		{"pcapng-spb-first", cat(shb, ngBlock(nil, le, ngSPB, le.AppendUint32(nil, 4))), false, false, "before any interface", 0},
		{"pcapng-packet-before-idb", cat(shb, epb(0, 4, make([]byte, 4))), false, false, "section describes 0", 0},
		{"pcapng-not-shb-first", cat([]byte{0x0a, 0x0d, 0x0d, 0x0a}, le.AppendUint32(nil, 8)), false, true, "section header", 0},
		{"pcapng-cut-in-last-frame", goodNG[:len(goodNG)-7], false, true, "block type 0x6", 14},
		{"unsupported-link-type", rawPcap(105, le, false, frames), false, false, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := Read(bytes.NewReader(tc.data), Options{}, Handler{})
			var ce *CaptureError
			switch {
			case tc.notCap:
				if !errors.Is(err, ErrNotCapture) {
					t.Fatalf("err %v, want ErrNotCapture", err)
				}
			case tc.msg == "":
				if err != nil {
					t.Fatalf("err %v, want none", err)
				}
			default:
				if !errors.As(err, &ce) {
					t.Fatalf("err %v (%T), want *CaptureError", err, err)
				}
				if ce.Truncated != tc.truncated {
					t.Errorf("truncated %t, want %t (%v)", ce.Truncated, tc.truncated, err)
				}
			}
			if err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
			if sum != nil && sum.Packets != tc.packets {
				t.Errorf("%d MQTT packets, want %d", sum.Packets, tc.packets)
			}
		})
	}
}

// TestTruncatedEverywhere cuts real captures at every byte: Read never panics, reports a
// truncation (or a clean end), and finds no packet the whole file does not have.
func TestTruncatedEverywhere(t *testing.T) {
	for _, name := range []string{"testdata/v311-qos.pcap", "testdata/ipv6.pcapng"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		full, err := Read(bytes.NewReader(data), Options{Ports: []uint16{portOf(t, name)}}, Handler{})
		if err != nil {
			t.Fatal(err)
		}
		step := 13 // every offset modulo 4 and modulo the 16-byte record header, in reasonable time
		if testing.Short() {
			step = 97
		}
		for n := 0; n < len(data); n += step {
			sum, err := Read(bytes.NewReader(data[:n]), Options{Ports: []uint16{portOf(t, name)}}, Handler{})
			var ce *CaptureError
			if err != nil && !errors.Is(err, ErrNotCapture) && !(errors.As(err, &ce) && ce.Truncated) {
				t.Fatalf("%s cut at %d: %v", name, n, err)
			}
			if sum != nil && sum.Packets > full.Packets {
				t.Fatalf("%s cut at %d: %d packets, the whole file has %d", name, n, sum.Packets, full.Packets)
			}
		}
	}
}

func portOf(t *testing.T, file string) uint16 {
	m := loadManifest(t)
	for _, c := range m.Captures {
		if "testdata/"+c.File == file {
			return c.Ports[0]
		}
	}
	t.Fatalf("%s not in the manifest", file)
	return 0
}

func TestUnsupportedLinkNote(t *testing.T) {
	var notes []Note
	sum, err := Read(bytes.NewReader(rawPcap(105, binary.LittleEndian, false, sampleConversation().frames)), Options{}, Handler{
		Note: func(n *Note) { notes = append(notes, *n) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.NonIP != sum.Frames || len(notes) != 1 || notes[0].Kind != NoteLinkType || !strings.Contains(notes[0].Text, "link type 105") {
		t.Errorf("non-IP %d of %d frames, notes %s", sum.NonIP, sum.Frames, fmtNotes(notes))
	}
}

// TestResyncLinear feeds a 4 MB chunk full of plausible PUBLISH headers (the reassembler can
// deliver that much at once after a gap) to a direction that lost its framing: looking for a
// boundary must cost time linear in the data, not in data × packet size.
func TestResyncLinear(t *testing.T) {
	var notes []Note
	rd := newReader((&Options{}).withDefaults(), Handler{Note: func(n *Note) { notes = append(notes, *n) }})
	c := &tcpConn{rd: rd, class: portMQTT, mode: modeMQTT, version: codec.V311}
	c.half[0] = half{dir: FromClient, conn: c}
	c.half[1] = half{dir: FromServer, conn: c}
	c.open(&segCtx{}, false)
	f := &c.half[0].mq
	f.lost = true
	// SUBSCRIBE of 1 MiB at every fourth byte: each candidate decodes some 30 filters of 32 KB
	// before running past its end.
	pat := []byte{0x82, 0x80, 0x80, 0x40}
	start := time.Now()
	f.feed(bytes.Repeat(pat, (4<<20)/len(pat)))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if len(notes) != 1 || notes[0].Kind != NoteUnsynced || c.s.Packets[0] != 0 {
		t.Errorf("packets %d notes %s", c.s.Packets[0], fmtNotes(notes))
	}
}
