package pcap

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/reassembly"

	"github.com/mqttspec/mqttspec/codec"
)

// connMode is what a connection turned out to carry.
type connMode byte

const (
	modeUndecided connMode = iota
	modeMQTT
	modeWS
	modeIgnored
)

// tcpConn is one TCP connection: the reassembler's Stream and our per-connection state.
type tcpConn struct {
	rd            *reader
	s             *Stream // nil until the connection carries data or a SYN
	firstIsClient bool    // the reassembler's "client to server" is our client's direction
	client        netip.AddrPort
	server        netip.AddrPort
	class         uint8
	mode          connMode
	version       codec.Version
	guesses       int
	detected      bool // MQTT because its server endpoint was detected (Options.Detect)
	// aliasMax is the Topic Alias Maximum that binds each sender (index 0 the client, bound by
	// the CONNACK; 1 the server, bound by the CONNECT); aliasKnown says it was captured.
	aliasMax   [2]uint16
	aliasKnown [2]bool
	half       [2]half
	finished   bool
}

// half is one direction of a connection.
type half struct {
	conn      *tcpConn
	dir       Direction
	midstream bool // the capture started after this direction did
	lastFrame int
	lastTime  time.Time
	curFrame  int // frame and time of the data being fed
	curTime   time.Time
	ws        *wsHalf
	mq        framer
	seqBase   uint32 // the sequence number this direction started at, moved to seqOrigin
	// The Topic Alias mappings this direction's sender set (see half.aliases), and the Alias
	// handed out with the current Message.
	aliasTab AliasTable
	alias    Alias
}

// seqOrigin is where the reassembler sees each direction start (see Accept). It is a variable
// only so that a test can put the wrap inside a short stream.
var seqOrigin uint32 = 1 << 30

func (c *tcpConn) dirOf(d reassembly.TCPFlowDirection) Direction {
	if (d == reassembly.TCPDirClientToServer) == c.firstIsClient {
		return FromClient
	}
	return FromServer
}

// open creates the Stream when the connection first carries something worth reporting.
func (c *tcpConn) open(sc *segCtx, syn bool) {
	rd := c.rd
	c.s = &Stream{
		ID:         len(rd.conns),
		Client:     c.client,
		Server:     c.server,
		FirstFrame: sc.frame,
		Start:      sc.ci.Timestamp,
		End:        sc.ci.Timestamp,
		Handshake:  syn,
		Version:    rd.o.Version,
		Detected:   c.detected,
	}
	c.version = rd.o.Version
	rd.conns = append(rd.conns, c)
	for i := range c.half {
		c.half[i].mq.h = &c.half[i]
	}
	if rd.pending != 0 {
		rd.detectedOpen(c.s)
	}
}

// Accept implements reassembly.Stream: it records what the segment says about the connection,
// forces the start of a direction whose SYN was not captured, and rewrites the segment's sequence
// number and payload before the reassembler reads them (it does so after Accept returns).
//
// Sequence numbers: gopacket/reassembly v1.1.19 gets every comparison across 2^32 wrong by one
// (Sequence.Difference adds 2^32-1 where 2^32 is meant), so a retransmission, an overlap or a
// segment queued ahead of a gap that straddles the wrap corrupts the stream: a byte doubled and
// its neighbour lost, or data delivered before the byte that precedes it. We cannot fix the
// dependency, so the reassembler never sees the sender's numbers: each direction is rebased so
// that it starts at seqOrigin (1 GiB), and the wrap is 3 GiB into the direction's data instead
// of wherever the sender's ISN put it. 1 GiB below the origin is room for anything older than the
// first segment seen (a mid-stream start): TCP's largest window is just under 1 GiB, so no
// segment can lag further behind. Rebasing is a bijection within a direction, so gaps, overlaps
// and the counts below are unchanged. Beyond 3 GiB the wrap comes back; there the most common
// case, a retransmission, stays exact because the data already delivered is cut off here, with
// modular arithmetic, and the reassembler only sees the new bytes at its next sequence number
// (what it would do itself, were its arithmetic right). Overlapping out-of-order segments that
// straddle that second wrap remain exposed to the dependency's bug.
func (c *tcpConn) Accept(t *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	sc, _ := ac.(*segCtx)
	if sc == nil {
		return false
	}
	d := c.dirOf(dir)
	if c.s == nil {
		if len(t.Payload) == 0 && !t.SYN {
			return true // FIN/RST on a connection we never saw carry anything
		}
		c.open(sc, t.SYN && !t.ACK && d == FromClient)
	}
	h := &c.half[dirIndex(d)]
	i := dirIndex(d)
	const invalid = reassembly.Sequence(-1)
	if nextSeq == invalid {
		// This segment starts the direction in the reassembler (a SYN, or a forced start).
		h.seqBase = t.Seq
	}
	t.Seq = t.Seq - h.seqBase + seqOrigin // mod 2^32; t.Ack is left alone: the reassembler only logs it
	if nextSeq == invalid {
		if !*start {
			*start = true
			h.midstream = true
			h.mq.lost = true // the first byte need not start a packet
		}
	} else if n := len(t.Payload); n > 0 {
		// Distances in modular arithmetic, exact within 2^31 either way.
		seq, next := t.Seq, uint32(nextSeq)
		if int32(next-(seq+uint32(n))) >= 0 {
			c.s.Retransmissions[i]++
			c.rd.sum.Retransmissions++
		} else if int32(seq-next) > 0 {
			c.s.OutOfOrder[i]++
			c.rd.sum.OutOfOrder++
		}
		if behind := int32(next - seq); behind > 0 {
			// Already delivered, in whole or in part: keep only the new bytes (see above). An
			// old segment keeps its flags with no payload, so that a FIN or RST still counts.
			k := min(int(behind), n)
			t.Payload = t.Payload[k:]
			t.Seq = seq + uint32(k)
		}
	}
	h.lastFrame, h.lastTime = sc.frame, sc.ci.Timestamp
	if sc.ci.Timestamp.After(c.s.End) {
		c.s.End = sc.ci.Timestamp
	}
	if t.FIN || t.RST {
		kind := FIN
		if t.RST {
			kind = RST
		}
		if d == FromClient && c.s.ClientClose == Open {
			c.s.ClientClose, c.s.ClientCloseTime = kind, sc.ci.Timestamp
		} else if d == FromServer && c.s.ServerClose == Open {
			c.s.ServerClose, c.s.ServerCloseTime = kind, sc.ci.Timestamp
		}
	}
	return true
}

// ReassembledSG implements reassembly.Stream: in-order data of one direction.
func (c *tcpConn) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	if c.s == nil || c.finished {
		return
	}
	dir, _, _, skip := sg.Info()
	d := c.dirOf(dir)
	h := &c.half[dirIndex(d)]
	// The context is the segment that completed this data (the last one to arrive), which is
	// the frame tshark reports a reassembled PDU in. The reassembler may pass none on a flush.
	// (ScatterGather.CaptureInfo is not used: gopacket 1.1.19 dereferences a nil context for the
	// second page of a queued segment.)
	if sc, ok := ac.(*segCtx); ok && sc != nil {
		h.curFrame, h.curTime = sc.frame, sc.ci.Timestamp
	} else {
		h.curFrame, h.curTime = h.lastFrame, h.lastTime
	}
	if skip > 0 {
		c.s.MissingBytes[dirIndex(d)] += int64(skip)
		c.rd.sum.MissingBytes += int64(skip)
		c.rd.emitNoteAt(c.s, d, h.curFrame, h.curTime, NoteGap, int64(skip),
			fmt.Sprintf("%d bytes missing from the capture (%v)", skip, d))
		h.lose()
	}
	n, _ := sg.Lengths()
	if n == 0 {
		return
	}
	data := sg.Fetch(n)
	c.s.Bytes[dirIndex(d)] += int64(n)
	h.feed(data)
}

// ReassemblyComplete implements reassembly.Stream: both directions have ended.
func (c *tcpConn) ReassemblyComplete(reassembly.AssemblerContext) bool {
	c.finish()
	return true
}

// finish reports packets cut off by the end of the stream and releases the buffers.
func (c *tcpConn) finish() {
	if c.s == nil || c.finished {
		return
	}
	c.finished = true
	for i := range c.half {
		h := &c.half[i]
		h.mq.finish()
		if h.ws != nil {
			h.ws.finish()
		}
	}
	if c.s.Version == codec.VersionUnknown {
		c.s.Version = c.version
	}
}

func (h *half) lose() {
	h.mq.lose()
	if h.ws != nil {
		h.ws.lose()
	}
}

// feed routes in-order bytes of one direction to the WebSocket de-framer or the MQTT framer,
// deciding on the first bytes what the connection carries.
func (h *half) feed(data []byte) {
	c := h.conn
	if c.mode == modeUndecided {
		switch {
		case h.dir == FromClient && data[0] == 'G' && c.class&portWS != 0,
			h.dir == FromClient && c.class&portMQTT != 0 && httpUpgrade(data):
			if c.class&portWS == 0 && !c.rd.wsOnMQTT[c.server] {
				// No MQTT packet starts with 'G' (0x47, PUBACK with flags 7): the port was named as
				// plain MQTT but the client speaks WebSocket, like a broker's WebSocket listener.
				// Told once per server endpoint, like a detection.
				if c.rd.wsOnMQTT == nil {
					c.rd.wsOnMQTT = map[netip.AddrPort]bool{}
				}
				c.rd.wsOnMQTT[c.server] = true
				c.rd.emitNoteAt(c.s, h.dir, h.curFrame, h.curTime, NoteWebSocket, int64(len(data)),
					fmt.Sprintf("the client's first bytes on MQTT port %d are an HTTP upgrade: decoded as MQTT over WebSocket (name the port with --ws-port)", c.server.Port()))
			}
			c.mode = modeWS
			c.s.WebSocket = &WebSocketInfo{}
			for i := range c.half {
				c.half[i].ws = &wsHalf{h: &c.half[i]}
			}
		case h.dir == FromClient && tlsRecord(data):
			c.mode = modeIgnored
			c.s.TLS = true
			c.rd.sum.TLSStreams++
			c.rd.emitNoteAt(c.s, h.dir, h.curFrame, h.curTime, NoteTLS, int64(len(data)),
				fmt.Sprintf("the client starts a TLS handshake with %v: TLS, not decoded (the traffic is encrypted)", c.server))
		case c.class&portMQTT != 0:
			c.mode = modeMQTT
		default:
			c.mode = modeIgnored
			c.rd.emitNoteAt(c.s, h.dir, h.curFrame, h.curTime, NoteNotMQTT, int64(len(data)),
				"stream on a WebSocket port does not start with an HTTP upgrade: ignored")
		}
	}
	switch c.mode {
	case modeWS:
		h.ws.feed(data)
	case modeMQTT:
		h.mq.feed(data)
	}
}

// setVersion fixes the version both directions are decoded as.
func (c *tcpConn) setVersion(v codec.Version, guessed bool) {
	c.version = v
	c.s.Version = v
	c.s.VersionGuessed = guessed
}

// guess tries to learn the version of a stream whose CONNECT was not captured from a packet that
// decodes cleanly as exactly one of 3.1.1 and 5.0 (a v5 CONNACK, acknowledgement with reason
// code, or anything with properties). After 32 undecided packets it settles on 3.1.1.
func (c *tcpConn) guess(raw []byte, d Direction) {
	if c.guesses >= 32 {
		c.setVersion(codec.V311, true)
		return
	}
	c.guesses++
	pr := &c.half[dirIndex(d)].mq.probe
	ok5 := probe(pr, codec.V5, d.Side(), false, raw)
	ok3 := probe(pr, codec.V311, d.Side(), false, raw)
	switch {
	case ok5 && !ok3:
		c.setVersion(codec.V5, true)
	case ok3 && !ok5:
		c.setVersion(codec.V311, true)
	}
}

func (rd *reader) emitNoteAt(s *Stream, d Direction, frame int, t time.Time, k NoteKind, n int64, text string) {
	if rd.h.Note == nil {
		return
	}
	rd.note = Note{Frame: frame, Time: t, Stream: s, Dir: d, Kind: k, Text: text, Bytes: n}
	rd.h.Note(&rd.note)
}

// httpUpgrade reports whether a client's first bytes are an HTTP GET asking for an upgrade: "GET "
// and, among the header lines present in data (the request may continue in later segments), an
// Upgrade header; a request cut short before its header lines end counts when it could still
// carry one.
func httpUpgrade(data []byte) bool {
	if !bytes.HasPrefix(data, []byte("GET ")) {
		return false
	}
	head := data[:min(len(data), maxHTTP)]
	end := bytes.Index(head, []byte("\r\n\r\n"))
	if end >= 0 {
		head = head[:end+2]
	}
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("upgrade")) {
			return true
		}
	}
	return end < 0
}

// tlsRecord reports whether a client's first bytes are a TLS handshake record: content type 22,
// protocol version 3.x (SSL 3.0 to TLS 1.3, which keeps 3.1 or 3.3 in the record layer) and a
// record length within the 2^14 + 2048 bytes TLS allows. No MQTT packet starts with 0x16 (type 1,
// CONNECT, needs flags 0) and no HTTP request does.
func tlsRecord(b []byte) bool {
	if len(b) < 5 || b[0] != 0x16 || b[1] != 3 || b[2] > 4 {
		return false
	}
	n := int(b[3])<<8 | int(b[4])
	return n > 0 && n <= 1<<14+2048
}
