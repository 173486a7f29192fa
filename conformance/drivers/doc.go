// Package drivers makes client programs act for client conformance runs: each driver turns a
// conformance.Action (connect, publish, subscribe) into what its client does against the
// scripted broker of a case.
//
// Drivers: reference (mqttspec's own client, in process), mosquitto (mosquitto_pub and
// mosquitto_sub), mqttjs (a small script over the mqtt npm package, run with node), paho (a small
// Go program over github.com/eclipse/paho.golang for 5.0 and github.com/eclipse/paho.mqtt.golang
// for 3.1.1, built with go build on first use) and cmd (any command template). ByName builds one
// from its name.
//
// Every driver follows the semantics documented on conformance.Action (KeepAlive 0 means
// conformance.DefaultKeepAlive; KeepSession asks for a session that outlives the connection,
// with a Session Expiry Interval on 5.0; Count is the number of messages to publish or receive;
// Unsubscribe lists the filters to leave once the messages arrived; every operation ends with a
// normal DISCONNECT), so that cases read the same whatever the client.
//
// A driver whose client cannot do what an action asks — an option it cannot pass, a reconnection
// it does not make — declines it in Supports, and its Why (conformance.Explainer) names the
// reason, which becomes the case's skip message. Describe (conformance.Describer) says what runs
// the client; client runs report it as the target.
package drivers
