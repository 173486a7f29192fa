package drivers

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

// pahoPythonRecorder loads client.py with paho.mqtt.client.Client replaced by a recorder, runs
// the action given on standard input up to the connection, and prints the library calls the
// program made as JSON (the last line).
const pahoPythonRecorder = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("client", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
calls = []
def P(p):
    return None if p is None else p.json()
def H(b):
    return None if b is None else b.hex()
class Recorder:
    def __init__(self, **kw): calls.append(["Client", kw])
    def reconnect_delay_set(self, **kw): calls.append(["reconnect_delay_set", kw])
    def username_pw_set(self, u, p): calls.append(["username_pw_set", u, H(p)])
    def will_set(self, t, payload, qos, retain, props): calls.append(["will_set", t, H(payload), qos, retain, P(props)])
    def connect(self, host, port, **kw):
        kw = {k: (P(v) if k == "properties" else v) for k, v in kw.items()}
        calls.append(["connect", host, port, kw])
    def loop_start(self): RUN.finish()
    def is_connected(self): return False
    def loop_stop(self): pass
m.mqtt.Client = Recorder
RUN = m.Run(m.parse(sys.stdin.buffer.read().decode().split("\0")))
RUN.run()
print(json.dumps(calls, sort_keys=True))
`

// TestPahoPythonLibraryCalls checks what the Python program hands paho-mqtt for an action: the
// Client, credentials, Will and connect arguments, 5.0 properties included.
func TestPahoPythonLibraryCalls(t *testing.T) {
	p := &PahoPython{}
	if err := p.Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "client.py")
	if err := os.WriteFile(script, pahoPythonScript, 0o644); err != nil {
		t.Fatal(err)
	}
	var wp codec.Properties
	wp.SetWillDelay(9).SetContentType("c").AddUser("k", "v")
	for _, tc := range []struct {
		name string
		a    conformance.Action
		want []string // fragments of the JSON list of calls
		not  []string
	}{
		{"3.1.1 clean, no credentials", conformance.Action{Op: conformance.OpConnect, Version: codec.V311, Host: "127.0.0.1", Port: 5, ClientID: "c1"},
			[]string{`["Client", {"clean_session": true, "client_id": "c1", "protocol": 4, "reconnect_on_failure": false}]`, `["connect", "127.0.0.1", 5, {"keepalive": 60}]`},
			[]string{"username_pw_set", "will_set", "reconnect_delay_set"}},
		{"3.1.1 persistent session, reconnecting", conformance.Action{Op: conformance.OpPublish, Version: codec.V311, Host: "h", Port: 5, ClientID: "c1", KeepSession: true, Reconnect: true, KeepAlive: 3},
			[]string{`"clean_session": false`, `"reconnect_on_failure": true`, `["reconnect_delay_set", {"max_delay": 1, "min_delay": 0.2}]`, `{"keepalive": 3}`}, nil},
		{"5.0 session and limits", conformance.Action{Op: conformance.OpSubscribe, Version: codec.V5, Host: "h", Port: 5, ClientID: "c", KeepSession: true, ReceiveMaximum: 3, TopicAliasMaximum: 2, MaximumPacketSize: 1000},
			// (The driver declines a Topic Alias Maximum; the program still passes it on.)
			[]string{`["Client", {"client_id": "c", "protocol": 5, "reconnect_on_failure": false}]`,
				`{"clean_start": false, "keepalive": 60, "properties": {"MaximumPacketSize": 1000, "ReceiveMaximum": 3, "SessionExpiryInterval": 300, "TopicAliasMaximum": 2}}`},
			[]string{"clean_session"}},
		{"5.0 clean start without properties", conformance.Action{Op: conformance.OpConnect, Version: codec.V5, Host: "h", Port: 5, EmptyClientID: true},
			[]string{`"client_id": ""`, `{"clean_start": true, "keepalive": 60}`}, []string{"properties"}},
		{"credentials", conformance.Action{Op: conformance.OpConnect, Version: codec.V311, Host: "h", Port: 5, ClientID: "c", Username: "user-ü", Password: []byte{0, 1}},
			[]string{`["username_pw_set", "user-\u00fc", "0001"]`}, nil},
		{"password without user name", conformance.Action{Op: conformance.OpConnect, Version: codec.V311, Host: "h", Port: 5, ClientID: "c", Password: []byte{}},
			[]string{`["username_pw_set", null, ""]`}, nil},
		{"will with 5.0 properties", conformance.Action{Op: conformance.OpConnect, Version: codec.V5, Host: "h", Port: 5, ClientID: "c",
			Will: &conformance.Will{Topic: "w/t", Payload: []byte("bye"), QoS: 2, Retain: true, Properties: &wp}},
			[]string{`["will_set", "w/t", "627965", 2, true, {"ContentType": "c", "UserProperty": [["k", "v"]], "WillDelayInterval": 9}]`}, nil},
		{"will on 3.1.1", conformance.Action{Op: conformance.OpConnect, Version: codec.V311, Host: "h", Port: 5, ClientID: "c", Will: &conformance.Will{Topic: "w"}},
			[]string{`["will_set", "w", "", 0, false, null]`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, p.python(), "-I", "-c", pahoPythonRecorder, script)
			cmd.Stdin = bytes.NewReader(argsStdin(tc.a))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			got := lines[len(lines)-1]
			if !json.Valid([]byte(got)) {
				t.Fatalf("not JSON: %s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("calls %s\nlack %s", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("calls %s\nhave %s", got, n)
				}
			}
		})
	}
}

func TestPahoPythonDeclines(t *testing.T) {
	p := &PahoPython{}
	var alias codec.Properties
	alias.SetTopicAlias(1)
	for _, tc := range []struct {
		name string
		a    conformance.Action
		why  string
	}{
		{"3.1", conformance.Action{Op: conformance.OpConnect, Version: codec.V31}, "3.1.1 and 5.0"},
		{"enhanced authentication", conformance.Action{Op: conformance.OpConnect, Version: codec.V5, AuthMethod: "m"}, "AUTH"},
		{"topic alias on a PUBLISH", conformance.Action{Op: conformance.OpPublish, Version: codec.V5, PublishProps: &alias}, "Topic Alias"},
		{"topic alias maximum", conformance.Action{Op: conformance.OpSubscribe, Version: codec.V5, TopicAliasMaximum: 1}, "Topic Aliases"},
		{"reconnect, session, unsubscribe, limits", conformance.Action{Op: conformance.OpSubscribe, Version: codec.V5, Reconnect: true, KeepSession: true,
			Unsubscribe: []string{"a"}, ReceiveMaximum: 1, MaximumPacketSize: 99, Count: 3}, ""},
		{"NUL in a topic", conformance.Action{Op: conformance.OpPublish, Version: codec.V311, Topic: "a\x00"}, ""},
	} {
		why := p.Why(tc.a)
		if got := p.Supports(tc.a); got != (tc.why == "") || !strings.Contains(why, tc.why) || (tc.why != "" && why == "") {
			t.Errorf("%s: Supports = %v, Why = %q; want a reason containing %q", tc.name, got, why, tc.why)
		}
	}
}

// TestPahoPythonMissing checks that a missing interpreter or module is a clear error naming the
// Debian package.
func TestPahoPythonMissing(t *testing.T) {
	for _, py := range []string{"/nonexistent/python3", "/bin/false"} {
		err := (&PahoPython{Python: py}).Available()
		if err == nil || !strings.Contains(err.Error(), "python3-paho-mqtt") {
			t.Errorf("%s: Available() = %v, want an error naming python3-paho-mqtt", py, err)
		}
	}
	if err := (&PahoC{Pub: "/nonexistent/paho_c_pub"}).Available(); err == nil || !strings.Contains(err.Error(), "paho.mqtt.c-examples") {
		t.Errorf("pahoc: Available() = %v, want an error naming paho.mqtt.c-examples", err)
	}
}
