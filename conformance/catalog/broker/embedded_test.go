package broker_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reference/broker"
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
	t.Logf("embedded: %+v in %.1fs; coverage %+v", res.Summary, res.DurationMs/1000, res.Coverage)
}

// TestFaultsAreCaught is mutation testing of the catalog: the reference broker is switched into
// each of its deliberate, realistic bugs in turn, and at least one case citing a statement the
// bug breaks must fail. A fault no case catches means the catalog does not check what it claims.
func TestFaultsAreCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("mutation run skipped in -short mode")
	}
	all := catalog.BrokerCases()
	for _, f := range broker.Faults {
		t.Run(f.Name, func(t *testing.T) {
			var ids []string
			for _, s := range f.Statements {
				ids = append(ids, strings.TrimPrefix(s, "3.1.1:"))
			}
			var cases []conformance.Case
			for _, c := range all {
				// A fault of a rule the specification numbers no statement for cites its
				// section ("§4.8.2"): every case of that section is a candidate.
				bySection := slices.ContainsFunc(ids, func(id string) bool {
					sec, ok := strings.CutPrefix(id, "§")
					return ok && (strings.HasPrefix(sec+".", c.Section()+".") || strings.HasPrefix(c.Section()+".", sec+"."))
				})
				if bySection || slices.ContainsFunc(ids, c.Cites) {
					cases = append(cases, c)
				}
			}
			if len(cases) == 0 {
				t.Fatalf("no case cites any of %v", ids)
			}
			o := embedded.Options()
			o.Faults = []string{f.Name}
			res := runEmbedded(t, o, cases)
			var caught []string
			for _, c := range res.Cases {
				if c.Status == reports.Fail {
					caught = append(caught, c.ID+"@"+c.Version)
				}
			}
			if len(caught) == 0 {
				t.Errorf("fault %q (%s) is caught by none of the %d cases citing %v", f.Name, f.Summary, len(cases), ids)
			} else {
				t.Logf("caught by %d case runs: %s", len(caught), strings.Join(caught, ", "))
			}
		})
	}
}
