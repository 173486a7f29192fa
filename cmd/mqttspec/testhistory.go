package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reports"
)

// The durations of the last run against a target, kept in the user's cache directory, order
// the next run against it: longest case first, so the run takes about as long as its longest
// case (conformance/schedule.go). The file is an optimisation only: when it cannot be read or
// written the run goes on with the reference broker's baseline.

// historyFile returns the history file of the run's target ("" when there is no cache
// directory). A broker run is keyed by the target's name (the --target URL unless --name is
// given; the embedded broker's name is fixed), a client run by its driver.
func historyFile(r *conformance.Runner) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	key := ""
	switch {
	case r.Driver != nil:
		key = "client-" + r.Driver.Name()
	case r.Target != nil:
		key = "broker-" + r.Target.Name
	default:
		return ""
	}
	return filepath.Join(dir, "mqttspec", "durations", historyName(key))
}

// historyName makes a file name of key: its safe characters, and a hash that keeps two keys
// differing only in the others apart.
func historyName(key string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, key)
	if len(safe) > 80 {
		safe = safe[:80]
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return fmt.Sprintf("%s-%08x.json", safe, h.Sum32())
}

// loadHistory reads a history file: durations in milliseconds by conformance.DurationKey.
func loadHistory(path string) map[string]time.Duration {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var ms map[string]float64
	if json.Unmarshal(b, &ms) != nil {
		return nil // a damaged cache file only costs the ordering
	}
	out := make(map[string]time.Duration, len(ms))
	for k, v := range ms {
		if v > 0 {
			out[k] = time.Duration(v * float64(time.Millisecond))
		}
	}
	return out
}

// saveHistory merges the durations of res into the history file: a run of a few cases keeps
// what earlier runs learned about the others.
func saveHistory(path string, res *reports.Results) error {
	if path == "" {
		return nil
	}
	merged := loadHistory(path)
	if merged == nil {
		merged = map[string]time.Duration{}
	}
	for k, d := range conformance.ExpectedDurations(res) {
		merged[k] = d
	}
	ms := make(map[string]int64, len(merged))
	for k, d := range merged {
		ms[k] = max(1, d.Milliseconds())
	}
	b, err := json.Marshal(ms)
	if err != nil {
		return fmt.Errorf("encode run history: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("run history: %w", err)
	}
	// Written aside and renamed, so that two runs at once never leave half a file.
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("run history: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("run history: %w", err)
	}
	return nil
}
