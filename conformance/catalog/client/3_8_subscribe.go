package client

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// Sections 3.8 and 3.10: the SUBSCRIBE and UNSUBSCRIBE the client sends (invalid filters are in
// 4_7_topics.go).

func init() {
	register(c.Case{
		ID:       "3.8/subscribe-packet",
		Title:    "a SUBSCRIBE has flags 0010, a non-zero packet identifier and exactly the requested filter and QoS",
		Versions: c.Both,
		Level:    c.Must,
		Run: func(t *c.T) {
			topic := t.Topic("sub/ü")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 1, Count: 2})
			conn, _ := connected(t, "")
			// The codec checks the fixed-header flags, the identifier, the UTF-8 of the filter
			// and that there is at least one filter.
			sub := subscribed(t, conn, topic, 1)
			t.Check(sub.PacketID != 0, "packet identifier ≠ 0", "0", "SUBSCRIBE with packet identifier 0")
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("m"), QoS: 1, PacketID: 1})
			conn.Expect(c.Puback(1))
			lastMessage(t, conn, topic)
		},
	}, ids("MQTT-3.8.1-1", "MQTT-3.8.3-1", "MQTT-3.8.3-3", "MQTT-2.3.1-1"), ids("MQTT-3.8.1-1", "MQTT-3.8.3-1", "MQTT-3.8.3-2", "MQTT-2.2.1-3"))

	register(c.Case{
		ID:       "3.10/unsubscribe-packet",
		Title:    "an UNSUBSCRIBE has flags 0010, a non-zero packet identifier not in use and exactly the subscribed filter",
		Versions: c.Both,
		Level:    c.Must,
		Run: func(t *c.T) {
			topic := t.Topic("unsub/ü")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 1, Unsubscribe: []string{topic}})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 1)
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("m")})
			un := conn.Expect(c.Type(codec.UNSUBSCRIBE).Where("one filter, the subscribed one", func(p codec.Packet) error {
				u := p.(*codec.Unsubscribe)
				if len(u.Filters) != 1 || u.Filters[0] != topic {
					return wantString("filters", fmtFilters(u.Filters), fmtFilters([]string{topic}))
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
	}, ids("MQTT-3.10.1-1", "MQTT-3.10.3-1", "MQTT-3.10.3-2", "MQTT-2.3.1-1", "MQTT-2.3.1-2"), ids("MQTT-3.10.1-1", "MQTT-3.10.3-1", "MQTT-3.10.3-2", "MQTT-2.2.1-3"))
}

func fmtFilters(f []string) string {
	s := "["
	for i, x := range f {
		if i > 0 {
			s += " "
		}
		s += `"` + x + `"`
	}
	return s + "]"
}
