package publish_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker/publish"
	"github.com/mqttspec/mqttspec/internal/mosquittotest"
	"github.com/mqttspec/mqttspec/reports"
)

// cases returns this package's cases (only this area is imported, so the catalog holds nothing
// else), narrowed by MQTTSPEC_CASES (comma-separated ID globs or prefixes) when set.
func cases(t *testing.T) []conformance.Case {
	t.Helper()
	var globs []string
	if s := os.Getenv("MQTTSPEC_CASES"); s != "" {
		globs = strings.Split(s, ",")
	}
	cs, err := conformance.Select(catalog.BrokerCases(), globs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 {
		t.Fatal("no case selected")
	}
	return cs
}

// TestCatalog checks the definitions: every case validates, IDs are in this area's sections.
func TestCatalog(t *testing.T) {
	sections := []string{"3.3", "3.4", "3.5", "3.6", "3.7", "4.3", "4.4", "4.5", "4.6"}
	for _, c := range catalog.BrokerCases() {
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
		found := false
		for _, s := range sections {
			found = found || c.Section() == s
		}
		if !found {
			t.Errorf("case %s: section %s is not one of this area's %v", c.ID, c.Section(), sections)
		}
	}
}

// TestAgainstMosquitto runs the area against a real mosquitto. mosquitto 2.0 is not
// spec-exact everywhere, so failures are logged (with their message), not asserted; the
// deviations found are listed in docs/brokers/mosquitto.md.
func TestAgainstMosquitto(t *testing.T) {
	m := mosquittotest.Start(t)
	run(t, &conformance.Target{Name: "mosquitto " + m.Version, URL: "tcp://" + m.Addr})
}

func run(t *testing.T, tg *conformance.Target) *reports.Results {
	t.Helper()
	r := &conformance.Runner{Target: tg, Parallel: 4}
	res, err := r.Run(context.Background(), cases(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		if c.Status != reports.Pass || os.Getenv("MQTTSPEC_ALL") != "" {
			t.Logf("%s [%s] %s: %s", c.Status, c.Version, c.ID, c.Message)
			if os.Getenv("MQTTSPEC_TRANSCRIPT") != "" {
				for _, e := range c.Transcript {
					t.Logf("    %8.1fms %-5s %-4s %s", e.TMs, e.Conn, e.Dir, e.Packet)
				}
			}
		}
	}
	t.Logf("summary %+v", res.Summary)
	return res
}
