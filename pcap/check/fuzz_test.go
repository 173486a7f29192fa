package check

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/pcap"
)

// FuzzCheck runs the checks on whatever a capture decodes to: no check may panic on hostile
// packets, and the results must validate.
func FuzzCheck(f *testing.F) {
	var o pcap.Options
	for _, c := range loadManifest(f).Captures {
		o.Ports = append(o.Ports, c.Ports...)
		o.WebSocketPorts = append(o.WebSocketPorts, c.WSPorts...)
		b, err := os.ReadFile(filepath.Join("..", "testdata", c.File))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{1}, b[:min(len(b), 32<<10)]...))
	}
	// Packet sequences: byte 0 picks the version, then records of [direction][length][bytes].
	for _, tc := range checkCases() {
		for _, cv := range tc.bad {
			f.Add(sequence(tc.v, cv))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		var cp *pcap.Capture
		if data[0]&1 == 1 {
			cp, _ = pcap.Collect(bytes.NewReader(data[1:]), o)
			if cp == nil || cp.Summary == nil {
				return
			}
		} else {
			v := v3
			if data[0]&2 != 0 {
				v = v5
			}
			var evs []ev
			for b := data[1:]; len(b) >= 2; {
				d, n := pcap.FromClient, int(b[1])
				if b[0]&1 == 1 {
					d = pcap.FromServer
				}
				b = b[2:]
				if n == 0 || n > len(b) {
					break
				}
				evs = append(evs, ev{dir: d, raw: b[:n:n]})
				b = b[n:]
			}
			if len(evs) == 0 {
				return
			}
			cp = capture(conv(v, evs))
		}
		res := Run(cp, Options{File: "fuzz.pcap"})
		if err := res.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

// sequence encodes a conversation for the packet-sequence mode of FuzzCheck.
func sequence(v codec.Version, cv *pcap.Conversation) []byte {
	b := []byte{0}
	if v == codec.V5 {
		b[0] = 2
	}
	for _, r := range cv.Records {
		if len(r.Raw) > 255 {
			continue
		}
		d := byte(0)
		if r.Dir == pcap.FromServer {
			d = 1
		}
		b = append(b, d, byte(len(r.Raw)))
		b = append(b, r.Raw...)
	}
	return b
}
