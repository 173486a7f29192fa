package subscribe_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker/subscribe"
	"github.com/mqttspec/mqttspec/internal/mosquittotest"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reports"
)

// Only this area's cases are registered in this test binary (the other areas are not imported).

// selected returns the area's cases, narrowed by MQTTSPEC_CASES (comma-separated ID prefixes or
// globs) when set, for quick runs while developing a case.
func selected(t *testing.T) []conformance.Case {
	t.Helper()
	var globs []string
	if s := os.Getenv("MQTTSPEC_CASES"); s != "" {
		globs = strings.Split(s, ",")
	}
	cases, err := conformance.Select(catalog.BrokerCases(), globs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestCatalogRegistered(t *testing.T) {
	cases := catalog.BrokerCases()
	if len(cases) < 60 {
		t.Fatalf("%d cases registered, want at least 60", len(cases))
	}
	for _, c := range cases {
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
		// Every cited ID must exist in a version the case runs on: a citation that counts
		// nowhere is a typo.
		for _, id := range c.Statements {
			found := false
			for _, v := range c.Versions.List() {
				if v.String() != "3.1" && contains(c.StatementsFor(v), id) {
					found = true
				}
			}
			if !found {
				t.Errorf("case %s cites %s, which exists in none of its versions", c.ID, id)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// run runs cases against target and logs every result that is not a pass (with its transcript
// when -v is given); it does not assert that the target passes.
func run(t *testing.T, target *conformance.Target, cases []conformance.Case) *reports.Results {
	t.Helper()
	r := &conformance.Runner{Target: target, Parallel: 4}
	res, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		all := os.Getenv("MQTTSPEC_TRANSCRIPTS") == "all"
		if (c.Status == reports.Pass || c.Status == reports.Skip) && !all {
			continue
		}
		t.Logf("%s [%s] %s: %s", c.Status, c.Version, c.ID, c.Message)
		if testing.Verbose() && os.Getenv("MQTTSPEC_TRANSCRIPTS") != "" {
			for _, e := range c.Transcript {
				t.Logf("    %8.1fms %-5s %-6s %s", e.TMs, e.Conn, e.Dir, e.Packet)
			}
		}
	}
	t.Logf("summary %+v", res.Summary)
	return res
}

// TestAgainstMosquitto runs the area's cases against a real mosquitto. mosquitto 2.0.11 is not
// spec-exact everywhere; its deviations are logged here and documented by the catalog's owners.
func TestAgainstMosquitto(t *testing.T) {
	m := mosquittotest.Start(t)
	run(t, &conformance.Target{Name: "mosquitto " + m.Version, URL: "tcp://" + m.Addr}, selected(t))
}

// TestAgainstMosquittoACL runs the cases that need an ACL-denied topic against a mosquitto whose
// ACL lets anonymous clients use everything under mqttspec/ but nothing under denied/.
func TestAgainstMosquittoACL(t *testing.T) {
	if mosquittotest.Binary() == "" {
		t.Skip("mosquitto is not installed")
	}
	// mosquitto started as root reads the ACL after dropping to its own user, which cannot
	// enter t.TempDir() (mode 0700): use a world-readable directory.
	dir, err := os.MkdirTemp("", "mqttspec-acl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte("topic readwrite mqttspec/#\ntopic readwrite $mqttspec/#\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := mosquittotest.Start(t, "acl_file "+acl)
	var cases []conformance.Case
	for _, c := range selected(t) {
		for _, f := range c.Requires {
			if f == conformance.FeatureDeniedTopic {
				cases = append(cases, c)
			}
		}
	}
	if len(cases) == 0 {
		t.Skip("no selected case needs a denied topic")
	}
	res := run(t, &conformance.Target{Name: "mosquitto " + m.Version + " (ACL)", URL: "tcp://" + m.Addr, DeniedTopic: "denied/topic"}, cases)
	for _, c := range res.Cases {
		if c.Status == reports.Skip {
			t.Errorf("%s [%s] skipped against a target with a denied topic: %s", c.ID, c.Version, c.Message)
		}
	}
}

// mustPass fails the test for every case that failed or could not run.
func mustPass(t *testing.T, res *reports.Results) {
	t.Helper()
	for _, c := range res.Cases {
		if c.Status == reports.Fail || c.Status == reports.Error {
			t.Errorf("%s [%s] %s: %s", c.Status, c.Version, c.ID, c.Message)
		}
	}
}

// TestAgainstReference runs the area against the reference broker, which follows the
// specification exactly: every case must pass, or skip for a feature the broker lacks.
func TestAgainstReference(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	mustPass(t, run(t, &conformance.Target{Name: "reference", URL: "tcp://" + addr}, selected(t)))
}

// TestAgainstReferenceACL runs the cases that need a denied topic against a reference broker
// whose ACL allows this suite's topics only.
func TestAgainstReferenceACL(t *testing.T) {
	acl := broker.ACL{
		{Topic: "mqttspec/#", Access: broker.AccessReadWrite},
		{Topic: "$mqttspec/#", Access: broker.AccessReadWrite},
	}
	addr := brokertest.Start(t, broker.Options{ACL: acl})
	var cases []conformance.Case
	for _, c := range selected(t) {
		if slices.Contains(c.Requires, conformance.FeatureDeniedTopic) || strings.Contains(c.ID, "within-maximum-packet-size") {
			cases = append(cases, c)
		}
	}
	res := run(t, &conformance.Target{Name: "reference (ACL)", URL: "tcp://" + addr, DeniedTopic: "denied/topic"}, cases)
	mustPass(t, res)
	for _, c := range res.Cases {
		if c.Status == reports.Skip {
			t.Errorf("%s [%s] skipped against a target with a denied topic: %s", c.ID, c.Version, c.Message)
		}
	}
}

// TestAgainstReferenceWithoutFeatures runs the cases for servers that lack wildcard
// subscriptions, Subscription Identifiers or shared subscriptions against a reference broker with
// all three switched off: they must run (not skip) and pass.
func TestAgainstReferenceWithoutFeatures(t *testing.T) {
	off := broker.Ptr(false)
	addr := brokertest.Start(t, broker.Options{WildcardAvailable: off, SubIDAvailable: off, SharedAvailable: off})
	var cases []conformance.Case
	for _, c := range selected(t) {
		if strings.Contains(c.ID, "unsupported-refused") {
			cases = append(cases, c)
		}
	}
	res := run(t, &conformance.Target{Name: "reference (no optional features)", URL: "tcp://" + addr,
		Disable: []conformance.Feature{conformance.FeatureWildcard}}, cases)
	mustPass(t, res)
	for _, c := range res.Cases {
		if c.Status == reports.Skip {
			t.Errorf("%s [%s] skipped against a target without the feature: %s", c.ID, c.Version, c.Message)
		}
	}
}
