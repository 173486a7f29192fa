package markdown

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/expect"
)

func gen(n int, status reports.Status) *reports.Results {
	r := &reports.Results{Schema: reports.Schema, Target: reports.Target{Name: "demo", URL: "tcp://127.0.0.1:1", Role: "broker"}}
	for i := 0; i < n; i++ {
		r.Cases = append(r.Cases, reports.Case{ID: fmt.Sprintf("3.%d/case-with-a-long-name-%d", i%14, i), Version: []string{"3.1.1", "5.0"}[i%2],
			Status: status, Statements: []string{"MQTT-3.3.1-4", "MQTT-3.1.2-24"}, Message: strings.Repeat("expected this, got that ", 10)})
	}
	r.Cases = append(r.Cases, reports.Case{ID: "3.1/ok", Version: "5.0", Status: reports.Pass})
	r.Recount()
	return r
}

func TestSummaryContent(t *testing.T) {
	r := gen(3, reports.Fail)
	f := &expect.File{}
	cmp := expect.Compare(f, r)
	out := string(Render([]*reports.Results{r}, Options{ReportURL: "https://ci.example/report.html", Comparison: cmp}))
	for _, want := range []string{"❌ 3 regression(s)", "### ❌ Regressions (3)", "[Full HTML report](https://ci.example/report.html)", "<details>", "MQTT-3.3.1-4", "| 5.0 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "Regressions") > strings.Index(out, "<details>") {
		t.Error("regressions must come before the failure list")
	}
}

func TestSummaryStaysSmall(t *testing.T) {
	for _, n := range []int{10, 1000, 20000} {
		r := gen(n, reports.Fail)
		cmp := expect.Compare(&expect.File{}, r)
		out := Render([]*reports.Results{r, gen(n, reports.Warn)}, Options{Comparison: cmp})
		if len(out) > DefaultMaxBytes {
			t.Fatalf("%d failures: summary is %d bytes, over %d", n, len(out), DefaultMaxBytes)
		}
		if n >= 1000 && !strings.Contains(string(out), "more") {
			t.Errorf("%d failures: truncation not announced", n)
		}
	}
}

// TestSummaryCoverage shows, per version, the statements that ran to a verdict and the proven
// ones, and why the missing ones did not run.
func TestSummaryCoverage(t *testing.T) {
	r := gen(2, reports.Pass)
	r.Coverage = map[string]reports.Coverage{"5.0": {Testable: 10, Tested: 6, Proven: 4, Missing: []string{"MQTT-4.12.0-1"},
		Skips: []reports.StatementSkip{{ID: "MQTT-4.12.0-1", Reasons: []string{"needs --auth-method", "needs a | pipe"}}}}}
	out := string(Render([]*reports.Results{r}, Options{}))
	for _, want := range []string{"| statements ran | proven |", "| 6/10 (60%) | 4/10 (40%) |", "MQTT 5.0: 1 statement(s) not run here",
		"- MQTT-4.12.0-1 — needs --auth-method; needs a \\| pipe"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
