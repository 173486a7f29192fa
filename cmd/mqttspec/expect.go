package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/expect"
)

func init() {
	expectCmd := &cobra.Command{Use: "expect", Short: "Manage expectations files (known gaps of a target, for CI)"}
	var out string
	update := &cobra.Command{
		Use:   "update RESULTS.json",
		Short: "Write or refresh an expectations file from a run's results",
		Long: `Write an expectations file listing every case of RESULTS.json that did not pass, with its status.
When -o names an existing file, the reasons written there are kept for the cases still listed.`,
		Example: "  mqttspec expect update out/report/results.json -o mqttspec-expect.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := reports.ReadFile(args[0])
			if err != nil {
				return failWith(exitUsage, err)
			}
			var prev *expect.File
			if out != "" && out != "-" {
				if _, err := os.Stat(out); err == nil {
					if prev, err = expect.ReadFile(out, nil); err != nil {
						return failWith(exitUsage, fmt.Errorf("existing %w", err))
					}
				}
			}
			f := expect.Update(res, prev)
			b, err := f.Marshal()
			if err != nil {
				return failWith(exitUsage, err)
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return failWith(exitUsage, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d expectation(s)\n", out, len(f.Expectations))
			return nil
		},
	}
	update.Flags().StringVarP(&out, "output", "o", "", "file to write (default: stdout)")
	check := &cobra.Command{
		Use:   "check FILE [RESULTS.json]",
		Short: "Validate an expectations file (and compare it with results when given)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := expect.ReadFile(args[0], knownIDs(catalog.BrokerCases()))
			if err != nil {
				return failWith(exitUsage, err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %d expectation(s), valid\n", args[0], len(f.Expectations))
			if len(args) == 1 {
				return nil
			}
			res, err := reports.ReadFile(args[1])
			if err != nil {
				return failWith(exitUsage, err)
			}
			cmp := expect.Compare(f, res)
			printComparison(w, cmp, args[0])
			if !cmp.OK() {
				return failWith(exitFailures, errors.New("regressions found"))
			}
			return nil
		},
	}
	expectCmd.AddCommand(update, check)
	rootCmd.AddCommand(expectCmd)
}
