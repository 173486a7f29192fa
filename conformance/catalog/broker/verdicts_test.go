package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reports"
)

// noMustWarning fails the test for every MUST case that ended as warn, or as error because it
// recorded a warning (conformance.MustWarningDefect): a MUST verdict is pass or fail, whatever
// the target does. TestEmbeddedPassesEverything and TestAgainstMosquitto call it on their full
// catalog runs, so the rule is checked against the reference broker and a real broker without
// running the catalog twice.
func noMustWarning(t *testing.T, target string, res *reports.Results) {
	t.Helper()
	for _, c := range res.Cases {
		if c.Level != conformance.Must.String() {
			continue
		}
		if c.Status == reports.Warn || (c.Status == reports.Error && strings.HasPrefix(c.Message, conformance.MustWarningDefect)) {
			t.Errorf("%s: MUST case %s [%s] ended as %s: %s", target, c.ID, c.Version, c.Status, c.Message)
		}
	}
}

// TestDisabledFeaturesLowerAssumptions runs the whole catalog against the reference broker (which
// supports everything) with features disabled in the descriptor, as `--disable` does for a
// broker that lacks them (qos2: a broker that grants at most QoS 1): the cases must then assume
// the lowered values everywhere (Maximum QoS 1, no retained messages, …), so nothing may fail,
// warn or error — a failure here is a case that still relies on a disabled feature.
func TestDisabledFeaturesLowerAssumptions(t *testing.T) {
	tests := []struct {
		name    string
		disable []conformance.Feature
	}{
		{"qos2", []conformance.Feature{conformance.FeatureQoS2}},
		{"qos1", []conformance.Feature{conformance.FeatureQoS1}},
		{"optional features", []conformance.Feature{conformance.FeatureRetain, conformance.FeatureWildcard,
			conformance.FeatureShared, conformance.FeatureSubID, conformance.FeatureTopicAlias}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg, stop, err := embedded.Start(context.Background(), embedded.Options())
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			tg.Disable = append(tg.Disable, tc.disable...)
			r := &conformance.Runner{Target: tg, Parallel: 6, Timeouts: conformance.Timeouts{Step: 2 * time.Second}}
			res, err := r.Run(context.Background(), catalog.BrokerCases())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Cases {
				if c.Status == reports.Fail || c.Status == reports.Error || c.Status == reports.Warn {
					t.Errorf("%s [%s] %s with %v disabled: %s", c.Status, c.Version, c.ID, tc.disable, c.Message)
				}
			}
			t.Logf("%v disabled: %+v", tc.disable, res.Summary)
		})
	}
}

// TestDeniedTopicNotEnforcedFails runs the unauthorized-PUBLISH case against a reference broker
// without any ACL but with a denied topic named in the descriptor: the broker delivers the
// PUBLISH to the watcher, so the case must fail (it used to pass, checking only the PUBACK).
func TestDeniedTopicNotEnforcedFails(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	tg := &conformance.Target{Name: "reference (no ACL)", URL: "tcp://" + addr, DeniedTopic: "denied/topic"}
	res := runOn(t, tg, selectCases(t, func(c conformance.Case) bool { return c.ID == "3.3/unauthorized-publish-acknowledged-or-closed" }))
	if len(res.Cases) == 0 {
		t.Fatal("the case did not run")
	}
	for _, c := range res.Cases {
		if c.Status != reports.Fail {
			t.Errorf("%s [%s] is %s against a broker that ignores the denied topic, want fail: %s", c.ID, c.Version, c.Status, c.Message)
		}
	}
}
