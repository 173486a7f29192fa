package broker

// connectFaults are the faults of the CONNECT handshake, CONNACK, client identifiers, takeover and the close that ends a connection.
var connectFaults = []Fault{}
