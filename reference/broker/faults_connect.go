package broker

// connectFaults are the faults of the CONNECT handshake: validating the CONNECT, refusing it, the
// CONNACK, and closing a connection on an error.
var connectFaults = []Fault{}
