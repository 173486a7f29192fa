package broker

// flowFaults are the faults of packet identifiers, the QoS 1 and 2 flows, flow control, shared subscription delivery and unsubscription of in-flight messages.
var flowFaults = []Fault{}
