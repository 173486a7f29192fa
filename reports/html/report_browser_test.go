package html

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/reportstest"
)

const evil = `<img src=x onerror="console.error('xss')">`

// browserFixture is a generated run plus two hand-made cases: one whose transcript is longer
// than the page keeps, and one whose text tries to inject markup.
func browserFixture() *reports.Results {
	r := reportstest.Generate(reportstest.Options{Cases: 240, Seed: 11, OutcomeSeed: 3})
	big := reports.Case{
		ID: "3.3/big-transcript", Title: "a long transcript", Section: "3.3", Version: "5.0", Role: "broker",
		Level: "MUST", Status: reports.Fail, Statements: []string{"MQTT-3.3.1-1"},
		Message: "expected PUBACK, got nothing", Expected: "PUBACK id=7", Actual: "timeout after 2s", DurationMs: 2001,
	}
	for i := 0; i < 150; i++ {
		big.Transcript = append(big.Transcript, reports.Event{TMs: float64(i), Conn: "c1", Dir: "send", Hex: "c000", Packet: "PINGREQ"})
	}
	big.Transcript[0].Hex = strings.Repeat("30", 6000) // 6000 bytes
	big.Transcript[0].Packet = "PUBLISH topic=\"big\" qos=0 payload=5998 bytes"
	xss := reports.Case{
		ID: "3.1/markup", Title: evil, Section: "3.1", Version: "3.1.1", Role: "broker", Level: "SHOULD",
		Status: reports.Warn, Message: evil, Statements: []string{"MQTT-3.1.0-1"},
		Transcript: []reports.Event{{TMs: 1, Conn: "c1", Dir: "note", Packet: evil}},
	}
	r.Cases = append(r.Cases, big, xss)
	r.Sort()
	r.Recount()
	return r
}

// dumpFirstLine is the first line of the page's hex dump, written independently of report.js:
// offset, 16 bytes in two groups of 8, padded, then the printable characters.
func dumpFirstLine(h string) string {
	b, _ := hex.DecodeString(h)
	if len(b) > 16 {
		b = b[:16]
	}
	var hexs, ascii []string
	for i, c := range b {
		if i == 8 {
			hexs = append(hexs, "")
		}
		hexs = append(hexs, fmt.Sprintf("%02x", c))
		if c >= 32 && c < 127 {
			ascii = append(ascii, string(rune(c)))
		} else {
			ascii = append(ascii, ".")
		}
	}
	return fmt.Sprintf("0000  %-49s |%s|", strings.Join(hexs, " "), strings.Join(ascii, ""))
}

const visibleRows = `[...document.querySelectorAll('tr.case')].filter(r => r.getClientRects().length > 0).map(r => r.id)`

func rowIDs(r *reports.Results, keep func(c *reports.Case) bool) []string {
	out := []string{}
	for i := range r.Cases {
		if keep(&r.Cases[i]) {
			out = append(out, fmt.Sprintf("c%d", i))
		}
	}
	return out
}

func assertRows(t *testing.T, b *browser, what string, want []string) {
	t.Helper()
	got := eval[[]string](t, b, visibleRows)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %d rows visible, want %d\n got %v\nwant %v", what, len(got), len(want), trim(got), trim(want))
	}
	if shown := eval[string](t, b, `document.getElementById('shown').textContent`); shown != fmt.Sprint(len(want)) {
		t.Fatalf("%s: counter says %s shown, want %d", what, shown, len(want))
	}
}

func trim(xs []string) []string {
	if len(xs) > 12 {
		return append(xs[:12:12], "…")
	}
	return xs
}

func setSelect(t *testing.T, b *browser, id, value string) {
	t.Helper()
	eval[bool](t, b, fmt.Sprintf(`(() => { const s = document.getElementById(%q); s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, id, value))
}

// TestBrowserReport opens a generated report in headless Chromium and checks what a reader
// sees: the numbers, the filters, a transcript, the coverage matrix, phone and print layouts,
// and that the page neither fetches anything nor logs an error.
func TestBrowserReport(t *testing.T) {
	b := startBrowser(t)
	r := browserFixture()
	cat := reports.SpecCatalog()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := WriteFile(path, []*reports.Results{r}, Options{Catalog: cat, MaxEvents: 100, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	pageURL := fileURL(path)
	w := b.watch()
	b.load(t, pageURL)

	// Header and summary numbers as printed, against results.json.
	if title := eval[string](t, b, `document.title`); title != "MQTT conformance report: generated broker" {
		t.Errorf("title %q", title)
	}
	counts := eval[map[string]int](t, b, `Object.fromEntries([...document.querySelectorAll('#summary [data-count]')].map(e => [e.dataset.count, +e.textContent]))`)
	for _, s := range reports.Statuses {
		if counts[string(s)] != r.Summary.Get(s) {
			t.Errorf("summary shows %d %s, results.json has %d", counts[string(s)], s, r.Summary.Get(s))
		}
	}
	chips := eval[map[string]int](t, b, `Object.fromEntries([...document.querySelectorAll('#toolbar .chip')].map(e => [e.querySelector('input').value, +e.querySelector('b').textContent]))`)
	for _, s := range reports.Statuses {
		if chips[string(s)] != r.Summary.Get(s) {
			t.Errorf("filter chip shows %d %s, want %d", chips[string(s)], s, r.Summary.Get(s))
		}
	}
	cov := eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll('#summary .cov')].map(e => [e.dataset.version, e.querySelector('.covnum').textContent + ' ' + e.querySelector('.bar span').style.width]))`)
	for v, c := range r.Coverage {
		want := fmt.Sprintf("%d of %d %.1f%%", c.Tested, c.Testable, c.Percent())
		if cov[v] != want {
			t.Errorf("coverage %s shows %q, want %q", v, cov[v], want)
		}
	}
	if len(cov) != len(r.Coverage) {
		t.Errorf("coverage bars for %v, results.json has %d versions", cov, len(r.Coverage))
	}
	shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "report-top.png", shot)

	all := rowIDs(r, func(*reports.Case) bool { return true })
	assertRows(t, b, "initially", all)

	// Status filter: uncheck everything but fail.
	for _, s := range []string{"pass", "warn", "skip", "error"} {
		b.step(t, "uncheck "+s, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#toolbar input[value=%q]`, s))))
	}
	fails := rowIDs(r, func(c *reports.Case) bool { return c.Status == reports.Fail })
	assertRows(t, b, "only fail", fails)
	sections := map[string]bool{}
	for i := range r.Cases {
		if r.Cases[i].Status == reports.Fail {
			sections[r.Cases[i].Section] = true
		}
	}
	if n := eval[int](t, b, `[...document.querySelectorAll('section.sect')].filter(s => s.getClientRects().length > 0).length`); n != len(sections) {
		t.Errorf("%d sections visible with only failures, want %d", n, len(sections))
	}
	// ... and version 5.0.
	setSelect(t, b, "f-version", "5.0")
	assertRows(t, b, "fail on 5.0", rowIDs(r, func(c *reports.Case) bool { return c.Status == reports.Fail && c.Version == "5.0" }))
	b.step(t, "reset", chromedp.Click(chromedp.CSS(`#f-reset`)))
	assertRows(t, b, "after reset", all)

	// Level filter.
	setSelect(t, b, "f-level", "SHOULD")
	assertRows(t, b, "SHOULD", rowIDs(r, func(c *reports.Case) bool { return c.Level == "SHOULD" }))
	b.step(t, "reset", chromedp.Click(chromedp.CSS(`#f-reset`)))

	// Text search, typed: a statement ID.
	term := "MQTT-3.3.1-1"
	b.step(t, "type search", chromedp.SendKeys(chromedp.CSS(`#f-text`), term))
	wantSearch := rowIDs(r, func(c *reports.Case) bool {
		hay := strings.ToLower(strings.Join(append([]string{c.ID, c.Title, c.Message}, c.Statements...), " "))
		return strings.Contains(hay, strings.ToLower(term))
	})
	if len(wantSearch) < 2 {
		t.Fatalf("fixture: only %d cases cite %s", len(wantSearch), term)
	}
	b.until(t, "search applied", fmt.Sprintf(`document.getElementById('shown').textContent === '%d'`, len(wantSearch)))
	assertRows(t, b, "search "+term, wantSearch)
	b.step(t, "reset", chromedp.Click(chromedp.CSS(`#f-reset`)))

	// Expand a failed case: statements with paraphrase, reason, transcript with hex.
	fi := slices.IndexFunc(r.Cases, func(c reports.Case) bool {
		return c.Status == reports.Fail && len(c.Transcript) > 4 && strings.HasPrefix(c.ID, "3.")
	})
	c := &r.Cases[fi]
	if open := eval[bool](t, b, fmt.Sprintf(`document.getElementById('d%d').getClientRects().length > 0`, fi)); open {
		t.Fatal("detail visible before the click")
	}
	b.step(t, "expand case", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#c%d .toggle`, fi))))
	b.until(t, "transcript rendered", fmt.Sprintf(`!!document.querySelector('#d%d table.txt')`, fi))
	type detail struct {
		Visible  bool
		Expanded string
		Stmts    []string
		Why      string
		EA       []string
		Rows     int
		First    []string
		Hex      string
	}
	d := eval[detail](t, b, fmt.Sprintf(`(() => { const d = document.getElementById('d%d'); const tr = d.querySelector('table.txt tbody tr');
		return {Visible: d.getClientRects().length > 0, Expanded: document.querySelector('#c%d .toggle').getAttribute('aria-expanded'),
			Stmts: [...d.querySelectorAll('.stmts li')].map(li => li.textContent),
			Why: d.querySelector('.why').textContent, EA: [...d.querySelectorAll('.ea dd')].map(e => e.textContent),
			Rows: d.querySelectorAll('table.txt tbody tr').length,
			First: [...tr.querySelectorAll('td')].slice(0, 3).map(e => e.textContent).concat([tr.querySelector('.pkt').textContent]),
			Hex: tr.querySelector('pre.hex').textContent.split('\n')[0]} })()`, fi, fi))
	if !d.Visible || d.Expanded != "true" {
		t.Fatalf("detail after click: visible=%v aria-expanded=%s", d.Visible, d.Expanded)
	}
	var wantStmts []string
	for _, id := range c.Statements {
		s, _ := cat.Statement(c.Version, id)
		wantStmts = append(wantStmts, id+" "+s.Summary)
	}
	if !slices.Equal(d.Stmts, wantStmts) {
		t.Errorf("statements %q, want %q", d.Stmts, wantStmts)
	}
	if d.Why != c.Message || !slices.Equal(d.EA, []string{c.Expected, c.Actual}) {
		t.Errorf("reason %q %q, want %q %q %q", d.Why, d.EA, c.Message, c.Expected, c.Actual)
	}
	e0 := c.Transcript[0]
	wantFirst := []string{fmt.Sprintf("+%.3f", e0.TMs), e0.Conn, "→ send", e0.Packet}
	if d.Rows != len(c.Transcript) || !slices.Equal(d.First, wantFirst) || d.Hex != dumpFirstLine(e0.Hex) {
		t.Errorf("transcript: %d rows (want %d), first %q (want %q), hex %q (want %q)", d.Rows, len(c.Transcript), d.First, wantFirst, d.Hex, dumpFirstLine(e0.Hex))
	}
	b.step(t, "scroll to case", chromedp.ScrollIntoView(chromedp.CSS(fmt.Sprintf(`#c%d`, fi))))
	shot, err = chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "report-case.png", shot)
	b.step(t, "collapse case", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#c%d .toggle`, fi))))
	if open := eval[bool](t, b, fmt.Sprintf(`document.getElementById('d%d').getClientRects().length > 0`, fi)); open {
		t.Fatal("detail still visible after the second click")
	}

	// The long transcript is cut in the page, and says so.
	bi := slices.IndexFunc(r.Cases, func(c reports.Case) bool { return c.ID == "3.3/big-transcript" })
	eval[bool](t, b, fmt.Sprintf(`window.mqttspec.toggle(%d, true).then(() => true)`, bi))
	cut := eval[[]string](t, b, fmt.Sprintf(`[...document.querySelectorAll('#d%d .cut')].map(e => e.textContent)`, bi))
	wantCut := []string{"… 6000 bytes in all; the full bytes are in results.json", "Showing the first 100 of 150 events; the full transcript is in results.json."}
	if !slices.Equal(cut, wantCut) {
		t.Errorf("truncation notes %q, want %q", cut, wantCut)
	}
	if n := eval[int](t, b, fmt.Sprintf(`document.querySelector('#d%d pre.hex').textContent.split('\n').length`, bi)); n != 2048/16 {
		t.Errorf("cut hex dump has %d lines, want %d", n, 2048/16)
	}

	// Markup in results is shown as text, never interpreted.
	xi := slices.IndexFunc(r.Cases, func(c reports.Case) bool { return c.ID == "3.1/markup" })
	eval[bool](t, b, fmt.Sprintf(`window.mqttspec.toggle(%d, true).then(() => true)`, xi))
	texts := eval[[]string](t, b, fmt.Sprintf(`[document.querySelector('#c%d .title').textContent, document.querySelector('#c%d .msg').textContent, document.querySelector('#d%d .pkt').textContent, String(document.images.length)]`, xi, xi, xi))
	if !slices.Equal(texts, []string{evil, evil, evil, "0"}) {
		t.Errorf("markup case shows %q", texts)
	}

	// Coverage matrix: a failed statement lists its cases.
	b.step(t, "scroll to matrix", chromedp.ScrollIntoView(chromedp.CSS(`#coverage h2`)))
	shot, err = chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "report-matrix.png", shot)
	stmt := eval[[]string](t, b, `(() => { const e = document.querySelector('.mver button.st-fail'); return [e.dataset.stmt, e.closest('.mver').dataset.version] })()`)
	b.step(t, "matrix click", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.mver[data-version=%q] button[data-stmt=%q]`, stmt[1], stmt[0]))))
	wantStmt := rowIDs(r, func(c *reports.Case) bool {
		hay := strings.ToLower(strings.Join(append([]string{c.ID, c.Title, c.Message}, c.Statements...), " "))
		return c.Version == stmt[1] && strings.Contains(hay, strings.ToLower(stmt[0]))
	})
	assertRows(t, b, "statement "+stmt[0], wantStmt)
	if failing := eval[int](t, b, visibleRows+`.filter(id => document.getElementById(id).dataset.s === 'fail').length`); failing == 0 {
		t.Errorf("statement %s is marked failed but none of its visible cases failed", stmt[0])
	}
	b.step(t, "reset", chromedp.Click(chromedp.CSS(`#f-reset`)))

	// Phone: no sideways scrolling of the page, the case column still there.
	b.step(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.step(t, "top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	// Mobile emulation widens the layout viewport to fit overflowing content, so compare
	// with the emulated screen width rather than innerWidth.
	if over := eval[[]float64](t, b, `[...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > 391).slice(0, 5).map(e => e.getBoundingClientRect().right)`); len(over) > 0 {
		t.Errorf("elements reach past the 390px phone screen: right edges %v", over)
	}
	if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("page is %dpx wide on a 390px phone screen", w)
	}
	if hidden := eval[string](t, b, `getComputedStyle(document.querySelector('td.c-stm')).display`); hidden != "none" {
		t.Errorf("statements column display %q on a phone, want none", hidden)
	}
	shot, err = chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "report-phone.png", shot)
	b.step(t, "desktop viewport", chromedp.EmulateViewport(1280, 900))

	// Print: no toolbar, and the PDF renders.
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if disp := eval[string](t, b, `getComputedStyle(document.getElementById('toolbar')).display`); disp != "none" {
		t.Errorf("toolbar display %q in print, want none", disp)
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}
	pdf, err := chromedp.Run(b.ctx, chromedp.PrintToPDF(chromedp.PDFPrintBackground()))
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF") {
		t.Fatalf("print to PDF: %v (%d bytes)", err, len(pdf))
	}
	saveArtifact(t, "report.pdf", pdf)

	w.assertOffline(t, pageURL)
}

// comparisonFixture: three targets over one case set with different outcomes. The data is
// generated (the real runs of the reference broker, mosquitto and mochi-mqtt replace it once
// the conformance engine produces them).
func comparisonFixture() []*reports.Results {
	var rs []*reports.Results
	for i, name := range []string{"mqttspec reference broker", "mosquitto 2.0", "mochi-mqtt 2.7"} {
		rs = append(rs, reportstest.Generate(reportstest.Options{Cases: 160, Seed: 21, OutcomeSeed: uint64(i + 1), Target: name}))
	}
	rs[2].Cases = rs[2].Cases[:150] // one target ran fewer cases
	rs[2].Recount()
	// The matrix runs each target twice: every seventh case of the second target changed its
	// verdict in the rerun (unstable), the others kept it.
	for i := range rs[1].Cases {
		c := &rs[1].Cases[i]
		c.Reruns = []reports.Status{c.Status}
		if i%7 == 3 {
			c.Reruns[0] = reports.Skip
			if c.Status == reports.Skip {
				c.Reruns[0] = reports.Pass
			}
		}
	}
	return rs
}

func TestBrowserComparison(t *testing.T) {
	b := startBrowser(t)
	rs := comparisonFixture()
	path := filepath.Join(t.TempDir(), "compare.html")
	if err := WriteFile(path, rs, Options{Catalog: reports.SpecCatalog(), Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	pageURL := fileURL(path)
	w := b.watch()
	b.load(t, pageURL)

	heads := eval[[]string](t, b, `[...document.querySelector('table.matrix thead').querySelectorAll('th.c-run')].map(e => e.textContent)`)
	if !slices.Equal(heads, []string{"mqttspec reference broker", "mosquitto 2.0", "mochi-mqtt 2.7"}) {
		t.Fatalf("columns %q", heads)
	}
	cards := eval[[]map[string]int](t, b, `[...document.querySelectorAll('.target-card')].map(c => Object.fromEntries([...c.querySelectorAll('[data-count]')].map(e => [e.dataset.count, +e.textContent])))`)
	for i, r := range rs {
		for _, s := range reports.Statuses {
			if cards[i][string(s)] != r.Summary.Get(s) {
				t.Errorf("%s card: %d %s, want %d", r.Target.Name, cards[i][string(s)], s, r.Summary.Get(s))
			}
		}
	}
	// The grid, cell by cell, against the inputs (computed here, not with reports.Compare).
	type key struct{ id, v string }
	status := make([]map[key]string, len(rs))
	keys := map[key]bool{}
	for i, r := range rs {
		status[i] = map[key]string{}
		for _, c := range r.Cases {
			status[i][key{c.ID, c.Version}] = string(c.Status)
			keys[key{c.ID, c.Version}] = true
		}
	}
	grid := eval[[][]string](t, b, `[...document.querySelectorAll('tr.case')].map(r => [r.querySelector('.cid').textContent, r.dataset.v, ...[...r.querySelectorAll('td.c-run')].map(td => td.textContent)])`)
	if len(grid) != len(keys) {
		t.Fatalf("%d rows, want %d", len(grid), len(keys))
	}
	diffs := 0
	for _, row := range grid {
		k := key{row[0], row[1]}
		var want []string
		for i := range rs {
			s, ok := status[i][k]
			if !ok {
				s = "—"
			}
			want = append(want, s)
		}
		if !slices.Equal(row[2:], want) {
			t.Fatalf("row %s %s: %q, want %q", k.id, k.v, row[2:], want)
		}
		if len(slices.Compact(slices.Clone(want))) > 1 { // consecutive equal statuses collapse
			diffs++
		}
	}
	b.step(t, "only differences", chromedp.Click(chromedp.CSS(`#f-diff`)))
	if n := len(eval[[]string](t, b, visibleRows)); n != diffs || diffs == 0 || diffs == len(keys) {
		t.Fatalf("only differences: %d rows visible, want %d of %d", n, diffs, len(keys))
	}
	// Only failures: rows where at least one target failed.
	for _, s := range []string{"pass", "warn", "skip", "error"} {
		b.step(t, "uncheck "+s, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#toolbar input[value=%q]`, s))))
	}
	b.step(t, "all rows", chromedp.Click(chromedp.CSS(`#f-diff`)))
	anyFail := 0
	for k := range keys {
		for i := range rs {
			if status[i][k] == "fail" {
				anyFail++
				break
			}
		}
	}
	if n := len(eval[[]string](t, b, visibleRows)); n != anyFail {
		t.Fatalf("rows with a failure: %d visible, want %d", n, anyFail)
	}
	b.step(t, "reset", chromedp.Click(chromedp.CSS(`#f-reset`)))

	// Only unstable: the rows whose second-target cell changed between runs, marked as such.
	unstable := 0
	for _, c := range rs[1].Cases {
		if c.Unstable() {
			unstable++
		}
	}
	b.step(t, "only unstable", chromedp.Click(chromedp.CSS(`#f-unstable`)))
	marked := eval[int](t, b, `[...document.querySelectorAll('tr.case')].filter(r => r.getClientRects().length > 0 && r.querySelector('button.badge.unstable[data-run="1"]')).length`)
	if n := len(eval[[]string](t, b, visibleRows)); n != unstable || marked != unstable || unstable == 0 {
		t.Fatalf("only unstable: %d rows visible (%d marked), want %d", n, marked, unstable)
	}
	b.step(t, "reset", chromedp.Click(chromedp.CSS(`#f-reset`)))

	// Section filter: one section's rows only.
	sect := eval[string](t, b, `document.querySelectorAll('#f-section option')[2].value`)
	inSect := eval[int](t, b, `document.getElementById(`+fmt.Sprintf("%q", sect)+`).querySelectorAll('tr.case').length`)
	b.step(t, "one section", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.getElementById('f-section'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, sect)))
	if n := len(eval[[]string](t, b, visibleRows)); n != inSect || n == 0 || n == len(keys) {
		t.Fatalf("section %s: %d rows visible, want %d", sect, n, inSect)
	}
	b.step(t, "reset", chromedp.Click(chromedp.CSS(`#f-reset`)))

	// One target's failure in the dialog, with its reason and transcript.
	ci := slices.IndexFunc(rs[1].Cases, func(c reports.Case) bool { return c.Status == reports.Fail && len(c.Transcript) > 0 })
	c := rs[1].Cases[ci]
	sel := fmt.Sprintf(`button.badge[data-run="1"][data-i="%d"]`, ci)
	b.step(t, "open cell", chromedp.ScrollIntoView(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
	b.until(t, "dialog open", `document.getElementById('case-dialog').open && !!document.querySelector('#dlg-body table.txt')`)
	got := eval[[]string](t, b, `[document.getElementById('dlg-title').textContent, document.querySelector('#dlg-body .why').textContent, String(document.querySelectorAll('#dlg-body table.txt tbody tr').length), document.querySelector('#dlg-body p').textContent]`)
	want := []string{c.ID + " [" + c.Version + "]", c.Message, fmt.Sprint(len(c.Transcript))}
	if !slices.Equal(got[:3], want) || !strings.Contains(got[3], "mosquitto 2.0 · "+c.Level+" · ") {
		t.Errorf("dialog shows %q, want %q and the target name", got, want)
	}
	shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "compare-dialog.png", shot)
	b.step(t, "close dialog", chromedp.Click(chromedp.CSS(`.dlg-close button`)))
	if open := eval[bool](t, b, `document.getElementById('case-dialog').open`); open {
		t.Error("dialog still open after close")
	}
	b.step(t, "top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	shot, err = chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "compare-top.png", shot)

	// Phone: the grid scrolls inside its box, the page itself does not.
	b.step(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("comparison is %dpx wide on a 390px phone screen", w)
	}
	shot, err = chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "compare-phone.png", shot)
	w.assertOffline(t, pageURL)
}

// BenchmarkBrowserRender1000 loads a report of 1,000 cases with transcripts in Chromium. The
// metrics: ms from navigation start until the first contentful paint (ms-fcp) and until the
// page is interactive (ms-ready: every row in, filters wired), ms to inflate the embedded
// transcripts (ms-inflate), and the file size (MB). ns/op is the whole load,
// navigation included, as seen from the test.
func BenchmarkBrowserRender1000(b *testing.B) {
	br := startBrowser(b)
	r := reportstest.Generate(reportstest.Options{Cases: 1000, Seed: 1000, OutcomeSeed: 1})
	path := filepath.Join(b.TempDir(), "report.html")
	if err := WriteFile(path, []*reports.Results{r}, Options{Catalog: reports.SpecCatalog()}); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	pageURL := fileURL(path)
	var ready, inflate, fcp float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(br.ctx, 60*time.Second)
		err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(pageURL),
			chromedp.WaitReady(chromedp.CSS(`html[data-ready="1"]`)))
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		ready += eval[float64](b, br, `window.mqttspec.readyMs`)
		fcp += eval[float64](b, br, `(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: NaN}).startTime`)
		inflate += eval[float64](b, br, `(async () => { const t = performance.now(); await window.mqttspec.data(); return performance.now() - t })()`)
	}
	b.StopTimer()
	b.ReportMetric(ready/float64(b.N), "ms-ready")
	b.ReportMetric(inflate/float64(b.N), "ms-inflate")
	b.ReportMetric(fcp/float64(b.N), "ms-fcp")
	b.ReportMetric(float64(st.Size())/1e6, "MB")
}
