package broker

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.1: CONNECT. Protocol name and level, connect flags, client identifier, keep alive,
// the v5 CONNECT properties, and the server's actions of section 3.1.4 (validation, session
// takeover, clean start, the CONNACK).

// --- 3.1.0 and 3.1.4: the first packet, validation, rejection ---

var _ = catalog.Broker(c.Case{
	ID:         "3.1/first-packet-must-be-connect",
	Title:      "a connection whose first packet is a PUBLISH is closed without any answer and the PUBLISH is not delivered",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.0-1", "MQTT-4.8.0-1", "MQTT-3.14.0-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		topic := t.Topic("x")
		sub := t.Sub("sub", topic, 0)
		conn := t.Dial("raw")
		conn.Send(&codec.Publish{Topic: topic, Payload: []byte("before connect")})
		// No CONNACK was sent, so a v5 server may not send DISCONNECT either (MQTT-3.14.0-1).
		conn.ExpectClosed()
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/second-connect-is-protocol-error",
	Title:      "a second CONNECT on a connection closes it without a second CONNACK (v5: DISCONNECT 0x82 allowed first)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.0-2", "MQTT-3.2.0-2", "5.0:MQTT-3.14.4-1", "5.0:MQTT-3.14.4-2"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(t.DefaultConnect())
		conn.ExpectClosed(c.OrDisconnect(codec.ReasonProtocolError))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/second-connect-disconnect-0x82",
	Title:      "a second CONNECT gets a DISCONNECT with reason 0x82 (Protocol Error) before the close",
	Versions:   c.V5,
	Level:      c.Should,
	Statements: []string{"mqttspec-5.0-4.13.1-should-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(t.DefaultConnect())
		conn.ExpectClosed(c.WithDisconnect(codec.ReasonProtocolError))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/malformed-connect-connack-0x81",
	Title:      "a malformed CONNECT (reserved flag 1) gets a CONNACK 0x81 (Malformed Packet) before the close",
	Versions:   c.V5,
	Level:      c.May,
	Statements: []string{"mqttspec-5.0-4.13.1-may-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ReservedFlag = true
		conn.Send(p)
		conn.ExpectClosed(c.WithConnack(codec.ReasonMalformedPacket))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/malformed-connect-refusal-code",
	Title:      "a CONNACK refusing a malformed CONNECT (reserved flag 1, Will QoS 3, truncated client identifier) carries 0x81 Malformed Packet (or 0x80, which hides the reason)",
	Versions:   c.V5,
	Level:      c.May,
	Statements: []string{"mqttspec-5.0-4.13.1-may-1"},
	Run: func(t *c.T) {
		// The MUST cases for these CONNECTs require only the close (any refusal code); the code
		// is judged here. A close without CONNACK is allowed and says nothing about the code.
		truncated := func() []byte {
			p := t.DefaultConnect()
			p.UsernameFlag, p.PasswordFlag = false, false
			b := t.Body(t.Encode(p, t.Version))
			at := len(b) - len(p.ClientID) - 2
			n := len(p.ClientID) + 10
			b[at], b[at+1] = byte(n>>8), byte(n)
			return c.Reframe(byte(codec.CONNECT)<<4, b)
		}
		reserved := t.DefaultConnect()
		reserved.ReservedFlag = true
		for _, v := range []struct {
			what string
			raw  []byte
		}{
			{"CONNECT with reserved flag 1", t.Encode(reserved, t.Version)},
			{"CONNECT with Will QoS 3", t.Encode(willConnect(t, t.Topic("will"), "w", 3, false), t.Version)},
			{"CONNECT whose client identifier length exceeds the packet", truncated()},
		} {
			conn := t.Dial("")
			conn.SendRaw(v.raw, v.what)
			conn.ExpectClosed(c.OrConnack(codec.ReasonMalformedPacket, codec.ReasonUnspecifiedError))
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/valid-connect-all-fields-accepted",
	Title:      "a valid CONNECT using every optional field (will with QoS 1, v5 connect and will properties) gets CONNACK 0x00 and a usable connection",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.4-4", "5.0:MQTT-3.1.4-5", "5.0:MQTT-3.2.2-2"},
	Run: func(t *c.T) {
		p := willConnect(t, t.Topic("will"), "w", 1, false)
		p.KeepAlive = 30
		if t.Caps.MaximumQoS < 1 {
			p.Will.QoS = 0
		}
		if t.V5() {
			p.Properties.SetSessionExpiry(0).SetReceiveMaximum(20).SetMaximumPacketSize(1<<20).
				SetTopicAliasMaximum(0).SetRequestResponseInfo(0).SetRequestProblemInfo(1).AddUser("k", "v")
			p.Will.Properties.SetWillDelay(0).SetPayloadFormat(1).SetMessageExpiry(60).SetContentType("text/plain").
				SetResponseTopic(t.Topic("reply")).SetCorrelationData([]byte{1, 2}).AddUser("wk", "wv")
		}
		conn := t.Connect(p)
		conn.ExpectOpen()
		conn.Disconnect()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/connect-truncated",
	Title:      "a CONNECT whose client identifier length runs past the end of the packet is malformed: closed without a CONNACK (v5: CONNACK 0x81 allowed)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.4-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.UsernameFlag, p.PasswordFlag = false, false
		b := t.Body(t.Encode(p, t.Version))
		// The client identifier is the last field: claim 10 more bytes than there are.
		at := len(b) - len(p.ClientID) - 2
		n := len(p.ClientID) + 10
		b[at], b[at+1] = byte(n>>8), byte(n)
		conn := t.Dial("")
		conn.SendRaw(c.Reframe(byte(codec.CONNECT)<<4, b), "CONNECT whose client identifier length exceeds the packet")
		conn.ExpectConnectRefused(nil, malformedOnly)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/connect-trailing-bytes",
	Title:      "a CONNECT with bytes after its last payload field (a user name although User Name Flag is 0) is refused and the connection closed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.4-1", "3.1.1:MQTT-3.1.2-18", "5.0:MQTT-3.1.2-16", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.UsernameFlag, p.PasswordFlag = false, false
		conn := t.Dial("")
		conn.SendRaw(connectWithTrailing(t, p, []byte{0, 4, 'u', 's', 'e', 'r'}), "CONNECT with User Name Flag 0 followed by a user name")
		conn.ExpectConnectRefused(nil, malformedOrProtocol)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/connect-bytes-after-payload",
	Title:      "a CONNECT otherwise acceptable (the target's credentials included) with two bytes after its last payload field is malformed: refused and the connection closed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.4-1"},
	Run: func(t *c.T) {
		// Unlike 3.1/connect-trailing-bytes, the CONNECT carries the target's credentials: a
		// target that requires them could refuse the other for the missing user name alone.
		conn := t.Dial("")
		conn.SendRaw(connectWithTrailing(t, t.DefaultConnect(), []byte{0, 0}), "CONNECT followed by two bytes past its last field")
		conn.ExpectConnectRefused(nil, malformedOrProtocol)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/rejected-connect-stops-processing",
	Title:      "after refusing a CONNECT the server processes nothing sent behind it: a PUBLISH in the same segment is not delivered",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.4-5", "MQTT-3.1.4-6"},
	Run: func(t *c.T) {
		topic := t.Topic("after-reject")
		sub := t.Sub("sub", topic, 0)
		p := t.DefaultConnect()
		p.WillFlag = true
		p.Will = codec.Will{QoS: 3, Topic: t.Topic("will"), Payload: []byte("w")}
		b := t.Encode(p, t.Version)
		b = append(b, t.Encode(&codec.Publish{Topic: topic, Payload: []byte("must not arrive")}, t.Version)...)
		conn := t.Dial("bad")
		conn.SendRaw(b, "CONNECT with Will QoS 3 followed by a PUBLISH in one write")
		conn.ExpectConnectRefused(nil, malformedOrProtocol)
		sub.ExpectNothing(time.Second)
	},
})

// --- 3.1.2.1 and 3.1.2.2: protocol name and level ---

var _ = catalog.Broker(c.Case{
	ID:         "3.1/protocol-name-invalid",
	Title:      "a CONNECT with protocol name MQTX is not accepted: the connection is closed (3.1.1: CONNACK 0x01 allowed; v5: 0x84, 0x81, 0x82)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-1", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.ProtocolName = "MQTX"
		if t.V5() && t.Caps.V311 {
			// The protocol name is what tells the versions apart: a server that also speaks 3.1.1
			// cannot know this CONNECT is a 5.0 one and may refuse it in the 3.1.1 layout
			// (CONNACK 0x01), which a v5 decoder rejects; the answer is read raw.
			expectRefusedAnyLayout(t, p, "the CONNECT with protocol name MQTX", codec.ReasonUnsupportedProtocolVersion, codec.ReasonMalformedPacket, codec.ReasonProtocolError)
			return
		}
		conn := t.Dial("")
		conn.Send(p)
		conn.ExpectConnectRefused([]codec.ReasonCode{codec.ConnRefusedProtocolVersion}, []codec.ReasonCode{codec.ReasonUnsupportedProtocolVersion, codec.ReasonMalformedPacket, codec.ReasonProtocolError})
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/protocol-level-unsupported",
	Title:      "a 3.1.1 CONNECT with protocol level 6 gets CONNACK 0x01 (unacceptable protocol version), Session Present 0, and a close",
	Versions:   c.V311,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-2", "MQTT-3.2.2-4", "MQTT-3.2.2-5"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ProtocolLevel = 6
		conn.Send(p)
		conn.ExpectClosed(c.WithConnack(codec.ConnRefusedProtocolVersion))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/protocol-level-unsupported-0x84",
	Title:      "a CONNECT with protocol level 6 in the v5 layout is refused: the connection is closed, at most after a CONNACK 0x84 (Unsupported Protocol Version), or 0x01 in the 3.1.1 layout from a server that also speaks 3.1.1",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-2", "MQTT-3.2.2-7", "MQTT-4.13.2-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.ProtocolLevel = 6
		if !t.Caps.V311 {
			conn := t.Dial("")
			conn.Send(p)
			conn.ExpectClosed(c.OrConnack(codec.ReasonUnsupportedProtocolVersion))
			return
		}
		// A server that also speaks 3.1.1 may answer as 3.1.1 requires (CONNACK 0x01 in the
		// 3.1.1 layout), which a v5 decoder rejects: the answer is read raw and judged by layout.
		expectRefusedAnyLayout(t, p, "the level-6 CONNECT", codec.ReasonUnsupportedProtocolVersion)
	},
})

// --- 3.1.2.3: connect flags ---

var _ = catalog.Broker(c.Case{
	ID:         "3.1/reserved-flag-set",
	Title:      "a CONNECT whose reserved flag (bit 0) is 1 is malformed: closed without CONNACK (v5: CONNACK 0x81 allowed)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-3", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ReservedFlag = true
		conn.Send(p)
		conn.ExpectConnectRefused(nil, malformedOnly)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-flag-without-will-fields",
	Title:      "a CONNECT with Will Flag 1 but no Will Topic and Will Message in the payload is refused and the connection closed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-9", "MQTT-3.1.4-1", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.UsernameFlag, p.PasswordFlag = false, false
		conn := t.Dial("")
		conn.SendRaw(connectWithFlags(t, p, 0x04), "CONNECT with Will Flag 1 and a payload ending after the client identifier")
		conn.ExpectConnectRefused(nil, malformedOnly)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-qos-3",
	Title:      "a CONNECT with Will QoS 3 is malformed: refused and the connection closed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.2-14", "MQTT-3.1.4-1", "5.0:MQTT-3.1.2-12", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		conn.Send(willConnect(t, t.Topic("will"), "w", 3, false))
		conn.ExpectConnectRefused(nil, malformedOnly)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-qos-without-will-flag",
	Title:      "a CONNECT with Will Flag 0 but Will QoS 1 is malformed: refused and the connection closed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.2-13", "MQTT-3.1.2-11", "MQTT-3.1.4-1", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.Will.QoS = 1
		conn.Send(p)
		// The specification names no reason code for this flag combination: it can be read
		// as unparseable (0x81) or as data the protocol does not allow (0x82).
		conn.ExpectConnectRefused(nil, malformedOrProtocol)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-retain-without-will-flag",
	Title:      "a CONNECT with Will Flag 0 but Will Retain 1 is malformed: refused and the connection closed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.2-15", "3.1.1:MQTT-3.1.2-11", "MQTT-3.1.4-1", "5.0:MQTT-3.1.2-13", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.Will.Retain = true
		conn.Send(p)
		// The specification names no reason code for this flag combination: it can be read
		// as unparseable (0x81) or as data the protocol does not allow (0x82).
		conn.ExpectConnectRefused(nil, malformedOrProtocol)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-topic-with-wildcard",
	Title:      "a CONNECT whose Will Topic contains '#' is refused and the connection closed (v5: CONNACK 0x81, 0x82 or 0x90 allowed)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-4.7.1-1", "MQTT-3.1.4-1", "MQTT-4.7.0-1", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		conn.Send(willConnect(t, t.Topic("will/#"), "w", 0, false))
		conn.ExpectConnectRefused(nil, []codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicNameInvalid})
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/username-flag-without-username",
	Title:      "a CONNECT with User Name Flag 1 but no User Name in the payload is malformed: refused and the connection closed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.2-19", "MQTT-3.1.4-1", "5.0:MQTT-3.1.2-17", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.UsernameFlag, p.PasswordFlag = false, false
		conn := t.Dial("")
		conn.SendRaw(connectWithFlags(t, p, 0x80), "CONNECT with User Name Flag 1 and a payload ending after the client identifier")
		conn.ExpectConnectRefused(nil, malformedOnly)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/password-flag-without-password",
	Title:      "a CONNECT with Password Flag 1 but no Password after the User Name is malformed: refused and the connection closed",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.2-21", "MQTT-3.1.4-1", "5.0:MQTT-3.1.2-19", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.UsernameFlag, p.PasswordFlag, p.Password = true, false, nil
		if p.Username == "" {
			p.Username = "mqttspec"
		}
		conn := t.Dial("")
		conn.SendRaw(connectWithFlags(t, p, 0x40), "CONNECT with Password Flag 1 and a payload ending after the user name")
		conn.ExpectConnectRefused(nil, malformedOnly)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/password-without-username",
	Title:      "a 3.1.1 CONNECT with Password Flag 1 and User Name Flag 0 is refused and the connection closed",
	Versions:   c.V311,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-22", "MQTT-3.1.4-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.UsernameFlag, p.Username = false, ""
		p.PasswordFlag, p.Password = true, []byte("secret")
		conn.Send(p)
		conn.ExpectClosed()
	},
})

// --- 3.1.3.1: client identifier ---

var _ = catalog.Broker(c.Case{
	ID:         "3.1/client-id-23-alphanumeric-accepted",
	Title:      "a client identifier of 23 characters from [0-9a-zA-Z] is accepted",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.3-5"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.ClientID = (p.ClientID + strings.Repeat("Z", 23))[:23]
		t.Connect(p).ExpectOpen()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/empty-client-id-assigned",
	Title:      "a zero-length client identifier with clean start is either refused with 'identifier rejected' (v5: 0x85 or a close without CONNACK) or accepted with a unique identifier (v5: a non-empty Assigned Client Identifier)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.3-6", "3.1.1:MQTT-3.1.3-9", "5.0:MQTT-3.1.3-7", "5.0:MQTT-3.1.3-8", "MQTT-3.2.2-16"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ClientID = ""
		conn.Send(p)
		// 5.0 lets a server reject the identifier by closing without a CONNACK (the CONNACK
		// 0x85 is a MAY, MQTT-3.1.3-8); 3.1.1 requires the CONNACK 0x02 (MQTT-3.1.3-9).
		first, closed := conn.Next(t.Timeouts.Step)
		if closed && t.V5() {
			return
		}
		if first == nil || first.Type() != codec.CONNACK {
			t.Failf("CONNACK", fmt.Sprint(first), "no CONNACK for an empty client identifier (closed: %t)", closed)
		}
		ack := first.(*codec.Connack)
		switch {
		case ack.ReasonCode == 0 && t.V5():
			if !ack.Properties.Has(codec.PropAssignedClientID) || ack.Properties.AssignedClientID == "" {
				t.Failf("CONNACK with a non-empty Assigned Client Identifier", ack.String(), "the server accepted an empty client identifier without assigning one")
			}
			conn.ExpectOpen()
		case ack.ReasonCode == 0:
			conn.ExpectOpen()
		case !t.V5() && ack.ReasonCode == codec.ConnRefusedIdentifierRejected,
			t.V5() && ack.ReasonCode == codec.ReasonClientIDNotValid:
			conn.ExpectClosed()
		default:
			t.Failf("CONNACK 0 or identifier rejected", ack.String(), "unexpected CONNACK for an empty client identifier")
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/empty-client-id-unique",
	Title:      "two connections with a zero-length client identifier get different identifiers: both stay open (v5: different Assigned Client Identifiers)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.3-6", "MQTT-3.2.2-16"},
	Run: func(t *c.T) {
		var acks [2]*codec.Connack
		var conns [2]*c.Conn
		for i := range conns {
			conns[i] = t.Dial("")
			p := t.DefaultConnect()
			p.ClientID = ""
			conns[i].Send(p)
			acks[i] = conns[i].Expect(c.Type(codec.CONNACK)).(*codec.Connack)
			if acks[i].ReasonCode != 0 {
				t.Skipf("the server refuses zero-length client identifiers (CONNACK 0x%02X)", byte(acks[i].ReasonCode))
			}
		}
		if t.V5() {
			a, b := acks[0].Properties.AssignedClientID, acks[1].Properties.AssignedClientID
			t.Check(a != b, "two different Assigned Client Identifiers", a+" twice", "both connections were assigned %q", a)
		}
		// A server that gave both the same identifier would have taken the first one over.
		conns[0].ExpectOpen()
		conns[1].ExpectOpen()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/empty-client-id-persistent-refused",
	Title:      "a 3.1.1 CONNECT with an empty client identifier and Clean Session 0 gets CONNACK 0x02 and a close",
	Versions:   c.V311,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.3-8", "MQTT-3.2.2-4", "MQTT-3.2.2-5"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ClientID, p.CleanStart = "", false
		conn.Send(p)
		conn.ExpectClosed(c.WithConnack(codec.ConnRefusedIdentifierRejected))
	},
})

// --- 3.1.4: session takeover ---

var _ = catalog.Broker(c.Case{
	ID:         "3.1/client-takeover",
	Title:      "a new connection with the same client identifier closes the existing one (v5: DISCONNECT 0x8E allowed first, without Session Expiry Interval)",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.4-2", "5.0:MQTT-3.1.4-3", "MQTT-3.14.2-1", "MQTT-3.14.2-2", "5.0:MQTT-3.14.4-1", "5.0:MQTT-3.14.4-2"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		old := t.ConnectLabel("old", p)
		q := t.DefaultConnect()
		q.ClientID = p.ClientID
		fresh := t.ConnectLabel("new", q)
		old.ExpectClosed(c.OrDisconnect(codec.ReasonSessionTakenOver))
		fresh.ExpectOpen()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/takeover-keeps-session",
	Title:      "a takeover with clean start 0 resumes the existing connection's session: Session Present 1 and its subscription delivers on the new connection",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.4-2", "3.1.1:MQTT-3.1.2-4", "MQTT-3.1.3-2", "5.0:MQTT-3.1.4-3", "5.0:MQTT-3.1.2-5"},
	Run: func(t *c.T) {
		id, topic := t.ClientID(), t.Topic("takeover")
		old := t.ConnectResume("old", t.PersistentConnect(id), false)
		old.Subscribe(topic, 0)
		fresh := t.ConnectResume("new", t.PersistentConnect(id), true)
		old.ExpectClosed(c.OrDisconnect(codec.ReasonSessionTakenOver))
		t.Pub("pub").PublishMsg(topic, "to the new connection", 0, false)
		fresh.Expect(c.Publish(topic, []byte("to the new connection"), 0))
		fresh.Disconnect()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/takeover-publishes-will",
	Title:      "a 3.1.1 connection closed by a takeover did not send DISCONNECT: its will is published",
	Versions:   c.V311,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-8", "MQTT-3.1.4-2"},
	Run: func(t *c.T) {
		wt := t.Topic("will")
		watcher := watch(t, wt, 0)
		p := willConnect(t, wt, "taken over", 0, false)
		old := t.ConnectLabel("old", p)
		q := t.DefaultConnect()
		q.ClientID = p.ClientID
		t.ConnectLabel("new", q)
		old.ExpectClosed()
		watcher.Expect(publishOn(wt, "taken over", 0))
	},
})

// --- 3.1.2.4: clean start and sessions ---

var _ = catalog.Broker(c.Case{
	ID:         "3.1/clean-start-discards-session",
	Title:      "a clean start discards the stored session: its subscriptions no longer deliver",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-6", "MQTT-3.1.2-4", "3.1.1:MQTT-3.1.4-3", "5.0:MQTT-3.1.4-4"},
	Run: func(t *c.T) {
		id, topic := t.ClientID(), t.Topic("a")
		// QoS 0 is enough: the message is published while "again" is connected, so only a
		// subscription that survived the clean start could deliver it.
		first := t.ConnectResume("first", t.PersistentConnect(id), false)
		first.Subscribe(topic, 0)
		first.Disconnect()
		clean := t.DefaultConnect()
		clean.ClientID = id
		t.ConnectLabel("clean", clean).Disconnect()
		// The clean session ends with its connection, which the server sees close a moment
		// later: under load mochi still reported it present 84 ms after the close.
		t.SleepQuiet(0)
		again := t.ConnectResume("again", t.PersistentConnect(id), false)
		t.Pub("pub").PublishMsg(topic, "after clean start", 0, false)
		again.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/clean-session-not-kept",
	Title:      "a 3.1.1 Clean Session 1 session ends with its connection: reconnecting with Clean Session 0 gets Session Present 0",
	Versions:   c.V311,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-6"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		first := t.ConnectLabel("clean", p)
		first.Subscribe(t.Topic("a"), 0)
		first.Disconnect()
		t.SleepQuiet(0) // the session ends when the server has seen the connection close
		t.ConnectResume("resume", t.PersistentConnect(p.ClientID), false).Disconnect()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/retained-survives-session-end",
	Title:      "a retained message is not session state: it is still delivered (RETAIN 1) after its publisher's session has ended",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain},
	Statements: []string{"3.1.1:MQTT-3.1.2-7", "MQTT-3.3.1-5"},
	Run: func(t *c.T) {
		topic := t.Topic("kept")
		p := t.DefaultConnect()
		if t.V5() {
			p.Properties.SetSessionExpiry(0)
		}
		pub := t.ConnectLabel("pub", p)
		pub.PublishMsg(topic, "outlives the session", 0, true)
		pub.Disconnect()
		t.SleepQuiet(200 * time.Millisecond)
		subRetained(t, "late", topic, 0, retained(topic, "outlives the session", 0))
		t.Pub("cleanup").PublishMsg(topic, "", 0, true)
	},
})

// --- 3.1.2.11: v5 CONNECT properties the server must honour ---

var _ = catalog.Broker(c.Case{
	ID:         "3.1/topic-alias-maximum-0-explicit",
	Title:      "a client that sent Topic Alias Maximum 0 explicitly gets every PUBLISH with its full Topic Name and no Topic Alias",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-27"},
	Run: func(t *c.T) {
		// A server that never sends aliases passes trivially: first see that it sends them to a
		// client that allows them.
		if !sendsAliases(t) {
			t.Skipf("the server sent no Topic Alias to a client allowing 2 (sending aliases is optional): MQTT-3.1.2-27 cannot be told apart from not using aliases at all")
		}
		topic := t.Topic("noalias")
		p := t.DefaultConnect()
		p.Properties.SetTopicAliasMaximum(0)
		sub := t.ConnectLabel("sub", p)
		sub.Subscribe(topic, 0)
		pub := t.Pub("pub")
		for i := 0; i < 4; i++ {
			pub.PublishMsg(topic, fmt.Sprint(i), 0, false)
		}
		for i := 0; i < 4; i++ {
			sub.Expect(c.Publish(topic, []byte(fmt.Sprint(i)), 0).NoProp(codec.PropTopicAlias))
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/topic-alias-maximum-1",
	Title:      "a client with Topic Alias Maximum 1 gets no Topic Alias other than 1, and every aliased PUBLISH resolves to the topic published",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.2-26", "MQTT-3.3.2-11"},
	Run: func(t *c.T) {
		ta, tb := t.Topic("a"), t.Topic("b")
		p := t.DefaultConnect()
		p.Properties.SetTopicAliasMaximum(1)
		sub := t.ConnectLabel("sub", p)
		sub.Subscribe(ta, 0)
		sub.Subscribe(tb, 0)
		pub := t.Pub("pub")
		order := []string{ta, ta, tb, tb, ta, tb, ta}
		for i, topic := range order {
			pub.PublishMsg(topic, fmt.Sprint(i), 0, false)
		}
		alias1, aliased := "", 0
		for i, topic := range order {
			got := sub.ExpectPublish(c.AnyPublish().Payload([]byte(fmt.Sprint(i))).QoS(0).Dup(false).Retain(false))
			name := got.Topic
			if got.Properties.Has(codec.PropTopicAlias) {
				aliased++
				if a := got.Properties.TopicAlias; a != 1 {
					t.Failf("Topic Alias 1 or none", got.String(), "the server sent Topic Alias %d; the client's Topic Alias Maximum is 1", a)
				}
				if name != "" {
					alias1 = name
				} else if name = alias1; name == "" {
					t.Failf("an alias set before it is used", got.String(), "PUBLISH %d uses Topic Alias 1 with an empty topic before the alias was set", i)
				}
			}
			c.Equal(t, fmt.Sprintf("topic of PUBLISH %d (after resolving its alias)", i), name, topic)
		}
		if aliased == 0 {
			// Sending aliases is optional; without any, the limit of 1 was never exercised.
			t.Skipf("the server sent none of the %d messages with a Topic Alias to a client allowing 1: MQTT-3.1.2-26's limit is not exercised", len(order))
		}
	},
})

// --- 3.1.2.10: keep alive ---

// maxKeepAlive is the longest keep alive the keep-alive cases wait out (1.5 times it, once): a
// server imposing a longer Server Keep Alive is skipped with the setting that would run them.
const maxKeepAlive = 30 * time.Second

// keepAliveInForce returns the keep alive the server enforces on conn: the one the client asked
// for, or in 5.0 the Server Keep Alive of its CONNACK (MQTT-3.2.2-22). It skips the case when
// the server turned keep alive off (Server Keep Alive 0) or imposes more than maxKeepAlive.
func keepAliveInForce(t *c.T, conn *c.Conn, asked uint16) time.Duration {
	ka := time.Duration(asked) * time.Second
	if !t.V5() || !conn.Connack.Properties.Has(codec.PropServerKeepAlive) {
		return ka
	}
	ka = time.Duration(conn.Connack.Properties.ServerKeepAlive) * time.Second
	t.Logf("the server imposes Server Keep Alive %v (the client asked for %d s)", ka, asked)
	switch {
	case ka == 0:
		t.Skipf("the server answered Keep Alive %d s with Server Keep Alive 0 (no keep alive): there is no close to time; configure the broker to accept the client's keep alive (mosquitto: max_keepalive)", asked)
	case ka > maxKeepAlive:
		t.Skipf("the server imposes Server Keep Alive %v, so the close would come after %v; this case waits out keep alives of at most %v: configure the broker's server keep alive to at most %v (mosquitto: max_keepalive)",
			ka, ka*3/2, maxKeepAlive, maxKeepAlive)
	}
	return ka
}

var _ = catalog.Broker(c.Case{
	ID:         "3.1/keepalive-enforced",
	Title:      "a client silent for 1.5 times its keep alive (v5: the Server Keep Alive when sent) is disconnected no later than 1.5 times it plus the timing tolerance",
	Versions:   c.Both,
	Level:      c.Must,
	Timeout:    maxKeepAlive*3/2 + 15*time.Second,
	Statements: []string{"3.1.1:MQTT-3.1.2-24", "5.0:MQTT-3.1.2-22", "MQTT-3.2.2-22"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.KeepAlive = 1
		conn := t.Connect(p)
		ka := keepAliveInForce(t, conn, p.KeepAlive)
		// The period runs from the last packet the server received: the CONNECT, whose write
		// began at LastSent, so the measured time is never shorter than the server's. The
		// statements require the close by 1.5 times the keep alive; an earlier one is
		// 3.1/keepalive-grace-kept's (SHOULD) verdict.
		conn.ExpectClosedBy("closed", conn.LastSent(), ka*3/2, c.OrDisconnect(codec.ReasonKeepAliveTimeout))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/keepalive-grace-kept",
	Title:      "a client silent past its keep alive is not disconnected before 1.5 times it (the grace the keep alive statement gives it)",
	Versions:   c.Both,
	Level:      c.Should,
	Timeout:    maxKeepAlive*3/2 + 15*time.Second,
	Statements: []string{"mqttspec-3.1.1-3.1.2-should-2", "mqttspec-5.0-3.1.2-should-2"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.KeepAlive = 1
		conn := t.Connect(p)
		ka := keepAliveInForce(t, conn, p.KeepAlive)
		// Only the lower bound is this case's: the connection must still be open when the grace
		// ends. When (or whether) it closes afterwards is 3.1/keepalive-enforced's verdict.
		grace := ka * 3 / 2
		since := conn.LastSent()
		pkt, closed := conn.Next(max(time.Until(since.Add(grace-c.ClockEpsilon)), time.Millisecond))
		if closed || pkt != nil {
			d := time.Since(since)
			what := "closed"
			if pkt != nil {
				what = pkt.String() // a DISCONNECT (0x8D) is the close's announcement
			}
			t.Failf("open until "+c.Seconds(grace), what+" after "+c.Seconds(d),
				"[%s] %s after %s, before the %s the keep alive leaves the client", conn.Label, what, c.Seconds(d), c.Seconds(grace))
		}
		t.Logf("[%s] still open %s after the CONNECT: the grace was kept", conn.Label, c.Seconds(time.Since(since)))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/keepalive-reset-by-any-packet",
	Title:      "any control packet resets the keep alive timer: a client publishing every 0.5 s with keep alive 1 s stays connected for 3 s",
	Versions:   c.Both,
	Level:      c.Must,
	Statements: []string{"3.1.1:MQTT-3.1.2-24", "5.0:MQTT-3.1.2-22"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.KeepAlive = 1
		conn := t.Connect(p)
		for i := 0; i < 6; i++ {
			t.Sleep(500 * time.Millisecond)
			conn.Send(&codec.Publish{Topic: t.Topic("ka"), Payload: []byte("tick")})
		}
		conn.ExpectOpen()
	},
})

// --- 3.1.4: authentication with user name and password ---

var _ = catalog.Broker(c.Case{
	ID:         "3.1/bad-password-refused",
	Title:      "a CONNECT with a wrong password is refused: the connection is closed (CONNACK 0x04/0x05, v5 0x86/0x87 allowed first)",
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureCredentials},
	Statements: []string{"3.1.1:MQTT-3.2.2-5", "3.1.1:MQTT-3.2.2-4", "5.0:MQTT-3.1.4-2", "MQTT-3.2.2-7", "5.0:MQTT-3.2.2-6", "5.0:MQTT-3.2.2-8", "MQTT-4.13.2-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.Password = []byte(t.Target.BadPassword)
		conn := t.Dial("")
		conn.Send(p)
		conn.ExpectClosed(c.OrConnack(badCredentialCodes(t)...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/bad-password-connack",
	Title:      "a 3.1.1 CONNECT with a wrong password gets CONNACK 0x04 (bad user name or password) or 0x05 (not authorized) before the close",
	Versions:   c.V311,
	Level:      c.Should,
	Requires:   []c.Feature{c.FeatureCredentials},
	Statements: []string{"mqttspec-3.1.1-3.1.4-should-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.Password = []byte(t.Target.BadPassword)
		conn := t.Dial("")
		conn.Send(p)
		conn.ExpectClosed(c.WithConnack(badCredentialCodes(t)...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/bad-password-connack-0x86",
	Title:      "a v5 CONNECT with a wrong password gets CONNACK 0x86 (bad user name or password) or 0x87 (not authorized) before the close",
	Versions:   c.V5,
	Level:      c.May,
	Requires:   []c.Feature{c.FeatureCredentials},
	Statements: []string{"mqttspec-5.0-4.13.1-may-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.Password = []byte(t.Target.BadPassword)
		conn := t.Dial("")
		conn.Send(p)
		conn.ExpectClosed(c.WithConnack(badCredentialCodes(t)...))
	},
})

// isClosedErr reports whether a read error is the peer closing the connection (not a timeout).
func isClosedErr(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne)
}
