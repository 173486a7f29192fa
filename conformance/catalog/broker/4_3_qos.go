package broker

import (
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.3: the QoS 0, 1 and 2 delivery protocols with the server as receiver (of a
// publisher's PUBLISH) and as sender (to a subscriber). 3.1.1 bundles each side's duties into
// MQTT-4.3.2-1/-2 and MQTT-4.3.3-1/-2; 5.0 splits them into MQTT-4.3.2-1..5 and 4.3.3-1..13 with
// the same numbers meaning other things, hence split.

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos0-delivered-dup0-without-packet-id",
	Title:      "a QoS 0 message is delivered as a QoS 0 PUBLISH with DUP 0 and no Packet Identifier (the payload arrives byte for byte)",
	Statements: []string{"MQTT-4.3.1-1", "MQTT-3.3.1-2", "MQTT-2.3.1-5", "MQTT-2.2.1-2"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("q0")
		sub := t.Sub("sub", topic, 0)
		// A stray packet identifier would show up as two extra bytes at the front of the payload.
		payload := []byte{0x00, 0x01, 'q', 'o', 's', '0', 0xff}
		t.Pub("pub").Publish(&codec.Publish{Topic: topic, Payload: payload})
		sub.Expect(c.Publish(topic, payload, 0))
	},
})

// ---- server as QoS 1 receiver ----
var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos1-receiver-puback",
	Title:      "a QoS 1 PUBLISH (identifier 0x1234) is answered with PUBACK 0x1234 (v5: reason 0x00, a subscriber exists) and delivered",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"MQTT-3.3.4-1", "3.1.1:MQTT-4.3.2-2", "MQTT-2.3.1-6", "MQTT-4.3.2-4", "MQTT-2.2.1-5", "MQTT-3.4.2-1"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("q1")
		sub := t.Sub("sub", topic, 1)
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: topic, QoS: 1, PacketID: 0x1234, Payload: b("q1")})
		pub.Expect(c.Puback(0x1234))
		sub.Receive(c.Publish(topic, b("q1"), 1))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos1-id-reusable-after-puback",
	Title:      "after its PUBACK, a QoS 1 PUBLISH reusing the identifier (even with DUP 1) is a new message: both are delivered",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"3.1.1:MQTT-4.3.2-2", "MQTT-4.3.2-5"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("q1")
		sub := t.Sub("sub", topic, 1)
		pub := t.Pub("pub")
		pub.Publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 7, Payload: b("first")})
		sub.Receive(c.Publish(topic, b("first"), 1))
		pub.Publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 7, Dup: true, Payload: b("second")})
		sub.Receive(c.Publish(topic, b("second"), 1))
	},
})

// ---- server as QoS 2 receiver ----
var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-receiver-flow",
	Title:      "a QoS 2 PUBLISH (identifier 0x2345) gets PUBREC 0x2345, its PUBREL gets PUBCOMP 0x2345 (v5: reasons 0x00), and the message is delivered",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"MQTT-3.3.4-1", "3.1.1:MQTT-4.3.3-2", "MQTT-2.3.1-6", "MQTT-4.3.3-8", "MQTT-4.3.3-11", "MQTT-2.2.1-5", "MQTT-3.5.2-1", "MQTT-3.7.2-1"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("q2")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: topic, QoS: 2, PacketID: 0x2345, Payload: b("q2")})
		pub.Expect(c.Pubrec(0x2345))
		pub.Send(&codec.Pubrel{PacketID: 0x2345})
		pub.Expect(c.Pubcomp(0x2345))
		sub.Receive(c.Publish(topic, b("q2"), 2))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-duplicate-before-pubrel-delivered-once",
	Title:      "a QoS 2 PUBLISH re-sent with DUP 1 before the PUBREL gets a second PUBREC and the message is delivered exactly once",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"3.1.1:MQTT-4.3.3-2", "MQTT-4.3.3-10"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("q2")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		msg := &codec.Publish{Topic: topic, QoS: 2, PacketID: 9, Payload: b("exactly once")}
		pub.Send(msg)
		pub.Expect(c.Pubrec(9))
		again := *msg
		again.Dup = true
		pub.Send(&again)
		pub.Expect(c.Pubrec(9))
		pub.Send(&codec.Pubrel{PacketID: 9})
		pub.Expect(c.Pubcomp(9))
		sub.Receive(c.Publish(topic, b("exactly once"), 2))
		sub.ExpectNothing(0)
	},
})

// Found by the differential network fuzzer (docs/findings.md): mosquitto 2.0.11 answers the
// first retransmission and closes the connection on the second.
var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-retransmitted-twice-before-pubrel",
	Title:      "a QoS 2 PUBLISH re-sent twice with DUP 1 before the PUBREL gets a PUBREC each time, and the message is delivered exactly once",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"3.1.1:MQTT-4.3.3-2", "MQTT-4.3.3-10"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("q2twice")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		msg := &codec.Publish{Topic: topic, QoS: 2, PacketID: 11, Payload: b("exactly once")}
		pub.Send(msg)
		pub.Expect(c.Pubrec(11))
		for i := 0; i < 2; i++ {
			again := *msg
			again.Dup = true
			pub.Send(&again)
			pub.Expect(c.Pubrec(11))
		}
		pub.Send(&codec.Pubrel{PacketID: 11})
		pub.Expect(c.Pubcomp(11))
		sub.Receive(c.Publish(topic, b("exactly once"), 2))
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-id-reusable-after-pubcomp",
	Title:      "after its PUBCOMP, a QoS 2 PUBLISH reusing the identifier is a new message: both are delivered",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"3.1.1:MQTT-4.3.3-2", "MQTT-4.3.3-12"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("q2")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		pub.Publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 9, Payload: b("first")})
		sub.Receive(c.Publish(topic, b("first"), 2))
		pub.Publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 9, Payload: b("second")})
		sub.Receive(c.Publish(topic, b("second"), 2))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-receiver-concurrent-flows",
	Title:      "three QoS 2 flows open at once (identifiers 10, 11, 12), released in the order 12, 10, 11, each get their own PUBCOMP and each message is delivered once",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"3.1.1:MQTT-4.3.3-2", "MQTT-4.3.3-8", "MQTT-4.3.3-11"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("q2")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		for _, id := range []uint16{10, 11, 12} {
			pub.Send(&codec.Publish{Topic: topic, QoS: 2, PacketID: id, Payload: b(fmt.Sprintf("flow %d", id))})
		}
		pub.ExpectUnordered(c.Pubrec(10), c.Pubrec(11), c.Pubrec(12))
		for _, id := range []uint16{12, 10, 11} {
			pub.Send(&codec.Pubrel{PacketID: id})
			pub.Expect(c.Pubcomp(id))
		}
		// Delivery may happen on PUBLISH or on PUBREL, so the order is open.
		got := receiveAll(t, sub, 3)
		want := map[string]bool{"flow 10": true, "flow 11": true, "flow 12": true}
		for _, p := range got {
			if !want[string(p.Payload)] || p.QoS != 2 || p.Dup || p.Retain {
				t.Failf("flow 10, flow 11 and flow 12 once each at QoS 2", payloads(got), "unexpected delivery %s", p)
			}
			delete(want, string(p.Payload))
		}
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/packet-id-directions-independent",
	Title:      "a client's open inbound QoS 2 flow (identifier 1) is not disturbed by its PUBACK for the server's own PUBLISH: the PUBREL still gets PUBCOMP 0x00 and the message is delivered once",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"3.1.1:MQTT-4.3.3-2", "MQTT-4.3.3-11", "MQTT-3.7.2-1"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		in, out := t.Topic("in"), t.Topic("out")
		watch := t.Sub("watch", in, 2)
		x := t.Sub("x", out, 1)
		x.Send(&codec.Publish{Topic: in, QoS: 2, PacketID: 1, Payload: b("from x")})
		x.Expect(c.Pubrec(1))
		// The server numbers its own PUBLISHes to x independently; the first is likely 1 too.
		t.Pub("pub").PublishMsg(out, "to x", 1, false)
		p := x.ExpectPublish(c.Publish(out, b("to x"), 1))
		x.Send(&codec.Puback{PacketID: p.PacketID})
		x.Send(&codec.Pubrel{PacketID: 1})
		x.Expect(c.Pubcomp(1))
		watch.Receive(c.Publish(in, b("from x"), 2))
		watch.ExpectNothing(0)
	},
})

// ---- server as sender ----
var _ = catalog.Broker(c.Case{
	ID:         "4.3/sender-packet-ids-unused",
	Title:      "three QoS 1 and three QoS 2 messages left unacknowledged while the server keeps sending arrive at their QoS with DUP 0 and non-zero Packet Identifiers, distinct among those in flight together",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"MQTT-4.3.2-1", "MQTT-4.3.3-1", "MQTT-2.3.1-1", "MQTT-2.3.1-4", "5.0:MQTT-4.3.2-2", "5.0:MQTT-4.3.3-2", "MQTT-2.2.1-4"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("ids")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		for i := range 6 {
			pub.PublishMsg(topic, fmt.Sprintf("m%d", i), byte(1+i%2), false)
		}
		// Order is only kept per QoS, so the six may interleave either way.
		var ms []c.Matcher
		for i := range 6 {
			ms = append(ms, c.Publish(topic, b(fmt.Sprintf("m%d", i)), byte(1+i%2)))
		}
		// Each is left unacknowledged while the server keeps sending (a server may keep fewer in
		// flight): the identifiers must differ among the messages in flight together.
		_, most := receiveHeld(t, sub, heldOpts{onArrive: distinctFromUnacked(t)}, ms...)
		skipUnlessConcurrent(t, most)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-sender-flow",
	Title:      "as QoS 2 sender the server answers PUBREC with a PUBREL for the same identifier (v5: reason 0x00) and, after PUBCOMP, sends nothing more",
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Statements: []string{"3.1.1:MQTT-4.3.3-1", "MQTT-2.3.1-6", "MQTT-4.3.3-4", "MQTT-2.2.1-5", "MQTT-3.6.2-1"},
	Versions:   c.Both,
	Run: func(t *c.T) {
		topic := t.Topic("q2")
		sub := t.Sub("sub", topic, 2)
		t.Pub("pub").PublishMsg(topic, "q2 out", 2, false)
		p := sub.ExpectPublish(c.Publish(topic, b("q2 out"), 2))
		sub.Send(&codec.Pubrec{PacketID: p.PacketID})
		sub.Expect(c.Pubrel(p.PacketID))
		sub.Send(&codec.Pubcomp{PacketID: p.PacketID})
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-receiver-completes-after-expiry",
	Title:      "a QoS 2 flow whose message's 1 s Message Expiry Interval passed before the PUBREL is still completed with PUBCOMP 0x00",
	Statements: []string{"MQTT-4.3.3-13", "MQTT-4.3.3-11"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		pub := t.Pub("pub")
		p := &codec.Publish{Topic: t.Topic("q2"), QoS: 2, PacketID: 11, Payload: b("expires mid-flow")}
		p.Properties.SetMessageExpiry(1)
		pub.Send(p)
		pub.Expect(c.Pubrec(11).ReasonIn(codec.ReasonSuccess, codec.ReasonNoMatchingSubscribers))
		t.Sleep(2 * time.Second)
		pub.Send(&codec.Pubrel{PacketID: 11})
		pub.Expect(c.Pubcomp(11))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-sender-no-expiry-after-send",
	Title:      "a QoS 2 message already sent to a subscriber is re-sent on reconnect even though its 1 s Message Expiry Interval has passed",
	Statements: []string{"MQTT-4.3.3-7", "MQTT-4.4.0-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic, id := t.Topic("q2"), t.ClientID()
		sub := persistentSub(t, "sub1", id, topic, 2)
		p := &codec.Publish{Topic: topic, QoS: 2, Payload: b("in flight")}
		p.Properties.SetMessageExpiry(1)
		t.Pub("pub").Publish(p)
		first := sub.ExpectPublish(c.Publish(topic, b("in flight"), 2))
		sub.Close()
		t.Sleep(2200 * time.Millisecond)
		again := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		again.Receive(c.Publish(topic, b("in flight"), 2).Dup(true).ID(first.PacketID))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/client-pubrec-error-ends-flow",
	Title:      "a subscriber's PUBREC with reason 0x80 ends the QoS 2 flow: the server sends no PUBREL",
	Statements: []string{"MQTT-4.3.3-4"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("q2")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "refused", 2, false)
		p := sub.ExpectPublish(c.Publish(topic, b("refused"), 2))
		sub.Send(&codec.Pubrec{PacketID: p.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
		// The next message must come without a PUBREL for the refused one in between.
		pub.PublishMsg(topic, "next", 1, false)
		sub.Receive(c.Publish(topic, b("next"), 1))
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.3/qos2-refused-id-is-new-again",
	Title:      "after the server refuses a QoS 2 PUBLISH with PUBREC 0x80 or above, a PUBLISH with the same identifier is a new message: answered with PUBREC 0x00 and delivered",
	Statements: []string{"MQTT-4.3.3-9", "MQTT-4.4.0-2"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureDeniedTopic, c.FeatureQoS2},
	Run: func(t *c.T) {
		topic := t.Topic("new")
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: t.Target.DeniedTopic, QoS: 2, PacketID: 21, Payload: []byte("refused")})
		p, closed := pub.Next(t.Timeouts.Step)
		switch rec, ok := p.(*codec.Pubrec); {
		case closed:
			t.Skipf("the server closed the connection instead of refusing the PUBLISH with a PUBREC: MQTT-4.3.3-9 cannot be observed")
		case p == nil:
			t.Failf("PUBREC id=21", "nothing", "no answer to a QoS 2 PUBLISH within %v", t.Timeouts.Step)
		case !ok || rec.PacketID != 21:
			t.Failf("PUBREC id=21", p.String(), "unexpected answer to a QoS 2 PUBLISH")
		case !rec.ReasonCode.IsError():
			pub.Send(&codec.Pubrel{PacketID: 21})
			pub.Expect(c.Pubcomp(21))
			// 5.0 has no statement obliging a server to refuse an unauthorized PUBLISH with an
			// error code (it may accept and discard it), so this is not a failure of the ACL.
			t.Skipf("the server accepted the PUBLISH to the denied topic with PUBREC %s instead of refusing it (0x80 or above): MQTT-4.3.3-9 needs a refused QoS 2 PUBLISH", rec.ReasonCode)
		}
		// The refused identifier is free again: the same id carries a new message.
		pub.Send(&codec.Publish{Topic: topic, QoS: 2, PacketID: 21, Payload: []byte("new")})
		pub.Expect(c.Pubrec(21))
		pub.Send(&codec.Pubrel{PacketID: 21})
		pub.Expect(c.Pubcomp(21))
		sub.Receive(c.Publish(topic, []byte("new"), 2))
	},
})
