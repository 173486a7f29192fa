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
// Conventions every driver follows, so that cases read the same whatever the client:
//   - KeepAlive 0 in the action means DefaultKeepAlive (60 s).
//   - CleanStart false asks for a session that outlives the connection; on MQTT 5.0 the client
//     sends a Session Expiry Interval (DefaultSessionExpiry unless the action's Extra names one).
//   - OpPublish publishes Count messages (at least one), all with the same topic, payload, QoS
//     and RETAIN, as fast as the client allows, then disconnects normally.
//   - OpSubscribe subscribes to Topic at QoS, waits for Count messages, optionally unsubscribes
//     (Extra.Unsubscribe), then disconnects normally.
//   - OpConnect connects, stays Duration, then disconnects normally.
//
// A driver whose client cannot do what an action asks says so in Supports, and the case is
// skipped with that reason. Extra (attached with Attach) carries the options conformance.Action
// has no field for yet.
package drivers
