package main

import (
	"fmt"
	"io"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reports"
)

// unknownDuration is what the ETA assumes for a case run of unknown length: the cases missing
// from the baseline and the history are the short ones (under a quarter of a second).
const unknownDuration = 100 * time.Millisecond

// progressLine is the one-line progress of a run on a terminal: done/total, the failures so far,
// and an estimate of the time left.
type progressLine struct {
	out         io.Writer
	total, done int
	failed      int
	start       time.Time
	now         func() time.Time
	inFlight    int
	remaining   map[string]time.Duration // expected duration of each unfinished case run
}

// newProgress prepares the progress of running cases with r (Versions, Expected and the limits
// already set).
func newProgress(out io.Writer, r *conformance.Runner, cases []conformance.Case) *progressLine {
	_, inFlight := r.Limits()
	p := &progressLine{out: out, now: time.Now, inFlight: inFlight, remaining: map[string]time.Duration{}}
	for i := range cases {
		for _, v := range r.Versions {
			if !cases[i].Versions.Has(v) {
				continue
			}
			p.total++
			d, ok := r.ExpectedDuration(&cases[i], v)
			if !ok {
				d = unknownDuration
			}
			p.remaining[conformance.DurationKey(cases[i].ID, v)] = d
		}
	}
	p.start = p.now()
	return p
}

// update records a finished case and redraws the line; failures get a line of their own that
// stays. The runner calls it serialised.
func (p *progressLine) update(c reports.Case) {
	p.done++
	if c.Status == reports.Fail || c.Status == reports.Error {
		p.failed++
	}
	if v, err := codec.ParseVersion(c.Version); err == nil {
		delete(p.remaining, conformance.DurationKey(c.ID, v))
	}
	fmt.Fprintf(p.out, "\r\033[K[%d/%d] %d failed, ETA %s  %-5s %-6s %s", p.done, p.total, p.failed, formatETA(p.eta()), c.Status, c.Version, c.ID)
	if c.Status == reports.Fail || c.Status == reports.Error {
		fmt.Fprintf(p.out, "\n        %s\n", c.Message)
	}
}

// eta estimates the time left. The longest cases start first and nearly every case waits rather
// than works, so the run ends when the longest unfinished case does — unless the unfinished
// cases together need more than the open slots give them.
func (p *progressLine) eta() time.Duration {
	elapsed := p.now().Sub(p.start)
	var longest, sum time.Duration
	for _, d := range p.remaining {
		longest = max(longest, d)
		sum += d
	}
	left := longest - elapsed // the longest started at the beginning
	if p.inFlight > 0 {
		left = max(left, sum/time.Duration(p.inFlight))
	}
	return max(left, 0)
}

// formatETA renders the estimate in whole seconds (minutes beyond one): a finer one would only
// flicker.
func formatETA(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
