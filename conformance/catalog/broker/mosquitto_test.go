package broker_test

import (
	"context"
	"os"
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
// The test asserts that the harness itself worked (no error status) and that the verdicts on
// the documented deviations have not silently changed.
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
