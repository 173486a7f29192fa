package conformance

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/reports"
)

// A loaded machine can stop mqttspec's own process for a while: on two shared cores a run under
// CPU load has been seen frozen for 440 ms at once. Every case open at that moment then sees the
// target's timed effects late by as much — a keep alive close at 1.95 s for a bound of 1.5 s — or
// sees something early as on time, and its verdict says more about the machine than about the
// target. (The embedded broker runs in the same process and is frozen with it.) So the run watches
// its own process: a ticker that comes back later than its period plus a stall threshold marks a
// stall, and every case open during a stall is run again once the others are done, up to
// maxStallReruns times; the verdict of the first attempt that no stall overlapped counts.

// stallPeriod is how often the monitor checks that the process runs.
const stallPeriod = 10 * time.Millisecond

// maxStallReruns bounds the reruns of a case that stalls keep overlapping; the last attempt's
// verdict stands, with the stall noted.
const maxStallReruns = 2

// stallThreshold is the longest freeze a verdict can absorb: half the timing tolerance (150 ms
// at the default), which leaves the other half to the target, and far above a loaded machine's
// ordinary scheduling delay (tens of milliseconds). A rerun is not free — it repeats every case
// open during the stall, the longest among them — so smaller freezes are left to the tolerance.
func stallThreshold(to Timeouts) time.Duration { return to.Tolerance / 2 }

// stallMonitor records the stalls of the process while it runs.
type stallMonitor struct {
	threshold time.Duration
	mu        sync.Mutex
	stalls    []window
	stop      chan struct{}
	done      chan struct{}
}

type window struct{ from, to time.Time }

func startStallMonitor(threshold time.Duration) *stallMonitor {
	m := &stallMonitor{threshold: threshold, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(stallPeriod)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
			now := time.Now()
			if now.Sub(last) > stallPeriod+m.threshold {
				m.record(window{last, now})
			}
			last = now
		}
	}()
	return m
}

// record adds a stall (the monitor's goroutine, and tests).
func (m *stallMonitor) record(w window) {
	m.mu.Lock()
	m.stalls = append(m.stalls, w)
	m.mu.Unlock()
}

func (m *stallMonitor) close() {
	close(m.stop)
	<-m.done
}

// worst returns the longest stall that overlapped w (0 when none did).
func (m *stallMonitor) worst(w window) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	var d time.Duration
	for _, s := range m.stalls {
		if s.to.After(w.from) && s.from.Before(w.to) {
			d = max(d, s.to.Sub(s.from)-stallPeriod)
		}
	}
	return d
}

// runRerunningStalled runs the jobs through runScheduled and runs again, up to maxStallReruns
// times, each job whose run a stall of the process overlapped. reruns counts the jobs run again.
func runRerunningStalled(ctx context.Context, jobs []job, order []int, parallel, inFlight int, threshold time.Duration,
	run func(ctx context.Context, j job) reports.Case, progress func(reports.Case)) (results []reports.Case, done []bool, reruns int) {
	mon := startStallMonitor(threshold)
	defer mon.close()
	return rerunStalled(ctx, jobs, order, parallel, inFlight, mon, run, progress)
}

// rerunStalled is runRerunningStalled with the monitor given.
func rerunStalled(ctx context.Context, jobs []job, order []int, parallel, inFlight int, mon *stallMonitor,
	run func(ctx context.Context, j job) reports.Case, progress func(reports.Case)) (results []reports.Case, done []bool, reruns int) {
	threshold := mon.threshold
	windows := make([]window, len(jobs))
	index := make(map[job]int, len(jobs)) // a job runs once per attempt: (case, version) is unique
	for i, j := range jobs {
		index[j] = i
	}
	timed := func(ctx context.Context, j job) reports.Case {
		start := time.Now()
		res := run(ctx, j)
		windows[index[j]] = window{start, time.Now()} // read after runScheduled's goroutines end
		return res
	}
	results, done = runScheduled(ctx, jobs, order, parallel, inFlight, timed, progress)
	stalled := make([]time.Duration, len(jobs)) // the worst stall of each job's latest attempt
	for round := 1; round <= maxStallReruns && ctx.Err() == nil; round++ {
		var again []int
		for _, i := range order {
			if !done[i] {
				continue
			}
			if d := mon.worst(windows[i]); d > 0 {
				stalled[i] = d
				again = append(again, i)
			} else {
				stalled[i] = 0
			}
		}
		if len(again) == 0 {
			break
		}
		reruns += len(again)
		res, ok := runScheduled(ctx, jobs, again, parallel, inFlight, timed, nil)
		for _, i := range again {
			if !ok[i] {
				continue // the run's deadline: the earlier attempt's verdict stands
			}
			note := fmt.Sprintf("run again (attempt %d): mqttspec's own process was stalled for %v during the previous attempt, more than the %v a timed verdict can absorb",
				round+1, stalled[i].Round(time.Millisecond), threshold)
			res[i].Transcript = append([]reports.Event{{Dir: "note", Packet: note}}, res[i].Transcript...)
			results[i] = res[i]
		}
	}
	for _, i := range order {
		if done[i] && stalled[i] > 0 && mon.worst(windows[i]) > 0 {
			// Still stalled after the last rerun: the verdict stands, with the doubt said.
			results[i].Transcript = append(results[i].Transcript, reports.Event{Dir: "note",
				Packet: fmt.Sprintf("mqttspec's own process was stalled for %v during this attempt too (the last of %d); a timing verdict may reflect the machine's load", mon.worst(windows[i]).Round(time.Millisecond), maxStallReruns+1)})
		}
	}
	return results, done, reruns
}
