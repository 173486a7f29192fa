package conformance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance/spec"
	"github.com/mqttspec/mqttspec/reports"
)

// Runner runs cases against a target.
type Runner struct {
	Target   *Target
	Versions []codec.Version // default: 3.1.1 and 5.0
	// Parallel is how many cases may exchange packets with the target at once (default 8); a
	// case idle on a timer does not count (schedule.go).
	Parallel int
	// InFlight is how many cases may be open at once, idle or busy (default: 8 × Parallel, at
	// most 64, for a broker run; Parallel for a serial or client-role run).
	InFlight int
	// Expected holds the expected duration of case runs by DurationKey (ExpectedDurations of a
	// previous run); cases start longest first.
	Expected map[string]time.Duration
	Timeouts Timeouts
	// RunTimeout bounds the whole run; cases not finished by then are reported as errors and
	// the results are marked incomplete (0 = none).
	RunTimeout time.Duration
	// Progress is called after each case (from the runner's goroutines, serialised).
	Progress func(reports.Case)
	Logger   *slog.Logger
	Tool     reports.Tool
	// Caps, when set, skips discovery (tests, or a descriptor that knows better).
	Caps *Capabilities
	// OutageWait is how long a case that met a refused connection to the target waits for the
	// target to accept connections again before it is run again (schedule_outage.go): 0 means
	// DefaultOutageWait, a negative value no waiting and no reruns. Broker runs only.
	OutageWait time.Duration
	// Driver, when set, makes this a client-role run: each case gets a scripted broker on a
	// loopback port and starts the client under test through the driver.
	Driver Driver
}

type job struct {
	c *Case
	v codec.Version
}

// Run discovers the target's capabilities and runs every case on every version. The error is
// for infrastructure problems (target unreachable, bad settings); case failures are in the
// results.
func (r *Runner) Run(ctx context.Context, cases []Case) (*reports.Results, error) {
	if r.Driver != nil && r.Target == nil {
		r.Target = ClientTarget(r.Driver)
	}
	if r.Target == nil {
		return nil, errors.New("no target")
	}
	if r.Driver == nil {
		if err := r.Target.CheckURL(); err != nil {
			return nil, err
		}
	}
	for i := range cases {
		if err := cases[i].Validate(); err != nil {
			return nil, err
		}
	}
	to := r.Timeouts.withDefaults()
	versions := r.Versions
	if len(versions) == 0 {
		versions = []codec.Version{codec.V311, codec.V5}
	}
	parallel := r.Parallel
	if parallel <= 0 {
		parallel = 8
	}
	started := time.Now()
	caps := r.Caps
	role := RoleBroker
	if r.Driver != nil {
		role = RoleClient
		if caps == nil {
			caps = &Capabilities{V311: true, V5: true, MaximumQoS: 2, RetainAvailable: true, WildcardAvailable: true,
				SubIDAvailable: true, SharedAvailable: true, ReceiveMaximum: 65535, ServerKeepAlive: -1, Missing: map[Feature]string{}}
		}
	}
	if caps == nil {
		var err error
		if caps, err = Discover(ctx, r.Target, to.Step); err != nil {
			return nil, fmt.Errorf("discover target capabilities: %w", err)
		}
	}
	if err := discoverNodes(ctx, r.Target, caps, to.Step); err != nil {
		return nil, err
	}
	runCtx := ctx
	if r.RunTimeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, r.RunTimeout)
		defer cancel()
	}
	runID := shortID()
	var jobs []job
	for i := range cases {
		for _, v := range versions {
			if cases[i].Versions.Has(v) {
				jobs = append(jobs, job{&cases[i], v})
			}
		}
	}
	wait := r.OutageWait
	switch {
	case wait == 0:
		wait = DefaultOutageWait
	case wait < 0:
		wait = 0
	}
	outs := newOutages(r.Target, caps, wait, to.Step)
	runJob := func(ctx context.Context, j job) reports.Case {
		if r.Driver != nil {
			return RunClientCase(ctx, r.Driver, j.c, j.v, to, runID)
		}
		return outs.run(ctx, j, func(ctx context.Context) reports.Case {
			return RunCase(ctx, r.Target, caps, j.c, j.v, to, runID)
		})
	}
	results, done, reruns := runRerunningStalled(runCtx, jobs, r.scheduleOrder(jobs), parallel, r.inFlight(parallel), stallThreshold(to), runJob, r.Progress)
	if r.Driver == nil {
		outs.rerunCollateral(runCtx, jobs, results, done, parallel, runJob)
	}
	out := &reports.Results{Schema: reports.Schema, Tool: r.Tool, Started: started,
		Target: reports.Target{Name: r.Target.Name, URL: r.Target.URL, Role: string(role), Transport: r.Target.Transport(), Info: capsInfo(caps, r.Target)}}
	// The windows every verdict was reached with: a pass of a "nothing arrives" or timing case
	// means as much as the window it waited.
	out.Target.Info["step_timeout"] = to.Step.String()
	out.Target.Info["quiet_window"] = to.Quiet.String()
	out.Target.Info["timing_tolerance"] = to.Tolerance.String()
	if reruns > 0 {
		// Case runs repeated because mqttspec's own process stalled during them (schedule_stall.go).
		out.Target.Info["reruns_after_stall"] = fmt.Sprint(reruns)
	}
	outs.info(out.Target.Info)
	nodesInfo(out.Target.Info, r.Target, caps, to)
	if r.Driver != nil {
		out.Target.Driver = r.Driver.Name()
		out.Target.Transport = "tcp"
	}
	for i := range jobs {
		if !done[i] {
			out.Incomplete = true
			c := jobs[i].c
			results[i] = reports.Case{ID: c.ID, Title: c.Title, Section: c.Section(), Statements: c.StatementsFor(jobs[i].v),
				Version: jobs[i].v.String(), Role: string(role), Level: c.Level.String(), Status: reports.Error,
				Message: "the run's deadline passed before this case finished"}
		}
	}
	if runCtx.Err() != nil {
		out.Incomplete = true
	}
	out.Cases = results
	out.DurationMs = float64(time.Since(started).Microseconds()) / 1000
	out.Coverage = Coverage(out.Cases, versions, role)
	out.Sort()
	out.Recount()
	return out, nil
}

// RunCase runs one case on one version with its hard deadline and returns its result. A case
// that overruns its deadline is abandoned (its connections closed) and reported as an error.
func RunCase(ctx context.Context, tg *Target, caps *Capabilities, c *Case, v codec.Version, to Timeouts, runID string) reports.Case {
	return runCase(ctx, tg, caps, nil, c, v, to, runID)
}

// RunClientCase runs one client-role case: it opens the scripted broker's listener on a
// loopback port; the case starts the client under test through the driver.
func RunClientCase(ctx context.Context, d Driver, c *Case, v codec.Version, to Timeouts, runID string) reports.Case {
	caps := &Capabilities{V311: true, V5: true, MaximumQoS: 2, ReceiveMaximum: 65535, ServerKeepAlive: -1, Missing: map[Feature]string{}}
	return runCase(ctx, &Target{Name: d.Name(), URL: "tcp://127.0.0.1:0"}, caps, d, c, v, to, runID)
}

func runCase(ctx context.Context, tg *Target, caps *Capabilities, d Driver, c *Case, v codec.Version, to Timeouts, runID string) reports.Case {
	to = to.withDefaults()
	limit := to.Case
	if c.Timeout > 0 {
		limit = c.Timeout
	}
	limit = to.caseLimit(limit)
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := newT(cctx, c, v, tg, caps, to, runID)
	defer t.cancel()
	start := time.Now()
	skip := func(msg string) reports.Case {
		t.status, t.message = reports.Skip, msg
		t.note("", "skip: "+msg)
		return t.result(v, 0)
	}
	if (v == codec.V5 && !caps.V5) || (v == codec.V311 && !caps.V311) {
		return skip(fmt.Sprintf("the target does not accept MQTT %s connections", v))
	}
	for _, f := range c.Requires {
		if why, missing := caps.Missing[f]; missing {
			return skip(fmt.Sprintf("target lacks %s: %s", f, why))
		}
	}
	if d != nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.status, t.message = reports.Error, "listen for the client under test: "+err.Error()
			return t.result(v, 0)
		}
		t.client = &clientSide{ln: ln, driver: d}
		defer t.stopClients() // on every path; the normal one stops them before the result
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer func() {
			if p := recover(); p != nil {
				t.mu.Lock()
				if !t.finished {
					t.finished = true
					t.status, t.message = reports.Error, fmt.Sprintf("case panicked: %v\n%s", p, debug.Stack())
				}
				t.mu.Unlock()
				t.note("", fmt.Sprintf("error: case panicked: %v", p))
			}
		}()
		c.Run(t)
		t.mu.Lock()
		t.finished = true
		t.mu.Unlock()
	}()
	select {
	case <-finished:
	case <-cctx.Done():
		t.mu.Lock()
		if !t.finished {
			t.finished = true
			if ctx.Err() != nil {
				t.status, t.message = reports.Error, "the run's deadline passed before this case finished"
			} else {
				t.status, t.message = reports.Error, fmt.Sprintf("case exceeded its hard deadline of %v", limit)
			}
		}
		t.mu.Unlock()
		t.closeAll()
		select {
		case <-finished:
		case <-time.After(2 * time.Second):
		}
	}
	t.closeAll()
	t.stopClients() // before t.result: how the client ended and its output go in the transcript
	t.checkNodesAfter(ctx, v, to.Step)
	if d == nil && t.status == reports.Pass && ctx.Err() == nil {
		// A case that ends in a close passes when the target closes — and also when it crashed.
		// Check that the target still serves a new client before granting the pass.
		if err := probeAlive(ctx, tg, v, to.Step); err != nil {
			t.status, t.message = reports.Fail, CrashedMessage+err.Error()
			t.note("", "liveness probe failed: "+err.Error())
		}
	}
	return t.result(v, time.Since(start))
}

// CrashedMessage begins the message of a case after which the target stopped serving new
// clients: the case whose input probably crashed it.
const CrashedMessage = "after this case the target no longer serves new clients — it probably crashed on the case's input: "

// probeAlive connects a fresh client and expects a successful CONNACK.
func probeAlive(ctx context.Context, tg *Target, v codec.Version, timeout time.Duration) error {
	ack, _, err := probeConnect(ctx, tg, v, timeout, false)
	if err != nil {
		return err
	}
	if ack.ReasonCode != 0 {
		return fmt.Errorf("CONNACK %s", ack.ReasonCode.NameFor(codec.CONNACK, v))
	}
	return nil
}

func capsInfo(c *Capabilities, tg *Target) map[string]string {
	info := map[string]string{
		"mqtt311": fmt.Sprint(c.V311), "mqtt5": fmt.Sprint(c.V5),
		"maximum_qos": fmt.Sprint(c.MaximumQoS), "retain_available": fmt.Sprint(c.RetainAvailable),
		"topic_alias_maximum": fmt.Sprint(c.TopicAliasMaximum), "receive_maximum": fmt.Sprint(c.ReceiveMaximum),
	}
	if c.MaximumPacketSize > 0 {
		info["maximum_packet_size"] = fmt.Sprint(c.MaximumPacketSize)
	}
	for v, g := range c.GrantedQoS {
		info["granted_qos_"+strings.ReplaceAll(v, ".", "")] = fmt.Sprint(g)
	}
	if len(c.Notes) > 0 {
		info["discovery_notes"] = strings.Join(c.Notes, "; ")
	}
	for k, v := range tg.Info {
		info[k] = v
	}
	return info
}

// Coverage computes, per version, the coverage of a run over the wire-testable Appendix B
// statements binding the role's side (the server for broker runs, the client for client runs,
// plus those binding both). A statement counts (Tested) only when a case citing it ran to a
// verdict on this target: pass or fail, or warn for a SHOULD/MAY case (a MUST case that warns
// judged nothing it cites); skips and errors count for nothing. Proven counts the statements for
// which such a case is also one that a registered fault proof (spec.Proofs of the side, filled by
// the imported catalogs) shows failing on a target that breaks the statement. Skips carries the
// skip reasons of the cases citing each statement that did not count.
func Coverage(cases []reports.Case, versions []codec.Version, role Role) map[string]reports.Coverage {
	out := map[string]reports.Coverage{}
	side := spec.Server
	if role == RoleClient {
		side = spec.Client
	}
	proofs := spec.Proofs(side)
	for _, v := range versions {
		if v == codec.V31 {
			continue
		}
		sv := specVersion(v)
		judged := map[string][]string{}  // statement -> cases that ran to a verdict citing it
		skipped := map[string][]string{} // statement -> distinct skip reasons of its cases
		for _, c := range cases {
			if c.Version != v.String() {
				continue
			}
			for _, id := range c.Statements {
				switch {
				case c.Judged():
					judged[id] = append(judged[id], c.ID)
				case c.Status == reports.Skip && c.Message != "" && !slices.Contains(skipped[id], c.Message):
					skipped[id] = append(skipped[id], c.Message)
				}
			}
		}
		var cov reports.Coverage
		for _, s := range spec.ByVersion(sv) {
			if !s.Testable || !s.InAppendixB() || (s.Role != side && s.Role != spec.Both) {
				continue
			}
			cov.Testable++
			ran := judged[s.ID]
			if len(ran) == 0 {
				cov.Missing = append(cov.Missing, s.ID)
				if reasons := skipped[s.ID]; len(reasons) > 0 {
					cov.Skips = append(cov.Skips, reports.StatementSkip{ID: s.ID, Reasons: reasons})
				}
				continue
			}
			cov.Tested++
			if slices.ContainsFunc(proofs, func(p spec.Proof) bool {
				return p.Proves(sv, s.ID, func(caseID string) bool { return slices.Contains(ran, caseID) })
			}) {
				cov.Proven++
			}
		}
		out[sv] = cov
	}
	return out
}

// Select filters cases: globs match the case ID (path.Match syntax, or a plain prefix); labels
// match a statement ID, a level ("MUST"), a section ("3.3") or a version ("5.0"/"3.1.1").
// Empty filters select everything.
func Select(cases []Case, globs, labels []string) ([]Case, error) {
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("bad --case pattern %q: %w", g, err)
		}
	}
	var out []Case
	for _, c := range cases {
		if len(globs) > 0 && !slices.ContainsFunc(globs, func(g string) bool { return matchID(g, c.ID) }) {
			continue
		}
		if len(labels) > 0 && !slices.ContainsFunc(labels, func(l string) bool { return hasLabel(&c, l) }) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// matchID matches a case ID against a --case pattern: a glob ("3.3/*retain*"), an exact ID, a
// section ("3.3", matching every case of 3.3 but not 3.30) or a prefix ending in "/".
func matchID(g, id string) bool {
	if ok, _ := path.Match(g, id); ok {
		return true
	}
	if strings.HasSuffix(g, "/") {
		return strings.HasPrefix(id, g)
	}
	return strings.HasPrefix(id, g+"/")
}

func hasLabel(c *Case, l string) bool {
	switch {
	case c.Cites(l):
		return true
	case strings.EqualFold(l, c.Level.String()):
		return true
	case l == c.Section() || strings.HasPrefix(c.Section(), l+"."):
		return true
	case l == "5.0" || l == "5":
		return c.Versions.Has(codec.V5)
	case l == "3.1.1" || l == "311":
		return c.Versions.Has(codec.V311)
	}
	return false
}
