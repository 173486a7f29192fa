package conformance

import (
	"context"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// Timeouts bound every wait of a case (windows.go has the defaults and the reasons for them).
type Timeouts struct {
	Step time.Duration // how long an Expect waits for a packet or a close (default DefaultStep)
	// Quiet is the quiet window: how long a case waits before concluding that something
	// forbidden did not happen (Conn.ExpectNothing, T.SleepQuiet). Every such wait scales with it.
	// Default DefaultQuiet, or, when Step is above DefaultStep, widened in the same proportion.
	Quiet time.Duration
	// Tolerance is how late past a statement's bound a timed effect may be observed (keep alive,
	// Will Delay, session and message expiry); default DefaultTolerance.
	Tolerance time.Duration
	Case      time.Duration // hard deadline of a whole case (default 30s), grown with the windows
	// Settle is the settle window of a multi-node target: how much longer than Step a cross-node
	// effect may take to appear (default DefaultSettle; cluster.go).
	Settle time.Duration
}

func (to Timeouts) withDefaults() Timeouts {
	if to.Step <= 0 {
		to.Step = DefaultStep
	}
	if to.Quiet <= 0 {
		// A user who widens the step timeout for a slow target wants the quiet windows
		// widened too; narrowing it (for speed) does not shorten them below the default.
		to.Quiet = max(DefaultQuiet, time.Duration(float64(to.Step)*float64(DefaultQuiet)/float64(DefaultStep)))
	}
	if to.Tolerance <= 0 {
		to.Tolerance = DefaultTolerance
	}
	if to.Case <= 0 {
		to.Case = 30 * time.Second
	}
	if to.Settle <= 0 {
		to.Settle = DefaultSettle
	}
	return to
}

// T is the state of one case run on one protocol version. Its methods that fail the case end
// the case's goroutine (like testing.T.FailNow), so a case reads as a straight script.
type T struct {
	Version  codec.Version
	Target   *Target
	Caps     *Capabilities
	Timeouts Timeouts

	ctx    context.Context
	cancel context.CancelFunc
	c      *Case
	start  time.Time
	id     string // random per case run, for client ids and topics
	runID  string

	mu         sync.Mutex
	events     []reports.Event
	conns      []*Conn
	n          int
	status     reports.Status
	message    string
	expected   string
	actual     string
	finished   bool
	warnings   []string
	maxEvents  int
	eventsLost int

	client *clientSide // client-role runs only

	authStep func(challenge []byte) ([]byte, error) // the exchange StartAuth began

	effects []effect // measured cross-node delays (cluster.go)
}

func newT(ctx context.Context, c *Case, v codec.Version, tg *Target, caps *Capabilities, to Timeouts, runID string) *T {
	t := &T{Version: v, Target: tg, Caps: caps, Timeouts: to.withDefaults(), c: c, start: time.Now(),
		id: shortID()[:6], runID: runID, status: reports.Pass, maxEvents: 2000}
	t.ctx, t.cancel = context.WithCancel(ctx)
	return t
}

// Context is cancelled when the case ends or passes its hard deadline.
func (t *T) Context() context.Context { return t.ctx }

// Case returns the case being run.
func (t *T) Case() *Case { return t.c }

// V5 reports whether the case runs on MQTT 5.0.
func (t *T) V5() bool { return t.Version == codec.V5 }

// ClientID returns a client identifier unique to this case run: at most 23 characters from
// [0-9a-zA-Z], which every server must accept (MQTT-3.1.3-5).
func (t *T) ClientID() string {
	t.mu.Lock()
	t.n++
	n := t.n
	t.mu.Unlock()
	return "ms" + t.runID[:6] + t.id + strconv.Itoa(n)
}

// Topic returns a topic name unique to this case run, ending in name.
func (t *T) Topic(name string) string {
	return "mqttspec/" + t.runID + "/" + t.id + "/" + name
}

// TopicPrefix is the unique prefix of this case run's topics (filters can add wildcards to it).
func (t *T) TopicPrefix() string { return "mqttspec/" + t.runID + "/" + t.id }

// Logf adds a note to the transcript.
func (t *T) Logf(format string, args ...any) { t.note("", fmt.Sprintf(format, args...)) }

// Warnf records that a SHOULD-level expectation was not met without ending the case; a case
// that passes otherwise ends as warn. Only SHOULD and MAY cases may call it: in a MUST case the
// result is error (a harness defect), because a MUST verdict is pass or fail.
func (t *T) Warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.note("", "warning: "+msg+at(caseSource()))
	t.mu.Lock()
	t.warnings = append(t.warnings, msg)
	t.mu.Unlock()
}

// Fatalf fails the case with a message and ends it.
func (t *T) Fatalf(format string, args ...any) {
	t.finish(reports.Fail, fmt.Sprintf(format, args...), "", "")
}

// Failf fails the case with expected and actual descriptions and ends it.
func (t *T) Failf(expected, actual string, format string, args ...any) {
	t.finish(reports.Fail, fmt.Sprintf(format, args...), expected, actual)
}

// Skipf marks the case skipped and ends it.
func (t *T) Skipf(format string, args ...any) {
	t.finish(reports.Skip, fmt.Sprintf(format, args...), "", "")
}

// Errorf ends the case with status error: the harness could not judge (connection refused…).
func (t *T) Errorf(format string, args ...any) {
	t.finish(reports.Error, fmt.Sprintf(format, args...), "", "")
}

// Require skips the case unless the target has every feature.
func (t *T) Require(fs ...Feature) {
	for _, f := range fs {
		if why, missing := t.Caps.Missing[f]; missing {
			t.Skipf("target lacks %s: %s", f, why)
		}
	}
}

func (t *T) finish(s reports.Status, msg, expected, actual string) {
	t.mu.Lock()
	if !t.finished {
		t.finished = true
		t.status, t.message, t.expected, t.actual = s, msg, expected, actual
	}
	t.mu.Unlock()
	if s != reports.Pass {
		t.note("", string(s)+": "+msg+at(caseSource()))
	}
	runtime.Goexit()
}

// at renders a source location for a transcript note.
func at(src string) string {
	if src == "" {
		return ""
	}
	return " (at " + src + ")"
}

// Sleep waits d or until the case is cancelled.
func (t *T) Sleep(d time.Duration) {
	defer beginWait(t.ctx)() // an idle case gives its run slot away (schedule.go)
	select {
	case <-time.After(d):
	case <-t.ctx.Done():
		t.Errorf("case cancelled while sleeping: %v", context.Cause(t.ctx))
	}
}

func (t *T) since() float64 { return float64(time.Since(t.start).Microseconds()) / 1000 }

func (t *T) record(conn, dir string, raw []byte, text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.events) >= t.maxEvents {
		t.eventsLost++
		return
	}
	e := reports.Event{TMs: t.since(), Conn: conn, Dir: dir, Packet: text}
	if raw != nil {
		const maxHex = 4096
		if len(raw) > maxHex {
			e.Hex = hex.EncodeToString(raw[:maxHex])
			e.Packet += fmt.Sprintf(" (hex truncated: %d of %d bytes shown)", maxHex, len(raw))
		} else {
			e.Hex = hex.EncodeToString(raw)
		}
	}
	t.events = append(t.events, e)
}

func (t *T) note(conn, text string) { t.record(conn, "note", nil, text) }

// MustWarningDefect starts the message of a MUST case that called Warnf: its result is error,
// not warn, because a MUST verdict is pass or fail (tests look for it).
const MustWarningDefect = "harness defect: a MUST case recorded a warning (a MUST case must pass or fail): "

// result builds the report entry once the case has ended.
func (t *T) result(v codec.Version, dur time.Duration) reports.Case {
	t.mu.Lock()
	defer t.mu.Unlock()
	status, msg := t.status, t.message
	if status == reports.Pass && len(t.warnings) > 0 {
		status, msg = reports.Warn, t.warnings[0]
		// A MUST case judges only what its statements require, so it passes or fails: a warning
		// inside one is a defect of the case, reported as such rather than as a verdict.
		if t.c.Level == Must {
			status, msg = reports.Error, MustWarningDefect+t.warnings[0]
		}
	}
	if msg == "" && len(t.effects) > 0 {
		msg = t.effectSummary()
	}
	// A failed SHOULD or MAY is a warning, not a failure.
	if status == reports.Fail && t.c.Level != Must {
		status = reports.Warn
	}
	events := t.events
	if t.eventsLost > 0 {
		events = append(events, reports.Event{TMs: t.since(), Dir: "note", Packet: fmt.Sprintf("%d more events not recorded", t.eventsLost)})
	}
	return reports.Case{
		ID: t.c.ID, Title: t.c.Title, Section: t.c.Section(), Source: t.c.Source, Statements: t.c.StatementsFor(v),
		Version: v.String(), Role: string(t.c.Role), Level: t.c.Level.String(), Status: status, Message: msg,
		Expected: t.expected, Actual: t.actual, DurationMs: float64(dur.Microseconds()) / 1000, Transcript: events,
	}
}

// closeAll closes every connection of the case.
func (t *T) closeAll() {
	t.mu.Lock()
	conns := append([]*Conn(nil), t.conns...)
	t.mu.Unlock()
	for _, c := range conns {
		c.shut()
	}
}
