// Package client is mqttspec's reference MQTT client for 3.1.1 and 5.0: the default client under
// test for client conformance, and the library the runner and load tool build on.
//
// The API is small:
//
//	c, err := client.Dial(ctx, "tcp://127.0.0.1:1883", client.Options{ClientID: "sensor-1"})
//	codes, err := c.Subscribe(ctx, []codec.Subscription{{Filter: "a/#", QoS: 1}}, func(m *client.Message) { … })
//	err = c.Publish(ctx, &client.Message{Topic: "a/b", QoS: 2, Payload: []byte("hi")})
//	err = c.Disconnect(ctx)
//
// Dial accepts tcp://, tls://, ws:// and wss:// URLs. One goroutine reads packets, one writes
// them (coalescing what several publishers queued into one write), one keeps the connection
// alive, and one delivers messages to handlers in the order they arrived; acknowledgements go out
// once the handlers return, in arrival order (MQTT-4.6.0-2, MQTT-4.6.0-3).
//
// QoS 1 and 2 flows are written to a store.Store before their first packet leaves, so a client
// restarted with the same store.File and client identifier finishes them: PUBLISH again with DUP
// set, or PUBREL, on the first connection whose CONNACK says the server kept the session. Packet
// identifiers are allocated from the identifiers not in flight and never reused before their flow
// completes. The behaviour follows the specifications to the letter because the client
// conformance suite drives it: the server's Receive Maximum, Maximum Packet Size, Maximum QoS,
// Retain Available, Topic Alias Maximum and Server Keep Alive are respected, and a malformed or
// forbidden packet from the server closes the connection (with DISCONNECT 0x81/0x82 in 5.0).
package client
