package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// TestRequireNodes: a cluster case skips, with the reason, when the target has too few nodes or
// a node lacks the version or a feature; ClusterQoS is the smallest maximum of the nodes.
func TestRequireNodes(t *testing.T) {
	full := func() *Capabilities {
		return &Capabilities{V311: true, V5: true, MaximumQoS: 2, Missing: map[Feature]string{}}
	}
	only311 := full()
	only311.V5 = false
	qos1 := full()
	qos1.MaximumQoS = 1
	qos1.Missing[FeatureQoS2] = "CONNACK Maximum QoS is 1"
	for _, tc := range []struct {
		name    string
		nodes   []*Capabilities
		version codec.Version
		skip    string // "" = runs
		qos     byte
	}{
		{"one node", nil, codec.V5, "the target has 1 node(s); cluster cases need at least 2", 0},
		{"two nodes", []*Capabilities{full()}, codec.V5, "", 2},
		{"node B without 5.0", []*Capabilities{only311}, codec.V5, "node B (tcp://127.0.0.1:2) does not accept MQTT 5.0", 0},
		{"node B without 5.0, on 3.1.1", []*Capabilities{only311}, codec.V311, "", 2},
		{"node B at QoS 1", []*Capabilities{qos1}, codec.V311, "node B lacks qos2: CONNACK Maximum QoS is 1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := &Target{Name: "a", URL: "tcp://127.0.0.1:1"}
			for range tc.nodes {
				tg.Nodes = append(tg.Nodes, &Target{Name: "b", URL: "tcp://127.0.0.1:2"})
			}
			caps := full()
			caps.Nodes = tc.nodes
			var qos byte
			var summary string
			c := &Case{ID: "cluster/x", Title: "x", Statements: []string{"MQTT-4.5.0-1"}, Versions: Both, Level: Must, Run: func(t *T) {
				if tc.name == "node B at QoS 1" {
					t.RequireNodes(2, FeatureQoS2)
				}
				t.RequireNodes(2)
				qos = t.ClusterQoS(2)
				t.Effect("delivery", 3*time.Millisecond)
				t.Effect("delivery", time.Millisecond)
				t.Effect("takeover", 20*time.Millisecond)
				t.mu.Lock()
				summary = t.effectSummary()
				t.mu.Unlock()
			}}
			// A skip needs no broker. A run that gets through is then probed for liveness, which
			// fails on these unused ports, so its message is the probe's: the summary it would have
			// carried is taken inside the run.
			res := RunCase(context.Background(), tg, caps, c, tc.version, Timeouts{Step: 100 * time.Millisecond}, "runid0123")
			if tc.skip != "" {
				if res.Status != reports.Skip || !strings.Contains(res.Message, tc.skip) {
					t.Fatalf("%s %q, want a skip with %q", res.Status, res.Message, tc.skip)
				}
				return
			}
			if qos != tc.qos {
				t.Errorf("ClusterQoS(2) = %d, want %d", qos, tc.qos)
			}
			if want := "cross-node delays within settle window 1s: delivery median 2.0ms max 3.0ms (n=2); takeover median 20.0ms max 20.0ms (n=1)"; summary != want {
				t.Errorf("summary %q, want %q", summary, want)
			}
			notes := 0
			for _, e := range res.Transcript {
				if strings.HasPrefix(e.Packet, EffectNote) {
					notes++
				}
			}
			if notes != 3 {
				t.Errorf("%d effect notes in the transcript, want 3", notes)
			}
		})
	}
}
