package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/matrix"
)

func init() {
	var (
		brokers, clients, only, cases, args []string
		role, out, work                     string
		runs                                int
		fresh                               bool
	)
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Run the catalogs against every broker and client of the target lists; write the matrix page",
		Long: `Run the broker catalog against every broker of the broker lists and the client catalog against
every client of the client lists, each target --runs times, and write to --out:

  index.html     the brokers side by side: one row per case and version, one column per broker,
                 each cell the verdict (click for the transcript); filters by section, level,
                 version, "only differences" and "only unstable"
  clients.html   the same for the clients
  README.md      per target and version: counts, statements that ran to a verdict (and how many
                 of those are proven), unstable verdicts; then every case where targets disagree
  brokers/NAME.json, clients/NAME.json
                 each target's results (the first run, with the later runs' verdicts as reruns)

A broker is started by its script (start DIR PORT WSPORT, stop DIR; see docs/matrix.md) on free
loopback ports, one broker at a time, and stopped by PID when its runs end. Scripts are
relative to the current directory (the repository root). A broker whose script reports it is
not installed is listed as not run, with what to install. Targets left out with --only keep the
results of their last run in --out (unless --fresh), so one target can be rerun alone. Exit status 1 when a target did not
run; findings do not change the exit status.`,
		Example: `  mqttspec matrix                                   # every target, twice (make matrix)
  mqttspec matrix --only mosquitto --only reference --runs 1 --out out/matrix
  mqttspec matrix --role broker --case '3.12/*' --out out/matrix-short`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lists []string
			switch role {
			case "all":
				lists = append(append(lists, brokers...), clients...)
			case "broker":
				lists = brokers
			case "client":
				lists = clients
			default:
				return failWith(exitUsage, fmt.Errorf("--role %q: want broker, client or all", role))
			}
			if runs < 1 || runs > 10 {
				return failWith(exitUsage, fmt.Errorf("--runs %d: want 1 to 10", runs))
			}
			full, err := matrix.Load(lists...)
			if err != nil {
				return failWith(exitUsage, err)
			}
			cfg, err := full.Select(only)
			if err != nil {
				return failWith(exitUsage, err)
			}
			exe, err := os.Executable()
			if err != nil {
				return failWith(exitUsage, fmt.Errorf("finding the mqttspec binary: %w", err))
			}
			root, err := os.Getwd()
			if err != nil {
				return failWith(exitUsage, err)
			}
			if work == "" {
				work = filepath.Join("out", "matrix-work")
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			r := &matrix.Runner{Exe: exe, Root: root, Work: work, Runs: runs, Cases: cases, Args: args, Log: cmd.ErrOrStderr()}
			ran := r.Run(ctx, cfg)
			outcomes := ran
			if !fresh {
				// The targets not run this time keep the results of their last run in --out, so
				// that rerunning one target updates the page instead of emptying it.
				outcomes = matrix.Previous(out, full, outcomes)
			}
			// Each target's findings document: the list's doc: field, else docs/ROLEs/NAME.md
			// (paths from the repository root, linked relative to --out).
			given := map[string]string{}
			for _, b := range full.Brokers {
				given["broker/"+b.Name] = b.Doc
			}
			for _, c := range full.Clients {
				given["client/"+c.Name] = c.Doc
			}
			docs := map[string]string{}
			for _, o := range outcomes {
				key := o.Role + "/" + o.Name
				doc := given[key]
				if doc == "" {
					doc = filepath.Join("docs", o.Role+"s", o.Name+".md")
				}
				if _, err := os.Stat(doc); err != nil {
					continue
				}
				if rel, err := filepath.Rel(out, doc); err == nil {
					docs[key] = filepath.ToSlash(rel)
				}
			}
			if err := (matrix.Site{Dir: out, Docs: docs}).Write(outcomes); err != nil {
				return failWith(exitUsage, err)
			}
			var failed []string
			for _, o := range ran {
				switch {
				case o.Err != nil:
					failed = append(failed, o.Name)
					fmt.Fprintf(cmd.OutOrStdout(), "%-12s did not run: %v\n", o.Name, o.Err)
				default:
					s := o.Results.Summary
					unstable := 0
					for i := range o.Results.Cases {
						if o.Results.Cases[i].Unstable() {
							unstable++
						}
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%-12s %d pass, %d fail, %d warn, %d skip, %d error; %d unstable\n",
						o.Name, s.Pass, s.Fail, s.Warn, s.Skip, s.Error, unstable)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "matrix written to %s\n", out)
			if ctx.Err() != nil {
				return failWith(exitUsage, errors.New("interrupted: the matrix holds the targets that finished"))
			}
			if len(failed) > 0 {
				return failWith(exitFailures, fmt.Errorf("did not run: %s", strings.Join(failed, ", ")))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&brokers, "brokers", []string{"matrix/brokers.yaml"}, "broker list file(s) (YAML)")
	f.StringSliceVar(&clients, "clients", []string{"matrix/clients.yaml"}, "client list file(s) (YAML)")
	f.StringVar(&role, "role", "all", "broker, client or all")
	f.StringArrayVar(&only, "only", nil, "run only the target with this name; broker:NAME or client:NAME where a broker and a client share it (repeatable)")
	f.StringArrayVar(&cases, "case", nil, "run only cases whose ID matches this glob or prefix (repeatable; the short form of the matrix)")
	f.StringArrayVar(&args, "arg", nil, "extra flag for every `mqttspec test` run, e.g. --arg=--timeout=5s (repeatable)")
	f.BoolVar(&fresh, "fresh", false, "leave out of the page the targets not run this time (default: they keep the results of their last run in --out)")
	f.IntVar(&runs, "runs", 2, "runs per target: a verdict that changes between runs is unstable")
	f.StringVar(&out, "out", "docs/matrix", "directory of the matrix page")
	f.StringVar(&work, "work", "", "directory of the runs' reports and the brokers' state (default out/matrix-work)")
	rootCmd.AddCommand(cmd)
}
