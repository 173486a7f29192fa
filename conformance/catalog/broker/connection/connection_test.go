package connection

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/spec"
	"github.com/mqttspec/mqttspec/internal/mosquittotest"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reference/broker/scram"
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

// TestAgainstReferenceBroker runs the connection cases against the reference broker, which
// aims to follow the specification exactly: every case must pass or skip.
func TestAgainstReferenceBroker(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	res := run(t, &conformance.Target{Name: "reference", URL: "tcp://" + addr}, selected(t, nil))
	for _, c := range res.Cases {
		known := knownReferenceBugs[c.ID+"@"+c.Version]
		switch {
		case c.Status == reports.Fail && known != "":
			t.Logf("known reference broker bug, %s [%s]: %s", c.ID, c.Version, known)
		case c.Status != reports.Pass && c.Status != reports.Skip:
			t.Errorf("%s [%s] %s: %s", c.ID, c.Version, c.Status, c.Message)
		case known != "":
			t.Logf("%s [%s] passes now: remove it from knownReferenceBugs", c.ID, c.Version)
		}
	}
}

// knownReferenceBugs are reference broker bugs the cases found (case ID@version → the bug), kept
// here until the broker is fixed so that this test keeps guarding every other case.
var knownReferenceBugs = map[string]string{
	"3.1/will-discarded-by-disconnect-not-reused-v5@5.0": "a will discarded by DISCONNECT 0x00 stays in the v5 session and is published when the resumed connection (CONNECT without will) closes abnormally (MQTT-3.1.2-10)",
}

// TestAuthAgainstReferenceBroker runs the cases that need credentials or enhanced
// authentication against a reference broker with a user table and SCRAM-SHA-256.
func TestAuthAgainstReferenceBroker(t *testing.T) {
	users := map[string]string{"mqttspec": "right-password"}
	method, err := broker.SCRAMSHA256(users)
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, broker.Options{Users: users, AuthMethods: map[string]broker.AuthMethod{"SCRAM-SHA-256": method}})
	// One SCRAM client serves every exchange: its client-first message (and nonce) is fixed, so
	// the answer to a server-first message depends on nothing else. Final records the last
	// exchange in the client, hence the lock.
	cl := &scram.Client{User: "mqttspec", Password: "right-password"}
	initial := cl.First()
	var mu sync.Mutex
	tg := &conformance.Target{Name: "reference (auth)", URL: "tcp://" + addr,
		Username: "mqttspec", Password: "right-password", BadPassword: "wrong-password",
		AuthMethod: "SCRAM-SHA-256", AuthInitial: initial,
		AuthStep: func(challenge []byte) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			return cl.Final(challenge)
		}}
	cases := selected(t, func(c conformance.Case) bool {
		return slices.Contains(c.Requires, conformance.FeatureCredentials) || slices.Contains(c.Requires, conformance.FeatureEnhancedAuth)
	})
	res := run(t, tg, cases)
	for _, c := range res.Cases {
		if c.Status != reports.Pass {
			t.Errorf("%s [%s] %s: %s", c.ID, c.Version, c.Status, c.Message)
		}
	}
}

// faultCatches lists, for each reference-broker fault in this area, cases that must fail when
// the fault is switched on (mutation testing of the cases).
var faultCatches = map[string][]string{
	"no-second-connect-check":    {"3.1/second-connect-is-protocol-error", "3.1/will-on-protocol-error"},
	"session-present-always-0":   {"3.2/session-present-1-on-resume", "3.1/takeover-keeps-session"},
	"clean-start-ignored":        {"3.2/session-present-0-on-clean-start", "3.1/clean-start-discards-session"},
	"assigned-client-id-missing": {"3.1/empty-client-id-assigned", "3.1/empty-client-id-unique"},
	"keepalive-not-enforced":     {"3.1/keepalive-enforced", "3.1/will-on-keepalive-timeout"},
	"will-on-normal-disconnect":  {"3.14/disconnect-discards-will"},
	"will-delay-ignored":         {"3.1/will-delay-honoured", "3.1/will-delay-cancelled-by-reconnect"},
	"will-retain-ignored":        {"3.1/will-retain-1-retained"},
	"user-properties-reordered":  {"3.1/will-properties-forwarded"},
	// The fault leaves the CONNECT parser alone, so 2.1/reserved-flags-connect is not listed.
	"reserved-flags-accepted": {"2.1/reserved-flags-pub", "2.1/reserved-flags-subscribe", "2.1/reserved-flags-unsubscribe",
		"2.1/reserved-flags-pingreq", "3.14/disconnect-reserved-flags-publishes-will"},
	"pingreq-ignored":           {"3.12/pingreq-keeps-connection-alive", "3.12/pingreq-pipelined"},
	"wrong-packet-id-in-puback": {"2.3/puback-carries-publish-id"},
}

// TestReferenceBrokerFaults switches on each fault in turn and checks that the cases written for
// that behaviour fail: a case that still passes does not test what it claims.
func TestReferenceBrokerFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault runs take a while")
	}
	for fault, prefixes := range faultCatches {
		t.Run(fault, func(t *testing.T) {
			addr := brokertest.Start(t, broker.Options{Faults: []string{fault}})
			// A base ID also names its per-version halves (-v311, -v5).
			var patterns []string
			for _, p := range prefixes {
				patterns = append(patterns, p, p+"-v311", p+"-v5")
			}
			cases, err := conformance.Select(catalog.BrokerCases(), patterns, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(cases) == 0 {
				t.Fatalf("no case matches %v", prefixes)
			}
			r := &conformance.Runner{Target: &conformance.Target{Name: "reference+" + fault, URL: "tcp://" + addr}, Parallel: 4}
			res, err := r.Run(context.Background(), cases)
			if err != nil {
				t.Fatal(err)
			}
			failedByID := map[string]bool{}
			for _, c := range res.Cases {
				if c.Status == reports.Fail {
					failedByID[strings.TrimSuffix(strings.TrimSuffix(c.ID, "-v311"), "-v5")] = true
					t.Logf("caught [%s] %s: %s", c.Version, c.ID, c.Message)
				}
			}
			for _, c := range cases {
				base := strings.TrimSuffix(strings.TrimSuffix(c.ID, "-v311"), "-v5")
				if !failedByID[base] {
					t.Errorf("%s passed with fault %s switched on", c.ID, fault)
				}
			}
		})
	}
}

// areaSections are the statement sections this package is responsible for.
var areaSections = []string{"1.5.", "2.", "3.1.", "3.2.", "3.12.", "3.14.", "3.15.", "4.12.", "4.13.", "4.8.0"}

// TestAreaCoverage logs which wire-testable statements binding the server in this area's
// sections the cases of this package cite, per version, and which they do not.
func TestAreaCoverage(t *testing.T) {
	perSection := map[string]map[string]bool{}
	all := catalog.BrokerCases()
	for _, c := range all {
		base := strings.TrimSuffix(strings.TrimSuffix(c.ID, "-v311"), "-v5")
		if perSection[c.Section()] == nil {
			perSection[c.Section()] = map[string]bool{}
		}
		perSection[c.Section()][base] = true
	}
	for _, sec := range slices.Sorted(maps.Keys(perSection)) {
		t.Logf("section %s: %d cases", sec, len(perSection[sec]))
	}
	t.Logf("%d registrations (cases split per version count twice)", len(all))
	for _, v := range []string{spec.V311, spec.V5} {
		cited := map[string]bool{}
		for _, c := range catalog.BrokerCases() {
			for _, cv := range c.Versions.List() {
				if cv.String() == v {
					for _, id := range c.StatementsFor(cv) {
						cited[id] = true
					}
				}
			}
		}
		var testable, covered int
		var missing []string
		for _, s := range spec.ByVersion(v) {
			if !s.Testable || !s.InAppendixB() || s.Role == spec.Client ||
				!slices.ContainsFunc(areaSections, func(p string) bool { return strings.HasPrefix(s.Section+".", p) }) {
				continue
			}
			testable++
			if cited[s.ID] {
				covered++
			} else {
				missing = append(missing, s.ID)
			}
		}
		t.Logf("%s: %d of %d server/both testable statements of the area cited; not cited: %v", v, covered, testable, missing)
	}
}
