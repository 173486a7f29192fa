package broker

// sessionFaultCases are the FaultCases entries of the reference broker's session faults
// (reference/broker/faults_session.go).
var sessionFaultCases = map[string][]string{}
