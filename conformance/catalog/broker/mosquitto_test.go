package broker_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker"
	"github.com/mqttspec/mqttspec/internal/mochitest"
	"github.com/mqttspec/mqttspec/internal/mosquittotest"
	"github.com/mqttspec/mqttspec/reports"
)

// saveResults writes results to $MQTTSPEC_ARTIFACTS/<name>.json when the variable is set (.ci/run
// sets it and renders the comparison report from these files).
func saveResults(t *testing.T, name string, res *reports.Results) {
	dir := os.Getenv("MQTTSPEC_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".json")
	if err := res.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	t.Logf("results written to %s", p)
}

func logNonPass(t *testing.T, res *reports.Results) {
	for _, c := range res.Cases {
		if c.Status != reports.Pass && c.Status != reports.Skip {
			t.Logf("%s [%s] %s: %s", c.Status, c.Version, c.ID, c.Message)
		}
	}
	t.Logf("summary %+v", res.Summary)
}

// TestAgainstMosquitto runs the whole catalog against a real mosquitto (Debian package). mosquitto
// is not expected to pass everything: its failures are examined in docs/brokers/mosquitto.md.
// The test asserts that the harness itself worked (no error status) and that no MUST case ended
// as warn (noMustWarning) whatever mosquitto answered.
func TestAgainstMosquitto(t *testing.T) {
	m := mosquittotest.Start(t)
	r := &conformance.Runner{Target: &conformance.Target{Name: "mosquitto " + m.Version, URL: "tcp://" + m.Addr,
		Info: map[string]string{"implementation": "mosquitto " + m.Version + " (Debian package)"}}, Parallel: 4, Tool: reports.Tool{Name: "mqttspec", Version: "go test"}}
	res, err := r.Run(context.Background(), catalog.BrokerCases())
	if err != nil {
		t.Fatal(err)
	}
	logNonPass(t, res)
	saveResults(t, "mosquitto", res)
	if res.Summary.Error > 0 {
		t.Errorf("%d cases could not be judged against mosquitto", res.Summary.Error)
	}
	noMustWarning(t, "mosquitto", res)
}

// TestAgainstMochi runs the whole catalog against mochi-mqtt in process; its results are noted
// in docs/brokers/mochi.md.
func TestAgainstMochi(t *testing.T) {
	m, err := mochitest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	r := &conformance.Runner{Target: &conformance.Target{Name: "mochi-mqtt " + mochitest.Version, URL: "tcp://" + m.Addr,
		Info: map[string]string{"implementation": "github.com/mochi-mqtt/server/v2 " + mochitest.Version + " in a child process"}}, Parallel: 4, Tool: reports.Tool{Name: "mqttspec", Version: "go test"}}
	res, err := r.Run(context.Background(), catalog.BrokerCases())
	if err != nil {
		t.Fatal(err)
	}
	logNonPass(t, res)
	for _, c := range m.Crashes() {
		t.Logf("mochi crashed (restarted by the test): %s", c)
	}
	saveResults(t, "mochi", res)
	if res.Summary.Error > 0 {
		t.Logf("%d cases could not be judged against mochi (crashes: %d)", res.Summary.Error, len(m.Crashes()))
	}
}

// TestCredentialsAgainstMosquitto runs the cases that need a user with a good and a bad
// password against a mosquitto that requires a password: they must all run (mosquitto's
// verdicts are examined in docs/brokers/mosquitto.md).
func TestCredentialsAgainstMosquitto(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_passwd"); err != nil {
		t.Skip("mosquitto_passwd is not installed")
	}
	dir := worldReadableDir(t)
	pw := filepath.Join(dir, "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", pw, "mqttspec", "right-password").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	if err := os.Chmod(pw, 0o644); err != nil {
		t.Fatal(err)
	}
	m := mosquittotest.Start(t, "allow_anonymous false", "password_file "+pw)
	tg := &conformance.Target{Name: "mosquitto " + m.Version + " (password)", URL: "tcp://" + m.Addr,
		Username: "mqttspec", Password: "right-password", BadPassword: "wrong-password"}
	allRan(t, runOn(t, tg, selectCases(t, requiresAny(conformance.FeatureCredentials))), false)
}

// TestACLAgainstMosquitto runs the cases that need an ACL-denied topic against a mosquitto whose
// ACL lets anonymous clients use everything under mqttspec/ but nothing under denied/.
func TestACLAgainstMosquitto(t *testing.T) {
	if mosquittotest.Binary() == "" {
		t.Skip("mosquitto is not installed")
	}
	acl := filepath.Join(worldReadableDir(t), "acl")
	if err := os.WriteFile(acl, []byte("topic readwrite mqttspec/#\ntopic readwrite $mqttspec/#\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := mosquittotest.Start(t, "acl_file "+acl)
	res := runOn(t, &conformance.Target{Name: "mosquitto " + m.Version + " (ACL)", URL: "tcp://" + m.Addr, DeniedTopic: "denied/topic"}, selectCases(t, aclCases))
	allRan(t, res, false)
}

// worldReadableDir is a temporary directory mosquitto can read: started as root, it reads its
// password and ACL files after dropping to its own user, which cannot enter t.TempDir() (0700).
func worldReadableDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "mqttspec-mosquitto")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
