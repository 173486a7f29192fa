package conformance

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// runWith runs one MUST case on 3.1.1 against tg with the given timeouts.
func runWith(t *testing.T, tg *Target, to Timeouts, run func(*T)) reports.Case {
	t.Helper()
	c := Case{ID: "9.9/windows", Title: "windows test case", Level: Must, Versions: V311, Statements: []string{"MQTT-3.1.0-2"}, Run: run}
	return RunCase(context.Background(), tg, allCaps(), &c, codec.V311, to, "run12345")
}

func TestQuietWindowDefaults(t *testing.T) {
	tests := []struct {
		name      string
		in        Timeouts
		quiet     time.Duration
		tolerance time.Duration
	}{
		{"defaults", Timeouts{}, DefaultQuiet, DefaultTolerance},
		{"step widened doubles the quiet window", Timeouts{Step: 6 * time.Second}, time.Second, DefaultTolerance},
		{"step widened tenfold", Timeouts{Step: 30 * time.Second}, 5 * time.Second, DefaultTolerance},
		{"step narrowed keeps the default", Timeouts{Step: time.Second}, DefaultQuiet, DefaultTolerance},
		{"explicit quiet wins over the step", Timeouts{Step: 6 * time.Second, Quiet: 200 * time.Millisecond}, 200 * time.Millisecond, DefaultTolerance},
		{"explicit tolerance", Timeouts{Tolerance: time.Second}, DefaultQuiet, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.withDefaults()
			if got.Quiet != tc.quiet || got.Tolerance != tc.tolerance {
				t.Errorf("withDefaults(%+v): quiet %v tolerance %v, want %v %v", tc.in, got.Quiet, got.Tolerance, tc.quiet, tc.tolerance)
			}
		})
	}
}

func TestQuietWindowScaling(t *testing.T) {
	tests := []struct {
		quiet   time.Duration
		written time.Duration
		want    time.Duration
	}{
		{DefaultQuiet, 0, DefaultQuiet},
		{DefaultQuiet, 2 * time.Second, 2 * time.Second},
		{time.Second, 0, time.Second},
		{time.Second, 2 * time.Second, 4 * time.Second},
		{time.Second, 700 * time.Millisecond, 1400 * time.Millisecond},
		{250 * time.Millisecond, time.Second, 500 * time.Millisecond},
	}
	for _, tc := range tests {
		tt := newT(context.Background(), &Case{ID: "9.9/x"}, codec.V311, &Target{}, allCaps(), Timeouts{Quiet: tc.quiet}, shortID())
		if got := tt.QuietWindow(tc.written); got != tc.want {
			t.Errorf("quiet %v: QuietWindow(%v) = %v, want %v", tc.quiet, tc.written, got, tc.want)
		}
	}
	limits := []struct {
		to      Timeouts
		written time.Duration
		want    time.Duration
	}{
		{Timeouts{}, 15 * time.Second, 15 * time.Second},
		{Timeouts{Quiet: time.Second}, 15 * time.Second, 30 * time.Second},
		{Timeouts{Step: 9 * time.Second}, 10 * time.Second, 30 * time.Second},
		{Timeouts{Tolerance: 800 * time.Millisecond}, 10 * time.Second, 12 * time.Second},
	}
	for _, tc := range limits {
		if got := tc.to.withDefaults().caseLimit(tc.written); got != tc.want {
			t.Errorf("%+v: caseLimit(%v) = %v, want %v", tc.to, tc.written, got, tc.want)
		}
	}
}

// TestExpectNothingScales runs ExpectNothing(0) against a target that sends a packet 700 ms
// after its CONNACK: the default window misses it (pass), a wider quiet window — set directly or
// by widening the step timeout — catches it (fail), and the window used is in the transcript.
func TestExpectNothingScales(t *testing.T) {
	late := fakeBroker(t, connackThen(func(nc net.Conn) {
		time.Sleep(700 * time.Millisecond)
		write(nc, codec.V311, &codec.Pingresp{})
		time.Sleep(time.Second)
	}))
	tests := []struct {
		name   string
		to     Timeouts
		window string
		want   reports.Status
	}{
		{"default window", Timeouts{}, "500ms", reports.Pass},
		{"quiet window 1s", Timeouts{Quiet: time.Second}, "1s", reports.Fail},
		{"step 6s widens it", Timeouts{Step: 6 * time.Second}, "1s", reports.Fail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runWith(t, late, tc.to, func(t *T) { t.Connect(t.DefaultConnect()).ExpectNothing(0) })
			if res.Status != tc.want {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Message, tc.want)
			}
			if !transcriptHas(res, "expecting nothing for "+tc.window+" (quiet window)") {
				t.Errorf("transcript does not name the %s window: %+v", tc.window, res.Transcript)
			}
		})
	}
}

func transcriptHas(res reports.Case, s string) bool {
	for _, e := range res.Transcript {
		if strings.Contains(e.Packet, s) {
			return true
		}
	}
	return false
}

// TestKeepAliveCloseTolerance is the keep alive verdict against a fake target that closes a
// keep alive 1 s connection at 1.4, 1.55 and 2 times the keep alive: too early, within the
// bound of 1.5 and the tolerance, too late — and a wider tolerance setting admits the 2×.
func TestKeepAliveCloseTolerance(t *testing.T) {
	closeAfter := func(d time.Duration) *Target {
		return fakeBroker(t, connackThen(func(nc net.Conn) { time.Sleep(d) }))
	}
	disconnectAfter := func(d time.Duration) *Target {
		return fakeBroker(t, func(_ *testing.T, nc net.Conn) {
			if readPacket(nc, codec.VersionUnknown) == nil {
				return
			}
			write(nc, codec.V5, &codec.Connack{})
			time.Sleep(d)
			write(nc, codec.V5, &codec.Disconnect{ReasonCode: codec.ReasonKeepAliveTimeout})
			time.Sleep(time.Second) // the close itself comes late: the DISCONNECT is the time
		})
	}
	tests := []struct {
		name      string
		target    *Target
		tolerance time.Duration
		v         codec.Version
		want      reports.Status
		message   string
	}{
		{"1.4x is too early", closeAfter(1400 * time.Millisecond), 0, codec.V311, reports.Fail, "bound 1.50 s, tolerance 0.30 s: too early"},
		{"1.55x is on time", closeAfter(1550 * time.Millisecond), 0, codec.V311, reports.Pass, ""},
		{"2x is too late", closeAfter(2 * time.Second), 0, codec.V311, reports.Fail, "closed after 2.0"},
		{"2x within a 600ms tolerance", closeAfter(2 * time.Second), 600 * time.Millisecond, codec.V311, reports.Pass, ""},
		{"v5 DISCONNECT at 1.55x is the close", disconnectAfter(1550 * time.Millisecond), 0, codec.V5, reports.Pass, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Case{ID: "9.9/keepalive", Title: "keep alive", Level: Must, Versions: Both, Statements: []string{"MQTT-3.1.0-2"},
				Run: func(t *T) {
					p := t.DefaultConnect()
					p.KeepAlive = 1
					conn := t.Connect(p)
					conn.ExpectClosedAt("closed", conn.LastSent(), 1500*time.Millisecond, OrDisconnect(codec.ReasonKeepAliveTimeout))
				}}
			res := RunCase(context.Background(), tc.target, allCaps(), &c, tc.v, Timeouts{Step: time.Second, Tolerance: tc.tolerance}, "run12345")
			if res.Status != tc.want || !strings.Contains(res.Message, tc.message) {
				t.Fatalf("status %s (%q), want %s with %q", res.Status, res.Message, tc.want, tc.message)
			}
			if !transcriptHas(res, "closed after ") {
				t.Errorf("the measured time is not in the transcript: %+v", res.Transcript)
			}
		})
	}
}

// TestTimedPacket judges packet arrival times: ExpectAt against a lower and an upper bound
// (a Will Delay), ExpectDue against the upper one only (a PINGREQ within the keep alive).
func TestTimedPacket(t *testing.T) {
	sendAfter := func(d time.Duration) *Target {
		return fakeBroker(t, connackThen(func(nc net.Conn) {
			time.Sleep(d)
			write(nc, codec.V311, &codec.Pingresp{})
			time.Sleep(time.Second)
		}))
	}
	at := func(t *T) {
		conn := t.Connect(t.DefaultConnect())
		conn.ExpectAt("answered", conn.LastSent(), 500*time.Millisecond, Pingresp())
	}
	due := func(t *T) {
		conn := t.Connect(t.DefaultConnect())
		conn.ExpectDue("answered", conn.LastSent(), 500*time.Millisecond, Pingresp())
	}
	tests := []struct {
		name    string
		target  *Target
		run     func(*T)
		want    reports.Status
		message string
	}{
		{"at: early", sendAfter(200 * time.Millisecond), at, reports.Fail, "too early"},
		{"at: on time", sendAfter(550 * time.Millisecond), at, reports.Pass, ""},
		{"at: late", sendAfter(1100 * time.Millisecond), at, reports.Fail, "answered after 1.1"},
		{"due: early is fine", sendAfter(200 * time.Millisecond), due, reports.Pass, ""},
		{"due: late", sendAfter(1100 * time.Millisecond), due, reports.Fail, "too late"},
		{"due: never", sendAfter(3 * time.Second), due, reports.Fail, "nothing after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runWith(t, tc.target, Timeouts{Step: time.Second}, tc.run)
			if res.Status != tc.want || !strings.Contains(res.Message, tc.message) {
				t.Fatalf("status %s (%q), want %s with %q", res.Status, res.Message, tc.want, tc.message)
			}
		})
	}
}

// TestRunReportsWindows checks that a run's results name the windows its verdicts were reached
// with, and that a quiet sleep notes its window.
func TestRunReportsWindows(t *testing.T) {
	tg := fakeBroker(t, connackThen(func(nc net.Conn) {}))
	tests := []struct {
		to                     Timeouts
		step, quiet, tolerance string
	}{
		{Timeouts{}, "3s", "500ms", "300ms"},
		{Timeouts{Step: 6 * time.Second}, "6s", "1s", "300ms"},
		{Timeouts{Step: 6 * time.Second, Quiet: 100 * time.Millisecond, Tolerance: time.Second}, "6s", "100ms", "1s"},
	}
	for _, tc := range tests {
		r := &Runner{Target: tg, Caps: allCaps(), Versions: []codec.Version{codec.V311}, Timeouts: tc.to}
		cases := []Case{{ID: "3.1/sleeps", Title: "t", Level: Must, Versions: V311, Statements: []string{"MQTT-3.1.0-2"},
			Run: func(t *T) { t.SleepQuiet(100 * time.Millisecond) }}}
		res, err := r.Run(context.Background(), cases)
		if err != nil {
			t.Fatal(err)
		}
		info := res.Target.Info
		if info["step_timeout"] != tc.step || info["quiet_window"] != tc.quiet || info["timing_tolerance"] != tc.tolerance {
			t.Errorf("%+v: target info %v, want step %s quiet %s tolerance %s", tc.to, info, tc.step, tc.quiet, tc.tolerance)
		}
		if !transcriptHas(res.Cases[0], "(quiet window)") {
			t.Errorf("%+v: the quiet sleep is not in the transcript: %+v", tc.to, res.Cases[0].Transcript)
		}
	}
}
