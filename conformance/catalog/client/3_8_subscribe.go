package client

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.8: the SUBSCRIBE the client sends (invalid filters are in 4_7_topics.go, the
// UNSUBSCRIBE in 3_10_unsubscribe.go).

func init() {
	catalog.Client(c.Case{
		ID:         "3.8/subscribe-packet",
		Title:      "a SUBSCRIBE has flags 0010, a non-zero packet identifier and at least one well-formed UTF-8 filter",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.8.1-1", "MQTT-3.8.3-1", "3.1.1:MQTT-3.8.3-3", "3.1.1:MQTT-2.3.1-1", "5.0:MQTT-3.8.3-2", "5.0:MQTT-2.2.1-3"},
		Run: func(t *c.T) {
			topic := t.Topic("sub/ü")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 1, Count: 2})
			conn, _ := connected(t, "")
			// The codec checks the fixed-header flags, the identifier, the UTF-8 of the filter
			// and that there is at least one filter.
			sub := subscribed(t, conn, topic, 1)
			t.Check(sub.PacketID != 0, "packet identifier ≠ 0", "0", "SUBSCRIBE with packet identifier 0")
			// QoS 0 messages end the subscription: how the client acknowledges is not this
			// case's claim.
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("m")})
			lastMessage(t, conn, topic)
		},
	})
}
