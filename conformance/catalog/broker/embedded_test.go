package broker_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reference/broker/scram"
	"github.com/mqttspec/mqttspec/reports"
)

func runEmbedded(t *testing.T, o broker.Options, cases []conformance.Case) *reports.Results {
	t.Helper()
	tg, stop, err := embedded.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	r := &conformance.Runner{Target: tg, Parallel: 6, Timeouts: conformance.Timeouts{Step: 2 * time.Second}}
	res, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestEmbeddedPassesEverything is the suite's own acceptance test: the reference broker follows
// the specification to the letter, so every case must pass on it (skips only for features the
// embedded target does not configure, such as credentials). A failure here is a bug in the
// broker or in the case, and is fixed, not skipped.
func TestEmbeddedPassesEverything(t *testing.T) {
	res := runEmbedded(t, embedded.Options(), catalog.BrokerCases())
	for _, c := range res.Cases {
		switch c.Status {
		case reports.Fail, reports.Error:
			t.Errorf("%s [%s] %s: %s", c.Status, c.Version, c.ID, c.Message)
		case reports.Warn:
			t.Errorf("warn [%s] %s: the reference broker should meet every SHOULD: %s", c.Version, c.ID, c.Message)
		}
	}
	noMustWarning(t, "reference broker", res)
	t.Logf("embedded: %+v in %.1fs; coverage %+v", res.Summary, res.DurationMs/1000, res.Coverage)
}

// selectCases returns the catalog's cases for which keep returns true, narrowed further by
// MQTTSPEC_CASES (comma-separated ID globs or prefixes) when set, for quick runs while developing
// a case.
func selectCases(t *testing.T, keep func(conformance.Case) bool) []conformance.Case {
	t.Helper()
	var globs []string
	if s := os.Getenv("MQTTSPEC_CASES"); s != "" {
		globs = strings.Split(s, ",")
	}
	cases, err := conformance.Select(catalog.BrokerCases(), globs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []conformance.Case
	for _, c := range cases {
		if keep == nil || keep(c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatal("no case selected")
	}
	return out
}

// runOn runs cases against tg and logs every result that is not a pass (with its transcript
// when MQTTSPEC_TRANSCRIPT is set); it asserts nothing about the verdicts.
func runOn(t *testing.T, tg *conformance.Target, cases []conformance.Case) *reports.Results {
	t.Helper()
	r := &conformance.Runner{Target: tg, Parallel: 4}
	res, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		if c.Status == reports.Pass {
			continue
		}
		t.Logf("%s [%s] %s: %s", c.Status, c.Version, c.ID, c.Message)
		if os.Getenv("MQTTSPEC_TRANSCRIPT") != "" && c.Status != reports.Skip {
			for _, e := range c.Transcript {
				t.Logf("    %8.1fms %-8s %-4s %s %s", e.TMs, e.Conn, e.Dir, e.Packet, e.Hex)
			}
		}
	}
	t.Logf("summary %+v", res.Summary)
	return res
}

// allRan fails the test for every case that did not pass (want "pass") or that skipped (want
// "run": the target was configured for it).
func allRan(t *testing.T, res *reports.Results, mustPass bool) {
	t.Helper()
	for _, c := range res.Cases {
		switch {
		case c.Status == reports.Skip:
			t.Errorf("%s [%s] skipped against a target configured for it: %s", c.ID, c.Version, c.Message)
		case c.Status == reports.Error, mustPass && c.Status != reports.Pass:
			t.Errorf("%s [%s] %s: %s", c.ID, c.Version, c.Status, c.Message)
		}
	}
}

func requiresAny(fs ...conformance.Feature) func(conformance.Case) bool {
	return func(c conformance.Case) bool {
		return slices.ContainsFunc(fs, func(f conformance.Feature) bool { return slices.Contains(c.Requires, f) })
	}
}

// TestEmbeddedWithAuth runs the cases that need credentials or enhanced authentication against
// a reference broker with a user table and SCRAM-SHA-256: all must run and pass.
func TestEmbeddedWithAuth(t *testing.T) {
	users := map[string]string{"mqttspec": "right-password"}
	method, err := broker.SCRAMSHA256(users)
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, broker.Options{Users: users, AuthMethods: map[string]broker.AuthMethod{"SCRAM-SHA-256": method}})
	// One SCRAM client serves every exchange: its client-first message (and nonce) is fixed, so
	// the answer to a server-first message depends on nothing else. Final records the last
	// exchange in the client, hence the lock.
	cl := &scram.Client{User: "mqttspec", Password: "right-password"}
	var mu sync.Mutex
	tg := &conformance.Target{Name: "reference (auth)", URL: "tcp://" + addr,
		Username: "mqttspec", Password: "right-password", BadPassword: "wrong-password",
		AuthMethod: "SCRAM-SHA-256", AuthInitial: cl.First(),
		AuthStep: func(challenge []byte) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			return cl.Final(challenge)
		}}
	res := runOn(t, tg, selectCases(t, requiresAny(conformance.FeatureCredentials, conformance.FeatureEnhancedAuth)))
	allRan(t, res, true)
}

// aclCases are the cases that need a denied topic, or use one when the target names it.
func aclCases(c conformance.Case) bool {
	return slices.Contains(c.Requires, conformance.FeatureDeniedTopic)
}

// TestEmbeddedWithACL runs the cases that need a denied topic against a reference broker whose
// ACL allows this suite's topics only: all must run and pass.
func TestEmbeddedWithACL(t *testing.T) {
	acl := broker.ACL{
		{Topic: "mqttspec/#", Access: broker.AccessReadWrite},
		{Topic: "$mqttspec/#", Access: broker.AccessReadWrite},
	}
	addr := brokertest.Start(t, broker.Options{ACL: acl})
	res := runOn(t, &conformance.Target{Name: "reference (ACL)", URL: "tcp://" + addr, DeniedTopic: "denied/topic"}, selectCases(t, aclCases))
	allRan(t, res, true)
}

// TestEmbeddedWithoutFeatures runs the cases for servers that lack wildcard subscriptions,
// Subscription Identifiers or shared subscriptions against a reference broker with all three
// switched off: they must run (not skip) and pass.
func TestEmbeddedWithoutFeatures(t *testing.T) {
	off := broker.Ptr(false)
	addr := brokertest.Start(t, broker.Options{WildcardAvailable: off, SubIDAvailable: off, SharedAvailable: off})
	cases := selectCases(t, func(c conformance.Case) bool { return strings.Contains(c.ID, "unsupported-refused") })
	res := runOn(t, &conformance.Target{Name: "reference (no optional features)", URL: "tcp://" + addr,
		Disable: []conformance.Feature{conformance.FeatureWildcard}}, cases)
	allRan(t, res, true)
}
