package conformance

import (
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// The run settings behind every wait of a case, and the defaults the catalog was written in.
const (
	// DefaultStep is the default step timeout (Timeouts.Step, --timeout).
	DefaultStep = 3 * time.Second
	// DefaultQuiet is the default quiet window (Timeouts.Quiet, --quiet-window). A duration a case
	// writes for a "nothing arrives" wait is in units of it: ExpectNothing(2*time.Second) waits
	// four quiet windows.
	DefaultQuiet = 500 * time.Millisecond
	// DefaultTolerance is the default timing tolerance (Timeouts.Tolerance, --timing-tolerance):
	// how late past a statement's bound a timed effect (keep alive close, Will Delay, expiry) may
	// be observed. 300 ms covers what a correct implementation adds on loopback — a broker's timer
	// tick (commonly 100–250 ms), scheduling on a loaded two-core CI machine, the time to see a
	// close — and stays below the 0.5 s by which a keep alive of 1 s enforced at 2× misses its
	// 1.5 s bound, so an off-by-factor broker still fails. A broker with whole-second timers or a
	// remote one needs a wider setting, which the report then names.
	DefaultTolerance = 300 * time.Millisecond
	// ClockEpsilon is how much earlier than a statement's bound a timed effect may be observed
	// (a lower bound: "not before the Will Delay"). The case's clock starts before it sends what
	// starts the target's clock, so a correct target is never early on it; the epsilon only
	// absorbs timer rounding, and is far smaller than the tolerance on purpose.
	ClockEpsilon = 20 * time.Millisecond
)

// quietScale returns the factor by which this run's windows exceed the ones the catalog was
// written for (at least 1): the case hard deadlines grow with it.
func (to Timeouts) quietScale() float64 {
	return max(1, float64(to.Quiet)/float64(DefaultQuiet), float64(to.Step)/float64(DefaultStep))
}

// caseLimit is a case's hard deadline in this run: the deadline it was written with, grown in
// proportion to the run's windows and by the extra timing tolerance (a timing case waits a few
// bounds plus the tolerance each).
func (to Timeouts) caseLimit(written time.Duration) time.Duration {
	limit := time.Duration(float64(written) * to.quietScale())
	if extra := to.Tolerance - DefaultTolerance; extra > 0 {
		limit += 4 * extra
	}
	return limit
}

// QuietWindow returns a "nothing arrives" window the case wrote as d at this run's quiet window:
// d is in units of DefaultQuiet, 0 means one quiet window.
func (t *T) QuietWindow(d time.Duration) time.Duration {
	if d <= 0 {
		return t.Timeouts.Quiet
	}
	return time.Duration(float64(d) * float64(t.Timeouts.Quiet) / float64(DefaultQuiet))
}

// SleepQuiet waits QuietWindow(d): for a wait that gives something forbidden (a late delivery, a
// close still in flight at the server) the time to show, which a slower or remote target needs
// more of. A wait whose length comes from a statement's bound is a Sleep, not a SleepQuiet.
func (t *T) SleepQuiet(d time.Duration) {
	w := t.QuietWindow(d)
	t.note("", fmt.Sprintf("waiting %v (quiet window)", w))
	t.Sleep(w)
}

// Tolerance is this run's timing tolerance (Timeouts.Tolerance).
func (t *T) Tolerance() time.Duration { return t.Timeouts.Tolerance }

// Seconds renders a duration as seconds with two decimals, the unit of every timing message.
func Seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// CheckBound judges a measured time against a statement's bound: it fails the case unless
// bound − ClockEpsilon ≤ measured ≤ bound + the timing tolerance. what names the effect as the
// message begins it ("closed", "will published"). The measurement is in the transcript either way.
func (t *T) CheckBound(what string, measured, bound time.Duration) {
	t.checkBound(what, measured, bound, true)
}

// CheckDue is CheckBound without the lower bound: for effects that must come within a time and
// may come any time before (a client's PINGREQ within its keep alive).
func (t *T) CheckDue(what string, measured, bound time.Duration) {
	t.checkBound(what, measured, bound, false)
}

func (t *T) checkBound(what string, measured, bound time.Duration, early bool) {
	tol := t.Timeouts.Tolerance
	msg := fmt.Sprintf("%s after %s; bound %s, tolerance %s", what, Seconds(measured), Seconds(bound), Seconds(tol))
	expected := fmt.Sprintf("%s after %s to %s", what, Seconds(bound), Seconds(bound+tol))
	if !early {
		expected = fmt.Sprintf("%s within %s", what, Seconds(bound+tol))
	}
	switch {
	case early && measured < bound-ClockEpsilon:
		t.Failf(expected, "after "+Seconds(measured), "%s: too early", msg)
	case measured > bound+tol:
		t.Failf(expected, "after "+Seconds(measured), "%s: too late", msg)
	}
	t.note("", "timing: "+msg)
}

// ExpectNothingUntil checks that nothing arrives (and the connection stays open) until the given
// time, unscaled: for silences whose end comes from a statement's bound (no will before the Will
// Delay has passed plus the tolerance). why says what would be wrong to see.
func (c *Conn) ExpectNothingUntil(until time.Time, why string) {
	d := max(time.Until(until), time.Millisecond)
	c.t.note(c.Label, fmt.Sprintf("expecting nothing for %v: %s", d.Round(time.Millisecond), why))
	c.expectNothing(d)
}

// ExpectAt waits for a packet matching m and checks when it came, measured from since: not
// before bound (less ClockEpsilon), not after bound plus the timing tolerance (CheckBound). Any
// other packet, or a close, fails the case like Expect. It returns the packet and the time.
func (c *Conn) ExpectAt(what string, since time.Time, bound time.Duration, m Matcher) (codec.Packet, time.Duration) {
	return c.expectTimed(what, since, bound, m, true)
}

// ExpectDue is ExpectAt without the lower bound: the packet must come by since + bound + the
// timing tolerance, and may come any time before (CheckDue).
func (c *Conn) ExpectDue(what string, since time.Time, bound time.Duration, m Matcher) (codec.Packet, time.Duration) {
	return c.expectTimed(what, since, bound, m, false)
}

func (c *Conn) expectTimed(what string, since time.Time, bound time.Duration, m Matcher, early bool) (codec.Packet, time.Duration) {
	tol := c.t.Timeouts.Tolerance
	// Wait a step past the tolerance, so that a late packet is reported with its time rather
	// than as silence.
	in, ok := c.recv(max(time.Until(since.Add(bound+tol+c.t.Timeouts.Step)), time.Millisecond))
	if !ok {
		waited := time.Since(since)
		c.t.Failf(fmt.Sprintf("%s within %s", what, Seconds(bound+tol)), "nothing after "+Seconds(waited),
			"[%s] %s: nothing after %s; bound %s, tolerance %s", c.Label, what, Seconds(waited), Seconds(bound), Seconds(tol))
	}
	c.checkInbound(in, m.String())
	if err := m.Match(in.p); err != nil {
		c.t.Failf(m.String(), in.p.String(), "[%s] expected %s, got %s: %v", c.Label, m, in.p, err)
	}
	d := in.at.Sub(since)
	c.t.checkBound(what, d, bound, early)
	return in.p, d
}

// ExpectClosedAt checks that the target closes the connection at bound after since: not before
// bound (less ClockEpsilon), not after bound plus the timing tolerance. A DISCONNECT the options
// allow may precede the close; the time measured is that of the first sign of the close (the
// DISCONNECT, or the end of the stream). It returns the measured time.
func (c *Conn) ExpectClosedAt(what string, since time.Time, bound time.Duration, opts ...CloseOption) time.Duration {
	return c.expectClosedTimed(what, since, bound, true, opts)
}

// ExpectClosedBy is ExpectClosedAt without the lower bound: the close must come no later than
// bound plus the timing tolerance, and may come any time before (a statement that requires the
// close by a time but does not forbid an earlier one). It returns the measured time.
func (c *Conn) ExpectClosedBy(what string, since time.Time, bound time.Duration, opts ...CloseOption) time.Duration {
	return c.expectClosedTimed(what, since, bound, false, opts)
}

func (c *Conn) expectClosedTimed(what string, since time.Time, bound time.Duration, early bool, opts []CloseOption) time.Duration {
	var s closeSpec
	for _, o := range opts {
		o(&s)
	}
	tol := c.t.Timeouts.Tolerance
	// As in expectTimed: waiting a step past the tolerance reports a late close with its time.
	_, first, closed := c.awaitClose(s, since.Add(bound+tol+c.t.Timeouts.Step), "the connection closed")
	if !closed {
		waited := time.Since(since)
		c.t.Failf(fmt.Sprintf("%s after %s to %s", what, Seconds(bound), Seconds(bound+tol)), "still open after "+Seconds(waited),
			"[%s] %s: still open after %s; bound %s, tolerance %s", c.Label, what, Seconds(waited), Seconds(bound), Seconds(tol))
	}
	d := first.Sub(since)
	c.t.checkBound(what, d, bound, early)
	return d
}

// LastSent returns when the case last started writing a packet on the connection (zero before
// the first): the start of a keep alive period, as far as the target can have seen.
func (c *Conn) LastSent() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSent
}

// LastReceived returns when the last packet the case has taken from the connection arrived (zero
// before the first): the start of the target's next keep alive period in the client role.
func (c *Conn) LastReceived() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastRecv
}
