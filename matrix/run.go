package matrix

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mqttspec/mqttspec/reports"
)

// Runner runs the targets of a Config.
type Runner struct {
	// Exe is the mqttspec binary that runs the cases (usually os.Executable()).
	Exe string
	// Root is the repository root: scripts are relative to it, and the runs start in it.
	Root string
	// Work holds each run's report and each broker's state directory.
	Work string
	// Runs is how many times each target runs (default 2): verdicts that differ are unstable.
	Runs int
	// Cases, when set, restricts every run to these --case globs (the short form of the matrix).
	Cases []string
	// Args are extra flags for every `mqttspec test` run (timeouts, tolerances).
	Args []string
	// StartTimeout bounds a broker script's start and stop (default 3 min: JVM and Erlang
	// brokers take tens of seconds on two cores).
	StartTimeout time.Duration
	// RunTimeout bounds one `mqttspec test` run (default 30 min).
	RunTimeout time.Duration
	// Log receives progress lines (nil: discarded).
	Log io.Writer
}

// ErrNotInstalled is returned (wrapped) for a broker whose script says it is not installed
// (exit status 3); the message names what to install.
var ErrNotInstalled = errors.New("not installed")

// Outcome is one target of the matrix: its merged results, or why it has none.
type Outcome struct {
	Name    string
	Title   string
	Role    string // "broker" or "client"
	Version string // the product version the script reported (brokers)
	Notes   string
	Results *reports.Results // nil when the target did not run
	Err     error            // why it did not run
}

func (r *Runner) defaults() {
	if r.Runs <= 0 {
		r.Runs = 2
	}
	if r.StartTimeout <= 0 {
		r.StartTimeout = 3 * time.Minute
	}
	if r.RunTimeout <= 0 {
		r.RunTimeout = 30 * time.Minute
	}
	if r.Log == nil {
		r.Log = io.Discard
	}
}

// Run runs every broker, then every client, one at a time (JVM and Erlang brokers need the
// machine to themselves to keep their timers honest), and returns one outcome per target.
func (r *Runner) Run(ctx context.Context, c *Config) []Outcome {
	r.defaults()
	var out []Outcome
	for _, b := range c.Brokers {
		if ctx.Err() != nil {
			break
		}
		out = append(out, r.broker(ctx, b))
	}
	for _, cl := range c.Clients {
		if ctx.Err() != nil {
			break
		}
		out = append(out, r.client(ctx, cl))
	}
	return out
}

func (r *Runner) broker(ctx context.Context, b Broker) Outcome {
	o := Outcome{Name: b.Name, Title: b.Title, Role: "broker", Notes: b.Notes}
	dir := filepath.Join(r.Work, "brokers", b.Name)
	if err := os.RemoveAll(dir); err != nil {
		o.Err = err
		return o
	}
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o755); err != nil {
		o.Err = err
		return o
	}
	target, subst := b.Target, map[string]string{}
	if b.Script != "" {
		port, ws, err := freePorts()
		if err != nil {
			o.Err = err
			return o
		}
		subst["{port}"], subst["{ws_port}"] = strconv.Itoa(port), strconv.Itoa(ws)
		if b.Nodes == 2 {
			// A cluster's script takes the ports of its two nodes (the cluster contract).
			subst["{port_b}"] = subst["{ws_port}"]
		}
		fmt.Fprintf(r.Log, "matrix: starting %s on 127.0.0.1:%d\n", b.Name, port)
		version, err := r.script(ctx, b, "start", filepath.Join(dir, "state"), subst["{port}"], subst["{ws_port}"])
		// The stop runs even when the start failed half-way: the script may have left a process.
		defer func() {
			if _, err := r.script(context.WithoutCancel(ctx), b, "stop", filepath.Join(dir, "state")); err != nil {
				fmt.Fprintf(r.Log, "matrix: stopping %s: %v\n", b.Name, err)
			}
		}()
		if err != nil {
			o.Err = err
			return o
		}
		o.Version = version
		target = "tcp://127.0.0.1:" + subst["{port}"]
	}
	args := []string{"test", "broker", "--target", target, "--version", versionFlag(b.Versions), "--name", b.Title}
	if b.Nodes == 2 {
		args = append(args, "--node", "tcp://127.0.0.1:"+subst["{port_b}"])
	}
	for _, f := range b.Flags {
		for k, v := range subst {
			f = strings.ReplaceAll(f, k, v)
		}
		args = append(args, f)
	}
	o.Results, o.Err = r.runs(ctx, dir, args, o)
	return o
}

func (r *Runner) client(ctx context.Context, c Client) Outcome {
	o := Outcome{Name: c.Name, Title: c.Title, Role: "client", Notes: c.Notes}
	dir := filepath.Join(r.Work, "clients", c.Name)
	if err := os.RemoveAll(dir); err != nil {
		o.Err = err
		return o
	}
	args := append([]string{"test", "client", "--driver", c.Driver, "--version", versionFlag(c.Versions)}, c.Flags...)
	o.Results, o.Err = r.runs(ctx, dir, args, o)
	return o
}

// runs runs `mqttspec ARGS` r.Runs times and merges the runs: the first run's results, each
// case carrying the verdicts of the later runs as Reruns.
func (r *Runner) runs(ctx context.Context, dir string, args []string, o Outcome) (*reports.Results, error) {
	for _, c := range r.Cases {
		args = append(args, "--case", c)
	}
	args = append(args, r.Args...)
	var all []*reports.Results
	for i := 1; i <= r.Runs; i++ {
		rep := filepath.Join(dir, fmt.Sprintf("run%d", i))
		fmt.Fprintf(r.Log, "matrix: %s run %d of %d\n", o.Name, i, r.Runs)
		res, err := r.test(ctx, rep, append(args, "--report", rep))
		if err != nil {
			return nil, fmt.Errorf("%s run %d: %w", o.Name, i, err)
		}
		all = append(all, res)
	}
	first := all[0]
	first.Target.Name = o.Title
	if first.Target.Info == nil {
		first.Target.Info = map[string]string{}
	}
	if o.Version != "" {
		first.Target.Info["version"] = o.Version
	}
	first.Target.Info["matrix_runs"] = strconv.Itoa(r.Runs)
	idx := map[string]int{}
	for i := range first.Cases {
		idx[first.Cases[i].Key()] = i
	}
	for _, later := range all[1:] {
		for _, c := range later.Cases {
			if i, ok := idx[c.Key()]; ok {
				first.Cases[i].Reruns = append(first.Cases[i].Reruns, c.Status)
			}
		}
	}
	return first, nil
}

// test runs one `mqttspec test` process and reads the results.json it wrote. Exit status 1
// (failures found) is a normal outcome; anything else without results is an error.
func (r *Runner) test(ctx context.Context, rep string, args []string) (*reports.Results, error) {
	ctx, cancel := context.WithTimeout(ctx, r.RunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Exe, args...)
	cmd.Dir = r.Root
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &limited{w: &stderr, n: 64 << 10}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return nil, fmt.Errorf("mqttspec %s: %w: %s", strings.Join(args[:2], " "), err, tail(stderr.String(), 800))
	}
	res, rerr := reports.ReadFile(filepath.Join(rep, "results.json"))
	if rerr != nil {
		return nil, fmt.Errorf("mqttspec %s wrote no results: %w: %s", strings.Join(args[:2], " "), rerr, tail(stderr.String(), 800))
	}
	return res, nil
}

// script runs a broker script's start or stop and returns the version a start reported.
func (r *Runner) script(ctx context.Context, b Broker, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.StartTimeout)
	defer cancel()
	path := b.Script
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.Root, path)
	}
	cmd := exec.CommandContext(ctx, "bash", append([]string{path}, args...)...)
	cmd.Dir = r.Root
	cmd.Env = append(os.Environ(), "MQTTSPEC="+r.Exe)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limited{w: &stdout, n: 64 << 10}
	cmd.Stderr = &limited{w: &stderr, n: 64 << 10}
	// A start script leaves the broker running in the background: the script's own output pipes
	// must not keep Wait waiting for it.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		return "", fmt.Errorf("%s: %w: %s", b.Name, ErrNotInstalled, strings.TrimSpace(tail(stderr.String(), 400)))
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		return "", fmt.Errorf("%s %s: %w: %s", b.Script, args[0], err, tail(stderr.String(), 800))
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "version="); ok {
			return v, nil
		}
	}
	if args[0] == "start" {
		return "", fmt.Errorf("%s start printed no version= line", b.Script)
	}
	return "", nil
}

// freePorts returns two loopback ports that were free a moment ago.
func freePorts() (int, int, error) {
	var ports [2]int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("free loopback port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}

// limited keeps the first n bytes written to it and drops the rest, so that a chatty process
// cannot grow the buffer without bound.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
