package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/reportstest"
)

// execute runs the CLI in process and returns stdout and the exit code with its message.
func execute(t *testing.T, args ...string) (stdout string, code int, msg string) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&bytes.Buffer{})
	rootCmd.SetArgs(args)
	defer rootCmd.SetOut(nil)
	err := rootCmd.Execute()
	if err == nil {
		return out.String(), exitOK, ""
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return out.String(), ee.code, ee.Error()
	}
	return out.String(), exitUsage, err.Error()
}

func writeResults(t *testing.T, dir, name string, r *reports.Results) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := r.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	a := reportstest.Generate(reportstest.Options{Cases: 40, Seed: 1, OutcomeSeed: 1, Target: "alpha"})
	b := reportstest.Generate(reportstest.Options{Cases: 40, Seed: 1, OutcomeSeed: 2, Target: "beta"})
	v311 := reportstest.Generate(reportstest.Options{Cases: 20, Seed: 2, Versions: []string{"3.1.1"}, Target: "alpha"})
	v5 := reportstest.Generate(reportstest.Options{Cases: 20, Seed: 3, Versions: []string{"5.0"}, Target: "alpha"})
	pa, pb := writeResults(t, dir, "a.json", a), writeResults(t, dir, "b.json", b)
	p311, p5 := writeResults(t, dir, "v311.json", v311), writeResults(t, dir, "v5.json", v5)
	out := func(name string) string { return filepath.Join(dir, "out", name) }
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("html", func(t *testing.T) {
		if _, code, msg := execute(t, "report", "html", pa, "-o", out("a.html")); code != 0 {
			t.Fatalf("exit %d: %s", code, msg)
		}
		if page := read(out("a.html")); !strings.Contains(page, "<title>MQTT conformance report: alpha</title>") {
			t.Fatal("not the report of alpha")
		}
	})
	t.Run("html several is a comparison", func(t *testing.T) {
		if _, code, msg := execute(t, "report", "html", "--merge=false", pa, pb, "-o", out("ab.html")); code != 0 {
			t.Fatalf("exit %d: %s", code, msg)
		}
		if page := read(out("ab.html")); !strings.Contains(page, "<title>MQTT conformance comparison: alpha, beta</title>") {
			t.Fatal("not a comparison")
		}
	})
	t.Run("html merge", func(t *testing.T) {
		if _, code, msg := execute(t, "report", "html", "--merge", p311, p5, "-o", out("merged.html")); code != 0 {
			t.Fatalf("exit %d: %s", code, msg)
		}
		page := read(out("merged.html"))
		if n := strings.Count(page, `<tr class="case"`); n != 40 {
			t.Fatalf("merged report has %d cases, want 40", n)
		}
	})
	t.Run("compare", func(t *testing.T) {
		if _, code, msg := execute(t, "report", "compare", pa, pb, "-o", out("cmp.html")); code != 0 {
			t.Fatalf("exit %d: %s", code, msg)
		}
		if !strings.Contains(read(out("cmp.html")), `<th class="c-run">beta</th>`) {
			t.Fatal("no beta column")
		}
	})
	t.Run("junit to stdout", func(t *testing.T) {
		stdout, code, msg := execute(t, "report", "junit", "--warn-as-failure=false", pa, "-o", "-")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, msg)
		}
		var doc struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
		}
		if err := xml.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Tests != 40 || doc.Failures != a.Summary.Fail {
			t.Fatalf("tests=%d failures=%d, want 40 and %d", doc.Tests, doc.Failures, a.Summary.Fail)
		}
	})
	t.Run("json merge", func(t *testing.T) {
		if _, code, msg := execute(t, "report", "json", p311, p5, "-o", out("all.json")); code != 0 {
			t.Fatalf("exit %d: %s", code, msg)
		}
		m, err := reports.ReadFile(out("all.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Cases) != 40 || len(m.Coverage) != 2 {
			t.Fatalf("merged: %d cases, coverage for %d versions", len(m.Cases), len(m.Coverage))
		}
	})
}

func TestReportCommandBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeResults(t, dir, "good.json", reportstest.Generate(reportstest.Options{Cases: 5, Target: "alpha"}))
	other := writeResults(t, dir, "other.json", reportstest.Generate(reportstest.Options{Cases: 5, Target: "beta"}))
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema": "mqttspec/results/v1", "target": {"role": "broker"}, "cases": [{"id": "x", "version": "5.0", "status": "great"}]}`), 0o644)
	notJSON := filepath.Join(dir, "notjson.json")
	os.WriteFile(notJSON, []byte("<html>"), 0o644)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing file", []string{"report", "html", filepath.Join(dir, "nope.json")}, []string{"nope.json", "no such file"}},
		{"not JSON", []string{"report", "junit", notJSON}, []string{"notjson.json", "not valid JSON at byte 1"}},
		{"invalid document", []string{"report", "json", good, bad}, []string{"bad.json", `cases[0] (x): status "great" is not one of`}},
		{"compare needs two", []string{"report", "compare", good}, []string{"needs at least 2"}},
		{"junit of two targets", []string{"report", "junit", good, other}, []string{"merge takes runs of one target"}},
		{"unknown format", []string{"report", "pdf", good}, []string{`unknown report format "pdf"`}},
		{"no args", []string{"report", "html"}, []string{"needs at least 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, msg := execute(t, append(tt.args, "-o", filepath.Join(dir, "out.any"))...)
			if code != exitUsage {
				t.Fatalf("exit %d (%s), want %d", code, msg, exitUsage)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "out.any")); err == nil {
				t.Error("output written despite the error")
			}
		})
	}
}

// TestReportDirWriters: test --report DIR writes report.html and junit.xml beside results.json.
func TestReportDirWriters(t *testing.T) {
	dir := t.TempDir()
	r := reportstest.Generate(reportstest.Options{Cases: 10})
	if err := writeReports(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.json", "report.html", "junit.xml"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
