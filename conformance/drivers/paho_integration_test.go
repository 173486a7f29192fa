package drivers_test

import (
	"context"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/client"
	"github.com/mqttspec/mqttspec/conformance/drivers"
	"github.com/mqttspec/mqttspec/reports"
)

// TestPahoCAndPythonRunCases runs a few client cases against the scripted broker through the
// pahoc and pahopython drivers: connecting, a QoS 1 publish, a subscription and a QoS 1
// delivery must pass, and one finding of each library (docs/clients/pahoc.md, pahopython.md)
// must fail, so that the drivers are shown to reach verdicts both ways. Skipped, with the
// reason, when the programs or the module are not installed.
func TestPahoCAndPythonRunCases(t *testing.T) {
	if testing.Short() {
		t.Skip("starts client programs")
	}
	passing := []string{"3.1/first-packet-connect", "3.14/disconnect-then-close", "4.3/qos1-publish", "3.8/subscribe-packet", "4.3/receive-qos1"}
	for _, tc := range []struct {
		name  string
		ready func() (conformance.Driver, func() error, error)
		// fails is a case run ("ID@version") the library fails, for reasons read in its source.
		fails string
	}{
		{"pahoc", func() (conformance.Driver, func() error, error) {
			d := &drivers.PahoC{}
			return d, func() error { return nil }, d.Available()
		}, "3.1/password-needs-user-name@3.1.1"}, // MQTTPacket_send_connect sets the Password Flag alone
		{"pahopython", func() (conformance.Driver, func() error, error) {
			d := &drivers.PahoPython{}
			return d, d.Close, d.Available()
		}, "4.7/will-topic-wildcard@5.0"}, // will_set checks no wildcard
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, release, err := tc.ready()
			if err != nil {
				t.Skip(err)
			}
			defer release()
			id, version, _ := cut(tc.fails)
			cases, err := conformance.Select(catalog.ClientCases(), append(passing, id), nil)
			if err != nil {
				t.Fatal(err)
			}
			r := &conformance.Runner{Driver: d, Parallel: 2, Timeouts: conformance.Timeouts{Step: 3 * time.Second, Case: 40 * time.Second},
				Tool: reports.Tool{Name: "mqttspec", Version: "test"}}
			res, err := r.Run(context.Background(), cases)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, c := range res.Cases {
				run := c.ID + "@" + c.Version
				seen[run] = true
				want := reports.Pass
				if c.ID == id {
					if c.Version != version {
						continue
					}
					want = reports.Fail
				}
				if c.Status != want {
					t.Errorf("%s: %s (%s), want %s", run, c.Status, c.Message, want)
				}
			}
			for _, p := range passing {
				if !seen[p+"@3.1.1"] || !seen[p+"@5.0"] {
					t.Errorf("%s did not run on both versions (ran: %v)", p, seen)
				}
			}
			if !seen[tc.fails] {
				t.Errorf("%s did not run", tc.fails)
			}
			if res.Target.URL == tc.name || res.Target.URL == "" {
				t.Errorf("target %q does not describe the programs", res.Target.URL)
			}
		})
	}
}

func cut(run string) (id, version string, ok bool) {
	for i := len(run) - 1; i >= 0; i-- {
		if run[i] == '@' {
			return run[:i], run[i+1:], true
		}
	}
	return run, "", false
}
