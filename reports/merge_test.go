package reports

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func run(name string, start time.Time, durMs float64, cases ...Case) *Results {
	r := &Results{Schema: Schema, Target: Target{Name: name, Role: "broker"}, Started: start, DurationMs: durMs, Cases: cases}
	r.Recount()
	return r
}

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	a := run("b", t0, 1000,
		Case{ID: "3.3/x", Section: "3.3", Version: "3.1.1", Status: Pass},
		Case{ID: "3.10/y", Section: "3.10", Version: "3.1.1", Status: Fail, Statements: []string{"S1"}})
	a.Coverage = map[string]Coverage{"3.1.1": {Testable: 3, Tested: 1, Missing: []string{"A", "B"}}, "5.0": {Testable: 4, Tested: 2, Proven: 1, Missing: []string{"C", "D"},
		Skips: []StatementSkip{{ID: "C", Reasons: []string{"needs retain"}}, {ID: "D", Reasons: []string{"needs --auth-method"}}}}}
	a.Target.Info = map[string]string{"k": "a"}
	b := run("b", t0.Add(5*time.Second), 2000,
		Case{ID: "3.3/x", Section: "3.3", Version: "5.0", Status: Warn},
		Case{ID: "3.9/z", Section: "3.9", Version: "5.0", Status: Skip})
	b.Coverage = map[string]Coverage{"5.0": {Testable: 4, Tested: 3, Proven: 2, Missing: []string{"D"},
		Skips: []StatementSkip{{ID: "D", Reasons: []string{"needs --auth-method", "needs shared subscriptions"}}}}}
	b.Incomplete = true
	b.Target.Info = map[string]string{"k": "b", "j": "b"}

	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range m.Cases {
		keys = append(keys, c.Key())
	}
	if got, want := strings.Join(keys, " "), "3.3/x@3.1.1 3.3/x@5.0 3.9/z@5.0 3.10/y@3.1.1"; got != want {
		t.Errorf("cases %s, want %s", got, want)
	}
	if m.Summary != (Counts{Pass: 1, Fail: 1, Warn: 1, Skip: 1}) {
		t.Errorf("summary %+v", m.Summary)
	}
	if !m.Started.Equal(t0) || m.DurationMs != 7000 || !m.Incomplete {
		t.Errorf("started %v duration %v incomplete %v", m.Started, m.DurationMs, m.Incomplete)
	}
	if c := m.Coverage["5.0"]; c.Testable != 4 || c.Tested != 3 || c.Proven != 2 || !slices.Equal(c.Missing, []string{"D"}) ||
		len(c.Skips) != 1 || c.Skips[0].ID != "D" || !slices.Equal(c.Skips[0].Reasons, []string{"needs --auth-method", "needs shared subscriptions"}) {
		t.Errorf("5.0 coverage %+v", c) // C ran in b: its skip goes; D's reasons from both
	}
	if c := m.Coverage["3.1.1"]; c.Tested != 1 || len(c.Missing) != 2 {
		t.Errorf("3.1.1 coverage %+v", c)
	}
	if m.Target.Info["k"] != "a" || m.Target.Info["j"] != "b" {
		t.Errorf("info %v", m.Target.Info)
	}
	if err := m.Validate(); err != nil {
		t.Errorf("merged document invalid: %v", err)
	}
	// Inputs untouched.
	m.Cases[3].Statements[0] = "changed"
	if a.Cases[1].Statements[0] != "S1" || len(a.Cases) != 2 || a.Cases[0].ID != "3.3/x" {
		t.Error("merge modified its input")
	}
}

func TestMergeErrors(t *testing.T) {
	t0 := time.Now()
	x := Case{ID: "3.3/x", Section: "3.3", Version: "5.0", Status: Pass}
	tests := []struct {
		name string
		rs   []*Results
		want string
	}{
		{"none", nil, "no results"},
		{"targets differ", []*Results{run("a", t0, 1), run("b", t0, 1)}, `input 2 tested broker "b", input 1 tested broker "a"`},
		{"duplicate case", []*Results{run("a", t0, 1, x), run("a", t0, 1, x)}, "case 3.3/x (5.0) is in input 1 and input 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(tt.rs...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	t0 := time.Now()
	a := run("alpha", t0, 1,
		Case{ID: "3.10/y", Section: "3.10", Version: "5.0", Status: Pass, Title: "from a"},
		Case{ID: "3.3/x", Section: "3.3", Version: "5.0", Status: Pass})
	b := run("beta", t0, 1,
		Case{ID: "3.3/x", Section: "3.3", Version: "5.0", Status: Fail},
		Case{ID: "3.1/w", Section: "3.1", Version: "3.1.1", Status: Pass})
	c := run("alpha", t0, 1,
		Case{ID: "3.3/x", Section: "3.3", Version: "5.0", Status: Pass},
		Case{ID: "3.10/y", Section: "3.10", Version: "5.0", Status: Pass, Title: "from c"})
	cmp := Compare(a, b, c)
	var labels []string
	for _, col := range cmp.Columns {
		labels = append(labels, col.Label)
	}
	if !slices.Equal(labels, []string{"alpha", "beta", "alpha #2"}) {
		t.Fatalf("labels %q", labels)
	}
	type want struct {
		key    string
		status []string
		differ bool
	}
	wants := []want{
		{"3.1/w@3.1.1", []string{"", "pass", ""}, true},
		{"3.3/x@5.0", []string{"pass", "fail", "pass"}, true},
		{"3.10/y@5.0", []string{"pass", "", "pass"}, true},
	}
	if len(cmp.Rows) != len(wants) {
		t.Fatalf("%d rows", len(cmp.Rows))
	}
	for i, w := range wants {
		row := &cmp.Rows[i]
		var st []string
		for _, c := range row.Cells {
			if c == nil {
				st = append(st, "")
			} else {
				st = append(st, string(c.Status))
			}
		}
		if row.Key != w.key || !slices.Equal(st, w.status) || row.Differs() != w.differ {
			t.Errorf("row %d = %s %q differs=%v, want %s %q %v", i, row.Key, st, row.Differs(), w.key, w.status, w.differ)
		}
	}
	if cmp.Rows[2].Title != "from a" {
		t.Errorf("title from %q, want the first run's", cmp.Rows[2].Title)
	}
	same := Compare(a, a)
	for _, r := range same.Rows {
		if r.Differs() {
			t.Errorf("%s differs from itself", r.Key)
		}
	}
}

func TestLabels(t *testing.T) {
	rs := []*Results{
		{Target: Target{Name: " x "}},
		{Target: Target{URL: "tcp://127.0.0.1:1"}},
		{},
		{Target: Target{Name: "x"}},
		{Target: Target{Name: "x"}},
	}
	if got := Labels(rs); !slices.Equal(got, []string{"x", "tcp://127.0.0.1:1", "run 3", "x #2", "x #3"}) {
		t.Fatalf("labels %q", got)
	}
}

func TestSpecCatalog(t *testing.T) {
	cat := SpecCatalog()
	s, ok := cat.Statement("5.0", "[MQTT-3.1.0-1]")
	if !ok || s.ID != "MQTT-3.1.0-1" || s.Version != "5.0" || s.Level != "MUST" || s.Summary == "" || s.Chapter != "3.1 CONNECT" {
		t.Fatalf("lookup = %+v, %v", s, ok)
	}
	if _, ok := cat.Statement("5.0", "MQTT-99.1-1"); ok {
		t.Fatal("unknown ID found")
	}
	all := cat.Statements("3.1.1")
	if len(all) < 141 {
		t.Fatalf("%d statements for 3.1.1, want at least the 141 of Appendix B", len(all))
	}
	for _, tt := range []struct{ v, section, want string }{
		{"5.0", "3.15", "3.15 AUTH"}, {"3.1.1", "3.10", "3.10 UNSUBSCRIBE"}, {"5.0", "3.1.2", "3.1 CONNECT"},
		{"3.1.1", "3.15", ""}, {"5.0", "9.9", ""},
	} {
		if got := cat.SectionTitle(tt.v, tt.section); got != tt.want {
			t.Errorf("SectionTitle(%s, %s) = %q, want %q", tt.v, tt.section, got, tt.want)
		}
	}
	if got := SectionTitleAny(cat, "3.15", "3.1.1", "5.0"); got != "3.15 AUTH" {
		t.Errorf("SectionTitleAny = %q", got)
	}
	if got := SectionTitleAny(nil, "3.15", "5.0"); got != "3.15" {
		t.Errorf("SectionTitleAny(nil) = %q", got)
	}
}

func TestBinds(t *testing.T) {
	for _, tt := range []struct {
		role, target string
		want         bool
	}{
		{"server", "broker", true}, {"server", "client", false}, {"client", "client", true},
		{"client", "broker", false}, {"both", "broker", true}, {"both", "client", true},
	} {
		if got := (StatementInfo{Role: tt.role}).Binds(tt.target); got != tt.want {
			t.Errorf("%s binds %s = %v", tt.role, tt.target, got)
		}
	}
}
