package broker

// sessionFaultCases are the FaultCases entries of the reference broker's session faults
// (reference/broker/faults_session.go).
var sessionFaultCases = map[string][]string{
	"client-id-over-22-refused":             {"3.1/client-id-23-alphanumeric-accepted"},
	"session-expired-while-connected":       {"4.1/session-kept-while-connected"},
	"disconnect-sent-twice":                 {"3.1/client-takeover@5.0", "3.1/second-connect-is-protocol-error@5.0"},
	"disconnect-without-close":              {"3.1/client-takeover@5.0", "3.1/second-connect-is-protocol-error@5.0"},
	"takeover-keeps-old-connection":         {"3.1/client-takeover@3.1.1", "3.1/takeover-keeps-session@3.1.1", "3.1/takeover-publishes-will"},
	"empty-client-id-refusal-left-open":     {"3.1/empty-client-id-assigned"},
	"assigned-client-id-per-host":           {"3.1/empty-client-id-unique@5.0"},
	"clean-start-0-unknown-session-refused": {"3.2/session-present-0-without-session@5.0", "3.1/clean-start-discards-session@5.0"},
	"retained-deleted-with-session":         {"3.1/retained-survives-session-end"},
	"session-keyed-by-connection":           {"3.2/session-present-1-on-resume", "3.1/takeover-keeps-session", "3.1/client-takeover"},
}
