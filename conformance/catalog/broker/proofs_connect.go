package broker

// connectFaultCases are the FaultCases entries of the reference broker's connect faults
// (reference/broker/faults_connect.go).
var connectFaultCases = map[string][]string{}
