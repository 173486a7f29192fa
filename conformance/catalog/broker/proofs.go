package broker

import (
	"github.com/mqttspec/mqttspec/conformance/spec"
	refbroker "github.com/mqttspec/mqttspec/reference/broker"
)

// FaultCases maps every fault of the reference broker (reference/broker Faults) to the cases that
// must fail because of it: with the fault switched on, each listed case fails on every version it
// runs on. An entry "ID@3.1.1" or "ID@5.0" requires the failure on that version only, for a fault
// that breaks one version's behaviour (or a case whose other version cannot see it). The cases
// are the most direct ones, not every case the fault happens to break. TestFaultsAreCaught
// (faults_test.go) runs every entry, so `mqttspec list` and run coverage may count a statement
// the fault breaks (its Statements) as proven through these cases. The entries are kept in one
// table per area of the reference broker's faults (proofs_*.go).
var FaultCases = joinCases(faultCases, connectFaultCases, sessionFaultCases, capabilityFaultCases, flowFaultCases)

// joinCases merges the area tables of FaultCases. A fault in two tables is a programming mistake
// that would make one entry silently win, so it stops the package at initialisation, which every
// test of the package shows.
func joinCases(tables ...map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, t := range tables {
		for name, ids := range t {
			if _, dup := out[name]; dup {
				panic("FaultCases: fault " + name + " in two area tables")
			}
			out[name] = ids
		}
	}
	return out
}

// faultCases are the entries of the faults in reference/broker/faults.go.
var faultCases = map[string][]string{
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
	"utf8-unchecked": {"3.3/topic-name-invalid-utf8-closes", "1.5/utf8-string-pair-ill-formed@5.0",
		"3.3/response-topic-invalid-utf8-closes", "3.3/content-type-invalid-utf8-closes"},
	"utf8-null-accepted":                   {"1.5/utf8-null-in-topic-name", "4.7/null-character-in-filter-closes"},
	"wildcard-topic-name-accepted":         {"3.3/topic-name-plus-wildcard-closes", "4.7/wildcard-in-topic-name-hash-closes"},
	"empty-topic-accepted":                 {"4.7/empty-topic-name-closes", "4.7/empty-filter-refused"},
	"misplaced-hash-accepted":              {"4.7/invalid-filter-hash-inside-level", "4.7/invalid-filter-hash-not-last-level"},
	"partial-plus-accepted":                {"4.7/invalid-filter-plus-inside-level-before", "4.7/invalid-filter-plus-inside-level-after"},
	"subscribe-without-filters-accepted":   {"3.8/no-topic-filter-closes"},
	"unsubscribe-without-filters-accepted": {"3.10/no-topic-filter-closes"},
	"subscription-options-unchecked":       {"3.8/reserved-option-bits-close", "3.8/qos-3-closes"},
	"no-local-on-shared-accepted":          {"3.8/no-local-on-shared-closes"},
	"publish-qos3-accepted":                {"3.3/qos-3-closes"},
	"topic-alias-zero-accepted":            {"3.3/topic-alias-zero-closes"},
	"response-topic-wildcard-accepted":     {"3.3/response-topic-wildcard-closes"},
	"share-name-unchecked":                 {"4.8/invalid-empty-share-name", "4.8/invalid-no-filter-after-share-name"},
	"disconnect-flags-unchecked":           {"3.14/disconnect-reserved-flags-publishes-will"},
	"auth-flags-unchecked":                 {"3.15/auth-reserved-flags"},
	"will-not-stored":                      {"3.1/will-published-on-abnormal-close", "3.1/will-on-protocol-error", "3.1/will-delay-honoured@5.0"},
	"will-retain-0-retained":               {"3.1/will-retain-0-not-retained"},
	"will-kept-for-next-connection":        {"3.1/will-discarded-by-disconnect-not-reused", "3.1/will-removed-after-publish"},
	"retain-0-stored":                      {"3.3/retain-0-not-stored", "3.3/retain-0-does-not-replace"},
	"retained-not-replaced":                {"3.3/retained-replaced-by-newer"},
	"retained-qos0-not-replacing":          {"3.3/retained-qos0-discards-previous"},
	"retain-as-published-ignored":          {"3.3/retain-as-published-1", "3.8/retain-as-published-1"},
	"payload-format-dropped":               {"3.3/payload-format-indicator-forwarded"},
	"content-type-dropped":                 {"3.3/content-type-forwarded"},
	"response-topic-dropped":               {"3.3/response-topic-forwarded"},
	"wrong-packet-id-in-suback":            {"3.8/suback-carries-packet-id", "2.3/suback-carries-subscribe-id"},
	"wrong-packet-id-in-unsuback":          {"2.3/unsuback-carries-unsubscribe-id", "3.10/unsuback-carries-packet-id"},
	"subscribe-no-suback":                  {"3.8/suback-carries-packet-id"},
	"refused-connack-session-present":      {"3.2/refused-connack-session-present-0"},
	"dup-set-when-downgraded-to-qos0":      {"3.3/dup-0-when-downgraded-to-qos0"},
	"subscription-ids-first-only":          {"3.3/subscription-ids-overlapping", "3.8/subscription-ids-overlapping"},
	"response-information-unrequested":     {"3.2/no-response-information-unless-requested"},
	"topic-alias-maximum-exceeded":         {"3.1/topic-alias-maximum-1", "3.1/topic-alias-maximum-0-explicit"},
	"session-present-always-1":             {"3.2/session-present-0-on-clean-start", "3.2/session-present-0-without-session"},
	"empty-client-ids-share-one":           {"3.1/empty-client-id-unique@3.1.1"},
	"resubscribe-keeps-old-qos":            {"3.8/resubscribe-replaces-qos"},
	"resubscribe-no-retained":              {"3.8/resubscribe-resends-retained@5.0", "3.3/retain-handling-0-sends-on-every-subscribe"},
	"topic-matching-case-insensitive":      {"4.7/case-sensitive"},
	"topic-bom-stripped":                   {"1.5/utf8-bom-not-stripped"},
	"long-topic-dropped":                   {"4.7/longest-topic-delivered"},
	"offline-sessions-skipped":             {"4.5/offline-session-receives-queued"},
	"takeover-disconnect-normal":           {"3.1/client-takeover@5.0"},
	"takeover-disconnect-session-expiry":   {"3.1/client-takeover@5.0"},
	"unsuback-first-reason-only":           {"3.10/several-filters-one-unsuback@5.0"},
	"suback-first-reason-only":             {"3.8/several-filters-one-suback", "3.8/several-filters-all-active"},
	"will-properties-dropped":              {"3.1/will-properties-forwarded"},
	"qos1-not-acknowledged":                {"4.3/qos1-receiver-puback"},
	"problem-info-0-ignored":               {"3.2/no-reason-string-unless-allowed"},
	"diagnostics-exceed-maximum-packet-size": {"3.2/connack-within-maximum-packet-size", "3.4/puback-within-maximum-packet-size",
		"3.5/pubrec-within-maximum-packet-size", "3.6/pubrel-within-maximum-packet-size", "3.7/pubcomp-within-maximum-packet-size",
		"3.9/suback-within-maximum-packet-size", "3.11/unsuback-within-maximum-packet-size", "4.12/auth-within-maximum-packet-size",
		"4.13/disconnect-within-maximum-packet-size"},
	"session-not-resumed":           {"3.2/session-present-1-on-resume", "4.1/queued-messages-delivered-on-reconnect"},
	"subscription-id-sticky":        {"3.8/subscription-id-absent-without-one"},
	"unsuback-no-subscription-0x10": {"3.11/no-subscription-existed-0x11"},
	"takeover-disconnect-0x85":      {"3.1/client-takeover@5.0"},
	"pubcomp-unknown-id-0x80":       {"3.7/pubrel-repeated-gets-pubcomp@5.0"},
	"outbound-packet-id-always-1":   {"4.3/sender-packet-ids-unused"},
	"retained-empty-stored":         {"3.3/retained-empty-payload-not-stored"},
	"qos2-id-kept-after-pubcomp":    {"4.3/qos2-id-reusable-after-pubcomp"},
	"puback-error-ignored":          {"4.4/puback-error-not-resent@5.0"},
	"pubrec-error-taken-as-success": {"4.3/client-pubrec-error-ends-flow", "4.4/pubrec-error-not-resent"},
	"qos1-dup-dropped":              {"4.3/qos1-id-reusable-after-puback"},
	"shared-qos-not-downgraded":     {"4.8/shared-one-member-per-message"},
	"qos0-sent-with-dup":            {"4.3/qos0-delivered-dup0-without-packet-id"},
}

// Proofs joins FaultCases with the statements each fault breaks, in the order of the reference
// broker's Faults.
func Proofs() []spec.Proof {
	var out []spec.Proof
	for _, f := range refbroker.Faults {
		out = append(out, spec.Proof{Fault: f.Name, Statements: f.Statements, Cases: FaultCases[f.Name]})
	}
	return out
}

func init() { spec.RegisterProofs(spec.Server, Proofs()...) }
