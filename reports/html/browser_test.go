package html

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds the browser: $MQTTSPEC_CHROMIUM, else chromium on PATH (Debian package
// "chromium"), else the usual other names.
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

// artifactDir is where screenshots and PDFs go: $MQTTSPEC_ARTIFACTS, else a fixed directory
// under the system temp dir so the files outlive the test.
func artifactDir(tb testing.TB) string {
	dir := os.Getenv("MQTTSPEC_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "mqttspec-artifacts")
	}
	dir = filepath.Join(dir, "reports-html")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func saveArtifact(tb testing.TB, name string, b []byte) string {
	tb.Helper()
	p := filepath.Join(artifactDir(tb), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("artifact: %s", p)
	return p
}

// browser is one headless Chromium with one tab, started for a test and stopped by its
// cleanup. The machine has no network, and the flags keep Chromium from trying anyway.
type browser struct {
	ctx context.Context
}

func startBrowser(tb testing.TB) *browser {
	tb.Helper()
	path := chromiumPath()
	if path == "" {
		tb.Skip("chromium not found (Debian package chromium, or set MQTTSPEC_CHROMIUM): skipping the browser test")
	}
	userData := tb.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(userData),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	start, cancelStart := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelStart()
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			tb.Fatalf("start chromium %s: %v", path, err)
		}
	case <-start.Done():
		tb.Fatalf("start chromium %s: no answer in 60s", path)
	}
	return &browser{ctx: ctx}
}

// watch records, from now until stop, every request the page sends and every console message.
type watch struct {
	mu       sync.Mutex
	requests []string
	console  []string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func (b *browser) watch() *watch {
	ctx, cancel := context.WithCancel(b.ctx)
	w := &watch{cancel: cancel}
	reqs := chromedp.Events(ctx, network.RequestWillBeSent)
	msgs := chromedp.Console(ctx)
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		for ev, err := range reqs {
			if err != nil {
				return
			}
			w.mu.Lock()
			w.requests = append(w.requests, ev.Request.URL)
			w.mu.Unlock()
		}
	}()
	go func() {
		defer w.wg.Done()
		for m, err := range msgs {
			if err != nil {
				return
			}
			w.mu.Lock()
			w.console = append(w.console, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
			w.mu.Unlock()
		}
	}()
	return w
}

// stop ends the watch and returns what it saw.
func (w *watch) stop() (requests, console []string) {
	time.Sleep(200 * time.Millisecond) // let the last events arrive
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.requests, w.console
}

// assertOffline fails unless the only request was the page itself and the console stayed
// silent (no errors, warnings or exceptions: a CSP violation would show up here).
func (w *watch) assertOffline(tb testing.TB, pageURL string) {
	tb.Helper()
	reqs, msgs := w.stop()
	if len(reqs) == 0 {
		tb.Errorf("no request seen at all: the watch is broken (want the page itself, %s)", pageURL)
	}
	for _, u := range reqs {
		if u != pageURL {
			tb.Errorf("request left the page: %s", u)
		}
	}
	for _, m := range msgs {
		if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "warning") || strings.HasPrefix(m, "exception") || strings.HasPrefix(m, "assert") {
			tb.Errorf("console: %s", m)
		}
	}
}

func fileURL(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		panic(err)
	}
	return (&url.URL{Scheme: "file", Path: abs}).String()
}

// timeout runs one step with a deadline; the browser itself lives on.
func (b *browser) step(tb testing.TB, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression (promises awaited) and decodes its value.
func eval[T any](tb testing.TB, b *browser, js string) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// load opens a page and waits until its script says it is ready.
func (b *browser) load(tb testing.TB, pageURL string) {
	tb.Helper()
	b.step(tb, "open "+pageURL,
		chromedp.Navigate(pageURL),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="1"]`)),
	)
}

// until polls a JavaScript condition until it holds.
func (b *browser) until(tb testing.TB, what, js string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if eval[bool](tb, b, js) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s (%s)", what, js)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
