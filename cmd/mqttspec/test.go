package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker"
	"github.com/mqttspec/mqttspec/conformance/spec"
	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/expect"
	"github.com/mqttspec/mqttspec/reports/markdown"
)

// embeddedTarget starts the in-process reference broker and returns its target and a stop
// function (set in embedded.go).
var embeddedTarget func(ctx context.Context, faults []string) (*conformance.Target, func(), error)

// reportWriters are extra renderers run by --report DIR after results.json is written (the
// HTML and JUnit renderers register here).
var reportWriters []func(dir string, res *reports.Results) error

type testFlags struct {
	target, name             string
	version                  string
	cases, labels            []string
	parallel                 int
	stepTimeout, caseTimeout time.Duration
	quiet, tolerance         time.Duration
	runTimeout               time.Duration
	json                     bool
	reportDir                string
	username, password, bad  string
	deniedTopic              string
	tlsInsecure              bool
	tlsCA                    string
	disable                  []string
	expectFile, reportURL    string
	faults                   []string
	wsURL                    string
	auth                     authFlags
	nodes                    []string      // the other nodes of a cluster target (--node)
	settle                   time.Duration // the settle window of cross-node effects
	outageWait               time.Duration // how long a case waits for a target that went down
}

func init() {
	var f testFlags
	testCmd := &cobra.Command{Use: "test", Short: "Run conformance cases against a broker or a client"}
	brokerCmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the broker catalog against a broker (default: the embedded reference broker)",
		Example: `  mqttspec test broker                                  # embedded reference broker
  mqttspec test broker --target tcp://127.0.0.1:1883 --version 5 --report out/
  mqttspec test broker --target ws://127.0.0.1:8080/mqtt --case '3.3/*' --label MQTT-3.3.1-4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTestBroker(cmd, &f) },
	}
	fl := brokerCmd.Flags()
	fl.StringVar(&f.target, "target", "embedded", "broker URL: embedded, tcp://H:P, tls://H:P, ws://H:P/path, wss://H:P/path")
	fl.StringVar(&f.name, "name", "", "target name in reports (default: derived from --target)")
	fl.StringVar(&f.version, "version", "all", "protocol version: 3.1.1, 5 or all")
	fl.StringSliceVar(&f.cases, "case", nil, "run only cases whose ID matches this glob or prefix (repeatable)")
	fl.StringSliceVar(&f.labels, "label", nil, "run only cases with this label: statement ID, MUST/SHOULD, section, version (repeatable)")
	fl.IntVar(&f.parallel, "parallel", 8, "cases exchanging packets with the broker at once; cases idle on a timer or a quiet window give their place away, up to 8× as many (at most 64) stay open at once; 1 runs one case at a time")
	fl.DurationVar(&f.stepTimeout, "timeout", 3*time.Second, "how long each expectation waits")
	fl.DurationVar(&f.caseTimeout, "case-timeout", 30*time.Second, "hard deadline of one case")
	windowFlags(brokerCmd, &f.quiet, &f.tolerance)
	fl.DurationVar(&f.runTimeout, "run-timeout", 0, "deadline of the whole run; unfinished cases become errors (0 = none)")
	fl.DurationVar(&f.outageWait, "outage-wait", conformance.DefaultOutageWait, "when the broker refuses connections mid-run (a crash and restart), how long a case waits for it to accept them again before it is run again (0 = no waiting: such cases are errors)")
	fl.BoolVar(&f.json, "json", false, "print results.json to stdout instead of text")
	fl.StringVar(&f.reportDir, "report", "", "write results.json (and report.html, junit.xml) to this directory")
	fl.StringVarP(&f.username, "username", "u", "", "user name the cases connect with")
	fl.StringVarP(&f.password, "password", "P", "", "password the cases connect with")
	fl.StringVar(&f.bad, "bad-password", "", "a password the target refuses for --username (enables credential cases)")
	fl.StringVar(&f.deniedTopic, "denied-topic", "", "a topic the target's ACL denies (enables ACL cases)")
	fl.StringVar(&f.auth.method, "auth-method", "", "v5 enhanced authentication method the target supports (enables the enhanced-authentication cases)")
	fl.StringVar(&f.auth.data, "auth-data", "", "Authentication Data for --auth-method when it needs no challenge: text, hex:0a0b…, or @file")
	fl.StringVar(&f.auth.scramUser, "scram-user", "", "user for --auth-method SCRAM-SHA-256 (with --scram-password)")
	fl.StringVar(&f.auth.scramPassword, "scram-password", "", "password of --scram-user")
	fl.StringArrayVar(&f.nodes, "node", nil, "another node of the same cluster as --target, tcp://H:P (repeatable; enables the cluster cases)")
	fl.DurationVar(&f.settle, "settle", conformance.DefaultSettle, "how much longer than --timeout a cross-node effect may take on a cluster (--node); each effect's delay is reported")
	fl.StringVar(&f.wsURL, "websocket-url", "", "a ws:// or wss:// URL of the same broker (enables the WebSocket transport cases)")
	fl.BoolVar(&f.tlsInsecure, "tls-insecure", false, "do not verify the target's TLS certificate")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "PEM file of the CA that signed the target's certificate")
	fl.StringSliceVar(&f.disable, "disable", nil, "features to treat as missing (qos2, retain, shared-subs, …)")
	fl.StringVar(&f.expectFile, "expect", "", "expectations file (YAML): exit 0 unless a result regresses from it")
	fl.StringVar(&f.reportURL, "report-url", "", "URL of the published HTML report, linked from summary.md")
	fl.StringSliceVar(&f.faults, "fault", nil, "embedded target only: switch the reference broker into a named deliberate bug (mutation testing; see reference/broker/faults.go)")
	_ = fl.MarkHidden("fault")
	groupFlags(brokerCmd, brokerFlagGroups)
	testCmd.AddCommand(brokerCmd)
	rootCmd.AddCommand(testCmd)
}

func parseVersions(s string) ([]codec.Version, error) {
	switch strings.ToLower(s) {
	case "", "all":
		return []codec.Version{codec.V311, codec.V5}, nil
	}
	var out []codec.Version
	for _, part := range strings.Split(s, ",") {
		v, err := codec.ParseVersion(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		if v == codec.V31 {
			return nil, errors.New("--version 3.1 is not supported by the catalog; use 3.1.1 or 5")
		}
		out = append(out, v)
	}
	return out, nil
}

func buildTarget(ctx context.Context, f *testFlags) (*conformance.Target, func(), error) {
	stop := func() {}
	var tg *conformance.Target
	if f.target == "embedded" {
		if embeddedTarget == nil {
			return nil, nil, errors.New("this build has no embedded broker")
		}
		var err error
		if tg, stop, err = embeddedTarget(ctx, f.faults); err != nil {
			return nil, nil, fmt.Errorf("start the embedded broker: %w", err)
		}
	} else {
		if len(f.faults) > 0 {
			return nil, nil, errors.New("--fault applies to the embedded target only")
		}
		tg = &conformance.Target{Name: f.target, URL: f.target}
		if err := tg.CheckURL(); err != nil {
			return nil, nil, err
		}
	}
	if f.name != "" {
		tg.Name = f.name
	}
	if f.username != "" {
		tg.Username, tg.Password = f.username, f.password
	}
	if f.bad != "" {
		tg.BadPassword = f.bad
	}
	if f.deniedTopic != "" {
		tg.DeniedTopic = f.deniedTopic
	}
	if err := f.auth.apply(tg); err != nil {
		return nil, nil, err
	}
	if f.wsURL != "" {
		ws := &conformance.Target{URL: f.wsURL}
		if t := ws.Transport(); t != "ws" && t != "wss" {
			return nil, nil, fmt.Errorf("--websocket-url %q: want a ws:// or wss:// URL", f.wsURL)
		}
		tg.WebSocketURL = f.wsURL
	}
	if f.tlsInsecure || f.tlsCA != "" {
		cfg, err := tlsConfig(tlsSettings{caFile: f.tlsCA, caFlag: "--tls-ca", insecure: f.tlsInsecure})
		if err != nil {
			return nil, nil, err
		}
		tg.TLSConfig = cfg
	}
	for _, d := range f.disable {
		tg.Disable = append(tg.Disable, conformance.Feature(d))
	}
	if len(f.nodes) > 0 && f.target == "embedded" {
		stop()
		return nil, nil, errors.New("--node needs a --target URL: the embedded broker is one node")
	}
	for _, n := range f.nodes {
		// Every node is the same broker: the same credentials, TLS settings and disabled features.
		node := *tg
		node.Name, node.URL, node.WebSocketURL, node.Nodes = n, n, "", nil
		if err := node.CheckURL(); err != nil {
			return nil, nil, fmt.Errorf("--node: %w", err)
		}
		tg.Nodes = append(tg.Nodes, &node)
	}
	return tg, stop, nil
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runTestBroker(cmd *cobra.Command, f *testFlags) error {
	if err := validateBrokerFlags(f); err != nil {
		return failWith(exitUsage, err)
	}
	versions, err := parseVersions(f.version)
	if err != nil {
		return failWith(exitUsage, err)
	}
	cases, err := conformance.Select(catalog.BrokerCases(), f.cases, f.labels)
	if err != nil {
		return failWith(exitUsage, err)
	}
	var exp *expect.File
	if f.expectFile != "" {
		if exp, err = expect.ReadFile(f.expectFile, knownIDs(catalog.BrokerCases())); err != nil {
			return failWith(exitUsage, fmt.Errorf("--expect: %w", err))
		}
	}
	if len(cases) == 0 {
		return failWith(exitUsage, errors.New("no case matches the --case/--label filters"))
	}
	ctx, cancel := signalContext(cmd.Context())
	defer cancel()
	tg, stop, err := buildTarget(ctx, f)
	if err != nil {
		return failWith(exitUsage, err)
	}
	defer stop()
	r := &conformance.Runner{Target: tg, Versions: versions, Parallel: f.parallel, RunTimeout: f.runTimeout,
		Timeouts: runTimeouts(cmd, f.stepTimeout, f.caseTimeout, f.quiet, f.tolerance),
		Tool:     reports.Tool{Name: "mqttspec", Version: toolVersion()}}
	r.Timeouts.Settle = f.settle
	r.OutageWait = f.outageWait
	if f.outageWait == 0 {
		r.OutageWait = -1 // the flag's 0 is "no waiting"; the Runner's 0 is its default
	}
	return runAndReport(ctx, cmd, r, cases, runOutput{json: f.json, reportDir: f.reportDir, reportURL: f.reportURL, expectFile: f.expectFile, exp: exp})
}

// windowFlags defines --quiet-window and --timing-tolerance, shared by test broker and test
// client.
func windowFlags(cmd *cobra.Command, quiet, tolerance *time.Duration) {
	fl := cmd.Flags()
	fl.DurationVar(quiet, "quiet-window", conformance.DefaultQuiet,
		"how long a case waits to conclude that something forbidden did not arrive; every such wait scales with it; when unset it widens in proportion to a --timeout above 3s")
	fl.DurationVar(tolerance, "timing-tolerance", conformance.DefaultTolerance,
		"how late past a statement's bound a timed effect may come (keep alive close, Will Delay, session/message expiry, a client's PINGREQ)")
}

// runTimeouts builds the run's timeouts from the flags. An unset --quiet-window stays zero, so
// the runner widens it with --timeout.
func runTimeouts(cmd *cobra.Command, step, caseLimit, quiet, tolerance time.Duration) conformance.Timeouts {
	to := conformance.Timeouts{Step: step, Case: caseLimit, Tolerance: tolerance}
	if cmd.Flags().Changed("quiet-window") {
		to.Quiet = quiet
	}
	return to
}

// runOutput says what a test subcommand does with its run.
type runOutput struct {
	json                             bool
	reportDir, reportURL, expectFile string
	exp                              *expect.File
}

// runAndReport runs the cases and does what both "test broker" and "test client" do with the
// results: progress on a TTY, results.json/HTML/JUnit/summary.md, the text or JSON summary, the
// comparison with an expectations file, and the exit code.
func runAndReport(ctx context.Context, cmd *cobra.Command, r *conformance.Runner, cases []conformance.Case, o runOutput) error {
	out := cmd.OutOrStdout()
	history := historyFile(r)
	if r.Expected == nil {
		r.Expected = loadHistory(history) // the last run against this target orders this one
	}
	progress := !o.json && isTTY(out)
	if progress {
		r.Progress = newProgress(out, r, cases).update
	}
	res, err := r.Run(ctx, cases)
	if progress {
		fmt.Fprint(out, "\r\033[K")
	}
	if err != nil {
		return failWith(exitUsage, err)
	}
	// The history only orders the next run: a cache directory that cannot be written costs
	// that run some speed, not this one its results.
	_ = saveHistory(history, res)
	var cmp *expect.Comparison
	if o.exp != nil {
		cmp = expect.Compare(o.exp, res)
	}
	if o.reportDir != "" {
		if err := writeReports(o.reportDir, res); err != nil {
			return failWith(exitUsage, err)
		}
	}
	if err := writeSummary(o.reportDir, res, cmp, o.reportURL); err != nil {
		return failWith(exitUsage, err)
	}
	if o.json {
		if err := res.Encode(out); err != nil {
			return failWith(exitUsage, err)
		}
	} else {
		printSummary(out, res, o.reportDir)
		if cmp != nil {
			printComparison(out, cmp, o.expectFile)
		}
	}
	if cmp != nil {
		if !cmp.OK() {
			return failWith(exitFailures, fmt.Errorf("%d regression(s) against %s", len(cmp.Regressions), o.expectFile))
		}
		return nil
	}
	return exitFor(res)
}

// knownIDs lets an expectations file be checked against the catalog and the registry.
func knownIDs(cases []conformance.Case) *expect.Known {
	ids := map[string]bool{}
	for _, c := range cases {
		ids[c.ID] = true
	}
	return &expect.Known{Case: func(id string) bool { return ids[id] }, Statement: spec.Exists}
}

// writeSummary writes summary.md into the report directory and appends it to the GitHub job
// summary when GITHUB_STEP_SUMMARY is set.
func writeSummary(dir string, res *reports.Results, cmp *expect.Comparison, url string) error {
	md := markdown.Render([]*reports.Results{res}, markdown.Options{Comparison: cmp, ReportURL: url})
	if dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "summary.md"), md, 0o644); err != nil {
			return fmt.Errorf("write summary.md: %w", err)
		}
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
		}
		defer f.Close()
		if _, err := f.Write(md); err != nil {
			return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	return nil
}

func printComparison(w io.Writer, cmp *expect.Comparison, file string) {
	fmt.Fprintf(w, "expectations %s: %d as expected (%d known gaps), %d regression(s), %d unexpected pass(es), %d other change(s)\n",
		file, cmp.Matched, cmp.ExpectedFailing, len(cmp.Regressions), len(cmp.UnexpectedPass), len(cmp.Changed))
	for _, d := range cmp.Regressions {
		fmt.Fprintf(w, "REGRESSION  %s [%s]: expected %s, got %s — %s\n", d.Case.ID, d.Case.Version, d.Expected, d.Case.Status, d.Case.Message)
	}
	for _, d := range cmp.UnexpectedPass {
		fmt.Fprintf(w, "UNEXPECTED PASS  %s [%s]: expected %s — tighten %s\n", d.Case.ID, d.Case.Version, d.Expected, file)
	}
	for _, d := range cmp.Changed {
		fmt.Fprintf(w, "CHANGED  %s [%s]: expected %s, got %s\n", d.Case.ID, d.Case.Version, d.Expected, d.Case.Status)
	}
}

// exitFor maps results to the exit code: 1 when a MUST failed, 2 when the harness could not
// judge some case, 0 otherwise.
func exitFor(res *reports.Results) error {
	switch {
	case res.Summary.Fail > 0:
		return failWith(exitFailures, fmt.Errorf("%d case(s) failed", res.Summary.Fail))
	case res.Summary.Error > 0 || res.Incomplete:
		return failWith(exitUsage, fmt.Errorf("%d case(s) could not be judged (status error)", res.Summary.Error))
	}
	return nil
}

func writeReports(dir string, res *reports.Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	if err := res.WriteFile(filepath.Join(dir, "results.json")); err != nil {
		return fmt.Errorf("write results.json: %w", err)
	}
	for _, w := range reportWriters {
		if err := w(dir, res); err != nil {
			return err
		}
	}
	return nil
}

func printSummary(w io.Writer, res *reports.Results, dir string) {
	for _, c := range res.Cases {
		if c.Status == reports.Fail || c.Status == reports.Error || c.Status == reports.Warn {
			fmt.Fprintf(w, "%-5s %-5s %s  %s\n      %s\n", strings.ToUpper(string(c.Status)), c.Version, c.ID, strings.Join(c.Statements, " "), c.Message)
		}
	}
	s := res.Summary
	fmt.Fprintf(w, "\n%s (%s): %d cases in %.1fs — %d pass, %d fail, %d warn, %d skip, %d error\n",
		res.Target.Name, res.Target.URL, s.Total(), res.DurationMs/1000, s.Pass, s.Fail, s.Warn, s.Skip, s.Error)
	for _, v := range []string{"3.1.1", "5.0"} {
		if cov, ok := res.Coverage[v]; ok {
			fmt.Fprintf(w, "coverage %s: %d of %d testable statements ran to a verdict (%.0f%%), %d proven by a fault (%.0f%%)\n",
				v, cov.Tested, cov.Testable, cov.Percent(), cov.Proven, cov.ProvenPercent())
			printSkipReasons(w, cov.Skips)
		}
	}
	if dir != "" {
		fmt.Fprintf(w, "report: %s\n", dir)
	}
}

// encodeJSON is a small helper for list --json.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
