package matrix_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/matrix"
	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/reportstest"
)

// buildMqttspec builds the CLI the matrix runs (the runs are mqttspec processes).
func buildMqttspec(t *testing.T) (exe, root string) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	exe = filepath.Join(t.TempDir(), "mqttspec")
	cmd := exec.Command("go", "build", "-o", exe, "./cmd/mqttspec")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/mqttspec: %v\n%s", err, out)
	}
	return exe, root
}

// faultyScript is a broker script of the matrix contract that starts the reference broker with
// a deliberate bug, so that the matrix has a target that disagrees with the others.
const faultyScript = `#!/usr/bin/env bash
set -euo pipefail
case "$1" in
start)
  "$MQTTSPEC" broker --fault pingreq-ignored --listen "tcp://127.0.0.1:$3" --log-level error >"$2/log" 2>&1 &
  echo $! >"$2/pid"
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$3") 2>/dev/null && { echo "version=faulty 1.0"; exit 0; }
    sleep 0.1
  done
  exit 1 ;;
stop)
  [ -f "$2/pid" ] && kill "$(cat "$2/pid")" 2>/dev/null || true ;;
esac
`

// pairScript follows the cluster contract (start DIR PORT_A PORT_B) with two independent
// reference brokers: a "cluster" whose nodes share nothing, so cross-node cases fail.
const pairScript = `#!/usr/bin/env bash
set -euo pipefail
case "$1" in
start)
  for p in "$3" "$4"; do
    "$MQTTSPEC" broker --listen "tcp://127.0.0.1:$p" --log-level error >>"$2/log" 2>&1 &
    echo $! >>"$2/pids"
  done
  for p in "$3" "$4"; do
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
  done
  echo "version=pair 1.0" ;;
stop)
  [ -f "$2/pids" ] && kill $(cat "$2/pids") 2>/dev/null || true ;;
esac
`

const missingScript = `#!/usr/bin/env bash
[ "$1" = stop ] && exit 0
echo "not installed: apt-get install no-such-broker" >&2
exit 3
`

func TestMatrixRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mqttspec and runs brokers")
	}
	exe, root := buildMqttspec(t)
	dir := t.TempDir()
	for name, body := range map[string]string{"faulty.sh": faultyScript, "missing.sh": missingScript, "pair.sh": pairScript} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	list := filepath.Join(dir, "targets.yaml")
	yaml := fmt.Sprintf(`brokers:
  - name: reference
    title: mqttspec reference broker (process)
    script: matrix/brokers/reference.sh
    versions: ["3.1.1", "5"]
    flags: ["--username", "mqttspec", "--password", "mqttspec-secret"]
  - name: faulty
    title: reference broker ignoring PINGREQ
    script: %s
    versions: ["3.1.1", "5"]
  - name: missing
    title: a broker that is not installed
    script: %s
    versions: ["5"]
  - name: embedded
    title: embedded reference broker
    target: embedded
    versions: ["3.1.1", "5"]
  - name: pair
    title: two independent reference brokers
    script: %s
    nodes: 2
    versions: ["5"]
    flags: ["--case", "cluster/qos0-delivered-across-nodes"]
clients:
  - name: reference-client
    title: mqttspec reference client
    driver: reference
    versions: ["5"]
`, filepath.Join(dir, "faulty.sh"), filepath.Join(dir, "missing.sh"), filepath.Join(dir, "pair.sh"))
	if err := os.WriteFile(list, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := matrix.Load(list)
	if err != nil {
		t.Fatal(err)
	}
	r := &matrix.Runner{Exe: exe, Root: root, Work: filepath.Join(dir, "work"), Runs: 2,
		Cases: []string{"3.12/*", "3.1/connect-connack"}, Log: testLog{t}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	outcomes := r.Run(ctx, cfg)
	if len(outcomes) != 6 {
		t.Fatalf("%d outcomes, want 6", len(outcomes))
	}
	byName := map[string]matrix.Outcome{}
	for _, o := range outcomes {
		byName[o.Name] = o
	}
	if o := byName["missing"]; !errors.Is(o.Err, matrix.ErrNotInstalled) || !strings.Contains(o.Err.Error(), "no-such-broker") {
		t.Errorf("missing broker: err %v, want ErrNotInstalled naming the package", o.Err)
	}
	for _, n := range []string{"reference", "faulty", "embedded", "reference-client"} {
		o := byName[n]
		if o.Err != nil || o.Results == nil {
			t.Fatalf("%s did not run: %v", n, o.Err)
		}
		if len(o.Results.Cases) == 0 {
			t.Fatalf("%s ran no case", n)
		}
		for _, c := range o.Results.Cases {
			if len(c.Reruns) != 1 {
				t.Errorf("%s %s: %d reruns, want 1 (two runs)", n, c.Key(), len(c.Reruns))
			}
			if c.Status == reports.Error {
				t.Errorf("%s %s: harness error: %s", n, c.Key(), c.Message)
			}
		}
	}
	// The pair's nodes share nothing: the cross-node case fails, and the results name node B.
	pair := byName["pair"]
	if pair.Err != nil || pair.Results == nil {
		t.Fatalf("pair did not run: %v", pair.Err)
	}
	crossNode := false
	for _, c := range pair.Results.Cases {
		if c.ID == "cluster/qos0-delivered-across-nodes" {
			crossNode = true
			if c.Status != reports.Fail {
				t.Errorf("cross-node delivery on two independent brokers: %s %s, want fail", c.Status, c.Message)
			}
		}
	}
	if !crossNode || pair.Results.Target.Info["nodes"] == "" {
		t.Errorf("pair: cluster case run %v, target info %v (want the nodes named)", crossNode, pair.Results.Target.Info)
	}
	if v := byName["faulty"].Version; v != "faulty 1.0" {
		t.Errorf("faulty version %q, want the script's version= line", v)
	}
	if got := byName["faulty"].Results.Summary.Fail; got == 0 {
		t.Error("the broker ignoring PINGREQ failed no 3.12 case")
	}
	if got := byName["reference"].Results.Summary; got.Fail != 0 || got.Pass == 0 {
		t.Errorf("reference broker process: %+v, want passes and no failure", got)
	}

	out := filepath.Join(dir, "site")
	// Findings documents are keyed by role and name: mosquitto is a broker and a client, and its
	// broker row once linked to the client page.
	docs := map[string]string{"broker/faulty": "../brokers/faulty.md", "client/faulty": "../clients/faulty.md"}
	if err := (matrix.Site{Dir: out, Docs: docs}).Write(outcomes); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| [reference broker ignoring PINGREQ](../brokers/faulty.md) | faulty 1.0 | 5.0 |", "did not run: missing:", "### Where the brokers disagree", "`3.12/pingreq-keeps-connection-alive`"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q:\n%s", want, readme)
		}
	}
	// The grid of index.html holds, per row, the verdicts of the brokers' results files.
	page, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	var rs []*reports.Results
	for _, n := range []string{"reference", "faulty", "embedded", "pair"} {
		res, err := reports.ReadFile(filepath.Join(out, "brokers", n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, res)
	}
	row := regexp.MustCompile(`<tr class="case[^"]*" data-ss="([^"]*)"[^>]*data-v="([^"]*)"[^>]*>\s*<td class="c-case"><span class="cid">([^<]*)</span>`)
	rows := row.FindAllStringSubmatch(string(page), -1)
	if len(rows) == 0 {
		t.Fatal("index.html has no grid rows")
	}
	for _, m := range rows {
		var want []string
		for _, res := range rs {
			s := "none"
			for _, c := range res.Cases {
				if c.ID == m[3] && c.Version == m[2] {
					s = string(c.Status)
				}
			}
			want = append(want, s)
		}
		if m[1] != strings.Join(want, " ") {
			t.Errorf("index.html row %s@%s: %q, results say %q", m[3], m[2], m[1], want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "clients.html")); err != nil {
		t.Errorf("clients.html: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", "brokers:\n  - name: a\n    target: embedded\n    versions: [\"5\"]\n    colour: red\n", "colour"},
		{"bad name", "brokers:\n  - name: A/B\n    target: embedded\n    versions: [\"5\"]\n", "a name is"},
		{"twice", "brokers:\n  - {name: a, target: embedded, versions: [\"5\"]}\n  - {name: a, target: embedded, versions: [\"5\"]}\n", "listed twice"},
		{"script and target", "brokers:\n  - {name: a, target: embedded, script: x.sh, versions: [\"5\"]}\n", "exactly one"},
		{"no versions", "brokers:\n  - {name: a, target: embedded}\n", "no versions"},
		{"bad version", "brokers:\n  - {name: a, target: embedded, versions: [\"5.0\"]}\n", `"5.0"`},
		{"client without driver", "clients:\n  - {name: c, versions: [\"5\"]}\n", "no driver"},
		{"three nodes", "brokers:\n  - {name: a, script: x.sh, nodes: 3, versions: [\"5\"]}\n", "nodes 3"},
		{"cluster without script", "brokers:\n  - {name: a, target: embedded, nodes: 2, versions: [\"5\"]}\n", "nodes 2"},
		{"doc not Markdown", "clients:\n  - {name: c, driver: paho, versions: [\"5\"], doc: docs/c.txt}\n", "a Markdown file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "l.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := matrix.Load(p)
			if !errors.Is(err, matrix.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrConfig mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := matrix.Load(filepath.Join(t.TempDir(), "absent.yaml")); !errors.Is(err, matrix.ErrConfig) {
		t.Errorf("absent file: %v", err)
	}
	cfg := &matrix.Config{Brokers: []matrix.Broker{{Name: "a"}, {Name: "m"}}, Clients: []matrix.Client{{Name: "m"}, {Name: "c"}}}
	for _, tc := range []struct {
		only             []string
		brokers, clients int
		err              bool
	}{
		{[]string{"m"}, 1, 1, false}, // a bare name picks both sides
		{[]string{"broker:m"}, 1, 0, false},
		{[]string{"client:m", "a"}, 1, 1, false},
		{[]string{"client:a"}, 0, 0, true}, // a is a broker only
		{[]string{"b"}, 0, 0, true},
		{[]string{"server:m"}, 0, 0, true},
	} {
		sel, err := cfg.Select(tc.only)
		switch {
		case tc.err && !errors.Is(err, matrix.ErrConfig):
			t.Errorf("Select(%q): %v, want ErrConfig", tc.only, err)
		case !tc.err && (err != nil || len(sel.Brokers) != tc.brokers || len(sel.Clients) != tc.clients):
			t.Errorf("Select(%q): %v, %d brokers / %d clients, want %d / %d", tc.only, err, len(sel.Brokers), len(sel.Clients), tc.brokers, tc.clients)
		}
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestPrevious(t *testing.T) {
	dir := t.TempDir()
	old := reportstest.Generate(reportstest.Options{Cases: 5, Seed: 1, Target: "a"})
	old.Target.Info = map[string]string{"version": "a 1.0"}
	if err := os.MkdirAll(filepath.Join(dir, "brokers"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := old.WriteFile(filepath.Join(dir, "brokers", "a.json")); err != nil {
		t.Fatal(err)
	}
	cfg := &matrix.Config{Brokers: []matrix.Broker{{Name: "a", Title: "A"}, {Name: "b", Title: "B"}, {Name: "c", Title: "C"}}}
	now := []matrix.Outcome{{Name: "b", Role: "broker", Title: "B", Results: reportstest.Generate(reportstest.Options{Cases: 3, Seed: 2})}}
	got := matrix.Previous(dir, cfg, now)
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("outcomes %+v, want a (kept from the last run) then b (this run); c has neither", got)
	}
	if got[0].Version != "a 1.0" || len(got[0].Results.Cases) != 5 || got[0].Title != "A" {
		t.Errorf("kept outcome %+v", got[0])
	}
}

// TestShippedTargetLists loads the repository's own target lists: a YAML slip in them would
// otherwise show only when the matrix or its CI short form starts.
func TestShippedTargetLists(t *testing.T) {
	cfg, err := matrix.Load("brokers.yaml", "clients.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Brokers) < 6 || len(cfg.Clients) < 7 {
		t.Errorf("%d brokers and %d clients, want at least 6 and 7", len(cfg.Brokers), len(cfg.Clients))
	}
	// A doc: the lists name must exist (paths from the repository root, one level up).
	var docs []string
	for _, b := range cfg.Brokers {
		docs = append(docs, b.Doc)
	}
	for _, c := range cfg.Clients {
		docs = append(docs, c.Doc)
	}
	for _, d := range docs {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join("..", d)); err != nil {
			t.Errorf("doc %s: %v", d, err)
		}
	}
}
