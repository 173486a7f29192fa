package broker_test

import (
	"context"
	"testing"

	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reports"
)

// deviants are reference brokers with less than every optional capability: each still follows
// the specification, so the whole catalog must pass on it — a failure is a case that assumes a
// capability the target does not announce (or, on 3.1.1, does not grant). mustRun names cases
// that exist for that capability and must run there, not skip.
var deviants = []struct {
	name    string
	set     func(*broker.Options)
	mustRun []string
}{
	{"maximum-qos-1", func(o *broker.Options) { o.MaximumQoS = broker.Ptr[byte](1) },
		[]string{"3.2/maximum-qos-supported@5.0", "3.2/will-qos-above-maximum-refused@5.0"}},
	{"maximum-qos-0", func(o *broker.Options) { o.MaximumQoS = broker.Ptr[byte](0) },
		[]string{"3.2/maximum-qos-supported@5.0", "3.2/will-qos-above-maximum-refused@5.0"}},
	{"retain-unavailable", func(o *broker.Options) { o.RetainAvailable = broker.Ptr(false) },
		[]string{"3.2/will-retain-unavailable-refused@5.0"}},
	{"no-wildcards-subids-shared", func(o *broker.Options) {
		o.WildcardAvailable, o.SubIDAvailable, o.SharedAvailable = broker.Ptr(false), broker.Ptr(false), broker.Ptr(false)
	}, []string{"3.8/wildcard-unsupported-refused@5.0", "3.8/subscription-ids-unsupported-refused@5.0", "3.8/shared-unsupported-refused@5.0"}},
	{"no-topic-aliases", func(o *broker.Options) { o.TopicAliasMaximum = broker.Ptr[uint16](0) }, nil},
	{"maximum-packet-size-2048", func(o *broker.Options) { o.MaxPacketSize = 2048 },
		[]string{"3.2/maximum-packet-size-enforced@5.0"}},
	// 10 s, not less: the suite's own watcher connections send nothing while they wait (up to
	// 5 s), so a Server Keep Alive under ~4 s closes them — an engine limit noted in docs/ci.md.
	{"server-keep-alive-10", func(o *broker.Options) { o.ServerKeepAlive = 10 },
		[]string{"3.1/keepalive-enforced@5.0", "3.1/will-on-keepalive-timeout@5.0"}},
}

// TestDeviantTargets runs the catalog against each reduced reference broker.
func TestDeviantTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("one catalog run per deviant target")
	}
	all := catalog.BrokerCases()
	for _, d := range deviants {
		t.Run(d.name, func(t *testing.T) {
			// Two at a time (GOMAXPROCS here): the runs mostly wait on timers.
			t.Parallel()
			o := embedded.Options()
			d.set(&o)
			tg, stop, err := embedded.Start(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			res := runOn(t, tg, all)
			status := map[string]reports.Status{}
			for _, c := range res.Cases {
				status[c.Key()] = c.Status
				if c.Status == reports.Fail || c.Status == reports.Error || c.Status == reports.Warn {
					t.Errorf("%s [%s] %s on a correct broker with %s: %s", c.ID, c.Version, c.Status, d.name, c.Message)
				}
			}
			for _, key := range d.mustRun {
				if s, ok := status[key]; !ok || s == reports.Skip {
					t.Errorf("%s did not run against %s (%q)", key, d.name, s)
				}
			}
		})
	}
}
