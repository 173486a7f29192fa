package client

import "github.com/mqttspec/mqttspec/conformance/spec"

// Proofs maps each deliberate bug of the reference client (the wire rewrites of faults_test.go)
// to the statements it breaks and the cases that fail while it is on ("ID@5.0": on that version
// only). TestFaultsAreCaught runs every row, so a case listed here is known to fail on a client
// that breaks its statement; `mqttspec list` and run coverage count a statement as proven only
// through these rows. A fault whose Statements is empty is caught, but breaks no numbered
// statement (the case checks what the application asked for), so it proves nothing.
var Proofs = []spec.Proof{
	{Fault: "publish-id-zero", Statements: []string{"3.1.1:MQTT-2.3.1-1", "MQTT-2.2.1-3"},
		Cases: []string{"4.3/qos1-publish", "4.3/qos2-publish"}},
	{Fault: "dup-on-first-send", Statements: []string{"3.1.1:MQTT-4.3.2-1", "3.1.1:MQTT-4.3.3-1", "MQTT-4.3.2-2", "MQTT-4.3.3-2"},
		Cases: []string{"4.3/qos1-publish", "4.3/qos2-publish"}},
	{Fault: "no-dup-on-resend", Statements: []string{"3.1.1:MQTT-3.3.1-1", "MQTT-3.3.1-1"},
		Cases: []string{"4.4/qos1-resent-after-reconnect", "4.4/resent-in-order", "4.4/qos2-publish-resent-after-reconnect"}},
	{Fault: "drop-pubrel", Statements: []string{"3.1.1:MQTT-4.3.3-1", "3.1.1:MQTT-4.4.0-1", "MQTT-4.3.3-4", "MQTT-4.4.0-1"},
		Cases: []string{"4.3/qos2-publish", "4.4/pubrel-resent-after-reconnect"}},
	{Fault: "drop-pingreq", Statements: []string{"3.1.1:MQTT-3.1.2-23", "MQTT-3.1.2-20"},
		Cases: []string{"3.12/pingreq-within-keep-alive", "3.12/server-keep-alive"}},
	{Fault: "puback-wrong-id", Statements: []string{"3.1.1:MQTT-4.3.2-2", "3.1.1:MQTT-2.3.1-6", "MQTT-4.3.2-4", "MQTT-2.2.1-5"},
		Cases: []string{"4.3/receive-qos1", "4.6/puback-order"}},
	{Fault: "pubacks-swapped", Statements: []string{"3.1.1:MQTT-4.6.0-2", "MQTT-4.6.0-2"},
		Cases: []string{"4.6/puback-order"}},
	{Fault: "drop-disconnect",
		Cases: []string{"3.14/disconnect-then-close"}},
	{Fault: "packet-after-disconnect", Statements: []string{"3.1.1:MQTT-3.14.4-2", "MQTT-3.14.4-1"},
		Cases: []string{"3.14/disconnect-then-close"}},
	{Fault: "retain-always",
		Cases: []string{"3.3/qos0-publish"}},
	{Fault: "will-qos-without-will", Statements: []string{"3.1.1:MQTT-3.1.2-11", "MQTT-3.1.2-11"},
		Cases: []string{"3.1/no-will"}},
	{Fault: "drops-will-delay",
		Cases: []string{"3.1/will-properties"}},
	{Fault: "subscribe-flags-zero", Statements: []string{"3.1.1:MQTT-3.8.1-1", "MQTT-3.8.1-1"},
		Cases: []string{"3.8/subscribe-packet"}},
	{Fault: "accepts-qos3", Statements: []string{"3.1.1:MQTT-3.3.1-4", "3.1.1:MQTT-4.8.0-1"},
		Cases: []string{"4.8/publish-qos3"}},
	{Fault: "ignores-session-present-0", Statements: []string{"MQTT-3.2.2-5"},
		Cases: []string{"3.2/session-present-0-discards-session"}},
	{Fault: "ignores-retain-available", Statements: []string{"MQTT-3.2.2-14"},
		Cases: []string{"3.2/retain-not-available"}},
	{Fault: "ignores-maximum-qos", Statements: []string{"MQTT-3.2.2-11"},
		Cases: []string{"3.2/maximum-qos"}},
	{Fault: "ignores-maximum-packet-size", Statements: []string{"MQTT-3.2.2-15"},
		Cases: []string{"3.2/maximum-packet-size"}},
	{Fault: "ignores-session-present-1", Statements: []string{"MQTT-3.2.2-4"},
		Cases: []string{"3.2/session-present-without-session"}},
	{Fault: "ignores-refusing-connack", Statements: []string{"MQTT-4.13.2-1"},
		Cases: []string{"3.2/refused-connack-closes", "3.2/use-another-server-closes", "3.2/server-moved-closes"}},
	{Fault: "ignores-receive-maximum", Statements: []string{"MQTT-3.3.4-7", "MQTT-4.9.0-1", "MQTT-4.9.0-2"},
		Cases: []string{"3.3/receive-maximum", "3.3/receive-maximum-pubrel-not-delayed"}},
	{Fault: "ignores-server-keep-alive", Statements: []string{"MQTT-3.1.2-21", "MQTT-3.2.2-21"},
		Cases: []string{"3.12/server-keep-alive"}},
	{Fault: "keeps-alias-across-connections", Statements: []string{"MQTT-3.3.2-7"},
		Cases: []string{"3.3/topic-alias-not-carried-over"}},
}

func init() { spec.RegisterProofs(spec.Client, Proofs...) }
