package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
	"github.com/mqttspec/mqttspec/fuzz/netfuzz"
	"github.com/mqttspec/mqttspec/reference/broker"
)

type fuzzFlags struct {
	target       string
	version      string
	duration     time.Duration
	execs        int
	seed         int64
	out          string
	probeTimeout time.Duration
	noMinimize   bool
	restart      string
	allowRemote  bool
	json         bool
}

func init() {
	var f fuzzFlags
	cmd := &cobra.Command{
		Use:   "fuzz",
		Short: "Fuzz a live broker over the network; export a seed corpus and a dictionary",
		Long: `Fuzz a live MQTT broker: grammar-aware mutations of valid client sessions (fields at their
edges, flipped flags, wrong lengths, truncated and concatenated packets, property storms, huge
remaining lengths, slow sends), a liveness probe (fresh CONNECT, then PINGREQ) after every input,
and for each crash (the probe cannot connect) or hang (no answer in time) a reproducer file with
the bytes and pauses, minimized by delta debugging. "mqttspec fuzz replay" sends one again.

--target embedded fuzzes the in-process reference broker (restarted after a crash). Only
loopback targets are accepted unless --allow-remote is given: the traffic is hostile by design.

Exit status: 0 when nothing was found, 1 when a crash or hang was found, 2 on usage errors or
when the target does not serve to begin with.`,
		Example: `  mqttspec fuzz --target tcp://127.0.0.1:1883 --duration 10m --out findings/
  mqttspec fuzz --target embedded --version 5 --execs 5000 --seed 42
  mqttspec fuzz replay findings/crash-3f2a9c0d11e4-min.json --target tcp://127.0.0.1:1883
  mqttspec fuzz corpus --version 5 --out corpus/
  mqttspec fuzz dict > mqtt.dict`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runFuzz(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "broker to fuzz: tcp://host:port, or embedded (required)")
	fl.StringVarP(&f.version, "version", "V", "all", "session version: 3.1.1, 5 or all")
	fl.DurationVar(&f.duration, "duration", time.Minute, "how long to fuzz (0: until --execs or Ctrl-C)")
	fl.IntVar(&f.execs, "execs", 0, "stop after this many inputs (0: no limit)")
	fl.Int64Var(&f.seed, "seed", 0, "random seed, for a reproducible run (0: from the clock, printed)")
	fl.StringVar(&f.out, "out", "fuzz-findings", "directory for reproducer files")
	fl.DurationVar(&f.probeTimeout, "probe-timeout", 2*time.Second, "time the broker has for each answer of the liveness probe")
	fl.BoolVar(&f.noMinimize, "no-minimize", false, "keep findings as found, without delta debugging")
	fl.StringVar(&f.restart, "restart", "", "shell command that restarts a crashed target (without it the run stops at a crash)")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow a target that is not on a loopback address")
	fl.BoolVar(&f.json, "json", false, "print the report as JSON")
	cmd.AddCommand(fuzzReplayCmd(), fuzzCorpusCmd(), fuzzDictCmd(), fuzzDiffCmd())
	rootCmd.AddCommand(cmd)
}

// parseFuzzVersion accepts 3.1.1, 5 or all (both).
func parseFuzzVersion(s string) (codec.Version, error) {
	if s == "all" || s == "" {
		return codec.VersionUnknown, nil
	}
	v, err := codec.ParseVersion(s)
	if err != nil || (v != codec.V311 && v != codec.V5) {
		return 0, fmt.Errorf("--version %q: want 3.1.1, 5 or all", s)
	}
	return v, nil
}

// embeddedBroker is the reference broker on a loopback port, restartable on that port.
type embeddedBroker struct {
	mu   sync.Mutex
	srv  *broker.Server
	addr string
}

func (e *embeddedBroker) start(ctx context.Context) error {
	srv, err := broker.New(broker.Options{})
	if err != nil {
		return err
	}
	url := "tcp://127.0.0.1:0"
	if e.addr != "" {
		url = "tcp://" + e.addr
	}
	a, err := srv.ListenAndServe(ctx, url)
	if err != nil {
		srv.Close()
		return err
	}
	e.mu.Lock()
	e.srv, e.addr = srv, a.String()
	e.mu.Unlock()
	return nil
}

func (e *embeddedBroker) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
}

func (e *embeddedBroker) restart(ctx context.Context) error {
	e.stop()
	return e.start(ctx)
}

func runFuzz(cmd *cobra.Command, f *fuzzFlags) error {
	if f.target == "" {
		return failWith(exitUsage, errors.New("--target is required (tcp://host:port or embedded)"))
	}
	v, err := parseFuzzVersion(f.version)
	if err != nil {
		return failWith(exitUsage, err)
	}
	if f.duration < 0 || f.execs < 0 || f.probeTimeout <= 0 {
		return failWith(exitUsage, errors.New("--duration, --execs and --probe-timeout must not be negative"))
	}
	ctx, cancel := signalContext(cmd.Context())
	defer cancel()
	o := netfuzz.Options{Target: f.target, AllowRemote: f.allowRemote, Version: v, Duration: f.duration,
		MaxExecs: f.execs, Seed: f.seed, OutDir: f.out, ProbeTimeout: f.probeTimeout, Minimize: !f.noMinimize}
	if f.target == "embedded" {
		e := &embeddedBroker{}
		if err := e.start(ctx); err != nil {
			return failWith(exitUsage, fmt.Errorf("start the reference broker: %w", err))
		}
		defer e.stop()
		o.Target, o.Restart = "tcp://"+e.addr, e.restart
	} else if f.restart != "" {
		o.Restart = func(ctx context.Context) error {
			c := exec.CommandContext(ctx, "sh", "-c", f.restart)
			c.Stdout, c.Stderr = cmd.ErrOrStderr(), cmd.ErrOrStderr()
			return c.Run()
		}
	}
	errw := cmd.ErrOrStderr()
	tty := isTTY(errw) && !f.json
	if tty {
		o.Progress = func(s netfuzz.Stats) {
			fmt.Fprintf(errw, "\r%s  %d inputs (%.0f/s)  crashes %d  hangs %d  corpus %d   ",
				s.Elapsed.Round(time.Second), s.Execs, s.ExecsPerSec(), s.Crashes, s.Hangs, s.Corpus)
		}
	}
	rep, err := netfuzz.Run(ctx, o)
	if tty {
		fmt.Fprintln(errw)
	}
	if err != nil {
		return failWith(exitUsage, err)
	}
	out := cmd.OutOrStdout()
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(fuzzJSON(rep, o.Target)); err != nil {
			return failWith(exitUsage, err)
		}
	} else {
		printFuzzReport(out, rep, o.Target)
	}
	if len(rep.Findings) > 0 {
		return failWith(exitFailures, fmt.Errorf("%d crash(es) and %d hang(s) found; reproducers in %s", rep.Crashes, rep.Hangs, f.out))
	}
	return nil
}

func printFuzzReport(w io.Writer, rep *netfuzz.Report, target string) {
	fmt.Fprintf(w, "fuzzed %s: %d inputs in %s (%.0f/s), seed %d, %d answer signatures, %d transient stalls\n",
		target, rep.Execs, rep.Elapsed.Round(time.Millisecond), rep.ExecsPerSec(), rep.Seed, rep.Signatures, rep.Stalls)
	if rep.Stopped != "" {
		fmt.Fprintf(w, "stopped early: %s\n", rep.Stopped)
	}
	if len(rep.Findings) == 0 {
		fmt.Fprintln(w, "no crash, no hang")
		return
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "%s: %s\n  found     %s (%d bytes, mutation %s)\n", f.Found.Kind, f.Found.Detail, f.File, f.Found.Original, f.Found.Mutation)
		if f.Minimized != nil {
			in, _ := f.Minimized.Input()
			fmt.Fprintf(w, "  minimized %s (%d bytes)\n", f.MinFile, in.Size())
		}
	}
}

type fuzzReportJSON struct {
	Target     string        `json:"target"`
	Seed       int64         `json:"seed"`
	Inputs     int           `json:"inputs"`
	Seconds    float64       `json:"seconds"`
	PerSecond  float64       `json:"inputs_per_second"`
	Crashes    int           `json:"crashes"`
	Hangs      int           `json:"hangs"`
	Stalls     int           `json:"transient_stalls"`
	Signatures int           `json:"answer_signatures"`
	Stopped    string        `json:"stopped,omitempty"`
	Findings   []findingJSON `json:"findings"`
}

type findingJSON struct {
	Kind      string `json:"kind"`
	Detail    string `json:"detail"`
	File      string `json:"file"`
	Minimized string `json:"minimized,omitempty"`
}

func fuzzJSON(rep *netfuzz.Report, target string) fuzzReportJSON {
	j := fuzzReportJSON{Target: target, Seed: rep.Seed, Inputs: rep.Execs, Seconds: rep.Elapsed.Seconds(),
		PerSecond: rep.ExecsPerSec(), Crashes: rep.Crashes, Hangs: rep.Hangs, Stalls: rep.Stalls,
		Signatures: rep.Signatures, Stopped: rep.Stopped, Findings: []findingJSON{}}
	for _, f := range rep.Findings {
		j.Findings = append(j.Findings, findingJSON{Kind: f.Found.Kind, Detail: f.Found.Detail, File: f.File, Minimized: f.MinFile})
	}
	return j
}

func fuzzReplayCmd() *cobra.Command {
	var target string
	var probeTimeout time.Duration
	var allowRemote bool
	cmd := &cobra.Command{
		Use:   "replay FILE... --target tcp://host:port",
		Short: "Send reproducer files again and probe the broker after each",
		Long: `Send the bytes of each reproducer file (with its pauses) to the target, then probe the broker's
liveness as the fuzzer did. Exit status 1 when a reproducer still crashes or hangs the broker,
0 when the broker survives them all, 2 on usage errors or a broker that does not serve.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return failWith(exitUsage, errors.New("--target is required"))
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			reproduced := 0
			for _, path := range args {
				rp, err := netfuzz.LoadReproducer(path)
				if err != nil {
					return failWith(exitUsage, err)
				}
				kind, detail, err := netfuzz.Replay(ctx, target, allowRemote, rp, probeTimeout)
				if err != nil {
					return failWith(exitUsage, err)
				}
				if kind == "" {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: the broker kept serving (the file recorded a %s)\n", path, rp.Kind)
					continue
				}
				reproduced++
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s reproduced: %s\n", path, kind, detail)
				if len(args) > 1 {
					return failWith(exitFailures, fmt.Errorf("%s left the broker broken; restart it before replaying the rest", path))
				}
			}
			if reproduced > 0 {
				return failWith(exitFailures, fmt.Errorf("%d of %d reproducers still break the broker", reproduced, len(args)))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "broker: tcp://host:port (required)")
	cmd.Flags().DurationVar(&probeTimeout, "probe-timeout", 0, "liveness probe timeout (default: the one recorded in the file)")
	cmd.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow a target that is not on a loopback address")
	return cmd
}

func fuzzCorpusCmd() *cobra.Command {
	var version, out string
	cmd := &cobra.Command{
		Use:   "corpus --version 3.1.1|5 --out DIR",
		Short: "Write a seed corpus for other fuzzers: one file per packet, valid and broken",
		Long: `Write one raw file per MQTT packet for libFuzzer, AFL++ or any fuzzer that takes a directory of
seeds: every packet type with realistic fields, valid edge cases, and for each type every rule a
broken packet can break. MANIFEST.tsv lists each file with its packet type, who sends it, and
what a conforming parser must do: accept, or reject citing a statement ID.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return failWith(exitUsage, errors.New("--out is required"))
			}
			var versions []codec.Version
			switch version {
			case "all":
				versions = []codec.Version{codec.V311, codec.V5}
			default:
				v, err := parseFuzzVersion(version)
				if err != nil || v == codec.VersionUnknown {
					return failWith(exitUsage, fmt.Errorf("--version %q: want 3.1.1, 5 or all", version))
				}
				versions = []codec.Version{v}
			}
			n, err := writeCorpus(out, versions)
			if err != nil {
				return failWith(exitUsage, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d packets and MANIFEST.tsv to %s\n", n, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&version, "version", "V", "all", "3.1.1, 5 or all")
	cmd.Flags().StringVar(&out, "out", "", "directory to write (created if missing)")
	return cmd
}

// writeCorpus writes the seed files of the versions and their manifest.
func writeCorpus(dir string, versions []codec.Version) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	var manifest strings.Builder
	manifest.WriteString("# file\tversion\ttype\tsender\tverdict\trule\tcitation\treason\n")
	n := 0
	for _, v := range versions {
		seeds := gen.Corpus(v)
		sort.Slice(seeds, func(i, j int) bool { return seeds[i].Name < seeds[j].Name })
		for _, s := range seeds {
			c := s.Case
			name := s.Name + ".bin"
			if err := os.WriteFile(filepath.Join(dir, name), c.Bytes, 0o644); err != nil {
				return n, err
			}
			verdict, rule, cite, reason := "accept", "-", "-", "-"
			if !c.Want.Accept {
				verdict, rule, cite, reason = "reject", c.Want.Rule, c.Want.Cite(c.Version), fmt.Sprintf("0x%02X", byte(c.Want.Reason))
			}
			fmt.Fprintf(&manifest, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, c.Version, c.Type, senderName(c.Sender), verdict, rule, cite, reason)
			n++
		}
	}
	return n, os.WriteFile(filepath.Join(dir, "MANIFEST.tsv"), []byte(manifest.String()), 0o644)
}

func senderName(s codec.Side) string {
	switch s {
	case codec.SideClient:
		return "client"
	case codec.SideServer:
		return "server"
	}
	return "either"
}

func fuzzDictCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "dict [--out FILE]",
		Short: "Print an AFL/libFuzzer dictionary of MQTT tokens",
		Long: `Print a dictionary for libFuzzer (-dict=FILE) and AFL++ (-x FILE): protocol names and levels,
the first byte of every packet type, remaining lengths at their edges, every property identifier
with a value, reason codes, CONNECT flag and subscription option bytes, topic syntax and UTF-8
edge cases.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			text := gen.DictionaryText()
			if out == "" {
				_, err := cmd.OutOrStdout().Write(text)
				return err
			}
			if err := os.WriteFile(out, text, 0o644); err != nil {
				return failWith(exitUsage, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to FILE instead of stdout")
	return cmd
}
