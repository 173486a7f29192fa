package client_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
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
			checkKnown(t, name, res)
			noMustWarns(t, name, res)
		})
	}
}

// noMustWarns fails the test for a warn on a MUST case: a MUST either holds or fails.
func noMustWarns(t *testing.T, name string, res *reports.Results) {
	must := map[string]bool{}
	for _, cs := range catalog.ClientCases() {
		must[cs.ID] = cs.Level == conformance.Must
	}
	for _, c := range res.Cases {
		if c.Status == reports.Warn && must[c.ID] {
			t.Errorf("%s: MUST case %s [%s] ended as warn: %s", name, c.ID, c.Version, c.Message)
		}
	}
}

// knownVerdicts pins what a third-party client scores with this catalog, for the version of
// the programs named in the driver's description: the verdict of every case run that is not a
// pass ("ID@version"); every other run must pass. A verdict that changes — a new finding, a
// fixed bug, a case that flips between runs — fails the test, to be explained in docs/clients.
// With another version of the programs the verdicts are only logged.
var knownVerdicts = map[string]struct {
	version  string
	verdicts map[string]reports.Status
}{
	"mosquitto": {version: "mosquitto_pub version 2.0.11", verdicts: map[string]reports.Status{
		// 13 fail
		"3.12/server-keep-alive@5.0":              reports.Fail,
		"3.2/session-present-without-session@5.0": reports.Fail,
		"3.3/response-topic-wildcard@5.0":         reports.Fail,
		"3.3/topic-alias-accepted@5.0":            reports.Fail,
		"4.7/filter-empty@3.1.1":                  reports.Fail,
		"4.7/filter-empty@5.0":                    reports.Fail,
		"4.7/shared-no-filter@5.0":                reports.Fail,
		"4.7/shared-share-name-empty@5.0":         reports.Fail,
		"4.8/connack-reserved-flags@3.1.1":        reports.Fail,
		"4.8/puback-reserved-flags@3.1.1":         reports.Fail,
		"4.8/publish-topic-wildcard@3.1.1":        reports.Fail,
		"4.8/second-connack@3.1.1":                reports.Fail,
		"4.8/suback-reserved-flags@3.1.1":         reports.Fail,
		// 19 warn
		"4.13/connack-reserved-flags@5.0":                   reports.Warn,
		"4.13/connack-unrequested-auth-method@5.0":          reports.Warn,
		"4.13/packet-type-0-disconnect@5.0":                 reports.Warn,
		"4.13/puback-reserved-flags@5.0":                    reports.Warn,
		"4.13/publish-above-maximum-packet-size@5.0":        reports.Warn,
		"4.13/publish-above-receive-maximum-disconnect@5.0": reports.Warn,
		"4.13/publish-packet-id-zero-disconnect@5.0":        reports.Warn,
		"4.13/publish-qos3-disconnect@5.0":                  reports.Warn,
		"4.13/publish-topic-alias-above-maximum@5.0":        reports.Warn,
		"4.13/publish-topic-alias-unknown-disconnect@5.0":   reports.Warn,
		"4.13/publish-topic-alias-zero-disconnect@5.0":      reports.Warn,
		"4.13/publish-topic-ill-formed-utf8-disconnect@5.0": reports.Warn,
		"4.13/publish-topic-nul-disconnect@5.0":             reports.Warn,
		"4.13/publish-topic-wildcard@5.0":                   reports.Warn,
		"4.13/pubrel-reserved-flags-disconnect@5.0":         reports.Warn,
		"4.13/remaining-length-five-bytes-disconnect@5.0":   reports.Warn,
		"4.13/second-connack@5.0":                           reports.Warn,
		"4.13/suback-reserved-flags@5.0":                    reports.Warn,
		"4.13/unexpected-auth@5.0":                          reports.Warn,
		// 37 skip
		"4.13/puback-reserved-flags-disconnect@5.0":             reports.Skip,
		"3.1/auth-before-connack@5.0":                           reports.Skip,
		"3.10/unsubscribe-packet@3.1.1":                         reports.Skip,
		"3.10/unsubscribe-packet@5.0":                           reports.Skip,
		"3.15/auth-reserved-flags@5.0":                          reports.Skip,
		"3.2/assigned-client-id@5.0":                            reports.Skip,
		"3.2/session-present-0-discards-session@5.0":            reports.Skip,
		"3.3/receive-maximum-keeps-pinging@5.0":                 reports.Skip,
		"4.13/connack-reserved-flags-disconnect@5.0":            reports.Skip,
		"4.13/connack-unrequested-auth-method-disconnect@5.0":   reports.Skip,
		"4.13/publish-above-maximum-packet-size-disconnect@5.0": reports.Skip,
		"4.13/publish-topic-alias-above-maximum-disconnect@5.0": reports.Skip,
		"4.13/publish-topic-wildcard-disconnect@5.0":            reports.Skip,
		"4.13/second-connack-disconnect@5.0":                    reports.Skip,
		"4.13/suback-reserved-flags-disconnect@5.0":             reports.Skip,
		"4.13/unexpected-auth-disconnect@5.0":                   reports.Skip,
		"4.3/packet-ids-unique-in-flight@3.1.1":                 reports.Skip,
		"4.3/packet-ids-unique-in-flight@5.0":                   reports.Skip,
		"4.3/qos2-ids-unique-until-pubcomp@3.1.1":               reports.Skip,
		"4.3/qos2-ids-unique-until-pubcomp@5.0":                 reports.Skip,
		"4.4/no-resend-after-clean-start@3.1.1":                 reports.Skip,
		"4.4/no-resend-after-clean-start@5.0":                   reports.Skip,
		"4.4/puback-error-not-resent@5.0":                       reports.Skip,
		"4.4/pubrel-resent-after-reconnect@3.1.1":               reports.Skip,
		"4.4/pubrel-resent-after-reconnect@5.0":                 reports.Skip,
		"4.4/qos1-resent-after-reconnect@3.1.1":                 reports.Skip,
		"4.4/qos1-resent-after-reconnect@5.0":                   reports.Skip,
		"4.4/qos2-publish-resent-after-reconnect@3.1.1":         reports.Skip,
		"4.4/qos2-publish-resent-after-reconnect@5.0":           reports.Skip,
		"4.4/resent-in-order@3.1.1":                             reports.Skip,
		"4.4/resent-in-order@5.0":                               reports.Skip,
		"4.6/pubrel-order@3.1.1":                                reports.Skip,
		"4.6/pubrel-order@5.0":                                  reports.Skip,
		"4.7/filter-nul@3.1.1":                                  reports.Skip,
		"4.7/filter-nul@5.0":                                    reports.Skip,
		"4.7/publish-topic-nul@3.1.1":                           reports.Skip,
		"4.7/publish-topic-nul@5.0":                             reports.Skip,
	}},
}

// checkKnown compares a run with its knownVerdicts entry, when there is one for the programs'
// version.
func checkKnown(t *testing.T, name string, res *reports.Results) {
	k, ok := knownVerdicts[name]
	if !ok || os.Getenv("MQTTSPEC_CASES") != "" {
		return
	}
	if !strings.Contains(res.Target.URL, k.version) {
		t.Logf("%s: the verdicts are pinned for %s; this is %s", name, k.version, res.Target.URL)
		return
	}
	seen := map[string]bool{}
	for _, c := range res.Cases {
		key := c.ID + "@" + c.Version
		seen[key] = true
		want, listed := k.verdicts[key]
		if !listed {
			want = reports.Pass
		}
		if c.Status != want {
			t.Errorf("%s: %s is %s, known %s: %s", name, key, c.Status, want, c.Message)
		}
	}
	for key := range k.verdicts {
		if !seen[key] {
			t.Errorf("%s: %s is pinned but did not run", name, key)
		}
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
