package pcap

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// aliasCapturePath is a synthetic capture of Topic Alias traffic, kept in testdata so that the
// checks, the CLI and other tools can read it; TestAliasCapture rebuilds it and fails when the
// file is stale (MQTTSPEC_UPDATE_TESTDATA=1 rewrites it).
const aliasCapturePath = "testdata/alias.pcap"

func aliasPub(topic string, alias uint16, payload string) *codec.Publish {
	p := &codec.Publish{Topic: topic, Payload: []byte(payload)}
	p.Properties.SetTopicAlias(alias)
	return p
}

// aliasFrames builds the capture: on one v5 connection the client allows the server 4 aliases
// and the server the client 5; each side sets an alias, sends alias-only PUBLISH packets, and
// re-maps it; the client finally uses alias 3, which it never set (the server answers DISCONNECT
// 0x82, Protocol Error).
// A second connection uses alias 1 at once: set on the first connection, unknown on this one.
func aliasFrames() []capFrame {
	v := codec.V5
	connect := &codec.Connect{ClientID: "alias-client", CleanStart: true, KeepAlive: 30}
	connect.Properties.SetTopicAliasMaximum(4)
	connack := &codec.Connack{}
	connack.Properties.SetTopicAliasMaximum(5)
	c := newConv("10.0.0.1:40001", "10.0.0.2:1883").handshake()
	c.pkt(FromClient, v, connect).pkt(FromServer, v, connack)
	c.pkt(FromClient, v, &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "al/#"}}})
	c.pkt(FromServer, v, &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0}})
	c.pkt(FromClient, v, aliasPub("al/one", 1, "one-1"))
	c.pkt(FromServer, v, aliasPub("al/one", 2, "one-1"))
	c.pkt(FromClient, v, aliasPub("", 1, "one-2"))
	c.pkt(FromServer, v, aliasPub("", 2, "one-2"))
	c.pkt(FromClient, v, aliasPub("al/two", 1, "two-1")) // alias 1 now stands for al/two
	c.pkt(FromServer, v, aliasPub("al/two", 2, "two-1")) // and the server's 2 as well
	c.pkt(FromClient, v, aliasPub("", 1, "two-2"))
	c.pkt(FromServer, v, aliasPub("", 2, "two-2"))
	c.pkt(FromClient, v, aliasPub("", 3, "unset"))
	c.pkt(FromServer, v, &codec.Disconnect{ReasonCode: 0x82}) // Protocol Error: no such mapping
	c.fin(FromServer).fin(FromClient)

	c2 := newConv("10.0.0.1:40002", "10.0.0.2:1883")
	c2.t = c.t
	c2.handshake()
	// Another client identifier: a replay does not wait for the first connection to close
	// before opening the second, and the same identifier would take the session over.
	connect2 := *connect
	connect2.ClientID = "alias-client-2"
	c2.pkt(FromClient, v, &connect2).pkt(FromServer, v, connack)
	c2.pkt(FromClient, v, aliasPub("", 1, "stale"))
	c2.pkt(FromServer, v, &codec.Disconnect{ReasonCode: 0x82})
	c2.fin(FromServer).fin(FromClient)
	return append(c.frames, c2.frames...)
}

func TestAliasCapture(t *testing.T) {
	b := pcapBytes(t, aliasFrames())
	if os.Getenv("MQTTSPEC_UPDATE_TESTDATA") != "" {
		if err := os.WriteFile(aliasCapturePath, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(aliasCapturePath)
	if err != nil || !bytes.Equal(committed, b) {
		t.Fatalf("%s is stale or missing (%v): MQTTSPEC_UPDATE_TESTDATA=1 go test ./pcap -run TestAliasCapture", aliasCapturePath, err)
	}

	// What decode prints: every alias-only PUBLISH keeps its wire topic "" and gains the
	// resolved one, per direction and per connection.
	type want struct {
		stream   int
		dir      string
		resolved string // "" with unset: the alias was never set
		unset    bool
	}
	wants := []want{
		{0, "c2s", "al/one", false},
		{0, "s2c", "al/one", false},
		{0, "c2s", "al/two", false},
		{0, "s2c", "al/two", false},
		{0, "c2s", "", true},
		{1, "c2s", "", true},
	}
	var got []want
	_, err = ReadFile(filepath.FromSlash(aliasCapturePath), Options{}, Handler{Packet: func(m *Message) {
		pi := Describe(m)
		js, err := json.Marshal(pi)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		if pi.Type != "PUBLISH" || *pi.Topic != "" {
			if _, ok := back["resolved_topic"]; ok {
				t.Errorf("frame %d: resolved_topic on a packet with a Topic Name: %s", pi.Frame, js)
			}
			return
		}
		if back["topic"] != "" {
			t.Errorf("frame %d: the wire topic is not kept in JSON: %s", pi.Frame, js)
		}
		r, _ := back["resolved_topic"].(string)
		u, _ := back["alias_unset"].(bool)
		got = append(got, want{pi.Stream, pi.Dir, r, u})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(wants) {
		t.Fatalf("alias-only PUBLISH packets %+v, want %+v", got, wants)
	}
	for i := range wants {
		if got[i] != wants[i] {
			t.Errorf("alias-only PUBLISH %d: %+v, want %+v", i, got[i], wants[i])
		}
	}
}

// TestAliasTable covers the table on its own: set, use, re-map, unset, and the byte bound.
func TestAliasTable(t *testing.T) {
	var tab AliasTable
	steps := []struct {
		p          *codec.Publish
		topic      string
		set, unset bool
	}{
		{aliasPub("", 1, ""), "", false, true},
		{aliasPub("a", 1, ""), "a", true, false},
		{aliasPub("", 1, ""), "a", false, false},
		{aliasPub("b", 1, ""), "b", true, false},
		{aliasPub("", 1, ""), "b", false, false},
		{aliasPub("", 2, ""), "", false, true},
	}
	for i, s := range steps {
		a, ok := tab.Apply(s.p)
		if !ok || a.Topic != s.topic || a.Set != s.set || a.Unset != s.unset {
			t.Errorf("step %d: %+v ok=%v, want topic %q set %v unset %v", i, a, ok, s.topic, s.set, s.unset)
		}
	}
	if _, ok := tab.Apply(&codec.Publish{Topic: "x"}); ok {
		t.Error("a PUBLISH without Topic Alias reported one")
	}
	// A hostile stream of large distinct topics: the table stays bounded and, once it has
	// dropped mappings, stops calling missing ones unset.
	big := string(bytes.Repeat([]byte("t"), 60000))
	for i := range 200 {
		tab.Apply(aliasPub(big+string(rune('a'+i%26))+string(rune('a'+i/26)), uint16(i+10), ""))
	}
	if tab.bytes > maxAliasBytes {
		t.Errorf("table holds %d bytes, bound %d", tab.bytes, maxAliasBytes)
	}
	if a, _ := tab.Apply(aliasPub("", 9999, "")); a.Unset {
		t.Error("after an overflow an unknown alias is still reported as never set")
	}
}

// TestHTTPUpgrade: what makes a client's first bytes on a plain MQTT port WebSocket.
func TestHTTPUpgrade(t *testing.T) {
	for _, tc := range []struct {
		data string
		want bool
	}{
		{"GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", true},
		{"GET /mqtt HTTP/1.1\r\nupgrade :websocket\r\n\r\n", true},
		{"GET /mqtt HTTP/1.1\r\nHost: x\r\n", true}, // cut short: the header may follow
		{"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"GET", false},
		{"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00", false},
		{"POST / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", false},
	} {
		if got := httpUpgrade([]byte(tc.data)); got != tc.want {
			t.Errorf("httpUpgrade(%q) = %v, want %v", tc.data, got, tc.want)
		}
	}
}
