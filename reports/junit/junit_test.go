package junit

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/reportstest"
)

// parse reads the XML back with encoding/xml into the same tree, as a CI parser would.
func parse(t *testing.T, b []byte) *Testsuites {
	t.Helper()
	var doc Testsuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("output is not valid XML: %v\n%s", err, b)
	}
	return &doc
}

func small() *reports.Results {
	r := &reports.Results{
		Schema:  reports.Schema,
		Tool:    reports.Tool{Name: "mqttspec", Version: "1.2.3"},
		Target:  reports.Target{Name: "mosquitto", URL: "tcp://127.0.0.1:18831", Role: "broker"},
		Started: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Cases: []reports.Case{
			{ID: "3.1/ok", Title: "ok", Section: "3.1", Version: "5.0", Level: "MUST", Status: reports.Pass, DurationMs: 12,
				Statements: []string{"MQTT-3.1.0-1"},
				Transcript: []reports.Event{{TMs: 0.5, Conn: "c1", Dir: "send", Hex: "c000", Packet: "PINGREQ"}, {TMs: 1.25, Conn: "c1", Dir: "recv", Hex: "d000", Packet: "PINGRESP"}}},
			{ID: "3.1/broken", Title: "broken", Section: "3.1", Version: "5.0", Level: "MUST", Status: reports.Fail, DurationMs: 1500,
				Statements: []string{"MQTT-3.1.0-2"}, Message: "second CONNECT accepted\x01 (bad byte)", Expected: "connection closed", Actual: "CONNACK"},
			{ID: "3.3/should", Title: "should", Section: "3.3", Version: "3.1.1", Level: "SHOULD", Status: reports.Warn, Message: "no retry"},
			{ID: "3.10/skip", Title: "skip", Section: "3.10", Version: "5.0", Level: "MUST", Status: reports.Skip, Message: "no shared subscriptions"},
			{ID: "3.9/err", Title: "err", Section: "3.9", Version: "5.0", Level: "MUST", Status: reports.Error, Message: "connection refused"},
		},
	}
	r.Recount()
	return r
}

func TestBuildMapsStatuses(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, small(), Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Fatalf("no XML declaration: %.60s", buf.String())
	}
	doc := parse(t, buf.Bytes())
	if doc.Name != "mqttspec: mosquitto" || doc.Tests != 5 || doc.Failures != 1 || doc.Errors != 1 || doc.Skipped != 1 {
		t.Fatalf("root = %q tests=%d failures=%d errors=%d skipped=%d", doc.Name, doc.Tests, doc.Failures, doc.Errors, doc.Skipped)
	}
	// Sections sorted numerically: 3.10 after 3.9.
	var names []string
	for _, s := range doc.Suites {
		names = append(names, s.Name)
	}
	if got, want := strings.Join(names, ","), "3.1,3.3,3.9,3.10"; got != want {
		t.Fatalf("suites = %s, want %s", got, want)
	}
	byName := map[string]Testcase{}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			byName[c.Name] = c
		}
	}
	tests := []struct {
		name                    string
		failure, error, skipped bool
		failureType             string
		outContains             []string
		props                   []Property
		time                    float64
	}{
		{name: "3.1/ok [5.0]", time: 0.012, outContains: []string{"+    0.500ms c1     -> PINGREQ\n            c0 00\n", "<- PINGRESP"}},
		{name: "3.1/broken [5.0]", failure: true, failureType: "MUST", time: 1.5},
		{name: "3.3/should [3.1.1]", outContains: []string{"WARN: no retry"}, props: []Property{{Name: "mqttspec.status", Value: "warn"}}},
		{name: "3.10/skip [5.0]", skipped: true},
		{name: "3.9/err [5.0]", error: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := byName[tt.name]
			if !ok {
				t.Fatalf("testcase %q missing; have %v", tt.name, byName)
			}
			if (c.Failure != nil) != tt.failure || (c.Error != nil) != tt.error || (c.Skipped != nil) != tt.skipped {
				t.Fatalf("failure=%v error=%v skipped=%v", c.Failure != nil, c.Error != nil, c.Skipped != nil)
			}
			if tt.failure && c.Failure.Type != tt.failureType {
				t.Errorf("failure type %q, want %q", c.Failure.Type, tt.failureType)
			}
			for _, s := range tt.outContains {
				if !strings.Contains(c.SystemOut, s) {
					t.Errorf("system-out lacks %q:\n%s", s, c.SystemOut)
				}
			}
			if len(tt.props) != len(c.Properties) || (len(tt.props) > 0 && tt.props[0] != c.Properties[0]) {
				t.Errorf("properties %v, want %v", c.Properties, tt.props)
			}
			if c.Time != tt.time {
				t.Errorf("time %v, want %v", c.Time, tt.time)
			}
		})
	}
	broken := byName["3.1/broken [5.0]"].Failure
	for _, s := range []string{"expected: connection closed", "actual:   CONNACK", "statement MQTT-3.1.0-2"} {
		if !strings.Contains(broken.Text, s) {
			t.Errorf("failure text lacks %q:\n%s", s, broken.Text)
		}
	}
	// The control byte is replaced, not written raw (it would make the XML invalid).
	if !strings.Contains(broken.Message, "accepted\uFFFD (bad byte)") {
		t.Errorf("failure message %q", broken.Message)
	}
}

func TestWarnAsFailure(t *testing.T) {
	doc := Build(small(), Options{WarnAsFailure: true})
	if doc.Failures != 2 {
		t.Fatalf("failures = %d, want 2", doc.Failures)
	}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Name == "3.3/should [3.1.1]" && (c.Failure == nil || c.Failure.Type != "SHOULD") {
				t.Fatalf("warn case = %+v", c)
			}
		}
	}
}

func TestCatalogNamesSuitesAndStatements(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, small(), Options{Catalog: reports.SpecCatalog()}); err != nil {
		t.Fatal(err)
	}
	doc := parse(t, buf.Bytes())
	if doc.Suites[0].Name != "3.1 CONNECT" || doc.Suites[3].Name != "3.10 UNSUBSCRIBE" {
		t.Fatalf("suite names %q, %q", doc.Suites[0].Name, doc.Suites[3].Name)
	}
	s, ok := reports.SpecCatalog().Statement("5.0", "MQTT-3.1.0-2")
	if !ok {
		t.Fatal("MQTT-3.1.0-2 not in the registry")
	}
	broken := doc.Suites[0].Cases[1] // 3.1/broken, second in input order
	if broken.Failure == nil || !strings.Contains(broken.Failure.Text, "statement MQTT-3.1.0-2: "+s.Summary) {
		t.Fatalf("paraphrase missing from failure: %+v", broken)
	}
}

func TestGeneratedCountsMatch(t *testing.T) {
	r := reportstest.Generate(reportstest.Options{Cases: 500, Seed: 7, OutcomeSeed: 7})
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := WriteFile(path, r, Options{Catalog: reports.SpecCatalog()}); err != nil {
		t.Fatal(err)
	}
	back, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := parse(t, back)
	if doc.Tests != len(r.Cases) || doc.Failures != r.Summary.Fail || doc.Errors != r.Summary.Error || doc.Skipped != r.Summary.Skip {
		t.Fatalf("counts tests=%d failures=%d errors=%d skipped=%d, results %+v", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, r.Summary)
	}
	var tests, failures, errs, skipped, warns int
	sections := map[string]bool{}
	for _, s := range doc.Suites {
		if sections[s.Name] {
			t.Fatalf("section %q has two suites", s.Name)
		}
		sections[s.Name] = true
		if s.Tests != len(s.Cases) {
			t.Fatalf("suite %q tests=%d with %d testcases", s.Name, s.Tests, len(s.Cases))
		}
		tests += s.Tests
		failures += s.Failures
		errs += s.Errors
		skipped += s.Skipped
		for _, c := range s.Cases {
			if len(c.Properties) == 1 && c.Properties[0].Value == "warn" {
				warns++
			}
		}
	}
	if tests != doc.Tests || failures != doc.Failures || errs != doc.Errors || skipped != doc.Skipped || warns != r.Summary.Warn {
		t.Fatalf("suite sums %d/%d/%d/%d warn %d disagree with root %+v / results %+v", tests, failures, errs, skipped, warns, doc, r.Summary)
	}
}

func TestHexTruncated(t *testing.T) {
	r := small()
	r.Cases[0].Transcript[0].Hex = strings.Repeat("ab", 100)
	doc := Build(r, Options{MaxHexBytes: 20})
	out := doc.Suites[0].Cases[0].SystemOut // 3.1/ok: cases keep their input order
	if !strings.Contains(out, "            ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab\n            ab ab ab ab\n            ... 100 bytes in all, full bytes in results.json") {
		t.Fatalf("no truncation note:\n%s", doc.Suites[0].Cases[0].SystemOut)
	}
}
