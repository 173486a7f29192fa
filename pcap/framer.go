package pcap

import (
	"errors"
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
)

// framer cuts one direction's byte stream into MQTT packets. Whole packets inside a chunk are
// decoded where they lie; only a packet that straddles chunks is copied, into buf, which never
// holds more than Options.MaxPacketSize. A larger packet is reported from its fixed header and
// its body skipped as it streams past.
type framer struct {
	h    *half
	buf  []byte // the start of a packet that continues in the next chunk
	need int    // total size of that packet, 0 while its fixed header is incomplete
	skip int64  // body bytes of an oversized packet still to drop
	lost bool   // after a gap (or a mid-stream start): look for a packet start at the next chunk
	dec  *codec.Decoder
	// probe decodes candidates while resynchronising and version guesses, without copying.
	probe *codec.Decoder
	// skipped describes the oversized packet being dropped, for the note at the end.
	skipped codec.Header
}

func (f *framer) lose() {
	if len(f.buf) > 0 {
		f.note(NotePartial, int64(len(f.buf)), fmt.Sprintf("%s lost in a gap: %d of its bytes were captured", f.describePartial(), len(f.buf)))
	}
	f.buf, f.need, f.skip = f.buf[:0], 0, 0
	f.lost = true
}

func (f *framer) describePartial() string {
	if len(f.buf) > 0 {
		return fmt.Sprintf("packet (%v)", codec.PacketType(f.buf[0]>>4))
	}
	return "packet"
}

// finish reports a packet the stream ended inside.
func (f *framer) finish() {
	switch {
	case f.skip > 0:
		f.note(NotePartial, f.skip, fmt.Sprintf("stream ended inside an oversized %v: %d of its %d bytes missing", f.skipped.Type, f.skip, f.skipped.PacketLen()))
	case len(f.buf) > 0 && f.need > 0:
		f.note(NotePartial, int64(len(f.buf)), fmt.Sprintf("stream ended inside a %v: have %d of its %d bytes", codec.PacketType(f.buf[0]>>4), len(f.buf), f.need))
	case len(f.buf) > 0:
		f.note(NotePartial, int64(len(f.buf)), fmt.Sprintf("stream ended inside the fixed header of a packet (%d bytes: % x)", len(f.buf), f.buf))
	}
	f.buf, f.dec, f.probe = nil, nil, nil
}

func (f *framer) note(k NoteKind, n int64, text string) {
	h := f.h
	h.conn.rd.emitNoteAt(h.conn.s, h.dir, h.curFrame, h.curTime, k, n, text)
}

func (f *framer) maxPacket() int { return f.h.conn.rd.o.MaxPacketSize }

// header parses a fixed header, accepting a non-minimal remaining length (a violation the
// decoder lists, not a framing problem).
func (f *framer) header(b []byte) (codec.Header, error) {
	h, err := codec.ParseHeader(b, f.h.conn.version)
	if err != nil && err != codec.ErrShort {
		var ce *codec.Error
		if errors.As(err, &ce) && ce.Rule == "varint-non-minimal" {
			return h, nil
		}
	}
	return h, err
}

// feed consumes in-order bytes.
func (f *framer) feed(data []byte) {
	for len(data) > 0 {
		if f.skip > 0 {
			n := int(min(f.skip, int64(len(data))))
			f.skip -= int64(n)
			data = data[n:]
			continue
		}
		if f.lost {
			i := f.resync(data)
			if i < 0 {
				f.note(NoteUnsynced, int64(len(data)), fmt.Sprintf("%d bytes skipped: no MQTT packet boundary found in them", len(data)))
				return
			}
			if i > 0 {
				f.note(NoteUnsynced, int64(i), fmt.Sprintf("%d bytes skipped before the next MQTT packet boundary", i))
			}
			data = data[i:]
			f.lost = false
			f.note(NoteResync, 0, "MQTT packet boundary found again")
		}
		if len(f.buf) > 0 {
			data = f.continuePacket(data)
			continue
		}
		h, err := f.header(data)
		if err == codec.ErrShort {
			f.buf = append(f.buf, data...)
			return
		}
		if err != nil {
			f.badHeader(data, err)
			return
		}
		total := h.PacketLen()
		if total > f.maxPacket() {
			f.oversized(h, data[:h.Len])
			data = data[h.Len:]
			continue
		}
		if len(data) < total {
			f.buf = append(f.buf, data...)
			f.need = total
			return
		}
		f.h.emit(data[:total], h)
		data = data[total:]
	}
}

// continuePacket adds bytes to the packet in buf and emits it once complete.
func (f *framer) continuePacket(data []byte) []byte {
	for f.need == 0 && len(data) > 0 {
		// Still inside the fixed header: take a byte at a time (at most 5 in all).
		f.buf = append(f.buf, data[0])
		data = data[1:]
		h, err := f.header(f.buf)
		if err == codec.ErrShort {
			continue
		}
		if err != nil {
			f.badHeader(f.buf, err)
			return nil
		}
		if h.PacketLen() > f.maxPacket() {
			f.oversized(h, f.buf)
			f.buf = f.buf[:0]
			return data
		}
		f.need = h.PacketLen()
	}
	if f.need == 0 {
		return data
	}
	n := min(f.need-len(f.buf), len(data))
	f.buf = append(f.buf, data[:n]...)
	data = data[n:]
	if len(f.buf) == f.need {
		h, _ := f.header(f.buf)
		f.h.emit(f.buf, h)
		f.buf, f.need = f.buf[:0], 0
		if cap(f.buf) > 1<<20 {
			f.buf = nil // do not keep a large buffer after one big packet
		}
	}
	return data
}

// oversized reports a packet larger than the limit from its header and arranges for its body to
// be skipped.
func (f *framer) oversized(h codec.Header, hdr []byte) {
	f.skipped = h
	f.skip = int64(h.Remaining)
	f.h.emitOversized(h, hdr)
}

// badHeader handles a fixed header no packet can have (a remaining length of more than four
// bytes): the framing is lost until a plausible packet start shows up.
func (f *framer) badHeader(b []byte, err error) {
	f.note(NoteBadHeader, int64(len(b)), fmt.Sprintf("cannot frame an MQTT packet at % x…: %v", b[:min(len(b), 8)], err))
	f.buf, f.need = f.buf[:0], 0
	f.lost = true
}

// maxScan bounds how far into a chunk resync looks for a packet boundary.
const maxScan = 64 << 10

// resyncBudget bounds the bytes resync decodes while looking through one chunk, so that hostile
// data full of plausible headers costs linear time.
const resyncBudget = 4 << 20

// resync finds where in data, which follows a gap, the next MQTT packet starts, or -1. Packets
// start at the beginning of a chunk more often than not, so an incomplete packet is trusted
// there; elsewhere a candidate must be a whole packet that decodes and is followed by the end of
// the data or by another plausible fixed header.
func (f *framer) resync(data []byte) int {
	budget := resyncBudget
	for i := 0; i < len(data) && i < maxScan && budget > 0; i++ {
		if f.plausibleAt(data[i:], i == 0, &budget) {
			return i
		}
	}
	return -1
}

func (f *framer) plausibleAt(b []byte, atStart bool, budget *int) bool {
	total, ok := f.plausibleHeader(b)
	if !ok {
		return false
	}
	if total == 0 || total > len(b) {
		return atStart // header or body incomplete: cannot check more
	}
	*budget -= total
	if !f.decodes(b[:total]) {
		return false
	}
	if rest := b[total:]; len(rest) > 0 {
		_, ok := f.plausibleHeader(rest)
		return ok
	}
	return true
}

// plausibleHeader reports whether b can begin an MQTT packet (a type with the flags it requires,
// a well-formed remaining length within the limit) and its total size (0 when the header is
// incomplete).
func (f *framer) plausibleHeader(b []byte) (int, bool) {
	t, fl := codec.PacketType(b[0]>>4), b[0]&15
	switch {
	case t == 0:
		return 0, false
	case t == codec.AUTH && f.h.conn.version != codec.V5:
		return 0, false
	case t == codec.PUBLISH:
		if fl&6 == 6 {
			return 0, false
		}
	case t == codec.PUBREL || t == codec.SUBSCRIBE || t == codec.UNSUBSCRIBE:
		if fl != 2 {
			return 0, false
		}
	default:
		if fl != 0 {
			return 0, false
		}
	}
	h, err := f.header(b)
	if err == codec.ErrShort {
		return 0, true
	}
	if err != nil || h.PacketLen() > f.maxPacket() {
		return 0, false
	}
	return h.PacketLen(), true
}

// decodes reports whether b holds one packet the lenient decoder accepts. It decodes in place
// with a probe decoder of its own: nothing is copied, whatever the packet's size.
func (f *framer) decodes(b []byte) bool {
	return probe(&f.probe, f.h.conn.version, f.h.dir.Side(), true, b)
}

// probe decodes b with d (reset to the version and mode first) and reports whether it decoded.
func probe(d **codec.Decoder, v codec.Version, side codec.Side, lenient bool, b []byte) bool {
	if *d == nil {
		*d = &codec.Decoder{}
	}
	(*d).Options = codec.Options{Version: v, Lenient: lenient, Sender: side}
	_, _, err := (*d).Decode(b)
	return err == nil
}

// decoder returns the direction's lenient decoder, created on first use.
func (f *framer) decoder() *codec.Decoder {
	if f.dec == nil {
		f.dec = &codec.Decoder{Options: codec.Options{Lenient: true, Sender: f.h.dir.Side()}}
	}
	return f.dec
}

// emit decodes one whole packet and hands it to the Handler.
func (h *half) emit(raw []byte, hd codec.Header) {
	c, rd := h.conn, h.conn.rd
	m := h.newMessage(hd)
	m.Raw = raw
	if c.version == codec.VersionUnknown && hd.Type != codec.CONNECT {
		c.guess(raw, h.dir)
	}
	dec := h.mq.decoder()
	dec.Version = c.version
	p, _, err := dec.Decode(raw)
	m.Version = dec.Version
	if m.Version == codec.VersionUnknown && hd.Type != codec.CONNECT {
		m.Version = codec.V311 // what the codec decodes an unknown version as
	}
	if err == nil && hd.Type == codec.CONNECT && h.dir == FromClient && dec.Version.Valid() {
		c.setVersion(dec.Version, false)
	}
	m.Packet, m.Err, m.Violations = p, err, dec.Violations
	if err != nil {
		m.Packet = nil
		rd.sum.Undecodable++
	} else if m.Version == codec.V5 {
		switch hd.Type {
		case codec.PUBLISH, codec.CONNECT, codec.CONNACK:
			h.aliases(m)
		}
	}
	rd.sum.Violations += len(dec.Violations)
	h.deliver(m)
}

func (h *half) emitOversized(hd codec.Header, hdr []byte) {
	m := h.newMessage(hd)
	m.Version = h.conn.version
	m.Err = fmt.Errorf("%v of %d bytes is larger than the %d-byte analysis limit: body skipped", hd.Type, hd.PacketLen(), h.conn.rd.o.MaxPacketSize)
	h.conn.rd.sum.Undecodable++
	h.deliver(m)
}

func (h *half) newMessage(hd codec.Header) *Message {
	rd := h.conn.rd
	m := &rd.msg
	*m = Message{Frame: h.curFrame, Time: h.curTime, Since: h.curTime.Sub(rd.sum.First), Stream: h.conn.s, Dir: h.dir,
		Type: hd.Type, Flags: hd.Flags, Size: hd.PacketLen(), WebSocket: h.ws != nil}
	return m
}

func (h *half) deliver(m *Message) {
	rd := h.conn.rd
	rd.sum.Packets++
	rd.sum.ByType[m.Type&15]++
	h.conn.s.Packets[dirIndex(h.dir)]++
	if rd.h.Packet != nil {
		rd.h.Packet(m)
	}
}

// aliases follows Topic Alias state: the Topic Alias Maximum each side announced (CONNECT for
// what the server may send, CONNACK for what the client may send) and, for a PUBLISH with a
// Topic Alias, resolves it against this direction's mappings (m.Alias).
func (h *half) aliases(m *Message) {
	c := h.conn
	switch p := m.Packet.(type) {
	case *codec.Connect:
		if h.dir == FromClient {
			c.aliasMax[1], c.aliasKnown[1] = p.Properties.TopicAliasMaximum, true
		}
	case *codec.Connack:
		if h.dir == FromServer {
			c.aliasMax[0], c.aliasKnown[0] = p.Properties.TopicAliasMaximum, true
		}
	case *codec.Publish:
		if a, ok := h.aliasTab.Apply(p); ok {
			i := dirIndex(h.dir)
			a.Maximum, a.Announced = c.aliasMax[i], c.aliasKnown[i]
			h.alias = a
			m.Alias = &h.alias
		}
	}
}
