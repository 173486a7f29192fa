package broker

import (
	"fmt"
	"slices"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.9 SUBACK: one code per filter in filter order, failure codes, and (5.0) properties
// dropped rather than exceeding the client's Maximum Packet Size. The basic pairing of SUBACK
// and SUBSCRIBE is in 3_8_subscribe.go.

// deniedCodes are the codes a server may use for a subscription its ACL forbids: 0x80 in 3.1.1;
// in 5.0 0x87 Not authorized, or 0x80 Unspecified error when it prefers not to say why.
func deniedCodes(t *c.T) []codec.ReasonCode {
	if t.V5() {
		return []codec.ReasonCode{codec.ReasonNotAuthorized, codec.ReasonUnspecifiedError}
	}
	return []codec.ReasonCode{codec.SubackFailure}
}

// middleCode expects a SUBACK for id with codes [1, one of middle, 2].
func middleCode(id uint16, middle []codec.ReasonCode) *c.M {
	return c.Type(codec.SUBACK).ID(id).Where(fmt.Sprintf("codes=[0x01 one-of%v 0x02]", middle), func(p codec.Packet) error {
		got := p.(*codec.Suback).ReasonCodes
		if len(got) != 3 || got[0] != 1 || !slices.Contains(middle, got[1]) || got[2] != 2 {
			return fmt.Errorf("reason codes are %v, want [0x01 one-of%v 0x02]", got, middle)
		}
		return nil
	})
}

var _ = func() int {
	// The specification does not oblige a server to refuse a subscription its ACL forbids (it
	// may grant it and withhold the messages, as mosquitto does), so the middle code may be a
	// grant of QoS 0; a refusal must use a failure code, and it must not shift the others.
	catalog.Broker(c.Case{
		ID:         "3.9/acl-denied-filter-in-order",
		Title:      "a SUBSCRIBE for [QoS 1, ACL-denied QoS 0, QoS 2] gets [1, 0 or failure (5.0: 0x87 or 0x80), 2]: a refusal stays at its filter's position",
		Level:      c.Must,
		Requires:   []c.Feature{c.FeatureDeniedTopic, c.FeatureQoS2},
		Statements: []string{"MQTT-3.9.3-1", "MQTT-3.9.3-2", "3.1.1:MQTT-3.8.4-4", "MQTT-3.8.4-5", "5.0:MQTT-3.8.4-6", "MQTT-3.8.4-7"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			id := subscribeMany(conn, nil,
				codec.Subscription{Filter: t.Topic("ok1"), QoS: 1},
				codec.Subscription{Filter: t.Target.DeniedTopic, QoS: 0},
				codec.Subscription{Filter: t.Topic("ok2"), QoS: 2})
			conn.Expect(middleCode(id, append([]codec.ReasonCode{0}, deniedCodes(t)...)))
			// The refusal affects only that filter: the last one is subscribed at QoS 2.
			t.Pub("pub").PublishMsg(t.Topic("ok2"), "m", 2, false)
			conn.Receive(publishOn(t.Topic("ok2"), "m", 2))
		},
	})

	catalog.Broker(c.Case{
		ID:         "3.9/invalid-filter-in-order",
		Title:      "a SUBSCRIBE for [QoS 1, invalid filter \"a/#/b\", QoS 2] gets [1, failure (5.0: 0x8F), 2], or the connection is closed",
		Level:      c.Must,
		Requires:   []c.Feature{c.FeatureQoS2},
		Statements: []string{"MQTT-3.9.3-1", "MQTT-3.9.3-2", "3.1.1:MQTT-3.8.4-4", "MQTT-3.8.4-5", "3.1.1:MQTT-4.7.1-2", "5.0:MQTT-3.8.4-6", "MQTT-3.8.4-7", "5.0:MQTT-4.7.1-1"},
		Versions:   c.Both,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			s := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{
				{Filter: t.Topic("ok1"), QoS: 1}, {Filter: t.TopicPrefix() + "/a/#/b"}, {Filter: t.Topic("ok2"), QoS: 2}}}
			probeSub := *s
			re := probe(t, &probeSub)
			conn.Send(s)
			if re.closed {
				conn.ExpectClosed(c.OrDisconnect(codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicFilterInvalid))
				return
			}
			conn.Expect(middleCode(s.PacketID, rejectCodes(t)))
			t.Pub("pub").PublishMsg(t.Topic("ok2"), "m", 2, false)
			conn.Receive(publishOn(t.Topic("ok2"), "m", 2))
		},
	})
	return 0
}()

// fits expects the next packet to match m and to be at most limit bytes on the wire.
func fits(t *c.T, conn *c.Conn, m c.Matcher, limit uint32) {
	p := conn.Expect(m)
	if n := len(t.Encode(p, t.Version)); uint32(n) > limit {
		t.Failf(fmt.Sprintf("at most %d bytes", limit), fmt.Sprintf("%d bytes", n),
			"[%s] %v is %d bytes, more than the client's Maximum Packet Size %d", conn.Label, p.Type(), n, limit)
	}
}

var _ = catalog.Broker(c.Case{
	ID:         "3.9/suback-within-maximum-packet-size",
	Title:      "a SUBACK that carries a Reason String or User Property when there is room still arrives without them rather than exceed the client's Maximum Packet Size (skipped when the server never sends them)",
	Statements: []string{"MQTT-3.9.2-1", "MQTT-3.9.2-2", "MQTT-3.1.2-24"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		subscribe := func(what string, props *codec.Properties, filter string) stimulus {
			return stimulus{what: what, want: codec.SUBACK, pkts: func() []codec.Packet {
				s := &codec.Subscribe{PacketID: 9, Subscriptions: []codec.Subscription{{Filter: filter}}}
				if props != nil {
					s.Properties = *props
				}
				return []codec.Packet{s}
			}}
		}
		var stimuli []stimulus
		if t.Caps.Has(c.FeatureDeniedTopic) {
			// A refusal is where servers put a Reason String.
			stimuli = append(stimuli, subscribe("SUBSCRIBE to the denied topic", nil, t.Target.DeniedTopic))
		}
		stimuli = append(stimuli,
			subscribe("SUBSCRIBE to an invalid filter", nil, t.TopicPrefix()+"/a/#/b"),
			subscribe("SUBSCRIBE with a User Property", (&codec.Properties{}).AddUser("mqttspec", "echo-me"), t.Topic("a")))
		// The rule binds only a SUBACK that would carry them: first make the server show one.
		for _, e := range findExplained(t, stimuli...) {
			conn := limitedConnect(t, "limited", e.limit)
			e.send(conn)
			fits(t, conn, c.Type(codec.SUBACK).ID(9), e.limit)
			conn.ExpectOpen()
			conn.Disconnect()
		}
	},
})

// Found by the differential network fuzzer (docs/findings.md): mochi-mqtt v2.7.9 answers 0x91
// Packet Identifier in use, which 3.1.1 does not have. Each side allocates its own identifiers
// (§2.3.1), so the server's in-flight delivery does not make the client's identifier "in use".
// 3.1.1 only: in 5.0 0x91 is a SUBACK reason code, and no MUST forbids the refusal.
var _ = catalog.Broker(c.Case{
	ID:         "3.9/return-code-valid-for-server-inflight-id",
	Title:      "a SUBSCRIBE using the identifier of the server's own unacknowledged QoS 1 delivery to that client gets a SUBACK with a 3.1.1 return code (0x00, 0x01, 0x02 or 0x80; not 0x91)",
	Statements: []string{"3.1.1:MQTT-3.9.3-2", "3.1.1:MQTT-3.8.4-1", "3.1.1:MQTT-2.3.1-7"},
	Versions:   c.V311,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("inflight")
		sub := t.Sub("sub", topic, 1)
		t.Pub("pub").PublishMsg(topic, "hold", 1, false)
		d := sub.ExpectPublish(c.Publish(topic, b("hold"), 1)) // not acknowledged: its identifier stays in flight
		sub.Send(&codec.Subscribe{PacketID: d.PacketID, Subscriptions: []codec.Subscription{{Filter: t.Topic("other"), QoS: 1}}})
		valid := []codec.ReasonCode{0x00, 0x01, 0x02, codec.SubackFailure}
		sub.Expect(c.Type(codec.SUBACK).ID(d.PacketID).Where(fmt.Sprintf("one code in %v", valid), func(p codec.Packet) error {
			got := p.(*codec.Suback).ReasonCodes
			if len(got) != 1 || !slices.Contains(valid, got[0]) {
				return fmt.Errorf("return codes are %v, want one of %v", got, valid)
			}
			return nil
		}))
	},
})
