package reports

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Merge combines several results documents of one target into one: a run per version, or a
// suite split in shards. The inputs must name the same target (Target.Name and Role), and a
// case (ID and version) may appear in only one of them. The result starts at the earliest
// start, lasts until the latest end, and is sorted and recounted. Coverage is combined per
// version: a statement is missing only when every input that covers the version misses it.
// The inputs are not modified.
func Merge(rs ...*Results) (*Results, error) {
	if len(rs) == 0 {
		return nil, errors.New("merge: no results")
	}
	first := rs[0]
	out := &Results{
		Schema:     Schema,
		Tool:       first.Tool,
		Target:     first.Target,
		Started:    first.Started,
		Incomplete: first.Incomplete,
	}
	end := first.Started.Add(msDuration(first.DurationMs))
	owner := map[string]int{}
	for i, r := range rs {
		if r.Target.Name != first.Target.Name || r.Target.Role != first.Target.Role {
			return nil, fmt.Errorf("merge: input %d tested %s %q, input 1 tested %s %q: merge takes runs of one target (compare several targets instead)",
				i+1, r.Target.Role, r.Target.Name, first.Target.Role, first.Target.Name)
		}
		if i > 0 {
			if r.Started.Before(out.Started) {
				out.Started = r.Started
			}
			if e := r.Started.Add(msDuration(r.DurationMs)); e.After(end) {
				end = e
			}
			out.Incomplete = out.Incomplete || r.Incomplete
			out.Target.Info = mergeInfo(out.Target.Info, r.Target.Info)
		}
		for _, c := range r.Cases {
			if j, dup := owner[c.Key()]; dup {
				return nil, fmt.Errorf("merge: case %s (%s) is in input %d and input %d", c.ID, c.Version, j+1, i+1)
			}
			owner[c.Key()] = i
			out.Cases = append(out.Cases, cloneCase(c))
		}
	}
	out.DurationMs = float64(end.Sub(out.Started)) / float64(time.Millisecond)
	out.Coverage = mergeCoverage(rs)
	out.Sort()
	out.Recount()
	return out, nil
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func mergeInfo(a, b map[string]string) map[string]string {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

func cloneCase(c Case) Case {
	c.Statements = append([]string(nil), c.Statements...)
	c.Transcript = append([]Event(nil), c.Transcript...)
	c.Labels = append([]string(nil), c.Labels...)
	c.Reruns = append([]Status(nil), c.Reruns...)
	return c
}

func mergeCoverage(rs []*Results) map[string]Coverage {
	out := map[string]Coverage{}
	for _, r := range rs {
		for v, c := range r.Coverage {
			prev, seen := out[v]
			if !seen {
				c.Missing = append([]string(nil), c.Missing...)
				c.Skips = append([]StatementSkip(nil), c.Skips...)
				out[v] = c
				continue
			}
			// Both inputs covered the version: still missing = missing in both.
			miss := map[string]bool{}
			for _, id := range c.Missing {
				miss[id] = true
			}
			var both []string
			for _, id := range prev.Missing {
				if miss[id] {
					both = append(both, id)
				}
			}
			testable := max(prev.Testable, c.Testable)
			tested := max(prev.Tested, c.Tested)
			if len(prev.Missing) > 0 || len(c.Missing) > 0 {
				tested = testable - len(both)
			}
			// The proven IDs are not recorded, so the larger count is what the merge can
			// vouch for.
			out[v] = Coverage{Testable: testable, Tested: tested, Proven: max(prev.Proven, c.Proven), Missing: both,
				Skips: mergeSkips(both, prev.Skips, c.Skips)}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// mergeSkips keeps the skip reasons of the statements still missing, both inputs' reasons
// together.
func mergeSkips(missing []string, a, b []StatementSkip) []StatementSkip {
	var out []StatementSkip
	for _, id := range missing {
		var reasons []string
		for _, sk := range append(append([]StatementSkip(nil), a...), b...) {
			if sk.ID != id {
				continue
			}
			for _, r := range sk.Reasons {
				if !slices.Contains(reasons, r) {
					reasons = append(reasons, r)
				}
			}
		}
		if len(reasons) > 0 {
			out = append(out, StatementSkip{ID: id, Reasons: reasons})
		}
	}
	return out
}

// Comparison puts several runs side by side, Autobahn-style: one row per case (ID and version),
// one column per run.
type Comparison struct {
	Columns []Column
	Rows    []Row
}

// Column is one compared run.
type Column struct {
	Label   string // unique among the columns: the target name, disambiguated when needed
	Results *Results
}

// Row is one case across the runs.
type Row struct {
	Key     string // Case.Key()
	ID      string
	Title   string
	Section string
	Version string
	Level   string
	// Cells has one entry per column: the run's result, or nil when the run lacks the case.
	Cells []*Case
}

// Differs reports whether the runs disagree on the case: different statuses, or the case is
// missing from some runs.
func (r *Row) Differs() bool {
	var s Status
	for i, c := range r.Cells {
		if c == nil {
			return true
		}
		if i == 0 {
			s = c.Status
		} else if c.Status != s {
			return true
		}
	}
	return false
}

// Compare lines up the cases of several runs. Rows are ordered by section, ID and version;
// the case's title, section and level come from the first run that has it.
func Compare(rs ...*Results) *Comparison {
	cmp := &Comparison{Columns: make([]Column, len(rs))}
	labels := Labels(rs)
	index := map[string]int{}
	for col, r := range rs {
		cmp.Columns[col] = Column{Label: labels[col], Results: r}
		for i := range r.Cases {
			c := &r.Cases[i]
			row, ok := index[c.Key()]
			if !ok {
				row = len(cmp.Rows)
				index[c.Key()] = row
				cmp.Rows = append(cmp.Rows, Row{
					Key: c.Key(), ID: c.ID, Title: c.Title, Section: c.Section,
					Version: c.Version, Level: c.Level, Cells: make([]*Case, len(rs)),
				})
			}
			cmp.Rows[row].Cells[col] = c
		}
	}
	sort.SliceStable(cmp.Rows, func(i, j int) bool {
		a, b := &cmp.Rows[i], &cmp.Rows[j]
		if c := CompareSections(a.Section, b.Section); c != 0 {
			return c < 0
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Version < b.Version
	})
	return cmp
}

// Labels names each run for display: the target name (or URL, or "run N"), with " #2", " #3"…
// appended when names repeat.
func Labels(rs []*Results) []string {
	out := make([]string, len(rs))
	count := map[string]int{}
	for i, r := range rs {
		l := strings.TrimSpace(r.Target.Name)
		if l == "" {
			l = strings.TrimSpace(r.Target.URL)
		}
		if l == "" {
			l = fmt.Sprintf("run %d", i+1)
		}
		out[i] = l
		count[l]++
	}
	seen := map[string]int{}
	for i, l := range out {
		if count[l] > 1 {
			seen[l]++
			if seen[l] > 1 {
				out[i] = fmt.Sprintf("%s #%d", l, seen[l])
			}
		}
	}
	return out
}
