package broker

// capabilityFaultCases are the FaultCases entries of the reference broker's capability faults
// (reference/broker/faults_capability.go).
var capabilityFaultCases = map[string][]string{
	"maximum-qos-not-announced":             {"3.2/maximum-qos-supported"},
	"maximum-qos-subscribe-refused":         {"3.2/maximum-qos-subscribe-accepted"},
	"will-qos-above-maximum-accepted":       {"3.2/will-qos-above-maximum-refused"},
	"will-retain-unavailable-accepted":      {"3.2/will-retain-unavailable-refused"},
	"server-keepalive-not-announced":        {"3.1/keepalive-enforced@5.0"},
	"unauthorized-publish-not-acknowledged": {"3.3/unauthorized-publish-acknowledged-or-closed"},
	"wildcard-unavailable-accepted":         {"3.8/wildcard-unsupported-refused"},
	"shared-unavailable-accepted":           {"3.8/shared-unsupported-refused"},
	"subscription-ids-unavailable-accepted": {"3.8/subscription-ids-unsupported-refused"},
	"suback-failure-v5-code-on-v311":        {"3.9/acl-denied-filter-in-order@3.1.1"},
	"unsupported-auth-method-ignored":       {"4.12/unsupported-auth-method"},
	"auth-continue-reason-unset":            {"4.12/enhanced-auth-success", "4.12/re-authentication"},
	"auth-failure-admits-client":            {"4.12/enhanced-auth-wrong-answer"},
	"auth-success-without-method":           {"4.12/enhanced-auth-success", "4.12/re-authentication"},
	"connack-advertises-auth-method":        {"4.12/no-auth-method-in-connack-unless-asked"},
	"reauth-method-ignored":                 {"4.12/re-authentication-other-method"},
	"auth-reason-code-unchecked":            {"3.15/auth-invalid-reason-code"},
	"websocket-text-frames-accepted":        {"6.0/websocket-text-frame-closes"},
	"websocket-packet-per-frame":            {"6.0/websocket-packets-not-aligned-with-frames"},
	"websocket-subprotocol-not-returned":    {"6.0/websocket-subprotocol-mqtt"},
}
