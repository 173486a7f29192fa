package broker

// sessionFaults are the faults of client identifiers, session state and its lifetime, and
// session takeover.
var sessionFaults = []Fault{}
