package conformance

import (
	"bytes"
	"context"
	_ "embed" // the schedule baseline
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// How a run schedules its cases.
//
// Nearly all of a case's time is spent waiting: for a statement's timer (keep alive, Will Delay,
// expiry), for a quiet window in which nothing may arrive, for the broker's answer. A run of the
// broker catalog against the reference broker uses well under one second of CPU for more than
// two minutes of case time, so a run bound by a fixed number of workers is bound by workers
// waiting. Two limits separate what a user bounds from how many cases wait at once:
//
//   - Runner.Parallel (--parallel) is how many cases may be exchanging packets with the target
//     at once. A case that has been blocked in a wait for longer than idleAfter (a Sleep, a
//     quiet window, an Expect whose answer has not come) is idle: it gives its slot to the next
//     case. When its wait ends it continues at once, without waiting for a slot, because a case
//     held back after a timer would send late and its verdict would depend on the load; new
//     cases are admitted only while fewer than Parallel cases are busy, so such an overdraft only
//     delays the next admission.
//   - Runner.InFlight is how many cases may be open at once, idle or busy; it bounds the
//     connections the target holds. A serial run (Parallel 1) keeps one case open at a time.
//
// Cases start longest expected first (Runner.Expected, the durations of the last run; else the
// reference broker's baseline; else the case's declared Timeout; else catalog order), so the
// long timer cases overlap everything else instead of starting last.

// idleAfter is how long a case must be blocked in one wait before it counts as idle. An answer
// on loopback takes well under a millisecond; 20 ms keeps a case in a steady exchange (one
// answer after another) in its slot, and frees the slot of one waiting out a timer.
const idleAfter = 20 * time.Millisecond

// maxInFlight caps the default number of open cases (8 × Parallel).
const maxInFlight = 64

// inFlight returns the number of cases that may be open at once: r.InFlight when set, else one
// for a serial run, Parallel for a client-role run (each case starts a client process, which
// costs CPU rather than waiting), and 8 × Parallel (at most maxInFlight) for a broker run.
func (r *Runner) inFlight(parallel int) int {
	switch {
	case r.InFlight > 0:
		return max(r.InFlight, parallel)
	case parallel == 1 || r.Driver != nil:
		return parallel
	}
	return min(8*parallel, max(maxInFlight, parallel))
}

// DurationKey is the key of a case run in Runner.Expected: the case ID and the version,
// "3.1/keepalive-enforced@5.0".
func DurationKey(id string, v codec.Version) string { return id + "@" + v.String() }

// ExpectedDurations returns the durations of a run's cases keyed by DurationKey, the form
// Runner.Expected takes: the results of one run order the next.
func ExpectedDurations(res *reports.Results) map[string]time.Duration {
	out := make(map[string]time.Duration, len(res.Cases))
	for _, c := range res.Cases {
		if c.Status == reports.Skip || c.DurationMs <= 0 {
			continue
		}
		v, err := codec.ParseVersion(c.Version)
		if err != nil {
			continue
		}
		out[DurationKey(c.ID, v)] = time.Duration(c.DurationMs * float64(time.Millisecond))
	}
	return out
}

// expected returns the duration a job is expected to take, for ordering only.
func (r *Runner) expected(j job) time.Duration {
	if d, ok := r.ExpectedDuration(j.c, j.v); ok {
		return d
	}
	// Declared by some cases that wait on long timers; 0 otherwise. A hard deadline is far
	// above the duration, so such a case sorts before every measured one: it is long anyway.
	return j.c.Timeout
}

// ExpectedDuration returns how long case c is expected to run on version v: its duration in
// Runner.Expected (the last run), else in the reference broker's baseline; ok is false when
// neither knows it (a case shorter than baselineMinimum, or a new one).
func (r *Runner) ExpectedDuration(c *Case, v codec.Version) (d time.Duration, ok bool) {
	key := DurationKey(c.ID, v)
	if d, ok := r.Expected[key]; ok {
		return d, true
	}
	d, ok = baseline()[key]
	return d, ok
}

// Limits returns the run's two limits with their defaults applied: cases exchanging packets at
// once, and cases open at once.
func (r *Runner) Limits() (parallel, inFlight int) {
	parallel = r.Parallel
	if parallel <= 0 {
		parallel = 8
	}
	return parallel, r.inFlight(parallel)
}

// scheduleOrder returns the indexes of jobs in the order they start: longest expected first,
// catalog order among equals.
func (r *Runner) scheduleOrder(jobs []job) []int {
	order := make([]int, len(jobs))
	exp := make([]time.Duration, len(jobs))
	for i := range jobs {
		order[i] = i
		exp[i] = r.expected(jobs[i])
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case exp[a] > exp[b]:
			return -1
		case exp[a] < exp[b]:
			return 1
		}
		return 0
	})
	return order
}

// runScheduled runs every job through run, at most parallel busy and inFlight open at once, and
// returns the results by job index; done[i] is false for jobs not run because ctx ended first.
// progress is called after each job, serialised.
func runScheduled(ctx context.Context, jobs []job, order []int, parallel, inFlight int,
	run func(ctx context.Context, j job) reports.Case, progress func(reports.Case)) ([]reports.Case, []bool) {
	results := make([]reports.Case, len(jobs))
	done := make([]bool, len(jobs))
	s := newScheduler(ctx, parallel, inFlight)
	defer s.stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, i := range order {
		sl := s.admit()
		if sl == nil {
			break // the run's context ended
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sl.finish()
			res := run(context.WithValue(ctx, slotKey{}, sl), jobs[i])
			mu.Lock()
			results[i], done[i] = res, true
			if progress != nil {
				progress(res)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results, done
}

// scheduler counts the busy and open cases of a run.
type scheduler struct {
	ctx              context.Context
	mu               sync.Mutex
	cond             *sync.Cond
	busy, open       int
	parallel, flight int
	stopWake         func() bool
}

func newScheduler(ctx context.Context, parallel, inFlight int) *scheduler {
	s := &scheduler{ctx: ctx, parallel: parallel, flight: inFlight}
	s.cond = sync.NewCond(&s.mu)
	// admit waits on the condition; the end of the run must wake it.
	s.stopWake = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	return s
}

func (s *scheduler) stop() { s.stopWake() }

// admit waits until a case may start and returns its slot, or nil when the run's context ended.
func (s *scheduler) admit() *slot {
	s.mu.Lock()
	defer s.mu.Unlock()
	for (s.busy >= s.parallel || s.open >= s.flight) && s.ctx.Err() == nil {
		s.cond.Wait()
	}
	if s.ctx.Err() != nil {
		return nil
	}
	s.busy++
	s.open++
	return &slot{s: s}
}

// slot is one open case's place in the scheduler.
type slot struct {
	s       *scheduler
	mu      sync.Mutex
	waits   int         // waits in progress (a case may wait in more than one goroutine)
	gen     int         // counts waits begun, so a stale idle timer does nothing
	timer   *time.Timer // marks the case idle once a wait has lasted idleAfter
	idle    bool        // the slot's busy count was given back
	stopped bool
}

type slotKey struct{}

// beginWait marks the case of ctx as waiting and returns the function that ends the wait. It is
// called by every blocking wait of a case (T.Sleep, Conn.recv); outside a scheduled run it does
// nothing.
func beginWait(ctx context.Context) (end func()) {
	sl, _ := ctx.Value(slotKey{}).(*slot)
	if sl == nil {
		return func() {}
	}
	sl.mu.Lock()
	sl.waits++
	if sl.waits == 1 && !sl.stopped {
		sl.gen++
		gen := sl.gen
		sl.timer = time.AfterFunc(idleAfter, func() { sl.goIdle(gen) })
	}
	sl.mu.Unlock()
	return sl.endWait
}

func (sl *slot) goIdle(gen int) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.waits == 0 || sl.gen != gen || sl.idle || sl.stopped {
		return
	}
	sl.idle = true
	sl.s.mu.Lock()
	sl.s.busy--
	sl.s.cond.Broadcast()
	sl.s.mu.Unlock()
}

func (sl *slot) endWait() {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	sl.waits--
	if sl.waits > 0 {
		return
	}
	if sl.timer != nil {
		sl.timer.Stop()
	}
	if sl.idle && !sl.stopped {
		// Busy again at once, even above the limit: a case woken by its timer must not be
		// held back (see the comment at the top of the file).
		sl.idle = false
		sl.s.mu.Lock()
		sl.s.busy++
		sl.s.mu.Unlock()
	}
}

// finish gives the slot back when its case has ended.
func (sl *slot) finish() {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	sl.stopped = true
	if sl.timer != nil {
		sl.timer.Stop()
	}
	sl.s.mu.Lock()
	if !sl.idle {
		sl.s.busy--
	}
	sl.s.open--
	sl.s.cond.Broadcast()
	sl.s.mu.Unlock()
}

// baselineJSON holds the durations of the broker catalog's longer case runs against the
// reference broker (milliseconds by DurationKey), which order a run that has no history of its
// own: the long cases are long because of the statements' timers, on any broker. Regenerate with
// MQTTSPEC_UPDATE_SCHEDULE=1 go test ./conformance -run TestScheduleBaseline after adding or
// changing timer cases; a case missing from it only starts in catalog order.
//
//go:embed schedule_baseline.json
var baselineJSON []byte

// baselineMinimum is the shortest duration the baseline records: shorter cases fit anywhere.
const baselineMinimum = 250 * time.Millisecond

var baseline = sync.OnceValue(func() map[string]time.Duration {
	var ms map[string]float64
	if err := json.Unmarshal(baselineJSON, &ms); err != nil {
		panic("conformance: schedule_baseline.json: " + err.Error()) // embedded at build time
	}
	out := make(map[string]time.Duration, len(ms))
	for k, v := range ms {
		out[k] = time.Duration(v * float64(time.Millisecond))
	}
	return out
})

// BaselineJSON renders durations as the baseline file: the runs of at least baselineMinimum,
// rounded to 50 ms, one per line in key order.
func BaselineJSON(d map[string]time.Duration) []byte {
	keys := make([]string, 0, len(d))
	for k, v := range d {
		if v >= baselineMinimum {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		name, _ := json.Marshal(k)
		fmt.Fprintf(&b, "  %s: %d", name, d[k].Round(50*time.Millisecond).Milliseconds())
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// Baseline returns the reference broker's durations that order a run without history (a copy).
func Baseline() map[string]time.Duration { return maps.Clone(baseline()) }
