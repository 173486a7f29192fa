package broker_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reports"
)

// faultCatches maps every fault of the reference broker (broker.Faults) to the cases that must
// fail because of it: with the fault switched on, each listed case fails on every version it runs
// on. An entry "ID@3.1.1" or "ID@5.0" requires the failure on that version only, for a fault
// that breaks one version's behaviour (or a case whose other version cannot see it). The cases
// are the most direct ones, not every case the fault happens to break.
var faultCatches = map[string][]string{
	"no-second-connect-check":    {"3.1/second-connect-is-protocol-error", "3.1/will-on-protocol-error"},
	"session-present-always-0":   {"3.2/session-present-1-on-resume", "3.1/takeover-keeps-session", "4.1/subscriptions-survive-reconnect"},
	"clean-start-ignored":        {"3.1/clean-start-discards-session", "3.2/session-present-0-on-clean-start"},
	"assigned-client-id-missing": {"3.1/empty-client-id-assigned@5.0", "3.1/empty-client-id-unique@5.0"},
	"retain-empty-not-deleted":   {"3.3/retained-empty-payload-deletes"},
	"retain-flag-always-set": {"3.3/retained-forwarded-live-with-retain-0", "3.8/live-retained-forwarded-with-retain-0",
		"3.3/retained-empty-payload-forwarded"},
	"retained-not-sent-on-subscribe": {"3.3/retained-sent-to-new-subscriber", "3.3/retained-sent-for-each-matching-topic",
		"3.8/retain-handling-0-sends-retained", "3.8/resubscribe-resends-retained"},
	"dup-on-first-delivery": {"3.3/dup-not-propagated-qos1", "3.3/dup-not-propagated-qos2", "4.3/sender-packet-ids-unused"},
	"no-dup-on-redelivery":  {"4.4/qos1-publish-resent-on-reconnect", "4.4/qos2-publish-resent-on-reconnect"},
	"qos-not-downgraded": {"3.3/qos-downgraded-to-granted-qos0", "3.3/qos-downgraded-to-granted-qos1", "3.8/qos-downgraded-2-to-0",
		"3.3/retained-downgraded-to-granted-qos"},
	"suback-wrong-order":            {"3.8/several-filters-one-suback", "3.9/acl-denied-filter-in-order"},
	"wrong-packet-id-in-puback":     {"2.3/puback-carries-publish-id", "4.3/qos1-receiver-puback"},
	"keepalive-not-enforced":        {"3.1/keepalive-enforced", "3.1/will-on-keepalive-timeout"},
	"will-on-normal-disconnect":     {"3.14/disconnect-discards-will", "3.1/will-discarded-by-disconnect-not-reused"},
	"will-delay-ignored":            {"3.1/will-delay-honoured", "3.1/will-delay-cancelled-by-reconnect"},
	"will-retain-ignored":           {"3.1/will-retain-1-retained"},
	"dollar-topics-match-wildcards": {"4.7/dollar-topic-not-matched-by-plus", "4.7/dollar-topic-not-matched-by-hash"},
	"no-local-ignored":              {"3.8/no-local-not-echoed"},
	"topic-alias-not-resolved":      {"3.3/topic-alias-resolved", "3.3/topic-alias-remapped", "3.3/topic-alias-every-value-accepted"},
	"receive-max-ignored": {"4.9/receive-maximum-respected", "3.3/receive-maximum-respected",
		"4.9/receive-maximum-qos2-until-pubcomp"},
	"max-packet-size-ignored":        {"4.13/oversized-publish-not-sent", "4.13/oversized-qos1-treated-as-sent"},
	"message-expiry-not-decremented": {"3.3/message-expiry-decremented"},
	"expired-message-delivered":      {"3.3/message-expiry-expired-not-delivered", "3.3/message-expiry-retained-expired"},
	"user-properties-reordered":      {"3.3/user-properties-forwarded-in-order", "3.1/will-properties-forwarded"},
	"subscription-id-dropped": {"3.3/subscription-id-forwarded", "3.8/subscription-id-delivered", "3.8/subscription-id-on-retained",
		"3.8/subscription-ids-overlapping"},
	"shared-sub-delivers-to-all": {"4.8/shared-one-member-per-message", "4.8/shared-refused-ack-not-redelivered"},
	"reserved-flags-accepted": {"2.1/reserved-flags-subscribe", "2.1/reserved-flags-unsubscribe", "2.1/reserved-flags-pubrel",
		"2.1/reserved-flags-pingreq"},
	"unsubscribe-no-unsuback": {"3.10/unsuback-carries-packet-id", "3.10/unsuback-when-nothing-matched",
		"3.11/no-subscription-existed-0x11"},
	"pingreq-ignored":                {"3.12/pingreq-keeps-connection-alive", "3.12/pingreq-pipelined"},
	"qos2-duplicate-delivery":        {"4.3/qos2-duplicate-before-pubrel-delivered-once"},
	"plus-matches-many-levels":       {"4.7/plus-matches-one-level", "4.7/plus-not-across-levels-in-middle"},
	"hash-skips-parent-level":        {"4.7/hash-matches-parent-level", "4.7/plus-then-hash"},
	"granted-qos-above-requested":    {"3.8/several-filters-one-suback", "3.8/qos-not-upgraded-0-to-1"},
	"wrong-packet-id-in-pubrec":      {"2.3/pubrec-pubcomp-carry-publish-id", "4.3/qos2-receiver-flow"},
	"overlapping-lowest-qos":         {"3.3/overlapping-subscriptions-maximum-qos"},
	"unsubscribe-keeps-subscription": {"3.10/delivery-stops", "3.10/several-filters-one-unsuback", "4.8/shared-unsubscribe"},
	"retained-sent-without-retain":   {"3.3/retained-sent-to-new-subscriber", "3.8/resubscribe-resends-retained"},
	"retained-exact-match-only":      {"3.3/retained-sent-for-each-matching-topic"},
	"retain-handling-ignored": {"3.8/retain-handling-1-existing-subscription", "3.8/retain-handling-2-no-retained",
		"3.3/retain-handling-1-sends-only-on-new-subscription", "3.3/retain-handling-2-never-sends"},
	"session-expiry-ignored":            {"4.1/session-expiry-discards-session"},
	"no-local-drops-all":                {"3.8/no-local-not-echoed"},
	"will-qos-ignored":                  {"3.1/will-qos-honoured"},
	"pubrel-not-resent":                 {"4.4/pubrel-resent-on-reconnect"},
	"inflight-not-resent":               {"4.4/qos1-publish-resent-on-reconnect", "4.4/qos2-publish-resent-on-reconnect", "4.6/order-kept-across-reconnect"},
	"queue-lifo":                        {"4.6/order-kept-across-reconnect", "4.9/receive-maximum-respected"},
	"empty-id-persistent-accepted":      {"3.1/empty-client-id-persistent-refused"},
	"correlation-data-dropped":          {"3.3/correlation-data-forwarded", "3.1/will-properties-forwarded"},
	"packet-ids-restart-per-connection": {"4.4/new-packet-id-not-reused-after-resume"},
	"session-kept-without-expiry": {"4.1/session-expiry-0-ends-with-connection", "3.1/clean-session-not-kept",
		"4.1/disconnect-expiry-0-discards"},
	"disconnect-session-expiry-ignored":   {"4.1/disconnect-expiry-0-discards", "4.1/disconnect-expiry-extends"},
	"topic-alias-kept-across-connections": {"3.3/topic-alias-not-carried-across-connections"},

	// Off-by-factor timing faults, each caught by the case that measures the effect against its
	// statement's bound and the run's timing tolerance.
	"keepalive-2x":           {"3.1/keepalive-enforced"},
	"will-delay-doubled":     {"3.1/will-delay-honoured"},
	"will-delay-halved":      {"3.1/will-delay-honoured"},
	"message-expiry-doubled": {"3.3/message-expiry-expired-not-delivered", "3.3/message-expiry-retained-expired"},
	"session-expiry-doubled": {"4.1/session-expiry-discards-session"},
	"session-expiry-halved":  {"4.1/session-kept-within-expiry"},
}

// catch is one faultCatches entry: a case, and the version it must fail on ("" = every version
// it runs on).
type catch struct {
	id, version string
}

func parseCatch(entry string) catch {
	id, version, _ := strings.Cut(entry, "@")
	return catch{id, version}
}

// checkFaultCatches checks the map itself: every fault has an entry, every entry names a fault,
// and every ID names a case of the catalog that runs on the version the entry requires.
func checkFaultCatches(t *testing.T, byID map[string]conformance.Case) {
	t.Helper()
	known := map[string]bool{}
	for _, f := range broker.Faults {
		known[f.Name] = true
		if len(faultCatches[f.Name]) == 0 {
			t.Errorf("fault %q (%s) has no case in faultCatches", f.Name, f.Summary)
		}
	}
	for name, entries := range faultCatches {
		if !known[name] {
			t.Errorf("faultCatches names %q, which is not a fault of the reference broker", name)
		}
		for _, e := range entries {
			if err := checkCatch(byID, parseCatch(e)); err != "" {
				t.Errorf("faultCatches[%q]: %s", name, err)
			}
		}
	}
}

func casesByID() map[string]conformance.Case {
	byID := map[string]conformance.Case{}
	for _, c := range catalog.BrokerCases() {
		byID[c.ID] = c
	}
	return byID
}

// checkCatch returns what is wrong with an entry, or "".
func checkCatch(byID map[string]conformance.Case, k catch) string {
	c, ok := byID[k.id]
	switch {
	case !ok:
		return "no case " + k.id
	case k.version == "":
		return ""
	case k.version != "3.1.1" && k.version != "5.0":
		return k.id + "@" + k.version + ": the version is 3.1.1 or 5.0"
	case !c.Versions.Has(versionOf(k.version)):
		return k.id + " does not run on " + k.version
	}
	return ""
}

func versionOf(s string) codec.Version {
	if s == "5.0" {
		return codec.V5
	}
	return codec.V311
}

// TestFaultsAreCaught is mutation testing of the catalog: the reference broker is switched into
// each of its deliberate bugs in turn, and the cases faultCatches lists for the bug must fail. A
// listed case that passes does not check what it claims; a fault no case catches is a behaviour
// the catalog does not check. The map is checked in -short mode too; the runs are not.
func TestFaultsAreCaught(t *testing.T) {
	byID := casesByID()
	checkFaultCatches(t, byID)
	if t.Failed() {
		t.FailNow()
	}
	if testing.Short() {
		t.Skip("mutation run skipped in -short mode: it starts one broker per fault")
	}
	for _, f := range broker.Faults {
		t.Run(f.Name, func(t *testing.T) {
			var cases []conformance.Case
			want := map[string]bool{} // ID@version that must fail
			for _, e := range faultCatches[f.Name] {
				k := parseCatch(e)
				c := byID[k.id]
				if !slices.ContainsFunc(cases, func(x conformance.Case) bool { return x.ID == c.ID }) {
					cases = append(cases, c)
				}
				for _, v := range []string{"3.1.1", "5.0"} {
					if (k.version == "" || k.version == v) && c.Versions.Has(versionOf(v)) {
						want[k.id+"@"+v] = true
					}
				}
			}
			res := runWithFault(t, f.Name, cases)
			for _, r := range res.Cases {
				switch {
				case !want[r.Key()]:
				case r.Status == reports.Fail:
					t.Logf("caught by %s: %s", r.Key(), r.Message)
				default:
					t.Errorf("fault %s not caught by %s: %s %s", f.Name, r.Key(), r.Status, r.Message)
				}
				delete(want, r.Key())
			}
			for k := range want {
				t.Errorf("fault %s: %s did not run", f.Name, k)
			}
		})
	}
}

// runWithFault runs cases against the embedded target (with its users and ACL, so that the
// credential and denied-topic cases run) switched into fault.
func runWithFault(t *testing.T, fault string, cases []conformance.Case) *reports.Results {
	t.Helper()
	o := embedded.Options()
	o.Faults = []string{fault}
	tg, stop, err := embedded.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("embedded target with fault %s: %v", fault, err)
	}
	defer stop()
	r := &conformance.Runner{Target: tg, Parallel: 4, Timeouts: conformance.Timeouts{Step: 2 * time.Second}}
	res, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatalf("run with fault %s: %v", fault, err)
	}
	return res
}
