package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reports"
)

// TestNodeFlagsRejected: --node and --settle values that cannot work end with one line and
// exit 2 before anything starts.
func TestNodeFlagsRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"node with the embedded target", []string{"--node", "tcp://127.0.0.1:1884"}, "--node needs a --target URL"},
		{"node with a path", []string{"--target", "tcp://127.0.0.1:1883", "--node", "tcp://127.0.0.1:1884/x"}, "a tcp:// URL is host:port only"},
		{"node without a host", []string{"--target", "tcp://127.0.0.1:1883", "--node", "tcp://"}, "no host:port"},
		{"node with an unknown scheme", []string{"--target", "tcp://127.0.0.1:1883", "--node", "http://127.0.0.1:1884"}, "scheme must be tcp, tls, ws or wss"},
		{"negative settle", []string{"--target", "tcp://127.0.0.1:1883", "--settle", "-1s"}, "--settle -1s is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCLI(t, append([]string{"test", "broker"}, tc.args...)...)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit 2 and one line with %q", code, out, tc.want)
			}
		})
	}
}

// TestNodeFlagRuns: --node and --settle reach the run — the report names the nodes and the
// settle window, and a cluster case (node B is the same broker at the same address here) passes
// with its measured delays in the message.
func TestNodeFlagRuns(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	code, out := runCLI(t, "test", "broker", "--target", "tcp://"+addr, "--node", "tcp://"+addr, "--settle", "250ms",
		"--case", "cluster/qos0-delivered-across-nodes", "--version", "5", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	var res reports.Results
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := res.Target.Info["nodes"]; got != "A=tcp://"+addr+" B=tcp://"+addr {
		t.Errorf("nodes = %q", got)
	}
	if got := res.Target.Info["settle_window"]; got != "250ms" {
		t.Errorf("settle_window = %q, want 250ms", got)
	}
	if len(res.Cases) != 1 || res.Cases[0].Status != reports.Pass || !strings.Contains(res.Cases[0].Message, "delivery median") {
		t.Errorf("cases: %+v", res.Cases)
	}
}
