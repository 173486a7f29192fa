package pcap

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// fragmentFrame splits the IP payload of an Ethernet frame (IPv4 or IPv6, no extension headers)
// into fragments of at most size bytes (a multiple of 8), with identification id.
func fragmentFrame(f capFrame, size int, id uint32) []capFrame {
	eth := f.data[:14]
	var out []capFrame
	add := func(d []byte) { out = append(out, capFrame{ts: f.ts, data: d}) }
	if binary.BigEndian.Uint16(eth[12:14]) == 0x0800 {
		ihl := int(f.data[14]&15) * 4
		hdr, payload := f.data[14:14+ihl], f.data[14+ihl:]
		for off := 0; off < len(payload); off += size {
			chunk := payload[off:min(off+size, len(payload))]
			h := append([]byte(nil), hdr...)
			binary.BigEndian.PutUint16(h[2:4], uint16(ihl+len(chunk)))
			binary.BigEndian.PutUint16(h[4:6], uint16(id))
			fo := uint16(off / 8)
			if off+size < len(payload) {
				fo |= 0x2000 // More Fragments
			}
			binary.BigEndian.PutUint16(h[6:8], fo)
			h[10], h[11] = 0, 0
			var sum uint32
			for i := 0; i < len(h); i += 2 {
				sum += uint32(binary.BigEndian.Uint16(h[i:]))
			}
			for sum > 0xffff {
				sum = sum&0xffff + sum>>16
			}
			binary.BigEndian.PutUint16(h[10:12], ^uint16(sum))
			add(slices.Concat(eth, h, chunk))
		}
		return out
	}
	hdr, payload := f.data[14:54], f.data[54:]
	next := hdr[6]
	for off := 0; off < len(payload); off += size {
		chunk := payload[off:min(off+size, len(payload))]
		h := append([]byte(nil), hdr...)
		h[6] = 44 // Fragment
		binary.BigEndian.PutUint16(h[4:6], uint16(8+len(chunk)))
		fh := []byte{next, 0, 0, 0, 0, 0, 0, 0}
		fo := uint16(off)
		if off+size < len(payload) {
			fo |= 1
		}
		binary.BigEndian.PutUint16(fh[2:4], fo)
		binary.BigEndian.PutUint32(fh[4:8], id)
		add(slices.Concat(eth, h, fh, chunk))
	}
	return out
}

// fragmentedSession is a v5 session whose large PUBLISH travels in one TCP segment: frames
// holds it as captured whole, big is the index of that segment's frame.
func fragmentedSession(client, server string) (frames []capFrame, big int) {
	v := codec.V5
	c := newConv(client, server).handshake()
	c.pkt(FromClient, v, &codec.Connect{ClientID: "frag", CleanStart: true, KeepAlive: 30})
	c.pkt(FromServer, v, &codec.Connack{})
	c.pkt(FromClient, v, &codec.Publish{QoS: 1, PacketID: 1, Topic: "frag/t", Payload: bytes.Repeat([]byte("fragment"), 500)})
	big = len(c.frames) - 1
	c.pkt(FromServer, v, &codec.Puback{PacketID: 1})
	c.pkt(FromClient, v, &codec.Disconnect{})
	c.fin(FromClient).fin(FromServer)
	return c.frames, big
}

func TestIPFragmentsReassembled(t *testing.T) {
	for _, tc := range []struct{ name, client, server string }{
		{"IPv4", "10.0.0.1:40000", "10.0.0.2:1883"},
		{"IPv6", "[fd00::1]:40000", "[fd00::2]:1883"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			whole, big := fragmentedSession(tc.client, tc.server)
			want := collect(t, pcapBytes(t, whole), Options{})
			frags := fragmentFrame(whole[big], 1200, 77)
			if len(frags) != 4 {
				t.Fatalf("%d fragments, want 4", len(frags))
			}
			// Out of order, one duplicated; another datagram's fragment (same addresses, other id)
			// in between must not mix in.
			other := fragmentFrame(whole[big], 1200, 78)[1]
			shuffled := []capFrame{frags[2], frags[0], other, frags[3], frags[0], frags[1]}
			frames := slices.Concat(whole[:big], shuffled, whole[big+1:])
			var notes []string
			got, err := Collect(bytes.NewReader(pcapBytes(t, frames)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range got.Notes {
				notes = append(notes, string(n.Kind)+": "+n.Text)
			}
			if !slices.Equal(types(got.Conversations[0]), types(want.Conversations[0])) || len(got.Conversations) != 1 {
				t.Fatalf("packets %v, want %v (notes %q)", types(got.Conversations[0]), types(want.Conversations[0]), notes)
			}
			for i, r := range got.Conversations[0].Records {
				if !bytes.Equal(r.Raw, want.Conversations[0].Records[i].Raw) {
					t.Errorf("record %d differs from the unfragmented capture", i)
				}
			}
			if s := got.Summary; s.Fragment != 6 || s.Reassembled != 1 || s.MissingBytes != 0 {
				t.Errorf("fragments %d, reassembled %d, missing %d; want 6, 1, 0", s.Fragment, s.Reassembled, s.MissingBytes)
			}
			// The other datagram (one fragment of four) is given up at the end and told once.
			if got.Summary.FragmentsDropped != 1 || len(notes) != 1 || !strings.HasPrefix(notes[0], "ip-fragment") {
				t.Errorf("dropped %d, notes %q; want 1 and one ip-fragment note", got.Summary.FragmentsDropped, notes)
			}

			// A fragment missing: the datagram is not delivered, its bytes are a gap, the rest
			// still decodes.
			frames = slices.Concat(whole[:big], []capFrame{frags[0], frags[1], frags[3]}, whole[big+1:])
			got = collect(t, pcapBytes(t, frames), Options{})
			if got.Summary.Reassembled != 0 || got.Summary.FragmentsDropped != 1 || got.Summary.MissingBytes == 0 {
				t.Errorf("with a fragment missing: reassembled %d, dropped %d, missing bytes %d", got.Summary.Reassembled, got.Summary.FragmentsDropped, got.Summary.MissingBytes)
			}
		})
	}
}

// TestDefragmenterBounds: datagrams in progress, their bytes and their age are bounded.
func TestDefragmenterBounds(t *testing.T) {
	var d defragmenter
	now := t0
	k := func(i int) fragKey { return fragKey{proto: 6, id: uint32(i)} }
	for i := range maxPendingDatagrams + 10 {
		d.add(k(i), 0, true, make([]byte, 8), now)
	}
	if len(d.pending) != maxPendingDatagrams || d.dropped != 10 || d.pending[k(0)] != nil {
		t.Errorf("%d pending, %d dropped; want %d and 10, oldest first", len(d.pending), d.dropped, maxPendingDatagrams)
	}
	d.add(k(-1), 0, true, make([]byte, 8), now.Add(fragTimeout+time.Second))
	if len(d.pending) != 1 {
		t.Errorf("%d pending after the timeout, want 1", len(d.pending))
	}
	if d.add(k(-2), maxDatagram, false, make([]byte, 8), now) != nil || d.pending[k(-2)] != nil {
		t.Error("a fragment past 65535 bytes was kept")
	}
	// Bytes: 300 datagrams of 64 KiB claimed each would be 19 MiB.
	d = defragmenter{}
	for i := range 300 {
		d.add(k(i), 65000, true, make([]byte, 8), now)
	}
	if d.bytes > maxPendingBytes {
		t.Errorf("%d bytes pending, bound %d", d.bytes, maxPendingBytes)
	}
	// Overlaps: the first copy of a byte wins, and coverage merges.
	d = defragmenter{}
	d.add(k(1), 8, true, []byte("BBBBBBBB"), now)
	d.add(k(1), 0, true, []byte("AAAAAAAAXXXXXXXX"), now)
	out := d.add(k(1), 16, false, []byte("CC"), now)
	if string(out) != "AAAAAAAABBBBBBBBCC" {
		t.Errorf("reassembled %q", out)
	}
}
