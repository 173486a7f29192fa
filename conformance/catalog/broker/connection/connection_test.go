package connection

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/spec"
	"github.com/mqttspec/mqttspec/internal/mosquittotest"
	"github.com/mqttspec/mqttspec/reports"
)

// selected returns this package's cases, narrowed by MQTTSPEC_CASES (comma-separated ID
// prefixes or globs) when set, keeping only those for which keep returns true.
func selected(t *testing.T, keep func(conformance.Case) bool) []conformance.Case {
	t.Helper()
	var globs []string
	if s := os.Getenv("MQTTSPEC_CASES"); s != "" {
		globs = strings.Split(s, ",")
	}
	cases, err := conformance.Select(catalog.BrokerCases(), globs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []conformance.Case
	for _, c := range cases {
		if keep == nil || keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func run(t *testing.T, tg *conformance.Target, cases []conformance.Case) *reports.Results {
	t.Helper()
	r := &conformance.Runner{Target: tg, Parallel: 4}
	res, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		if c.Status != reports.Pass {
			t.Logf("%s [%s] %s: %s", c.Status, c.Version, c.ID, c.Message)
			if os.Getenv("MQTTSPEC_TRANSCRIPT") != "" && c.Status != reports.Skip {
				for _, e := range c.Transcript {
					t.Logf("    %8.1fms %-8s %-4s %s %s", e.TMs, e.Conn, e.Dir, e.Packet, e.Hex)
				}
			}
		}
	}
	t.Logf("summary %+v", res.Summary)
	return res
}

// TestAgainstMosquitto runs the connection cases against a real mosquitto. mosquitto 2.0 is not
// spec-exact everywhere, so failures are logged, not asserted; errors (the harness could not
// judge) fail the test.
func TestAgainstMosquitto(t *testing.T) {
	m := mosquittotest.Start(t)
	res := run(t, &conformance.Target{Name: "mosquitto " + m.Version, URL: "tcp://" + m.Addr}, selected(t, nil))
	for _, c := range res.Cases {
		if c.Status == reports.Error {
			t.Errorf("harness error in %s [%s]: %s", c.ID, c.Version, c.Message)
		}
	}
}

// TestCredentialsAgainstMosquitto runs the cases that need a user with a good and a bad
// password against a mosquitto that requires a password.
func TestCredentialsAgainstMosquitto(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_passwd"); err != nil {
		t.Skip("mosquitto_passwd is not installed")
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", pw, "mqttspec", "right-password").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	// mosquitto started as root drops to its own user, which must be able to read the file.
	for path, mode := range map[string]os.FileMode{filepath.Dir(dir): 0o755, dir: 0o755, pw: 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	m := mosquittotest.Start(t, "allow_anonymous false", "password_file "+pw)
	tg := &conformance.Target{Name: "mosquitto " + m.Version + " (password)", URL: "tcp://" + m.Addr,
		Username: "mqttspec", Password: "right-password", BadPassword: "wrong-password"}
	cases := selected(t, func(c conformance.Case) bool { return slices.Contains(c.Requires, conformance.FeatureCredentials) })
	if len(cases) == 0 {
		t.Skip("no credential cases selected")
	}
	res := run(t, tg, cases)
	for _, c := range res.Cases {
		if c.Status == reports.Skip || c.Status == reports.Error {
			t.Errorf("%s [%s] did not run: %s %s", c.ID, c.Version, c.Status, c.Message)
		}
	}
}

// TestRegisterSplitsCollidingIDs checks the rule register applies: a case running on both
// versions is split when an ID meant for one version names a statement of the other.
func TestRegisterSplitsCollidingIDs(t *testing.T) {
	tests := []struct {
		name     string
		s311, s5 []string
		split    bool
	}{
		{"same ID in both", ids("MQTT-3.12.4-1"), ids("MQTT-3.12.4-1"), false},
		{"IDs that exist only in their own version", ids("MQTT-4.8.0-1"), ids("MQTT-4.13.1-1"), false},
		{"5.0 ID names another 3.1.1 statement", ids("MQTT-3.1.2-24"), ids("MQTT-3.1.2-22"), true},
		{"3.1.1 ID names another 5.0 statement", ids("MQTT-3.2.2-5"), ids("MQTT-3.2.2-7"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collides(tt.s311, tt.s5, spec.V311) || collides(tt.s5, tt.s311, spec.V5)
			if got != tt.split {
				t.Errorf("collision = %t, want %t", got, tt.split)
			}
		})
	}
}

// TestCasesCiteTheirVersion checks that each split half cites only statements of its own
// version, and that the catalog has no case left without statements for a version it runs on.
func TestCasesCiteTheirVersion(t *testing.T) {
	cases := catalog.BrokerCases()
	if len(cases) < 60 {
		t.Fatalf("%d cases registered, expected the whole connection area", len(cases))
	}
	for _, c := range cases {
		for _, v := range c.Versions.List() {
			if len(c.StatementsFor(v)) == 0 {
				t.Errorf("%s runs on %s but cites no statement of it", c.ID, v)
			}
		}
		if strings.HasSuffix(c.ID, "-v311") || strings.HasSuffix(c.ID, "-v5") {
			sv := spec.V311
			if strings.HasSuffix(c.ID, "-v5") {
				sv = spec.V5
			}
			for _, id := range c.Statements {
				if !spec.Exists(sv, id) {
					t.Errorf("%s cites %s, which %s does not have", c.ID, id, sv)
				}
			}
		}
	}
}
