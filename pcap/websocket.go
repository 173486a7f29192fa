package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// maxHTTP bounds the HTTP upgrade request or response of a WebSocket stream.
const maxHTTP = 16 << 10

// wsHalf de-frames one direction of a WebSocket stream (RFC 6455) and passes the unmasked payload
// of binary messages to the MQTT framer, which does not care where frames begin or end
// [MQTT-6.0.0-2]. Payloads stream through: nothing but a frame header (at most 14 bytes) is
// buffered, whatever length a frame claims.
type wsHalf struct {
	h         *half
	handshake bool   // the HTTP part is over
	http      []byte // the HTTP request or response so far
	dead      bool   // nothing more to decode in this direction
	lost      bool   // after a gap: look for a frame header at the next chunk

	hdr       [14]byte
	hlen      int
	remaining uint64 // payload bytes left in the current frame
	inFrame   bool   // between a frame's header and the end of its payload
	fin       bool
	opcode    byte
	msgOp     byte // 1 (text) or 2 (binary) while a fragmented message continues
	deliver   bool // the current frame's payload is MQTT
	masked    bool
	key       [4]byte
	kpos      int
	scratch   []byte
}

func (w *wsHalf) info() *WebSocketInfo { return w.h.conn.s.WebSocket }

func (w *wsHalf) note(k NoteKind, n int64, text string) {
	h := w.h
	h.conn.rd.emitNoteAt(h.conn.s, h.dir, h.curFrame, h.curTime, k, n, text)
}

func (w *wsHalf) lose() {
	if !w.handshake {
		w.dead = true
		return
	}
	w.lost, w.inFrame, w.hlen, w.remaining, w.msgOp = true, false, 0, 0, 0
}

func (w *wsHalf) finish() { w.http, w.scratch = nil, nil }

// killStream stops WebSocket decoding in both directions (the upgrade failed or was not one).
func (w *wsHalf) killStream() {
	for i := range w.h.conn.half {
		if ws := w.h.conn.half[i].ws; ws != nil {
			ws.dead = true
		}
	}
}

func (w *wsHalf) feed(data []byte) {
	if w.dead {
		return
	}
	if !w.handshake {
		old := len(w.http)
		take := min(len(data), maxHTTP-old)
		w.http = append(w.http, data[:take]...)
		from := max(0, old-3)
		i := bytes.Index(w.http[from:], []byte("\r\n\r\n"))
		if i < 0 {
			if len(w.http) >= maxHTTP {
				w.note(NoteWebSocket, int64(len(w.http)), fmt.Sprintf("HTTP upgrade longer than %d bytes: stream ignored", maxHTTP))
				w.killStream()
			}
			return
		}
		end := from + i + 4
		w.parseHTTP(string(w.http[:end]))
		w.http = nil
		w.handshake = true
		if w.dead {
			return
		}
		data = data[end-old:]
	}
	w.frames(data)
}

// parseHTTP reads the upgrade request (client) or response (server).
func (w *wsHalf) parseHTTP(msg string) {
	info := w.info()
	lines := strings.Split(strings.TrimSuffix(msg, "\r\n\r\n"), "\r\n")
	first := lines[0]
	headers := map[string][]string{}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(name))
		headers[k] = append(headers[k], strings.TrimSpace(value))
	}
	tokens := func(k string) []string {
		var out []string
		for _, v := range headers[k] {
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					out = append(out, t)
				}
			}
		}
		return out
	}
	if w.h.dir == FromClient {
		f := strings.Fields(first)
		upgrade := false
		for _, t := range tokens("upgrade") {
			upgrade = upgrade || strings.EqualFold(t, "websocket")
		}
		if len(f) < 3 || f[0] != "GET" || !upgrade {
			w.note(NoteWebSocket, int64(len(msg)), fmt.Sprintf("HTTP request %q is not a WebSocket upgrade: stream ignored", first))
			w.killStream()
			return
		}
		info.Path = f[1]
		info.Offered = tokens("sec-websocket-protocol")
		info.RequestFrame = w.h.curFrame
		w.note(NoteWebSocket, 0, fmt.Sprintf("WebSocket upgrade GET %s, subprotocols offered: %s", info.Path, listOrNone(info.Offered)))
		return
	}
	f := strings.Fields(first)
	if len(f) >= 2 {
		info.Status, _ = strconv.Atoi(f[1])
	}
	info.ResponseFrame = w.h.curFrame
	if p := tokens("sec-websocket-protocol"); len(p) > 0 {
		info.Selected = p[0]
	}
	if info.Status != 101 {
		w.note(NoteWebSocket, int64(len(msg)), fmt.Sprintf("WebSocket upgrade refused: %q", first))
		w.killStream()
		return
	}
	w.note(NoteWebSocket, 0, fmt.Sprintf("WebSocket upgrade accepted (101), subprotocol: %s", orNone(info.Selected)))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// headerLen is the size of the frame header being collected, as far as its first bytes tell.
func (w *wsHalf) headerLen() int {
	if w.hlen < 2 {
		return 2
	}
	n := 2
	switch w.hdr[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if w.hdr[1]&0x80 != 0 {
		n += 4
	}
	return n
}

func (w *wsHalf) frames(data []byte) {
	for len(data) > 0 && !w.dead {
		if !w.inFrame {
			if w.lost && w.hlen == 0 {
				if !w.plausibleHeader(data) {
					w.note(NoteUnsynced, int64(len(data)), fmt.Sprintf("%d bytes skipped: no WebSocket frame starts at this segment", len(data)))
					return
				}
				w.lost = false
			}
			for w.hlen < w.headerLen() && len(data) > 0 {
				w.hdr[w.hlen] = data[0]
				w.hlen++
				data = data[1:]
			}
			if w.hlen < w.headerLen() {
				return
			}
			w.startFrame()
			continue
		}
		n := int(min(w.remaining, uint64(len(data))))
		chunk := data[:n]
		data = data[n:]
		w.remaining -= uint64(n)
		if w.deliver {
			if w.masked {
				if cap(w.scratch) < n {
					w.scratch = make([]byte, n)
				}
				s := w.scratch[:n]
				for i, c := range chunk {
					s[i] = c ^ w.key[(w.kpos+i)&3]
				}
				w.kpos = (w.kpos + n) & 3
				chunk = s
			}
			w.h.mq.feed(chunk)
		}
		if w.remaining == 0 {
			w.endFrame()
		}
	}
}

// startFrame interprets a complete frame header.
func (w *wsHalf) startFrame() {
	b0, b1 := w.hdr[0], w.hdr[1]
	w.fin, w.opcode, w.masked = b0&0x80 != 0, b0&0x0f, b1&0x80 != 0
	rsv := b0 & 0x70
	var length uint64
	p := 2
	switch b1 & 0x7f {
	case 126:
		length, p = uint64(binary.BigEndian.Uint16(w.hdr[2:4])), 4
	case 127:
		length, p = binary.BigEndian.Uint64(w.hdr[2:10]), 10
	default:
		length = uint64(b1 & 0x7f)
	}
	if w.masked {
		copy(w.key[:], w.hdr[p:p+4])
	}
	w.kpos, w.hlen, w.inFrame, w.remaining = 0, 0, true, length
	info := w.info()
	i := dirIndex(w.h.dir)
	if w.h.dir == FromClient && !w.masked {
		info.UnmaskedFromClient++
	}
	if w.h.dir == FromServer && w.masked {
		info.MaskedFromServer++
	}
	if rsv != 0 {
		w.note(NoteWebSocket, int64(length), fmt.Sprintf("WebSocket frame with reserved bits %03b (an extension such as compression): the rest of this direction cannot be decoded", rsv>>4))
		w.dead = true
		return
	}
	if length>>63 != 0 {
		w.note(NoteWebSocket, 0, "WebSocket frame length has its top bit set: the rest of this direction cannot be decoded")
		w.dead = true
		return
	}
	w.deliver = false
	switch w.opcode {
	case 0: // continuation
		w.deliver = w.msgOp == 2
		if w.msgOp == 1 {
			info.TextFrames[i]++
		}
		if w.msgOp == 0 {
			w.note(NoteWebSocket, int64(length), "WebSocket continuation frame without a message to continue: skipped")
		}
	case 1:
		info.TextFrames[i]++
		w.msgOp = 1
		w.note(NoteWSText, int64(length), fmt.Sprintf("WebSocket text frame of %d bytes: MQTT must travel in binary frames; payload not decoded", length))
	case 2:
		w.msgOp = 2
		w.deliver = true
	case 8, 9, 10: // close, ping, pong
	default:
		w.note(NoteWebSocket, int64(length), fmt.Sprintf("WebSocket frame with reserved opcode %d: skipped", w.opcode))
	}
	if length == 0 {
		w.endFrame()
	}
}

func (w *wsHalf) endFrame() {
	w.inFrame = false
	if w.fin && w.opcode < 8 {
		w.msgOp = 0
	}
}

// plausibleHeader reports whether b can start a frame of this direction after a gap.
func (w *wsHalf) plausibleHeader(b []byte) bool {
	op := b[0] & 0x0f
	if b[0]&0x70 != 0 || (op > 2 && op < 8) || op > 10 {
		return false
	}
	if len(b) < 2 {
		return true
	}
	masked := b[1]&0x80 != 0
	if masked != (w.h.dir == FromClient) {
		return false
	}
	if op >= 8 && (b[0]&0x80 == 0 || b[1]&0x7f > 125) {
		return false
	}
	return true
}
