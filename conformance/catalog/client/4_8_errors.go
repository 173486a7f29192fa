package client

import (
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.8 of MQTT 3.1.1: the client's reaction to malformed packets and protocol errors from
// the server. The receiver of a protocol violation must close the connection (MQTT-4.8.0-1);
// the statement asks for the close alone, so a client that sends DISCONNECT before closing (Paho
// C always does) closes too, and passes. The same packets on 5.0 are in
// 4_13_errors.go; the violations themselves in support_errors.go.

func init() {
	for _, r := range []struct {
		id         string
		v          violation
		statements []string
	}{
		{id: "4.8/publish-qos3", v: publishQoS3, statements: []string{"MQTT-4.8.0-1", "MQTT-3.3.1-4"}},
		{id: "4.8/publish-packet-id-zero", v: publishPacketIDZero, statements: []string{"MQTT-4.8.0-1", "MQTT-2.3.1-1"}},
		{id: "4.8/publish-topic-wildcard", v: publishTopicWildcard, statements: []string{"MQTT-4.8.0-1", "MQTT-3.3.2-2"}},
		{id: "4.8/publish-topic-ill-formed-utf8", v: publishTopicIllFormedUTF8, statements: []string{"MQTT-4.8.0-1", "MQTT-1.5.3-1"}},
		{id: "4.8/publish-topic-nul", v: publishTopicNUL, statements: []string{"MQTT-4.8.0-1", "MQTT-1.5.3-2"}},
		{id: "4.8/remaining-length-five-bytes", v: remainingLengthFiveBytes, statements: []string{"MQTT-4.8.0-1"}},
		{id: "4.8/packet-type-0", v: packetType0, statements: []string{"MQTT-4.8.0-1"}},
		{id: "4.8/second-connack", v: secondConnack, statements: []string{"MQTT-4.8.0-1"}},
		{id: "4.8/connack-reserved-flags", v: connackReservedFlags, statements: []string{"MQTT-4.8.0-1"}},
		{id: "4.8/suback-reserved-flags", v: subackReservedFlags, statements: []string{"MQTT-4.8.0-1", "MQTT-2.2.2-2"}},
		{id: "4.8/puback-reserved-flags", v: pubackReservedFlags, statements: []string{"MQTT-4.8.0-1", "MQTT-2.2.2-2"}},
		{id: "4.8/pubrel-reserved-flags", v: pubrelReservedFlags, statements: []string{"MQTT-4.8.0-1", "MQTT-3.6.1-1", "MQTT-2.2.2-2"}},
	} {
		catalog.Client(c.Case{
			ID:         r.id,
			Title:      "after " + r.v.what + " the client closes the connection",
			Versions:   c.V311,
			Level:      c.Must,
			Statements: r.statements,
			Run: func(t *c.T) {
				conn := r.v.setup(t)
				b, desc := r.v.packet(t, conn)
				conn.SendRaw(b, desc)
				conn.ExpectClosed(c.OrPlainDisconnect())
			},
		})
	}
}
