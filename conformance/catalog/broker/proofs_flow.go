package broker

// flowFaultCases are the FaultCases entries of the reference broker's flow faults
// (reference/broker/faults_flow.go).
var flowFaultCases = map[string][]string{
	"packet-id-zero-accepted":                {"2.3/subscribe-packet-id-zero", "2.3/unsubscribe-packet-id-zero", "2.3/publish-qos1-packet-id-zero"},
	"no-subscribers-0x11":                    {"3.4/puback-reason-without-subscribers", "3.5/pubrec-reason-without-subscribers"},
	"unsuback-per-filter":                    {"3.10/several-filters-one-unsuback"},
	"unsubscribe-drops-inflight":             {"3.10/inflight-qos1-resent-after-unsubscribe", "3.10/inflight-qos2-completed@5.0"},
	"pubrel-resent-as-publish":               {"4.4/pubrel-resent-on-reconnect"},
	"inflight-expired-on-resume":             {"4.3/qos2-sender-no-expiry-after-send"},
	"refused-qos2-id-kept":                   {"4.3/qos2-refused-id-is-new-again"},
	"qos2-state-expires-with-message":        {"4.3/qos2-receiver-completes-after-expiry"},
	"repeated-pubrel-ignored":                {"3.7/pubrel-repeated-gets-pubcomp"},
	"shared-refused-rerouted":                {"4.8/shared-refused-ack-not-redelivered"},
	"receive-maximum-off-by-one":             {"4.9/receive-maximum-respected"},
	"control-packets-wait-for-quota":         {"4.9/other-packets-at-zero-quota", "3.3/receive-maximum-does-not-delay-other-packets"},
	"unsuback-without-property-length":       {"2.3/unsuback-carries-unsubscribe-id@5.0"},
	"downgraded-qos0-keeps-packet-id":        {"2.3/qos0-delivery-has-no-packet-id"},
	"shared-inflight-rerouted-on-disconnect": {"4.8/shared-qos2-completed-to-same-member", "4.8/shared-qos2-not-rerouted-after-session-end"},
	"pubrel-echoes-pubrec-reason":            {"3.6/pubrel-after-pubrec-0x10"},
}
