package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// A target can stop accepting connections in the middle of a run and come back: a broker that
// crashes on one case's input and is restarted by its supervisor (systemd, Docker, a script), a
// cluster node that restarts. Every case that dials while it is down fails at once with
// "connection refused", and in a run of short cases hundreds of them can pass through the
// scheduler in the few milliseconds a restart takes — one crash then turns most of a catalog into
// harness errors that say nothing about the target. So a case that ends in error after the target
// refused one of its connections waits until the target accepts an MQTT connection again (at
// most Runner.OutageWait, shared by every case that met the same outage) and is run again, up to
// maxOutageReruns times. The outages are in the results' target info, and every rerun case says
// so in its transcript. The case that crashed the target is not run again: it did not end in
// error — its pass became a fail when the liveness probe after it was refused (runCase).

// DefaultOutageWait is how long a run waits, by default, for a target that stopped accepting
// connections to come back.
const DefaultOutageWait = 30 * time.Second

// maxOutageReruns bounds the attempts of one case that keeps meeting outages.
const maxOutageReruns = 2

// outagePoll is how often a down target is probed.
const outagePoll = 50 * time.Millisecond

type refusalKey struct{}

// refusals records the targets that refused a connection during one attempt of a case.
type refusals struct {
	mu   sync.Mutex
	urls []string
}

// noteRefusal records err in the refusals of ctx when it is a refused connection to tg.
func noteRefusal(ctx context.Context, tg *Target, err error) {
	rs, _ := ctx.Value(refusalKey{}).(*refusals)
	if rs == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		return
	}
	rs.mu.Lock()
	rs.urls = append(rs.urls, tg.URL)
	rs.mu.Unlock()
}

func (rs *refusals) has(url string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, u := range rs.urls {
		if u == url {
			return true
		}
	}
	return false
}

// outages watches one target through a run: it records when the target was seen down and back,
// and makes the cases that met an outage wait for its end.
type outages struct {
	tg      *Target
	version codec.Version // of the probe
	wait    time.Duration
	step    time.Duration

	mu      sync.Mutex
	cur     *outage // the outage being waited out, nil when the target is up
	seen    []*outage
	reruns  int
	probeFn func(ctx context.Context) error // the liveness probe (tests replace it)
	windows map[job]window                  // each case's latest attempt
	// collateral counts the cases run again because an outage began while they were open.
	collateral int
}

// outage is one period in which the target refused connections.
type outage struct {
	from, to time.Time // first refusal seen; first accepted probe (zero while down or given up)
	gaveUp   bool
	done     chan struct{} // closed when the outage ended or the wait gave up
}

func newOutages(tg *Target, caps *Capabilities, wait, step time.Duration) *outages {
	v := codec.V311
	if caps != nil && !caps.V311 && caps.V5 {
		v = codec.V5
	}
	o := &outages{tg: tg, version: v, wait: wait, step: step}
	o.probeFn = func(ctx context.Context) error { return probeAlive(ctx, o.tg, o.version, o.step) }
	return o
}

// run runs one case through attempt, and again after each outage of the target it met, up to
// maxOutageReruns times. attempt gets a context that records refused connections.
func (o *outages) run(ctx context.Context, j job, attempt func(ctx context.Context) reports.Case) reports.Case {
	var notes []reports.Event
	for try := 0; ; try++ {
		rs := &refusals{}
		start := time.Now()
		res := attempt(context.WithValue(ctx, refusalKey{}, rs))
		o.mu.Lock()
		if o.windows == nil {
			o.windows = map[job]window{}
		}
		o.windows[j] = window{start, time.Now()}
		o.mu.Unlock()
		if res.Status != reports.Error || !rs.has(o.tg.URL) || o.wait <= 0 || ctx.Err() != nil {
			res.Transcript = append(notes, res.Transcript...)
			return res
		}
		ou := o.await(ctx)
		switch {
		case ou.gaveUp:
			res.Message = fmt.Sprintf("%s — the target has refused connections since %s, and did not accept one within %v: it crashed or was stopped",
				res.Message, ou.from.Format("15:04:05.000"), o.wait)
		case try == maxOutageReruns:
			res.Message = fmt.Sprintf("%s — the target refused connections during each of %d attempts of this case (it keeps going down)", res.Message, try+1)
		default:
			notes = append(notes, reports.Event{Dir: "note", Packet: fmt.Sprintf(
				"run again (attempt %d): the target refused a connection of the previous attempt; it was down from %s to %s (%v: a crash and restart?) and accepts connections again",
				try+2, ou.from.Format("15:04:05.000"), ou.to.Format("15:04:05.000"), ou.to.Sub(ou.from).Round(time.Millisecond))})
			o.mu.Lock()
			o.reruns++
			o.mu.Unlock()
			continue
		}
		res.Transcript = append(notes, res.Transcript...)
		return res
	}
}

// await returns when the target accepts connections again (the outage's end) or the wait gave up.
// Every case that meets the same outage waits on one probe loop.
func (o *outages) await(ctx context.Context) *outage {
	o.mu.Lock()
	ou := o.cur
	if ou == nil {
		// A target that was given up on is not waited for again by every later case (a run
		// against a stopped broker would take OutageWait per case): the cases that still meet
		// refusals end at once, with the outage named.
		if n := len(o.seen); n > 0 && o.seen[n-1].gaveUp {
			o.mu.Unlock()
			return o.seen[n-1]
		}
		ou = &outage{from: time.Now(), done: make(chan struct{})}
		o.cur = ou
		o.seen = append(o.seen, ou)
		go o.watch(ctx, ou)
	}
	o.mu.Unlock()
	select {
	case <-ou.done:
	case <-ctx.Done():
	}
	return ou
}

// watch probes the target until it accepts a connection or the wait is over.
func (o *outages) watch(ctx context.Context, ou *outage) {
	deadline := time.Now().Add(o.wait)
	for {
		if err := o.probeFn(ctx); err == nil {
			o.end(ou, time.Now(), false)
			return
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			o.end(ou, time.Time{}, true)
			return
		}
		select {
		case <-time.After(outagePoll):
		case <-ctx.Done():
		}
	}
}

func (o *outages) end(ou *outage, to time.Time, gaveUp bool) {
	o.mu.Lock()
	ou.to, ou.gaveUp = to, gaveUp
	if o.cur == ou {
		o.cur = nil
	}
	o.mu.Unlock()
	close(ou.done)
}

// info adds the outages seen to a target info map.
func (o *outages) info(m map[string]string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.seen) == 0 {
		return
	}
	var parts []string
	for _, ou := range o.seen {
		if ou.gaveUp {
			parts = append(parts, fmt.Sprintf("down from %s, not back within %v", ou.from.UTC().Format("15:04:05.000"), o.wait))
		} else if !ou.to.IsZero() {
			parts = append(parts, fmt.Sprintf("%s for %v", ou.from.UTC().Format("15:04:05.000"), ou.to.Sub(ou.from).Round(time.Millisecond)))
		}
	}
	m["target_outages"] = fmt.Sprintf("%d: %s", len(o.seen), strings.Join(parts, "; "))
	m["reruns_after_outage"] = fmt.Sprint(o.reruns + o.collateral)
}

// collateralMargin is how long before the first refused connection the target may have gone
// down: a crash is seen only when a case next dials, and a case whose connection the crash cut
// ended (with a verdict about a reset it did not cause) up to that much earlier.
const collateralMargin = time.Second

// rerunCollateral runs again, once and one at a time, every case that did not pass and was open
// when an outage began: a crash cuts the connections of every case open at that moment, and
// their fails ("the connection closed before the PUBACK") are the crash's, not theirs. Among
// them are the cases whose liveness probe found the target gone (CrashedMessage): in a serial
// run that is the case whose input crashed the target, and it keeps its verdict; in a parallel
// run every case that ended during the outage is such a suspect, and the serial rerun tells the
// culprit (it crashes the target again, alone) from the others. A rerun that meets an outage
// again waits for it like any case.
func (o *outages) rerunCollateral(ctx context.Context, jobs []job, results []reports.Case, done []bool, parallel int,
	run func(ctx context.Context, j job) reports.Case) {
	o.mu.Lock()
	var starts []time.Time
	for _, ou := range o.seen {
		if !ou.gaveUp {
			starts = append(starts, ou.from)
		}
	}
	var again []int
	began := map[int]time.Time{} // the outage each rerun case was open at
	for i, j := range jobs {
		w, ok := o.windows[j]
		if !ok || !done[i] || results[i].Status == reports.Pass || results[i].Status == reports.Skip ||
			parallel == 1 && strings.HasPrefix(results[i].Message, CrashedMessage) {
			continue
		}
		for _, from := range starts {
			if !w.from.After(from) && !w.to.Before(from.Add(-collateralMargin)) {
				again = append(again, i)
				began[i] = from
				break
			}
		}
	}
	o.mu.Unlock()
	if len(again) == 0 || ctx.Err() != nil {
		return
	}
	res, ok := runScheduled(ctx, jobs, again, 1, 1, run, nil)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, i := range again {
		if !ok[i] {
			continue
		}
		note := fmt.Sprintf("run again after the run: this case was open when the target went down (first refused connection %s); its first verdict was %s: %s",
			began[i].Format("15:04:05.000"), results[i].Status, results[i].Message)
		res[i].Transcript = append([]reports.Event{{Dir: "note", Packet: note}}, res[i].Transcript...)
		results[i] = res[i]
		o.collateral++
	}
}
