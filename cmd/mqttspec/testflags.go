package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttspec/mqttspec/conformance"
)

// flagGroup is one section of a command's --help: a heading and its flags, each with an
// example of its use.
type flagGroup struct {
	Title string
	Flags []flagExample
}

// flagExample is a flag and a typical use of it, shown under the flag's usage line.
type flagExample struct {
	Name    string
	Example string
}

// brokerFlagGroups orders the flags of "test broker" for --help. Every visible flag is in one
// group (TestBrokerHelpGroups checks it).
var brokerFlagGroups = []flagGroup{
	{"Target", []flagExample{
		{"target", "--target tcp://127.0.0.1:1883 (or tls://host:8883, ws://host:8080/mqtt, embedded)"},
		{"name", "--name mosquitto-2.0"},
		{"username", "--username alice --password secret"},
		{"password", "--username alice --password secret"},
		{"bad-password", "--username alice --password secret --bad-password wrong"},
		{"denied-topic", "--denied-topic forbidden/topic"},
		{"auth-method", "--auth-method SCRAM-SHA-256 --scram-user alice --scram-password secret"},
		{"auth-data", "--auth-method TOKEN --auth-data @token.bin (or hex:0a0b, or the text)"},
		{"scram-user", "--auth-method SCRAM-SHA-256 --scram-user alice --scram-password secret"},
		{"scram-password", "--auth-method SCRAM-SHA-256 --scram-user alice --scram-password secret"},
		{"websocket-url", "--websocket-url ws://127.0.0.1:8080/mqtt"},
		{"node", "--target tcp://127.0.0.1:1883 --node tcp://127.0.0.1:1884 (a cluster: the cluster cases run)"},
		{"tls-ca", "--target tls://broker:8883 --tls-ca ca.pem"},
		{"tls-insecure", "--target tls://127.0.0.1:8883 --tls-insecure"},
		{"disable", "--disable qos2,shared-subs"},
	}},
	{"Selection", []flagExample{
		{"version", "--version 5 (3.1.1, 5, all, or 3.1.1,5)"},
		{"case", "--case '3.3/*' --case 4.7/"},
		{"label", "--label MQTT-3.3.1-4 --label MUST"},
	}},
	{"Timing", []flagExample{
		{"timeout", "--timeout 5s"},
		{"case-timeout", "--case-timeout 1m"},
		{"quiet-window", "--quiet-window 500ms"},
		{"timing-tolerance", "--timing-tolerance 1s"},
		{"settle", "--settle 2s (with --node)"},
		{"run-timeout", "--run-timeout 10m"},
		{"outage-wait", "--outage-wait 1m (a broker restarted after a crash)"},
		{"parallel", "--parallel 4"},
	}},
	{"Output", []flagExample{
		{"json", "--json > results.json"},
		{"report", "--report out/"},
		{"expect", "--expect expectations.yaml"},
		{"report-url", "--report-url https://example.org/mqttspec/report.html"},
	}},
}

// groupFlags replaces cmd's flag listing in --help by the groups, each flag followed by its
// example. Flags not in a group (help, and any added later) are listed under "Other flags".
func groupFlags(cmd *cobra.Command, groups []flagGroup) {
	helpGroups[cmd] = groups
	cmd.SetUsageTemplate(groupedUsageTemplate)
}

// helpGroups holds the groups of every command that has them; the template function is global
// to cobra, so it looks the command up.
var helpGroups = map[*cobra.Command][]flagGroup{}

func init() {
	cobra.AddTemplateFunc("groupedFlags", func(c *cobra.Command) string { return groupedFlags(c, helpGroups[c]) })
}

// groupedUsageTemplate is cobra's default usage template with the local flags section replaced.
const groupedUsageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableLocalFlags}}

{{groupedFlags . | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}
`

func groupedFlags(c *cobra.Command, groups []flagGroup) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, g := range groups {
		fs := pflag.NewFlagSet(g.Title, pflag.ContinueOnError)
		for _, fe := range g.Flags {
			f := c.LocalFlags().Lookup(fe.Name)
			if f == nil || f.Hidden {
				continue
			}
			seen[fe.Name] = true
			// A copy: the usage with its example is for the help text only. The default goes
			// on the usage line, before the example, so pflag is told there is none.
			cp := *f
			cp.Usage = f.Usage
			if def, zero := defaultText(f); def != "" {
				cp.Usage += " (default " + def + ")"
				cp.DefValue = zero
			}
			cp.Usage += "\n  e.g. " + fe.Example
			fs.AddFlag(&cp)
		}
		if !fs.HasFlags() {
			continue
		}
		fs.SortFlags = false
		fmt.Fprintf(&b, "%s flags:\n%s\n", g.Title, fs.FlagUsages())
	}
	other := pflag.NewFlagSet("other", pflag.ContinueOnError)
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if !seen[f.Name] && !f.Hidden {
			other.AddFlag(f)
		}
	})
	if other.HasFlags() {
		fmt.Fprintf(&b, "Other flags:\n%s", other.FlagUsages())
	}
	return b.String()
}

// knownFeatures are the values --disable takes: the features a target may lack.
var knownFeatures = []conformance.Feature{
	conformance.FeatureQoS1, conformance.FeatureQoS2, conformance.FeatureRetain, conformance.FeatureWildcard,
	conformance.FeatureSubID, conformance.FeatureShared, conformance.FeatureTopicAlias, conformance.FeatureEnhancedAuth,
	conformance.FeatureCredentials, conformance.FeatureDeniedTopic, conformance.FeatureRestart, conformance.FeatureAnonymous,
	conformance.FeatureEmptyClientID, conformance.FeatureWebSocket,
}

// errBadFlag marks a flag value rejected before anything runs.
var errBadFlag = errors.New("bad flag value")

func badFlag(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errBadFlag, fmt.Sprintf(format, a...))
}

// validateBrokerFlags rejects flag values of "test broker" that cannot work, before anything is
// started, each with one line naming the flag and what it takes.
func validateBrokerFlags(f *testFlags) error {
	// 0 keeps meaning what it always did (the default; no deadline for --run-timeout).
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"--timeout", f.stepTimeout}, {"--case-timeout", f.caseTimeout},
		{"--quiet-window", f.quiet}, {"--timing-tolerance", f.tolerance}, {"--run-timeout", f.runTimeout}, {"--settle", f.settle}, {"--outage-wait", f.outageWait},
	} {
		if d.v < 0 {
			return badFlag("%s %v is negative: give a duration such as 5s", d.name, d.v)
		}
	}
	if f.parallel < 1 || f.parallel > 64 {
		return badFlag("--parallel must be between 1 and 64, not %d", f.parallel)
	}
	if _, err := parseVersions(f.version); err != nil {
		if strings.Contains(f.version, "3.1") && !strings.Contains(f.version, "3.1.1") {
			return fmt.Errorf("%w: %w", errBadFlag, err) // says why 3.1 is not run
		}
		return badFlag("--version %q: want 3.1.1, 5 or all (or a list: 3.1.1,5)", f.version)
	}
	if f.target != "embedded" {
		if err := checkTargetURL("--target", f.target, false); err != nil {
			return err
		}
	}
	if f.wsURL != "" {
		if err := checkTargetURL("--websocket-url", f.wsURL, true); err != nil {
			return err
		}
	}
	if len(f.nodes) > 0 && f.target == "embedded" {
		return badFlag("--node needs a --target URL: the embedded broker is one node")
	}
	for _, n := range f.nodes {
		if err := checkTargetURL("--node", n, false); err != nil {
			return err
		}
	}
	for _, d := range f.disable {
		if !slices.Contains(knownFeatures, conformance.Feature(d)) {
			names := make([]string, len(knownFeatures))
			for i, k := range knownFeatures {
				names[i] = string(k)
			}
			return badFlag("--disable %q is not a feature; known: %s", d, strings.Join(names, ", "))
		}
	}
	for _, c := range f.cases {
		if strings.TrimSpace(c) == "" {
			return badFlag("--case is empty: give a case ID, prefix or glob such as '3.3/*'")
		}
	}
	if f.password != "" && f.username == "" {
		return badFlag("--password needs --username")
	}
	if f.bad != "" && f.username == "" {
		return badFlag("--bad-password needs --username (the user it is wrong for)")
	}
	if f.tlsCA != "" {
		if _, err := tlsConfig(tlsSettings{caFile: f.tlsCA, caFlag: "--tls-ca"}); err != nil {
			return fmt.Errorf("%w: %w", errBadFlag, err)
		}
	}
	if err := f.auth.apply(&conformance.Target{}); err != nil {
		return fmt.Errorf("%w: %w", errBadFlag, err)
	}
	if f.expectFile != "" {
		if _, err := os.Stat(f.expectFile); err != nil {
			return badFlag("--expect: %v", err)
		}
	}
	if f.reportURL != "" {
		u, err := url.Parse(f.reportURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return badFlag("--report-url %q: want an http:// or https:// URL", f.reportURL)
		}
	}
	if len(f.faults) > 0 && f.target != "embedded" {
		return badFlag("--fault applies to the embedded target only")
	}
	return nil
}

// checkTargetURL checks a broker URL flag: a known scheme and a host, and a path only where one
// means something (ws:// and wss://; wsOnly requires those schemes).
func checkTargetURL(flag, raw string, wsOnly bool) error {
	tg := &conformance.Target{URL: raw}
	if err := tg.CheckURL(); err != nil {
		return fmt.Errorf("%w: %s: %w", errBadFlag, flag, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errBadFlag, flag, err)
	}
	tr := tg.Transport()
	if wsOnly && tr != "ws" && tr != "wss" {
		return badFlag("%s %q: want a ws:// or wss:// URL", flag, raw)
	}
	if tr != "ws" && tr != "wss" && (u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "") {
		return badFlag("%s %q: a %s:// URL is host:port only; a path belongs to ws:// or wss:// (e.g. ws://%s/mqtt)", flag, raw, u.Scheme, u.Host)
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscan(p, &n); err != nil || n < 1 || n > 65535 {
			return badFlag("%s %q: port %s is not a TCP port", flag, raw, p)
		}
	}
	if u.User != nil {
		return badFlag("%s %q: credentials go in --username and --password, not the URL", flag, raw)
	}
	return nil
}

// defaultText returns how pflag would show a flag's default ("" when it shows none) and the
// DefValue that makes pflag show none.
func defaultText(f *pflag.Flag) (def, zero string) {
	zeros := map[string]string{"string": "", "duration": "0s", "int": "0", "uint": "0", "bool": "false",
		"stringSlice": "[]", "uintSlice": "[]", "float64": "0"}
	zero, ok := zeros[f.Value.Type()]
	if !ok || f.DefValue == zero || f.DefValue == "0" && f.Value.Type() == "duration" {
		return "", f.DefValue
	}
	if f.Value.Type() == "string" {
		return fmt.Sprintf("%q", f.DefValue), zero
	}
	return f.DefValue, zero
}
