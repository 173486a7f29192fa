package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/expect"
	"github.com/mqttspec/mqttspec/reports/markdown"
)

// init adds "report markdown" to the report command (defined in report.go, whose init runs
// first: files initialise in name order).
func init() {
	reportCmd, _, err := rootCmd.Find([]string{"report"})
	if err != nil || reportCmd == rootCmd {
		panic("report_markdown.go: the report command is missing")
	}
	var url, expectFile string
	c := &cobra.Command{
		Use:   "markdown RESULTS.json...",
		Short: "Write a compact Markdown summary for a CI job summary or a pull-request comment",
		Long: `Write a Markdown summary of one or more results: totals, pass rate and coverage per version,
regressions first (with --expect), new passes, and a folded list of failures with their statement
IDs. It stays under 60 KB however many cases fail. Several inputs add a comparison table.`,
		Example: `  mqttspec report markdown out/results.json -o summary.md --report-url https://ci.example/report.html
  mqttspec report markdown out/results.json --expect mqttspec-expect.yaml >> "$GITHUB_STEP_SUMMARY"`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return failWith(exitUsage, fmt.Errorf("report markdown needs at least one results file"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var all []*reports.Results
			for _, p := range args {
				r, err := reports.ReadFile(p)
				if err != nil {
					return failWith(exitUsage, err)
				}
				all = append(all, r)
			}
			var cmp *expect.Comparison
			if expectFile != "" {
				f, err := expect.ReadFile(expectFile, nil)
				if err != nil {
					return failWith(exitUsage, err)
				}
				cmp = expect.Compare(f, all[0])
			}
			md := markdown.Render(all, markdown.Options{ReportURL: url, Comparison: cmp})
			out, _ := cmd.Flags().GetString("output")
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(md)
				return err
			}
			if err := os.WriteFile(out, md, 0o644); err != nil {
				return failWith(exitUsage, err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&url, "report-url", "", "link to the HTML report")
	c.Flags().StringVar(&expectFile, "expect", "", "expectations file: list regressions and new passes first")
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return failWith(exitUsage, err) })
	reportCmd.AddCommand(c)
}
