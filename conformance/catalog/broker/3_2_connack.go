package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.2: CONNACK. Its place as the server's first packet, Session Present, the reason
// codes of a refusal, and the v5 CONNACK properties and what they promise.

var _ = catalog.Broker(c.Case{
	ID:         "3.2/connack-is-first-packet",
	Title:      "with CONNECT, SUBSCRIBE and PINGREQ sent in one write, the server answers CONNACK first (then SUBACK and PINGRESP, in either order)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.2.0-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		b := t.Encode(p, t.Version)
		b = append(b, t.Encode(&codec.Subscribe{PacketID: 7, Subscriptions: []codec.Subscription{{Filter: t.Topic("first")}}}, t.Version)...)
		b = append(b, t.Encode(&codec.Pingreq{}, t.Version)...)
		conn.SendRaw(b, "CONNECT, SUBSCRIBE (id 7), PINGREQ in one write")
		conn.Expect(c.Connack(0))
		// MQTT-3.2.0-1 orders only the CONNACK: the SUBACK and PINGRESP must come (the server
		// accepted the connection), but no statement orders them against each other.
		conn.ExpectUnordered(c.Suback(7, 0), c.Pingresp())
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/session-present-0-on-clean-start",
	Title:      "CONNACK has Session Present 0 when the CONNECT asked for a clean start, even if a session existed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.2.2-1", "5.0:MQTT-3.2.2-2"},
	Run: func(t *c.T) {
		id := t.ClientID()
		first := t.ConnectResume("persist", t.PersistentConnect(id), false)
		first.Subscribe(t.Topic("a"), 1)
		first.Disconnect()
		p := t.DefaultConnect()
		p.ClientID = id
		t.ConnectLabel("clean", p) // Connect checks reason 0x00 and Session Present 0
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/session-present-0-without-session",
	Title:      "CONNACK has Session Present 0 and reason 0x00 for clean start 0 when no session is stored for the client identifier",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.2.2-3", "5.0:MQTT-3.1.2-6"},
	Run: func(t *c.T) {
		t.ConnectResume("fresh", t.PersistentConnect(t.ClientID()), false).Disconnect()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/session-present-1-on-resume",
	Title:      "CONNACK has Session Present 1 when a client with a stored session reconnects without clean start",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.2.2-2", "3.1.1:MQTT-3.1.2-4", "MQTT-3.1.3-2", "3.1.1:MQTT-4.1.0-1", "5.0:MQTT-3.2.2-3", "5.0:MQTT-3.1.2-5", "5.0:MQTT-3.1.2-23"},
	Run: func(t *c.T) {
		id := t.ClientID()
		first := t.ConnectResume("first", t.PersistentConnect(id), false)
		first.Subscribe(t.Topic("a"), 1)
		first.Disconnect()
		t.ConnectResume("second", t.PersistentConnect(id), true).Disconnect()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/connack-reserved-bits-zero",
	Title:      "the CONNACK Acknowledge Flags bits 7-1 are 0, for a new session and for the same client resuming it",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.2.2-1", "MQTT-3.2.2-8"},
	Run: func(t *c.T) {
		reserved0 := func(p codec.Packet) error {
			if f := p.(*codec.Connack).ReservedFlags; f != 0 {
				return fmt.Errorf("reserved acknowledge flags are 0x%02X", f<<1)
			}
			return nil
		}
		id := t.ClientID()
		for _, label := range []string{"new", "resumed"} {
			// The second CONNACK resumes the session the first created: its flags byte is the one
			// with a bit set, where a wrong one would show. Session Present itself is judged by
			// the 3.2/session-present-* cases.
			conn := t.Dial(label)
			conn.Send(t.PersistentConnect(id))
			conn.Expect(c.Type(codec.CONNACK).Reason(0).Where("acknowledge flags bits 7-1 = 0", reserved0))
			conn.Disconnect()
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/refused-connack-session-present-0",
	Title:      "a CONNACK refusing a client with a stored session (bad password) has Session Present 0, and the connection is closed",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureCredentials},
	Statements: []string{"3.1.1:MQTT-3.2.2-4", "3.1.1:MQTT-3.2.2-5", "5.0:MQTT-3.2.2-6", "MQTT-3.2.2-7", "MQTT-4.13.2-1"},
	Run: func(t *c.T) {
		id := t.ClientID()
		first := t.ConnectResume("good", t.PersistentConnect(id), false)
		first.Subscribe(t.Topic("a"), 0)
		first.Disconnect()
		p := t.PersistentConnect(id)
		p.Password = []byte(t.Target.BadPassword)
		conn := t.Dial("bad")
		conn.Send(p)
		// The CONNACK is optional (a SHOULD in 3.1.1, a MAY in 5.0); ExpectClosed checks
		// Session Present 0 on it when it comes.
		conn.ExpectClosed(c.OrConnack(badCredentialCodes(t)...))
	},
})

// --- v5 CONNACK properties ---

var _ = catalog.Broker(c.Case{
	ID:         "3.2/maximum-qos-subscribe-accepted",
	Title:      "a SUBSCRIBE asking for QoS 2 is granted min(2, Maximum QoS), not refused, whatever QoS the server supports",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.2.2-10", "MQTT-3.2.2-9", "MQTT-3.9.3-2"},
	Run: func(t *c.T) {
		skipUnlessAnnounced(t, c.FeatureQoS2)
		conn := t.Connect(t.DefaultConnect())
		// Conn.Subscribe asks for no more than Maximum QoS; this case asks for 2 whatever it is.
		id := subscribeMany(conn, nil, codec.Subscription{Filter: t.Topic("maxqos"), QoS: 2})
		conn.Expect(c.Suback(id, codec.ReasonCode(grant(t, 2))))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/maximum-qos-supported",
	Title:      "the QoS the CONNACK announces as Maximum QoS (2 when absent) is supported: a PUBLISH at that QoS completes its flow and is delivered",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.2.2-9"},
	Run: func(t *c.T) {
		topic := t.Topic("maxqos")
		// The subscription gets what the target grants (discovery lowers Maximum QoS to it);
		// what it grants is the grant cases' concern, the QoS it accepts in a PUBLISH is this one's.
		sub := t.Sub("sub", topic, 2)
		pub := t.Pub("pub")
		q := byte(2)
		if pr := &pub.Connack.Properties; pr.Has(codec.PropMaximumQoS) {
			q = pr.MaximumQoS
		}
		if q > t.Caps.MaximumQoS {
			for _, f := range t.Target.Disable {
				if f == c.FeatureQoS1 || f == c.FeatureQoS2 {
					t.Skipf("the CONNACK announces Maximum QoS %d but the target descriptor disables %s (--disable): the case checks that the announced maximum is supported", q, f)
				}
			}
		}
		t.Logf("the CONNACK announces Maximum QoS %d: publishing at it", q)
		pub.PublishMsg(topic, "at maximum", q, false)
		sub.Receive(c.Publish(topic, []byte("at maximum"), min(q, t.Caps.MaximumQoS)))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/will-qos-above-maximum-refused",
	Title:      "a CONNECT whose Will QoS exceeds the server's Maximum QoS is refused (CONNACK 0x80 or above allowed) and the connection closed",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.2.2-12", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		if t.Caps.MaximumQoS == 2 {
			t.Skipf("the server supports QoS 2")
		}
		skipUnlessAnnounced(t, c.FeatureQoS2, c.FeatureQoS1)
		conn := t.Dial("")
		conn.Send(willConnect(t, t.Topic("will"), "w", t.Caps.MaximumQoS+1, false))
		conn.ExpectClosed(c.OrConnack(connackRefusals...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/will-qos-above-maximum-0x9b",
	Title:      "a CONNECT whose Will QoS exceeds the server's Maximum QoS gets CONNACK 0x9B (QoS not supported)",
	Versions:   c.V5,
	Level:      c.Should,
	Statements: []string{"mqttspec-5.0-3.2.2-should-1"},
	Run: func(t *c.T) {
		if t.Caps.MaximumQoS == 2 {
			t.Skipf("the server supports QoS 2")
		}
		skipUnlessAnnounced(t, c.FeatureQoS2, c.FeatureQoS1)
		conn := t.Dial("")
		conn.Send(willConnect(t, t.Topic("will"), "w", t.Caps.MaximumQoS+1, false))
		conn.ExpectClosed(c.WithConnack(codec.ReasonQoSNotSupported))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/will-retain-unavailable-refused",
	Title:      "a CONNECT with Will Retain 1 to a server with Retain Available 0 is refused (CONNACK 0x80 or above allowed) and the connection closed",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.2.2-13", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		if t.Caps.RetainAvailable {
			t.Skipf("the server supports retained messages")
		}
		skipUnlessAnnounced(t, c.FeatureRetain)
		conn := t.Dial("")
		conn.Send(willConnect(t, t.Topic("will"), "w", 0, true))
		conn.ExpectClosed(c.OrConnack(connackRefusals...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/will-retain-unavailable-0x9a",
	Title:      "a CONNECT with Will Retain 1 to a server with Retain Available 0 gets CONNACK 0x9A (Retain not supported)",
	Versions:   c.V5,
	Level:      c.Should,
	Statements: []string{"mqttspec-5.0-3.2.2-should-2"},
	Run: func(t *c.T) {
		if t.Caps.RetainAvailable {
			t.Skipf("the server supports retained messages")
		}
		skipUnlessAnnounced(t, c.FeatureRetain)
		conn := t.Dial("")
		conn.Send(willConnect(t, t.Topic("will"), "w", 0, true))
		conn.ExpectClosed(c.WithConnack(codec.ReasonRetainNotSupported))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/no-response-information-unless-requested",
	Title:      "with Request Response Information 0 the CONNACK carries no Response Information (skipped when the server sends none even when asked)",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-28"},
	Run: func(t *c.T) {
		// A server that never sends Response Information passes trivially: first ask for it.
		ask := t.DefaultConnect()
		ask.Properties.SetRequestResponseInfo(1)
		asked := t.ConnectLabel("asks", ask)
		has := asked.Connack.Properties.Has(codec.PropResponseInfo)
		asked.Disconnect()
		if !has {
			t.Skipf("the server sends no Response Information even with Request Response Information 1 (it is optional): MQTT-3.1.2-28 has nothing to withhold")
		}
		p := t.DefaultConnect()
		p.Properties.SetRequestResponseInfo(0)
		conn := t.Dial("")
		conn.Send(p)
		conn.Expect(c.Connack(0).NoProp(codec.PropResponseInfo))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/no-reason-string-unless-allowed",
	Title:      "with Request Problem Information 0, the PUBACK, UNSUBACK and PUBCOMP that carry a Reason String or User Property when asked with 1 carry neither (skipped when the server never sends them)",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Statements: []string{"MQTT-3.1.2-29"},
	Run: func(t *c.T) {
		stimuli := append(deniedPublish(t, 1), publishNobody(t, 1), unsubscribeNever(t))
		if t.Caps.Has(c.FeatureQoS2) {
			stimuli = append(stimuli, stimulus{what: "PUBREL for an unknown packet identifier", want: codec.PUBCOMP, pkts: func() []codec.Packet {
				return []codec.Packet{&codec.Pubrel{PacketID: 9}}
			}})
		}
		// The rule binds only a server that explains when asked: find the answers that carry a
		// Reason String or User Property with Request Problem Information 1, then ask again
		// with 0.
		for _, e := range findExplained(t, stimuli...) {
			p := t.DefaultConnect()
			p.Properties.SetRequestProblemInfo(0)
			conn := t.ConnectLabel("quiet", p)
			e.send(conn)
			conn.Expect(c.Type(e.want).ID(9).NoProp(codec.PropReasonString).NoProp(codec.PropUserProperty))
			conn.Disconnect()
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/connack-within-maximum-packet-size",
	Title:      "a CONNACK that carries a Reason String or User Property when there is room leaves them out for a client whose Maximum Packet Size they would exceed (skipped when the server never sends them)",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.2.2-19", "MQTT-3.2.2-20"},
	Run: func(t *c.T) {
		// The rule binds only a CONNACK that would carry them: first see whether the server's
		// CONNACK does, without a limit.
		p := t.DefaultConnect()
		p.Properties.SetRequestProblemInfo(1)
		probe := t.ConnectLabel("probe", p)
		ack := *probe.Connack
		probe.Disconnect()
		if !hasDiagnostics(&ack) {
			t.Skipf("the server's CONNACK carries no Reason String or User Property even without a size limit: MQTT-3.2.2-19/20 have nothing to leave out")
		}
		full := packetSize(t, &ack)
		limit := max(full-1, bareSize(t, &ack))
		if limit >= full {
			t.Skipf("the CONNACK is as small as it can be (%d bytes)", full)
		}
		p = t.DefaultConnect()
		p.Properties.SetMaximumPacketSize(limit).SetRequestProblemInfo(1)
		conn := t.Dial("limited")
		conn.Send(p)
		checkFits(t, conn.Expect(c.Connack(0)), limit)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/maximum-packet-size-enforced",
	Title:      "a PUBLISH larger than the Maximum Packet Size the server announced closes the connection (DISCONNECT 0x95 allowed first)",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.2.2-15", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		limit := t.Caps.MaximumPacketSize
		if limit == 0 || limit > 1<<20 {
			t.Skipf("the server announces no Maximum Packet Size of at most 1 MiB (got %d)", limit)
		}
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Publish{Topic: t.Topic("big"), Payload: make([]byte, limit)})
		conn.ExpectClosed(c.OrDisconnect(codec.ReasonPacketTooLarge))
	},
})

// skipUnlessAnnounced skips a case about how the server enforces a limit it announced in
// CONNACK when the limit the case would read (Maximum QoS, Retain Available) is lower only
// because the descriptor disables the feature (--disable): the target announced more, so it has
// no such limit to enforce.
func skipUnlessAnnounced(t *c.T, fs ...c.Feature) {
	for _, f := range fs {
		if t.Caps.LoweredByDescriptor(f) {
			t.Skipf("%s is disabled in the target descriptor (--disable) but the CONNACK announces it: the case checks how the server enforces its announced limit", f)
		}
	}
}

// badCredentialCodes are the refusal codes a wrong password may get: bad user name or password,
// or not authorized.
func badCredentialCodes(t *c.T) []codec.ReasonCode {
	if t.V5() {
		return []codec.ReasonCode{codec.ReasonBadUsernameOrPassword, codec.ReasonNotAuthorized}
	}
	return []codec.ReasonCode{codec.ConnRefusedBadUsernamePassword, codec.ConnRefusedNotAuthorized}
}
