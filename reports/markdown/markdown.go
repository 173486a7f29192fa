// Package markdown renders a compact Markdown summary of one or more results — totals, pass rate
// per version, regressions first, new passes, the failures folded away — sized for a CI job
// summary or a pull-request comment.
package markdown

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/expect"
)

// DefaultMaxBytes keeps the summary under GitHub's comment and step-summary limits with room
// to spare.
const DefaultMaxBytes = 60000

// Options tune the summary.
type Options struct {
	ReportURL  string             // link to the HTML report artifact
	Comparison *expect.Comparison // expectations outcome of the first result, if any
	MaxBytes   int                // hard limit on the output (default DefaultMaxBytes)
}

// Render returns the Markdown summary of the results (several results: one block each).
func Render(all []*reports.Results, o Options) []byte {
	max := o.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	var b strings.Builder
	if len(all) > 1 {
		b.WriteString("# mqttspec comparison\n\n| target | pass | fail | warn | skip | error |\n|---|---|---|---|---|---|\n")
		for _, r := range all {
			s := r.Summary
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d |\n", esc(r.Target.Name), s.Pass, s.Fail, s.Warn, s.Skip, s.Error)
		}
		b.WriteString("\n")
	}
	// Reserve room per block so that every target gets its headline even when failures abound.
	per := (max - b.Len()) / max1(len(all))
	for i, r := range all {
		var cmp *expect.Comparison
		if i == 0 {
			cmp = o.Comparison
		}
		b.WriteString(block(r, cmp, o.ReportURL, per))
	}
	out := b.String()
	if len(out) > max {
		cut := strings.LastIndex(out[:max-64], "\n")
		if cut < 0 {
			cut = max - 64
		}
		out = out[:cut] + "\n\n_(summary truncated to stay within the size limit)_\n"
	}
	return []byte(out)
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func esc(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func block(r *reports.Results, cmp *expect.Comparison, url string, budget int) string {
	var b strings.Builder
	s := r.Summary
	verdict := "✅ all MUST cases pass"
	switch {
	case cmp != nil && !cmp.OK():
		verdict = fmt.Sprintf("❌ %d regression(s)", len(cmp.Regressions))
	case cmp != nil:
		verdict = "✅ no regression against the expectations"
	case s.Fail > 0:
		verdict = fmt.Sprintf("❌ %d failing case(s)", s.Fail)
	case s.Error > 0:
		verdict = fmt.Sprintf("⚠️ %d case(s) could not be judged", s.Error)
	}
	fmt.Fprintf(&b, "## mqttspec: %s — %s\n\n", esc(r.Target.Name), verdict)
	if r.Target.URL != "" {
		fmt.Fprintf(&b, "Target `%s`, role %s, %d cases in %.1f s", esc(r.Target.URL), r.Target.Role, s.Total(), r.DurationMs/1000)
	} else {
		fmt.Fprintf(&b, "Role %s, %d cases in %.1f s", r.Target.Role, s.Total(), r.DurationMs/1000)
	}
	if r.Incomplete {
		b.WriteString(" — **run incomplete** (deadline reached)")
	}
	b.WriteString(".")
	if url != "" {
		fmt.Fprintf(&b, " [Full HTML report](%s).", url)
	}
	b.WriteString("\n\n| version | pass | fail | warn | skip | error | pass rate | statements ran | proven |\n|---|---|---|---|---|---|---|---|---|\n")
	byVersion := map[string]*reports.Counts{}
	var versions []string
	for i := range r.Cases {
		v := r.Cases[i].Version
		if byVersion[v] == nil {
			byVersion[v] = &reports.Counts{}
			versions = append(versions, v)
		}
		byVersion[v].Add(r.Cases[i].Status)
	}
	sort.Strings(versions)
	for _, v := range versions {
		c := byVersion[v]
		judged := c.Total() - c.Skip
		rate := "–"
		if judged > 0 {
			rate = fmt.Sprintf("%.1f%%", 100*float64(c.Pass)/float64(judged))
		}
		ran, proven := "–", "–"
		if cv, ok := r.Coverage[v]; ok && cv.Testable > 0 {
			ran = fmt.Sprintf("%d/%d (%.0f%%)", cv.Tested, cv.Testable, cv.Percent())
			proven = fmt.Sprintf("%d/%d (%.0f%%)", cv.Proven, cv.Testable, cv.ProvenPercent())
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s | %s | %s |\n", v, c.Pass, c.Fail, c.Warn, c.Skip, c.Error, rate, ran, proven)
	}
	b.WriteString("\n")
	head := b.Len()
	left := func() int { return budget - (b.Len() - head) - 200 }
	if cmp != nil {
		if len(cmp.Regressions) > 0 {
			fmt.Fprintf(&b, "### ❌ Regressions (%d)\n\n", len(cmp.Regressions))
			writeDiffs(&b, cmp.Regressions, left)
		}
		if len(cmp.UnexpectedPass) > 0 {
			fmt.Fprintf(&b, "### 🎉 New passes (%d) — tighten the expectations file\n\n", len(cmp.UnexpectedPass))
			writeDiffs(&b, cmp.UnexpectedPass, left)
		}
		if len(cmp.Changed) > 0 {
			fmt.Fprintf(&b, "### Other changes (%d)\n\n", len(cmp.Changed))
			writeDiffs(&b, cmp.Changed, left)
		}
	}
	var failing []reports.Case
	for _, c := range r.Cases {
		if c.Status == reports.Fail || c.Status == reports.Error || c.Status == reports.Warn {
			failing = append(failing, c)
		}
	}
	if len(failing) > 0 {
		fmt.Fprintf(&b, "<details><summary>Failures, errors and warnings (%d)</summary>\n\n", len(failing))
		for i, c := range failing {
			line := fmt.Sprintf("- **%s** `%s` [%s] %s — %s\n", strings.ToUpper(string(c.Status)), esc(c.ID), c.Version, strings.Join(c.Statements, " "), esc(oneLine(c.Message)))
			if len(line) > left() {
				fmt.Fprintf(&b, "- … and %d more (see results.json / the HTML report)\n", len(failing)-i)
				break
			}
			b.WriteString(line)
		}
		b.WriteString("\n</details>\n\n")
	}
	for _, v := range versions {
		skips := r.Coverage[v].Skips
		if len(skips) == 0 {
			continue
		}
		fmt.Fprintf(&b, "<details><summary>MQTT %s: %d statement(s) not run here, their cases skipped</summary>\n\n", v, len(skips))
		for i, sk := range skips {
			line := fmt.Sprintf("- %s — %s\n", sk.ID, esc(oneLine(strings.Join(sk.Reasons, "; "))))
			if len(line) > left() {
				fmt.Fprintf(&b, "- … and %d more (see results.json)\n", len(skips)-i)
				break
			}
			b.WriteString(line)
		}
		b.WriteString("\n</details>\n\n")
	}
	return b.String()
}

func writeDiffs(b *strings.Builder, ds []expect.Diff, left func() int) {
	for i, d := range ds {
		line := fmt.Sprintf("- `%s` [%s] expected **%s**, got **%s** — %s\n", esc(d.Case.ID), d.Case.Version, d.Expected, d.Case.Status, esc(oneLine(d.Case.Message)))
		if len(line) > left() {
			fmt.Fprintf(b, "- … and %d more\n", len(ds)-i)
			break
		}
		b.WriteString(line)
	}
	b.WriteString("\n")
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
