package conformance

import (
	"slices"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance/spec"
	"github.com/mqttspec/mqttspec/reports"
)

// TestCoverageCountsVerdictsOnly runs Coverage over made-up results: a statement counts only
// through a case that reached a verdict (a warn only from a SHOULD/MAY case), proven only when
// that case is one a fault proof maps, and skipped statements keep their cases' reasons.
func TestCoverageCountsVerdictsOnly(t *testing.T) {
	// The client side has no catalog in this package's tests, so these are its only proofs.
	spec.RegisterProofs(spec.Client, spec.Proof{Fault: "coverage-test-fault",
		Statements: []string{"MQTT-3.1.0-1", "MQTT-3.3.1-1", "3.1.1:MQTT-3.1.0-1"}, Cases: []string{"t/proven@5.0", "t/failing"}})
	res := func(id, level string, st reports.Status, msg string, ids ...string) reports.Case {
		return reports.Case{ID: id, Version: "5.0", Level: level, Status: st, Message: msg, Statements: ids}
	}
	cases := []reports.Case{
		res("t/proven", "MUST", reports.Pass, "", "MQTT-3.1.0-1"),             // proven: mapped, ran, the fault breaks it
		res("t/failing", "MUST", reports.Fail, "wrong", "MQTT-3.3.1-1"),       // a fail is a verdict too
		res("t/unmapped", "MUST", reports.Pass, "", "MQTT-3.1.2-9"),           // ran, no proof
		res("t/should-warn", "SHOULD", reports.Warn, "late", "MQTT-3.1.2-11"), // a SHOULD warn is a verdict
		res("t/must-warn", "MUST", reports.Warn, "odd", "MQTT-3.1.2-13"),      // a MUST warn is not
		res("t/skipped", "MUST", reports.Skip, "needs --auth-method", "MQTT-4.12.0-5"),
		res("t/skipped-too", "MUST", reports.Skip, "needs --auth-method", "MQTT-4.12.0-5"),
		res("t/skipped-other", "MUST", reports.Skip, "target lacks retain", "MQTT-4.12.0-5"),
		res("t/errored", "MUST", reports.Error, "connection refused", "MQTT-3.1.2-16"),
		{ID: "t/proven", Version: "3.1.1", Level: "MUST", Status: reports.Pass, Statements: []string{"MQTT-3.1.0-1"}}, // mapped on 5.0 only
	}
	cov := Coverage(cases, []codec.Version{codec.V311, codec.V5}, RoleClient)
	v5, v311 := cov[spec.V5], cov[spec.V311]
	if v5.Tested != 4 || v5.Proven != 2 {
		t.Errorf("5.0: tested %d proven %d, want 4 (proven, failing, unmapped, should-warn) and 2 (proven, failing)", v5.Tested, v5.Proven)
	}
	for _, id := range []string{"MQTT-3.1.2-13", "MQTT-4.12.0-5", "MQTT-3.1.2-16"} {
		if !slices.Contains(v5.Missing, id) {
			t.Errorf("5.0: %s counted; missing %v", id, v5.Missing)
		}
	}
	want := []reports.StatementSkip{{ID: "MQTT-4.12.0-5", Reasons: []string{"needs --auth-method", "target lacks retain"}}}
	if !slices.EqualFunc(v5.Skips, want, func(a, b reports.StatementSkip) bool { return a.ID == b.ID && slices.Equal(a.Reasons, b.Reasons) }) {
		t.Errorf("5.0 skips %+v, want %+v", v5.Skips, want)
	}
	if v311.Tested != 1 || v311.Proven != 0 {
		t.Errorf("3.1.1: tested %d proven %d, want 1 and 0 (the proof maps the case on 5.0 only)", v311.Tested, v311.Proven)
	}
	if _, ok := spec.Lookup(spec.V5, "MQTT-4.12.0-5"); !ok {
		t.Fatal("test statement MQTT-4.12.0-5 is not in the registry")
	}
}
