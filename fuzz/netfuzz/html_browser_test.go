package netfuzz

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds the browser: $MQTTSPEC_CHROMIUM, else chromium on PATH (as reports/html's
// browser tests do).
func chromiumPath() string {
	if p := os.Getenv("MQTTSPEC_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestDiffHTMLInChromium opens the HTML summary of a run with a planted disagreement in
// headless Chromium (no network: the flags keep it from trying, a fresh profile), checks that
// no request leaves the page and that the console stays silent (a CSP violation would show
// there), and that the target filter shows exactly the classes blamed on the chosen target.
func TestDiffHTMLInChromium(t *testing.T) {
	path := chromiumPath()
	if path == "" {
		t.Skip("chromium not found (Debian package chromium, or set MQTTSPEC_CHROMIUM)")
	}
	rep := plantedDiff(t)
	c := plantedClass(rep)
	if c == nil {
		t.Fatalf("the planted wrong PUBACK identifier was not found:\n%s", rep.Markdown())
	}
	planted := -1
	for i, cl := range rep.Classes {
		if cl == c {
			planted = i + 1
		}
	}
	var buf bytes.Buffer
	if err := rep.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "diff.html")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: file}).String()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("no-pings", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	start, cancelStart := context.WithTimeout(bctx, 60*time.Second)
	defer cancelStart()
	if err := chromedp.Do(start); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}

	var mu sync.Mutex
	var requests, console []string
	wctx, stopWatch := context.WithCancel(bctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ev, err := range chromedp.Events(wctx, network.RequestWillBeSent) {
			if err != nil {
				return
			}
			mu.Lock()
			requests = append(requests, ev.Request.URL)
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for m, err := range chromedp.Console(wctx) {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, fmt.Sprintf("%s: %s", m.Type, m.Text))
			mu.Unlock()
		}
	}()
	step, cancelStep := context.WithTimeout(bctx, 30*time.Second)
	defer cancelStep()
	if err := chromedp.Do(step, chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.CSS(`html[data-ready="1"]`))); err != nil {
		t.Fatalf("open %s: %v", pageURL, err)
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(step, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %.80q: %v", js, err)
		}
		return v
	}
	// visible lists the ids of the classes shown, and the counter's text.
	const visible = `Array.from(document.querySelectorAll('article.class')).filter(a => !a.hidden && !a.closest('section').hidden).map(a => a.id).join(' ') + ' / ' + document.getElementById('shown').textContent`
	choose := func(target string) string {
		return eval(fmt.Sprintf(`(() => { const s = document.getElementById('dev'); s.value = %q; s.dispatchEvent(new Event('change')); return %s; })()`, target, visible))
	}
	all := eval(visible)
	if n := len(strings.Fields(strings.Split(all, " / ")[0])); n != len(rep.Classes) {
		t.Errorf("unfiltered: %d classes shown (%s), want all %d", n, all, len(rep.Classes))
	}
	for _, target := range rep.Targets {
		var want []string
		for i, cl := range rep.Classes {
			for _, d := range cl.Example.Deviating {
				if d == target {
					want = append(want, fmt.Sprintf("c%d", i+1))
				}
			}
		}
		got := choose(target)
		ids, count, _ := strings.Cut(got, " / ")
		shown := strings.Fields(ids)
		sort.Strings(shown)
		sort.Strings(want)
		wantStr := strings.Join(want, " ") + fmt.Sprintf(" / %d", len(want))
		if strings.Join(shown, " ")+" / "+count != wantStr {
			t.Errorf("filter %s: shown %q, want %q", target, got, wantStr)
		}
		shownPlanted := strings.Contains(" "+got+" ", fmt.Sprintf(" c%d ", planted))
		if shownPlanted != (target == "faulty") {
			t.Errorf("filter %s: planted class c%d shown = %v", target, planted, shownPlanted)
		}
	}
	if got := choose(""); got != all {
		t.Errorf("back to every target: %q, want %q", got, all)
	}
	time.Sleep(200 * time.Millisecond) // let the last events arrive
	stopWatch()
	wg.Wait()
	if len(requests) == 0 {
		t.Error("no request seen at all: the watch is broken (want the page itself)")
	}
	for _, u := range requests {
		if u != pageURL {
			t.Errorf("request left the page: %s", u)
		}
	}
	for _, m := range console {
		t.Errorf("console: %s", m)
	}
}
