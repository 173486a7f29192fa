package client

import (
	"fmt"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.2: how the client treats the CONNACK — refusals and redirections, Session Present,
// and the server's limits announced in 5.0 CONNACK properties (Maximum QoS, Retain Available,
// Maximum Packet Size, Topic Alias Maximum, Assigned Client Identifier).

func init() {
	for _, r := range []struct {
		id, what string
		code     codec.ReasonCode
		ref      string
	}{
		{"3.2/refused-connack-closes", "a refusing CONNACK (0x87 Not authorized)", codec.ReasonNotAuthorized, ""},
		{"3.2/use-another-server-closes", "CONNACK 0x9C (Use another server) with a Server Reference", codec.ReasonUseAnotherServer, "127.0.0.1:1"},
		{"3.2/server-moved-closes", "CONNACK 0x9D (Server moved) with a Server Reference", codec.ReasonServerMoved, "127.0.0.1:1"},
	} {
		catalog.Client(c.Case{
			ID:         r.id,
			Title:      "after " + r.what + " the client closes the connection and sends nothing more on it",
			Versions:   c.V5,
			Level:      c.Must,
			Statements: []string{"MQTT-4.13.2-1"},
			Run: func(t *c.T) {
				t.StartClient(c.Action{Op: c.OpPublish, Topic: t.Topic("refused"), Message: []byte("m")})
				conn, _ := accept(t, "")
				ack := &codec.Connack{ReasonCode: r.code}
				if r.ref != "" {
					ack.Properties.SetServerReference(r.ref)
				}
				conn.Send(ack)
				closes(t, conn) // a pointless DISCONNECT first is not what MQTT-4.13.2-1 forbids
			},
		})
	}

	catalog.Client(c.Case{
		ID:         "3.2/session-present-without-session",
		Title:      "a client that started clean and gets Session Present 1 closes the connection",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.2.2-4"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpPublish, Topic: t.Topic("sp"), Message: []byte("m")})
			conn, cp := accept(t, "")
			if !cp.CleanStart { // then it may have a session, and the statement does not apply
				t.Skipf("the client was asked to start clean and sent Clean Start 0: %s", cp)
			}
			connack(t, conn, true, nil)
			// The statement asks for the close; a DISCONNECT first (0x82 would fit) is allowed
			// and its code is not what MQTT-3.2.2-4 judges.
			closes(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.2/session-present-0-discards-session",
		Title:      "a client whose resumed session the server lost (Session Present 0) does not resend the messages of that session",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.2.2-5"},
		Run: func(t *c.T) {
			topic := t.Topic("lost")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1, KeepSession: true, Reconnect: true})
			conn, cp := accept(t, "first")
			persistent(t, cp)
			connack(t, conn, false, nil)
			conn.ExpectPublish(c.Publish(topic, []byte("m"), 1))
			conn.Close() // no PUBACK: the message stays in the client's session
			conn2, cp2 := accept(t, "second")
			t.Check(!cp2.CleanStart, "Clean Start 0", "Clean Start 1", "the reconnecting client did not ask to resume its session: %s", cp2)
			connack(t, conn2, false, nil)
			// The session is gone on both sides: the PUBLISH must not come again (a new message
			// would be the application's business; this client publishes once). It may leave.
			quietOrLeaves(t, conn2, 2*time.Second)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.2/maximum-qos",
		Title:      "told Maximum QoS 0, a client asked to publish at QoS 1 sends no QoS 1 PUBLISH",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.2.2-11"},
		Run: func(t *c.T) {
			topic := t.Topic("maxqos")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1})
			conn, _ := accept(t, "")
			connack(t, conn, false, func(p *codec.Properties) { p.SetMaximumQoS(0) })
			// Downgrading to QoS 0 or refusing the message are both allowed, and so is any way
			// of ending the connection: the statement forbids only the QoS 1 PUBLISH.
			sendsOnly(t, conn, "no PUBLISH above QoS 0", func(p codec.Packet) error {
				if pub, ok := p.(*codec.Publish); ok && pub.QoS > 0 {
					return fmt.Errorf("QoS %d; the server's Maximum QoS is 0", pub.QoS)
				}
				return nil
			})
		},
	})

	catalog.Client(c.Case{
		ID:         "3.2/retain-not-available",
		Title:      "told Retain Available 0, a client asked to publish a retained message sends no PUBLISH with RETAIN 1",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.2.2-14"},
		Run: func(t *c.T) {
			topic := t.Topic("retain")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), Retain: true})
			conn, _ := accept(t, "")
			connack(t, conn, false, func(p *codec.Properties) { p.SetRetainAvailable(0) })
			sendsOnly(t, conn, "no PUBLISH with RETAIN 1", func(p codec.Packet) error {
				if pub, ok := p.(*codec.Publish); ok && pub.Retain {
					return fmt.Errorf("RETAIN 1; the server announced Retain Available 0")
				}
				return nil
			})
		},
	})

	catalog.Client(c.Case{
		ID:         "3.2/maximum-packet-size",
		Title:      "told a Maximum Packet Size of 64, a client asked to publish a 100-byte payload does not send that PUBLISH",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.2.2-15"},
		Run: func(t *c.T) {
			topic := t.Topic("big")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte(strings.Repeat("x", 100))})
			conn, _ := accept(t, "")
			connack(t, conn, false, func(p *codec.Properties) { p.SetMaximumPacketSize(64) })
			sendsOnly(t, conn, "packets of at most 64 bytes", maxSize(codec.V5, 64))
		},
	})

	catalog.Client(c.Case{
		ID:         "3.2/maximum-packet-size-acks",
		Title:      "under a Maximum Packet Size just above its SUBSCRIBE, the client's PUBACK, PUBREC, PUBCOMP and DISCONNECT fit too",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.2.2-15", "MQTT-3.4.2-2", "MQTT-3.4.2-3", "MQTT-3.5.2-2", "MQTT-3.5.2-3", "MQTT-3.7.2-2", "MQTT-3.7.2-3", "MQTT-3.14.2-3", "MQTT-3.14.2-4"},
		Run: func(t *c.T) {
			topic := t.Topic("acks")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: topic, QoS: 2, Count: 3})
			conn, _ := accept(t, "")
			// The limit is announced before the SUBSCRIBE exists; its size is known from the
			// topic: fixed header 2, id 2, property length 1, filter 2+len, options 1.
			limit := uint32(2 + 2 + 1 + 2 + len(topic) + 1 + 8)
			connack(t, conn, false, func(p *codec.Properties) { p.SetMaximumPacketSize(limit) })
			fits := maxSize(codec.V5, limit)
			sub := conn.Expect(c.Type(codec.SUBSCRIBE).Where("fits", fits)).(*codec.Subscribe)
			conn.Send(&codec.Suback{PacketID: sub.PacketID, ReasonCodes: []codec.ReasonCode{2}})
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("1"), QoS: 1, PacketID: 1})
			conn.Expect(c.Puback(1).Where("fits", fits))
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("2"), QoS: 2, PacketID: 2})
			conn.Expect(c.Pubrec(2).Where("fits", fits))
			conn.Send(&codec.Pubrel{PacketID: 2})
			conn.Expect(c.Pubcomp(2).Where("fits", fits))
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("3")})
			conn.Expect(c.Disconnect(codec.ReasonSuccess).Where("fits", fits))
			conn.ExpectClosed()
		},
	})

	catalog.Client(c.Case{
		ID:         "3.2/maximum-packet-size-pubrel",
		Title:      "under a Maximum Packet Size just above its PUBLISH, the client's PUBREL fits too",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.2.2-15", "MQTT-3.6.2-2", "MQTT-3.6.2-3"},
		Run: func(t *c.T) {
			topic := t.Topic("rel")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 2})
			conn, _ := accept(t, "")
			limit := uint32(2 + 2 + len(topic) + 2 + 1 + 1 + 8)
			connack(t, conn, false, func(p *codec.Properties) { p.SetMaximumPacketSize(limit) })
			fits := maxSize(codec.V5, limit)
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 2).Where("fits", fits))
			conn.Send(&codec.Pubrec{PacketID: pub.PacketID})
			conn.Expect(c.Pubrel(pub.PacketID).Where("fits", fits))
			conn.Send(&codec.Pubcomp{PacketID: pub.PacketID})
			conn.Expect(c.Disconnect(codec.ReasonSuccess).Where("fits", fits))
			conn.ExpectClosed()
		},
	})

	catalog.Client(c.Case{
		ID:         "3.2/topic-alias-maximum-absent",
		Title:      "without a Topic Alias Maximum in CONNACK, the client's PUBLISH packets carry no Topic Alias",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.2.2-18"},
		Run: func(t *c.T) {
			topic := t.Topic("noalias")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), Count: 3})
			conn, _ := connected(t, "")
			for range 3 {
				conn.ExpectPublish(c.Publish(topic, []byte("m"), 0).NoProp(codec.PropTopicAlias))
			}
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.2/topic-alias-maximum",
		Title:      "told Topic Alias Maximum 1, the client uses no Topic Alias but 1, and sends an empty topic only with an alias it set before",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.2.2-17", "MQTT-3.3.2-8", "MQTT-3.3.2-9"},
		Run: func(t *c.T) {
			topic := t.Topic("alias")
			t.StartClient(c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), Count: 3})
			conn, _ := accept(t, "")
			connack(t, conn, false, func(p *codec.Properties) { p.SetTopicAliasMaximum(1) })
			set := false
			for i := range 3 {
				pub := conn.ExpectPublish(c.AnyPublish().QoS(0).Dup(false).Retain(false).Payload([]byte("m")))
				if pub.Properties.Has(codec.PropTopicAlias) {
					t.Check(pub.Properties.TopicAlias == 1, "Topic Alias 1", fmt.Sprint(pub.Properties.TopicAlias),
						"PUBLISH %d uses Topic Alias %d; the server allows 1 only", i+1, pub.Properties.TopicAlias)
					if pub.Topic != "" {
						c.Equal(t, "topic of the PUBLISH that sets the alias", pub.Topic, topic)
						set = true
					}
				}
				if pub.Topic == "" {
					t.Check(set && pub.Properties.Has(codec.PropTopicAlias), "an alias set earlier on this connection", pub.String(),
						"PUBLISH %d has an empty topic without an alias the client set before", i+1)
				} else {
					c.Equal(t, "topic", pub.Topic, topic)
				}
			}
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.2/assigned-client-id",
		Title:      "a client that connected without an identifier resumes its session with the Assigned Client Identifier",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.3-2", "MQTT-4.4.0-1"},
		Run: func(t *c.T) {
			topic := t.Topic("assigned")
			conn, cp := startOrRefuse(t, c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m"), QoS: 1, KeepSession: true, Reconnect: true, EmptyClientID: true}, false)
			if conn == nil {
				t.Skipf("the client does not connect without a client identifier when asked for a persistent session")
			}
			if cp.ClientID != "" {
				t.Skipf("the client sent the identifier %q instead of a zero-length one", cp.ClientID)
			}
			persistent(t, cp)
			assigned := t.ClientID()
			connack(t, conn, false, func(p *codec.Properties) { p.SetAssignedClientID(assigned) })
			pub := conn.ExpectPublish(c.Publish(topic, []byte("m"), 1))
			conn.Close()
			conn2, cp2 := accept(t, "second")
			c.Equal(t, "ClientID of the reconnection", cp2.ClientID, assigned)
			t.Check(!cp2.CleanStart, "Clean Start 0", "Clean Start 1", "the reconnecting client did not ask to resume its session: %s", cp2)
			connack(t, conn2, true, nil)
			conn2.Receive(c.Publish(topic, []byte("m"), 1).Dup(true).ID(pub.PacketID))
			leaves(t, conn2)
		},
	})
}

// maxSize checks that a packet, as encoded, is at most limit bytes.
func maxSize(v codec.Version, limit uint32) func(codec.Packet) error {
	return func(p codec.Packet) error {
		b, err := p.AppendTo(nil, v)
		if err != nil {
			return err
		}
		if uint32(len(b)) > limit {
			return fmt.Errorf("%v is %d bytes; the server's Maximum Packet Size is %d", p.Type(), len(b), limit)
		}
		return nil
	}
}
