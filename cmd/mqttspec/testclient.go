package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/client" // the client catalog
	"github.com/mqttspec/mqttspec/conformance/drivers"
	"github.com/mqttspec/mqttspec/reports"
	"github.com/mqttspec/mqttspec/reports/expect"
)

type testClientFlags struct {
	driver                   string
	cmd                      string
	cmdConnect, cmdPublish   string
	cmdSubscribe             string
	cmdRefusals              []int
	version                  string
	cases, labels            []string
	parallel                 int
	stepTimeout, caseTimeout time.Duration
	quiet, tolerance         time.Duration
	runTimeout               time.Duration
	json                     bool
	reportDir                string
	expectFile, reportURL    string
}

func init() {
	testCmd, _, err := rootCmd.Find([]string{"test"})
	if err != nil || testCmd == rootCmd {
		panic("cmd/mqttspec: the test command must be registered before test client (test.go)")
	}
	var f testClientFlags
	clientCmd := &cobra.Command{
		Use:   "client",
		Short: "Run the client catalog: mqttspec plays a scripted broker and checks the client under test",
		Long: `Run the client conformance catalog. For every case mqttspec listens on a loopback port as a
scripted broker, makes the client under test act through a driver (connect, publish, subscribe),
answers with chosen packets (normal, withheld, delayed, duplicated, malformed), drops the
connection when the case needs a reconnection, and checks what the client sends.

Drivers: reference (mqttspec's client, in process), mosquitto (mosquitto_pub/mosquitto_sub),
mqttjs (MQTT.js through node; npm ci --prefix conformance/drivers/mqttjs), paho (paho.golang for
5.0, paho.mqtt.golang for 3.1.1; built with go build from this source tree) and cmd (any program,
from a command template). A case asking for something the client cannot do (reconnect, a keep
alive of 1 s, …) is skipped, and the skip message says why. The results name the driver as the
target, with what it runs (programs and library versions, or the command templates).

Template placeholders (--cmd): {op} {host} {port} {version} (3.1.1|5) {version_compact} (311|5)
{level} (4|5) {client_id} {topic} {qos} {message}
{retain} {count} {keepalive} {clean} {duration} {duration_ms} {reconnect} {session_expiry}
{username} {password} {will_topic} {will_payload} {will_qos} {will_retain}. A template that does
not mention a placeholder cannot honour that option, and actions needing it are skipped; every
action names a client identifier, so every template needs {client_id}. Will properties,
enhanced authentication, UNSUBSCRIBE, the client's 5.0 limits and PUBLISH properties have no
placeholder: those cases are skipped with the cmd driver.`,
		Example: `  mqttspec test client                                   # the reference client
  mqttspec test client --driver mosquitto --version 5 --report out/
  mqttspec test client --driver cmd --cmd-publish 'mosquitto_pub -h {host} -p {port} -V {version_compact} -i {client_id} -t {topic} -q {qos} -m {message}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTestClient(cmd, &f) },
	}
	fl := clientCmd.Flags()
	fl.StringVar(&f.driver, "driver", "reference", "client driver: "+strings.Join(drivers.Names, ", "))
	fl.StringVar(&f.cmd, "cmd", "", "cmd driver: command template for every operation")
	fl.StringVar(&f.cmdConnect, "cmd-connect", "", "cmd driver: template for connect (overrides --cmd)")
	fl.StringVar(&f.cmdPublish, "cmd-publish", "", "cmd driver: template for publish (overrides --cmd)")
	fl.StringVar(&f.cmdSubscribe, "cmd-subscribe", "", "cmd driver: template for subscribe (overrides --cmd)")
	fl.IntSliceVar(&f.cmdRefusals, "cmd-refusal-exit-codes", nil, "cmd driver: exit statuses by which the program says it refused an action before connecting (e.g. 2,3); without them a refusal case cannot tell a refusal from a crash and skips")
	fl.StringVar(&f.version, "version", "all", "protocol version: 3.1.1, 5 or all")
	fl.StringSliceVar(&f.cases, "case", nil, "run only cases whose ID matches this glob or prefix (repeatable)")
	fl.StringSliceVar(&f.labels, "label", nil, "run only cases with this label: statement ID, MUST/SHOULD, section, version (repeatable)")
	fl.IntVar(&f.parallel, "parallel", 4, "cases run at the same time")
	fl.DurationVar(&f.stepTimeout, "timeout", 3*time.Second, "how long each expectation waits")
	fl.DurationVar(&f.caseTimeout, "case-timeout", 40*time.Second, "hard deadline of one case")
	windowFlags(clientCmd, &f.quiet, &f.tolerance)
	fl.DurationVar(&f.runTimeout, "run-timeout", 0, "deadline of the whole run; unfinished cases become errors (0 = none)")
	fl.BoolVar(&f.json, "json", false, "print results.json to stdout instead of text")
	fl.StringVar(&f.reportDir, "report", "", "write results.json (and report.html, junit.xml) to this directory")
	fl.StringVar(&f.expectFile, "expect", "", "expectations file (YAML): exit 0 unless a result regresses from it")
	fl.StringVar(&f.reportURL, "report-url", "", "URL of the published HTML report, linked from summary.md")
	testCmd.AddCommand(clientCmd)
}

func (f *testClientFlags) driverConfig() (drivers.Config, error) {
	cfg := drivers.Config{Command: f.cmd, Templates: map[conformance.Op]string{}}
	for op, t := range map[conformance.Op]string{conformance.OpConnect: f.cmdConnect, conformance.OpPublish: f.cmdPublish, conformance.OpSubscribe: f.cmdSubscribe} {
		if t != "" {
			cfg.Templates[op] = t
		}
	}
	hasTemplate := cfg.Command != "" || len(cfg.Templates) > 0
	for _, c := range f.cmdRefusals {
		if c < 1 || c > 255 {
			return cfg, fmt.Errorf("--cmd-refusal-exit-codes: %d is not an exit status of a refusal (1 to 255)", c)
		}
	}
	cfg.RefusalExitCodes = f.cmdRefusals
	switch {
	case f.driver != "cmd" && len(f.cmdRefusals) > 0:
		return cfg, fmt.Errorf("--cmd-refusal-exit-codes needs --driver cmd (not %s)", f.driver)
	case f.driver == "cmd" && !hasTemplate:
		return cfg, errors.New("--driver cmd needs --cmd or --cmd-connect/--cmd-publish/--cmd-subscribe")
	case f.driver != "cmd" && hasTemplate:
		return cfg, fmt.Errorf("--cmd templates need --driver cmd (not %s)", f.driver)
	}
	return cfg, nil
}

func runTestClient(cmd *cobra.Command, f *testClientFlags) error {
	versions, err := parseVersions(f.version)
	if err != nil {
		return failWith(exitUsage, err)
	}
	if f.parallel < 1 || f.parallel > 64 {
		return failWith(exitUsage, fmt.Errorf("--parallel must be between 1 and 64, not %d", f.parallel))
	}
	cfg, err := f.driverConfig()
	if err != nil {
		return failWith(exitUsage, err)
	}
	cases, err := conformance.Select(catalog.ClientCases(), f.cases, f.labels)
	if err != nil {
		return failWith(exitUsage, err)
	}
	if len(cases) == 0 {
		return failWith(exitUsage, errors.New("no case matches the --case/--label filters"))
	}
	var exp *expect.File
	if f.expectFile != "" {
		if exp, err = expect.ReadFile(f.expectFile, knownIDs(catalog.ClientCases())); err != nil {
			return failWith(exitUsage, fmt.Errorf("--expect: %w", err))
		}
	}
	ctx, cancel := signalContext(cmd.Context())
	defer cancel()
	d, release, err := drivers.ByName(ctx, f.driver, cfg)
	if err != nil {
		return failWith(exitUsage, err)
	}
	defer release()

	r := &conformance.Runner{Driver: d, Versions: versions, Parallel: f.parallel, RunTimeout: f.runTimeout,
		Timeouts: runTimeouts(cmd, f.stepTimeout, f.caseTimeout, f.quiet, f.tolerance),
		Tool:     reports.Tool{Name: "mqttspec", Version: toolVersion()}}
	return runAndReport(ctx, cmd, r, cases, runOutput{json: f.json, reportDir: f.reportDir, reportURL: f.reportURL, expectFile: f.expectFile, exp: exp})
}
