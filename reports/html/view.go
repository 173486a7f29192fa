package html

import (
	"fmt"
	"strings"

	"github.com/mqttspec/mqttspec/reports"
)

// fact is one line of the header.
type fact struct{ K, V string }

// statusCount is one summary tile.
type statusCount struct {
	Status string
	N      int
}

// versionRow is the case count per status for one version.
type versionRow struct {
	Version string
	Counts  []int // in reports.Statuses order
	Total   int
}

// covBar is statement coverage of one version: Tested statements ran to a verdict, Proven of
// them through a case a fault proof maps; Skips are the missing statements' skip reasons.
type covBar struct {
	Version   string
	Testable  int
	Tested    int
	Pct       float64
	Proven    int
	ProvenPct float64
	Missing   int
	Skips     []reports.StatementSkip
}

// stmtView is a cited statement with its paraphrase.
type stmtView struct {
	ID      string
	Summary string
	Known   bool
}

// caseView is one row of a section table.
type caseView struct {
	I      int
	C      *reports.Case
	Q      string // lower-case search text
	Stmts  []stmtView
	Events int
}

type sectionView struct {
	Anchor string
	Title  string
	Cases  []caseView
}

// matrixCell is one statement in the coverage matrix.
type matrixCell struct {
	ID     string
	Short  string // without the "MQTT-" prefix
	Status string // worst outcome of the cases citing it, or "none"
	Tip    string
}

type matrixChapter struct {
	Title string
	Cells []matrixCell
}

type matrixVersion struct {
	Version  string
	Testable int
	Tested   int
	Chapters []matrixChapter
	Unknown  []string // cited by cases but not in the registry
}

type singleView struct {
	R         *reports.Results
	Label     string
	Facts     []fact
	Counts    []statusCount
	ByVersion []versionRow
	Coverage  []covBar
	MustFail  int
	Verdict   string
	VerdictOK bool
	Sections  []sectionView
	Matrix    []matrixVersion
}

func statusNames() []string {
	out := make([]string, len(reports.Statuses))
	for i, s := range reports.Statuses {
		out[i] = string(s)
	}
	return out
}

func buildSingle(r *reports.Results, cat reports.Catalog) *singleView {
	v := &singleView{R: r, Label: labelOf(r)}
	t := r.Target
	add := func(k, val string) {
		if val != "" {
			v.Facts = append(v.Facts, fact{k, val})
		}
	}
	add("Target", v.Label)
	if t.URL != v.Label {
		add("Address", t.URL)
	}
	add("Under test", t.Role)
	add("Transport", t.Transport)
	add("Driver", t.Driver)
	add("Tool", toolString(r.Tool))
	if !r.Started.IsZero() {
		add("Started", r.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	add("Duration", fmtMs(r.DurationMs))
	add("Cases", fmt.Sprint(len(r.Cases)))
	for _, s := range reports.Statuses {
		v.Counts = append(v.Counts, statusCount{string(s), r.Summary.Get(s)})
	}
	for _, ver := range versionsOf(r) {
		row := versionRow{Version: ver, Counts: make([]int, len(reports.Statuses))}
		for i := range r.Cases {
			c := &r.Cases[i]
			if c.Version != ver {
				continue
			}
			for k, s := range reports.Statuses {
				if c.Status == s {
					row.Counts[k]++
				}
			}
			row.Total++
		}
		v.ByVersion = append(v.ByVersion, row)
	}
	for i := range r.Cases {
		c := &r.Cases[i]
		if (c.Status == reports.Fail || c.Status == reports.Error) && (c.Level == "MUST" || c.Level == "") {
			v.MustFail++
		}
	}
	switch {
	case len(r.Cases) == 0:
		v.Verdict = "No cases ran."
	case v.MustFail == 0 && r.Summary.Fail == 0 && r.Summary.Error == 0:
		v.Verdict, v.VerdictOK = "Every MUST case passed.", true
	default:
		v.Verdict = fmt.Sprintf("%d MUST case(s) failed or could not be judged.", v.MustFail)
	}
	v.Matrix = buildMatrix(r, cat)
	v.Coverage = coverageBars(r, v.Matrix)
	v.Sections = buildSections(r, cat)
	return v
}

// coverageBars prefers the run's own coverage numbers (the engine knows what it ran and which
// proofs it holds); without them it uses the matrix computed from the catalog, which knows no
// proofs (Proven 0).
func coverageBars(r *reports.Results, m []matrixVersion) []covBar {
	var out []covBar
	if len(r.Coverage) > 0 {
		for _, ver := range sortedKeys(r.Coverage) {
			c := r.Coverage[ver]
			out = append(out, covBar{Version: ver, Testable: c.Testable, Tested: c.Tested, Pct: c.Percent(),
				Proven: c.Proven, ProvenPct: c.ProvenPercent(), Missing: len(c.Missing), Skips: c.Skips})
		}
		return out
	}
	for _, mv := range m {
		c := reports.Coverage{Testable: mv.Testable, Tested: mv.Tested}
		out = append(out, covBar{Version: mv.Version, Testable: c.Testable, Tested: c.Tested, Pct: c.Percent(), Missing: c.Testable - c.Tested})
	}
	return out
}

func sortedKeys(m map[string]reports.Coverage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func anchorOf(section string) string {
	if section == "" {
		return "s-none"
	}
	return "s-" + strings.NewReplacer(".", "-", " ", "-", "/", "-").Replace(section)
}

func buildSections(r *reports.Results, cat reports.Catalog) []sectionView {
	var out []sectionView
	idx := map[string]int{}
	for i := range r.Cases {
		c := &r.Cases[i]
		k, ok := idx[c.Section]
		if !ok {
			k = len(out)
			idx[c.Section] = k
			title := reports.SectionTitleAny(cat, c.Section, versionsOf(r)...)
			if c.Section == "" {
				title = "Other"
			}
			out = append(out, sectionView{Anchor: anchorOf(c.Section), Title: title})
		}
		cv := caseView{I: i, C: c, Events: len(c.Transcript)}
		for _, id := range c.Statements {
			sv := stmtView{ID: id}
			if cat != nil {
				if s, ok := cat.Statement(c.Version, id); ok {
					sv.Summary, sv.Known = s.Summary, true
				}
			}
			cv.Stmts = append(cv.Stmts, sv)
		}
		cv.Q = searchText(c)
		out[k].Cases = append(out[k].Cases, cv)
	}
	return out
}

func searchText(c *reports.Case) string {
	parts := []string{c.ID, c.Title, c.Message, c.Version, c.Level, string(c.Status)}
	parts = append(parts, c.Statements...)
	parts = append(parts, c.Labels...)
	return strings.ToLower(strings.Join(parts, " "))
}

// rank orders outcomes for the matrix: the worst one citing a statement colours it.
var rank = map[reports.Status]int{reports.Skip: 1, reports.Pass: 2, reports.Warn: 3, reports.Error: 4, reports.Fail: 5}

func buildMatrix(r *reports.Results, cat reports.Catalog) []matrixVersion {
	if cat == nil {
		return nil
	}
	type tally struct {
		worst reports.Status
		ran   bool // cited by a case that ran to a verdict (reports.Case.Judged): counts as tested
		n     int
		cases []string
	}
	const ownGroup = "Recommendations: the project's SHOULD/MAY IDs (not counted in coverage)"
	var out []matrixVersion
	for _, ver := range versionsOf(r) {
		cited := map[string]*tally{}
		for i := range r.Cases {
			c := &r.Cases[i]
			if c.Version != ver {
				continue
			}
			for _, id := range c.Statements {
				key := id
				if s, ok := cat.Statement(ver, id); ok {
					key = s.ID // aliases resolve to the registry ID
				}
				t := cited[key]
				if t == nil {
					t = &tally{}
					cited[key] = t
				}
				if rank[c.Status] > rank[t.worst] {
					t.worst = c.Status
				}
				if c.Judged() {
					t.ran = true
				}
				t.n++
				if len(t.cases) < 5 {
					t.cases = append(t.cases, c.ID+" ("+string(c.Status)+")")
				}
			}
		}
		mv := matrixVersion{Version: ver}
		known := map[string]bool{}
		chIdx := map[string]int{}
		var own matrixChapter
		for _, s := range cat.Statements(ver) {
			known[s.ID] = true
			if !s.Testable || !s.Binds(r.Target.Role) {
				continue
			}
			cell := matrixCell{ID: s.ID, Short: strings.TrimPrefix(s.ID, "MQTT-"), Status: "none"}
			tip := s.ID + " (" + s.Level + "): " + s.Summary
			t := cited[s.ID]
			if t != nil {
				cell.Status = string(t.worst)
				tip += fmt.Sprintf("\n%d case(s): %s", t.n, strings.Join(t.cases, ", "))
				if t.n > len(t.cases) {
					tip += ", …"
				}
			} else {
				tip += "\nnot tested"
			}
			cell.Tip = tip
			if !s.AppendixB {
				own.Cells = append(own.Cells, cell)
				continue
			}
			mv.Testable++
			if t != nil && t.ran {
				mv.Tested++
			}
			ch := s.Chapter
			if ch == "" {
				ch = s.Section
			}
			k, ok := chIdx[ch]
			if !ok {
				k = len(mv.Chapters)
				chIdx[ch] = k
				mv.Chapters = append(mv.Chapters, matrixChapter{Title: ch})
			}
			mv.Chapters[k].Cells = append(mv.Chapters[k].Cells, cell)
		}
		if len(own.Cells) > 0 {
			own.Title = ownGroup
			mv.Chapters = append(mv.Chapters, own)
		}
		for id := range cited {
			if !known[id] {
				mv.Unknown = append(mv.Unknown, id)
			}
		}
		sortStrings(mv.Unknown)
		out = append(out, mv)
	}
	return out
}

// Comparison view.

type columnView struct {
	Label    string
	Facts    []fact
	Counts   []statusCount
	Coverage []covBar
}

type cellView struct {
	Present  bool
	Run      int
	Index    int // case index within the run (page order)
	Status   string
	Tip      string
	Unstable bool // a rerun of the target ended with another verdict
}

type rowView struct {
	Row      *reports.Row
	Q        string
	SS       string // space-separated statuses of the cells ("none" for a missing one)
	Diff     bool
	Unstable bool // some cell is unstable
	Cells    []cellView
}

type cmpSection struct {
	Anchor string
	Title  string
	Rows   []rowView
}

type compareView struct {
	Columns  []columnView
	Sections []cmpSection
	Rows     int
	Diffs    int
	Unstable int // rows with an unstable cell
}

func buildCompare(rs []*reports.Results, cat reports.Catalog) *compareView {
	cmp := reports.Compare(rs...)
	v := &compareView{Rows: len(cmp.Rows)}
	pos := make([]map[*reports.Case]int, len(rs))
	for ri, r := range rs {
		pos[ri] = make(map[*reports.Case]int, len(r.Cases))
		for i := range r.Cases {
			pos[ri][&r.Cases[i]] = i
		}
	}
	for _, col := range cmp.Columns {
		r := col.Results
		cv := columnView{Label: col.Label}
		if r.Target.URL != "" && r.Target.URL != col.Label {
			cv.Facts = append(cv.Facts, fact{"Address", r.Target.URL})
		}
		cv.Facts = append(cv.Facts, fact{"Tool", toolString(r.Tool)})
		if !r.Started.IsZero() {
			cv.Facts = append(cv.Facts, fact{"Started", r.Started.UTC().Format("2006-01-02 15:04 UTC")})
		}
		cv.Facts = append(cv.Facts, fact{"Duration", fmtMs(r.DurationMs)})
		for _, s := range reports.Statuses {
			cv.Counts = append(cv.Counts, statusCount{string(s), r.Summary.Get(s)})
		}
		cv.Coverage = coverageBars(r, buildMatrix(r, cat))
		v.Columns = append(v.Columns, cv)
	}
	versions := versionsOf(rs...)
	idx := map[string]int{}
	for i := range cmp.Rows {
		row := &cmp.Rows[i]
		k, ok := idx[row.Section]
		if !ok {
			k = len(v.Sections)
			idx[row.Section] = k
			title := reports.SectionTitleAny(cat, row.Section, versions...)
			if row.Section == "" {
				title = "Other"
			}
			v.Sections = append(v.Sections, cmpSection{Anchor: anchorOf(row.Section), Title: title})
		}
		rv := rowView{Row: row, Diff: row.Differs()}
		if rv.Diff {
			v.Diffs++
		}
		var ss, q []string
		q = append(q, row.ID, row.Title, row.Version, row.Level)
		for ri, c := range row.Cells {
			if c == nil {
				rv.Cells = append(rv.Cells, cellView{Status: "none", Tip: cmp.Columns[ri].Label + ": not run"})
				ss = append(ss, "none")
				continue
			}
			tip := cmp.Columns[ri].Label + ": " + string(c.Status)
			if c.Unstable() {
				runs := []string{string(c.Status)}
				for _, s := range c.Reruns {
					runs = append(runs, string(s))
				}
				tip += " (unstable: runs " + strings.Join(runs, ", ") + ")"
				rv.Unstable = true
			}
			if c.Message != "" {
				tip += " — " + c.Message
			}
			rv.Cells = append(rv.Cells, cellView{Present: true, Run: ri, Index: pos[ri][c], Status: string(c.Status), Tip: tip, Unstable: c.Unstable()})
			ss = append(ss, string(c.Status))
			q = append(q, c.Message)
			q = append(q, c.Statements...)
			q = append(q, c.Labels...)
		}
		if rv.Unstable {
			v.Unstable++
		}
		rv.SS = strings.Join(ss, " ")
		rv.Q = strings.ToLower(strings.Join(q, " "))
		v.Sections[k].Rows = append(v.Sections[k].Rows, rv)
	}
	return v
}
