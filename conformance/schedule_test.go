package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

func TestScheduleOrder(t *testing.T) {
	cases := []Case{
		{ID: "9.9/quick"},
		{ID: "9.9/declared", Timeout: 15 * time.Second},
		{ID: "9.9/measured"},
		{ID: "9.9/also-quick"},
		{ID: "4.4/not-resent-while-connected"}, // in the reference broker's baseline
	}
	jobs := func() []job {
		var out []job
		for i := range cases {
			out = append(out, job{&cases[i], codec.V5})
		}
		return out
	}()
	ids := func(r *Runner) []string {
		var out []string
		for _, i := range r.scheduleOrder(jobs) {
			out = append(out, jobs[i].c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		expected map[string]time.Duration
		want     []string
	}{
		{"no history: declared timeout, then baseline, then catalog order", nil,
			[]string{"9.9/declared", "4.4/not-resent-while-connected", "9.9/quick", "9.9/measured", "9.9/also-quick"}},
		{"the last run overrides both", map[string]time.Duration{
			DurationKey("9.9/measured", codec.V5):   40 * time.Second,
			DurationKey("9.9/declared", codec.V5):   time.Millisecond,
			DurationKey("9.9/also-quick", codec.V5): 10 * time.Millisecond,
		}, []string{"9.9/measured", "4.4/not-resent-while-connected", "9.9/also-quick", "9.9/declared", "9.9/quick"}},
		{"history of the other version does not apply", map[string]time.Duration{
			DurationKey("9.9/measured", codec.V311): 40 * time.Second,
		}, []string{"9.9/declared", "4.4/not-resent-while-connected", "9.9/quick", "9.9/measured", "9.9/also-quick"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(&Runner{Expected: tc.expected})
			if len(got) != len(tc.want) {
				t.Fatalf("order %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("order %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestInFlightDefaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		r        Runner
		parallel int
		want     int
	}{
		{"serial stays serial", Runner{}, 1, 1},
		{"broker run: 8 per busy slot", Runner{}, 4, 32},
		{"broker run: capped", Runner{}, 16, maxInFlight},
		{"parallel above the cap", Runner{}, 64, 64},
		{"client run: one process per slot", Runner{Driver: funcDriverForTest()}, 4, 4},
		{"explicit", Runner{InFlight: 10}, 4, 10},
		{"explicit below parallel", Runner{InFlight: 2}, 4, 4},
	} {
		if got := tc.r.inFlight(tc.parallel); got != tc.want {
			t.Errorf("%s: inFlight(%d) = %d, want %d", tc.name, tc.parallel, got, tc.want)
		}
	}
}

// funcDriverForTest is any Driver: inFlight only asks whether there is one.
func funcDriverForTest() Driver { return &FuncDriver{} }

// TestRunScheduledLimits runs jobs that wait d each, either in a marked wait (as T.Sleep and
// Conn.recv do: the case is idle) or unmarked (the case stays busy, like one exchanging packets),
// and checks how many overlapped and that the limits held.
func TestRunScheduledLimits(t *testing.T) {
	const d = 150 * time.Millisecond
	for _, tc := range []struct {
		name               string
		parallel, inFlight int
		jobs               int
		idle               bool
		wantSerial         bool // every job after the previous one: wall ≥ jobs × d
		wantOverlap        bool // all at once: wall well under 2 × d
	}{
		{"serial run stays serial even when idle", 1, 1, 4, true, true, false},
		{"idle cases give their slot away", 1, 4, 4, true, false, true},
		{"busy cases keep their slot", 1, 4, 4, false, true, false},
		{"in-flight bound holds", 2, 2, 4, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var open, maxOpen atomic.Int32
			jobs := make([]job, tc.jobs)
			order := make([]int, tc.jobs)
			for i := range order {
				order[i] = i
			}
			run := func(ctx context.Context, _ job) reports.Case {
				n := open.Add(1)
				for m := maxOpen.Load(); n > m && !maxOpen.CompareAndSwap(m, n); m = maxOpen.Load() {
				}
				if tc.idle {
					end := beginWait(ctx)
					time.Sleep(d)
					end()
				} else {
					time.Sleep(d)
				}
				open.Add(-1)
				return reports.Case{Status: reports.Pass}
			}
			start := time.Now()
			_, done := runScheduled(context.Background(), jobs, order, tc.parallel, tc.inFlight, run, nil)
			wall := time.Since(start)
			for i, ok := range done {
				if !ok {
					t.Fatalf("job %d not run", i)
				}
			}
			if m := int(maxOpen.Load()); m > tc.inFlight {
				t.Errorf("%d jobs open at once, limit %d", m, tc.inFlight)
			}
			if tc.wantSerial && (wall < time.Duration(tc.jobs)*d || maxOpen.Load() != 1) {
				t.Errorf("wall %v, %d open at once: want one after the other (≥ %v)", wall, maxOpen.Load(), time.Duration(tc.jobs)*d)
			}
			if tc.wantOverlap && (wall >= 2*d || int(maxOpen.Load()) != tc.jobs) {
				t.Errorf("wall %v, %d open at once: want all %d at once", wall, maxOpen.Load(), tc.jobs)
			}
			if !tc.wantSerial && !tc.wantOverlap && int(maxOpen.Load()) != tc.inFlight {
				t.Errorf("%d open at once, want exactly the in-flight limit %d", maxOpen.Load(), tc.inFlight)
			}
		})
	}
}

// TestSchedulerBusyAccounting checks the busy count through a wait that goes idle and one that
// ends before idleAfter, and that a waking case is busy again without waiting for a slot.
func TestSchedulerBusyAccounting(t *testing.T) {
	s := newScheduler(context.Background(), 1, 2)
	defer s.stop()
	busy := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.busy
	}
	a := s.admit()
	ctxA := context.WithValue(context.Background(), slotKey{}, a)
	end := beginWait(ctxA)
	end() // a short wait: never idle
	if got := busy(); got != 1 {
		t.Fatalf("busy %d after a short wait, want 1", got)
	}
	end = beginWait(ctxA)
	admitted := make(chan *slot)
	go func() { admitted <- s.admit() }() // waits until a is idle
	var b *slot
	select {
	case b = <-admitted:
	case <-time.After(5 * time.Second):
		t.Fatal("an idle case did not give its slot away")
	}
	end() // a wakes while b holds the only busy slot: it must not block
	if got := busy(); got != 2 {
		t.Fatalf("busy %d after a woke above the limit, want 2 (an overdraft, not a wait)", got)
	}
	a.finish()
	b.finish()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy != 0 || s.open != 0 {
		t.Fatalf("after both finished: busy %d open %d, want 0 0", s.busy, s.open)
	}
}

// TestRunScheduledCancelled checks that no job starts once the run's context has ended, and
// that a waiting admission wakes up for it.
func TestRunScheduledCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	jobs := make([]job, 3)
	var started atomic.Int32
	var once sync.Once
	release := make(chan struct{})
	run := func(context.Context, job) reports.Case {
		started.Add(1)
		once.Do(cancel) // the first job ends the run while holding the only slot
		<-release
		return reports.Case{}
	}
	go func() { time.Sleep(50 * time.Millisecond); close(release) }()
	_, done := runScheduled(ctx, jobs, []int{0, 1, 2}, 1, 1, run, nil)
	if n := started.Load(); n != 1 {
		t.Fatalf("%d jobs started, want 1", n)
	}
	if !done[0] || done[1] || done[2] {
		t.Fatalf("done %v, want only the first", done)
	}
}

func TestExpectedDurations(t *testing.T) {
	res := &reports.Results{Cases: []reports.Case{
		{ID: "3.1/a", Version: "5.0", Status: reports.Pass, DurationMs: 1500},
		{ID: "3.1/a", Version: "3.1.1", Status: reports.Fail, DurationMs: 20},
		{ID: "3.1/skipped", Version: "5.0", Status: reports.Skip, DurationMs: 0.1},
	}}
	got := ExpectedDurations(res)
	want := map[string]time.Duration{"3.1/a@5.0": 1500 * time.Millisecond, "3.1/a@3.1.1": 20 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}

func TestBaselineJSON(t *testing.T) {
	b := BaselineJSON(map[string]time.Duration{
		"4.4/x@5.0": 5003 * time.Millisecond, "3.1/y@3.1.1": 260 * time.Millisecond, "3.1/quick@5.0": 3 * time.Millisecond,
	})
	var got map[string]int
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("BaselineJSON is not JSON: %v\n%s", err, b)
	}
	if len(got) != 2 || got["4.4/x@5.0"] != 5000 || got["3.1/y@3.1.1"] != 250 {
		t.Fatalf("got %v, want the two long runs rounded to 50 ms", got)
	}
	// The embedded baseline parses and holds the long timer cases.
	if d := baseline()["4.4/not-resent-while-connected@5.0"]; d < time.Second {
		t.Fatalf("baseline of 4.4/not-resent-while-connected@5.0 is %v; regenerate schedule_baseline.json", d)
	}
}

// TestRerunStalled plants a stall of the process during one job's first attempt and checks that
// exactly that job runs again, that the rerun's verdict replaces the first one with the reason
// noted, and that a job stalled on every attempt keeps its last verdict with the doubt noted.
func TestRerunStalled(t *testing.T) {
	cases := []Case{{ID: "9.9/stalled-once"}, {ID: "9.9/clean"}, {ID: "9.9/always-stalled"}}
	jobs := []job{{&cases[0], codec.V5}, {&cases[1], codec.V5}, {&cases[2], codec.V5}}
	mon := &stallMonitor{threshold: 100 * time.Millisecond} // no goroutine: stalls are planted
	var mu sync.Mutex
	attempts := map[string]int{}
	run := func(_ context.Context, j job) reports.Case {
		mu.Lock()
		attempts[j.c.ID]++
		n := attempts[j.c.ID]
		mu.Unlock()
		// The planted stall lies within this attempt (a real one is recorded once it has ended):
		// 30 ms from one tick to the next, so a stall of 20 ms beyond the monitor's period.
		start := time.Now()
		time.Sleep(40 * time.Millisecond)
		if j.c.ID == "9.9/always-stalled" || j.c.ID == "9.9/stalled-once" && n == 1 {
			mon.record(window{start.Add(5 * time.Millisecond), start.Add(35 * time.Millisecond)})
		}
		status := reports.Pass
		if n == 1 {
			status = reports.Fail // what a stall makes of a timing case
		}
		return reports.Case{ID: j.c.ID, Status: status, Message: fmt.Sprint("attempt ", n)}
	}
	var progressed int
	res, done, reruns := rerunStalled(context.Background(), jobs, []int{0, 1, 2}, 1, 1, mon, run, func(reports.Case) { progressed++ })
	for i, ok := range done {
		if !ok {
			t.Fatalf("job %d not done", i)
		}
	}
	if got := attempts; got["9.9/stalled-once"] != 2 || got["9.9/clean"] != 1 || got["9.9/always-stalled"] != 1+maxStallReruns {
		t.Fatalf("attempts %v", got)
	}
	if reruns != 1+maxStallReruns {
		t.Fatalf("reruns %d, want %d", reruns, 1+maxStallReruns)
	}
	if progressed != len(jobs) {
		t.Fatalf("progress called %d times, want once per job (%d)", progressed, len(jobs))
	}
	if res[0].Status != reports.Pass || len(res[0].Transcript) == 0 || !strings.Contains(res[0].Transcript[0].Packet, "stalled for 20ms") {
		t.Fatalf("stalled-once: %+v", res[0])
	}
	if res[1].Status != reports.Fail || res[1].Message != "attempt 1" || len(res[1].Transcript) != 0 {
		t.Fatalf("clean job changed: %+v", res[1])
	}
	last := res[2].Transcript[len(res[2].Transcript)-1].Packet
	if res[2].Message != fmt.Sprint("attempt ", 1+maxStallReruns) || !strings.Contains(last, "during this attempt too") {
		t.Fatalf("always-stalled: %q, last note %q", res[2].Message, last)
	}
}

func TestStallOverlap(t *testing.T) {
	base := time.Unix(100, 0)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	m := &stallMonitor{}
	m.record(window{at(1000), at(1400)})
	for _, tc := range []struct {
		name     string
		from, to int
		want     time.Duration
	}{
		{"inside", 900, 2000, 400*time.Millisecond - stallPeriod},
		{"overlapping its end", 1300, 2000, 400*time.Millisecond - stallPeriod},
		{"before", 0, 1000, 0},
		{"after", 1400, 3000, 0},
	} {
		if got := m.worst(window{at(tc.from), at(tc.to)}); got != tc.want {
			t.Errorf("%s: worst %v, want %v", tc.name, got, tc.want)
		}
	}
}
