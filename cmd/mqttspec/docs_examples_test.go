package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// docCommand is one command of a ```sh block of the documentation: a line, or lines joined by
// a trailing backslash.
type docCommand struct {
	File string // relative to the repository root
	Line int
	Text string
}

func (c docCommand) String() string { return fmt.Sprintf("%s:%d: %s", c.File, c.Line, c.Text) }

// docFiles are the documents whose examples must run: README.md and the Markdown of docs/
// (docs/catalog*.md and docs/matrix/ are generated and hold no commands).
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	for _, pat := range []string{"docs/*.md", "docs/*/*.md"} {
		m, err := filepath.Glob(filepath.Join("..", "..", pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(filepath.Join("..", ".."), f)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	return files
}

// docCommands extracts the commands of every ```sh block (also ```bash and ```shell).
func docCommands(t *testing.T) []docCommand {
	t.Helper()
	var out []docCommand
	fence := regexp.MustCompile("^```(sh|bash|shell)\\s*$")
	for _, f := range docFiles(t) {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		in := false
		var cur *docCommand
		for i, line := range strings.Split(string(b), "\n") {
			switch {
			case !in && fence.MatchString(line):
				in = true
				continue
			case in && strings.HasPrefix(line, "```"):
				in = false
				continue
			case !in:
				continue
			}
			text := strings.TrimSpace(line)
			if cur == nil && (text == "" || strings.HasPrefix(text, "#")) {
				continue
			}
			if cur == nil {
				cur = &docCommand{File: f, Line: i + 1}
			}
			cont := strings.HasSuffix(text, "\\")
			cur.Text += strings.TrimSuffix(text, "\\")
			if cont {
				cur.Text += " "
				continue
			}
			cur.Text = strings.Join(strings.Fields(cur.Text), " ")
			out = append(out, *cur)
			cur = nil
		}
	}
	return out
}

// docSkips are the commands that cannot run here, by their text, with the reason.
var docSkips = map[string]string{
	"make conformance   # the broker catalog against the embedded reference broker → out/report/report.html":                                    "builds bin/ and runs the whole catalog: what mqttspec test broker below does in part",
	"make test          # the project's tests: go vet, gofmt check, go test -race ./...":                                                        "runs the whole test suite, this test included",
	"mqttspec test broker --target tls://broker.local:8883 --tls-ca ca.pem --label MQTT-3.1.2-24":                                               "needs a TLS broker named broker.local and its CA file",
	"mqttspec test broker --target tcp://127.0.0.1:1883 -u user -P pass --bad-password nope --denied-topic secret/x":                            "needs a broker with the user \"user\" (password \"pass\") and an ACL denying secret/x",
	"mqttspec test broker --target tcp://127.0.0.1:1883 --auth-method SCRAM-SHA-256 --scram-user user --scram-password pass":                    "needs a broker with a SCRAM-SHA-256 user; TestEnhancedAuthAgainstARealTarget runs these flags against a SCRAM reference broker",
	"make matrix                                                   # all targets of matrix/*.yaml, twice each":                                  "runs every broker and client of the matrix (installed separately), for minutes",
	"bin/mqttspec matrix --only reference --runs 1 --out out/matrix":                                                                            "runs both catalogs against the reference targets (minutes); the matrix package's tests cover it",
	"mqttspec test client --driver mqttjs                     # needs: npm ci --prefix conformance/drivers/mqttjs":                              "needs Node.js and the npm packages of conformance/drivers/mqttjs",
	"mqttspec test client --driver paho --version 5":                                                                                            "builds the paho programs, which needs their Go modules (network)",
	"mqttspec test client --driver cmd --cmd-publish 'myclient pub -h {host} -p {port} -i {client_id} -t {topic} -q {qos} -m {message}'":        "myclient stands for the reader's own client program",
	"mqttspec report compare reference.json mosquitto.json mochi.json -o compare.html   # side by side":                                         "needs results files of three targets",
	"make fuzz-smoke                                   # every native fuzz target for a few seconds":                                            "runs every fuzz target of the repository (minutes)",
	"go test -fuzz FuzzDecode ./codec                  # one target, as long as you like":                                                       "fuzzes until stopped",
	"mqttspec fuzz replay findings/crash-*.json --target tcp://127.0.0.1:1883":                                                                  "needs a finding of an earlier fuzz run (the reference broker gives none)",
	"mqttspec fuzz replay findings/crash-3f2a9c0d11e4-min.json --target tcp://127.0.0.1:1883":                                                   "needs that finding of an earlier fuzz run",
	"mqttspec test client --driver mqttjs # MQTT.js (npm ci --prefix conformance/drivers/mqttjs)":                                               "needs Node.js and the npm packages of conformance/drivers/mqttjs",
	"mqttspec test client --driver paho # paho.golang (5.0), paho.mqtt.golang (3.1.1)":                                                          "builds the paho programs, which needs their Go modules (network)",
	"mqttspec test client --driver cmd --cmd-publish 'my-pub -h {host} -p {port} -V {version} -i {client_id} -t {topic} -q {qos} -m {message}'": "my-pub stands for the reader's own client program",
	"mqttspec broker --fault retain-empty-not-deleted           # a broker with the bug, on 127.0.0.1:1883":                                     "a broker on the fixed port 1883 that runs until stopped; the next line runs a fault through the embedded target",
	"go test -count=1 -run 'TestFaults' ./reference/broker/":                                                                                    "the project's own tests (make test runs them)",
	"go test -count=1 -run 'TestFaultsAreCaught' ./conformance/catalog/broker/":                                                                 "the project's own tests (make test runs them)",
	"go test -count=1 -run 'TestFaultsAreCaught/pingreq-ignored' ./conformance/catalog/broker/   # one fault":                                   "the project's own tests (make test runs them)",
	"make fuzz-smoke                                   # every target of every package, FUZZTIME (5s) each":                                     "runs every fuzz target of the repository (minutes)",
	"go test -run '^$' -fuzz '^FuzzStream$' -fuzztime 10m -parallel 1 ./fuzz/":                                                                  "fuzzes for ten minutes",
	"go test -run '^$' -fuzz '^FuzzStrictLenient$' -fuzztime 10000000x -parallel 1 ./fuzz/   # 10^7 inputs":                                     "fuzzes 10^7 inputs (minutes)",
	"go test ./fuzz/                                   # replays every seed and regression input":                                               "the project's own tests (make test runs them)",
	"mkdir -p .clusterfuzzlite .github/workflows":                                                                                               "sets up ClusterFuzzLite in a repository (writes outside a scratch directory)",
	"cp fuzz/oss-fuzz/Dockerfile fuzz/oss-fuzz/project.yaml fuzz/oss-fuzz/build.sh .clusterfuzzlite/":                                           "sets up ClusterFuzzLite in a repository (writes outside a scratch directory)",
	"cp fuzz/oss-fuzz/cflite_pr.yml fuzz/oss-fuzz/cflite_batch.yml .github/workflows/":                                                          "sets up ClusterFuzzLite in a repository (writes outside a scratch directory)",
	"fuzz/oss-fuzz/local.sh                                   # build every target into out/libfuzzer":                                          "needs clang with libFuzzer",
	"fuzz/oss-fuzz/local.sh -runs 10000000 FuzzStrictLenient  # build, then run 10^7 inputs":                                                    "needs clang with libFuzzer",
	"make fuzz-libfuzzer LIBFUZZER_ARGS=\"-time 600 FuzzStream\"":                                                                               "needs clang with libFuzzer and fuzzes for ten minutes",
	"python infra/helper.py build_fuzzers --external /path/to/mqttspec":                                                                         "needs a checkout of google/oss-fuzz and Docker",
	"python infra/helper.py run_fuzzer --external /path/to/mqttspec mqttspec_stream -- -max_total_time=600":                                     "needs a checkout of google/oss-fuzz and Docker",
	"clang -g -O1 -fsanitize=fuzzer,address,undefined fuzz_parse.c mqtt.c -o fuzz_parse":                                                        "an example for the reader's own C parser",
	"mkdir -p findings": "part of the example for the reader's own C parser",
	"./fuzz_parse -dict=mqtt.dict -max_len=4096 -timeout=5 -rss_limit_mb=1024 -jobs=2 -artifact_prefix=findings/ findings/ corpus/": "an example for the reader's own C parser",
	"make matrix                                                     # everything, into docs/matrix":                                "runs every broker and client of the matrix (installed separately), for minutes",
	"bin/mqttspec matrix --only reference --runs 1 --out out/matrix  # one target":                                                  "runs both catalogs against the reference targets (minutes); the matrix package's tests cover it",
	"bin/mqttspec matrix --role broker --case '3.12/*' --out out/matrix-short":                                                      "starts the brokers of matrix/*.yaml (installed separately)",
	// fuzz diff against mosquitto and mochi, and the long campaigns (docs/fuzzing.md, findings.md);
	// fuzz/netfuzz's TestDiffFindsAPlantedDisagreement runs fuzz diff against reference brokers.
	"mqttspec fuzz diff --target embedded --target tcp://127.0.0.1:1883 --target tcp://127.0.0.1:1884 --name reference --name mosquitto --name mochi --duration 3m --per-class 1 --out diff-splits/ --markdown diff.md":                                 "needs mosquitto and mochi listening on 1883 and 1884, and runs for three minutes",
	"mqttspec fuzz diff --target embedded --target tcp://127.0.0.1:18830 --target tcp://127.0.0.1:18831 --name reference --name mosquitto --name mochi --duration 3m --seed 20261207 --per-class 1 --out splits/ --markdown diff.md --json > diff.json": "the recorded campaign: needs mosquitto and mochi on those ports, three minutes",
	"GOGC=400 go test -run '^$' -fuzz '^FuzzPcapSession$' -fuzztime 10000000x -fuzzminimizetime 50x -parallel 1 ./fuzz/   # ~3.5 h":                                                                                                                     "fuzzes 10^7 inputs (hours)",
	"go test ./fuzz -run TestOverStrictSearch -args -diff.review=10000000   # the review list, below":                                                                                                                                                   "ten million differential inputs (minutes); the project's tests replay the list it wrote",
}

// docSkipPages are documents whose blocks are manual sessions against third-party software
// installed separately (a broker or client page: install, start, run the catalog, stop), by
// glob; the README of each directory is not one of them and runs.
var docSkipPages = map[string]string{
	"docs/brokers/*.md": "a manual session against a broker installed and started by hand (its go test or matrix form runs it)",
	"docs/clients/*.md": "a manual session with a client library installed by hand (the matrix runs it)",
}

// docSkipped returns why a document's commands are skipped ("" when they run).
func docSkipped(file string) string {
	if path.Base(file) == "README.md" {
		return ""
	}
	for pat, why := range docSkipPages {
		if ok, _ := path.Match(pat, file); ok {
			return why
		}
	}
	return ""
}

// docSpecial are commands run differently from their text, and why.
var docSpecial = map[string]struct {
	run   string // the command to run instead (after the address substitutions)
	exits []int  // accepted exit codes (default 0)
	why   string
}{
	"mqttspec test broker --target embedded --fault queue-lifo  # the catalog against it (a hidden flag)": {
		run:   "mqttspec test broker --target embedded --fault queue-lifo --case 4.6/order-kept-across-reconnect",
		exits: []int{1},
		why:   "the whole catalog takes half a minute; the case that catches queue-lifo must fail (exit 1)",
	},
}

// docBackground are commands that run until stopped: started in the background, they must
// still run (or have ended well) when the others are done, and print wantOutput.
var docBackground = map[string]string{
	"mqttspec sub -h 127.0.0.1 -p 1883 -t 'sensors/#' -q 1 -v -V 5": "sensors/a 21.5",
}

// docBrokerCommand is the README's broker command: the test starts it first, on free ports, as
// the broker every other command talks to.
const docBrokerCommand = "mqttspec broker --listen tcp://127.0.0.1:1883 --listen ws://127.0.0.1:8080/mqtt"

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// TestDocsExamples runs the commands of the documentation's ```sh blocks against a reference
// broker started on free ports: addresses are substituted (127.0.0.1:1883, ws://127.0.0.1:8080),
// long runs shortened (--duration 2s, --execs 300; a catalog run without --case or --label gets
// --case 3.14/, the DISCONNECT section, the same in the baseline and the run compared with it),
// captures
// provided (capture.pcap and capture.pcapng are committed testdata). A command that fails
// fails the test; a command that cannot run here must be in docSkips with the reason, and a
// skip entry that matches no command is stale. README must not link to files outside the
// repository.
func TestDocsExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the documentation's commands")
	}
	checkReadmeLinks(t)
	cmds := docCommands(t)
	// The tables are written as the documents align them; commands are compared with their
	// spaces collapsed.
	skips, special, background := normKeys(docSkips), normKeys(docSpecial), normKeys(docBackground)
	brokerCommand := norm(docBrokerCommand)
	if len(cmds) < 40 {
		t.Fatalf("found %d commands in the documentation, expected more: is the extraction broken?", len(cmds))
	}
	used := map[string]bool{}
	for _, c := range cmds {
		used[c.Text] = true
	}
	for pat := range docSkipPages {
		n := 0
		for _, c := range cmds {
			if ok, _ := path.Match(pat, c.File); ok && path.Base(c.File) != "README.md" {
				n++
			}
		}
		if n == 0 {
			t.Errorf("docSkipPages entry %q matches no command (stale)", pat)
		}
	}
	for k := range skips {
		if !used[k] {
			t.Errorf("docSkips entry matches no command (stale): %q", k)
		}
	}
	for k := range special {
		if !used[k] {
			t.Errorf("docSpecial entry matches no command (stale): %q", k)
		}
	}
	for k := range background {
		if !used[k] {
			t.Errorf("docBackground entry matches no command (stale): %q", k)
		}
	}
	if !used[brokerCommand] {
		t.Fatalf("README no longer has %q, which this test starts as its broker", docBrokerCommand)
	}

	bin := mqttspecBinary(t)
	work := t.TempDir()
	for dst, src := range map[string]string{"capture.pcapng": "v5-qos.pcapng", "capture.pcap": "v311-qos.pcap"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "pcap", "testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// bin/mqttspec in the examples is the binary `make build` writes.
	if err := os.MkdirAll(filepath.Join(work, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(work, "bin", "mqttspec")); err != nil {
		t.Fatal(err)
	}
	tcpPort, wsPort := freePort(t), freePort(t)
	subst := strings.NewReplacer(
		"tcp://127.0.0.1:1883", "tcp://127.0.0.1:"+tcpPort,
		"ws://127.0.0.1:8080/mqtt", "ws://127.0.0.1:"+wsPort+"/mqtt",
		"-h 127.0.0.1 -p 1883", "-h 127.0.0.1 -p "+tcpPort,
		"--duration 10s", "--duration 2s", "--duration 10m", "--duration 2s", "--duration 5m", "--duration 2s",
		"--execs 5000", "--execs 300",
	)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "MQTTSPEC_SRC="+root, "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"), "GITHUB_STEP_SUMMARY=")
	shell := func(ctx context.Context, text string) *exec.Cmd {
		c := exec.CommandContext(ctx, "sh", "-c", text)
		c.Dir, c.Env = work, env
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that a timeout stops the whole group
		c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
		return c
	}
	type bg struct {
		cmd  docCommand
		proc *exec.Cmd
		out  *syncBuffer
		done chan error
		want string
	}
	var bgs []*bg
	start := func(c docCommand, text, want string) *bg {
		b := &bg{cmd: c, out: &syncBuffer{}, done: make(chan error, 1), want: want}
		b.proc = shell(context.Background(), text)
		b.proc.Stdout, b.proc.Stderr = b.out, b.out
		if err := b.proc.Start(); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		go func() { b.done <- b.proc.Wait() }()
		bgs = append(bgs, b)
		return b
	}
	defer func() {
		for _, b := range bgs {
			_ = syscall.Kill(-b.proc.Process.Pid, syscall.SIGTERM)
			select {
			case <-b.done:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-b.proc.Process.Pid, syscall.SIGKILL)
				<-b.done
			}
		}
	}()
	for _, c := range cmds {
		if c.Text == brokerCommand {
			start(c, subst.Replace(c.Text), "")
		}
	}
	waitListening(t, "127.0.0.1:"+tcpPort)

	ran, skipped := 0, 0
	for _, c := range cmds {
		if c.Text == brokerCommand {
			continue
		}
		if why := docSkipped(c.File); why != "" {
			t.Logf("skip %s: %s", c, why)
			skipped++
			continue
		}
		if why, ok := skips[c.Text]; ok {
			t.Logf("skip %s: %s", c, why)
			skipped++
			continue
		}
		if want, ok := background[c.Text]; ok {
			start(c, subst.Replace(c.Text), want)
			time.Sleep(500 * time.Millisecond) // let it subscribe before the next commands publish
			ran++
			continue
		}
		if first := strings.Fields(c.Text)[0]; first != "mqttspec" && first != "bin/mqttspec" {
			// Only the CLI's own commands run here; anything else (make, go, other programs)
			// must be listed with the reason it cannot.
			t.Errorf("%s: not an mqttspec command and not in docSkips: list it with the reason it cannot run here", c)
			continue
		}
		text, exits := subst.Replace(c.Text), []int{0}
		if sp, ok := special[c.Text]; ok {
			text, exits = subst.Replace(sp.run), sp.exits
			t.Logf("%s: runs as %q: %s", c, text, sp.why)
		} else {
			text = shortenCatalogRun(text)
		}
		if strings.Contains(c.Text, "--driver mosquitto") {
			if _, err := exec.LookPath("mosquitto_pub"); err != nil {
				t.Logf("skip %s: mosquitto_pub is not installed", c)
				skipped++
				continue
			}
			exits = []int{0, 1} // mosquitto's clients may fail cases: the run itself must work
		}
		began := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		p := shell(ctx, text)
		out, err := p.CombinedOutput()
		cancel()
		code := 0
		if err != nil {
			code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
		}
		ran++
		t.Logf("ran %s in %v (exit %d)", c, time.Since(began).Round(time.Millisecond), code)
		if !slices.Contains(exits, code) {
			t.Errorf("%s\n  ran as: %s\n  exit %d (want %v), output:\n%s", c, text, code, exits, tail(out, 2000))
		}
	}
	for _, b := range bgs {
		select {
		case err := <-b.done:
			b.done <- err
			if err != nil {
				t.Errorf("%s: ended with %v:\n%s", b.cmd, err, tail(b.out.Bytes(), 2000))
			}
		default:
		}
		if b.want != "" && !strings.Contains(b.out.String(), b.want) {
			t.Errorf("%s: output lacks %q:\n%s", b.cmd, b.want, tail(b.out.Bytes(), 2000))
		}
	}
	t.Logf("%d commands ran, %d skipped (of %d)", ran, skipped, len(cmds))
}

func norm(s string) string { return strings.Join(strings.Fields(s), " ") }

func normKeys[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[norm(k)] = v
	}
	return out
}

// shortenCatalogRun limits a catalog run that names no --case or --label to the DISCONNECT
// section (a second or less instead of half a minute per run).
func shortenCatalogRun(text string) string {
	if strings.Contains(text, "--case") || strings.Contains(text, "--label") {
		return text
	}
	for _, prefix := range []string{"mqttspec test broker", "mqttspec test client"} {
		text = strings.ReplaceAll(text, prefix, prefix+" --case 3.14/")
	}
	return text
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the broker did not listen on %s", addr)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// checkReadmeLinks fails on README links to files that are not part of the repository (such as
// shared/, which lives outside it).
func checkReadmeLinks(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	for _, m := range link.FindAllStringSubmatch(string(b), -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		if strings.HasPrefix(target, "shared/") {
			t.Errorf("README links %s: shared/ is not part of this repository", target)
			continue
		}
		if _, err := os.Stat(filepath.Join("..", "..", filepath.FromSlash(target))); err != nil {
			t.Errorf("README links %s, which does not exist in the repository", target)
		}
	}
}

// syncBuffer is a bytes.Buffer a background command writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *syncBuffer) String() string { return string(b.Bytes()) }
