package netfuzz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// Options configure a fuzzing run.
type Options struct {
	// Target is tcp://host:port (loopback unless AllowRemote).
	Target      string
	AllowRemote bool
	// Version of the sessions: codec.V311, codec.V5, or codec.VersionUnknown for both.
	Version codec.Version
	// Duration bounds the run (0: until ctx ends or MaxExecs inputs were sent).
	Duration time.Duration
	MaxExecs int
	// Seed makes the run reproducible (same seed, same inputs; the target's timing may still
	// differ). 0 picks one from the clock, reported in Report.Seed.
	Seed int64
	// OutDir receives reproducer files ("" writes none).
	OutDir string
	// ProbeTimeout bounds each step of the liveness probe (default 2s).
	ProbeTimeout time.Duration
	// Restart brings a crashed target back (the tests restart an in-process broker, the CLI a
	// command). Without it the run stops at the first crash, after saving the reproducer.
	Restart func(ctx context.Context) error
	// Minimize shrinks findings by delta debugging (needs the target to come back after a
	// hang, or Restart after a crash): the first MinimizePerKind crashes and hangs (default 3;
	// later ones are mostly the same bug again), each within MinimizeBudget (default 2 minutes).
	Minimize        bool
	MinimizePerKind int
	MinimizeBudget  time.Duration
	// MaxFindings stops the run after that many findings (0: no limit).
	MaxFindings int
	// Progress is called every ProgressEvery (default 1s) and at the end.
	Progress      func(Stats)
	ProgressEvery time.Duration
	Logger        *slog.Logger
}

// Stats describe a run so far.
type Stats struct {
	Execs      int
	Elapsed    time.Duration
	Crashes    int
	Hangs      int
	Stalls     int // probes that failed once and then passed (not reported as findings)
	Corpus     int // inputs kept for their new answer signature
	Signatures int
}

// ExecsPerSec is the average rate of the run.
func (s Stats) ExecsPerSec() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Execs) / s.Elapsed.Seconds()
}

// Finding is one crash or hang, as found and (if minimization ran) minimized.
type Finding struct {
	Found     *Reproducer
	File      string
	Minimized *Reproducer // nil when minimization did not run or did not reproduce
	MinFile   string
}

// Report is the outcome of Run.
type Report struct {
	Stats
	Seed     int64
	Findings []Finding
	// Stopped says why the run ended before its duration ("target crashed", …), empty otherwise.
	Stopped string
}

// Run fuzzes the target until the duration passes, MaxExecs inputs were sent, ctx ends, or the
// target crashes without a way to restart it.
func Run(ctx context.Context, o Options) (*Report, error) {
	addr, err := ParseTarget(o.Target, o.AllowRemote)
	if err != nil {
		return nil, err
	}
	if o.Version != codec.VersionUnknown && o.Version != codec.V311 && o.Version != codec.V5 {
		return nil, fmt.Errorf("version %v: the network fuzzer speaks 3.1.1 and 5.0", o.Version)
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 2 * time.Second
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	if o.MinimizeBudget <= 0 {
		o.MinimizeBudget = 2 * time.Minute
	}
	if o.MinimizePerKind <= 0 {
		o.MinimizePerKind = 3
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano()
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	r := &runner{addr: addr, version: o.Version, probeTimeout: o.ProbeTimeout, writeTimeout: o.ProbeTimeout,
		settle: 3 * time.Millisecond}
	if kind, detail := r.probe(ctx); kind != "" {
		return nil, fmt.Errorf("target %s is not serving before fuzzing starts: %s", o.Target, detail)
	}
	m := &mutator{rng: rand.New(rand.NewSource(o.Seed)), version: o.Version}
	rep := &Report{Seed: o.Seed}
	start := time.Now()
	type entry struct {
		in Input
		v  codec.Version
	}
	var corpus []entry
	for i := 0; i < 16; i++ {
		in, v := m.session()
		corpus = append(corpus, entry{in, v})
	}
	seen := map[uint64]bool{}
	lastProgress := time.Now()
	progress := func() {
		rep.Elapsed = time.Since(start)
		rep.Corpus, rep.Signatures = len(corpus), len(seen)
		if o.Progress != nil {
			o.Progress(rep.Stats)
		}
	}
	defer progress()

	for ctx.Err() == nil && (o.MaxExecs <= 0 || rep.Execs < o.MaxExecs) {
		base := corpus[m.rng.Intn(len(corpus))]
		if m.rng.Intn(10) == 0 {
			in, v := m.session()
			base = entry{in, v}
		}
		in, mut := m.mutate(base.in, base.v)
		r.version = base.v
		sig, err := r.exec(ctx, in)
		rep.Execs++
		if over(ctx) {
			break
		}
		kind, detail := "", ""
		if errors.Is(err, errDial) {
			kind, detail = Crash, "the target refused the connection for the input: "+err.Error()
		} else {
			kind, detail = r.probe(ctx)
			if kind != "" {
				k2, d2 := r.confirm(ctx, kind, detail)
				if k2 == "" {
					rep.Stalls++
					log.Info("probe failed once, then passed", "detail", detail)
				}
				kind, detail = k2, d2
			}
			if kind != "" && over(ctx) {
				break // the probe was cut short by the end of the run, not by the target
			}
		}
		if kind == "" {
			if !seen[sig] {
				seen[sig] = true
				if len(corpus) < 512 {
					corpus = append(corpus, entry{in, base.v})
				}
			}
		} else {
			same := rep.Hangs
			if kind == Crash {
				same = rep.Crashes
			}
			f, stop := handleFinding(ctx, o, r, kind, detail, in, base.v, mut, o.Minimize && same < o.MinimizePerKind, log)
			rep.Findings = append(rep.Findings, f)
			if kind == Crash {
				rep.Crashes++
			} else {
				rep.Hangs++
			}
			if stop == "" && o.MaxFindings > 0 && len(rep.Findings) >= o.MaxFindings {
				stop = fmt.Sprintf("%d findings", len(rep.Findings))
			}
			if stop != "" {
				rep.Stopped = stop
				break
			}
		}
		if time.Since(lastProgress) >= o.ProgressEvery {
			lastProgress = time.Now()
			progress()
		}
	}
	return rep, nil
}

// over reports whether the run has ended: ctx is done or its deadline has passed. A dial whose
// deadline is the run's own fails with a timeout a moment before ctx reports an error (the
// dial's deadline and the context's timer fire separately), and that must end the run, not
// count as a crash of the target (seen in CI as a "crash" on the last input of a 3 s run).
func over(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// handleFinding saves the reproducer, minimizes it when the target can be brought back, and says
// whether the run has to stop.
func handleFinding(ctx context.Context, o Options, r *runner, kind, detail string, in Input, v codec.Version,
	mut string, minimizeIt bool, log *slog.Logger) (Finding, string) {
	rp := newReproducer(kind, detail, o.Target, v.String(), o.Seed, in, mut, r.probeTimeout)
	f := Finding{Found: rp}
	if o.OutDir != "" {
		path, err := rp.Save(o.OutDir)
		if err != nil {
			log.Error("cannot save reproducer", "err", err)
		}
		f.File = path
	}
	log.Warn("finding", "kind", kind, "detail", detail, "file", f.File, "bytes", in.Size())
	back := func() bool { return bringBack(ctx, o, r, kind) }
	if !back() {
		return f, fmt.Sprintf("target %s after a %s and did not come back; reproducer: %s", verb(kind), kind, f.File)
	}
	if minimizeIt {
		if min, ok := minimize(ctx, r, kind, in, o.MinimizeBudget, back); ok {
			mr := newReproducer(kind, detail, o.Target, v.String(), o.Seed, min, mut, r.probeTimeout)
			mr.Minimized, mr.Original = true, in.Size()
			f.Minimized = mr
			if o.OutDir != "" {
				f.MinFile, _ = mr.Save(o.OutDir)
			}
		}
		if !back() {
			return f, fmt.Sprintf("target did not come back after minimizing a %s; reproducer: %s", kind, f.File)
		}
	}
	return f, ""
}

func verb(kind string) string {
	if kind == Crash {
		return "crashed"
	}
	return "hung"
}

// bringBack brings the target back after a failure of the given kind: a crashed target is
// restarted at once when it can be (else given a moment, in case a supervisor restarts it), a
// hung one is given time to recover and restarted only if it does not. It reports whether the
// target serves.
func bringBack(ctx context.Context, o Options, r *runner, kind string) bool {
	if k, _ := r.probe(ctx); k == "" {
		return true
	}
	if kind == Hang || o.Restart == nil {
		if r.waitAlive(ctx, 3*r.probeTimeout) {
			return true
		}
	}
	if o.Restart == nil {
		return false
	}
	if err := o.Restart(ctx); err != nil {
		return false
	}
	return r.waitAlive(ctx, 5*time.Second)
}

// Replay sends a reproducer's input to target and probes it afterwards. It returns the kind of
// failure seen (Crash, Hang) or "" when the target kept serving, with what the probe saw.
func Replay(ctx context.Context, target string, allowRemote bool, rp *Reproducer, probeTimeout time.Duration) (kind, detail string, err error) {
	addr, err := ParseTarget(target, allowRemote)
	if err != nil {
		return "", "", err
	}
	in, err := rp.Input()
	if err != nil {
		return "", "", err
	}
	if probeTimeout <= 0 {
		probeTimeout = 2 * time.Second
		if rp.Timing != nil && rp.Timing.ProbeTimeoutMS > 0 {
			probeTimeout = time.Duration(rp.Timing.ProbeTimeoutMS) * time.Millisecond
		}
	}
	v, _ := codec.ParseVersion(rp.Version)
	r := &runner{addr: addr, version: v, probeTimeout: probeTimeout, writeTimeout: probeTimeout, settle: 50 * time.Millisecond}
	if k, d := r.probe(ctx); k != "" {
		return "", "", fmt.Errorf("target %s is not serving before the replay: %s", target, d)
	}
	if _, err := r.exec(ctx, in); errors.Is(err, errDial) {
		return Crash, err.Error(), nil
	}
	kind, detail = r.probe(ctx)
	kind, detail = r.confirm(ctx, kind, detail)
	return kind, detail, ctx.Err()
}
