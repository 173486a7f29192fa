package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reports"
)

func TestProgressETA(t *testing.T) {
	for _, tc := range []struct {
		name      string
		remaining []time.Duration
		elapsed   time.Duration
		inFlight  int
		want      time.Duration
	}{
		{"the longest case bounds the run", []time.Duration{5 * time.Second, time.Second, time.Second}, 0, 32, 5 * time.Second},
		{"the longest has been running since the start", []time.Duration{5 * time.Second, time.Second}, 2 * time.Second, 32, 3 * time.Second},
		{"more work than the open slots take", []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}, 0, 2, 4 * time.Second},
		{"an overdue case: no negative estimate, its share of the slots", []time.Duration{time.Second}, 3 * time.Second, 8, time.Second / 8},
		{"nothing left", nil, time.Second, 8, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Unix(1000, 0)
			p := &progressLine{start: start, now: func() time.Time { return start.Add(tc.elapsed) }, inFlight: tc.inFlight, remaining: map[string]time.Duration{}}
			for i, d := range tc.remaining {
				p.remaining[string(rune('a'+i))] = d
			}
			if got := p.eta(); got != tc.want {
				t.Fatalf("eta %v, want %v", got, tc.want)
			}
		})
	}
}

// TestProgressLine checks what a terminal shows: done/total, the failures so far and the ETA,
// with each failure's message on a line of its own.
func TestProgressLine(t *testing.T) {
	cases := []conformance.Case{
		{ID: "4.4/not-resent-while-connected", Versions: conformance.V5}, // 5 s in the baseline
		{ID: "9.9/quick", Versions: conformance.Both},
	}
	var out bytes.Buffer
	r := &conformance.Runner{Versions: []codec.Version{codec.V311, codec.V5}, Parallel: 8}
	p := newProgress(&out, r, cases)
	if p.total != 3 {
		t.Fatalf("total %d, want 3 (one case on one version, one on two)", p.total)
	}
	p.update(reports.Case{ID: "9.9/quick", Version: "3.1.1", Status: reports.Fail, Message: "boom"})
	if s := out.String(); !strings.Contains(s, "[1/3] 1 failed, ETA 5s") || !strings.Contains(s, "\n        boom\n") {
		t.Fatalf("progress after a failure: %q", s)
	}
	out.Reset()
	p.update(reports.Case{ID: "4.4/not-resent-while-connected", Version: "5.0", Status: reports.Pass})
	if s := out.String(); !strings.Contains(s, "[2/3] 1 failed, ETA 0s") {
		t.Fatalf("progress once the long case ended: %q (only a short case is left)", s)
	}
}

func TestRunHistory(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	r := &conformance.Runner{Target: &conformance.Target{Name: "tcp://127.0.0.1:1883"}}
	path := historyFile(r)
	if path == "" || filepath.Base(filepath.Dir(path)) != "durations" {
		t.Fatalf("history file %q", path)
	}
	if other := historyFile(&conformance.Runner{Target: &conformance.Target{Name: "tcp://127.0.0.1:1884"}}); other == path {
		t.Fatal("two targets share a history file")
	}
	if loadHistory(path) != nil {
		t.Fatal("a history before any run")
	}
	first := &reports.Results{Cases: []reports.Case{
		{ID: "3.1/a", Version: "5.0", Status: reports.Pass, DurationMs: 1500},
		{ID: "3.1/b", Version: "5.0", Status: reports.Pass, DurationMs: 20},
	}}
	second := &reports.Results{Cases: []reports.Case{{ID: "3.1/b", Version: "5.0", Status: reports.Fail, DurationMs: 3000}}}
	for _, res := range []*reports.Results{first, second} {
		if err := saveHistory(path, res); err != nil {
			t.Fatal(err)
		}
	}
	got := loadHistory(path)
	want := map[string]time.Duration{"3.1/a@5.0": 1500 * time.Millisecond, "3.1/b@5.0": 3 * time.Second}
	if len(got) != len(want) || got["3.1/a@5.0"] != want["3.1/a@5.0"] || got["3.1/b@5.0"] != want["3.1/b@5.0"] {
		t.Fatalf("history %v, want %v (the second run updates b and keeps a)", got, want)
	}
}
