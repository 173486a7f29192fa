package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/reports"
)

// runPcap runs a fresh pcap subcommand (new flags every time: cobra keeps flag values between
// runs of one command) and returns stdout, stderr and the exit code.
func runPcap(t *testing.T, mk func() *cobra.Command, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := mk()
	var out, errw bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errw)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	code = exitOK
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			t.Fatalf("%v: %v", args, err)
		}
		code = ee.code
	}
	return out.String(), errw.String(), code
}

// withoutDetected drops the "# detected" note lines of decode's text output.
func withoutDetected(s string) (rest []string, detected []string) {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, " # detected ") {
			detected = append(detected, l)
			continue
		}
		rest = append(rest, l)
	}
	return rest, detected
}

// TestPcapDetect reads committed captures whose broker listened on an unlisted port: by default
// (detection on) every subcommand says the same as with the port named and detection off, and
// tells that it detected the endpoint; with --detect=false alone nothing is found.
func TestPcapDetect(t *testing.T) {
	for _, tc := range []struct {
		file     string
		listFlag string // how to name the port
		endpoint string
		what     string
	}{
		{"v311-qos.pcap", "--port=30815", "127.0.0.1:30815", "MQTT"},
		{"ipv6.pcapng", "--port=30815", "[::1]:30815", "MQTT"},
		{"websocket.pcapng", "--ws-port=22448", "127.0.0.1:22448", "MQTT over WebSocket"},
	} {
		file := filepath.Join("..", "..", "pcap", "testdata", tc.file)
		t.Run(tc.file+"/decode", func(t *testing.T) {
			got, gotErr, code := runPcap(t, pcapDecodeCmd, file)
			want, _, wcode := runPcap(t, pcapDecodeCmd, "--detect=false", tc.listFlag, file)
			if code != exitOK || wcode != exitOK {
				t.Fatalf("exit %d and %d, want 0", code, wcode)
			}
			rest, det := withoutDetected(got)
			if !slices.Equal(rest, strings.Split(want, "\n")) {
				t.Errorf("output with detection differs from output with %s\n got %q\nwant %q", tc.listFlag, rest, want)
			}
			if len(det) != 1 || !strings.Contains(det[0], tc.endpoint+" is not a listed port but carries "+tc.what) {
				t.Errorf("detection notes %q, want one naming %s", det, tc.endpoint)
			}
			if !strings.Contains(gotErr, "detected on unlisted ports by content: "+tc.endpoint+" ("+tc.what+", stream 0") ||
				!strings.Contains(gotErr, "to list them: "+strings.Replace(tc.listFlag, "=", " ", 1)) {
				t.Errorf("stderr does not tell about the detection:\n%s", gotErr)
			}
			off, offErr, code := runPcap(t, pcapDecodeCmd, "--detect=false", file)
			if off != "" || code != exitOK || !strings.Contains(offErr, "0 MQTT packets in 0 streams") || !strings.Contains(offErr, "drop --detect=false") {
				t.Errorf("--detect=false: exit %d, stdout %q, stderr %q; want nothing found and a hint", code, off, offErr)
			}
			js, _, _ := runPcap(t, pcapDecodeCmd, "--json", file)
			if n := strings.Count(js, `"note":"detected"`); n != 1 {
				t.Errorf("--json: %d detected notes, want 1", n)
			}
		})
		t.Run(tc.file+"/check", func(t *testing.T) {
			cases := func(args ...string) []reports.Case {
				out, _, code := runPcap(t, pcapCheckCmd, append(args, "--json", file)...)
				if code != exitOK && code != exitFailures {
					t.Fatalf("check %v: exit %d", args, code)
				}
				var r reports.Results
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("check %v: %v", args, err)
				}
				for i := range r.Cases {
					r.Cases[i].DurationMs = 0
				}
				return r.Cases
			}
			got, want := cases(), cases("--detect=false", tc.listFlag)
			if len(got) == 0 || !slicesEqualJSON(t, got, want) {
				t.Errorf("check with detection differs from check with %s (%d and %d cases)", tc.listFlag, len(got), len(want))
			}
			_, stderr, _ := runPcap(t, pcapCheckCmd, file)
			if !strings.Contains(stderr, "detected on unlisted ports by content: "+tc.endpoint) {
				t.Errorf("check's stderr does not tell about the detection:\n%s", stderr)
			}
		})
		t.Run(tc.file+"/corpus", func(t *testing.T) {
			run := func(dir string, args ...string) (string, []string) {
				out, _, code := runPcap(t, pcapCorpusCmd, append(args, "--out", dir, file)...)
				if code != exitOK {
					t.Fatalf("corpus %v: exit %d", args, code)
				}
				var seeds []string
				_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						rel, _ := filepath.Rel(dir, p)
						seeds = append(seeds, rel)
					}
					return nil
				})
				return strings.ReplaceAll(out, dir, "DIR"), seeds
			}
			got, gotSeeds := run(filepath.Join(t.TempDir(), "seeds"))
			want, wantSeeds := run(filepath.Join(t.TempDir(), "seeds"), "--detect=false", tc.listFlag)
			if got != want || len(gotSeeds) == 0 || !slices.Equal(gotSeeds, wantSeeds) {
				t.Errorf("corpus with detection: %q, %d seeds; with %s: %q, %d seeds", got, len(gotSeeds), tc.listFlag, want, len(wantSeeds))
			}
		})
	}
}

func slicesEqualJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

// TestPcapDetectFlag: every pcap subcommand that reads captures has --detect, on by default, and
// says so in its help.
func TestPcapDetectFlag(t *testing.T) {
	for _, mk := range []func() *cobra.Command{pcapDecodeCmd, pcapCheckCmd, pcapReplayCmd, pcapCorpusCmd} {
		cmd := mk()
		t.Run(cmd.Name(), func(t *testing.T) {
			f := cmd.Flags().Lookup("detect")
			if f == nil || f.DefValue != "true" || f.Value.Type() != "bool" {
				t.Fatalf("--detect flag: %+v, want a bool defaulting to true", f)
			}
			if !strings.Contains(f.Usage, "CONNECT") {
				t.Errorf("--detect usage %q does not say what is detected", f.Usage)
			}
			opts, err := (&pcapFlags{detect: true, maxPacket: 1}).options()
			if err != nil || !opts.Detect {
				t.Errorf("options: %+v %v, want Detect", opts, err)
			}
		})
	}
}

// TestPcapTopicAlias: on the synthetic Topic Alias capture, decode keeps the wire topic and adds
// the resolved one (text and JSON), and check fails on the aliases used before they were set.
func TestPcapTopicAlias(t *testing.T) {
	file := filepath.Join("..", "..", "pcap", "testdata", "alias.pcap")
	out, _, code := runPcap(t, pcapDecodeCmd, file)
	if code != exitOK || strings.Count(out, `topic="" resolved="al/one"`) != 2 || strings.Count(out, `topic="" resolved="al/two"`) != 2 ||
		strings.Count(out, `resolved=? (alias never set)`) != 2 {
		t.Errorf("decode (exit %d):\n%s", code, out)
	}
	out, _, code = runPcap(t, pcapDecodeCmd, "--json", file)
	resolved := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if m["type"] == "PUBLISH" && m["topic"] == "" {
			if r, ok := m["resolved_topic"].(string); ok && r != "" || m["alias_unset"] == true {
				resolved++
			} else {
				t.Errorf("alias-only PUBLISH without resolved_topic or alias_unset: %s", l)
			}
		}
	}
	if code != exitOK || resolved != 6 {
		t.Errorf("decode --json: exit %d, %d alias-only PUBLISH accounted for, want 6", code, resolved)
	}
	out, _, code = runPcap(t, pcapCheckCmd, file)
	if code != exitFailures || !strings.Contains(out, "3.3/topic-alias-set-before-use/client") || !strings.Contains(out, "MQTT-3.3.2-7") {
		t.Errorf("check (exit %d):\n%s", code, out)
	}
}

// TestPcapWebSocketAnyPort decodes the committed WebSocket capture with its port named as
// WebSocket, named as plain MQTT, and not named at all: the packets are the same three times
// (text and JSON); naming it with --port adds one note saying the client spoke WebSocket there,
// not naming it the detection note.
func TestPcapWebSocketAnyPort(t *testing.T) {
	file := filepath.Join("..", "..", "pcap", "testdata", "websocket.pcapng")
	split := func(out string) (packets, notes []string) {
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			if strings.Contains(l, `"note":`) || strings.Contains(l, " # ") {
				notes = append(notes, l)
				continue
			}
			packets = append(packets, l)
		}
		return packets, notes
	}
	for _, format := range [][]string{nil, {"--json"}} {
		var base, baseNotes []string
		for _, tc := range []struct {
			args []string
			note string // the note only this way of naming the port adds
		}{
			{[]string{"--ws-port", "22448"}, ""},
			{[]string{"--port", "22448"}, "are an HTTP upgrade: decoded as MQTT over WebSocket"},
			{nil, "is not a listed port but carries MQTT over WebSocket"},
		} {
			out, _, code := runPcap(t, pcapDecodeCmd, append(append(append([]string{}, format...), tc.args...), file)...)
			packets, notes := split(out)
			if code != exitOK || len(packets) < 40 {
				t.Fatalf("%v %v: exit %d, %d packets", format, tc.args, code, len(packets))
			}
			if base == nil {
				base, baseNotes = packets, notes
				continue
			}
			if !slices.Equal(packets, base) {
				t.Errorf("%v %v: the packets differ from --ws-port's", format, tc.args)
			}
			var extra []string
			for _, n := range notes {
				if !slices.Contains(baseNotes, n) {
					extra = append(extra, n)
				}
			}
			if len(extra) != 1 || !strings.Contains(extra[0], tc.note) || len(notes) != len(baseNotes)+1 {
				t.Errorf("%v %v: notes beyond --ws-port's %q, want one saying %q", format, tc.args, extra, tc.note)
			}
		}
	}
}

// TestPcapTLSAndFragments: on the synthetic capture of TLS connections and fragmented sessions,
// decode tells the TLS streams (a note each and a summary line) and reassembles the fragments.
func TestPcapTLSAndFragments(t *testing.T) {
	file := filepath.Join("..", "..", "pcap", "testdata", "tls-fragments.pcap")
	out, stderr, code := runPcap(t, pcapDecodeCmd, file)
	if code != exitOK || strings.Count(out, "# tls") != 2 || strings.Count(out, "TLS, not decoded") != 2 ||
		strings.Count(out, `topic="frag/t" qos=1 payload=4000`) != 2 {
		t.Errorf("decode (exit %d):\n%s", code, out)
	}
	for _, want := range []string{"2 TLS connections, not decoded", "IP: 8 fragments, 2 datagrams reassembled, 0 given up"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	js, _, _ := runPcap(t, pcapDecodeCmd, "--json", file)
	if n := strings.Count(js, `"note":"tls"`); n != 2 {
		t.Errorf("--json: %d tls notes, want 2", n)
	}
	_, stderr, _ = runPcap(t, pcapDecodeCmd, "--tls-port", "1", file)
	if !strings.Contains(stderr, "1 TLS connections") {
		t.Errorf("--tls-port 1 (8883 no longer TLS): %s", stderr)
	}
}
