package connection

import (
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

var _ = catalog.Broker(c.Case{
	ID:         "3.1/first-packet-must-be-connect",
	Title:      "a connection whose first packet is not CONNECT is closed without any answer",
	Statements: []string{"MQTT-3.1.0-1", "MQTT-3.14.0-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		conn.Send(&codec.Publish{Topic: t.Topic("x"), Payload: []byte("before connect")})
		// No CONNACK was sent, so a v5 server may not send DISCONNECT either (MQTT-3.14.0-1).
		conn.ExpectClosed()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/second-connect-is-protocol-error",
	Title:      "a second CONNECT on a connection is a protocol error and closes it",
	Statements: []string{"MQTT-3.1.0-2"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(t.DefaultConnect())
		conn.ExpectClosed(c.OrDisconnect(codec.ReasonProtocolError))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/protocol-name-invalid",
	Title:      "a CONNECT with a protocol name other than MQTT is not accepted",
	Statements: []string{"MQTT-3.1.2-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ProtocolName = "MQTX"
		conn.Send(p)
		conn.ExpectConnectRefused([]codec.ReasonCode{codec.ConnRefusedProtocolVersion}, []codec.ReasonCode{codec.ReasonUnsupportedProtocolVersion, codec.ReasonMalformedPacket, codec.ReasonProtocolError})
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/protocol-level-unsupported",
	Title:      "a CONNECT with protocol level 6 gets CONNACK 0x01 (unacceptable protocol version) and a close",
	Statements: []string{"MQTT-3.1.2-2"},
	Versions:   c.V311,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ProtocolLevel = 6
		conn.Send(p)
		conn.SetVersion(codec.V311)
		conn.ExpectClosed(c.WithConnack(codec.ConnRefusedProtocolVersion))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/reserved-flag-set",
	Title:      "a CONNECT whose reserved flag bit is 1 is refused and the connection closed",
	Statements: []string{"MQTT-3.1.2-3"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ReservedFlag = true
		conn.Send(p)
		conn.ExpectConnectRefused(nil, nil)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-qos-3",
	Title:      "a CONNECT with Will QoS 3 is refused and the connection closed",
	Statements: []string{"MQTT-3.1.2-14", "MQTT-3.1.2-12"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.WillFlag = true
		p.Will = codec.Will{QoS: 3, Topic: t.Topic("will"), Payload: []byte("w")}
		conn.Send(p)
		conn.ExpectConnectRefused(nil, nil)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-qos-without-will-flag",
	Title:      "a CONNECT with Will Flag 0 but Will QoS 1 is refused and the connection closed",
	Statements: []string{"MQTT-3.1.2-13", "MQTT-3.1.2-11"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.Will.QoS = 1
		conn.Send(p)
		conn.ExpectConnectRefused(nil, nil)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/will-retain-without-will-flag",
	Title:      "a CONNECT with Will Flag 0 but Will Retain 1 is refused and the connection closed",
	Statements: []string{"MQTT-3.1.2-15", "MQTT-3.1.2-13"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.Will.Retain = true
		conn.Send(p)
		conn.ExpectConnectRefused(nil, nil)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/password-without-username",
	Title:      "a 3.1.1 CONNECT with Password Flag 1 and User Name Flag 0 is refused and the connection closed",
	Statements: []string{"MQTT-3.1.2-22"},
	Versions:   c.V311,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.UsernameFlag, p.Username = false, ""
		p.PasswordFlag, p.Password = true, []byte("secret")
		conn.Send(p)
		conn.ExpectClosed()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/client-id-23-alphanumeric-accepted",
	Title:      "a client identifier of 23 characters from [0-9a-zA-Z] is accepted",
	Statements: []string{"MQTT-3.1.3-5"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.ClientID = (p.ClientID + strings.Repeat("Z", 23))[:23]
		t.Connect(p).ExpectOpen()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/empty-client-id-assigned",
	Title:      "a zero-length client identifier with clean start is either refused with 'identifier rejected' or given a unique identifier (v5: Assigned Client Identifier)",
	Statements: []string{"MQTT-3.1.3-6", "MQTT-3.1.3-9", "MQTT-3.1.3-7", "MQTT-3.2.2-16"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ClientID = ""
		conn.Send(p)
		ack := conn.Expect(c.Type(codec.CONNACK)).(*codec.Connack)
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
	ID:         "3.1/empty-client-id-persistent-refused",
	Title:      "a 3.1.1 CONNECT with an empty client identifier and Clean Session 0 gets CONNACK 0x02 and a close",
	Statements: []string{"MQTT-3.1.3-8"},
	Versions:   c.V311,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Dial("")
		p := t.DefaultConnect()
		p.ClientID, p.CleanStart = "", false
		conn.Send(p)
		conn.ExpectClosed(c.WithConnack(codec.ConnRefusedIdentifierRejected))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/session-present-0-on-clean-start",
	Title:      "CONNACK has Session Present 0 when the CONNECT asked for a clean start, even if a session existed",
	Statements: []string{"MQTT-3.2.2-1", "MQTT-3.2.2-2"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		id := t.ClientID()
		first := t.ConnectResume("persist", t.PersistentConnect(id), false)
		first.Subscribe(t.Topic("a"), 1)
		first.Disconnect()
		p := t.DefaultConnect()
		p.ClientID = id
		t.ConnectLabel("clean", p) // Connect checks Session Present 0
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.2/session-present-1-on-resume",
	Title:      "CONNACK has Session Present 1 when a client with a stored session reconnects without clean start",
	Statements: []string{"MQTT-3.2.2-2", "MQTT-3.2.2-3", "MQTT-3.1.2-4", "MQTT-3.1.2-5"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		id := t.ClientID()
		first := t.ConnectResume("first", t.PersistentConnect(id), false)
		first.Subscribe(t.Topic("a"), 1)
		first.Disconnect()
		t.ConnectResume("second", t.PersistentConnect(id), true)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/clean-start-discards-session",
	Title:      "a clean start discards the stored session: its subscriptions no longer deliver",
	Statements: []string{"MQTT-3.1.2-6", "MQTT-3.1.2-4"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		id, topic := t.ClientID(), t.Topic("a")
		first := t.ConnectResume("first", t.PersistentConnect(id), false)
		first.Subscribe(topic, 1)
		first.Disconnect()
		clean := t.DefaultConnect()
		clean.ClientID = id
		t.ConnectLabel("clean", clean).Disconnect()
		again := t.ConnectResume("again", t.PersistentConnect(id), false)
		t.Pub("pub").PublishMsg(topic, "after clean start", 1, false)
		again.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.1/client-takeover",
	Title:      "a new connection with the same client identifier closes the existing one (v5: DISCONNECT 0x8E allowed)",
	Statements: []string{"MQTT-3.1.4-2", "MQTT-3.1.4-3"},
	Versions:   c.Both,
	Level:      c.Must,
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
	ID:         "3.1/keepalive-enforced",
	Title:      "a client silent for 1.5 times its keep alive is disconnected (not before the keep alive)",
	Statements: []string{"MQTT-3.1.2-24", "MQTT-3.1.2-22"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.KeepAlive = 1
		conn := t.Connect(p)
		ka := time.Second
		if t.V5() && conn.Connack.Properties.Has(codec.PropServerKeepAlive) {
			ka = time.Duration(conn.Connack.Properties.ServerKeepAlive) * time.Second
			if ka == 0 || ka > 5*time.Second {
				t.Skipf("server keep alive is %v; this case needs one of at most 5s", ka)
			}
		}
		start := time.Now()
		conn.ExpectClosed(c.Within(ka*3/2+700*time.Millisecond), c.OrDisconnect(codec.ReasonKeepAliveTimeout))
		if el := time.Since(start); el < ka {
			t.Failf("close after at least "+ka.String(), el.String(), "the server closed the connection after %v, before the keep alive period of %v", el.Round(time.Millisecond), ka)
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.12/pingreq-keeps-connection-alive",
	Title:      "PINGREQs within the keep alive keep the connection open, each answered by a PINGRESP",
	Statements: []string{"MQTT-3.12.4-1", "MQTT-3.1.2-24", "MQTT-3.1.2-22"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.KeepAlive = 1
		conn := t.Connect(p)
		for i := 0; i < 4; i++ {
			t.Sleep(600 * time.Millisecond)
			conn.Send(&codec.Pingreq{})
			conn.Expect(c.Pingresp())
		}
	},
})
