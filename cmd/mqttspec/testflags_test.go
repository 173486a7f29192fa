package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestBrokerHelpGroups: "test broker --help" lists its flags in the groups Target, Selection,
// Timing and Output, every visible flag in exactly one, each with an example.
func TestBrokerHelpGroups(t *testing.T) {
	cmd, _, err := rootCmd.Find([]string{"test", "broker"})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]int{}
	for _, g := range brokerFlagGroups {
		for _, fe := range g.Flags {
			in[fe.Name]++
			if !strings.HasPrefix(fe.Example, "--") || !strings.Contains(fe.Example, "--"+fe.Name) {
				t.Errorf("flag --%s: example %q does not show the flag", fe.Name, fe.Example)
			}
		}
	}
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		if in[f.Name] != 1 {
			t.Errorf("flag --%s is in %d help groups, want 1", f.Name, in[f.Name])
		}
	})
	for name := range in {
		if cmd.LocalFlags().Lookup(name) == nil {
			t.Errorf("help group names --%s, which test broker does not have", name)
		}
	}
	help := cmd.UsageString()
	last := -1
	for _, h := range []string{"Target flags:", "Selection flags:", "Timing flags:", "Output flags:"} {
		i := strings.Index(help, h)
		if i < 0 || i < last {
			t.Errorf("help lacks %q (or has it out of order):\n%s", h, help)
		}
		last = i
	}
	if n := strings.Count(help, "e.g. --"); n != len(in) {
		t.Errorf("%d examples in the help, want %d", n, len(in))
	}
	if strings.Contains(help, "--fault") {
		t.Error("the hidden --fault flag shows in the help")
	}
	if !strings.Contains(help, "(default 3s)\n") || !strings.Contains(help, `(default "embedded")`) {
		t.Errorf("defaults not shown on the usage lines:\n%s", help)
	}
}

// TestBrokerBadFlags runs the CLI with flag values that cannot work: each must end with exit 2
// and one line saying what is wrong, before anything connects or starts.
func TestBrokerBadFlags(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // in the one line of output
	}{
		{"negative timeout", []string{"--timeout", "-1s"}, "--timeout -1s is negative"},
		{"negative case timeout", []string{"--case-timeout", "-5s"}, "--case-timeout -5s is negative"},
		{"negative quiet window", []string{"--quiet-window", "-1ms"}, "--quiet-window -1ms is negative"},
		{"negative tolerance", []string{"--timing-tolerance", "-2s"}, "--timing-tolerance -2s is negative"},
		{"negative run timeout", []string{"--run-timeout", "-1m"}, "--run-timeout -1m0s is negative"},
		{"timeout not a duration", []string{"--timeout", "soon"}, `invalid argument "soon" for "--timeout"`},
		{"unknown version", []string{"--version", "6"}, `--version "6": want 3.1.1, 5 or all`},
		{"unknown version in a list", []string{"--version", "5,7"}, `--version "5,7": want 3.1.1, 5 or all`},
		{"version 3.1", []string{"--version", "3.1"}, "3.1 is not supported"},
		{"parallel 0", []string{"--parallel", "0"}, "--parallel must be between 1 and 64, not 0"},
		{"parallel too many", []string{"--parallel", "1000"}, "--parallel must be between 1 and 64, not 1000"},
		{"tcp URL with a path", []string{"--target", "tcp://127.0.0.1:1883/mqtt"}, "a tcp:// URL is host:port only"},
		{"tls URL with a query", []string{"--target", "tls://127.0.0.1:8883?x=1"}, "a tls:// URL is host:port only"},
		{"unknown scheme", []string{"--target", "http://127.0.0.1:1883"}, "scheme must be tcp, tls, ws or wss"},
		{"no host", []string{"--target", "tcp://"}, "no host:port"},
		{"port out of range", []string{"--target", "tcp://127.0.0.1:70000"}, "port 70000 is not a TCP port"},
		{"credentials in the URL", []string{"--target", "tcp://u:p@127.0.0.1:1883"}, "credentials go in --username"},
		{"websocket URL not ws", []string{"--websocket-url", "tcp://127.0.0.1:1883"}, "want a ws:// or wss:// URL"},
		{"CA file missing", []string{"--tls-ca", filepath.Join(dir, "missing.pem")}, "--tls-ca"},
		{"CA file a directory", []string{"--tls-ca", dir}, "--tls-ca"},
		{"CA file not PEM", []string{"--tls-ca", notPEM}, "--tls-ca"},
		{"unknown feature", []string{"--disable", "qos3"}, `--disable "qos3" is not a feature`},
		{"empty case", []string{"--case", " "}, "--case is empty"},
		{"password without user", []string{"--password", "secret"}, "--password needs --username"},
		{"bad password without user", []string{"--bad-password", "x"}, "--bad-password needs --username"},
		{"auth data without method", []string{"--auth-data", "x"}, "need --auth-method"},
		{"scram user with another method", []string{"--auth-method", "TOKEN", "--scram-user", "a"}, "--scram-user needs --auth-method SCRAM-SHA-256"},
		{"auth data file missing", []string{"--auth-method", "TOKEN", "--auth-data", "@" + filepath.Join(dir, "none")}, "--auth-data"},
		{"auth data bad hex", []string{"--auth-method", "TOKEN", "--auth-data", "hex:zz"}, "--auth-data"},
		{"expectations file missing", []string{"--expect", filepath.Join(dir, "none.yaml")}, "--expect"},
		{"report URL not http", []string{"--report-url", "report.html"}, "want an http:// or https:// URL"},
		{"fault on a real target", []string{"--target", "tcp://127.0.0.1:1", "--fault", "x"}, "--fault applies to the embedded target only"},
		{"unknown flag", []string{"--timeuot", "1s"}, "unknown flag: --timeuot"},
		{"positional argument", []string{"tcp://127.0.0.1:1883"}, `unknown command "tcp://127.0.0.1:1883"`},
		{"no case matches", []string{"--case", "no/such/case"}, "no case matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCLI(t, append([]string{"test", "broker"}, tc.args...)...)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if code != exitUsage || len(lines) != 1 || !strings.HasPrefix(lines[0], "mqttspec: ") || !strings.Contains(lines[0], tc.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit 2 and one line with %q", code, out, tc.want)
			}
		})
	}
}
