package client_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/drivers"
	"github.com/mqttspec/mqttspec/reports"
)

// TestThirdPartyClients runs the catalog against mosquitto_pub/sub, MQTT.js and the Paho Go
// libraries. It logs every result that is not a pass (their findings are documented in
// docs/clients/) and saves the results to $MQTTSPEC_ARTIFACTS/client-<driver>.json; it asserts
// only that the drivers work: an occasional status error (a client slow to start on a loaded
// machine) is logged, but errors on more than a tenth of the cases mean a broken driver.
// $MQTTSPEC_DRIVERS (comma separated) narrows the drivers.
func TestThirdPartyClients(t *testing.T) {
	if testing.Short() {
		t.Skip("third-party clients take a few minutes")
	}
	only := os.Getenv("MQTTSPEC_DRIVERS")
	for _, name := range []string{"mosquitto", "mqttjs", "paho"} {
		if only != "" && !strings.Contains(","+only+",", ","+name+",") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			d := thirdParty(t, name)
			res := run(t, d, selected(t))
			save(t, res, "client-"+name+".json")
			for _, c := range res.Cases {
				switch c.Status {
				case reports.Pass:
				case reports.Error:
					t.Logf("%s [%s] ERROR: %s\n%s", c.ID, c.Version, c.Message, transcript(c))
				default:
					t.Logf("%s [%s] %s: %s", c.ID, c.Version, c.Status, c.Message)
				}
			}
			t.Logf("%s: %+v", name, res.Summary)
			if res.Summary.Error*10 > len(res.Cases) {
				t.Errorf("%s: %d of %d cases ended in status error: the driver is broken", name, res.Summary.Error, len(res.Cases))
			}
		})
	}
}

func thirdParty(t *testing.T, name string) conformance.Driver {
	t.Helper()
	switch name {
	case "mosquitto":
		m := &drivers.Mosquitto{}
		if err := m.Available(); err != nil {
			t.Skip(err)
		}
		return m
	case "mqttjs":
		m := &drivers.MQTTjs{}
		if err := m.Available(); err != nil {
			t.Skip(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	default:
		if _, err := exec.LookPath("go"); err != nil {
			t.Skip("the paho driver builds its program with go, which is not on PATH")
		}
		p := &drivers.Paho{}
		t.Cleanup(func() { p.Close() })
		if _, err := p.Build(context.Background()); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
