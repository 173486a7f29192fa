package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/fuzz/netfuzz"
)

type fuzzDiffFlags struct {
	targets       []string
	names         []string
	version       string
	duration      time.Duration
	execs         int
	seed          int64
	out           string
	markdown      string
	html          string
	username      string
	password      string
	answerTimeout time.Duration
	perClass      int
	noMinimize    bool
	allowRemote   bool
	json          bool
}

// fuzzDiffCmd is `mqttspec fuzz diff`: differential network fuzzing across brokers.
func fuzzDiffCmd() *cobra.Command {
	var f fuzzDiffFlags
	cmd := &cobra.Command{
		Use:   "diff --target URL --target URL [--target URL...]",
		Short: "Send the same fuzzed sessions to several brokers and report where their answers split",
		Long: `Differential network fuzzing: every input (a generated client session, CONNECT then packets with
grammar-aware mutations, as "mqttspec fuzz" makes them) goes to every target at once, followed by a
PINGREQ whose PINGRESP says the target has answered everything. Each answer is normalised (packet
identifiers become "id=sent" or "id=new", client identifiers, payloads, properties and timing are
dropped, deliveries and acknowledgements compared as a multiset) and reduced to a signature: the
packets with their reason codes, and whether the target closed the connection, kept it open, or
stayed silent.

An input on which the signatures differ is sent again; if it splits the same way it joins its
disagreement class (the codec's verdict on the input plus what each target's answer holds that the
others' do not). The first splits of each class are minimized and saved under --out as JSON with
every target's answer, the statement the codec cites for the input, what the spec checks of
package fuzz/oracle find wrong in each answer, and a verdict: the targets the oracle blames, else
the ones outside the majority.

--username/--password put the same login into every session's CONNECT (before the mutations) and
into the readiness probe, for brokers that refuse anonymous clients. --html writes one
self-contained page (no external request) with the classes grouped by pattern and a filter by
the target that deviates.

--target embedded starts an in-process reference broker. Only loopback targets are accepted unless
--allow-remote is given. Exit status: 0 when the targets always agreed, 1 when they split, 2 on
usage errors or when a target does not serve.`,
		Example: `  mqttspec fuzz diff --target embedded --target tcp://127.0.0.1:1883 --name reference --name mosquitto --duration 3m
  mqttspec fuzz diff --target tcp://127.0.0.1:1883 --target tcp://127.0.0.1:1884 --version 5 --markdown diff.md --html diff.html
  mqttspec fuzz diff --target embedded --target tcp://127.0.0.1:1883 --target tcp://127.0.0.1:5222 --username u1 --password p1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runFuzzDiff(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.targets, "target", nil, "broker: tcp://host:port or embedded (at least two)")
	fl.StringArrayVar(&f.names, "name", nil, "name of the target at the same position, for reports")
	fl.StringVarP(&f.version, "version", "V", "all", "session version: 3.1.1, 5 or all")
	fl.DurationVar(&f.duration, "duration", time.Minute, "how long to fuzz (0: until --execs or Ctrl-C)")
	fl.IntVar(&f.execs, "execs", 0, "stop after this many inputs (0: no limit)")
	fl.Int64Var(&f.seed, "seed", 0, "random seed (0: from the clock, printed)")
	fl.StringVar(&f.out, "out", "fuzz-diff", "directory for the saved splits")
	fl.StringVar(&f.markdown, "markdown", "", "also write the Markdown summary to this file")
	fl.StringVar(&f.html, "html", "", "also write the HTML summary (one self-contained file, with a filter by deviating target) to this file")
	fl.StringVar(&f.username, "username", "", "log every session in with this user name (the same on every target: for brokers that refuse anonymous clients)")
	fl.StringVar(&f.password, "password", "", "password that goes with --username")
	fl.DurationVar(&f.answerTimeout, "answer-timeout", 400*time.Millisecond, "how long each target has to answer an input")
	fl.IntVar(&f.perClass, "per-class", 2, "splits kept (and minimized) per disagreement class")
	fl.BoolVar(&f.noMinimize, "no-minimize", false, "keep splits as found")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow targets that are not on a loopback address")
	fl.BoolVar(&f.json, "json", false, "print the report as JSON instead of Markdown")
	return cmd
}

func runFuzzDiff(cmd *cobra.Command, f *fuzzDiffFlags) error {
	if len(f.targets) < 2 {
		return failWith(exitUsage, errors.New("fuzz diff needs at least two --target"))
	}
	if len(f.names) > len(f.targets) {
		return failWith(exitUsage, errors.New("more --name than --target"))
	}
	v, err := parseFuzzVersion(f.version)
	if err != nil {
		return failWith(exitUsage, err)
	}
	if f.duration < 0 || f.execs < 0 || f.answerTimeout <= 0 {
		return failWith(exitUsage, errors.New("--duration, --execs and --answer-timeout must not be negative"))
	}
	ctx, cancel := signalContext(cmd.Context())
	defer cancel()
	o := netfuzz.DiffOptions{Names: f.names, AllowRemote: f.allowRemote, Version: v, Duration: f.duration,
		MaxExecs: f.execs, Seed: f.seed, OutDir: f.out, AnswerTimeout: f.answerTimeout, PerClass: f.perClass,
		Minimize: !f.noMinimize, Username: f.username, Password: f.password}
	if f.password != "" && f.username == "" {
		return failWith(exitUsage, errors.New("--password needs --username"))
	}
	for i, t := range f.targets {
		if t == "embedded" {
			e := &embeddedBroker{}
			if err := e.start(ctx); err != nil {
				return failWith(exitUsage, fmt.Errorf("start the reference broker: %w", err))
			}
			defer e.stop()
			t = "tcp://" + e.addr
			if i >= len(o.Names) {
				o.Names = append(o.Names, make([]string, i+1-len(o.Names))...)
			}
			if o.Names[i] == "" {
				o.Names[i] = "reference"
			}
		}
		o.Targets = append(o.Targets, t)
	}
	errw := cmd.ErrOrStderr()
	tty := isTTY(errw) && !f.json
	var lastLine time.Time
	o.Progress = func(s netfuzz.DiffStats) {
		line := fmt.Sprintf("%s  %d inputs (%.1f/s)  splits %d (reproduced %d)  classes %d",
			s.Elapsed.Round(time.Second), s.Execs, s.ExecsPerSec(), s.Splits, s.Stable, s.Classes)
		if tty {
			fmt.Fprintf(errw, "\r%s   ", line)
		} else if time.Since(lastLine) >= 10*time.Second {
			lastLine = time.Now()
			fmt.Fprintln(errw, line)
		}
	}
	rep, err := netfuzz.Diff(ctx, o)
	if tty {
		fmt.Fprintln(errw)
	}
	if err != nil {
		return failWith(exitUsage, err)
	}
	md := rep.Markdown()
	if f.markdown != "" {
		if err := os.WriteFile(f.markdown, []byte(md), 0o644); err != nil {
			return failWith(exitUsage, err)
		}
	}
	if f.html != "" {
		var hb bytes.Buffer
		if err := rep.HTML(&hb); err != nil {
			return failWith(exitUsage, err)
		}
		if err := os.WriteFile(f.html, hb.Bytes(), 0o644); err != nil {
			return failWith(exitUsage, err)
		}
	}
	out := cmd.OutOrStdout()
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(diffJSON(rep)); err != nil {
			return failWith(exitUsage, err)
		}
	} else {
		fmt.Fprint(out, md)
	}
	if len(rep.Classes) > 0 {
		return failWith(exitFailures, fmt.Errorf("the targets split on %d input(s) in %d class(es); splits in %s", rep.Stable, len(rep.Classes), f.out))
	}
	return nil
}

type diffClassJSON struct {
	Class   string         `json:"class"`
	Count   int            `json:"count"`
	Example *netfuzz.Split `json:"example"`
	Files   []string       `json:"files,omitempty"`
}

type diffReportJSON struct {
	Targets    []string        `json:"targets"`
	Seed       int64           `json:"seed"`
	Inputs     int             `json:"inputs"`
	Seconds    float64         `json:"seconds"`
	PerSecond  float64         `json:"inputs_per_second"`
	Splits     int             `json:"splits"`
	Reproduced int             `json:"reproduced"`
	Classes    []diffClassJSON `json:"classes"`
}

func diffJSON(rep *netfuzz.DiffReport) diffReportJSON {
	j := diffReportJSON{Targets: rep.Targets, Seed: rep.Seed, Inputs: rep.Execs, Seconds: rep.Elapsed.Seconds(),
		PerSecond: rep.ExecsPerSec(), Splits: rep.Splits, Reproduced: rep.Stable, Classes: []diffClassJSON{}}
	for _, c := range rep.Classes {
		cj := diffClassJSON{Class: c.Name, Count: c.Count, Example: c.Example}
		for _, s := range c.Kept {
			if s.File != "" {
				cj.Files = append(cj.Files, s.File)
			}
		}
		j.Classes = append(j.Classes, cj)
	}
	return j
}
