package client_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/client"
	"github.com/mqttspec/mqttspec/conformance/drivers"
	"github.com/mqttspec/mqttspec/conformance/spec"
	"github.com/mqttspec/mqttspec/reports"
)

// selected returns the client cases, narrowed by $MQTTSPEC_CASES (comma-separated ID prefixes)
// for quick runs while developing.
func selected(t *testing.T) []conformance.Case {
	t.Helper()
	var globs []string
	if s := os.Getenv("MQTTSPEC_CASES"); s != "" {
		globs = strings.Split(s, ",")
	}
	cases, err := conformance.Select(catalog.ClientCases(), globs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no client case selected")
	}
	return cases
}

func run(t *testing.T, d conformance.Driver, cases []conformance.Case) *reports.Results {
	t.Helper()
	r := &conformance.Runner{Driver: d, Parallel: 4, Timeouts: conformance.Timeouts{Step: 3 * time.Second, Case: 40 * time.Second},
		Tool: reports.Tool{Name: "mqttspec", Version: "test"}}
	res, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func transcript(c reports.Case) string {
	var b strings.Builder
	for _, e := range c.Transcript {
		b.WriteString("    ")
		b.WriteString(strings.TrimSpace(strings.Join([]string{e.Conn, e.Dir, e.Packet}, " ")))
		b.WriteByte('\n')
	}
	return b.String()
}

// save writes the results to $MQTTSPEC_ARTIFACTS/name when the variable is set.
func save(t *testing.T, res *reports.Results, name string) {
	dir := os.Getenv("MQTTSPEC_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteFile(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// referenceRuns is how many case runs the whole catalog makes with the reference client, per
// version: every one must pass. A case added, removed or no longer run on a version changes it
// on purpose, here.
var referenceRuns = map[string]int{"3.1.1": 64, "5.0": 124}

// TestReferencePassesEveryCase is the acceptance test of the catalog: the reference client
// passes every case, on both versions, without skips, and the whole catalog makes exactly
// referenceRuns runs.
func TestReferencePassesEveryCase(t *testing.T) {
	res := run(t, drivers.Reference(), selected(t))
	save(t, res, "client-reference.json")
	got := map[string]int{}
	for _, c := range res.Cases {
		if c.Status != reports.Pass {
			t.Errorf("%s [%s] %s: %s\n%s", c.ID, c.Version, c.Status, c.Message, transcript(c))
		}
		got[c.Version]++
	}
	if os.Getenv("MQTTSPEC_CASES") == "" && !maps.Equal(got, referenceRuns) {
		t.Errorf("case runs per version: %v, want %v", got, referenceRuns)
	}
	for v, cov := range res.Coverage {
		t.Logf("coverage %s: %d of %d (%.0f%%)", v, cov.Tested, cov.Testable, cov.Percent())
	}
	t.Logf("%d results: %+v", len(res.Cases), res.Summary)
}

func TestCasesCiteClientStatements(t *testing.T) {
	for _, cs := range catalog.ClientCases() {
		for _, v := range cs.Versions.List() {
			if len(cs.StatementsFor(v)) == 0 {
				t.Errorf("%s cites no %v statement", cs.ID, v)
			}
		}
		if cs.Role != conformance.RoleClient {
			t.Errorf("%s: role %s", cs.ID, cs.Role)
		}
	}
}

// TestCoverage keeps the catalog at 90% or more of the wire-testable statements that bind the
// client (or both sides), per version, and lists the rest.
func TestCoverage(t *testing.T) {
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		cited := map[string]bool{}
		for _, cs := range catalog.ClientCases() {
			if cs.Versions.Has(v) {
				for _, id := range cs.StatementsFor(v) {
					cited[id] = true
				}
			}
		}
		sv := "3.1.1"
		if v == codec.V5 {
			sv = "5.0"
		}
		var testable, tested int
		var missing []string
		for _, s := range spec.ByVersion(sv) {
			if !s.Testable || !s.InAppendixB() || (s.Role != spec.Client && s.Role != spec.Both) {
				continue
			}
			testable++
			if cited[s.ID] {
				tested++
			} else {
				missing = append(missing, s.ID)
			}
		}
		pct := 100 * float64(tested) / float64(testable)
		t.Logf("MQTT %s: %d of %d client statements (%.0f%%); not cited: %v", sv, tested, testable, pct, missing)
		if pct < 90 {
			t.Errorf("MQTT %s coverage %.0f%% is below 90%%", sv, pct)
		}
	}
}

// TestCaseIDsInTheirSectionFile checks that a case ID found in a report leads to its source in
// one step: it appears literally (as a Go string) in exactly one file of the catalog, and that
// file is the one named by the ID's section ("4.13/…" in 4_13_errors.go).
func TestCaseIDsInTheirSectionFile(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	src := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "proofs.go" { // proofs.go cites cases, by design
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src[f] = string(b)
	}
	for _, cs := range catalog.ClientCases() {
		var in []string
		for f, s := range src {
			if strings.Contains(s, strconv.Quote(cs.ID)) {
				in = append(in, f)
			}
		}
		want := strings.ReplaceAll(cs.Section(), ".", "_") + "_"
		if len(in) != 1 || !strings.HasPrefix(in[0], want) {
			t.Errorf("%s is written in %v; want it once, in a file %s….go", cs.ID, in, want)
		}
	}
}
