package html

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/reportstest"
)

var fixedNow = func() time.Time { return time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC) }

func render(t testing.TB, rs []*reports.Results, o Options) []byte {
	t.Helper()
	if o.Now == nil {
		o.Now = fixedNow
	}
	var buf bytes.Buffer
	if err := Write(&buf, rs, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// island extracts and decodes the embedded data of a page, as the page's script does.
func island(t testing.TB, page []byte) *blob {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="mqttspec-data">(.*?)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no data island in the page")
	}
	var d struct {
		Gz   string `json:"gz"`
		JSON *blob  `json:"json"`
	}
	if err := json.Unmarshal(m[1], &d); err != nil {
		t.Fatalf("data island is not JSON: %v", err)
	}
	if d.JSON != nil {
		return d.JSON
	}
	z, err := base64.StdEncoding.DecodeString(d.Gz)
	if err != nil {
		t.Fatalf("data island: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatalf("data island: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("data island: %v", err)
	}
	var b blob
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("data island: %v", err)
	}
	return &b
}

func TestDataIslandHoldsTranscripts(t *testing.T) {
	r := reportstest.Generate(reportstest.Options{Cases: 60, Seed: 1, OutcomeSeed: 1})
	for _, plain := range []bool{false, true} {
		page := render(t, []*reports.Results{r}, Options{Catalog: reports.SpecCatalog(), Plain: plain})
		b := island(t, page)
		if len(b.Runs) != 1 || len(b.Runs[0].Cases) != len(r.Cases) {
			t.Fatalf("plain=%v: runs %d, cases %d", plain, len(b.Runs), len(b.Runs[0].Cases))
		}
		for i, c := range r.Cases {
			got := b.Runs[0].Cases[i].Events
			if len(got) != len(c.Transcript) {
				t.Fatalf("case %d: %d events, want %d", i, len(got), len(c.Transcript))
			}
			for k, e := range c.Transcript {
				if got[k][1] != e.Conn || got[k][2] != e.Dir || got[k][3] != e.Hex || got[k][4] != e.Packet || got[k][0].(float64) != round3(e.TMs) {
					t.Fatalf("case %d event %d = %v, want %+v", i, k, got[k], e)
				}
			}
		}
	}
}

func TestCSPAllowsOnlyTheEmbeddedScript(t *testing.T) {
	page := string(render(t, []*reports.Results{reportstest.Generate(reportstest.Options{Cases: 10})}, Options{}))
	sum := sha256.Sum256([]byte(script))
	want := "script-src &#39;sha256-" + strings.ReplaceAll(base64.StdEncoding.EncodeToString(sum[:]), "+", "&#43;") + "&#39;"
	if !strings.Contains(page, "default-src &#39;none&#39;") || !strings.Contains(page, want) {
		t.Fatalf("CSP missing or wrong; want %s in\n%.600s", want, page)
	}
	// The script must be in the page byte for byte, or the hash would not match.
	if !strings.Contains(page, "<script>"+script+"</script>") {
		t.Fatal("embedded script was altered by the template")
	}
	// Nothing that could fetch: no src attributes, no links out of the page, no url() in CSS.
	for _, bad := range []string{` src=`, `href="http`, `href="//`, `url(`, `@import`} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

func TestEscaping(t *testing.T) {
	r := reportstest.Generate(reportstest.Options{Cases: 4, Seed: 2})
	evil := `<img src=x onerror=alert(1)></script><script>alert(2)</script>`
	r.Cases[0].Title = evil
	r.Cases[0].Message = evil
	r.Cases[0].Status = reports.Fail
	r.Cases[0].Transcript = []reports.Event{{Conn: "c1", Dir: "note", Packet: evil}}
	r.Target.Name = evil
	r.Recount()
	for _, rs := range [][]*reports.Results{{r}, {r, r}} {
		page := string(render(t, rs, Options{Plain: true}))
		if strings.Contains(page, "<img") || strings.Contains(page, "<script>alert") {
			t.Fatalf("unescaped input in page:\n%s", page)
		}
		if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Fatal("escaped title not found")
		}
		// The data island stays one script element: "</script" inside data is escaped.
		if n := strings.Count(page, "</script>"); n != 2 {
			t.Fatalf("%d </script> tags, want 2", n)
		}
	}
}

func TestSummaryAndSections(t *testing.T) {
	r := &reports.Results{
		Schema:  reports.Schema,
		Tool:    reports.Tool{Name: "mqttspec", Version: "9.9"},
		Target:  reports.Target{Name: "broker-x", URL: "tcp://127.0.0.1:1", Role: "broker"},
		Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), DurationMs: 65_000,
		Coverage: map[string]reports.Coverage{"5.0": {Testable: 10, Tested: 4, Proven: 3, Missing: []string{"MQTT-3.15.1-1"},
			Skips: []reports.StatementSkip{{ID: "MQTT-3.15.1-1", Reasons: []string{"needs --auth-method", "target lacks AUTH"}}}}},
		Cases: []reports.Case{
			{ID: "3.10/b", Title: "b", Section: "3.10", Version: "5.0", Level: "MUST", Status: reports.Fail, Message: "boom", Statements: []string{"MQTT-3.10.4-1", "MQTT-9.9.9-9"}},
			{ID: "3.9/a", Title: "a", Section: "3.9", Version: "5.0", Level: "MUST", Status: reports.Pass},
		},
	}
	r.Recount()
	page := string(render(t, []*reports.Results{r}, Options{Catalog: reports.SpecCatalog()}))
	for _, want := range []string{
		`<span class="n" data-count="fail">1</span>`,
		`<span class="n" data-count="pass">1</span>`,
		`data-tested="4" data-testable="10">4 of 10</span> testable statements ran to a verdict (40.0%), <span class="covproven" data-proven="3">3</span> proven by a fault (30.0%)`,
		`<li><code>MQTT-3.15.1-1</code>: needs --auth-method; target lacks AUTH</li>`,
		`<dt>Duration</dt><dd>1m 05s</dd>`,
		`<dt>Started</dt><dd>2026-01-01 00:00:00 UTC</dd>`,
		`1 MUST case(s) failed`,
		`<i>not in the statement registry</i>`,             // MQTT-9.9.9-9
		`Cited by cases but not in the statement registry`, // matrix lists it
		`Generated by mqttspec 9.9 on 2026-02-03 04:05:06 UTC`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Sections in numeric order, with catalog titles.
	i9, i10 := strings.Index(page, `<section class="sect" id="s-3-9">`), strings.Index(page, `<section class="sect" id="s-3-10">`)
	if i9 < 0 || i10 < 0 || i9 > i10 {
		t.Fatalf("sections out of order: 3.9 at %d, 3.10 at %d", i9, i10)
	}
	if !strings.Contains(page, "<h2>3.10 UNSUBSCRIBE <small>") {
		t.Error("section title from the catalog missing")
	}
	s, _ := reports.SpecCatalog().Statement("5.0", "MQTT-3.10.4-1")
	if !strings.Contains(page, "<code>MQTT-3.10.4-1</code> "+template_escape(s.Summary)) {
		t.Error("paraphrase of MQTT-3.10.4-1 missing from the case detail")
	}
}

func template_escape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;")
	return r.Replace(s)
}

func TestBudgetTruncates(t *testing.T) {
	r := reportstest.Generate(reportstest.Options{Cases: 200, Seed: 4, MaxEvents: 60, MaxPayload: 600})
	full := render(t, []*reports.Results{r}, Options{})
	small := render(t, []*reports.Results{r}, Options{Budget: 100 << 10})
	if len(small) >= len(full) {
		t.Fatalf("budget did not shrink the page: %d >= %d", len(small), len(full))
	}
	if !bytes.Contains(small, []byte("to keep the page small, transcripts here keep at most")) {
		t.Fatal("no truncation note")
	}
	b := island(t, small)
	cut := false
	for i, c := range b.Runs[0].Cases {
		if c.Total > 0 {
			cut = true
			if c.Total != len(r.Cases[i].Transcript) {
				t.Fatalf("case %d: total %d, want %d", i, c.Total, len(r.Cases[i].Transcript))
			}
		}
	}
	if !cut {
		t.Fatal("no case marked as cut")
	}
}

// TestSize1000 is the size half of the 1,000-case goal: a report of 1,000 cases with transcripts
// stays under 5 MB (the render-time half is BenchmarkBrowserRender1000).
func TestSize1000(t *testing.T) {
	r := reportstest.Generate(reportstest.Options{Cases: 1000, Seed: 1000, OutcomeSeed: 1})
	events := 0
	for _, c := range r.Cases {
		events += len(c.Transcript)
	}
	var js bytes.Buffer
	if err := r.Encode(&js); err != nil {
		t.Fatal(err)
	}
	page := render(t, []*reports.Results{r}, Options{Catalog: reports.SpecCatalog()})
	t.Logf("1000 cases, %d transcript events: results.json %d bytes, report.html %d bytes", events, js.Len(), len(page))
	if len(page) >= 5<<20 {
		t.Fatalf("report.html is %d bytes, want < 5 MiB", len(page))
	}
	if bytes.Contains(page, []byte("transcripts here keep at most")) {
		t.Fatal("the default budget cut the transcripts of an ordinary 1000-case run")
	}
}

func TestEmptyAndComparisonRender(t *testing.T) {
	empty := &reports.Results{Schema: reports.Schema, Target: reports.Target{Role: "client"}}
	page := render(t, []*reports.Results{empty}, Options{Catalog: reports.SpecCatalog()})
	if !bytes.Contains(page, []byte("No cases ran.")) {
		t.Fatal("empty run not stated")
	}
	if err := Write(io.Discard, nil, Options{}); err == nil {
		t.Fatal("no error for no results")
	}
	a := reportstest.Generate(reportstest.Options{Cases: 40, Seed: 5, OutcomeSeed: 1, Target: "alpha"})
	b := reportstest.Generate(reportstest.Options{Cases: 30, Seed: 5, OutcomeSeed: 2, Target: "alpha"})
	page = render(t, []*reports.Results{a, b}, Options{Catalog: reports.SpecCatalog()})
	for _, want := range []string{`<th class="c-run">alpha</th>`, `<th class="c-run">alpha #2</th>`, `alpha #2: not run`, "2 targets, 40 cases"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("comparison lacks %q", want)
		}
	}
	d := island(t, page)
	if len(d.Runs) != 2 || len(d.Runs[0].Cases) != 40 || len(d.Runs[1].Cases) != 30 || d.Runs[1].Cases[0].ID == "" {
		t.Fatalf("comparison data: %d runs", len(d.Runs))
	}
	if len(d.Stmts) == 0 {
		t.Fatal("comparison data carries no statement paraphrases")
	}
}

// TestMatrixAgreesWithCoverage: the matrix counts statements as the runner does (OASIS IDs
// binding the role, cited by a case that was neither skipped nor an error), so the matrix and
// the coverage bars from results.json show the same numbers.
func TestMatrixAgreesWithCoverage(t *testing.T) {
	for _, role := range []string{"broker", "client"} {
		r := reportstest.Generate(reportstest.Options{Cases: 150, Seed: 8, Role: role})
		m := buildMatrix(r, reports.SpecCatalog())
		if len(m) != 2 {
			t.Fatalf("%s: matrix for %d versions", role, len(m))
		}
		for _, mv := range m {
			c := r.Coverage[mv.Version]
			if mv.Testable != c.Testable || mv.Tested != c.Tested {
				t.Errorf("%s %s: matrix %d of %d, results.json %d of %d", role, mv.Version, mv.Tested, mv.Testable, c.Tested, c.Testable)
			}
			cells := 0
			for _, ch := range mv.Chapters {
				if !strings.HasPrefix(ch.Title, "Recommendations") {
					cells += len(ch.Cells)
				}
			}
			if cells != mv.Testable {
				t.Errorf("%s %s: %d cells for %d testable statements", role, mv.Version, cells, mv.Testable)
			}
		}
	}
}

func TestFmtMs(t *testing.T) {
	for _, tt := range []struct {
		ms   float64
		want string
	}{{0.25, "0.2 ms"}, {12, "12 ms"}, {999, "999 ms"}, {1500, "1.5 s"}, {61_000, "1m 01s"}, {3_723_000, "1h 02m"}, {-1, "?"}} {
		if got := fmtMs(tt.ms); got != tt.want {
			t.Errorf("fmtMs(%v) = %q, want %q", tt.ms, got, tt.want)
		}
	}
}
