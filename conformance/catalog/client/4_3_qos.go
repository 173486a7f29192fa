package client

import (
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.3: the QoS 1 and QoS 2 flows, with the client as sender (PUBLISH, PUBREL) and as
// receiver (PUBACK, PUBREC, PUBCOMP), including withheld acknowledgements, duplicates and reused
// packet identifiers.

func init() {
	// --- the client as sender ---

	catalog.Client(c.Case{
		ID:         "4.3/qos1-publish",
		Title:      "a QoS 1 message goes out as a PUBLISH with QoS 1, DUP 0 and a non-zero packet identifier",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.3.2-1", "3.1.1:MQTT-2.3.1-1", "MQTT-3.3.1-4", "5.0:MQTT-4.3.2-2", "5.0:MQTT-2.2.1-3", "5.0:MQTT-3.3.4-6"},
		Run: func(t *c.T) {
			topic := t.Topic("q1")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1})
			conn, _ := connected(t, "")
			// The codec refuses packet identifier 0 (and, on 5.0, a Subscription Identifier
			// from a client) as a malformed packet.
			conn.Receive(c.Publish(topic, []byte("m"), 1).Where("packet identifier ≠ 0", nonZeroID))
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos1-unacknowledged-until-puback",
		Title:      "while the PUBACK is withheld the client keeps the QoS 1 message unacknowledged: it neither leaves nor sends anything (a DUP resend allowed on 3.1.1 only)",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-4.3.2-1", "3.1.1:MQTT-4.1.0-2", "5.0:MQTT-4.3.2-3", "5.0:MQTT-4.4.0-1", "5.0:MQTT-4.1.0-1"},
		Run: func(t *c.T) {
			topic := t.Topic("q1wait")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1})
			conn, _ := connected(t, "")
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 1))
			quietExceptRetry(t, conn, 1500*time.Millisecond, c.Publish(topic, []byte("m"), 1).Dup(true).ID(pub.PacketID))
			conn.Send(&codec.Puback{PacketID: pub.PacketID})
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos2-publish",
		Title:      "a QoS 2 message goes out as PUBLISH (QoS 2, DUP 0, id ≠ 0); PUBREC is answered by PUBREL (flags 0010) with the same id",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.3.3-1", "3.1.1:MQTT-2.3.1-1", "3.1.1:MQTT-2.3.1-6", "MQTT-3.6.1-1", "3.1.1:MQTT-2.2.2-1", "5.0:MQTT-4.3.3-2", "5.0:MQTT-4.3.3-4", "5.0:MQTT-2.2.1-3", "5.0:MQTT-2.2.1-5", "5.0:MQTT-2.1.3-1", "5.0:MQTT-3.6.2-1"},
		Run: func(t *c.T) {
			topic := t.Topic("q2")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2})
			conn, _ := connected(t, "")
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 2).Where("packet identifier ≠ 0", nonZeroID))
			conn.Send(&codec.Pubrec{PacketID: pub.PacketID})
			// The codec checks the PUBREL's fixed-header flags and reason code.
			conn.Expect(c.Pubrel(pub.PacketID))
			conn.Send(&codec.Pubcomp{PacketID: pub.PacketID})
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos2-unacknowledged-until-pubrec",
		Title:      "while the PUBREC is withheld the client neither sends PUBREL nor leaves nor sends anything else (a DUP resend allowed on 3.1.1 only)",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-4.3.3-1", "5.0:MQTT-4.3.3-3", "5.0:MQTT-4.4.0-1"},
		Run: func(t *c.T) {
			topic := t.Topic("q2wait")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2})
			conn, _ := connected(t, "")
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 2))
			quietExceptRetry(t, conn, 1500*time.Millisecond, c.Publish(topic, []byte("m"), 2).Dup(true).ID(pub.PacketID))
			conn.Send(&codec.Pubrec{PacketID: pub.PacketID})
			conn.Expect(c.Pubrel(pub.PacketID))
			conn.Send(&codec.Pubcomp{PacketID: pub.PacketID})
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos2-pubrel-until-pubcomp",
		Title:      "while the PUBCOMP is withheld the client neither resends the PUBLISH nor leaves (a PUBREL resend allowed on 3.1.1 only)",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-4.3.3-1", "5.0:MQTT-4.3.3-5", "5.0:MQTT-4.3.3-6"},
		Run: func(t *c.T) {
			topic := t.Topic("q2comp")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2})
			conn, _ := connected(t, "")
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 2))
			conn.Send(&codec.Pubrec{PacketID: pub.PacketID})
			conn.Expect(c.Pubrel(pub.PacketID))
			quietExceptRetry(t, conn, 1500*time.Millisecond, c.Pubrel(pub.PacketID)) // never the PUBLISH again
			conn.Send(&codec.Pubcomp{PacketID: pub.PacketID})
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos2-expiry-not-applied-after-send",
		Title:      "a QoS 2 message whose Message Expiry passes while its PUBREC is withheld still gets its PUBREL",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-4.3.3-7"},
		Run: func(t *c.T) {
			topic := t.Topic("q2exp")
			var props codec.Properties
			props.SetMessageExpiry(1)
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2, PublishProps: &props})
			conn, _ := connected(t, "")
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 2))
			if !pub.Properties.Has(codec.PropMessageExpiry) { // the statement is about one that expires
				t.Skipf("the client sent the PUBLISH without the Message Expiry Interval it was given")
			}
			quietExceptRetry(t, conn, 2*time.Second, c.Publish(topic, []byte("m"), 2).Dup(true).ID(pub.PacketID))
			conn.Send(&codec.Pubrec{PacketID: pub.PacketID})
			conn.Expect(c.Pubrel(pub.PacketID))
			conn.Send(&codec.Pubcomp{PacketID: pub.PacketID})
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/pubrec-error-ends-flow",
		Title:      "a PUBREC with reason 0x80 ends the QoS 2 flow: no PUBREL follows and the PUBLISH is not resent",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-4.3.3-4", "MQTT-4.4.0-2"},
		Run: func(t *c.T) {
			topic := t.Topic("q2err")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2})
			conn, _ := connected(t, "")
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 2))
			conn.Send(&codec.Pubrec{PacketID: pub.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/packet-ids-unique-in-flight",
		Title:      "three QoS 1 messages in flight at once carry three different non-zero packet identifiers",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-2.3.1-2", "MQTT-4.3.2-1", "5.0:MQTT-2.2.1-3"},
		Run: func(t *c.T) {
			topic := t.Topic("ids")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1, Count: 3})
			conn, _ := connected(t, "")
			pubs := inFlight(t, conn, c.Publish(topic, []byte("m"), 1).Where("packet identifier ≠ 0", nonZeroID), 3)
			seen := map[uint16]bool{}
			for _, p := range pubs {
				t.Check(!seen[p.PacketID], "distinct packet identifiers", fmt.Sprint(p.PacketID),
					"packet identifier %d is used by two unacknowledged PUBLISH packets", p.PacketID)
				seen[p.PacketID] = true
			}
			for _, p := range pubs {
				conn.Send(&codec.Puback{PacketID: p.PacketID})
			}
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos2-ids-unique-until-pubcomp",
		Title:      "a QoS 2 identifier stays in use until its PUBCOMP: the next message, sent while the PUBREL is unanswered, takes another",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-2.3.1-2", "MQTT-4.3.3-1", "5.0:MQTT-2.2.1-3"},
		Run: func(t *c.T) {
			topic := t.Topic("ids2")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2, Count: 2})
			conn, _ := connected(t, "")
			first := conn.ExpectPublish(c.Publish(topic, []byte("m"), 2))
			// A client that pipelines sends the second PUBLISH at once; hold the PUBREC until
			// it came, or until it is clear the client waits for the first flow to end.
			var second *codec.Publish
			if p, closed := conn.Next(time.Second); p != nil {
				second = is(t, conn, p, c.Publish(topic, []byte("m"), 2))
			} else if closed {
				t.Failf("the second PUBLISH", "connection closed", "the client closed the connection")
			}
			conn.Send(&codec.Pubrec{PacketID: first.PacketID})
			conn.Expect(c.Pubrel(first.PacketID))
			if second == nil {
				// Not sent yet: it may come now, while the PUBREL awaits its PUBCOMP.
				p, closed := conn.Next(time.Second)
				if p == nil || closed {
					t.Skipf("the client sends the next QoS 2 message only after the flow of the previous one ends")
				}
				second = is(t, conn, p, c.Publish(topic, []byte("m"), 2))
			}
			id2 := second.PacketID
			t.Check(id2 != first.PacketID, "another packet identifier", fmt.Sprint(id2),
				"the second PUBLISH reuses identifier %d while its PUBREL awaits PUBCOMP", id2)
			conn.Send(&codec.Pubcomp{PacketID: first.PacketID})
			conn.Send(&codec.Pubrec{PacketID: id2})
			conn.Expect(c.Pubrel(id2))
			conn.Send(&codec.Pubcomp{PacketID: id2})
			leaves(t, conn)
		},
	})

	// --- the client as receiver ---

	catalog.Client(c.Case{
		ID:         "4.3/receive-qos0",
		Title:      "a QoS 0 PUBLISH from the server gets no acknowledgement",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.3.4-1", "MQTT-4.5.0-2"},
		Run: func(t *c.T) {
			topic := t.Topic("r0")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 0})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 0)
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("m")})
			leaves(t, conn) // the one message arrived: the client leaves, acknowledging nothing
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/receive-qos1",
		Title:      "a QoS 1 PUBLISH from the server is answered by PUBACK with its packet identifier",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.3.4-1", "3.1.1:MQTT-4.3.2-2", "3.1.1:MQTT-2.3.1-6", "MQTT-4.5.0-2", "5.0:MQTT-4.3.2-4", "5.0:MQTT-2.2.1-5", "5.0:MQTT-3.4.2-1"},
		Run: func(t *c.T) {
			topic := t.Topic("r1")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 1, Count: 2})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 1)
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("m"), QoS: 1, PacketID: 4242})
			conn.Expect(c.Puback(4242))
			lastMessage(t, conn, topic)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/receive-qos2",
		Title:      "a QoS 2 PUBLISH from the server is answered by PUBREC, and the PUBREL by PUBCOMP, each with its packet identifier",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.3.4-1", "3.1.1:MQTT-4.3.3-2", "3.1.1:MQTT-2.3.1-6", "MQTT-4.5.0-2", "5.0:MQTT-4.3.3-8", "5.0:MQTT-4.3.3-11", "5.0:MQTT-2.2.1-5", "5.0:MQTT-3.5.2-1", "5.0:MQTT-3.7.2-1"},
		Run: func(t *c.T) {
			topic := t.Topic("r2")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 2, Count: 2})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 2)
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("m"), QoS: 2, PacketID: 777})
			conn.Expect(c.Pubrec(777))
			conn.Send(&codec.Pubrel{PacketID: 777})
			conn.Expect(c.Pubcomp(777))
			lastMessage(t, conn, topic)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/receive-qos1-unsubscribed-topic",
		Title:      "a QoS 1 PUBLISH on a topic the client did not subscribe to is still acknowledged",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.5.0-2"},
		Run: func(t *c.T) {
			topic := t.Topic("r1")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 1, Count: 2})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 1)
			conn.Send(&codec.Publish{Topic: t.Topic("elsewhere"), Payload: []byte("stray"), QoS: 1, PacketID: 11})
			conn.Expect(c.Puback(11))
			// Whether the client counts the stray message towards the one it waits for is its
			// business: the case ends here.
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos1-same-id-is-new-message",
		Title:      "after its PUBACK, a QoS 1 PUBLISH with the same packet identifier (even DUP 1) is a new message, delivered and acknowledged",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-4.3.2-2", "5.0:MQTT-4.3.2-5"},
		Run: func(t *c.T) {
			topic := t.Topic("reuse1")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 1, Count: 3})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 1)
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("one"), QoS: 1, PacketID: 7})
			conn.Expect(c.Puback(7))
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("two"), QoS: 1, PacketID: 7, Dup: true})
			conn.Expect(c.Puback(7))
			// The client leaves after its third message only if it counted the second.
			lastMessage(t, conn, topic)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos2-duplicate-before-pubrel",
		Title:      "a QoS 2 PUBLISH repeated (DUP 1) before the PUBREL gets PUBREC again but is not delivered twice",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-4.3.3-2", "5.0:MQTT-4.3.3-10"},
		Run: func(t *c.T) {
			topic := t.Topic("dup2")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 2, Count: 2})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 2)
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("one"), QoS: 2, PacketID: 5})
			conn.Expect(c.Pubrec(5))
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("one"), QoS: 2, PacketID: 5, Dup: true})
			conn.Expect(c.Pubrec(5))
			conn.Send(&codec.Pubrel{PacketID: 5})
			conn.Expect(c.Pubcomp(5))
			// One message so far: a client that delivered the duplicate would now have its two
			// messages and leave.
			conn.ExpectNothing(time.Second)
			lastMessage(t, conn, topic)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos2-same-id-after-pubcomp",
		Title:      "after its PUBCOMP, a QoS 2 PUBLISH with the same packet identifier is a new message, delivered and acknowledged",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-4.3.3-2", "5.0:MQTT-4.3.3-12"},
		Run: func(t *c.T) {
			topic := t.Topic("reuse2")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 2, Count: 3})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 2)
			for _, m := range []string{"one", "two"} {
				conn.Send(&codec.Publish{Topic: topic, Payload: []byte(m), QoS: 2, PacketID: 9})
				conn.Expect(c.Pubrec(9))
				conn.Send(&codec.Pubrel{PacketID: 9})
				conn.Expect(c.Pubcomp(9))
			}
			// The third message: a client that took "two" for a duplicate is still waiting.
			lastMessage(t, conn, topic)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.3/qos2-completes-after-expiry",
		Title:      "a QoS 2 flow whose Message Expiry passes before the PUBREL still ends with PUBCOMP",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-4.3.3-13"},
		Run: func(t *c.T) {
			topic := t.Topic("exp2")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 2, Count: 2})
			conn, _ := connected(t, "")
			subscribed(t, conn, topic, 2)
			p := &codec.Publish{Topic: topic, Payload: []byte("m"), QoS: 2, PacketID: 31}
			p.Properties.SetMessageExpiry(1)
			conn.Send(p)
			conn.Expect(c.Pubrec(31))
			t.Sleep(1500 * time.Millisecond)
			conn.Send(&codec.Pubrel{PacketID: 31})
			conn.Expect(c.Pubcomp(31))
			lastMessage(t, conn, topic)
		},
	})
}
