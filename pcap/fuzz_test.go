package pcap

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// FuzzReadCapture reads arbitrary bytes as a capture. Besides not panicking, Read must return
// no error, ErrNotCapture or a *CaptureError; every Message must be consistent (sizes, types,
// frame numbers); and the Summary must count what the Handler saw.
func FuzzReadCapture(f *testing.F) {
	var ports, wsPorts []uint16
	m := loadManifestF(f)
	for _, c := range m.Captures {
		ports = append(ports, c.Ports...)
		wsPorts = append(wsPorts, c.WSPorts...)
		b, err := os.ReadFile(filepath.Join("testdata", c.File))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 32<<10 {
			b = b[:32<<10] // a prefix of the big captures: whole frames, then a cut
		}
		f.Add(b)
	}
	frames := sampleConversation().frames
	for _, v := range linkVariants(f, frames) {
		f.Add(v.data)
	}
	f.Add(pcapngBytes(f, wsConversation(true).frames))
	f.Add(pcapBytes(f, movePort(sampleConversation().frames, 1883, 11883))) // found by detection
	// Topic Aliases, TLS connections and IP fragments (IPv4 and IPv6) to mutate.
	f.Add(pcapBytes(f, aliasFrames()))
	f.Add(pcapBytes(f, tlsFragmentsFrames()))
	// Detect: mutated ports go through content detection (and its handshake table).
	o := Options{Ports: append(ports, 1883), WebSocketPorts: append(wsPorts, 9001, 8080), MaxPacketSize: 1 << 16, Detect: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		packets, lastFrame := 0, 0
		var byType [16]int
		sum, err := Read(bytes.NewReader(data), o, Handler{
			Packet: func(m *Message) {
				packets++
				byType[m.Type&15]++
				switch {
				case m.Stream == nil:
					t.Fatal("message without a stream")
				case m.Size < 2 || m.Size > codec.MaxPacketSize:
					t.Fatalf("message size %d", m.Size)
				case m.Raw != nil && len(m.Raw) != m.Size:
					t.Fatalf("raw %d bytes, size %d", len(m.Raw), m.Size)
				case m.Raw == nil && m.Size <= o.MaxPacketSize:
					t.Fatalf("a %d-byte packet within the limit came without its bytes", m.Size)
				case m.Packet != nil && m.Packet.Type() != m.Type:
					t.Fatalf("decoded %v from a %v header", m.Packet.Type(), m.Type)
				case m.Packet == nil && m.Err == nil:
					t.Fatal("no packet and no error")
				case m.Frame < 1:
					t.Fatalf("frame %d", m.Frame)
				}
				lastFrame = max(lastFrame, m.Frame)
			},
			Note: func(n *Note) {
				if n.Kind == "" || n.Text == "" {
					t.Fatalf("empty note %+v", n)
				}
			},
		})
		var ce *CaptureError
		if err != nil && !errors.Is(err, ErrNotCapture) && !errors.As(err, &ce) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		if sum == nil {
			if packets > 0 {
				t.Fatal("packets delivered but no summary")
			}
			return
		}
		if sum.Packets != packets || sum.ByType != byType || lastFrame > sum.Frames {
			t.Fatalf("summary %d packets %v frames %d; handler saw %d %v up to frame %d", sum.Packets, sum.ByType, sum.Frames, packets, byType, lastFrame)
		}
	})
}
