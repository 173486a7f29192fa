// Package broker is mqttspec's reference MQTT broker: MQTT 3.1, 3.1.1 and 5.0 on the same
// listener, following the specifications to the letter. It is the default target of the
// conformance suite, the peer the client conformance cases emulate, and the harness for broker
// fuzzing.
//
// A Server is created with New, given listeners with Serve or ListenAndServe (tcp://, tls://,
// ws://, wss://) or single connections with ServeConn, and stopped with Close.
//
// Each connection has one reader goroutine, which decodes packets with the codec package and
// handles them in order, and one writer goroutine, which drains a bounded outbound queue in
// batches. Publishers never wait for subscribers: a slow subscriber's QoS 0 messages are dropped
// once its queue is full and its QoS 1/2 messages wait in its session within the limits of
// Options.MaxQueued. Session state (subscriptions, unacknowledged messages, queued messages, QoS 2
// identifiers) lives apart from the connection and survives reconnects per Session Expiry.
//
// A v5 client is told why. Every answer that may carry a Reason String says what went wrong
// when the broker refuses or cannot do something: a refusing CONNACK, PUBACK and PUBREC 0x87 (the
// ACL denies the topic), PUBREL and PUBCOMP 0x92 (no flow with that packet identifier), SUBACK
// and UNSUBACK failures (naming the filters by position), a DISCONNECT; a successful CONNACK says
// whether the session is new or resumed and which authentication method admitted the client, and
// AUTH 0x00 confirms a re-authentication. SUBACK and UNSUBACK return the request's User
// Properties, in order. Except on CONNACK refusals and DISCONNECT, all of this is sent only when
// the client's Request Problem Information is 1 (the default); and any Reason String or User
// Property that would make a packet exceed the client's Maximum Packet Size is left out of it.
// A client that sets Request Response Information 1 gets Response Information in its CONNACK:
// the topic prefix ResponseInformation returns, "response/<client identifier>/", for the
// Response Topics of its requests (an ordinary topic, subject to the ACL); with 0 or none it
// gets none.
//
// Options.Faults switches the broker into named, deliberate specification violations (see
// Faults) for mutation-testing the conformance suite. The handlers are written as the
// specification reads; where a violation can depart from it they pass through a seam of the
// server's rules (a rewrite of a packet received or sent, a wrapper around the subscription tree
// or the retained store, a hook on a session), which is empty on a correct broker.
package broker
