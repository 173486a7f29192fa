package broker

// flowFaultCases are the FaultCases entries of the reference broker's flow faults
// (reference/broker/faults_flow.go).
var flowFaultCases = map[string][]string{}
