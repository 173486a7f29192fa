package broker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/matrix"
	"github.com/mqttspec/mqttspec/reports"
)

// matrixKnown lists, per broker of matrix/brokers.yaml, the verdicts of the short section that are
// not pass (case ID and version → status), as measured in the full matrix runs and examined in
// docs/brokers/NAME.md. Every other case of the section must pass on the versions the broker
// speaks and skip on the others.
var matrixKnown = map[string]map[[2]string]reports.Status{
	// A PINGREQ with a non-zero Remaining Length is answered with PINGRESP instead of closing
	// (mosquitto F9, mochi, ActiveMQ A-list); mochi ends a taken-over 3.1.1 connection with a
	// v5-only DISCONNECT.
	"mosquitto": {
		{"3.12/pingreq-with-body-malformed", "3.1.1"}: reports.Fail,
		{"3.12/pingreq-with-body-malformed", "5.0"}:   reports.Fail,
	},
	"mochi": {
		{"3.12/pingreq-with-body-malformed", "3.1.1"}: reports.Fail,
		{"3.12/pingreq-with-body-malformed", "5.0"}:   reports.Fail,
		{"3.1/client-takeover", "3.1.1"}:              reports.Fail,
	},
	"activemq": {{"3.12/pingreq-with-body-malformed", "3.1.1"}: reports.Fail},
}

// matrixSection is the short form of the matrix: the keep-alive section and a session takeover,
// a few seconds per broker, enough to show that the script starts the broker, that it speaks MQTT
// on the port it was given, and that its known verdicts have not moved.
func matrixSection(c conformance.Case) bool {
	return strings.HasPrefix(c.ID, "3.12/") || c.ID == "3.1/client-takeover"
}

// TestMatrixBrokerScripts starts every scripted broker of matrix/brokers.yaml with its script on
// free loopback ports (the contract of docs/matrix.md), runs the short section against it with the
// flags of its entry, checks that no case errored and that the known verdicts hold, and stops it.
// A broker whose script exits 3 (not installed) is skipped with the script's message; CI installs
// the packages (matrix/brokers/install.sh). The brokers run one after another: the JVM and Erlang
// ones need a few hundred MiB and most of a core while starting.
func TestMatrixBrokerScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real brokers")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("the broker scripts need bash")
	}
	root := matrixRepoRoot(t)
	cfg, err := matrix.Load(filepath.Join(root, "matrix", "brokers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, b := range cfg.Brokers {
		if b.Script == "" {
			continue // not started by a script (the embedded reference broker)
		}
		if b.Nodes == 2 {
			continue // a cluster: make cluster-conformance (in CI) runs its section
		}
		ran++
		t.Run(b.Name, func(t *testing.T) { testMatrixBroker(t, root, b) })
	}
	if ran == 0 {
		t.Fatal("matrix/brokers.yaml lists no scripted broker")
	}
}

func testMatrixBroker(t *testing.T, root string, b matrix.Broker) {
	script := filepath.Join(root, b.Script)
	dir := t.TempDir()
	port, wsPort := matrixFreePort(t), matrixFreePort(t)
	version := startMatrixBroker(t, script, dir, port, wsPort)
	tg, tolerance, err := matrixTarget(b, port, wsPort)
	if err != nil {
		t.Fatal(err)
	}
	tg.Name = b.Name
	tg.Info = map[string]string{"implementation": version}
	r := &conformance.Runner{Target: tg, Parallel: 4, Timeouts: conformance.Timeouts{Tolerance: tolerance}}
	res, err := r.Run(context.Background(), selectCases(t, matrixSection))
	if err != nil {
		t.Fatal(err)
	}
	known := matrixKnown[b.Name]
	speaks := map[string]bool{}
	for _, v := range b.Versions {
		if v == "5" {
			v = "5.0"
		}
		speaks[v] = true
	}
	for _, c := range res.Cases {
		want := reports.Pass
		if !speaks[c.Version] {
			want = reports.Skip
		}
		if s, ok := known[[2]string{c.ID, c.Version}]; ok {
			want = s
		}
		if c.Status != want {
			t.Errorf("%s (%s): %s [%s] is %s, want %s: %s", b.Name, version, c.ID, c.Version, c.Status, want, c.Message)
		}
	}
	if res.Summary.Error > 0 {
		t.Errorf("%s: %d harness errors", b.Name, res.Summary.Error)
	}
	t.Logf("%s: %s, %+v", b.Name, version, res.Summary)
}

// startMatrixBroker runs `SCRIPT start DIR PORT WSPORT`, registers the stop, and returns the version
// the script reported. Exit status 3 means the broker is not installed: the test skips with the
// script's message (which names the Debian packages).
func startMatrixBroker(t *testing.T, script, dir string, port, wsPort int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, "start", dir, fmt.Sprint(port), fmt.Sprint(wsPort))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	// Stop even after a failed start: the script may have left a process behind.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "bash", script, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("%s stop: %v\n%s", script, err, out)
		}
	})
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		t.Skipf("not installed: %s", strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		t.Fatalf("%s start: %v\n%s", script, err, stderr.String())
	}
	for _, l := range strings.Split(stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "version="); ok && v != "" {
			return v
		}
	}
	t.Fatalf("%s start printed no version= line: %q", script, stdout.String())
	return ""
}

// matrixTarget turns a broker entry's `mqttspec test broker` flags into a Target, as the CLI
// would. A flag this test does not know fails the test rather than being dropped: the short form
// must run with the configuration the full matrix uses.
func matrixTarget(b matrix.Broker, port, wsPort int) (*conformance.Target, time.Duration, error) {
	tg := &conformance.Target{URL: fmt.Sprintf("tcp://127.0.0.1:%d", port)}
	var tolerance time.Duration // 0: the runner's default
	r := strings.NewReplacer("{port}", fmt.Sprint(port), "{ws_port}", fmt.Sprint(wsPort))
	fields := map[string]*string{
		"--username": &tg.Username, "-u": &tg.Username,
		"--password": &tg.Password, "-P": &tg.Password,
		"--bad-password":  &tg.BadPassword,
		"--denied-topic":  &tg.DeniedTopic,
		"--websocket-url": &tg.WebSocketURL,
	}
	for i := 0; i < len(b.Flags); i++ {
		name, value, hasValue := strings.Cut(b.Flags[i], "=")
		if !hasValue {
			if i+1 >= len(b.Flags) {
				return nil, 0, fmt.Errorf("%s: flag %s has no value", b.Name, name)
			}
			i++
			value = b.Flags[i]
		}
		value = r.Replace(value)
		switch {
		case fields[name] != nil:
			*fields[name] = value
		case name == "--disable":
			for _, f := range strings.Split(value, ",") {
				tg.Disable = append(tg.Disable, conformance.Feature(strings.TrimSpace(f)))
			}
		case name == "--parallel":
			// How many cases at once is the matrix run's business; the short section runs its
			// own few cases either way.
		case name == "--timing-tolerance":
			d, err := time.ParseDuration(value)
			if err != nil {
				return nil, 0, fmt.Errorf("%s: --timing-tolerance %q: %w", b.Name, value, err)
			}
			tolerance = d
		default:
			return nil, 0, fmt.Errorf("%s: flag %s is not known to the short matrix test", b.Name, name)
		}
	}
	return tg, tolerance, nil
}

// matrixFreePort returns a TCP port nothing listens on at the moment (the broker binds it a
// moment later; a collision shows up as a failed start).
func matrixFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// matrixRepoRoot is the repository root, found from this file's location.
func matrixRepoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}
