package broker_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reports"
)

// clusterCases are the cases of section "cluster".
func clusterCases(t *testing.T) []conformance.Case {
	t.Helper()
	return selectCases(t, func(c conformance.Case) bool { return c.Section() == "cluster" })
}

// startReference starts an independent reference broker and returns its target.
func startReference(t *testing.T) (*conformance.Target, func()) {
	t.Helper()
	tg, stop, err := embedded.Start(context.Background(), embedded.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return tg, stop
}

// nodeOf returns a copy of tg at url, as --node builds one: the same credentials and settings.
func nodeOf(tg *conformance.Target, url string) *conformance.Target {
	n := *tg
	n.Name, n.URL, n.WebSocketURL, n.Nodes = url, url, "", nil
	return &n
}

// TestClusterCasesOnOneNode: against a single target (the default catalog run) every cluster
// case skips, and says why.
func TestClusterCasesOnOneNode(t *testing.T) {
	cases := clusterCases(t)
	if len(cases) < 14 {
		t.Fatalf("%d cluster cases; the section has at least 14", len(cases))
	}
	tg, _ := startReference(t)
	res := runOn(t, tg, cases)
	for _, c := range res.Cases {
		if c.Status != reports.Skip || !strings.Contains(c.Message, "--node") {
			t.Errorf("%s [%s] on one node: %s %q, want a skip naming --node", c.ID, c.Version, c.Status, c.Message)
		}
	}
}

// TestClusterCasesFailOnIndependentBrokers proves the cluster cases can fail: two reference
// brokers that know nothing of each other, given as the two nodes of one cluster, share no
// subscription, session, retained message or will, so every case — each needs something done on
// one node to show on the other — fails (none skips, none errors).
func TestClusterCasesFailOnIndependentBrokers(t *testing.T) {
	a, _ := startReference(t)
	b, _ := startReference(t)
	a.Nodes = []*conformance.Target{nodeOf(a, b.URL)}
	r := &conformance.Runner{Target: a, Parallel: 8, Timeouts: conformance.Timeouts{Step: time.Second, Settle: 200 * time.Millisecond}}
	res, err := r.Run(context.Background(), clusterCases(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		t.Logf("%s [%s] %s: %s", c.ID, c.Version, c.Status, c.Message)
		if c.Status != reports.Fail {
			t.Errorf("%s [%s] against independent brokers: %s %q, want fail", c.ID, c.Version, c.Status, c.Message)
		}
	}
	if res.Target.Info["nodes"] == "" || res.Target.Info["settle_window"] != "200ms" {
		t.Errorf("the report does not name the nodes and the settle window: %v", res.Target.Info)
	}
	t.Logf("independent brokers: %+v", res.Summary)
}

// TestClusterCasesPassOnOneBrokerTwice: node B is the same broker as node A at the same
// address, the degenerate cluster in which everything is shared at once. Every case passes, so
// the cases' failures above are about the nodes, and each passing case reports the delays it
// measured.
func TestClusterCasesPassOnOneBrokerTwice(t *testing.T) {
	a, _ := startReference(t)
	a.Nodes = []*conformance.Target{nodeOf(a, a.URL)}
	r := &conformance.Runner{Target: a, Parallel: 6, Timeouts: conformance.Timeouts{Step: 2 * time.Second}}
	res, err := r.Run(context.Background(), clusterCases(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		if c.Status != reports.Pass {
			t.Errorf("%s [%s]: %s %q", c.ID, c.Version, c.Status, c.Message)
			continue
		}
		if !strings.Contains(c.Message, "cross-node delays within settle window 1s") {
			t.Errorf("%s [%s] passed without reporting its delays: %q", c.ID, c.Version, c.Message)
		}
		noted := false
		for _, e := range c.Transcript {
			noted = noted || strings.HasPrefix(e.Packet, conformance.EffectNote)
		}
		if !noted {
			t.Errorf("%s [%s]: no %q note in the transcript", c.ID, c.Version, conformance.EffectNote)
		}
	}
}

// TestClusterNodeDiesMidRun: node B stops after the first case; every later case ends as an
// error naming node B, promptly (no case waits for a node that is gone).
func TestClusterNodeDiesMidRun(t *testing.T) {
	a, _ := startReference(t)
	b, stopB := startReference(t)
	a.Nodes = []*conformance.Target{nodeOf(a, b.URL)}
	var mu sync.Mutex
	var after []reports.Case
	killed := false
	r := &conformance.Runner{Target: a, Parallel: 1, Timeouts: conformance.Timeouts{Step: time.Second, Settle: 200 * time.Millisecond},
		Progress: func(c reports.Case) {
			mu.Lock()
			defer mu.Unlock()
			if killed {
				after = append(after, c)
				return
			}
			killed = true
			stopB()
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	cases := clusterCases(t)
	res, err := r.Run(ctx, cases)
	if err != nil {
		t.Fatal(err)
	}
	if res.Incomplete || ctx.Err() != nil {
		t.Fatalf("the run did not finish by itself after node B died (%v)", time.Since(start))
	}
	if len(after) < len(res.Cases)-1 {
		t.Fatalf("%d results after the kill, want %d", len(after), len(res.Cases)-1)
	}
	for _, c := range after {
		if c.Status != reports.Error || !strings.Contains(c.Message, "node B ("+b.URL+")") {
			t.Errorf("%s [%s] after node B died: %s %q, want an error naming node B", c.ID, c.Version, c.Status, c.Message)
		}
		if c.DurationMs > 5000 {
			t.Errorf("%s [%s] took %.0fms after node B died", c.ID, c.Version, c.DurationMs)
		}
	}
	t.Logf("%d cases after the kill in %v", len(after), time.Since(start))
}

// TestClusterNodeUnreachableAtStart: a node that cannot be discovered ends the run before any
// case, naming the node.
func TestClusterNodeUnreachableAtStart(t *testing.T) {
	a, _ := startReference(t)
	b, stopB := startReference(t)
	stopB()
	a.Nodes = []*conformance.Target{nodeOf(a, b.URL)}
	r := &conformance.Runner{Target: a, Timeouts: conformance.Timeouts{Step: time.Second}}
	_, err := r.Run(context.Background(), clusterCases(t))
	if err == nil || !strings.Contains(err.Error(), "node B ("+b.URL+")") {
		t.Fatalf("run with a dead node B: %v, want an error naming node B", err)
	}
}
