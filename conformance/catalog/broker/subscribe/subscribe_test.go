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
	perSection := map[string]int{}
	for _, c := range cases {
		perSection[c.Section()]++
	}
	t.Logf("%d cases: %v", len(cases), perSection)
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

// deniedTopicCases are the selected cases that need a denied topic, or use one when the target
// names it.
func deniedTopicCases(t *testing.T) []conformance.Case {
	var cases []conformance.Case
	for _, c := range selected(t) {
		if slices.Contains(c.Requires, conformance.FeatureDeniedTopic) || strings.Contains(c.ID, "suback-within-maximum-packet-size") {
			cases = append(cases, c)
		}
	}
	return cases
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
	cases := deniedTopicCases(t)
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
	res := run(t, &conformance.Target{Name: "reference (ACL)", URL: "tcp://" + addr, DeniedTopic: "denied/topic"}, deniedTopicCases(t))
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

// faultCatches maps each reference-broker fault that breaks a behaviour of this area to the
// cases that must catch it: with the fault switched on, each listed case must fail on every
// version it runs on. An ID registered per version ("-v311", "-v5") stands for both twins.
var faultCatches = map[string][]string{
	"qos-not-downgraded": {"3.8/qos-downgraded-2-to-0", "3.8/qos-downgraded-2-to-1", "3.8/several-filters-all-active",
		"3.8/resubscribe-replaces-qos", "4.8/shared-one-member-per-message"},
	"suback-wrong-order":            {"3.8/several-filters-one-suback", "3.9/acl-denied-filter-in-order"},
	"dollar-topics-match-wildcards": {"4.7/dollar-topic-not-matched-by-plus", "4.7/dollar-topic-not-matched-by-hash"},
	"no-local-ignored":              {"3.8/no-local-not-echoed"},
	"receive-max-ignored": {"4.9/receive-maximum-respected", "4.9/receive-maximum-qos2-until-pubcomp",
		"4.9/other-packets-at-zero-quota"},
	"max-packet-size-ignored": {"4.13/oversized-publish-not-sent", "4.13/oversized-qos1-treated-as-sent"},
	"subscription-id-dropped": {"3.8/subscription-id-delivered", "3.8/subscription-id-maximum-value",
		"3.8/subscription-ids-overlapping", "3.8/subscription-ids-overlapping-one-without", "3.8/subscription-id-replaced",
		"3.8/subscription-id-on-retained", "3.8/subscription-id-kept-in-session"},
	"shared-sub-delivers-to-all": {"4.8/shared-one-member-per-message", "4.8/shared-refused-ack-not-redelivered",
		"4.8/shared-qos2-completed-to-same-member", "4.8/shared-qos2-not-rerouted-after-session-end"},
	"reserved-flags-accepted": {"3.8/flags-0000-closes", "3.8/flags-0011-closes", "3.10/flags-0000-closes", "3.10/flags-0011-closes"},
	"unsubscribe-no-unsuback": {"3.10/unsuback-carries-packet-id", "3.10/unsuback-when-nothing-matched",
		"3.11/no-subscription-existed-0x11", "3.10/several-filters-one-unsuback", "3.10/exact-match-only",
		"3.10/delivery-stops", "3.10/inflight-qos2-completed", "3.11/unsuback-within-maximum-packet-size"},
	"pingreq-ignored": {"4.9/other-packets-at-zero-quota"},
	"retained-not-sent-on-subscribe": {"3.8/resubscribe-resends-retained", "3.8/retain-handling-0-sends-retained",
		"3.8/retain-handling-1-new-subscription", "3.8/retain-handling-1-existing-subscription", "3.8/subscription-id-on-retained"},
	"retain-flag-always-set": {"3.8/live-retained-forwarded-with-retain-0"},
	"session-present-always-0": {"4.1/subscriptions-survive-reconnect", "4.1/queued-messages-delivered-on-reconnect",
		"4.1/session-kept-within-expiry", "4.1/session-expiry-max-does-not-expire", "4.1/disconnect-expiry-extends",
		"3.10/inflight-qos1-resent-after-unsubscribe"},
	"dup-on-first-delivery": {"4.1/queued-messages-delivered-on-reconnect", "3.8/several-filters-all-active",
		"4.9/receive-maximum-respected"},
	"no-dup-on-redelivery": {"3.10/inflight-qos1-resent-after-unsubscribe", "4.8/shared-qos2-completed-to-same-member"},
}

// TestFaultsCaught switches each fault on in the reference broker (with an ACL, so that the
// denied-topic cases run) and checks that the cases covering the broken behaviour fail.
func TestFaultsCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("starts one broker per fault")
	}
	byID := map[string]conformance.Case{}
	for _, c := range catalog.BrokerCases() {
		byID[c.ID] = c
	}
	acl := broker.ACL{
		{Topic: "mqttspec/#", Access: broker.AccessReadWrite},
		{Topic: "$mqttspec/#", Access: broker.AccessReadWrite},
	}
	for fault, ids := range faultCatches {
		t.Run(fault, func(t *testing.T) {
			var sel []conformance.Case
			for _, id := range ids {
				n := len(sel)
				for _, x := range []string{id, id + "-v311", id + "-v5"} {
					if c, ok := byID[x]; ok {
						sel = append(sel, c)
					}
				}
				if len(sel) == n {
					t.Fatalf("no case %s", id)
				}
			}
			addr := brokertest.Start(t, broker.Options{Faults: []string{fault}, ACL: acl})
			r := &conformance.Runner{Target: &conformance.Target{Name: "reference+" + fault, URL: "tcp://" + addr, DeniedTopic: "denied/topic"}, Parallel: 4}
			res, err := r.Run(context.Background(), sel)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Cases {
				if c.Status != reports.Fail {
					t.Errorf("fault %s not caught: %s [%s] ended %s: %s", fault, c.ID, c.Version, c.Status, c.Message)
				} else {
					t.Logf("caught by %s [%s]: %s", c.ID, c.Version, c.Message)
				}
			}
		})
	}
}
