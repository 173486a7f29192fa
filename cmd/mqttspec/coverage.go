package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/mqttspec/mqttspec/reports"
)

// printSkipReasons says which missing features or flags kept statements from running: each
// distinct skip reason with the number of statements whose cases it skipped, the most
// frequent first, at most five.
func printSkipReasons(w io.Writer, skips []reports.StatementSkip) {
	n := map[string]int{}
	var reasons []string
	for _, sk := range skips {
		for _, r := range sk.Reasons {
			if n[r] == 0 {
				reasons = append(reasons, r)
			}
			n[r]++
		}
	}
	sort.SliceStable(reasons, func(i, j int) bool { return n[reasons[i]] > n[reasons[j]] })
	for i, r := range reasons {
		if i == 5 {
			fmt.Fprintf(w, "  … and %d more skip reasons (results.json coverage.skips)\n", len(reasons)-i)
			break
		}
		fmt.Fprintf(w, "  not run, %d statement(s): %s\n", n[r], r)
	}
}
