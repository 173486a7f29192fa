package reports

import (
	"strings"
	"testing"
)

func TestJudged(t *testing.T) {
	tests := []struct {
		status Status
		level  string
		want   bool
	}{
		{Pass, "MUST", true},
		{Fail, "MUST", true},
		{Fail, "SHOULD", true},
		{Warn, "SHOULD", true},
		{Warn, "MAY", true},
		{Warn, "MUST", false}, // a MUST is met or broken: its warn judged nothing
		{Warn, "", false},     // no level reads as MUST, as the HTML verdict does
		{Skip, "MUST", false},
		{Error, "SHOULD", false},
	}
	for _, tt := range tests {
		c := Case{Status: tt.status, Level: tt.level}
		if got := c.Judged(); got != tt.want {
			t.Errorf("%s %s: Judged() = %v, want %v", tt.level, tt.status, got, tt.want)
		}
	}
}

// TestDecodeOlderCoverage: a results.json written before proofs and skips existed still loads,
// with Proven 0 and no skips; one written now round-trips them.
func TestDecodeOlderCoverage(t *testing.T) {
	old := `{"schema":"mqttspec/results/v1","tool":{"name":"mqttspec","version":"0.1"},"target":{"name":"x","role":"broker"},
"started":"2026-01-01T00:00:00Z","duration_ms":1,"summary":{"pass":1,"fail":0,"warn":0,"skip":0,"error":0},
"coverage":{"5.0":{"testable":209,"tested":205,"missing":["MQTT-4.2.0-1"]}},
"cases":[{"id":"3.1/a","title":"a","section":"3.1","statements":["MQTT-3.1.0-2"],"version":"5.0","role":"broker","level":"MUST","status":"pass","duration_ms":1}]}`
	r, err := Decode(strings.NewReader(old), "old.json")
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Coverage["5.0"]; c.Tested != 205 || c.Proven != 0 || len(c.Skips) != 0 || len(c.Missing) != 1 {
		t.Errorf("old coverage read as %+v", c)
	}
	r.Coverage["5.0"] = Coverage{Testable: 209, Tested: 200, Proven: 150, Missing: []string{"MQTT-4.12.0-1"},
		Skips: []StatementSkip{{ID: "MQTT-4.12.0-1", Reasons: []string{"needs --auth-method"}}}}
	var b strings.Builder
	if err := r.Encode(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Decode(strings.NewReader(b.String()), "new.json")
	if err != nil {
		t.Fatal(err)
	}
	if c := back.Coverage["5.0"]; c.Proven != 150 || len(c.Skips) != 1 || c.Skips[0].Reasons[0] != "needs --auth-method" {
		t.Errorf("new coverage read back as %+v", c)
	}
}
