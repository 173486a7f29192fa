package pcap

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/reassembly"

	"github.com/mqttspec/mqttspec/codec"
)

// Options control a Read.
type Options struct {
	// Ports carry MQTT over plain TCP (default 1883). A connection belongs to MQTT when either of
	// its ports is listed, like tshark's "-d tcp.port==P,mqtt".
	Ports []uint16
	// WebSocketPorts carry MQTT over WebSocket when the stream starts with an HTTP upgrade
	// (default 80, 8080 and 9001).
	WebSocketPorts []uint16
	// TLSPorts carry MQTT over TLS (default 8883): each connection to one whose client sends a
	// TLS ClientHello is counted and told (Stats.TLSStreams, a NoteTLS without a Stream), not
	// decoded: the traffic is encrypted. A connection on Ports or WebSocketPorts whose client
	// starts with a TLS handshake record is reported the same way (Stream.TLS). Plain MQTT on a
	// TLS port is left to Detect, like any unlisted port.
	TLSPorts []uint16
	// MaxPacketSize is the largest MQTT packet that is buffered and decoded (default 16 MiB).
	// Larger packets are reported with their header and skipped without being buffered.
	MaxPacketSize int
	// Version decodes streams whose CONNECT was not captured; VersionUnknown (the default)
	// guesses it from the first packets that decode only one way, else uses 3.1.1.
	Version codec.Version
	// MaxBufferedPages bounds the out-of-order data held per connection, in 1900-byte pages
	// (default 2048, about 4 MB); when it is reached the reassembler gives up on the missing
	// segment and reports a gap.
	MaxBufferedPages int
	// GapTimeout is how long (in capture time) a direction waits for a missing segment before
	// the gap is reported and the data after it delivered (default 30s).
	GapTimeout time.Duration
	// Detect finds MQTT on ports that are not listed: a connection whose client sends a
	// plausible CONNECT (protocol name "MQTT" with level 4 or 5, or "MQIsdp" with level 3) as its
	// first bytes, or an HTTP upgrade offering an MQTT WebSocket subprotocol, is decoded as if
	// its server port had been listed, handshake included, and so is every later connection to
	// the same server address and port. Each detection is reported once with a NoteDetected and
	// listed in Summary.Detected. A connection whose CONNECT was not captured cannot be
	// detected: list its port in Ports.
	Detect bool
}

// DefaultPort is the IANA port of MQTT over TCP.
const DefaultPort = 1883

// DefaultWebSocketPorts are the ports checked for MQTT over WebSocket when none are given.
var DefaultWebSocketPorts = []uint16{80, 8080, 9001}

// DefaultTLSPorts are the ports whose TLS connections are reported when none are given (the IANA
// port of MQTT over TLS).
var DefaultTLSPorts = []uint16{8883}

// DefaultMaxPacketSize is the default Options.MaxPacketSize.
const DefaultMaxPacketSize = 16 << 20

func (o *Options) withDefaults() Options {
	c := *o
	if len(c.Ports) == 0 {
		c.Ports = []uint16{DefaultPort}
	}
	if c.WebSocketPorts == nil {
		c.WebSocketPorts = DefaultWebSocketPorts
	}
	if c.TLSPorts == nil {
		c.TLSPorts = DefaultTLSPorts
	}
	if c.MaxPacketSize <= 0 {
		c.MaxPacketSize = DefaultMaxPacketSize
	}
	if c.MaxBufferedPages <= 0 {
		c.MaxBufferedPages = 2048
	}
	if c.GapTimeout <= 0 {
		c.GapTimeout = 30 * time.Second
	}
	return c
}

// Summary is what Read reports once the capture is read.
type Summary struct {
	Stats
	Streams []*Stream
	// Detected lists the server endpoints Options.Detect found on unlisted ports, in the order
	// they were found.
	Detected []Detection
}

// ReadFile reads the capture at path; see Read.
func ReadFile(path string, o Options, h Handler) (*Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, o, h)
}

// Read reads a pcap or pcapng capture from r and calls h for every MQTT packet and note. The
// Summary is returned even with an error when frames were read before it: a *CaptureError
// (errors.As) means the file is damaged or cut short at that point, and what came before it was
// processed.
func Read(r io.Reader, o Options, h Handler) (*Summary, error) {
	src, err := openSource(r)
	if err != nil {
		return nil, err
	}
	rd := newReader(o.withDefaults(), h)
	rd.sum.Format = src.format()
	err = rd.run(src)
	rd.finish()
	return &rd.sum, err
}

// portClass flags what a port carries.
const (
	portMQTT = 1
	portWS   = 2
)

type reader struct {
	o     Options
	h     Handler
	ports *portTable // what each port carries, from portTables
	sum   Summary

	tlsSeen map[tlsKey]bool // connections to TLS ports whose ClientHello was counted

	asm     *assembler // from the pool, returned in finish when left clean
	broken  bool       // a panic was recovered: the reassembler's state is not to be reused
	conns   []*tcpConn // every connection that got a Stream, to finish them
	lastGap time.Time

	ip4 layers.IPv4
	ip6 layers.IPv6
	tcp layers.TCP

	ctxs    []segCtx // slab of per-segment contexts (see segCtx)
	ctxSlab int      // size of the last slab
	msg     Message  // reused for every Handler.Packet call
	note    Note
	frame   int
	now     time.Time
	snapN   bool // a snaplen note was given
	fragN   bool // the note on datagrams that could not be reassembled was given

	defrag defragmenter

	// Options.Detect (see detect.go)
	endpoints   map[netip.AddrPort]uint8 // detected server endpoints and what they carry
	hs          handshakes               // SYN and SYN-ACK of unlisted connections
	pending     int                      // 1 + index in sum.Detected of the detection whose stream is opening
	pendingText string

	// wsOnMQTT lists the server endpoints on Options.Ports found to carry WebSocket (told once).
	wsOnMQTT map[netip.AddrPort]bool
}

// segCtx is the reassembly context of one TCP segment: the reassembler keeps it with queued
// out-of-order data and hands it back with the data it completes. Contexts come from a slab so
// that in-order traffic does not allocate one per segment.
type segCtx struct {
	ci    gopacket.CaptureInfo
	frame int
}

func (c *segCtx) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

func newReader(o Options, h Handler) *reader {
	rd := &reader{o: o, h: h}
	rd.ports, _ = portTables.Get().(*portTable)
	if rd.ports == nil {
		rd.ports = new(portTable)
	}
	for _, p := range o.Ports {
		rd.ports.class[p] |= portMQTT
	}
	for _, p := range o.WebSocketPorts {
		rd.ports.class[p] |= portWS
	}
	for _, p := range o.TLSPorts {
		rd.ports.tls[p>>6] |= 1 << (p & 63)
	}
	rd.sum.LinkTypes = map[uint32]int{}
	rd.asm = getAssembler(rd)
	rd.asm.MaxBufferedPagesPerConnection = o.MaxBufferedPages
	rd.asm.MaxBufferedPagesTotal = o.MaxBufferedPages * 16
	return rd
}

// portTable holds the port lookups of one read. It is 72 KB, which a read of a small capture
// (a fuzz input, a corpus file) spent more time allocating and clearing than reading; tables
// come back to portTables with only the entries of their read's Options to clear.
type portTable struct {
	class [65536]uint8 // portMQTT, portWS
	tls   [1024]uint64 // bit set of Options.TLSPorts
}

var portTables sync.Pool

// putPorts clears what newReader set and gives the table back.
func (rd *reader) putPorts() {
	t := rd.ports
	if t == nil {
		return
	}
	for _, ps := range [][]uint16{rd.o.Ports, rd.o.WebSocketPorts} {
		for _, p := range ps {
			t.class[p] = 0
		}
	}
	for _, p := range rd.o.TLSPorts {
		t.tls[p>>6] = 0
	}
	rd.ports = nil
	portTables.Put(t)
}

// assemblers keeps gopacket reassemblers between reads. NewAssembler allocates a page cache of
// 1024 pages (2 MB of memory with pointers in it, cleared and then scanned by the GC) and
// NewStreamPool room for 1024 connections: for the small captures of a fuzz campaign, a corpus
// or a check run, that allocation and its garbage collection took nine tenths of a read.
var assemblers sync.Pool

// assembler is one reassembler with its connection pool, whose factory is pointed at the reader
// that currently uses it.
type assembler struct {
	*reassembly.Assembler
	f *factory
}

func getAssembler(rd *reader) *assembler {
	a, _ := assemblers.Get().(*assembler)
	if a == nil {
		a = &assembler{f: &factory{}}
		a.Assembler = reassembly.NewAssembler(reassembly.NewStreamPool(a.f))
	}
	a.f.rd = rd
	return a
}

// putAssembler gives a reassembler back once a read has flushed it. Only an idle one is kept:
// every connection closed and every page back in its cache, which FlushAll guarantees unless it
// panicked. The page count is read from Assembler.Dump, gopacket's only window on it; when that
// cannot be read the reassembler is dropped, costing speed, never a later read's limits
// (MaxBufferedPagesTotal counts the pages in use).
func putAssembler(a *assembler) {
	a.f.rd = nil
	if pagesInUse(a.Assembler) == 0 {
		assemblers.Put(a)
	}
}

// pagesInUse is the number of pages the reassembler holds, -1 when Dump cannot be read.
func pagesInUse(asm *reassembly.Assembler) int {
	var used int
	if n, err := fmt.Sscanf(asm.Dump(), "pageCache: used: %d,", &used); n != 1 || err != nil {
		return -1
	}
	return used
}

func (rd *reader) newCtx(ci gopacket.CaptureInfo) *segCtx {
	if len(rd.ctxs) == 0 {
		// Slabs double from 16 to 1024 contexts: a small capture (a fuzz input, a corpus file)
		// does not pay for 80 KB of memory the GC has to scan.
		rd.ctxSlab = min(max(2*rd.ctxSlab, 16), 1024)
		rd.ctxs = make([]segCtx, rd.ctxSlab)
	}
	c := &rd.ctxs[0]
	rd.ctxs = rd.ctxs[1:]
	c.ci, c.frame = ci, rd.frame
	return c
}

func (rd *reader) run(src frameSource) (err error) {
	defer func() {
		// Last line of defence: a bug in a dependency must not take the process down on a
		// hostile capture. Report it with the frame it happened on.
		if p := recover(); p != nil {
			rd.broken = true
			err = &CaptureError{Frame: rd.frame, Offset: -1, Err: fmt.Errorf("internal error while processing frame %d: %v", rd.frame, p)}
		}
	}()
	for {
		f, err := src.next()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		rd.frame++
		rd.sum.Frames++
		rd.now = f.ts
		if rd.sum.First.IsZero() {
			rd.sum.First = f.ts
		}
		if f.ts.After(rd.sum.Last) {
			rd.sum.Last = f.ts
		}
		rd.sum.LinkTypes[f.link]++
		rd.handleFrame(&f)
		if rd.lastGap.IsZero() {
			rd.lastGap = f.ts
		} else if f.ts.Sub(rd.lastGap) > rd.o.GapTimeout/2 {
			// Give up on missing segments older than GapTimeout, so that a lost segment is
			// reported as a gap instead of holding the rest of its direction until the end.
			rd.lastGap = f.ts
			rd.asm.FlushWithOptions(reassembly.FlushOptions{T: f.ts.Add(-rd.o.GapTimeout)})
		}
	}
}

func (rd *reader) handleFrame(f *frame) {
	b, ipv := netLayer(f.link, f.data)
	if ipv == 0 {
		rd.sum.NonIP++
		if !linkSupported(f.link) && rd.sum.LinkTypes[f.link] == 1 {
			rd.emitNote(nil, 0, NoteLinkType, 0, fmt.Sprintf("link type %d is not supported (Ethernet, Linux SLL/SLL2, BSD loopback and raw IP are): its frames are skipped", f.link))
		}
		return
	}
	rd.sum.IP++
	var netFlow gopacket.Flow
	var payload []byte
	switch ipv {
	case 4:
		if rd.ip4.DecodeFromBytes(b, gopacket.NilDecodeFeedback) != nil {
			return
		}
		if rd.ip4.Protocol != layers.IPProtocolTCP {
			return
		}
		netFlow, payload = rd.ip4.NetworkFlow(), rd.ip4.Payload
		if rd.ip4.Flags&layers.IPv4MoreFragments != 0 || rd.ip4.FragOffset != 0 {
			src, dst := flowAddrs(netFlow)
			k := fragKey{src: src, dst: dst, proto: uint8(layers.IPProtocolTCP), id: uint32(rd.ip4.Id)}
			if payload = rd.fragment(k, int(rd.ip4.FragOffset)*8, rd.ip4.Flags&layers.IPv4MoreFragments != 0, payload); payload == nil {
				return
			}
		}
	case 6:
		if rd.ip6.DecodeFromBytes(b, gopacket.NilDecodeFeedback) != nil {
			return
		}
		next, p := rd.ip6.NextHeader, rd.ip6.Payload
		if rd.ip6.HopByHop != nil {
			next = rd.ip6.HopByHop.NextHeader
		}
		// Walk the extension headers that can precede TCP.
		for i := 0; i < 8 && next != layers.IPProtocolTCP; i++ {
			switch next {
			case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
				if len(p) < 8 || len(p) < (int(p[1])+1)*8 {
					return
				}
				next, p = layers.IPProtocol(p[0]), p[(int(p[1])+1)*8:]
			case layers.IPProtocolAH:
				if len(p) < 8 || len(p) < (int(p[1])+2)*4 {
					return
				}
				next, p = layers.IPProtocol(p[0]), p[(int(p[1])+2)*4:]
			case layers.IPProtocolIPv6Fragment:
				// Next Header, reserved, offset (13 bits) and M flag, identification (RFC 8200 4.5).
				if len(p) < 8 {
					return
				}
				fo := int(p[2])<<8 | int(p[3])
				src, dst := flowAddrs(rd.ip6.NetworkFlow())
				k := fragKey{src: src, dst: dst, proto: p[0], id: uint32(p[4])<<24 | uint32(p[5])<<16 | uint32(p[6])<<8 | uint32(p[7])}
				whole := rd.fragment(k, fo&^7, fo&1 != 0, p[8:])
				if whole == nil {
					return
				}
				next, p = layers.IPProtocol(k.proto), whole
			default:
				return
			}
		}
		if next != layers.IPProtocolTCP {
			return
		}
		netFlow, payload = rd.ip6.NetworkFlow(), p
	}
	if len(payload) < 20 {
		return
	}
	sp, dp := uint16(payload[0])<<8|uint16(payload[1]), uint16(payload[2])<<8|uint16(payload[3])
	if rd.ports.tls[dp>>6]&(1<<(dp&63)) != 0 && rd.ports.class[sp] == 0 && rd.ports.class[dp] == 0 {
		rd.tlsHello(netFlow, payload, sp, dp)
	}
	if rd.ports.class[sp] == 0 && rd.ports.class[dp] == 0 && (!rd.o.Detect || !rd.detect(netFlow, payload, sp, dp, f)) {
		return
	}
	if rd.tcp.DecodeFromBytes(payload, gopacket.NilDecodeFeedback) != nil {
		return
	}
	rd.sum.TCP++
	if len(f.data) < f.origLen {
		rd.snapped(len(f.data), f.origLen)
	}
	t := &rd.tcp
	if len(t.Payload) == 0 && !t.SYN && !t.FIN && !t.RST {
		return // a pure ACK carries nothing for us
	}
	ci := gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(f.data), Length: f.origLen}
	rd.asm.AssembleWithContext(netFlow, t, rd.newCtx(ci))
	if rd.pending != 0 {
		rd.detectedDone()
	}
}

// tlsKey identifies a connection to a TLS port.
type tlsKey struct {
	client, server netip.AddrPort
}

// maxTLSSeen bounds the table of counted TLS connections; beyond it, retransmitted ClientHellos
// may be counted twice.
const maxTLSSeen = 1 << 16

// tlsHello counts a connection to a TLS port whose client sends a ClientHello (handshake record,
// message type 1), once per connection, and tells it. tcp is the TCP header and payload.
func (rd *reader) tlsHello(netFlow gopacket.Flow, tcp []byte, sp, dp uint16) {
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || doff > len(tcp) {
		return
	}
	data := tcp[doff:]
	if !tlsRecord(data) || data[5] != 1 {
		return
	}
	src, dst := flowAddrs(netFlow)
	k := tlsKey{netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)}
	if rd.tlsSeen[k] {
		return
	}
	if rd.tlsSeen == nil || len(rd.tlsSeen) >= maxTLSSeen {
		rd.tlsSeen = map[tlsKey]bool{}
	}
	rd.tlsSeen[k] = true
	rd.sum.TLSStreams++
	rd.emitNote(nil, FromClient, NoteTLS, int64(len(data)), fmt.Sprintf("TLS connection from %v to %v (ClientHello on a TLS port): TLS, not decoded (the traffic is encrypted)", k.client, k.server))
}

func (rd *reader) snapped(caplen, origLen int) {
	rd.sum.Snapped++
	if !rd.snapN {
		rd.snapN = true
		rd.emitNote(nil, 0, NoteTruncated, int64(origLen-caplen),
			fmt.Sprintf("frame captured with %d of its %d bytes (snap length too small): the missing bytes show up as gaps", caplen, origLen))
	}
}

// fragment adds an IP fragment to its datagram and returns the datagram's payload when this
// fragment completes it (nil otherwise; see defrag.go).
func (rd *reader) fragment(k fragKey, off int, more bool, data []byte) []byte {
	rd.sum.Fragment++
	whole := rd.defrag.add(k, off, more, data, rd.now)
	if whole != nil {
		rd.sum.Reassembled++
	}
	rd.fragDropped()
	return whole
}

// fragDropped tells (once) that fragmented datagrams were given up: their data shows up as gaps.
func (rd *reader) fragDropped() {
	if rd.defrag.dropped > 0 && !rd.fragN {
		rd.fragN = true
		rd.emitNote(nil, 0, NoteFragmented, 0, "an IP datagram could not be reassembled (fragments missing, too old or over the limits): its data is missing")
	}
	rd.sum.FragmentsDropped = rd.defrag.dropped
}

// finish flushes what the reassembler still holds and closes every stream.
func (rd *reader) finish() {
	rd.defrag.finish()
	rd.fragDropped()
	func() {
		defer func() { // see run: never panic on hostile input
			if recover() != nil {
				rd.broken = true
			}
		}()
		rd.asm.FlushAll()
	}()
	if !rd.broken {
		putAssembler(rd.asm)
	}
	rd.asm = nil
	for _, c := range rd.conns {
		c.finish()
	}
	for _, c := range rd.conns {
		rd.sum.Streams = append(rd.sum.Streams, c.s)
	}
	slices.SortFunc(rd.sum.Streams, func(a, b *Stream) int { return a.ID - b.ID })
	rd.putPorts()
}

func (rd *reader) emitNote(s *Stream, d Direction, k NoteKind, n int64, text string) {
	if rd.h.Note == nil {
		return
	}
	rd.note = Note{Frame: rd.frame, Time: rd.now, Stream: s, Dir: d, Kind: k, Text: text, Bytes: n}
	rd.h.Note(&rd.note)
}

// factory creates a tcpConn for every new TCP connection the reassembler sees.
type factory struct{ rd *reader }

func (f *factory) New(netFlow, tcpFlow gopacket.Flow, t *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	rd := f.rd
	sp, dp := uint16(t.SrcPort), uint16(t.DstPort)
	src, dst := flowAddrs(netFlow)
	a, b := netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
	srcIsClient := false
	switch {
	case t.SYN && !t.ACK:
		srcIsClient = true
	case t.SYN && t.ACK:
		srcIsClient = false
	case rd.ports.class[dp] != 0 && rd.ports.class[sp] == 0:
		srcIsClient = true
	case rd.ports.class[sp] != 0 && rd.ports.class[dp] == 0:
		srcIsClient = false
	case rd.ports.class[sp] == 0 && rd.ports.class[dp] == 0: // a detected endpoint is the server
		srcIsClient = rd.endpoints[a] == 0
	default:
		srcIsClient = sp > dp // both listed: the higher port is usually the ephemeral one
	}
	c := &tcpConn{rd: rd, firstIsClient: srcIsClient}
	if srcIsClient {
		c.client, c.server = a, b
	} else {
		c.client, c.server = b, a
	}
	c.class = rd.ports.class[c.server.Port()]
	if c.class == 0 { // only the client's port is listed: go by it
		c.class = rd.ports.class[c.client.Port()]
	}
	if c.class == 0 { // neither: the server endpoint was detected
		c.class, c.detected = rd.endpoints[c.server], true
		if c.class == 0 { // a SYN from the detected endpoint itself: go by it
			c.class = rd.endpoints[c.client]
		}
	}
	c.half[0] = half{dir: FromClient, conn: c}
	c.half[1] = half{dir: FromServer, conn: c}
	return c
}

// flowAddrs returns the source and destination addresses of a network flow, IPv4-mapped IPv6
// addresses unmapped, so that one endpoint has one key whichever IP version carried it.
func flowAddrs(f gopacket.Flow) (src, dst netip.Addr) {
	src, _ = netip.AddrFromSlice(f.Src().Raw())
	dst, _ = netip.AddrFromSlice(f.Dst().Raw())
	return src.Unmap(), dst.Unmap()
}

// errNotMQTT marks a stream on a WebSocket port that carries something else.
var errNotMQTT = errors.New("not MQTT")
