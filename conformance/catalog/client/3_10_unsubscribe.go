package client

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.10: the UNSUBSCRIBE the client sends.

func init() {
	catalog.Client(c.Case{
		ID:         "3.10/unsubscribe-packet",
		Title:      "an UNSUBSCRIBE has flags 0010, a non-zero packet identifier not in use and exactly the subscribed filter",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.10.1-1", "MQTT-3.10.3-1", "MQTT-3.10.3-2", "3.1.1:MQTT-2.3.1-1", "3.1.1:MQTT-2.3.1-2", "5.0:MQTT-2.2.1-3"},
		Run: func(t *c.T) {
			topic := t.Topic("unsub/ü")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 1, Unsubscribe: []string{topic}})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 1)
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("m")})
			un := conn.Expect(c.Type(codec.UNSUBSCRIBE).Where("one filter, the subscribed one", func(p codec.Packet) error {
				u := p.(*codec.Unsubscribe)
				if len(u.Filters) != 1 || u.Filters[0] != topic {
					return wantString("filters", fmt.Sprintf("%q", u.Filters), fmt.Sprintf("%q", []string{topic}))
				}
				return nil
			}).Where("packet identifier ≠ 0", nonZeroID)).(*codec.Unsubscribe)
			var codes []codec.ReasonCode
			if t.V5() {
				codes = []codec.ReasonCode{codec.ReasonSuccess}
			}
			conn.Send(&codec.Unsuback{PacketID: un.PacketID, ReasonCodes: codes})
			leaves(t, conn)
		},
	})
}
