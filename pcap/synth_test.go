package pcap

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/mqttspec/mqttspec/codec"
)

// This file builds captures for the tests: TCP conversations serialised with gopacket/layers and
// written with gopacket/pcapgo (or by hand, for link types and variants pcapgo cannot write).

// capFrame is one frame of a synthetic capture.
type capFrame struct {
	ts   time.Time
	data []byte
	orig int // wire length; 0 means len(data)
}

// conv builds the frames of one TCP connection.
type conv struct {
	client, server netip.AddrPort
	seq            [2]uint32 // next sequence number per direction (0 client, 1 server)
	t              time.Time
	step           time.Duration
	frames         []capFrame
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func newConv(client, server string) *conv {
	return &conv{client: netip.MustParseAddrPort(client), server: netip.MustParseAddrPort(server),
		seq: [2]uint32{1000, 5000}, t: t0, step: time.Millisecond}
}

func (c *conv) tick() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

// segment serialises one TCP segment; seq is the sequence number to put in it.
func (c *conv) segment(d Direction, seq uint32, payload []byte, syn, ack, fin, rst bool) []byte {
	src, dst := c.client, c.server
	if d == FromServer {
		src, dst = dst, src
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq,
		Ack: c.seq[1-dirIndex(d)], SYN: syn, ACK: ack, FIN: fin, RST: rst, PSH: len(payload) > 0, Window: 65535}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	if src.Addr().Is4() {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{0, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		err = gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload))
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{0, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}
		err = gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload))
	}
	if err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// handshake adds SYN, SYN-ACK and ACK.
func (c *conv) handshake() *conv {
	c.frames = append(c.frames, capFrame{ts: c.tick(), data: c.segment(FromClient, c.seq[0], nil, true, false, false, false)})
	c.seq[0]++
	c.frames = append(c.frames, capFrame{ts: c.tick(), data: c.segment(FromServer, c.seq[1], nil, true, true, false, false)})
	c.seq[1]++
	c.frames = append(c.frames, capFrame{ts: c.tick(), data: c.segment(FromClient, c.seq[0], nil, false, true, false, false)})
	return c
}

// send adds one segment carrying b and advances the sequence number.
func (c *conv) send(d Direction, b []byte) *conv {
	i := dirIndex(d)
	c.frames = append(c.frames, capFrame{ts: c.tick(), data: c.segment(d, c.seq[i], b, false, true, false, false)})
	c.seq[i] += uint32(len(b))
	return c
}

// sendChunks sends b in segments of at most n bytes.
func (c *conv) sendChunks(d Direction, b []byte, n int) *conv {
	for len(b) > 0 {
		k := min(n, len(b))
		c.send(d, b[:k])
		b = b[k:]
	}
	return c
}

// pkt sends the packets encoded for v, all in one segment.
func (c *conv) pkt(d Direction, v codec.Version, ps ...codec.Packet) *conv {
	return c.send(d, encode(v, ps...))
}

func (c *conv) fin(d Direction) *conv {
	i := dirIndex(d)
	c.frames = append(c.frames, capFrame{ts: c.tick(), data: c.segment(d, c.seq[i], nil, false, true, true, false)})
	c.seq[i]++
	return c
}

func encode(v codec.Version, ps ...codec.Packet) []byte {
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.AppendTo(b, v); err != nil {
			panic(err)
		}
	}
	return b
}

// pcapBytes writes frames as a classic pcap (Ethernet) with pcapgo.
func pcapBytes(t testing.TB, frames []capFrame) []byte {
	t.Helper()
	b, err := writePcap(frames)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writePcap(frames []capFrame) ([]byte, error) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	for _, f := range frames {
		orig := f.orig
		if orig == 0 {
			orig = len(f.data)
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(f.data), Length: orig}, f.data); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// pcapngBytes writes frames as pcapng (Ethernet) with pcapgo.
func pcapngBytes(t testing.TB, frames []capFrame) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		orig := f.orig
		if orig == 0 {
			orig = len(f.data)
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(f.data), Length: orig}, f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawPcap writes a classic pcap by hand: any link type, either byte order, micro- or nanosecond
// timestamps.
func rawPcap(link uint32, bo binary.AppendByteOrder, nanos bool, frames []capFrame) []byte {
	var b []byte
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b = bo.AppendUint32(b, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 262144)
	b = bo.AppendUint32(b, link)
	for _, f := range frames {
		frac := uint32(f.ts.Nanosecond() / 1000)
		if nanos {
			frac = uint32(f.ts.Nanosecond())
		}
		orig := f.orig
		if orig == 0 {
			orig = len(f.data)
		}
		b = bo.AppendUint32(b, uint32(f.ts.Unix()))
		b = bo.AppendUint32(b, frac)
		b = bo.AppendUint32(b, uint32(len(f.data)))
		b = bo.AppendUint32(b, uint32(orig))
		b = append(b, f.data...)
	}
	return b
}

// ngBlock appends one pcapng block with a correct leading and trailing length.
func ngBlock(b []byte, bo binary.AppendByteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	b = bo.AppendUint32(b, typ)
	b = bo.AppendUint32(b, total)
	b = append(b, body...)
	return bo.AppendUint32(b, total)
}

// rawPcapNG writes a pcapng by hand: one interface of any link type, with a timestamp
// resolution option when tsresol is non-zero, in either byte order.
func rawPcapNG(link uint32, bo binary.AppendByteOrder, tsresol byte, frames []capFrame) []byte {
	var shb []byte
	shb = bo.AppendUint32(shb, 0x1A2B3C4D)
	shb = bo.AppendUint16(shb, 1)
	shb = bo.AppendUint16(shb, 0)
	shb = bo.AppendUint64(shb, ^uint64(0))
	b := ngBlock(nil, bo, ngSHB, shb)
	var idb []byte
	idb = bo.AppendUint16(idb, uint16(link))
	idb = bo.AppendUint16(idb, 0)
	idb = bo.AppendUint32(idb, 262144)
	units := uint64(1e6)
	if tsresol != 0 {
		idb = bo.AppendUint16(idb, 9)
		idb = bo.AppendUint16(idb, 1)
		idb = append(idb, tsresol, 0, 0, 0)
		if tsresol&0x80 != 0 {
			units = 1 << (tsresol & 0x7f)
		} else {
			units = 1
			for range tsresol {
				units *= 10
			}
		}
	}
	idb = bo.AppendUint32(idb, 0) // opt_endofopt
	b = ngBlock(b, bo, ngIDB, idb)
	for _, f := range frames {
		ts := uint64(f.ts.Unix())*units + uint64(f.ts.Nanosecond())*units/1e9
		orig := f.orig
		if orig == 0 {
			orig = len(f.data)
		}
		var epb []byte
		epb = bo.AppendUint32(epb, 0)
		epb = bo.AppendUint32(epb, uint32(ts>>32))
		epb = bo.AppendUint32(epb, uint32(ts))
		epb = bo.AppendUint32(epb, uint32(len(f.data)))
		epb = bo.AppendUint32(epb, uint32(orig))
		epb = append(epb, f.data...)
		b = ngBlock(b, bo, ngEPB, epb)
	}
	return b
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// relink rewrites Ethernet frames for another link type.
func relink(frames []capFrame, link uint32, variant string) []capFrame {
	out := make([]capFrame, len(frames))
	for i, f := range frames {
		et := binary.BigEndian.Uint16(f.data[12:14])
		ip := f.data[14:]
		v6 := et == 0x86dd
		var hdr []byte
		switch link {
		case LinkEthernet: // 802.1Q-tagged
			hdr = append(append(append([]byte{}, f.data[:12]...), 0x81, 0x00, 0x00, 0x05), f.data[12:14]...)
		case LinkLinuxSLL:
			hdr = []byte{0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0}
			hdr = binary.BigEndian.AppendUint16(hdr, et)
		case LinkLinuxSLL2:
			hdr = binary.BigEndian.AppendUint16(nil, et)
			hdr = append(hdr, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0)
		case LinkNull:
			fam := uint32(2)
			if v6 {
				fam = 30
			}
			if variant == "be" {
				hdr = binary.BigEndian.AppendUint32(nil, fam)
			} else {
				hdr = binary.LittleEndian.AppendUint32(nil, fam)
			}
		case LinkLoop:
			fam := uint32(2)
			if v6 {
				fam = 24
			}
			hdr = binary.BigEndian.AppendUint32(nil, fam)
		case LinkRaw, LinkIPv4, LinkIPv6:
		}
		d := append(append([]byte{}, hdr...), ip...)
		out[i] = capFrame{ts: f.ts, data: d, orig: len(d)}
	}
	return out
}

// collect reads a capture from bytes and fails the test on an error.
func collect(t testing.TB, b []byte, o Options) *Capture {
	t.Helper()
	c, err := Collect(bytes.NewReader(b), o)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return c
}

// types lists the packet types of a conversation with their direction, e.g. "C:CONNECT".
func types(cv *Conversation) []string {
	var out []string
	for _, r := range cv.Records {
		p := "C:"
		if r.Dir == FromServer {
			p = "S:"
		}
		out = append(out, p+r.Type.String())
	}
	return out
}
