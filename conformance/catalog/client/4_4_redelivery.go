package client

import (
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.4: message delivery retry. The case drops the connection in the middle of a flow;
// the client reconnects (the action asks for a persistent session and reconnection) and must
// resend what is unacknowledged — PUBLISH with DUP 1, or PUBREL — with the original packet
// identifiers and in the original order, when the server says the session is present; and
// nothing when it started clean or the ack was an error.

func init() {
	catalog.Client(c.Case{
		ID:         "4.4/qos1-resent-after-reconnect",
		Title:      "an unacknowledged QoS 1 PUBLISH is resent after reconnecting to the kept session: same client id, DUP 1, same packet identifier",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.4.0-1", "MQTT-3.3.1-1", "3.1.1:MQTT-2.3.1-3", "3.1.1:MQTT-3.1.2-4", "MQTT-3.1.3-2", "3.1.1:MQTT-4.1.0-1", "5.0:MQTT-3.1.2-23"},
		Run: func(t *c.T) {
			topic := t.Topic("re1")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1, KeepSession: true, Reconnect: true})
			conn, cp := accept(t, "first")
			persistent(t, cp)
			connack(t, conn, false, nil)
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 1))
			conn.Close()
			conn2 := resumed(t, cp)
			conn2.Receive(c.Publish(topic, []byte("m"), 1).Dup(true).ID(pub.PacketID))
			leaves(t, conn2)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.4/qos2-publish-resent-after-reconnect",
		Title:      "a QoS 2 PUBLISH without PUBREC is resent after reconnecting (DUP 1, same identifier) and its flow completes",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.4.0-1", "MQTT-3.3.1-1", "3.1.1:MQTT-2.3.1-3", "5.0:MQTT-3.1.2-23"},
		Run: func(t *c.T) {
			topic := t.Topic("re2")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2, KeepSession: true, Reconnect: true})
			conn, cp := accept(t, "first")
			persistent(t, cp)
			connack(t, conn, false, nil)
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 2))
			conn.Close()
			conn2 := resumed(t, cp)
			conn2.Receive(c.Publish(topic, []byte("m"), 2).Dup(true).ID(pub.PacketID)) // and its flow completes
			leaves(t, conn2)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.4/pubrel-resent-after-reconnect",
		Title:      "a PUBREL without PUBCOMP is resent after reconnecting (same identifier), and the PUBLISH is not",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.4.0-1", "3.1.1:MQTT-4.3.3-1", "3.1.1:MQTT-2.3.1-3", "5.0:MQTT-4.3.3-5", "5.0:MQTT-4.3.3-6"},
		Run: func(t *c.T) {
			topic := t.Topic("rel")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2, KeepSession: true, Reconnect: true})
			conn, cp := accept(t, "first")
			persistent(t, cp)
			connack(t, conn, false, nil)
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 2))
			conn.Send(&codec.Pubrec{PacketID: pub.PacketID})
			conn.Expect(c.Pubrel(pub.PacketID))
			conn.Close()
			conn2 := resumed(t, cp)
			conn2.Expect(c.Pubrel(pub.PacketID))
			conn2.Send(&codec.Pubcomp{PacketID: pub.PacketID})
			leaves(t, conn2)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.4/resent-in-order",
		Title:      "three unacknowledged QoS 1 messages are resent after reconnecting in their original order, each with its identifier",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.6.0-1", "MQTT-4.4.0-1"},
		Run: func(t *c.T) {
			topic := t.Topic("order")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1, Count: 3, KeepSession: true, Reconnect: true})
			conn, cp := accept(t, "first")
			persistent(t, cp)
			connack(t, conn, false, nil)
			pubs := inFlight(t, conn, c.Publish(topic, []byte("m"), 1), 3)
			conn.Close()
			conn2 := resumed(t, cp)
			resentInOrder(t, conn2, topic, pubs)
			leaves(t, conn2)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.4/puback-error-not-resent",
		Title:      "a PUBLISH answered by PUBACK 0x80 is not resent after reconnecting; the unacknowledged one is",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-4.4.0-2", "MQTT-4.4.0-1", "MQTT-3.3.1-1"},
		Run: func(t *c.T) {
			topic := t.Topic("err")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1, Count: 2, KeepSession: true, Reconnect: true})
			conn, cp := accept(t, "first")
			persistent(t, cp)
			connack(t, conn, false, nil)
			first := conn.ExpectPublish(c.Publish(topic, []byte("m"), 1))
			conn.Send(&codec.Puback{PacketID: first.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
			second := conn.ExpectPublish(c.Publish(topic, []byte("m"), 1))
			conn.Close()
			conn2 := resumed(t, cp)
			// Only the second comes again: the first was acknowledged, with an error.
			conn2.Receive(c.Publish(topic, []byte("m"), 1).Dup(true).ID(second.PacketID))
			leaves(t, conn2)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.4/no-resend-after-clean-start",
		Title:      "a client that started clean does not resend the unacknowledged PUBLISH of its ended session after reconnecting",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-3.1.2-6", "5.0:MQTT-3.1.2-4"},
		Run: func(t *c.T) {
			topic := t.Topic("clean")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1, Reconnect: true})
			conn, cp := accept(t, "first")
			if !cp.CleanStart { // the driver's failing, not a broken statement
				t.Skipf("the client was asked to start clean and sent Clean Start 0: %s", cp)
			}
			connack(t, conn, false, nil)
			conn.ExpectPublish(c.Publish(topic, []byte("m"), 1))
			conn.Close()
			conn2, cp2 := accept(t, "second")
			if !t.V5() {
				// 3.1.1: CleanSession 1 again, or the client would resume a session it said
				// should end with the connection.
				t.Check(cp2.CleanStart, "CleanSession 1", "CleanSession 0", "the reconnecting client asks for the session it started clean: %s", cp2)
			}
			connack(t, conn2, false, nil)
			quietOrLeaves(t, conn2, 2*time.Second)
		},
	})

	catalog.Client(c.Case{
		ID:         "4.4/receive-pubrel-after-reconnect",
		Title:      "a client that got a QoS 2 PUBLISH, sent PUBREC and lost the connection answers the PUBREL resent on the kept session with PUBCOMP",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-4.4.0-1", "3.1.1:MQTT-4.3.3-2", "3.1.1:MQTT-4.1.0-1", "5.0:MQTT-4.3.3-11", "5.0:MQTT-3.1.2-23"},
		Run: func(t *c.T) {
			topic := t.Topic("rrel")
			// Two messages: the client must not leave after the first, whichever of PUBLISH or
			// PUBREL it delivers it on.
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 2, Count: 2, KeepSession: true, Reconnect: true})
			conn, cp := accept(t, "first")
			persistent(t, cp)
			connack(t, conn, false, nil)
			subscribed(t, conn, topic, 2)
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("m"), QoS: 2, PacketID: 61})
			conn.Expect(c.Pubrec(61))
			conn.Close()
			conn2 := resumed(t, cp)
			afterResume(t, conn2)
			conn2.Send(&codec.Pubrel{PacketID: 61})
			conn2.Expect(c.Pubcomp(61))
			conn2.Send(&codec.Publish{Topic: topic, Payload: []byte("two")})
			leaves(t, conn2)
		},
	})
}

// resumed accepts the client's reconnection, which must ask to resume the session of the first
// CONNECT (same client identifier, Clean Start 0), and answers it with Session Present 1.
func resumed(t *c.T, first *codec.Connect) *c.Conn {
	conn, cp := accept(t, "second")
	c.Equal(t, "ClientID of the reconnection", cp.ClientID, first.ClientID)
	t.Check(!cp.CleanStart, "Clean Start 0", "Clean Start 1", "the reconnecting client discards the session it asked to keep: %s", cp)
	connack(t, conn, true, nil)
	return conn
}

// resentInOrder expects the QoS 1 PUBLISH packets of pubs again on conn, in their order and each
// with its identifier (DUP 1 on a resend is MQTT-3.3.1-1, 4.4/qos1-resent-after-reconnect's
// claim), and acknowledges them. A client may resend them together or one at a time, the next
// after the previous is acknowledged (MQTT.js 5 does: its store stream sends one and waits for
// its PUBACK); neither MQTT-4.4.0-1 nor MQTT-4.6.0-1 asks for them in flight together, so when
// the next resend does not come within a quiet window the oldest unacknowledged one is
// acknowledged, and only silence with nothing left to acknowledge fails.
func resentInOrder(t *c.T, conn *c.Conn, topic string, pubs []*codec.Publish) {
	acked := 0
	for i, want := range pubs {
		m := c.Publish(topic, []byte("m"), 1).AnyDup().ID(want.PacketID)
		var got codec.Packet
		for got == nil {
			wait := t.Timeouts.Step
			if acked < i {
				wait = t.QuietWindow(0)
			}
			p, closed := conn.Next(wait)
			switch {
			case closed:
				t.Failf(m.String(), "connection closed", "[%s] expected %s (resend %d of %d), but the client closed the connection", conn.Label, m, i+1, len(pubs))
			case p != nil:
				got = p
			case acked < i:
				conn.Send(&codec.Puback{PacketID: pubs[acked].PacketID})
				acked++
			default:
				t.Failf(m.String(), fmt.Sprintf("nothing within %v", wait), "[%s] expected %s (resend %d of %d, every earlier one acknowledged), nothing arrived within %v", conn.Label, m, i+1, len(pubs), wait)
			}
		}
		if err := m.Match(got); err != nil {
			t.Failf(m.String(), got.String(), "[%s] expected %s (resend %d of %d), got %s: %v", conn.Label, m, i+1, len(pubs), got, err)
		}
	}
	for ; acked < len(pubs); acked++ {
		conn.Send(&codec.Puback{PacketID: pubs[acked].PacketID})
	}
}
