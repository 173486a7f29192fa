package client

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.8 of MQTT 5.0 (4.8.2): shared subscriptions as the client sends them (the invalid
// share names are in 4_7_topics.go, with the other filters a client must not send).

func init() {
	catalog.Client(c.Case{
		ID:         "4.8/shared-subscription-no-local",
		Title:      "a shared subscription goes out with No Local 0 and its filter as given",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.8.3-4", "MQTT-4.8.2-1", "MQTT-4.8.2-2"},
		Run: func(t *c.T) {
			filter := "$share/grp/" + t.Topic("shared")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: filter, QoS: 1, Count: 2})
			conn, _ := connected(t, "")
			sub := subscribed(t, conn, filter, 1)
			t.Check(!sub.Subscriptions[0].NoLocal, "No Local 0", "No Local 1", "a shared subscription has No Local set: %s", sub)
			conn.Send(&codec.Publish{Topic: t.Topic("shared"), Payload: []byte("m")})
			lastMessage(t, conn, t.Topic("shared"))
		},
	})
}
