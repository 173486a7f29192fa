// Command delays summarises the cross-node delays a cluster run measured: it reads results.json
// files of `mqttspec test broker --node …` and prints, per kind of effect (subscription, delivery,
// retained, takeover, session, will, unsubscribe…), how many were measured and their median and
// maximum, as a Markdown table.
//
//	go run ./matrix/clusters/delays out/cluster/results.json [more.json…]
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reports"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: delays results.json...")
		os.Exit(2)
	}
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "delays:", err)
		os.Exit(1)
	}
}

// run reads every results file and writes the table.
func run(w io.Writer, files []string) error {
	byKind := map[string][]float64{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var res reports.Results
		if err := json.Unmarshal(b, &res); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, c := range res.Cases {
			for _, e := range c.Transcript {
				kind, ms, ok := parse(e.Packet)
				if ok {
					byKind[kind] = append(byKind[kind], ms)
				}
			}
		}
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	fmt.Fprintln(w, "| effect | measured | median | max |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, k := range kinds {
		ds := byKind[k]
		slices.Sort(ds)
		fmt.Fprintf(w, "| %s | %d | %.1f ms | %.1f ms |\n", k, len(ds), median(ds), ds[len(ds)-1])
	}
	return nil
}

// parse reads a transcript note "cross-node effect: KIND 12.3ms (settle window 1s)".
func parse(note string) (kind string, ms float64, ok bool) {
	rest, found := strings.CutPrefix(note, conformance.EffectNote)
	if !found {
		return "", 0, false
	}
	fields := strings.Fields(rest)
	if len(fields) < 2 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(fields[1], "ms"), 64)
	if err != nil {
		return "", 0, false
	}
	return fields[0], v, true
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
