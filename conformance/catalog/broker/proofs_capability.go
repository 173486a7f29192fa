package broker

// capabilityFaultCases are the FaultCases entries of the reference broker's capability faults
// (reference/broker/faults_capability.go).
var capabilityFaultCases = map[string][]string{}
