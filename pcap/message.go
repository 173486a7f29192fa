package pcap

import (
	"net/netip"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// Direction says which side of a connection sent something.
type Direction byte

// Directions. The client is the side that opened the connection (sent the SYN), or, when the
// handshake was not captured, the side whose port is not an MQTT port.
const (
	FromClient Direction = 1
	FromServer Direction = 2
)

// String returns "c2s" or "s2c".
func (d Direction) String() string {
	switch d {
	case FromClient:
		return "c2s"
	case FromServer:
		return "s2c"
	}
	return "?"
}

// Arrow returns "C→S" or "S→C" for text output.
func (d Direction) Arrow() string {
	switch d {
	case FromClient:
		return "C→S"
	case FromServer:
		return "S→C"
	}
	return "?→?"
}

// Reverse returns the other direction.
func (d Direction) Reverse() Direction {
	if d == FromClient {
		return FromServer
	}
	return FromClient
}

// Side returns the codec side that sends in this direction.
func (d Direction) Side() codec.Side {
	if d == FromClient {
		return codec.SideClient
	}
	return codec.SideServer
}

// Stream is one TCP connection carrying MQTT. The reader fills it in as the capture is read; it
// stays valid after Read returns.
type Stream struct {
	ID     int // 0, 1, 2… in the order the connections first carried data or a SYN
	Client netip.AddrPort
	Server netip.AddrPort

	FirstFrame int       // frame that opened the stream
	Start      time.Time // time of that frame
	End        time.Time // time of the last segment seen in either direction

	// Handshake is set when the client's SYN was captured: the stream is seen from its first byte,
	// so "the first packet" means something.
	Handshake bool
	// Version is the MQTT version the stream is decoded as: learnt from the CONNECT, guessed from
	// packets that decode only one way, or VersionUnknown (decoded as 3.1.1).
	Version codec.Version
	// VersionGuessed is set when no CONNECT taught the version.
	VersionGuessed bool

	// Detected is set when the stream's ports were not listed and its server endpoint was found
	// to carry MQTT by its content (Options.Detect).
	Detected bool

	// WebSocket is non-nil when the stream carries MQTT over WebSocket.
	WebSocket *WebSocketInfo
	// TLS is set when the client started a TLS handshake: the stream is encrypted and carries
	// no decoded packets.
	TLS bool

	// Closed records how each direction ended: by FIN, by RST, or not at all within the capture.
	ClientClose, ServerClose Close
	// ClientCloseTime and ServerCloseTime are when the FIN or RST was seen.
	ClientCloseTime, ServerCloseTime time.Time

	// Per direction (index 0 client→server, 1 server→client):
	Bytes           [2]int64 // TCP payload bytes delivered in order
	MissingBytes    [2]int64 // bytes never captured (gaps), as far as the sequence numbers tell
	Retransmissions [2]int   // segments whose data had already been delivered
	OutOfOrder      [2]int   // segments that arrived ahead of a gap
	Packets         [2]int   // MQTT packets extracted
}

// Close says how one direction of a TCP connection ended.
type Close byte

// Close kinds.
const (
	Open Close = iota // no FIN or RST in the capture
	FIN
	RST
)

// String returns "open", "fin" or "rst".
func (c Close) String() string {
	switch c {
	case FIN:
		return "fin"
	case RST:
		return "rst"
	}
	return "open"
}

func dirIndex(d Direction) int {
	if d == FromServer {
		return 1
	}
	return 0
}

// WebSocketInfo is what the HTTP upgrade of a WebSocket stream said.
type WebSocketInfo struct {
	Path string // request target of the GET
	// Offered lists the subprotocols the client offered (Sec-WebSocket-Protocol of the request).
	Offered []string
	// Selected is the subprotocol the server returned ("" when none).
	Selected string
	// Status is the HTTP status of the server's answer (101 when the upgrade succeeded, 0 when no
	// answer was captured).
	Status int
	// RequestFrame and ResponseFrame are the frames that completed the request and the answer.
	RequestFrame, ResponseFrame int
	// TextFrames counts text frames per direction (MQTT must use binary frames).
	TextFrames [2]int
	// UnmaskedFromClient counts client frames without a mask, MaskedFromServer server frames with
	// one (RFC 6455 requires the opposite).
	UnmaskedFromClient, MaskedFromServer int
}

// Message is one MQTT packet found in a capture. Raw, Packet and Violations are valid only during
// the Handler call that receives the Message (they alias the reader's buffers); Collect makes
// copies that stay.
type Message struct {
	Frame  int           // number (from 1) of the capture frame holding the packet's last byte
	Time   time.Time     // capture time of that frame
	Since  time.Duration // Time relative to the capture's first frame (tshark's frame.time_relative)
	Stream *Stream
	Dir    Direction

	Type  codec.PacketType // from the fixed header
	Flags byte             // fixed-header flags (low nibble of the first byte)
	Size  int              // whole packet, fixed header included

	// Raw is the packet's bytes; nil when the packet was larger than Options.MaxPacketSize and
	// its body was skipped unread.
	Raw []byte
	// Version is the version the packet was decoded as.
	Version codec.Version
	// Packet is the decoded packet; nil when it could not be decoded (Err says why).
	Packet codec.Packet
	Err    error
	// Violations lists the rules the packet broke that the lenient decoder could step over.
	Violations []codec.Error
	// WebSocket is set when the packet travelled inside WebSocket frames.
	WebSocket bool
	// Alias describes a v5 PUBLISH that carries a Topic Alias (nil for every other packet).
	Alias *Alias
}

// Alias is how a PUBLISH's Topic Alias resolves. Mappings are kept per connection and direction,
// the way the receiver keeps them [MQTT-3.3.2-7]: a PUBLISH with a Topic Name and an alias sets
// the mapping, one with an empty Topic Name uses it.
type Alias struct {
	Alias uint16
	// Topic is the topic the alias stands for after this packet: the packet's own Topic Name
	// when it has one (it sets or replaces the mapping), else the name the alias was last set to
	// on this connection and direction ("" when Unset).
	Topic string
	// Set is true when the packet carries a Topic Name, so it (re)defines the mapping.
	Set bool
	// Unset is true when the Topic Name is empty and no earlier packet in this direction set the
	// alias: the receiver cannot know the topic (a Protocol Error).
	Unset bool
	// Maximum is the Topic Alias Maximum the receiver announced (the client in CONNECT for the
	// server's aliases, the server in CONNACK for the client's), and Announced says whether that
	// announcement was captured.
	Maximum   uint16
	Announced bool
}

// NoteKind classifies a Note.
type NoteKind string

// Note kinds.
const (
	NoteGap        NoteKind = "gap"         // bytes missing from the capture
	NoteResync     NoteKind = "resync"      // the MQTT framing was found again after a gap
	NoteUnsynced   NoteKind = "unsynced"    // data after a gap skipped because no packet start was found
	NotePartial    NoteKind = "partial"     // the stream ended inside an MQTT packet
	NoteTooLarge   NoteKind = "too-large"   // a packet larger than Options.MaxPacketSize was skipped
	NoteBadHeader  NoteKind = "bad-header"  // a fixed header that cannot start a packet: the rest of the stream is skipped
	NoteNotMQTT    NoteKind = "not-mqtt"    // a stream on a WebSocket port without an HTTP upgrade
	NoteWebSocket  NoteKind = "websocket"   // the WebSocket handshake, or a problem with its framing
	NoteWSText     NoteKind = "ws-text"     // a WebSocket text frame (MQTT must use binary frames)
	NoteTruncated  NoteKind = "snaplen"     // a frame was captured shorter than it was on the wire
	NoteFragmented NoteKind = "ip-fragment" // an IP datagram whose fragments could not be reassembled
	NoteLinkType   NoteKind = "link-type"   // frames of a link type Read cannot decode
	NoteDetected   NoteKind = "detected"    // MQTT found on an unlisted port by its content (Options.Detect)
	NoteTLS        NoteKind = "tls"         // a TLS connection on an MQTT or TLS port: encrypted, not decoded
)

// Note is something about the capture worth telling that is not an MQTT packet.
type Note struct {
	Frame  int
	Time   time.Time
	Stream *Stream // nil for notes about frames outside any stream
	Dir    Direction
	Kind   NoteKind
	Text   string
	Bytes  int64 // the number of bytes concerned, where that makes sense
}

// Handler receives what Read finds, in the order it is found (per stream in byte order; a
// direction held up by a gap can deliver later than the other). Either func may be nil.
type Handler struct {
	Packet func(*Message)
	Note   func(*Note)
}

// Stats counts what a Read saw.
type Stats struct {
	Format   Format
	Frames   int // frames in the capture
	IP       int // frames that carried IPv4 or IPv6
	TCP      int // TCP segments on MQTT, WebSocket or TLS ports, or of connections to detected endpoints
	NonIP    int // frames of other protocols (ARP…) or unsupported link types
	Snapped  int // frames captured shorter than their wire length
	Fragment int // IP fragments of TCP segments (reassembled when they can be)
	// Reassembled counts the datagrams put back together from fragments, FragmentsDropped those
	// given up (fragments missing, too old, or over the reassembly limits).
	Reassembled, FragmentsDropped int
	// TLSStreams counts the TLS connections (not decoded): those to a TLS port whose client sent
	// a ClientHello, and the streams on MQTT ports whose client started a TLS handshake.
	TLSStreams int
	Packets    int // MQTT packets
	// ByType counts MQTT packets per packet type (index = codec.PacketType).
	ByType          [16]int
	Violations      int // violations listed by the lenient decoder, over all packets
	Undecodable     int // packets the decoder could not decode at all
	MissingBytes    int64
	Retransmissions int
	OutOfOrder      int
	LinkTypes       map[uint32]int // frames per link type
	First, Last     time.Time      // capture times of the first and last frame
}
