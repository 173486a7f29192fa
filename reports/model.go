// Package reports holds mqttspec's result model — results.json, the canonical output of every run
// (broker and client conformance, pcap check) — and reads, validates and writes it. The renderers
// (HTML, JUnit, Markdown) live in subpackages and take a *Results.
package reports

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Schema is the value of the "schema" field this package writes and accepts.
const Schema = "mqttspec/results/v1"

// Status is the graded outcome of a case.
type Status string

// Case outcomes, Autobahn-style: pass; fail (a MUST was broken); warn (a SHOULD was not met);
// skip (the target lacks a feature the case needs, or the case does not apply); error (the
// run could not judge: connection refused, timeout of the harness itself…).
const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Warn  Status = "warn"
	Skip  Status = "skip"
	Error Status = "error"
)

// Statuses lists the statuses in report order.
var Statuses = []Status{Pass, Fail, Warn, Skip, Error}

// Valid reports whether s is one of the five statuses.
func (s Status) Valid() bool {
	switch s {
	case Pass, Fail, Warn, Skip, Error:
		return true
	}
	return false
}

// Tool identifies the program that produced the results.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Target describes what was tested.
type Target struct {
	Name      string            `json:"name"`                // a label for comparisons: "mosquitto 2.0.11", "embedded"
	URL       string            `json:"url,omitempty"`       // tcp://127.0.0.1:1883, embedded, file.pcap
	Role      string            `json:"role"`                // "broker" or "client" (what was under test)
	Transport string            `json:"transport,omitempty"` // tcp, tls, ws, wss, pcap
	Driver    string            `json:"driver,omitempty"`    // client runs: reference, mosquitto, mqttjs, paho, cmd
	Info      map[string]string `json:"info,omitempty"`      // discovered capabilities and free-form facts
}

// Counts is a tally per status.
type Counts struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Skip  int `json:"skip"`
	Error int `json:"error"`
}

// Add counts one status.
func (c *Counts) Add(s Status) {
	switch s {
	case Pass:
		c.Pass++
	case Fail:
		c.Fail++
	case Warn:
		c.Warn++
	case Skip:
		c.Skip++
	case Error:
		c.Error++
	}
}

// Get returns the count for a status.
func (c Counts) Get(s Status) int {
	switch s {
	case Pass:
		return c.Pass
	case Fail:
		return c.Fail
	case Warn:
		return c.Warn
	case Skip:
		return c.Skip
	case Error:
		return c.Error
	}
	return 0
}

// Total is the number of cases counted.
func (c Counts) Total() int { return c.Pass + c.Fail + c.Warn + c.Skip + c.Error }

// Coverage is statement coverage for one specification version, counted over the
// wire-testable Appendix B statements binding the side under test (the server for broker runs,
// the client for client runs, plus those binding both). A statement counts for a run only when a
// case citing it ran to a verdict on this target: pass or fail, or warn for a SHOULD/MAY case;
// skipped and errored cases count for nothing.
type Coverage struct {
	Testable int `json:"testable"` // wire-testable statements of the version (for the role)
	// Tested counts the statements a case ran to a verdict for (results written before proofs
	// existed counted every case that was not skipped or errored, warns and MUSTs alike).
	Tested int `json:"tested"`
	// Proven counts, among Tested, the statements for which a case proven by a deliberate fault
	// of the reference implementation (the fault breaks the statement and the case fails under
	// it) ran to a verdict here: those verdicts are known to be able to fail. Zero in results
	// written before proofs existed.
	Proven  int      `json:"proven,omitempty"`
	Missing []string `json:"missing,omitempty"` // testable statement IDs no case ran to a verdict for
	// Skips says, for each missing statement that some case cites, why those cases did not run
	// here: their distinct skip reasons, which name the feature or flag that would run them.
	Skips []StatementSkip `json:"skips,omitempty"`
}

// StatementSkip is one statement no case ran for, and why its cases were skipped.
type StatementSkip struct {
	ID      string   `json:"id"`
	Reasons []string `json:"reasons"` // distinct skip messages of the cases citing it
}

// Percent returns Tested/Testable in percent (0 when nothing is testable).
func (c Coverage) Percent() float64 {
	if c.Testable == 0 {
		return 0
	}
	return 100 * float64(c.Tested) / float64(c.Testable)
}

// ProvenPercent returns Proven/Testable in percent (0 when nothing is testable).
func (c Coverage) ProvenPercent() float64 {
	if c.Testable == 0 {
		return 0
	}
	return 100 * float64(c.Proven) / float64(c.Testable)
}

// Event is one line of a transcript: a packet (or raw bytes) sent or received, or a note.
type Event struct {
	TMs    float64 `json:"t_ms"`             // milliseconds since the case started
	Conn   string  `json:"conn"`             // connection label: "c1", "sub", "client"…
	Dir    string  `json:"dir"`              // "send", "recv", "note" (connect, close, timeout…)
	Hex    string  `json:"hex,omitempty"`    // raw bytes
	Packet string  `json:"packet,omitempty"` // decoded packet, or the decode error, or the note
}

// Case is the result of one case on one version.
type Case struct {
	ID         string   `json:"id"`                 // stable: "3.1/second-connect-closes"
	Title      string   `json:"title"`              // one line
	Section    string   `json:"section"`            // spec section: "3.1"
	Source     string   `json:"source,omitempty"`   // where the case is defined: "conformance/catalog/broker/3_1_connect.go:42"
	Statements []string `json:"statements"`         // normative statement IDs the case checks
	Version    string   `json:"version"`            // "3.1.1" or "5.0"
	Role       string   `json:"role"`               // "broker" or "client"
	Level      string   `json:"level"`              // "MUST", "SHOULD", "MAY"
	Status     Status   `json:"status"`             // pass/fail/warn/skip/error
	Message    string   `json:"message,omitempty"`  // why: expected vs actual, or skip reason
	Expected   string   `json:"expected,omitempty"` // what the case expected (on failure)
	Actual     string   `json:"actual,omitempty"`   // what arrived instead
	DurationMs float64  `json:"duration_ms"`
	Transcript []Event  `json:"transcript,omitempty"`
	Labels     []string `json:"labels,omitempty"`
	// Reruns are the verdicts of the same case in further runs of the same target (mqttspec
	// matrix runs every target more than once), in run order; Status is the first run's. A case
	// whose reruns differ from Status is unstable.
	Reruns []Status `json:"reruns,omitempty"`
}

// Unstable reports whether a rerun of the case ended with another verdict than the first run.
func (c *Case) Unstable() bool {
	for _, s := range c.Reruns {
		if s != c.Status {
			return true
		}
	}
	return false
}

// Judged reports whether the case ran to a verdict on its statements: pass or fail, or warn
// for a SHOULD/MAY case. Skips and errors judged nothing, and neither did a MUST case that ended
// as warn (a MUST statement is met or broken). Coverage counts a statement only through judged
// cases.
func (c *Case) Judged() bool {
	switch c.Status {
	case Pass, Fail:
		return true
	case Warn:
		return c.Level != "MUST" && c.Level != ""
	}
	return false
}

// Key identifies a case result across runs: ID and version.
func (c *Case) Key() string { return c.ID + "@" + c.Version }

// Results is the whole results.json document.
type Results struct {
	Schema     string              `json:"schema"`
	Tool       Tool                `json:"tool"`
	Target     Target              `json:"target"`
	Started    time.Time           `json:"started"`
	DurationMs float64             `json:"duration_ms"`
	Summary    Counts              `json:"summary"`
	Coverage   map[string]Coverage `json:"coverage,omitempty"` // by version: "3.1.1", "5.0"
	Cases      []Case              `json:"cases"`
	// Incomplete is set when the run was cut short (whole-run deadline, interrupt); unfinished
	// cases are then listed with status error.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Recount recomputes Summary from Cases.
func (r *Results) Recount() {
	r.Summary = Counts{}
	for i := range r.Cases {
		r.Summary.Add(r.Cases[i].Status)
	}
}

// Sort orders cases by section (numerically), then ID, then version.
func (r *Results) Sort() {
	sort.SliceStable(r.Cases, func(i, j int) bool {
		a, b := &r.Cases[i], &r.Cases[j]
		if c := CompareSections(a.Section, b.Section); c != 0 {
			return c < 0
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Version < b.Version
	})
}

// CompareSections orders "3.10" after "3.9" (numeric, dot-separated); non-numeric parts compare
// as strings.
func CompareSections(a, b string) int {
	// Without allocating: it is a sort comparator, and check runs sort results per capture.
	moreA, moreB := true, true
	for moreA && moreB {
		var x, y string
		x, a, moreA = strings.Cut(a, ".")
		y, b, moreB = strings.Cut(b, ".")
		nx, okx := leadingInt(x)
		ny, oky := leadingInt(y)
		if okx && oky {
			if nx != ny {
				return cmp.Compare(nx, ny)
			}
		} else if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	switch {
	case moreA == moreB:
		return 0
	case moreA: // more parts
		return 1
	default:
		return -1
	}
}

// leadingInt reads the decimal number a section part starts with ("10" of "10a"), as %d reads it.
func leadingInt(s string) (int, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, false
	}
	n, err := strconv.Atoi(s[:j])
	return n, err == nil
}

// ValidationError lists everything wrong with a results document.
type ValidationError struct {
	Source   string
	Problems []string
}

func (e *ValidationError) Error() string {
	src := e.Source
	if src == "" {
		src = "results"
	}
	if len(e.Problems) == 1 {
		return fmt.Sprintf("%s: %s", src, e.Problems[0])
	}
	return fmt.Sprintf("%s: %d problems:\n  - %s", src, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// Validate checks the document: schema, statuses, required fields, duplicate cases and a summary
// that agrees with the cases.
func (r *Results) Validate() error {
	var p []string
	add := func(format string, a ...any) {
		if len(p) < 50 {
			p = append(p, fmt.Sprintf(format, a...))
		}
	}
	if r.Schema != Schema {
		add("schema is %q, want %q", r.Schema, Schema)
	}
	if r.Target.Role != "broker" && r.Target.Role != "client" {
		add("target.role is %q, want broker or client", r.Target.Role)
	}
	seen := map[string]int{}
	var c Counts
	for i := range r.Cases {
		cs := &r.Cases[i]
		where := fmt.Sprintf("cases[%d]", i)
		if cs.ID == "" {
			add("%s: id is empty", where)
		} else {
			where = fmt.Sprintf("cases[%d] (%s)", i, cs.ID)
		}
		if !cs.Status.Valid() {
			add("%s: status %q is not one of pass, fail, warn, skip, error", where, cs.Status)
		}
		if cs.Version == "" {
			add("%s: version is empty", where)
		}
		if j, dup := seen[cs.Key()]; dup {
			add("%s: duplicate of cases[%d] for version %s", where, j, cs.Version)
		}
		seen[cs.Key()] = i
		for k, st := range cs.Reruns {
			if !st.Valid() {
				add("%s: reruns[%d] %q is not one of pass, fail, warn, skip, error", where, k, st)
				break
			}
		}
		for k, e := range cs.Transcript {
			if e.Dir != "send" && e.Dir != "recv" && e.Dir != "note" {
				add("%s: transcript[%d].dir is %q, want send, recv or note", where, k, e.Dir)
				break
			}
		}
		c.Add(cs.Status)
	}
	if c != r.Summary {
		add("summary %+v disagrees with the cases %+v", r.Summary, c)
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// Decode reads and validates a results document. Unknown fields are rejected so that a typo or
// a file of another kind is caught rather than silently read as empty.
func Decode(r io.Reader, source string) (*Results, error) {
	dec := json.NewDecoder(io.LimitReader(r, 1<<30))
	dec.DisallowUnknownFields()
	var res Results
	if err := dec.Decode(&res); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("%s: not valid JSON at byte %d: %v", source, se.Offset, err)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%s: field %q has the wrong type at byte %d: want %v", source, te.Field, te.Offset, te.Type)
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if err := res.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.Source = source
		}
		return nil, err
	}
	return &res, nil
}

// ReadFile reads and validates a results.json file.
func ReadFile(path string) (*Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Decode(f, path)
}

// Encode writes the document as indented JSON. It recounts the summary first.
func (r *Results) Encode(w io.Writer) error {
	if r.Schema == "" {
		r.Schema = Schema
	}
	r.Recount()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteFile writes the document atomically (temp file + rename), so a crash never leaves a
// truncated results.json behind.
func (r *Results) WriteFile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := r.Encode(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
