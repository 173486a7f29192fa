package expect

import (
	"errors"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/reports"
)

var known = &Known{
	Case:      func(id string) bool { return id == "3.1/a" || id == "3.1/b" || id == "3.3/c" },
	Statement: func(v, id string) bool { return id == "MQTT-3.3.1-4" },
}

func results(cases ...reports.Case) *reports.Results {
	r := &reports.Results{Schema: reports.Schema, Target: reports.Target{Name: "x", Role: "broker"}, Cases: cases}
	r.Recount()
	return r
}

func rc(id, version string, s reports.Status, statements ...string) reports.Case {
	return reports.Case{ID: id, Version: version, Status: s, Statements: statements, Message: "because"}
}

func TestCompare(t *testing.T) {
	f, err := Parse([]byte(`
target: demo
expectations:
  - case: 3.1/a
    status: fail
    reason: known
  - case: 3.1/b
    version: "5.0"
    status: warn
  - statement: MQTT-3.3.1-4
    status: fail
`), "e.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                    string
		res                     *reports.Results
		regressions, unexp, chg int
		ok                      bool
	}{
		{"all as expected", results(rc("3.1/a", "3.1.1", reports.Fail), rc("3.1/b", "5.0", reports.Warn), rc("3.1/b", "3.1.1", reports.Pass), rc("3.3/c", "5.0", reports.Fail, "MQTT-3.3.1-4")), 0, 0, 0, true},
		{"regression", results(rc("3.1/b", "3.1.1", reports.Fail)), 1, 0, 0, false},
		{"error is a regression", results(rc("3.1/b", "3.1.1", reports.Error)), 1, 0, 0, false},
		{"version-scoped entry does not cover the other version", results(rc("3.1/b", "3.1.1", reports.Warn)), 0, 0, 1, true},
		{"unexpected pass", results(rc("3.1/a", "5.0", reports.Pass)), 0, 1, 0, true},
		{"statement entry", results(rc("3.3/c", "3.1.1", reports.Pass, "MQTT-3.3.1-4")), 0, 1, 0, true},
		{"expected fail now warns", results(rc("3.1/a", "5.0", reports.Warn)), 0, 0, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(f, tc.res)
			if len(c.Regressions) != tc.regressions || len(c.UnexpectedPass) != tc.unexp || len(c.Changed) != tc.chg || c.OK() != tc.ok {
				t.Fatalf("got %d regressions, %d unexpected passes, %d changed, ok=%v", len(c.Regressions), len(c.UnexpectedPass), len(c.Changed), c.OK())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bad yaml", "expectations:\n  - case: [\n", "e.yaml:"},
		{"unknown field", "expectations:\n  - case: 3.1/a\n    staus: fail\n", "e.yaml:3: field staus not found"},
		{"unknown case", "expectations:\n  - case: 3.1/zzz\n    status: fail\n", "e.yaml:2: unknown case \"3.1/zzz\""},
		{"former twin", "expectations:\n  - case: 3.1/a-v311\n    status: fail\n", "write case: 3.1/a with version: \"3.1.1\""},
		{"unknown statement", "expectations:\n  - statement: MQTT-9.9.9-9\n    status: fail\n", "e.yaml:2: unknown statement"},
		{"duplicate", "expectations:\n  - case: 3.1/a\n    status: fail\n  - case: 3.1/a\n    status: warn\n", "e.yaml:4: duplicate of the entry on line 2"},
		{"bad status", "expectations:\n  - case: 3.1/a\n    status: broken\n", "status \"broken\""},
		{"pass status", "expectations:\n  - case: 3.1/a\n    status: pass\n", "status pass is the default"},
		{"both ids", "expectations:\n  - case: 3.1/a\n    statement: MQTT-3.3.1-4\n    status: fail\n", "both a case"},
		{"neither", "expectations:\n  - status: fail\n", "neither a case nor a statement"},
		{"bad version", "expectations:\n  - case: 3.1/a\n    version: \"4\"\n    status: fail\n", "version \"4\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "e.yaml", known)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FileError", err)
			}
		})
	}
}

func TestUpdateRoundTrip(t *testing.T) {
	res := results(rc("3.1/a", "3.1.1", reports.Fail), rc("3.1/a", "5.0", reports.Fail), rc("3.1/b", "3.1.1", reports.Pass), rc("3.3/c", "5.0", reports.Warn))
	prev := &File{Expectations: []Entry{{Case: "3.1/a", Status: reports.Fail, Reason: "keep this reason"}}}
	f := Update(res, prev)
	if len(f.Expectations) != 3 || f.Expectations[0].Reason != "keep this reason" || f.Expectations[2].Reason != "because" {
		t.Fatalf("update: %+v", f.Expectations)
	}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(b, "gen.yaml", known)
	if err != nil {
		t.Fatalf("generated file does not parse: %v\n%s", err, b)
	}
	if c := Compare(g, res); !c.OK() || len(c.UnexpectedPass)+len(c.Changed) != 0 || c.Matched != 4 {
		t.Fatalf("generated file disagrees with the results it came from: %+v", c)
	}
}
