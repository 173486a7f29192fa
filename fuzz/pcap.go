package fuzz

import (
	"bytes"
	"fmt"
	"net"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
	"github.com/mqttspec/mqttspec/pcap"
)

// conversation is an MQTT connection as the capture target builds it: the packets each side
// sends, in order.
type conversation struct {
	version codec.Version
	client  []*gen.Case
	server  []*gen.Case
}

// segment is one TCP segment of the synthetic capture.
type segment struct {
	fromClient bool
	seq        uint32
	data       []byte
	flags      string // "S", "SA", "A", "PA", "FA"
}

// buildCapture turns fuzz bytes into a capture of one MQTT connection: a generated client
// session (CONNECT, SUBSCRIBE, PUBLISH…) and server packets (a CONNACK, then PUBLISH,
// acknowledgements…), cut into TCP segments of drawn sizes starting at drawn sequence numbers
// (wrapping around 2^32 included), with some segments sent twice (retransmissions) or swapped
// with the next one (out of order), over Ethernet with IPv4 or IPv6, written as pcap or pcapng.
func buildCapture(data []byte) (conversation, []byte, error) {
	k := 0
	if len(data) > 0 {
		k = min(int(data[0])*2, len(data)-1)
		data = data[1:]
	}
	sess := gen.NewSession(data[:k], gen.SessionOptions{MaxField: 256})
	s := gen.NewSource(data[k:])
	conv := conversation{version: sess.Version, client: sess.Cases}
	conv.server = append(conv.server, gen.FromSource(s, gen.Options{Version: sess.Version, Sender: codec.SideServer,
		Types: []codec.PacketType{codec.CONNACK}, MaxField: 256}))
	for n := s.Intn(6); n > 0; n-- {
		conv.server = append(conv.server, gen.FromSource(s, gen.Options{Version: sess.Version, Sender: codec.SideServer, MaxField: 256}))
	}

	cISN, sISN := s.Uint32(), s.Uint32()
	if s.Bool() {
		cISN = 0xFFFFFFFF - uint32(s.Intn(64)) // sequence numbers wrap inside the stream
	}
	segs := []segment{{fromClient: true, seq: cISN, flags: "S"}, {seq: sISN, flags: "SA"}, {fromClient: true, seq: cISN + 1, flags: "A"}}
	cut := func(fromClient bool, b []byte, seq uint32) []segment {
		var out []segment
		for len(b) > 0 {
			n := min(1+s.Len(1459), len(b))
			out = append(out, segment{fromClient: fromClient, seq: seq, data: b[:n], flags: "PA"})
			seq += uint32(n)
			b = b[n:]
		}
		return out
	}
	var cb, sb []byte
	for _, c := range conv.client {
		cb = append(cb, c.Bytes...)
	}
	for _, c := range conv.server {
		sb = append(sb, c.Bytes...)
	}
	cs, ss := cut(true, cb, cISN+1), cut(false, sb, sISN+1)
	// Interleave the directions in drawn proportions.
	for len(cs) > 0 || len(ss) > 0 {
		if len(ss) == 0 || (len(cs) > 0 && s.Bool()) {
			segs = append(segs, cs[0])
			cs = cs[1:]
		} else {
			segs = append(segs, ss[0])
			ss = ss[1:]
		}
	}
	segs = append(segs, segment{fromClient: true, seq: cISN + 1 + uint32(len(cb)), flags: "FA"},
		segment{seq: sISN + 1 + uint32(len(sb)), flags: "FA"})
	// Disorder: retransmit some data segments, swap some with the next one of the same direction.
	var out []segment
	for i := 0; i < len(segs); i++ {
		seg := segs[i]
		out = append(out, seg)
		if seg.flags == "PA" {
			switch s.Byte() % 16 {
			case 0:
				out = append(out, seg) // retransmission (across the 2^32 wrap too: docs/findings.md)
			case 1:
				for j := i + 1; j < len(segs) && segs[j].flags == "PA"; j++ {
					if segs[j].fromClient == seg.fromClient {
						out[len(out)-1] = segs[j] // the later segment first
						segs = append(segs[:j], segs[j+1:]...)
						out = append(out, seg)
						break
					}
				}
			}
		}
	}
	capture, err := writeCapture(out, cISN, sISN, s.Bool(), s.Bool())
	return conv, capture, err
}

// writeCapture serialises the segments as Ethernet/IP/TCP frames into a pcap or pcapng file.
func writeCapture(segs []segment, cISN, sISN uint32, ipv6, ng bool) ([]byte, error) {
	var buf bytes.Buffer
	n := 64
	for _, seg := range segs {
		n += 16 + 74 + len(seg.data) // record header, Ethernet + IPv6 + TCP headers, payload
	}
	buf.Grow(n)
	sb := gopacket.NewSerializeBuffer() // reused: the writer copies each frame
	var write func(ci gopacket.CaptureInfo, b []byte) error
	flush := func() error { return nil }
	if ng {
		w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
		if err != nil {
			return nil, err
		}
		write, flush = w.WritePacket, w.Flush
	} else {
		w := pcapgo.NewWriter(&buf)
		// A snap length that fits the largest frame (1,534 bytes): pcapgo allocates a buffer
		// of the snap length for every reader, and 64 KB of it per input was a tenth of the
		// campaign's garbage.
		if err := w.WriteFileHeader(4096, layers.LinkTypeEthernet); err != nil {
			return nil, err
		}
		write = w.WritePacket
	}
	cMAC, sMAC := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	cIP, sIP := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}
	if ipv6 {
		cIP, sIP = net.ParseIP("fd00::1"), net.ParseIP("fd00::2")
	}
	t := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var cSent, sSent uint32 // highest sequence sent, for the ACK field
	// One set of layers, rewritten for every frame: allocating them per frame was a third of
	// this function's garbage, and the collector's work paced the campaign.
	var (
		eth layers.Ethernet
		tcp layers.TCP
		ip4 layers.IPv4
		ip6 layers.IPv6
		ip  gopacket.SerializableLayer
	)
	for _, seg := range segs {
		eth = layers.Ethernet{SrcMAC: cMAC, DstMAC: sMAC, EthernetType: layers.EthernetTypeIPv4}
		tcp = layers.TCP{SrcPort: 50000, DstPort: 1883, Seq: seg.seq, Window: 65535}
		src, dst := cIP, sIP
		if !seg.fromClient {
			eth.SrcMAC, eth.DstMAC = sMAC, cMAC
			tcp.SrcPort, tcp.DstPort = 1883, 50000
			src, dst = sIP, cIP
		}
		switch seg.flags {
		case "S":
			tcp.SYN = true
		case "SA":
			tcp.SYN, tcp.ACK, tcp.Ack = true, true, cISN+1
		case "FA":
			tcp.FIN = true
		case "PA":
			tcp.PSH = true
		}
		if seg.flags != "S" && seg.flags != "SA" {
			tcp.ACK = true
			if seg.fromClient {
				tcp.Ack = sISN + 1 + sSent
			} else {
				tcp.Ack = cISN + 1 + cSent
			}
		}
		if seg.fromClient && seg.flags == "PA" {
			cSent = max(cSent, seg.seq-(cISN+1)+uint32(len(seg.data)))
		} else if seg.flags == "PA" {
			sSent = max(sSent, seg.seq-(sISN+1)+uint32(len(seg.data)))
		}
		if ipv6 {
			eth.EthernetType = layers.EthernetTypeIPv6
			ip6 = layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
			_ = tcp.SetNetworkLayerForChecksum(&ip6)
			ip = &ip6
		} else {
			ip4 = layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
			_ = tcp.SetNetworkLayerForChecksum(&ip4)
			ip = &ip4
		}
		payload := gopacket.Payload(seg.data)
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			&eth, ip, &tcp, &payload); err != nil {
			return nil, err
		}
		frame := sb.Bytes()
		t = t.Add(time.Millisecond)
		if err := write(gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkPcapSession builds a capture of a generated MQTT connection (see buildCapture) and reads
// it with pcap.Read. However the bytes were cut into segments, retransmitted or reordered, the
// reader must deliver exactly the packets each side sent, in order, with their bytes and decoded
// fields; count every byte with nothing missing; report no gap; and learn the version from the
// CONNECT.
func checkPcapSession(data []byte) error {
	conv, capture, err := buildCapture(data)
	if err != nil {
		return fmt.Errorf("building the capture: %v", err)
	}
	return readCapture(conv, capture)
}

// readCapture reads the capture of conv and compares what comes out with what went in.
func readCapture(conv conversation, capture []byte) error {
	var got [2][]string // per direction: mismatches or nothing
	var idx [2]int
	want := [2][]*gen.Case{conv.client, conv.server}
	var notes []string
	sum, err := pcap.Read(bytes.NewReader(capture), pcap.Options{Ports: []uint16{1883}}, pcap.Handler{
		Packet: func(m *pcap.Message) {
			d := 0
			if m.Dir == pcap.FromServer {
				d = 1
			}
			i := idx[d]
			idx[d]++
			if i >= len(want[d]) {
				got[d] = append(got[d], fmt.Sprintf("extra packet %v", m.Type))
				return
			}
			w := want[d][i]
			switch {
			case !bytes.Equal(m.Raw, w.Bytes):
				got[d] = append(got[d], fmt.Sprintf("packet %d: % X, sent % X", i, m.Raw, w.Bytes))
			case m.Err != nil || len(m.Violations) > 0:
				got[d] = append(got[d], fmt.Sprintf("packet %d (%v): %v %v", i, w.Type, m.Err, m.Violations))
			case m.Version != conv.version:
				got[d] = append(got[d], fmt.Sprintf("packet %d decoded as %v, the connection is %v", i, m.Version, conv.version))
			default:
				if diff := gen.Diff(w.Packet, m.Packet); diff != "" {
					got[d] = append(got[d], fmt.Sprintf("packet %d: %s", i, diff))
				}
			}
		},
		Note: func(n *pcap.Note) {
			switch n.Kind {
			case pcap.NoteGap, pcap.NoteResync, pcap.NoteUnsynced, pcap.NotePartial, pcap.NoteBadHeader, pcap.NoteTooLarge:
				notes = append(notes, fmt.Sprintf("%s: %s", n.Kind, n.Text))
			}
		},
	})
	if err != nil {
		return fmt.Errorf("pcap.Read: %v", err)
	}
	for d, name := range []string{"client", "server"} {
		if len(got[d]) > 0 {
			return fmt.Errorf("%s packets: %v", name, got[d])
		}
		if idx[d] != len(want[d]) {
			return fmt.Errorf("%s sent %d packets, the reader delivered %d (notes %v)", name, len(want[d]), idx[d], notes)
		}
	}
	if len(notes) > 0 {
		return fmt.Errorf("notes about a complete capture: %v", notes)
	}
	if len(sum.Streams) != 1 {
		return fmt.Errorf("%d streams in a capture of one connection", len(sum.Streams))
	}
	st := sum.Streams[0]
	var cb, sb int64
	for _, c := range conv.client {
		cb += int64(len(c.Bytes))
	}
	for _, c := range conv.server {
		sb += int64(len(c.Bytes))
	}
	if st.Bytes != [2]int64{cb, sb} || st.MissingBytes != [2]int64{} {
		return fmt.Errorf("stream bytes %v missing %v, sent %d and %d", st.Bytes, st.MissingBytes, cb, sb)
	}
	if !st.Handshake || st.Version != conv.version || st.VersionGuessed {
		return fmt.Errorf("stream handshake %t version %v (guessed %t), want %v from the CONNECT", st.Handshake, st.Version, st.VersionGuessed, conv.version)
	}
	if sum.Packets != len(conv.client)+len(conv.server) {
		return fmt.Errorf("summary counts %d packets, %d were sent", sum.Packets, len(conv.client)+len(conv.server))
	}
	return nil
}
