package broker

// capabilityFaults are the faults of the capabilities a server announces or is configured with (Maximum QoS, retain, wildcards, subscription identifiers, shared subscriptions, keep alive), authentication, authorization and the WebSocket transport.
var capabilityFaults = []Fault{}
