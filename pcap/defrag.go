package pcap

import (
	"net/netip"
	"time"
)

// IP reassembly. A datagram split into fragments (IPv4 flags and offset, or an IPv6 Fragment
// extension header) is put back together before TCP sees it, the way a receiving host does
// (RFC 791, RFC 8200 section 4.5). Fragments are keyed by addresses, protocol and identification;
// a datagram is complete when its bytes from 0 to the end given by the last fragment (the one
// without More Fragments) are all present. Overlapping fragments keep the bytes that arrived
// first. Everything is bounded: at most maxPendingDatagrams datagrams in progress (the oldest is
// dropped first), a datagram at most 65535 bytes of payload, at most maxPendingBytes buffered in
// all, and a datagram whose fragments stop arriving is dropped after fragTimeout of capture time.
// Dropped datagrams are counted and told in a NoteFragmented.

const (
	maxPendingDatagrams = 1024
	maxPendingBytes     = 16 << 20
	maxDatagram         = 65535
	fragTimeout         = 30 * time.Second
)

// fragKey identifies the datagram a fragment belongs to.
type fragKey struct {
	src, dst netip.Addr
	proto    uint8
	id       uint32
}

// fragSpan is a range of bytes present in a datagram being reassembled.
type fragSpan struct{ from, to int }

// datagram is one datagram being reassembled.
type datagram struct {
	key   fragKey
	buf   []byte     // payload so far; grows to the highest end seen
	have  []fragSpan // sorted, disjoint ranges present in buf
	total int        // payload length, known once the last fragment arrived (-1 before)
	first time.Time  // capture time of its first fragment
	n     int        // fragments received
}

// defragmenter holds the datagrams in progress.
type defragmenter struct {
	pending map[fragKey]*datagram
	order   []*datagram // by arrival of the first fragment, for eviction
	bytes   int
	dropped int // datagrams given up (incomplete at a timeout, over a limit, or at the end)
}

// add takes one fragment: the payload bytes at offset off of the datagram, more set when other
// fragments follow. It returns the whole payload when this fragment completes the datagram (the
// slice is the caller's: nothing else refers to it), else nil.
func (d *defragmenter) add(k fragKey, off int, more bool, data []byte, now time.Time) []byte {
	if d.pending == nil {
		d.pending = map[fragKey]*datagram{}
	}
	d.expire(now)
	end := off + len(data)
	if end > maxDatagram {
		d.dropKey(k)
		return nil
	}
	g := d.pending[k]
	if g == nil {
		if len(d.order) >= maxPendingDatagrams {
			d.drop(d.order[0])
		}
		g = &datagram{key: k, total: -1, first: now}
		d.pending[k] = g
		d.order = append(d.order, g)
	}
	g.n++
	if !more {
		if g.total >= 0 && g.total != end {
			d.drop(g) // two different ends: nothing sensible to deliver
			return nil
		}
		g.total = end
	}
	if end > len(g.buf) {
		grow := end - len(g.buf)
		if d.bytes+grow > maxPendingBytes {
			d.drop(g)
			return nil
		}
		d.bytes += grow
		g.buf = append(g.buf, make([]byte, grow)...)
	}
	g.fill(off, data)
	if g.total < 0 || len(g.have) != 1 || g.have[0].from != 0 || g.have[0].to < g.total {
		return nil
	}
	out := g.buf[:g.total]
	d.remove(g)
	return out
}

// fill copies data to off, keeping bytes already present (the first copy wins), and merges the
// new range into have.
func (g *datagram) fill(off int, data []byte) {
	end := off + len(data)
	pos := off
	for _, s := range g.have {
		if s.to <= pos {
			continue
		}
		if s.from >= end {
			break
		}
		if s.from > pos {
			copy(g.buf[pos:s.from], data[pos-off:s.from-off])
		}
		pos = max(pos, s.to)
		if pos >= end {
			break
		}
	}
	if pos < end {
		copy(g.buf[pos:end], data[pos-off:])
	}
	// Merge [off, end) into the sorted spans.
	merged := g.have[:0:0]
	placed := false
	for _, s := range g.have {
		switch {
		case s.to < off:
			merged = append(merged, s)
		case s.from > end:
			if !placed {
				merged = append(merged, fragSpan{off, end})
				placed = true
			}
			merged = append(merged, s)
		default:
			off, end = min(off, s.from), max(end, s.to)
		}
	}
	if !placed {
		merged = append(merged, fragSpan{off, end})
	}
	g.have = merged
}

// expire drops datagrams whose first fragment is older than fragTimeout.
func (d *defragmenter) expire(now time.Time) {
	for len(d.order) > 0 && now.Sub(d.order[0].first) > fragTimeout {
		d.drop(d.order[0])
	}
}

func (d *defragmenter) dropKey(k fragKey) {
	if g := d.pending[k]; g != nil {
		d.drop(g)
	} else {
		d.dropped++
	}
}

// drop gives a datagram up.
func (d *defragmenter) drop(g *datagram) {
	d.dropped++
	d.remove(g)
}

func (d *defragmenter) remove(g *datagram) {
	delete(d.pending, g.key)
	d.bytes -= len(g.buf)
	for i, x := range d.order {
		if x == g {
			d.order = append(d.order[:i], d.order[i+1:]...)
			break
		}
	}
}

// finish gives up every datagram still in progress at the end of the capture.
func (d *defragmenter) finish() {
	for len(d.order) > 0 {
		d.drop(d.order[0])
	}
}
