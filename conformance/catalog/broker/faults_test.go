package broker_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	brokercat "github.com/mqttspec/mqttspec/conformance/catalog/broker"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reports"
)

// faultCatches is the fault → cases table of proofs.go (brokercat.FaultCases), which coverage
// reads: with the fault switched on, each listed case fails on every version it runs on, or on
// the one version an "ID@3.1.1" / "ID@5.0" entry names.
var faultCatches = brokercat.FaultCases

// catch is one faultCatches entry: a case, and the version it must fail on ("" = every version
// it runs on).
type catch struct {
	id, version string
}

func parseCatch(entry string) catch {
	id, version, _ := strings.Cut(entry, "@")
	return catch{id, version}
}

// checkFaultCatches checks the map itself: every fault has an entry, every entry names a fault,
// and every ID names a case of the catalog that runs on the version the entry requires.
func checkFaultCatches(t *testing.T, byID map[string]conformance.Case) {
	t.Helper()
	known := map[string]bool{}
	for _, f := range broker.Faults {
		known[f.Name] = true
		if len(faultCatches[f.Name]) == 0 {
			t.Errorf("fault %q (%s) has no case in faultCatches", f.Name, f.Summary)
		}
	}
	for name, entries := range faultCatches {
		if !known[name] {
			t.Errorf("faultCatches names %q, which is not a fault of the reference broker", name)
		}
		for _, e := range entries {
			if err := checkCatch(byID, parseCatch(e)); err != "" {
				t.Errorf("faultCatches[%q]: %s", name, err)
			}
		}
	}
}

func casesByID() map[string]conformance.Case {
	byID := map[string]conformance.Case{}
	for _, c := range catalog.BrokerCases() {
		byID[c.ID] = c
	}
	return byID
}

// checkCatch returns what is wrong with an entry, or "".
func checkCatch(byID map[string]conformance.Case, k catch) string {
	c, ok := byID[k.id]
	switch {
	case !ok:
		return "no case " + k.id
	case k.version == "":
		return ""
	case k.version != "3.1.1" && k.version != "5.0":
		return k.id + "@" + k.version + ": the version is 3.1.1 or 5.0"
	case !c.Versions.Has(versionOf(k.version)):
		return k.id + " does not run on " + k.version
	}
	return ""
}

func versionOf(s string) codec.Version {
	if s == "5.0" {
		return codec.V5
	}
	return codec.V311
}

// TestFaultsAreCaught is mutation testing of the catalog: the reference broker is switched into
// each of its deliberate bugs in turn, and the cases faultCatches lists for the bug must fail. A
// listed case that passes does not check what it claims; a fault no case catches is a behaviour
// the catalog does not check. The map is checked in -short mode too; the runs are not.
func TestFaultsAreCaught(t *testing.T) {
	byID := casesByID()
	checkFaultCatches(t, byID)
	if t.Failed() {
		t.FailNow()
	}
	if testing.Short() {
		t.Skip("mutation run skipped in -short mode: it starts one broker per fault")
	}
	for _, f := range broker.Faults {
		t.Run(f.Name, func(t *testing.T) {
			var cases []conformance.Case
			want := map[string]bool{} // ID@version that must fail
			for _, e := range faultCatches[f.Name] {
				k := parseCatch(e)
				c := byID[k.id]
				if !slices.ContainsFunc(cases, func(x conformance.Case) bool { return x.ID == c.ID }) {
					cases = append(cases, c)
				}
				for _, v := range []string{"3.1.1", "5.0"} {
					if (k.version == "" || k.version == v) && c.Versions.Has(versionOf(v)) {
						want[k.id+"@"+v] = true
					}
				}
			}
			res := runWithFault(t, f.Name, cases)
			for _, r := range res.Cases {
				switch {
				case !want[r.Key()]:
				case r.Status == reports.Fail:
					t.Logf("caught by %s: %s", r.Key(), r.Message)
				default:
					t.Errorf("fault %s not caught by %s: %s %s", f.Name, r.Key(), r.Status, r.Message)
				}
				delete(want, r.Key())
			}
			for k := range want {
				t.Errorf("fault %s: %s did not run", f.Name, k)
			}
		})
	}
}

// runWithFault runs cases against the embedded target (with its users and ACL, so that the
// credential and denied-topic cases run) switched into fault.
func runWithFault(t *testing.T, fault string, cases []conformance.Case) *reports.Results {
	t.Helper()
	o := embedded.Options()
	o.Faults = []string{fault}
	broker.ConfigureFaults(&o, o.Faults)
	tg, stop, err := embedded.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("embedded target with fault %s: %v", fault, err)
	}
	defer stop()
	r := &conformance.Runner{Target: tg, Parallel: 4, Timeouts: conformance.Timeouts{Step: 2 * time.Second}}
	res, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatalf("run with fault %s: %v", fault, err)
	}
	return res
}
