package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/html"
	"github.com/mqttspec/mqttspec/reports/junit"
)

// reportFlags are the options of the report subcommands.
type reportFlags struct {
	output        string
	title         string
	merge         bool
	warnAsFailure bool
	maxEvents     int
	maxHexBytes   int
}

func init() {
	// test --report DIR (and every other run that calls writeReports) also writes the HTML
	// report and the JUnit XML next to results.json.
	reportWriters = append(reportWriters, writeHTMLAndJUnit)

	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Render results.json as HTML, JUnit XML or merged JSON; compare runs side by side",
		Long: `Render one or more results.json files (written by mqttspec test … --report DIR or --json).

  html     one file: the compliance report (summary, coverage, per-section tables with filters,
           per-case detail with the transcript, statement coverage matrix). Several files: a
           comparison of the targets side by side, or with --merge one report of their union
           (runs of one target, e.g. one per version).
  compare  the side-by-side comparison of several runs, as one HTML file.
  junit    JUnit XML for CI (one testsuite per section). Several files of one target are merged.
  json     validated, sorted results.json. Several files of one target are merged into one.

The HTML file is self-contained: it fetches nothing when viewed and works offline.
Invalid input stops with exit code 2 and names the file and the problem.`,
		Example: `  mqttspec report html out/results.json -o out/report.html
  mqttspec report compare reference.json mosquitto.json mochi.json -o compare.html
  mqttspec report junit out/results.json -o junit.xml
  mqttspec report json v311.json v5.json -o all.json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failWith(exitUsage, fmt.Errorf("unknown report format %q: want html, compare, junit or json", args[0]))
			}
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return failWith(exitUsage, errors.New(""))
		},
	}
	fl := cmd.PersistentFlags()
	fl.StringVarP(&f.output, "output", "o", "-", "output file; - writes to standard output")
	for _, sub := range []struct {
		use, short string
		minArgs    int
	}{
		{"html RESULTS.json...", "Write the HTML report (several inputs: comparison, or --merge)", 1},
		{"compare RESULTS.json...", "Write the HTML comparison of several runs", 2},
		{"junit RESULTS.json...", "Write JUnit XML", 1},
		{"json RESULTS.json...", "Write validated (and merged) results.json", 1},
	} {
		kind := sub.use[:len(sub.use)-len(" RESULTS.json...")]
		c := &cobra.Command{
			Use:   sub.use,
			Short: sub.short,
			Args: func(_ *cobra.Command, args []string) error {
				if len(args) < sub.minArgs {
					return failWith(exitUsage, fmt.Errorf("report %s needs at least %d results file(s), got %d", kind, sub.minArgs, len(args)))
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				return runReport(cmd.OutOrStdout(), kind, args, f)
			},
		}
		switch kind {
		case "html", "compare":
			c.Flags().StringVar(&f.title, "title", "", "page title")
			c.Flags().IntVar(&f.maxEvents, "max-events", 0, "transcript events kept per case in the page (default 200; all are in results.json)")
			c.Flags().IntVar(&f.maxHexBytes, "max-hex-bytes", 0, "bytes kept per packet in the page (default 2048)")
			if kind == "html" {
				c.Flags().BoolVar(&f.merge, "merge", false, "several inputs: merge them into one report instead of comparing")
			}
		case "junit":
			c.Flags().BoolVar(&f.warnAsFailure, "warn-as-failure", false, "report warnings (SHOULD not met) as failures")
		}
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return failWith(exitUsage, err) })
		cmd.AddCommand(c)
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return failWith(exitUsage, err) })
	rootCmd.AddCommand(cmd)
}

// runReport reads and validates every input, then renders. Every failure is exit code 2: a
// report command has no "failures found" outcome of its own.
func runReport(stdout io.Writer, kind string, paths []string, f reportFlags) error {
	rs := make([]*reports.Results, 0, len(paths))
	for _, p := range paths {
		r, err := reports.ReadFile(p)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return failWith(exitUsage, fmt.Errorf("read results: %w", err))
			}
			return failWith(exitUsage, err) // names the file and what is wrong with it
		}
		rs = append(rs, r)
	}
	var buf bytes.Buffer
	cat := reports.SpecCatalog()
	hopts := html.Options{Catalog: cat, Title: f.title, MaxEvents: f.maxEvents, MaxHexBytes: f.maxHexBytes}
	switch kind {
	case "html":
		if f.merge && len(rs) > 1 {
			m, err := reports.Merge(rs...)
			if err != nil {
				return failWith(exitUsage, err)
			}
			rs = []*reports.Results{m}
		}
		if err := html.Write(&buf, rs, hopts); err != nil {
			return failWith(exitUsage, err)
		}
	case "compare":
		if err := html.RenderComparison(&buf, rs, hopts); err != nil {
			return failWith(exitUsage, err)
		}
	case "junit", "json":
		r := rs[0]
		if len(rs) > 1 {
			m, err := reports.Merge(rs...)
			if err != nil {
				return failWith(exitUsage, err)
			}
			r = m
		} else {
			r.Sort()
		}
		var err error
		if kind == "junit" {
			err = junit.Write(&buf, r, junit.Options{Catalog: cat, WarnAsFailure: f.warnAsFailure})
		} else {
			err = r.Encode(&buf)
		}
		if err != nil {
			return failWith(exitUsage, err)
		}
	default:
		return failWith(exitUsage, fmt.Errorf("unknown report kind %q", kind))
	}
	if f.output == "" || f.output == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := writeFileAtomic(f.output, buf.Bytes()); err != nil {
		return failWith(exitUsage, fmt.Errorf("write %s: %w", f.output, err))
	}
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, creating the directory.
func writeFileAtomic(path string, b []byte) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// writeHTMLAndJUnit renders report.html and junit.xml into a --report directory.
func writeHTMLAndJUnit(dir string, res *reports.Results) error {
	cat := reports.SpecCatalog()
	if err := html.WriteFile(filepath.Join(dir, "report.html"), []*reports.Results{res}, html.Options{Catalog: cat}); err != nil {
		return fmt.Errorf("write report.html: %w", err)
	}
	if err := junit.WriteFile(filepath.Join(dir, "junit.xml"), res, junit.Options{Catalog: cat}); err != nil {
		return fmt.Errorf("write junit.xml: %w", err)
	}
	return nil
}
