package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reports"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		note string
		kind string
		ms   float64
		ok   bool
	}{
		{conformance.EffectNote + "delivery 12.5ms (settle window 1s)", "delivery", 12.5, true},
		{conformance.EffectNote + "retained-delete 0.0ms (settle window 2s)", "retained-delete", 0, true},
		{conformance.EffectNote + "takeover", "", 0, false},
		{conformance.EffectNote + "takeover soon", "", 0, false},
		{"connected to 127.0.0.1:1883", "", 0, false},
	} {
		kind, ms, ok := parse(tc.note)
		if kind != tc.kind || ms != tc.ms || ok != tc.ok {
			t.Errorf("parse(%q) = %q %v %v, want %q %v %v", tc.note, kind, ms, ok, tc.kind, tc.ms, tc.ok)
		}
	}
}

func TestRunTable(t *testing.T) {
	note := func(kind, ms string) reports.Event {
		return reports.Event{Dir: "note", Packet: conformance.EffectNote + kind + " " + ms + "ms (settle window 1s)"}
	}
	res := reports.Results{Cases: []reports.Case{
		{ID: "cluster/a", Transcript: []reports.Event{note("delivery", "1.0"), note("delivery", "3.0"), note("takeover", "7.5")}},
		{ID: "cluster/b", Transcript: []reports.Event{note("delivery", "10.0"), {Dir: "note", Packet: "other"}}},
	}}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(&out, []string{f}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| delivery | 3 | 3.0 ms | 10.0 ms |", "| takeover | 1 | 7.5 ms | 7.5 ms |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(&out, []string{filepath.Join(t.TempDir(), "missing.json")}); err == nil {
		t.Error("a missing file gave no error")
	}
}
