package pcap

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// manifest is testdata/captures.json, written by testdata/make-captures.sh.
type manifest struct {
	Tshark   string `json:"tshark"`
	Captures []struct {
		File           string         `json:"file"`
		Ports          []uint16       `json:"ports"`
		WSPorts        []uint16       `json:"ws_ports"`
		TsharkCounts   map[string]int `json:"tshark_counts"`
		ExpectedCounts map[string]int `json:"expected_counts"`
	} `json:"captures"`
}

func loadManifest(t *testing.T) *manifest { return loadManifestF(t) }

func loadManifestF(t testing.TB) *manifest {
	t.Helper()
	b, err := os.ReadFile("testdata/captures.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Captures) != 6 {
		t.Fatalf("captures.json lists %d captures, want 6", len(m.Captures))
	}
	return &m
}

// counts turns ByType into the manifest's form: packet type number → count.
func counts(byType [16]int) map[string]int {
	out := map[string]int{}
	for t, n := range byType {
		if n > 0 {
			out[strconv.Itoa(t)] = n
		}
	}
	return out
}

func fmtCounts(c map[string]int) string {
	var keys []int
	for k := range c {
		n, _ := strconv.Atoi(k)
		keys = append(keys, n)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%v=%d", codec.PacketType(k), c[strconv.Itoa(k)]))
	}
	return strings.Join(parts, " ")
}

// TestCapturesCountsAsTshark reads every committed capture and compares the MQTT packets found
// per type with what tshark found when the capture was made (recorded in captures.json), or,
// for the WebSocket capture that tshark cannot reassemble, with what the capturing client sent
// and received.
func TestCapturesCountsAsTshark(t *testing.T) {
	m := loadManifest(t)
	for _, c := range m.Captures {
		t.Run(c.File, func(t *testing.T) {
			sum, err := ReadFile(filepath.Join("testdata", c.File), Options{Ports: c.Ports, WebSocketPorts: c.WSPorts}, Handler{
				Note: func(n *Note) {
					switch n.Kind {
					case NoteWebSocket:
					default:
						t.Errorf("unexpected note: frame %d %s: %s", n.Frame, n.Kind, n.Text)
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			want := c.TsharkCounts
			if want == nil {
				want = c.ExpectedCounts
			}
			if got := counts(sum.ByType); fmtCounts(got) != fmtCounts(want) {
				t.Errorf("per-type counts\n got %s\nwant %s", fmtCounts(got), fmtCounts(want))
			}
			if sum.Undecodable != 0 || sum.Violations != 0 || sum.MissingBytes != 0 {
				t.Errorf("undecodable %d, violations %d, missing bytes %d; want 0", sum.Undecodable, sum.Violations, sum.MissingBytes)
			}
		})
	}
}

func tsharkPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (apt-get install tshark); .ci/run installs it")
	}
	return p
}

// tsharkCounts runs tshark on a capture and counts the MQTT packets per type, the way
// make-captures.sh does: -Y mqtt -T fields -e mqtt.msgtype gives one comma-separated list of
// types per frame.
func tsharkCounts(t *testing.T, bin, file string, args ...string) map[string]int {
	t.Helper()
	cmd := exec.Command(bin, append(append([]string{"-r", file}, args...), "-Y", "mqtt", "-T", "fields", "-e", "mqtt.msgtype")...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", cmd.Args, err)
	}
	c := map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Split(strings.TrimSpace(line), ",") {
			if f != "" {
				c[f]++
			}
		}
	}
	return c
}

// TestTsharkLive runs the installed tshark on the committed captures and on synthetic ones of
// every supported link type and container variant, and compares per-type counts with ours.
func TestTsharkLive(t *testing.T) {
	bin := tsharkPath(t)
	m := loadManifest(t)
	for _, c := range m.Captures {
		if len(c.Ports) == 0 {
			continue // WebSocket: see TestTsharkWebSocket
		}
		t.Run(c.File, func(t *testing.T) {
			file := filepath.Join("testdata", c.File)
			want := tsharkCounts(t, bin, file, "-d", fmt.Sprintf("tcp.port==%d,mqtt", c.Ports[0]))
			sum, err := ReadFile(file, Options{Ports: c.Ports}, Handler{})
			if err != nil {
				t.Fatal(err)
			}
			if got := counts(sum.ByType); fmtCounts(got) != fmtCounts(want) {
				t.Errorf("per-type counts\n    ours %s\n  tshark %s", fmtCounts(got), fmtCounts(want))
			}
		})
	}
	// Every link type and container variant, built from one synthetic conversation.
	frames := sampleConversation().frames
	for _, v := range linkVariants(t, frames) {
		t.Run("synthetic/"+v.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c"+v.ext)
			if err := os.WriteFile(file, v.data, 0o644); err != nil {
				t.Fatal(err)
			}
			want := tsharkCounts(t, bin, file, "-d", "tcp.port==1883,mqtt")
			sum, err := ReadFile(file, Options{}, Handler{})
			if err != nil {
				t.Fatal(err)
			}
			if got := counts(sum.ByType); fmtCounts(got) != fmtCounts(want) || sum.Packets != 14 {
				t.Errorf("per-type counts\n    ours %s (%d packets)\n  tshark %s", fmtCounts(got), sum.Packets, fmtCounts(want))
			}
		})
	}
}

// TestTsharkWebSocket compares with tshark on WebSocket captures whose frames hold whole MQTT
// packets: tshark 4.0 hands WebSocket payload to MQTT only through a Lua shim registering it for
// the "mqtt" subprotocol, and does not reassemble MQTT packets across frames at all.
func TestTsharkWebSocket(t *testing.T) {
	bin := tsharkPath(t)
	if out, _ := exec.Command(bin, "-v").Output(); !strings.Contains(string(out), "with Lua") {
		t.Skip("this tshark is built without Lua, which it needs to dissect MQTT over WebSocket")
	}
	dir := t.TempDir()
	lua := filepath.Join(dir, "ws-mqtt.lua")
	if err := os.WriteFile(lua, []byte(`DissectorTable.get("ws.protocol"):add("mqtt", Dissector.get("mqtt"))`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ws.pcapng")
	if err := os.WriteFile(file, pcapngBytes(t, wsConversation(false).frames), 0o644); err != nil {
		t.Fatal(err)
	}
	want := tsharkCounts(t, bin, file, "-X", "lua_script:"+lua, "-d", "tcp.port==9001,http")
	sum, err := ReadFile(file, Options{}, Handler{})
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(sum.ByType); fmtCounts(got) != fmtCounts(want) || sum.Packets == 0 {
		t.Errorf("per-type counts\n    ours %s\n  tshark %s", fmtCounts(got), fmtCounts(want))
	}
}
