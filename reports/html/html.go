// Package html renders results documents as one self-contained HTML file: a compliance report
// for one run (summary, coverage, per-section tables with filters, per-case detail with the
// transcript, statement coverage matrix) or a comparison of several runs side by side.
//
// The file works offline and makes no request when viewed: CSS and JavaScript are embedded
// (go:embed), a Content-Security-Policy forbids every fetch, and transcripts travel inside the
// page as gzip-compressed JSON that the browser inflates on demand. Transcripts are bounded
// (Options.MaxEvents, MaxHexBytes, Budget) so a large run stays a few megabytes; the full
// transcripts are always in results.json.
package html

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/reports"
)

//go:embed assets/report.css
var css string

//go:embed assets/report.js
var script string

//go:embed assets/report.html.tmpl
var pageTemplate string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":         func(x float64) string { return fmt.Sprintf("%.1f", x) },
	"ms":          fmtMs,
	"toolbarData": toolbarData,
}).Parse(pageTemplate))

// toolbar is what the filter bar shows: status chips with counts (cases, or in a comparison
// rows with at least one cell of that status), versions, levels.
type toolbar struct {
	Counts   []statusCount
	Versions []string
	Levels   []string
	Diff     bool
	Diffs    int
	Unstable int // comparison rows with an unstable cell (0: no checkbox)
	Sections []sectionOption
	Total    int
}

// sectionOption is one entry of the section filter.
type sectionOption struct {
	Anchor, Title string
}

func toolbarData(p *page) toolbar {
	t := toolbar{Versions: p.Versions, Levels: p.Levels}
	if p.Single != nil {
		t.Counts = p.Single.Counts
		t.Total = len(p.Single.R.Cases)
		for _, s := range p.Single.Sections {
			t.Sections = append(t.Sections, sectionOption{s.Anchor, s.Title})
		}
		return t
	}
	c := p.Compare
	t.Diff, t.Diffs, t.Unstable, t.Total = true, c.Diffs, c.Unstable, c.Rows
	for _, s := range c.Sections {
		t.Sections = append(t.Sections, sectionOption{s.Anchor, s.Title})
	}
	for _, s := range reports.Statuses {
		n := 0
		for _, sec := range c.Sections {
			for _, r := range sec.Rows {
				for _, cell := range r.Cells {
					if cell.Present && cell.Status == string(s) {
						n++
						break
					}
				}
			}
		}
		t.Counts = append(t.Counts, statusCount{string(s), n})
	}
	return t
}

// Options tune the page. The zero value renders without statement paraphrases and with the
// default bounds.
type Options struct {
	// Catalog supplies statement paraphrases, section titles and the statements for the
	// coverage matrix; pass reports.SpecCatalog(). Nil leaves them out.
	Catalog reports.Catalog
	// Title replaces the page title.
	Title string
	// MaxEvents bounds the transcript events kept per case (default 200).
	MaxEvents int
	// MaxHexBytes bounds the bytes kept per event (default 2048).
	MaxHexBytes int
	// Budget bounds the embedded transcript data, compressed and base64-encoded, in bytes
	// (default 3,000,000, which keeps a 1,000-case page under 5 MB): when it is exceeded the
	// bounds above are halved until it fits, and the page says so.
	Budget int
	// Now is the time printed as "generated" (default time.Now).
	Now func() time.Time
	// Plain embeds the transcript data as plain JSON instead of gzip; for browsers without
	// DecompressionStream and for debugging. The page is larger.
	Plain bool
}

func (o *Options) defaults() {
	if o.MaxEvents <= 0 {
		o.MaxEvents = 200
	}
	if o.MaxHexBytes <= 0 {
		o.MaxHexBytes = 2048
	}
	if o.Budget <= 0 {
		o.Budget = 3_000_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Write renders one run as a report, or several runs as a comparison.
func Write(w io.Writer, rs []*reports.Results, o Options) error {
	switch len(rs) {
	case 0:
		return fmt.Errorf("html: no results to render")
	case 1:
		return Render(w, rs[0], o)
	}
	return RenderComparison(w, rs, o)
}

// WriteFile writes the page to path atomically (temp file, then rename).
func WriteFile(path string, rs []*reports.Results, o Options) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := Write(f, rs, o); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// page is the template's root.
type page struct {
	Title     string
	CSP       string
	CSS       template.CSS
	Script    template.JS
	Data      any
	Tool      string
	Generated string
	Truncated string // a note when transcripts were cut to fit
	Single    *singleView
	Compare   *compareView
	Versions  []string
	Levels    []string
}

// Render writes the report of one run.
func Render(w io.Writer, r *reports.Results, o Options) error {
	o.defaults()
	r = sortedCopy(r)
	v := buildSingle(r, o.Catalog)
	p := &page{
		Title:    o.Title,
		Single:   v,
		Tool:     toolString(r.Tool),
		Versions: versionsOf(r),
		Levels:   levelsOf(r),
	}
	if p.Title == "" {
		p.Title = "MQTT conformance report: " + labelOf(r)
	}
	data, note, err := encodeData([]*reports.Results{r}, o, false)
	if err != nil {
		return err
	}
	p.Data, p.Truncated = data, note
	return execute(w, p, o)
}

// RenderComparison writes the side-by-side view of several runs.
func RenderComparison(w io.Writer, rs []*reports.Results, o Options) error {
	o.defaults()
	sorted := make([]*reports.Results, len(rs))
	for i, r := range rs {
		sorted[i] = sortedCopy(r)
	}
	v := buildCompare(sorted, o.Catalog)
	p := &page{
		Title:    o.Title,
		Compare:  v,
		Tool:     toolString(sorted[0].Tool),
		Versions: versionsOf(sorted...),
		Levels:   levelsOf(sorted...),
	}
	if p.Title == "" {
		var names []string
		for _, c := range v.Columns {
			names = append(names, c.Label)
		}
		p.Title = "MQTT conformance comparison: " + strings.Join(names, ", ")
	}
	data, note, err := encodeData(sorted, o, true)
	if err != nil {
		return err
	}
	p.Data, p.Truncated = data, note
	return execute(w, p, o)
}

func execute(w io.Writer, p *page, o Options) error {
	p.CSS = template.CSS(css)
	p.Script = template.JS(script)
	sum := sha256.Sum256([]byte(script))
	// Nothing may be fetched: no default source, scripts only the embedded one (by hash),
	// inline styles only. The data island is type application/json and does not execute.
	p.CSP = "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; style-src 'unsafe-inline'; img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
	p.Generated = o.Now().UTC().Format("2006-01-02 15:04:05 UTC")
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func sortedCopy(r *reports.Results) *reports.Results {
	c := *r
	c.Cases = append([]reports.Case(nil), r.Cases...)
	c.Sort()
	c.Recount()
	return &c
}

func toolString(t reports.Tool) string {
	s := strings.TrimSpace(t.Name + " " + t.Version)
	if s == "" {
		return "mqttspec"
	}
	return s
}

func labelOf(r *reports.Results) string {
	return reports.Labels([]*reports.Results{r})[0]
}

func versionsOf(rs ...*reports.Results) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		for i := range r.Cases {
			if v := r.Cases[i].Version; !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sortStrings(out)
	return out
}

func levelsOf(rs ...*reports.Results) []string {
	seen := map[string]bool{}
	for _, r := range rs {
		for i := range r.Cases {
			seen[r.Cases[i].Level] = true
		}
	}
	var out []string
	for _, l := range []string{"MUST", "SHOULD", "MAY"} {
		if seen[l] {
			out = append(out, l)
			delete(seen, l)
		}
	}
	var rest []string
	for l := range seen {
		if l != "" {
			rest = append(rest, l)
		}
	}
	sortStrings(rest)
	return append(out, rest...)
}

func sortStrings(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// fmtMs prints a duration in milliseconds for people: "850 ms", "12.3 s", "4m 05s".
func fmtMs(ms float64) string {
	switch {
	case ms < 0 || math.IsNaN(ms):
		return "?"
	case ms < 10:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	case ms < 60_000:
		return fmt.Sprintf("%.1f s", ms/1000)
	}
	s := int(ms / 1000)
	if s < 3600 {
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh %02dm", s/3600, (s%3600)/60)
}

// The embedded data: per run, per case (in the page's order) what the page does not render
// up front. Events are arrays to keep the page small: [t_ms, conn, dir, hex, packet] plus,
// when the hex was cut, the event's full byte count.
type blob struct {
	Runs  []blobRun         `json:"runs"`
	Stmts map[string]string `json:"stmts,omitempty"` // "5.0 MQTT-3.1.0-1" -> paraphrase (comparison only)
}

type blobRun struct {
	Cases []blobCase `json:"cases"`
}

type blobCase struct {
	ID         string   `json:"id,omitempty"`
	Title      string   `json:"ti,omitempty"`
	Version    string   `json:"v,omitempty"`
	Level      string   `json:"l,omitempty"`
	Status     string   `json:"s,omitempty"`
	Statements []string `json:"st,omitempty"`
	Message    string   `json:"m,omitempty"`
	Expected   string   `json:"e,omitempty"`
	Actual     string   `json:"a,omitempty"`
	Duration   float64  `json:"d,omitempty"`
	Events     [][]any  `json:"t,omitempty"`
	Total      int      `json:"n,omitempty"` // events in results.json, when more than kept
}

// dataIsland is what the page's <script type="application/json"> holds.
type dataIsland struct {
	Gz   string `json:"gz,omitempty"`
	JSON *blob  `json:"json,omitempty"`
}

func encodeData(rs []*reports.Results, o Options, full bool) (dataIsland, string, error) {
	maxEv, maxHex := o.MaxEvents, o.MaxHexBytes
	note := ""
	for {
		b := buildBlob(rs, o.Catalog, full, maxEv, maxHex)
		raw, err := json.Marshal(b)
		if err != nil {
			return dataIsland{}, "", fmt.Errorf("html: encode data: %w", err)
		}
		if o.Plain {
			return dataIsland{JSON: b}, note, nil
		}
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
		zw.Write(raw)
		zw.Close()
		if base64.StdEncoding.EncodedLen(z.Len()) <= o.Budget || (maxEv <= 4 && maxHex <= 64) {
			if note == "" && cutAny(rs, maxEv, maxHex) {
				note = fmt.Sprintf("Transcripts in this page keep at most %d events per case and %d bytes per packet; the full transcripts are in results.json.", maxEv, maxHex)
			}
			return dataIsland{Gz: base64.StdEncoding.EncodeToString(z.Bytes())}, note, nil
		}
		maxEv, maxHex = max(4, maxEv/2), max(64, maxHex/2)
		note = fmt.Sprintf("This run is large: to keep the page small, transcripts here keep at most %d events per case and %d bytes per packet; the full transcripts are in results.json.", maxEv, maxHex)
	}
}

func cutAny(rs []*reports.Results, maxEv, maxHex int) bool {
	for _, r := range rs {
		for i := range r.Cases {
			ev := r.Cases[i].Transcript
			if len(ev) > maxEv {
				return true
			}
			for _, e := range ev {
				if len(e.Hex) > 2*maxHex {
					return true
				}
			}
		}
	}
	return false
}

func buildBlob(rs []*reports.Results, cat reports.Catalog, full bool, maxEv, maxHex int) *blob {
	b := &blob{Runs: make([]blobRun, len(rs))}
	if full && cat != nil {
		b.Stmts = map[string]string{}
	}
	for ri, r := range rs {
		cases := make([]blobCase, len(r.Cases))
		for i := range r.Cases {
			c := &r.Cases[i]
			bc := blobCase{}
			if full {
				bc = blobCase{
					ID: c.ID, Title: c.Title, Version: c.Version, Level: c.Level, Status: string(c.Status),
					Statements: c.Statements, Message: c.Message, Expected: c.Expected, Actual: c.Actual,
					Duration: round3(c.DurationMs),
				}
				if b.Stmts != nil {
					for _, id := range c.Statements {
						if s, ok := cat.Statement(c.Version, id); ok {
							b.Stmts[c.Version+" "+id] = s.Summary
						}
					}
				}
			}
			ev := c.Transcript
			if len(ev) > maxEv {
				bc.Total = len(ev)
				ev = ev[:maxEv]
			}
			if len(ev) > 0 {
				bc.Events = make([][]any, len(ev))
			}
			for k, e := range ev {
				h := e.Hex
				row := []any{round3(e.TMs), e.Conn, e.Dir, h, e.Packet}
				if len(h) > 2*maxHex {
					row[3] = h[:2*maxHex]
					row = append(row, len(h)/2)
				}
				bc.Events[k] = row
			}
			cases[i] = bc
		}
		b.Runs[ri] = blobRun{Cases: cases}
	}
	return b
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
