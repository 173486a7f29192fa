package conformance_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reports"
)

// TestScheduleBaseline regenerates schedule_baseline.json from a run of the broker catalog
// against the reference broker when MQTTSPEC_UPDATE_SCHEDULE=1 (the file orders runs that have no
// history of their own). Without it, it checks that every long case of the embedded baseline
// still exists: a renamed timer case would silently lose its place at the front of a run.
func TestScheduleBaseline(t *testing.T) {
	if os.Getenv("MQTTSPEC_UPDATE_SCHEDULE") != "1" {
		known := map[string]bool{}
		for _, c := range catalog.BrokerCases() {
			for _, v := range c.Versions.List() {
				known[conformance.DurationKey(c.ID, v)] = true
			}
		}
		var stale []string
		for k, d := range conformance.Baseline() {
			if !known[k] && d >= time.Second {
				stale = append(stale, k)
			}
		}
		if len(stale) > 0 {
			t.Errorf("schedule_baseline.json names long case runs the catalog no longer has: %v; regenerate it with MQTTSPEC_UPDATE_SCHEDULE=1 go test ./conformance -run TestScheduleBaseline", stale)
		}
		return
	}
	tg, stop, err := embedded.Start(context.Background(), embedded.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := (&conformance.Runner{Target: tg}).Run(context.Background(), catalog.BrokerCases())
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Fail+res.Summary.Error > 0 {
		t.Fatalf("the reference broker did not pass the catalog (%+v): its durations would mislead", res.Summary)
	}
	for _, c := range res.Cases {
		if c.Status == reports.Warn {
			t.Fatalf("%s [%s] warned on the reference broker", c.ID, c.Version)
		}
	}
	if err := os.WriteFile("schedule_baseline.json", conformance.BaselineJSON(conformance.ExpectedDurations(res)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("schedule_baseline.json written from a run of %.1fs", res.DurationMs/1000)
}
