package broker

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

var _ = catalog.Broker(c.Case{
	ID:         "3.11/no-subscription-existed-0x11",
	Title:      "UNSUBACK reason code 0x11 (No subscription existed) answers a filter the client had not subscribed",
	Statements: []string{"MQTT-3.11.3-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Unsubscribe{PacketID: 7, Filters: []string{t.Topic("never")}})
		conn.Expect(c.Unsuback(7, codec.ReasonNoSubscriptionExisted))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.11/unsuback-within-maximum-packet-size",
	Title:      "with a tiny client Maximum Packet Size the UNSUBACK still arrives, without the Reason String or User Properties that would not fit",
	Statements: []string{"MQTT-3.11.2-1", "MQTT-3.11.2-2", "MQTT-3.1.2-24"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		limit := tinyMaximumPacketSize(t)
		p := t.DefaultConnect()
		p.Properties.SetMaximumPacketSize(limit)
		p.Properties.SetRequestProblemInfo(1)
		conn := t.Connect(p)
		topic := t.Topic("a")
		conn.Subscribe(topic, 0)
		// One filter that existed and one that did not: 0x11 is where servers explain.
		u := &codec.Unsubscribe{PacketID: conn.NextID(), Filters: []string{topic, t.Topic("never")}}
		u.Properties.AddUser("mqttspec", "echo-me")
		conn.Send(u)
		fits(t, conn, c.Unsuback(u.PacketID, codec.ReasonSuccess, codec.ReasonNoSubscriptionExisted), limit)
		conn.ExpectOpen()
	},
})
