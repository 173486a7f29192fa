package broker

// connectFaultCases are the FaultCases entries of the reference broker's connect faults
// (reference/broker/faults_connect.go).
var connectFaultCases = map[string][]string{
	"connect-protocol-name-unchecked":            {"3.1/protocol-name-invalid"},
	"connect-reserved-flag-accepted":             {"3.1/reserved-flag-set"},
	"connect-trailing-bytes-accepted":            {"3.1/connect-bytes-after-payload", "3.1/connect-trailing-bytes@3.1.1"},
	"unknown-protocol-level-as-311":              {"3.1/protocol-level-unsupported"},
	"unknown-protocol-level-as-5":                {"3.1/protocol-level-unsupported-0x84"},
	"refused-connection-left-open":               {"3.1/bad-password-refused", "3.2/refused-connack-session-present-0", "3.1/protocol-level-unsupported"},
	"refused-connect-keeps-processing":           {"3.1/rejected-connect-stops-processing"},
	"malformed-connect-answered-with-disconnect": {"3.1/reserved-flag-set@5.0", "3.1/connect-truncated@5.0", "3.1/connect-trailing-bytes@5.0"},
	"v5-refusal-with-v311-return-code":           {"3.1/bad-password-refused@5.0"},
	"connack-after-pipelined-packets":            {"3.2/connack-is-first-packet"},
	"password-not-checked":                       {"3.1/bad-password-refused"},
	"connack-resumed-flag-bit-1":                 {"3.2/connack-reserved-bits-zero"},
	"will-with-user-name-refused":                {"3.1/valid-connect-all-fields-accepted"},
	"publish-length-four-bytes":                  {"1.5/server-vbi-minimal"},
}
