package pcap

import (
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// captureFile collects one of the committed captures with the ports from captures.json.
func captureFile(t *testing.T, name string) *Capture {
	t.Helper()
	m := loadManifest(t)
	for _, c := range m.Captures {
		if c.File == name {
			cp, err := CollectFile(filepath.Join("testdata", name), Options{Ports: c.Ports, WebSocketPorts: c.WSPorts})
			if err != nil {
				t.Fatal(err)
			}
			return cp
		}
	}
	t.Fatalf("%s not in captures.json", name)
	return nil
}

// byClientID finds the conversation whose CONNECT carried the client identifier.
func byClientID(t *testing.T, c *Capture, id string) *Conversation {
	t.Helper()
	for _, cv := range c.Conversations {
		for _, r := range cv.Records {
			if p, ok := r.Packet.(*codec.Connect); ok && p.ClientID == id {
				return cv
			}
		}
	}
	t.Fatalf("no stream with client id %q", id)
	return nil
}

func TestCaptureV311(t *testing.T) {
	c := captureFile(t, "v311-qos.pcap")
	if len(c.Conversations) != 7 {
		t.Fatalf("%d streams, want 7", len(c.Conversations))
	}
	q2 := byClientID(t, c, "pub311-2")
	want := []string{"C:CONNECT", "S:CONNACK", "C:PUBLISH", "S:PUBREC", "C:PUBREL", "S:PUBCOMP", "C:DISCONNECT"}
	if got := types(q2); !slices.Equal(got, want) {
		t.Errorf("QoS 2 publisher\n got %v\nwant %v", got, want)
	}
	for _, cv := range c.Conversations {
		if cv.Stream.Version != codec.V311 || cv.Stream.VersionGuessed || !cv.Stream.Handshake {
			t.Errorf("stream %d: version %v guessed %t handshake %t", cv.Stream.ID, cv.Stream.Version, cv.Stream.VersionGuessed, cv.Stream.Handshake)
		}
	}
	// The late subscriber gets the retained message with RETAIN 1.
	sub := byClientID(t, c, "sub311-r")
	var got *codec.Publish
	for _, r := range sub.Records {
		if p, ok := r.Packet.(*codec.Publish); ok {
			got = p
		}
	}
	if got == nil || !got.Retain || got.Topic != "test/retained" || string(got.Payload) != "kept" || got.QoS != 1 {
		t.Errorf("retained delivery %v, want RETAIN 1 QoS 1 test/retained \"kept\"", got)
	}
}

func TestCaptureV5Properties(t *testing.T) {
	c := captureFile(t, "v5-qos.pcapng")
	cv := byClientID(t, c, "pub5-1")
	var pub *codec.Publish
	for _, r := range cv.Records {
		if p, ok := r.Packet.(*codec.Publish); ok {
			pub = p
		}
	}
	if pub == nil || pub.Properties.MessageExpiry != 120 || pub.Properties.ContentType != "text/plain" || !pub.Properties.Has(codec.PropMessageExpiry) {
		t.Fatalf("PUBLISH %v, want Message Expiry 120 and Content Type text/plain", pub)
	}
	// mosquitto_pub -D publish topic-alias 3 -l: the first PUBLISH sets the alias with the topic,
	// the next ones use the alias with an empty topic.
	alias := byClientID(t, c, "pub5-alias")
	var topics []string
	for _, r := range alias.Records {
		if p, ok := r.Packet.(*codec.Publish); ok {
			if p.Properties.TopicAlias != 3 {
				t.Errorf("frame %d: topic alias %d, want 3", r.Frame, p.Properties.TopicAlias)
			}
			topics = append(topics, p.Topic)
		}
	}
	if !slices.Equal(topics, []string{"v5/alias", "", ""}) {
		t.Errorf("alias topics %q, want [v5/alias \"\" \"\"]", topics)
	}
	sub := byClientID(t, c, "sub5")
	var ids []uint32
	for _, r := range sub.Records {
		if p, ok := r.Packet.(*codec.Publish); ok && r.Dir == FromServer {
			ids = append(ids, p.Properties.SubscriptionIDs...)
		}
	}
	if len(ids) != 6 || slices.IndexFunc(ids, func(x uint32) bool { return x != 7 }) >= 0 {
		t.Errorf("subscription identifiers on delivered messages %v, want six 7s", ids)
	}
}

func TestCaptureLargePayload(t *testing.T) {
	c := captureFile(t, "large.pcap")
	var sizes []int
	var frames []int
	for _, cv := range c.Conversations {
		for _, r := range cv.Records {
			if p, ok := r.Packet.(*codec.Publish); ok {
				sizes = append(sizes, len(p.Payload))
				frames = append(frames, r.Frame)
			}
		}
	}
	if !slices.Equal(sizes, []int{300000, 60000}) {
		t.Fatalf("payload sizes %v, want [300000 60000]", sizes)
	}
	// The trickled PUBLISH spans about 60 segments: it is reported at the frame of its last one,
	// which is the frame right before the PUBACK.
	tr := byClientID(t, c, "capclient-trickle")
	for i, r := range tr.Records {
		if r.Type == codec.PUBLISH {
			next := tr.Records[i+1]
			if next.Type != codec.PUBACK || next.Frame <= r.Frame {
				t.Errorf("PUBLISH at frame %d, followed by %v at frame %d", r.Frame, next.Type, next.Frame)
			}
			if r.Frame-tr.Stream.FirstFrame < 60 {
				t.Errorf("PUBLISH completed at frame %d, only %d frames after the stream began: want ≥ 60 segments", r.Frame, r.Frame-tr.Stream.FirstFrame)
			}
		}
	}
}

func TestCaptureBurst(t *testing.T) {
	c := captureFile(t, "burst.pcapng")
	cv := byClientID(t, c, "capclient-burst")
	perFrame := map[int]int{}
	for _, r := range cv.Records {
		if r.Dir == FromClient {
			perFrame[r.Frame]++
		}
	}
	// CONNECT and 50 PUBLISH were written at once: one segment, one frame.
	if len(perFrame) != 2 { // that frame, and the DISCONNECT's
		t.Errorf("client packets spread over %d frames (%v), want 2", len(perFrame), perFrame)
	}
	max := 0
	for _, n := range perFrame {
		max = maxInt(max, n)
	}
	if max != 51 {
		t.Errorf("largest frame holds %d client packets, want 51", max)
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func TestCaptureIPv6(t *testing.T) {
	c := captureFile(t, "ipv6.pcapng")
	if len(c.Conversations) != 3 {
		t.Fatalf("%d streams, want 3", len(c.Conversations))
	}
	for _, cv := range c.Conversations {
		if cv.Stream.Server.Addr() != netip.IPv6Loopback() || cv.Stream.Client.Addr() != netip.IPv6Loopback() {
			t.Errorf("stream %d: %v → %v, want ::1 on both ends", cv.Stream.ID, cv.Stream.Client, cv.Stream.Server)
		}
	}
	// One 5.0 and one 3.1.1 publisher on the same broker.
	if v := byClientID(t, c, "pub6-1").Stream.Version; v != codec.V5 {
		t.Errorf("pub6-1 version %v, want 5.0", v)
	}
	if v := byClientID(t, c, "pub6-2").Stream.Version; v != codec.V311 {
		t.Errorf("pub6-2 version %v, want 3.1.1", v)
	}
}

func TestCaptureWebSocket(t *testing.T) {
	c := captureFile(t, "websocket.pcapng")
	if len(c.Conversations) != 2 {
		t.Fatalf("%d streams, want 2", len(c.Conversations))
	}
	for i, v := range []codec.Version{codec.V311, codec.V5} {
		cv := c.Conversations[i]
		ws := cv.Stream.WebSocket
		if ws == nil || ws.Status != 101 || ws.Selected != "mqtt" || !slices.Equal(ws.Offered, []string{"mqtt"}) {
			t.Errorf("stream %d handshake %+v", i, ws)
		}
		if cv.Stream.Version != v {
			t.Errorf("stream %d version %v, want %v", i, cv.Stream.Version, v)
		}
		big := 0
		for _, r := range cv.Records {
			if p, ok := r.Packet.(*codec.Publish); ok && p.Topic == "ws/big" {
				big = len(p.Payload)
			}
		}
		if big != 100000 {
			t.Errorf("stream %d: ws/big payload %d bytes, want 100000 (split over WebSocket messages)", i, big)
		}
	}
}
