// Package ginkgo runs the conformance catalog as a Ginkgo v2 suite: a Describe per section, an
// It per case and version, labelled with the case's statement IDs, version and level, so that
// `ginkgo --label-filter` and `--junit-report` work on it. It also provides Gomega matchers for
// MQTT packets.
package ginkgo

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	g "github.com/onsi/ginkgo/v2"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reports"
)

// Options configure DescribeCatalog.
type Options struct {
	// Target returns the target; it is called once, lazily, by the first spec that runs (so a
	// BeforeSuite can start the broker first).
	Target   func() *conformance.Target
	Cases    []conformance.Case
	Versions []codec.Version // default 3.1.1 and 5.0
	Timeouts conformance.Timeouts
}

// Labels returns the Ginkgo labels of a case on a version: each statement ID, the version
// ("v3.1.1", "v5.0"), the level ("MUST") and the section ("section-3.1").
func Labels(c *conformance.Case, v codec.Version) g.Labels {
	ls := g.Labels{"v" + v.String(), c.Level.String(), "section-" + c.Section()}
	ls = append(ls, c.StatementsFor(v)...)
	return ls
}

// DescribeCatalog declares the suite. Call it at package level (var _ = DescribeCatalog(…)) or
// inside a container node.
func DescribeCatalog(o Options) bool {
	versions := o.Versions
	if len(versions) == 0 {
		versions = []codec.Version{codec.V311, codec.V5}
	}
	var (
		once sync.Once
		tg   *conformance.Target
		caps *conformance.Capabilities
		err  error
	)
	setup := func() {
		once.Do(func() {
			tg = o.Target()
			step := o.Timeouts.Step
			if step <= 0 {
				step = 3 * time.Second
			}
			caps, err = conformance.Discover(context.Background(), tg, step)
		})
		if err != nil {
			g.Fail(fmt.Sprintf("discover the target: %v", err))
		}
	}
	runID := fmt.Sprintf("%x", g.GinkgoRandomSeed())
	var sections []string
	bySection := map[string][]conformance.Case{}
	for _, c := range o.Cases {
		s := c.Section()
		if _, ok := bySection[s]; !ok {
			sections = append(sections, s)
		}
		bySection[s] = append(bySection[s], c)
	}
	for _, s := range sections {
		cases := bySection[s]
		g.Describe("section "+s, g.Label("section-"+s), func() {
			for i := range cases {
				c := &cases[i]
				for _, v := range versions {
					if !c.Versions.Has(v) {
						continue
					}
					g.It(fmt.Sprintf("[%s] %s: %s", v, c.ID, c.Title), Labels(c, v), func(ctx g.SpecContext) {
						setup()
						res := conformance.RunCase(ctx, tg, caps, c, v, o.Timeouts, runID)
						report(res)
					})
				}
			}
		})
	}
	return true
}

// report turns a case result into Ginkgo's outcome.
func report(res reports.Case) {
	switch res.Status {
	case reports.Pass:
	case reports.Warn:
		g.AddReportEntry("warning", res.Message)
	case reports.Skip:
		g.Skip(res.Message)
	default:
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s\n", strings.ToUpper(string(res.Status)), res.Message)
		if res.Expected != "" {
			fmt.Fprintf(&b, "expected: %s\nactual:   %s\n", res.Expected, res.Actual)
		}
		b.WriteString("transcript:\n")
		for _, e := range res.Transcript {
			fmt.Fprintf(&b, "  %8.1fms %-4s %-5s %s\n", e.TMs, e.Conn, e.Dir, e.Packet)
		}
		g.Fail(b.String())
	}
}
