package pcap

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// tlsRecordBytes is a TLS record of type typ with n bytes of body.
func tlsRecordBytes(typ byte, n int) []byte {
	b := []byte{typ, 3, 1, 0, 0}
	binary.BigEndian.PutUint16(b[3:], uint16(n))
	return append(b, bytes.Repeat([]byte{0xab}, n)...)
}

// tlsCapture holds a TLS connection on 8883, one on the MQTT port 1883 (a broker whose TLS
// listener was named as plain MQTT), and plain MQTT on 8883, which is decoded.
func tlsCapture() []capFrame {
	var frames []capFrame
	for i, server := range []string{"10.0.0.2:8883", "10.0.0.2:1883"} {
		c := newConv("10.0.0.1:4100"+string(rune('0'+i)), server).handshake()
		hello := tlsRecordBytes(22, 300)
		hello[5] = 1 // handshake message type: ClientHello
		c.send(FromClient, hello)
		c.seq[0] -= uint32(len(hello))
		c.send(FromClient, hello)                   // retransmitted: one connection all the same
		c.send(FromServer, tlsRecordBytes(22, 900)) // ServerHello, certificate…
		c.send(FromClient, tlsRecordBytes(23, 80))  // application data
		c.send(FromServer, tlsRecordBytes(23, 40))
		c.fin(FromClient).fin(FromServer)
		frames = append(frames, c.frames...)
	}
	c := newConv("10.0.0.1:41009", "10.0.0.2:8883").handshake()
	c.pkt(FromClient, codec.V311, &codec.Connect{ClientID: "plain", CleanStart: true, KeepAlive: 30})
	c.pkt(FromServer, codec.V311, &codec.Connack{})
	c.fin(FromClient).fin(FromServer)
	return append(frames, c.frames...)
}

func TestTLSReported(t *testing.T) {
	cp := collect(t, pcapBytes(t, tlsCapture()), Options{Detect: true})
	s := cp.Summary
	// The TLS connection to 8883 is counted and told without a stream; the one on the MQTT port
	// is a stream marked TLS; plain MQTT on 8883 is detected and decoded.
	if len(s.Streams) != 2 || s.TLSStreams != 2 || s.Packets != 2 {
		t.Fatalf("%d streams, %d TLS, %d packets; want 2, 2, 2", len(s.Streams), s.TLSStreams, s.Packets)
	}
	var global []string
	for _, n := range cp.Notes {
		if n.Kind == NoteTLS {
			global = append(global, n.Text)
		}
	}
	if len(global) != 1 || !strings.Contains(global[0], "10.0.0.1:41000 to 10.0.0.2:8883") || !strings.Contains(global[0], "TLS, not decoded") {
		t.Errorf("notes on TLS connections to 8883: %q, want one (the ClientHello retransmission not counted)", global)
	}
	for i, want := range []bool{true, false} {
		cv := cp.Conversations[i]
		if cv.Stream.TLS != want {
			t.Errorf("stream %d: TLS %v, want %v", i, cv.Stream.TLS, want)
		}
		var tlsNotes []string
		for _, n := range cv.Notes {
			if n.Kind == NoteTLS {
				tlsNotes = append(tlsNotes, n.Text)
			}
		}
		if want && (len(tlsNotes) != 1 || !strings.Contains(tlsNotes[0], "TLS, not decoded") || len(cv.Records) != 0) {
			t.Errorf("TLS stream %d: notes %q, %d packets; want one TLS note and none", i, tlsNotes, len(cv.Records))
		}
		if !want && (len(tlsNotes) != 0 || len(cv.Records) != 2 || !cv.Stream.Detected) {
			t.Errorf("plain MQTT on 8883: notes %q, %d packets, detected %v", tlsNotes, len(cv.Records), cv.Stream.Detected)
		}
	}
	// Without TLS ports, the connection to 8883 goes unnoticed; the MQTT port's TLS is still told.
	cp = collect(t, pcapBytes(t, tlsCapture()), Options{TLSPorts: []uint16{}})
	if cp.Summary.TLSStreams != 1 || len(cp.Summary.Streams) != 1 {
		t.Errorf("no TLS ports: %d TLS connections, %d streams; want 1 and 1", cp.Summary.TLSStreams, len(cp.Summary.Streams))
	}
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{tlsRecordBytes(22, 300), true},
		{[]byte{0x16, 3, 3, 0x48, 0x01}, false}, // longer than TLS allows (2^14 + 2048)
		{[]byte{0x16, 3}, false},
		{[]byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T'}, false},
		{[]byte("GET / HTTP/1.1\r\n"), false},
	} {
		if got := tlsRecord(tc.b); got != tc.want {
			t.Errorf("tlsRecord(% x) = %v, want %v", tc.b[:min(8, len(tc.b))], got, tc.want)
		}
	}
}

// tlsFragmentsPath is a synthetic capture for the CLI and other tools: the TLS connections of
// tlsCapture, then an IPv4 and an IPv6 session whose large PUBLISH travels in IP fragments
// (out of order). TestTLSFragmentsCapture rebuilds it (MQTTSPEC_UPDATE_TESTDATA=1 rewrites it).
const tlsFragmentsPath = "testdata/tls-fragments.pcap"

func tlsFragmentsFrames() []capFrame {
	frames := tlsCapture()
	for i, tc := range []struct{ client, server string }{{"10.0.0.1:42000", "10.0.0.2:1883"}, {"[fd00::1]:42001", "[fd00::2]:1883"}} {
		whole, big := fragmentedSession(tc.client, tc.server)
		frags := fragmentFrame(whole[big], 1200, uint32(100+i))
		frags[0], frags[2] = frags[2], frags[0]
		frames = append(frames, whole[:big]...)
		frames = append(frames, frags...)
		frames = append(frames, whole[big+1:]...)
	}
	return frames
}

func TestTLSFragmentsCapture(t *testing.T) {
	b := pcapBytes(t, tlsFragmentsFrames())
	if os.Getenv("MQTTSPEC_UPDATE_TESTDATA") != "" {
		if err := os.WriteFile(tlsFragmentsPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(tlsFragmentsPath)
	if err != nil || !bytes.Equal(committed, b) {
		t.Fatalf("%s is stale or missing (%v): MQTTSPEC_UPDATE_TESTDATA=1 go test ./pcap -run TestTLSFragmentsCapture", tlsFragmentsPath, err)
	}
	cp := collect(t, committed, Options{Detect: true})
	s := cp.Summary
	if s.TLSStreams != 2 || len(s.Streams) != 4 || s.Reassembled != 2 || s.FragmentsDropped != 0 || s.ByType[codec.PUBLISH] != 2 {
		t.Errorf("TLS %d of %d streams, %d reassembled, %d dropped, %d PUBLISH; want 2 of 4, 2, 0, 2",
			s.TLSStreams, len(s.Streams), s.Reassembled, s.FragmentsDropped, s.ByType[codec.PUBLISH])
	}
}
