package broker

import (
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.4: message delivery retry. Unacknowledged PUBLISH and PUBREL packets are re-sent
// when the client reconnects to its session, with DUP 1 and the original identifiers; (v5) at no
// other time, and never after an acknowledgement with a reason code of 0x80 or more.

var _ = catalog.Broker(c.Case{
	ID:         "4.4/qos1-publish-resent-on-reconnect",
	Title:      "an unacknowledged QoS 1 PUBLISH is re-sent when the session resumes, with DUP 1 and its original Packet Identifier",
	Statements: []string{"MQTT-4.4.0-1", "MQTT-3.3.1-1", "MQTT-4.3.2-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic, id := t.Topic("re"), t.ClientID()
		sub := persistentSub(t, "sub1", id, topic, 1)
		t.Pub("pub").PublishMsg(topic, "unacked", 1, false)
		first := sub.ExpectPublish(c.Publish(topic, b("unacked"), 1))
		sub.Close()
		again := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		again.Receive(c.Publish(topic, b("unacked"), 1).Dup(true).ID(first.PacketID))
		again.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.4/qos2-publish-resent-on-reconnect",
	Title:      "a QoS 2 PUBLISH without PUBREC is re-sent when the session resumes, with DUP 1 and its original Packet Identifier",
	Statements: []string{"MQTT-4.4.0-1", "MQTT-3.3.1-1", "MQTT-4.3.3-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic, id := t.Topic("re"), t.ClientID()
		sub := persistentSub(t, "sub1", id, topic, 2)
		t.Pub("pub").PublishMsg(topic, "unreceived", 2, false)
		first := sub.ExpectPublish(c.Publish(topic, b("unreceived"), 2))
		sub.Close()
		again := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		again.Receive(c.Publish(topic, b("unreceived"), 2).Dup(true).ID(first.PacketID))
		again.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.4/pubrel-resent-on-reconnect",
	Title:      "a PUBREL without PUBCOMP is re-sent with its identifier when the session resumes, and the PUBLISH is not sent again",
	Statements: []string{"MQTT-4.4.0-1", "MQTT-4.3.3-5", "MQTT-4.3.3-6"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic, id := t.Topic("re"), t.ClientID()
		sub := persistentSub(t, "sub1", id, topic, 2)
		t.Pub("pub").PublishMsg(topic, "released", 2, false)
		p := sub.ExpectPublish(c.Publish(topic, b("released"), 2))
		sub.Send(&codec.Pubrec{PacketID: p.PacketID})
		sub.Expect(c.Pubrel(p.PacketID))
		sub.Close()
		again := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		again.Expect(c.Pubrel(p.PacketID))
		again.Send(&codec.Pubcomp{PacketID: p.PacketID})
		again.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.4/new-packet-id-not-reused-after-resume",
	Title:      "after a resumed session re-sends an unacknowledged QoS 1 PUBLISH, a new QoS 1 message gets another Packet Identifier while the first is still unacknowledged",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"MQTT-2.3.1-4", "MQTT-4.4.0-1", "MQTT-2.2.1-4"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic, id := t.Topic("re"), t.ClientID()
		sub := persistentSub(t, "sub1", id, topic, 1)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "first", 1, false)
		first := sub.ExpectPublish(c.Publish(topic, b("first"), 1))
		sub.Close()
		again := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		resent := again.ExpectPublish(c.Publish(topic, b("first"), 1).Dup(true).ID(first.PacketID)) // not acknowledged yet
		pub.PublishMsg(topic, "second", 1, false)
		// A server may hold "second" until the re-sent one is acknowledged (nothing obliges it
		// to have two in flight); then no identifier is in use when "second" goes out.
		p, closed := again.Next(t.QuietWindow(0))
		if p == nil && !closed {
			again.Ack(resent)
			again.Receive(c.Publish(topic, b("second"), 1))
			t.Skipf("the server sent the new message only after the re-sent one was acknowledged (allowed): re-use of an identifier in use cannot be observed")
		}
		want := c.Publish(topic, b("second"), 1)
		if closed {
			t.Failf(want.String(), "the connection closed", "[sub2] expected %s, but the connection closed", want)
		}
		if err := want.Match(p); err != nil {
			t.Failf(want.String(), p.String(), "[sub2] expected %s, got %s: %v", want, p, err)
		}
		second := p.(*codec.Publish)
		if second.PacketID == first.PacketID {
			t.Failf(fmt.Sprintf("an identifier other than %d (in use)", first.PacketID), fmt.Sprint(second.PacketID),
				"the new PUBLISH re-uses Packet Identifier %d of the unacknowledged re-sent PUBLISH", second.PacketID)
		}
		again.Ack(resent)
		again.Ack(second)
		again.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.4/acknowledged-not-resent",
	Title:      "messages whose QoS 1 and QoS 2 flows completed are not sent again when the session resumes",
	Statements: []string{"MQTT-4.4.0-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic, id := t.Topic("re"), t.ClientID()
		sub := persistentSub(t, "sub1", id, topic, 2)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "q1 done", 1, false)
		sub.Receive(c.Publish(topic, b("q1 done"), 1))
		pub.PublishMsg(topic, "q2 done", 2, false)
		sub.Receive(c.Publish(topic, b("q2 done"), 2))
		sub.ExpectOpen() // the last PUBCOMP has been processed
		sub.Close()
		t.ConnectResume("sub2", t.PersistentConnect(id), true).ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.4/not-resent-while-connected",
	Title:      "an unacknowledged QoS 1 PUBLISH is not re-sent on the same connection (5 s observed)",
	Statements: []string{"MQTT-4.4.0-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("re")
		sub := t.Sub("sub", topic, 1)
		t.Pub("pub").PublishMsg(topic, "once", 1, false)
		sub.ExpectPublish(c.Publish(topic, b("once"), 1))
		// A server imposing a Server Keep Alive shorter than the wait would (rightly) close the
		// silent connection: watch in pieces, each followed by a PINGREQ that keeps it open.
		watch := 5 * time.Second
		piece := watch
		if ka := time.Duration(t.Caps.ServerKeepAlive) * time.Second; ka > 0 && ka < 2*piece {
			piece = ka / 2
		}
		for left := watch; left > 0; left -= piece {
			sub.ExpectNothing(min(piece, left))
			sub.ExpectOpen()
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.4/puback-error-not-resent",
	Title:      "a QoS 1 PUBLISH answered with PUBACK 0x80 counts as acknowledged: it is not re-sent when the session resumes",
	Statements: []string{"MQTT-4.4.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic, id := t.Topic("re"), t.ClientID()
		sub := persistentSub(t, "sub1", id, topic, 1)
		t.Pub("pub").PublishMsg(topic, "refused", 1, false)
		p := sub.ExpectPublish(c.Publish(topic, b("refused"), 1))
		sub.Send(&codec.Puback{PacketID: p.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
		sub.ExpectOpen()
		sub.Close()
		t.ConnectResume("sub2", t.PersistentConnect(id), true).ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.4/pubrec-error-not-resent",
	Title:      "a QoS 2 PUBLISH answered with PUBREC 0x80 counts as acknowledged: neither it nor a PUBREL is sent when the session resumes",
	Statements: []string{"MQTT-4.4.0-2", "MQTT-4.3.3-4"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic, id := t.Topic("re"), t.ClientID()
		sub := persistentSub(t, "sub1", id, topic, 2)
		t.Pub("pub").PublishMsg(topic, "refused", 2, false)
		p := sub.ExpectPublish(c.Publish(topic, b("refused"), 2))
		sub.Send(&codec.Pubrec{PacketID: p.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
		sub.ExpectOpen()
		sub.Close()
		t.ConnectResume("sub2", t.PersistentConnect(id), true).ExpectNothing(0)
	},
})
