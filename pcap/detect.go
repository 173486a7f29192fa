package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/mqttspec/mqttspec/codec"
)

// Detection by content (Options.Detect). A connection on ports that are not listed becomes MQTT
// when the client's first payload bytes are a plausible CONNECT (or an HTTP upgrade offering an
// MQTT WebSocket subprotocol). Its server endpoint (address and port) is then treated as listed
// for the rest of the read, so later connections to it are decoded from their SYN. Nothing can
// be detected of a connection whose CONNECT was not captured: Options.Ports is the answer there.
//
// For the detected connection to decode exactly as if its port had been listed, its handshake
// must reach the reassembler before the CONNECT: it carries the sequence numbers each direction
// starts from and says which side is the client. The payload-less SYN and SYN-ACK of unlisted
// connections are therefore kept in a bounded table (handshakes), oldest evicted first, and fed
// to the reassembler in capture order when their connection is detected.

// maxHandshakes bounds the handshake table: at most this many SYN and SYN-ACK segments of
// unlisted connections are kept, about 200 bytes each.
const maxHandshakes = 4096

// Detection is a server endpoint on an unlisted port that Options.Detect found to carry MQTT.
type Detection struct {
	Server    netip.AddrPort
	WebSocket bool // MQTT over WebSocket (an HTTP upgrade offered an MQTT subprotocol)
	Frame     int  // the frame holding the CONNECT or the HTTP upgrade that revealed it
	Time      time.Time
	Stream    int    // the ID of that connection's Stream
	Reason    string // what was seen, e.g. "the client's first bytes are an MQTT 3.1.1 CONNECT"
}

// hsKey identifies one direction of a TCP connection.
type hsKey struct {
	net    gopacket.Flow
	sp, dp uint16
}

// hsEntry is a kept SYN or SYN-ACK: the TCP header (a payload-less segment is nothing more) and
// what handleFrame would have used to assemble it.
type hsEntry struct {
	key      hsKey
	live     bool // idx still points here
	synack   bool
	hlen     uint8
	hdr      [60]byte
	seq, ack uint32
	ci       gopacket.CaptureInfo
	frame    int
	extra    int // payload-less segments seen after it in its direction (retransmissions, ACKs), for Stats.TCP
}

// handshakes is the bounded table of kept SYN and SYN-ACK segments: a ring that grows to
// maxHandshakes entries and is then overwritten oldest-first, with an index by direction.
type handshakes struct {
	ring []hsEntry
	next int // the oldest slot once the ring is full
	idx  map[hsKey]int
	max  int
}

func (t *handshakes) get(k hsKey) *hsEntry {
	if i, ok := t.idx[k]; ok {
		return &t.ring[i]
	}
	return nil
}

// add keeps a SYN or SYN-ACK. A retransmission (same key and sequence number) keeps the first
// copy, the one a listed connection would have opened its stream with; a new sequence number on
// the same key is a new connection and replaces the old one.
func (t *handshakes) add(k hsKey, hdr []byte, synack bool, seq, ack uint32, ci gopacket.CaptureInfo, frame int) {
	if t.idx == nil {
		t.idx = make(map[hsKey]int)
		if t.max <= 0 {
			t.max = maxHandshakes
		}
	}
	if e := t.get(k); e != nil {
		if e.seq == seq && e.synack == synack {
			e.extra++ // a retransmission: counted in Stats.TCP like a listed one
			return
		}
		t.drop(e)
	}
	var e *hsEntry
	if len(t.ring) < t.max {
		t.ring = append(t.ring, hsEntry{})
		e = &t.ring[len(t.ring)-1]
		t.idx[k] = len(t.ring) - 1
	} else {
		e = &t.ring[t.next]
		t.drop(e)
		t.idx[k] = t.next
		t.next = (t.next + 1) % len(t.ring)
	}
	*e = hsEntry{key: k, live: true, synack: synack, hlen: uint8(len(hdr)), seq: seq, ack: ack, ci: ci, frame: frame}
	copy(e.hdr[:], hdr)
}

func (t *handshakes) drop(e *hsEntry) {
	if e.live {
		delete(t.idx, e.key)
		e.live = false
	}
}

// plausibleConnect reports whether b starts like a CONNECT: first byte 0x10, a Remaining Length
// of at most four bytes that leaves room for the variable header and a client identifier, then
// protocol name "MQTT" with level 4 or 5, or "MQIsdp" with level 3 [MQTT-3.1.2-1], bit 7 of the
// level allowed (bridges).
func plausibleConnect(b []byte) (codec.Version, bool) {
	if len(b) < 2 || b[0] != 0x10 {
		return 0, false
	}
	rl, i := 0, 1
	for ; ; i++ {
		if i > 4 || i >= len(b) {
			return 0, false
		}
		rl |= int(b[i]&0x7f) << (7 * (i - 1))
		if b[i]&0x80 == 0 {
			break
		}
	}
	p := b[i+1:]
	// A bridge of mosquitto (and brokers copying it) sets bit 7 of the level ("try_private"):
	// not a valid level, which the lenient decode reports, but unmistakably a CONNECT.
	level := func(at int) byte { return p[at] &^ 0x80 }
	var v codec.Version
	var need int // name, level, flags, keep alive, (properties length,) client identifier length
	switch {
	case len(p) >= 7 && p[0] == 0 && p[1] == 4 && string(p[2:6]) == "MQTT" && level(6) == 4:
		v, need = codec.V311, 6+1+1+2+2
	case len(p) >= 7 && p[0] == 0 && p[1] == 4 && string(p[2:6]) == "MQTT" && level(6) == 5:
		v, need = codec.V5, 6+1+1+2+1+2
	case len(p) >= 9 && p[0] == 0 && p[1] == 6 && string(p[2:8]) == "MQIsdp" && level(8) == 3:
		v, need = codec.V31, 8+1+1+2+2
	default:
		return 0, false
	}
	return v, rl >= need
}

// mqttUpgrade reports whether b starts with an HTTP GET whose header (as far as b holds it)
// offers a WebSocket subprotocol naming MQTT ("mqtt", "mqttv3.1"…).
func mqttUpgrade(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("GET ")) {
		return false
	}
	b = b[:min(len(b), maxHTTP)]
	if end := bytes.Index(b, []byte("\r\n\r\n")); end >= 0 {
		b = b[:end+2]
	}
	const name = "sec-websocket-protocol:"
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return false // the header goes on in the next segment, or is not HTTP
		}
		b = b[i+2:]
		line := b
		if j := bytes.Index(line, []byte("\r\n")); j >= 0 {
			line = line[:j]
		}
		if len(line) >= len(name) && bytes.EqualFold(line[:len(name)], []byte(name)) &&
			bytes.Contains(bytes.ToLower(line[len(name):]), []byte("mqtt")) {
			return true
		}
	}
	return false
}

// detect handles a TCP segment on unlisted ports when Options.Detect is set. It returns true when
// the segment belongs to MQTT after all (its endpoint was detected before, or this segment
// reveals it) and must take the normal path; the handshake of a connection detected now has then
// been fed to the reassembler already. tcp is the TCP header and payload.
func (rd *reader) detect(netFlow gopacket.Flow, tcp []byte, sp, dp uint16, f *frame) bool {
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || doff > len(tcp) {
		return false
	}
	flags := tcp[13]
	syn, ack, fin, rst := flags&0x02 != 0, flags&0x10 != 0, flags&0x01 != 0, flags&0x04 != 0
	data := tcp[doff:]
	if len(rd.endpoints) > 0 {
		src, dst := flowAddrs(netFlow)
		if rd.endpoints[netip.AddrPortFrom(dst, dp)] != 0 || rd.endpoints[netip.AddrPortFrom(src, sp)] != 0 {
			return true
		}
	}
	k := hsKey{net: netFlow, sp: sp, dp: dp}
	if len(data) == 0 {
		switch {
		case syn && !fin && !rst:
			seq, ackn := be32(tcp[4:]), be32(tcp[8:])
			ci := gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(f.data), Length: f.origLen}
			rd.hs.add(k, tcp[:doff], ack, seq, ackn, ci, rd.frame)
		case !syn && !fin && !rst:
			// A pure ACK (the handshake's last segment…) is counted in Stats.TCP when its
			// connection is detected, like a listed one.
			if e := rd.hs.get(k); e != nil {
				e.extra++
			} else if e := rd.hs.get(hsKey{net: netFlow.Reverse(), sp: dp, dp: sp}); e != nil {
				e.extra++
			}
		}
		return false
	}
	if syn || (data[0] != 0x10 && data[0] != 'G') {
		return false
	}
	var class uint8
	var reason string
	if v, ok := plausibleConnect(data); ok {
		class, reason = portMQTT, fmt.Sprintf("the client's first bytes are an MQTT %v CONNECT", v)
	} else if mqttUpgrade(data) {
		class, reason = portWS, "the client's first bytes are an HTTP upgrade offering an MQTT WebSocket subprotocol"
	} else {
		return false
	}
	// When the handshake was captured, the sender must be the side that sent the SYN, and the
	// data the first it sent.
	seq := be32(tcp[4:])
	cs := rd.hs.get(k)
	if cs != nil && (cs.synack || cs.seq+1 != seq) {
		return false
	}
	sa := rd.hs.get(hsKey{net: netFlow.Reverse(), sp: dp, dp: sp})
	if sa != nil {
		switch {
		case !sa.synack:
			return false // the other side sent the SYN: this is the server speaking
		case sa.ack != seq && cs == nil:
			return false // not the data the SYN-ACK acknowledged first
		case sa.ack != seq:
			sa = nil
		}
	}
	src, dst := flowAddrs(netFlow)
	server := netip.AddrPortFrom(dst, dp)
	if rd.endpoints == nil {
		rd.endpoints = make(map[netip.AddrPort]uint8)
	}
	rd.endpoints[server] |= class
	over := ""
	if class == portWS {
		over = " over WebSocket"
	}
	rd.sum.Detected = append(rd.sum.Detected, Detection{Server: server, WebSocket: class == portWS,
		Frame: rd.frame, Time: f.ts, Stream: -1, Reason: reason})
	rd.pending = len(rd.sum.Detected)
	rd.pendingText = fmt.Sprintf("%v is not a listed port but carries MQTT%s: %s (client %v); this connection and every later one to %v are decoded",
		server, over, reason, netip.AddrPortFrom(src, sp), server)
	// Feed the kept handshake in capture order, as handleFrame would have when it was captured.
	first, second := cs, sa
	if first == nil || (second != nil && second.frame < first.frame) {
		first, second = second, first
	}
	for _, e := range []*hsEntry{first, second} {
		if e == nil {
			continue
		}
		nf := netFlow
		if e.synack {
			nf = netFlow.Reverse()
		}
		rd.feedKept(nf, e)
		rd.hs.drop(e)
	}
	return true
}

// feedKept assembles a kept SYN or SYN-ACK with the frame number and time it was captured at.
func (rd *reader) feedKept(netFlow gopacket.Flow, e *hsEntry) {
	frame, now := rd.frame, rd.now
	rd.frame, rd.now = e.frame, e.ci.Timestamp
	defer func() { rd.frame, rd.now = frame, now }()
	var t layers.TCP
	if t.DecodeFromBytes(e.hdr[:e.hlen], gopacket.NilDecodeFeedback) != nil {
		return
	}
	rd.sum.TCP += 1 + e.extra
	if e.ci.CaptureLength < e.ci.Length {
		rd.snapped(e.ci.CaptureLength, e.ci.Length)
	}
	rd.asm.AssembleWithContext(netFlow, &t, rd.newCtx(e.ci))
}

// detectedOpen is called when a stream opens while a detection is pending: the stream is the
// detected connection, and the note about the detection is given with it, before its packets.
func (rd *reader) detectedOpen(s *Stream) {
	d := &rd.sum.Detected[rd.pending-1]
	rd.pending = 0
	d.Stream = s.ID
	rd.emitNoteAt(s, FromClient, d.Frame, d.Time, NoteDetected, 0, rd.pendingText)
}

// detectedDone gives the note of a detection whose stream did not open (cannot happen for a
// segment carrying data, but the note must not be lost nor attached to another stream).
func (rd *reader) detectedDone() {
	d := &rd.sum.Detected[rd.pending-1]
	rd.pending = 0
	rd.emitNoteAt(nil, FromClient, d.Frame, d.Time, NoteDetected, 0, rd.pendingText)
}

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
