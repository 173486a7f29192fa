package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// sampleConversation is a small v5 session with every QoS flow: 14 MQTT packets.
func sampleConversation() *conv {
	return sampleConversationAt("192.0.2.10:50000", "192.0.2.1:1883")
}

func sampleConversationAt(client, server string) *conv {
	v := codec.V5
	c := newConv(client, server).handshake()
	c.pkt(FromClient, v, &codec.Connect{ClientID: "sample", CleanStart: true, KeepAlive: 30})
	ack := &codec.Connack{}
	ack.Properties.SetTopicAliasMaximum(5)
	c.pkt(FromServer, v, ack)
	c.pkt(FromClient, v, &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "s/#", QoS: 2}}})
	c.pkt(FromServer, v, &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{2}})
	pub := &codec.Publish{QoS: 1, PacketID: 2, Topic: "s/1", Payload: []byte("one")}
	pub.Properties.AddUser("k", "v")
	c.pkt(FromClient, v, pub)
	c.pkt(FromServer, v, &codec.Puback{PacketID: 2}, &codec.Publish{Topic: "s/1", Payload: []byte("one")})
	c.pkt(FromClient, v, &codec.Publish{QoS: 2, PacketID: 3, Topic: "s/2", Payload: []byte("two")})
	c.pkt(FromServer, v, &codec.Pubrec{PacketID: 3})
	c.pkt(FromClient, v, &codec.Pubrel{PacketID: 3})
	c.pkt(FromServer, v, &codec.Pubcomp{PacketID: 3})
	c.pkt(FromClient, v, &codec.Pingreq{})
	c.pkt(FromServer, v, &codec.Pingresp{})
	c.pkt(FromClient, v, &codec.Disconnect{})
	return c.fin(FromClient).fin(FromServer)
}

var sampleTypes = []string{"C:CONNECT", "S:CONNACK", "C:SUBSCRIBE", "S:SUBACK", "C:PUBLISH", "S:PUBACK", "S:PUBLISH",
	"C:PUBLISH", "S:PUBREC", "C:PUBREL", "S:PUBCOMP", "C:PINGREQ", "S:PINGRESP", "C:DISCONNECT"}

type variant struct {
	name, ext string
	data      []byte
}

// linkVariants encodes the same Ethernet frames in every link type and container variant Read
// supports.
func linkVariants(t testing.TB, frames []capFrame) []variant {
	le, be := binary.LittleEndian, binary.BigEndian
	return []variant{
		{"pcap-ethernet-pcapgo", ".pcap", pcapBytes(t, frames)},
		{"pcapng-ethernet-pcapgo", ".pcapng", pcapngBytes(t, frames)},
		{"pcap-bigendian-nanoseconds", ".pcap", rawPcap(LinkEthernet, be, true, frames)},
		{"pcap-gzip", ".pcap.gz", gzipped(rawPcap(LinkEthernet, le, false, frames))},
		{"pcapng-bigendian-tsresol-9", ".pcapng", rawPcapNG(LinkEthernet, be, 9, frames)},
		{"pcapng-tsresol-2^-20", ".pcapng", rawPcapNG(LinkEthernet, le, 0x80|20, frames)},
		{"ethernet-vlan", ".pcap", rawPcap(LinkEthernet, le, false, relink(frames, LinkEthernet, ""))},
		{"linux-sll", ".pcap", rawPcap(LinkLinuxSLL, le, false, relink(frames, LinkLinuxSLL, ""))},
		{"linux-sll2", ".pcap", rawPcap(LinkLinuxSLL2, le, false, relink(frames, LinkLinuxSLL2, ""))},
		{"linux-sll2-pcapng", ".pcapng", rawPcapNG(LinkLinuxSLL2, le, 0, relink(frames, LinkLinuxSLL2, ""))},
		{"null-little-endian", ".pcap", rawPcap(LinkNull, le, false, relink(frames, LinkNull, "le"))},
		{"null-big-endian", ".pcap", rawPcap(LinkNull, be, false, relink(frames, LinkNull, "be"))},
		{"loop", ".pcap", rawPcap(LinkLoop, le, false, relink(frames, LinkLoop, ""))},
		{"raw-ip", ".pcap", rawPcap(LinkRaw, le, false, relink(frames, LinkRaw, ""))},
		{"ipv4", ".pcap", rawPcap(LinkIPv4, le, false, relink(frames, LinkIPv4, ""))},
	}
}

// TestLinkTypes decodes one conversation, over IPv4 and over IPv6, from every link type and
// container variant, and expects the same packets at the same frames and times each time.
func TestLinkTypes(t *testing.T) {
	for _, ipv := range []struct {
		name           string
		client, server string
	}{
		{"ipv4", "192.0.2.10:50000", "192.0.2.1:1883"},
		{"ipv6", "[2001:db8::10]:50000", "[2001:db8::1]:1883"},
	} {
		frames := sampleConversationAt(ipv.client, ipv.server).frames
		for _, v := range linkVariants(t, frames) {
			if ipv.name == "ipv6" && v.name == "ipv4" {
				continue // LINKTYPE_IPV4 carries only IPv4
			}
			t.Run(ipv.name+"/"+v.name, func(t *testing.T) {
				c := collect(t, v.data, Options{})
				if len(c.Conversations) != 1 {
					t.Fatalf("%d streams, want 1", len(c.Conversations))
				}
				cv := c.Conversations[0]
				if got := types(cv); !slices.Equal(got, sampleTypes) {
					t.Fatalf("packets\n got %v\nwant %v", got, sampleTypes)
				}
				s := cv.Stream
				if s.Client.String() != ipv.client || s.Server.String() != ipv.server {
					t.Errorf("endpoints %v → %v, want %v → %v", s.Client, s.Server, ipv.client, ipv.server)
				}
				if !s.Handshake || s.Version != codec.V5 || s.VersionGuessed {
					t.Errorf("handshake %t version %v guessed %t; want true 5.0 false", s.Handshake, s.Version, s.VersionGuessed)
				}
				if s.ClientClose != FIN || s.ServerClose != FIN {
					t.Errorf("closes %v/%v, want fin/fin", s.ClientClose, s.ServerClose)
				}
				// Frame 4 is the CONNECT (after the three-way handshake), 1 ms apart from t0.
				r := cv.Records[0]
				wantTS := t0.Add(4 * time.Millisecond)
				if v.name == "pcapng-tsresol-2^-20" {
					wantTS = r.Time // 2^-20 s units cannot hold whole milliseconds exactly
					if d := r.Time.Sub(t0.Add(4 * time.Millisecond)); d < -time.Microsecond || d > time.Microsecond {
						t.Errorf("CONNECT time %v, want within 1µs of %v", r.Time, t0.Add(4*time.Millisecond))
					}
				}
				if r.Frame != 4 || !r.Time.Equal(wantTS) {
					t.Errorf("CONNECT at frame %d time %v, want frame 4 time %v", r.Frame, r.Time, wantTS)
				}
				if c.Summary.NonIP != 0 || c.Summary.Packets != 14 {
					t.Errorf("non-IP frames %d, packets %d; want 0, 14", c.Summary.NonIP, c.Summary.Packets)
				}
			})
		}
	}
}

// wsConversation is MQTT over WebSocket on port 9001. With split, MQTT packets are cut across
// frames, several share a frame, a message is fragmented into continuation frames with a ping in
// between, and a text frame appears; without, every frame holds exactly one whole packet (what
// tshark can dissect).
func wsConversation(split bool) *conv {
	v := codec.V311
	c := newConv("127.0.0.1:40000", "127.0.0.1:9001").handshake()
	c.send(FromClient, []byte("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt, mqttv3.1\r\n\r\n"))
	c.send(FromServer, []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"))
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	conn := encode(v, &codec.Connect{ClientID: "ws", CleanStart: true, KeepAlive: 60})
	sub := encode(v, &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "w/#", QoS: 1}}})
	pubs := encode(v, &codec.Publish{QoS: 1, PacketID: 2, Topic: "w/a", Payload: []byte("x")},
		&codec.Publish{QoS: 0, Topic: "w/b", Payload: []byte(strings.Repeat("y", 300))})
	if !split {
		c.send(FromClient, wsFrame(true, 2, &key, conn))
		c.send(FromServer, wsFrame(true, 2, nil, encode(v, &codec.Connack{})))
		c.send(FromClient, wsFrame(true, 2, &key, sub))
		c.send(FromServer, wsFrame(true, 2, nil, encode(v, &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{1}})))
		c.send(FromClient, wsFrame(true, 2, &key, encode(v, &codec.Publish{QoS: 1, PacketID: 2, Topic: "w/a", Payload: []byte("x")})))
		c.send(FromServer, wsFrame(true, 2, nil, encode(v, &codec.Puback{PacketID: 2})))
		c.send(FromClient, wsFrame(true, 2, &key, encode(v, &codec.Disconnect{})))
		return c.fin(FromClient).fin(FromServer)
	}
	// CONNECT split over two frames in two segments; the server's CONNACK and SUBACK in one frame.
	c.send(FromClient, wsFrame(true, 2, &key, conn[:5]))
	c.send(FromClient, wsFrame(true, 2, &key, conn[5:]))
	c.send(FromServer, wsFrame(true, 2, nil, encode(v, &codec.Connack{}, &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{1}})))
	// SUBSCRIBE as a fragmented message: binary + continuation, a ping between the fragments,
	// all in one TCP segment.
	var seg []byte
	seg = append(seg, wsFrame(false, 2, &key, sub[:4])...)
	seg = append(seg, wsFrame(true, 9, &key, []byte("ping"))...)
	seg = append(seg, wsFrame(true, 0, &key, sub[4:])...)
	c.send(FromClient, seg)
	// Two PUBLISH in one frame, the frame spread over three TCP segments.
	c.sendChunks(FromClient, wsFrame(true, 2, &key, pubs), 120)
	// A text frame: not MQTT.
	c.send(FromClient, wsFrame(true, 1, &key, []byte("hello")))
	c.send(FromServer, wsFrame(true, 2, nil, encode(v, &codec.Puback{PacketID: 2})))
	c.send(FromClient, wsFrame(true, 2, &key, encode(v, &codec.Disconnect{})))
	return c.fin(FromClient).fin(FromServer)
}

// wsFrame encodes one WebSocket frame, masked when key is non-nil.
func wsFrame(fin bool, op byte, key *[4]byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	mask := byte(0)
	if key != nil {
		mask = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, mask|byte(n))
	case n < 1<<16:
		b = append(b, mask|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if key == nil {
		return append(b, payload...)
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

func TestWebSocket(t *testing.T) {
	var notes []string
	c, err := Collect(bytes.NewReader(pcapngBytes(t, wsConversation(true).frames)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Conversations) != 1 {
		t.Fatalf("%d streams, want 1", len(c.Conversations))
	}
	cv := c.Conversations[0]
	for _, n := range cv.Notes {
		notes = append(notes, string(n.Kind))
	}
	want := []string{"C:CONNECT", "S:CONNACK", "S:SUBACK", "C:SUBSCRIBE", "C:PUBLISH", "C:PUBLISH", "S:PUBACK", "C:DISCONNECT"}
	if got := types(cv); !slices.Equal(got, want) {
		t.Fatalf("packets\n got %v\nwant %v", got, want)
	}
	for _, r := range cv.Records {
		if !r.WebSocket || r.Packet == nil || len(r.Violations) > 0 {
			t.Errorf("frame %d %v: ws %t decoded %t violations %v", r.Frame, r.Type, r.WebSocket, r.Packet != nil, r.Violations)
		}
	}
	if p := cv.Records[5].Packet.(*codec.Publish); p.Topic != "w/b" || len(p.Payload) != 300 {
		t.Errorf("second PUBLISH: topic %q payload %d bytes, want w/b 300", p.Topic, len(p.Payload))
	}
	// The CONNECT completes in the segment of its second frame: frame 7 (3 handshake, 2 HTTP).
	if cv.Records[0].Frame != 7 {
		t.Errorf("CONNECT reported at frame %d, want 7 (where its last byte arrived)", cv.Records[0].Frame)
	}
	ws := cv.Stream.WebSocket
	if ws == nil {
		t.Fatal("stream not marked as WebSocket")
	}
	if ws.Path != "/mqtt" || !slices.Equal(ws.Offered, []string{"mqtt", "mqttv3.1"}) || ws.Selected != "mqtt" || ws.Status != 101 {
		t.Errorf("handshake %+v", ws)
	}
	if ws.TextFrames != [2]int{1, 0} || ws.UnmaskedFromClient != 0 || ws.MaskedFromServer != 0 {
		t.Errorf("text frames %v unmasked-from-client %d masked-from-server %d; want [1 0] 0 0", ws.TextFrames, ws.UnmaskedFromClient, ws.MaskedFromServer)
	}
	if !slices.Equal(notes, []string{"websocket", "websocket", "ws-text"}) {
		t.Errorf("notes %v, want websocket, websocket, ws-text", notes)
	}
}

func TestWebSocketRefusedOrNot(t *testing.T) {
	for _, tc := range []struct {
		name     string
		request  string
		response string
		note     string
	}{
		{"refused", "GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "WebSocket upgrade refused"},
		{"plain-http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "is not a WebSocket upgrade"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConv("127.0.0.1:40000", "127.0.0.1:8080").handshake()
			c.send(FromClient, []byte(tc.request))
			c.send(FromServer, []byte(tc.response))
			c.send(FromClient, wsFrame(true, 2, &[4]byte{1, 2, 3, 4}, encode(codec.V311, &codec.Pingreq{})))
			cp := collect(t, pcapBytes(t, c.frames), Options{})
			cv := cp.Conversations[0]
			if len(cv.Records) != 0 {
				t.Errorf("%d MQTT packets, want none", len(cv.Records))
			}
			found := false
			for _, n := range cv.Notes {
				found = found || strings.Contains(n.Text, tc.note)
			}
			if !found {
				t.Errorf("no note containing %q in %v", tc.note, cv.Notes)
			}
		})
	}
	// A stream on a WebSocket port that is not HTTP at all is ignored with one note.
	c := newConv("127.0.0.1:40000", "127.0.0.1:80").handshake()
	c.pkt(FromClient, codec.V311, &codec.Connect{ClientID: "x"})
	cp := collect(t, pcapBytes(t, c.frames), Options{})
	if cv := cp.Conversations[0]; len(cv.Records) != 0 || len(cv.Notes) != 1 || cv.Notes[0].Kind != NoteNotMQTT {
		t.Errorf("records %d notes %v; want 0 and one not-mqtt note", len(cv.Records), cv.Notes)
	}
}

func fmtNotes(ns []Note) string {
	var b strings.Builder
	for _, n := range ns {
		fmt.Fprintf(&b, "[%d %s %s] ", n.Frame, n.Kind, n.Text)
	}
	return b.String()
}
