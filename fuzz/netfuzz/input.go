// Package netfuzz fuzzes a live MQTT broker over TCP: it mutates valid client sessions along the
// protocol's grammar, sends each one, probes the broker's liveness afterwards, and turns a crash
// (the probe cannot connect) or a hang (the probe gets no answer) into a minimized, replayable
// reproducer file.
package netfuzz

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Step is one write of an input: Data sent after waiting Delay.
type Step struct {
	Delay time.Duration
	Data  []byte
}

// Input is what the fuzzer sends on one connection.
type Input []Step

// Size is the number of bytes the input sends.
func (in Input) Size() int {
	n := 0
	for _, s := range in {
		n += len(s.Data)
	}
	return n
}

// Duration is the sum of the input's delays.
func (in Input) Duration() time.Duration {
	var d time.Duration
	for _, s := range in {
		d += s.Delay
	}
	return d
}

func (in Input) clone() Input {
	out := make(Input, len(in))
	for i, s := range in {
		out[i] = Step{Delay: s.Delay, Data: append([]byte(nil), s.Data...)}
	}
	return out
}

// Kinds of finding.
const (
	Crash = "crash" // the liveness probe could not connect any more
	Hang  = "hang"  // the probe connected but got no CONNACK or PINGRESP in time
)

// Reproducer is a finding as stored on disk (JSON): the bytes of every write with the pause
// before it, what went wrong, and where. `mqttspec fuzz replay FILE --target …` sends it again.
type Reproducer struct {
	Kind      string    `json:"kind"`
	Detail    string    `json:"detail"`
	Target    string    `json:"target"`
	Version   string    `json:"version"`
	Seed      int64     `json:"seed"`
	Found     time.Time `json:"found"`
	Minimized bool      `json:"minimized"`
	// Original is the size in bytes of the input before minimization.
	Original int         `json:"original_bytes,omitempty"`
	Steps    []stepJSON  `json:"steps"`
	Mutation string      `json:"mutation,omitempty"`
	Timing   *timingJSON `json:"timing,omitempty"`
}

type stepJSON struct {
	DelayMS int64  `json:"delay_ms"`
	Hex     string `json:"hex"`
}

type timingJSON struct {
	ProbeTimeoutMS int64 `json:"probe_timeout_ms"`
}

// Input returns the reproducer's steps as an Input.
func (r *Reproducer) Input() (Input, error) {
	in := make(Input, 0, len(r.Steps))
	for i, s := range r.Steps {
		b, err := hex.DecodeString(s.Hex)
		if err != nil {
			return nil, fmt.Errorf("step %d: hex: %w", i+1, err)
		}
		if s.DelayMS < 0 || s.DelayMS > 60_000 {
			return nil, fmt.Errorf("step %d: delay %d ms out of range (0-60000)", i+1, s.DelayMS)
		}
		in = append(in, Step{Delay: time.Duration(s.DelayMS) * time.Millisecond, Data: b})
	}
	return in, nil
}

// newReproducer records in as a finding.
func newReproducer(kind, detail, target, version string, seed int64, in Input, mutation string, probe time.Duration) *Reproducer {
	r := &Reproducer{Kind: kind, Detail: detail, Target: target, Version: version, Seed: seed,
		Found: time.Now().UTC().Truncate(time.Second), Mutation: mutation, Original: in.Size(),
		Timing: &timingJSON{ProbeTimeoutMS: probe.Milliseconds()}}
	r.setInput(in)
	return r
}

func (r *Reproducer) setInput(in Input) {
	r.Steps = r.Steps[:0]
	for _, s := range in {
		r.Steps = append(r.Steps, stepJSON{DelayMS: s.Delay.Milliseconds(), Hex: hex.EncodeToString(s.Data)})
	}
}

// Save writes the reproducer to dir as <kind>-<hash>[-min].json and returns the path.
func (r *Reproducer) Save(dir string) (string, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, s := range r.Steps {
		fmt.Fprintf(h, "%d:%s;", s.DelayMS, s.Hex)
	}
	name := fmt.Sprintf("%s-%x", r.Kind, h.Sum(nil)[:6])
	if r.Minimized {
		name += "-min"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".json")
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// LoadReproducer reads a reproducer file, checking what it says.
func LoadReproducer(path string) (*Reproducer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > 64<<20 {
		return nil, fmt.Errorf("%s: %d bytes, more than a reproducer holds", path, len(b))
	}
	var r Reproducer
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Kind != Crash && r.Kind != Hang {
		return nil, fmt.Errorf("%s: kind %q (want crash or hang)", path, r.Kind)
	}
	if len(r.Steps) == 0 {
		return nil, fmt.Errorf("%s: no steps", path)
	}
	if _, err := r.Input(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
