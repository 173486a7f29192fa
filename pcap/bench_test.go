package pcap

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// benchCapture generates (once per test binary) a classic pcap of 40 MQTT sessions, 3.1.1 and
// 5.0 alternating, with QoS 0, 1 and 2 flows and one to four packets per TCP segment: at least
// 100,000 MQTT packets. It is written with pcapgo, like the other synthetic captures.
var benchCapture = sync.OnceValues(func() ([]byte, int) {
	var frames []capFrame
	total := 0
	const streams, rounds = 40, 560
	convs := make([]*conv, streams)
	for i := range convs {
		c := newConv(fmt.Sprintf("10.1.%d.%d:%d", i/200, i%200+2, 40000+i), "10.1.255.1:1883")
		c.step = 50 * time.Microsecond
		v := codec.V311
		if i%2 == 1 {
			v = codec.V5
		}
		c.handshake()
		c.pkt(FromClient, v, &codec.Connect{ClientID: fmt.Sprintf("bench-%d", i), CleanStart: true, KeepAlive: 60})
		c.pkt(FromServer, v, &codec.Connack{})
		c.pkt(FromClient, v, &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: fmt.Sprintf("bench/%d/#", i), QoS: 2}}})
		c.pkt(FromServer, v, &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{2}})
		total += 4
		convs[i] = c
	}
	payload := bytes.Repeat([]byte("0123456789abcdef"), 3)
	for r := 0; r < rounds; r++ {
		for i, c := range convs {
			v := codec.V311
			if i%2 == 1 {
				v = codec.V5
			}
			topic := fmt.Sprintf("bench/%d/%d", i, r%16)
			id := uint16(r%60000 + 2)
			switch r % 4 {
			case 0, 1: // QoS 1 out, its PUBACK with the QoS 0 copy in one segment
				c.pkt(FromClient, v, &codec.Publish{QoS: 1, PacketID: id, Topic: topic, Payload: payload})
				c.pkt(FromServer, v, &codec.Puback{PacketID: id}, &codec.Publish{Topic: topic, Payload: payload})
				total += 3
			case 2: // a burst of four QoS 0 messages in one segment, and their copies
				var ps []codec.Packet
				for k := 0; k < 4; k++ {
					ps = append(ps, &codec.Publish{Topic: topic, Payload: payload})
				}
				c.pkt(FromClient, v, ps...)
				c.pkt(FromServer, v, ps...)
				total += 8
			case 3: // a QoS 2 flow
				c.pkt(FromClient, v, &codec.Publish{QoS: 2, PacketID: id, Topic: topic, Payload: payload})
				c.pkt(FromServer, v, &codec.Pubrec{PacketID: id})
				c.pkt(FromClient, v, &codec.Pubrel{PacketID: id})
				c.pkt(FromServer, v, &codec.Pubcomp{PacketID: id}, &codec.Publish{Topic: topic, Payload: payload})
				total += 5
			}
		}
	}
	for _, c := range convs {
		c.pkt(FromClient, codec.V311, &codec.Disconnect{})
		total++
		c.fin(FromClient).fin(FromServer)
	}
	// Interleave the sessions by time, as a real capture would.
	for i := range convs[0].frames {
		for _, c := range convs {
			if i < len(c.frames) {
				frames = append(frames, c.frames[i])
			}
		}
	}
	b, err := writePcap(frames)
	if err != nil {
		panic(err)
	}
	return b, total
})

// countTypes counts the packet types tshark printed: one comma-separated list per frame.
func countTypes(out []byte) int {
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Split(strings.TrimSpace(line), ",") {
			if f != "" {
				n++
			}
		}
	}
	return n
}

func TestBenchCapture(t *testing.T) {
	data, total := benchCapture()
	if total < 100000 {
		t.Fatalf("the benchmark capture has %d MQTT packets, want at least 100000", total)
	}
	sum, err := Read(bytes.NewReader(data), Options{}, Handler{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Packets != total || sum.Violations != 0 || sum.Undecodable != 0 || len(sum.Streams) != 40 {
		t.Errorf("read %d packets (want %d), %d violations, %d undecodable, %d streams", sum.Packets, total, sum.Violations, sum.Undecodable, len(sum.Streams))
	}
}

// ourNsPerPacket is what BenchmarkDecode/mqttspec measured, for the tshark ratio.
var ourNsPerPacket float64

// BenchmarkDecode decodes a capture of more than 100,000 MQTT packets with Read, with and
// without Options.Detect (whose cost must stay off traffic on listed ports), and with tshark
// (-Y mqtt, printing each packet's type) when it is installed, on the same file.
func BenchmarkDecode(b *testing.B) {
	data, total := benchCapture()
	b.Run("mqttspec", func(b *testing.B) { benchRead(b, data, total, Options{}) })
	b.Run("mqttspec-detect", func(b *testing.B) { benchRead(b, data, total, Options{Detect: true}) })
	b.Run("tshark", func(b *testing.B) {
		bin, err := exec.LookPath("tshark")
		if err != nil {
			b.Skip("tshark is not installed")
		}
		file := filepath.Join(b.TempDir(), "bench.pcap")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		start := time.Now()
		for b.Loop() {
			out, err := exec.Command(bin, "-r", file, "-d", "tcp.port==1883,mqtt", "-Y", "mqtt", "-T", "fields", "-e", "mqtt.msgtype").Output()
			if err != nil {
				b.Fatal(err)
			}
			if n := countTypes(out); n != total {
				b.Fatalf("tshark found %d packets, want %d", n, total)
			}
		}
		ns := float64(time.Since(start).Nanoseconds()) / float64(b.N) / float64(total)
		b.ReportMetric(1e9/ns, "packets/s")
		if ourNsPerPacket > 0 {
			b.ReportMetric(ns/ourNsPerPacket, "x-slower-than-mqttspec")
		}
	})
}

// benchRead is BenchmarkDecode's run of Read with o; the plain run records ourNsPerPacket.
func benchRead(b *testing.B, data []byte, total int, o Options) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	h := Handler{Packet: func(m *Message) {
		if m.Packet != nil {
			n++
		}
	}}
	start := time.Now()
	for b.Loop() {
		n = 0
		if _, err := Read(bytes.NewReader(data), o, h); err != nil {
			b.Fatal(err)
		}
	}
	if n != total {
		b.Fatalf("decoded %d packets, want %d", n, total)
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N) / float64(total)
	if !o.Detect {
		ourNsPerPacket = ns
	}
	b.ReportMetric(1e9/ns, "packets/s")
}

// BenchmarkReadSmall reads a capture of one short conversation, the shape of a fuzz input, a
// corpus file or a check run's capture: with the reassembler reused between reads (what Read
// does) and with a fresh one each time (the peer: gopacket's allocation of its page cache).
func BenchmarkReadSmall(b *testing.B) {
	data := pcapBytes(b, sampleConversation().frames)
	for _, tc := range []struct {
		name  string
		fresh bool
	}{{"reused", false}, {"fresh", true}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if tc.fresh {
					assemblers = sync.Pool{}
				}
				if _, err := Read(bytes.NewReader(data), Options{}, Handler{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
