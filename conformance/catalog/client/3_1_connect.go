package client

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.1: the CONNECT the client sends — first packet, protocol name and level, connect
// flags, the payload fields in order, will and credentials, the client identifier.

func init() {
	catalog.Client(c.Case{
		ID:         "3.1/first-packet-connect",
		Title:      "the first packet on a new connection is CONNECT, naming protocol MQTT at the case's level",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.0-1", "3.1.1:MQTT-7.1.2-1", "5.0:MQTT-4.2.0-1"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect})
			// AcceptConnect fails the case unless the first packet is a well-formed CONNECT.
			conn, cp := accept(t, "")
			c.Equal(t, "CONNECT protocol name", cp.ProtocolName, "MQTT")
			connack(t, conn, false, nil)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/protocol-name-mqtt",
		Title:      "the CONNECT's protocol name is the UTF-8 string \"MQTT\" and its level 5",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.2-1"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect})
			conn, cp := accept(t, "")
			c.Equal(t, "CONNECT protocol name", cp.ProtocolName, "MQTT")
			c.Equal(t, "CONNECT protocol level", cp.ProtocolLevel, 5)
			connack(t, conn, false, nil)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/client-id-first",
		Title:      "the client identifier it was given is the first field of the CONNECT payload, as a UTF-8 string",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.3-1", "MQTT-3.1.3-3", "MQTT-3.1.3-4"},
		Run: func(t *c.T) {
			id := t.ClientID()
			t.StartClient(c.Action{Op: c.OpConnect, ClientID: id})
			// The codec reads the payload in the order of MQTT-3.1.3-1 and checks the UTF-8
			// (MQTT-3.1.3-4); a field out of place makes the CONNECT malformed.
			conn, cp := accept(t, "")
			c.Equal(t, "ClientID", cp.ClientID, id)
			connack(t, conn, false, nil)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/no-will",
		Title:      "without a Will the CONNECT has Will Flag 0, Will QoS 0, Will Retain 0 and no will fields",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.2-11", "MQTT-3.1.2-13", "3.1.1:MQTT-3.1.2-15"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect})
			conn, cp := accept(t, "")
			t.Check(!cp.WillFlag && cp.Will.QoS == 0 && !cp.Will.Retain && cp.Will.Topic == "" && cp.Will.Payload == nil,
				"Will Flag 0, Will QoS 0, Will Retain 0, no will fields", cp.String(), "CONNECT without a will has will bits or fields: %s", cp)
			connack(t, conn, false, nil)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/no-credentials",
		Title:      "without credentials the CONNECT has User Name Flag 0 and Password Flag 0 and no such fields",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.2-18", "3.1.1:MQTT-3.1.2-20", "3.1.1:MQTT-3.1.2-22", "5.0:MQTT-3.1.2-16"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect})
			conn, cp := accept(t, "")
			t.Check(!cp.UsernameFlag && !cp.PasswordFlag && cp.Username == "" && cp.Password == nil,
				"User Name Flag 0, Password Flag 0", cp.String(), "CONNECT without credentials carries credential flags or fields: %s", cp)
			connack(t, conn, false, nil)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/will-fields",
		Title:      "a Will sets Will Flag 1 and puts its topic and payload, with its QoS and RETAIN, in the CONNECT",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.2-9", "3.1.1:MQTT-3.1.2-14", "MQTT-3.1.3-1", "3.1.1:MQTT-3.1.3-10", "5.0:MQTT-3.1.2-12", "5.0:MQTT-3.1.3-11"},
		Run: func(t *c.T) {
			w := &c.Will{Topic: t.Topic("will/é"), Payload: []byte("gone"), QoS: 1, Retain: true}
			t.StartClient(c.Action{Op: c.OpConnect, Will: w})
			conn, cp := accept(t, "")
			t.Check(cp.WillFlag, "Will Flag 1", "Will Flag 0", "CONNECT of a client with a will has Will Flag 0: %s", cp)
			c.Equal(t, "Will Topic", cp.Will.Topic, w.Topic)
			t.Check(bytes.Equal(cp.Will.Payload, w.Payload), string(w.Payload), string(cp.Will.Payload), "Will Payload is %q, want %q", cp.Will.Payload, w.Payload)
			c.Equal(t, "Will QoS", cp.Will.QoS, w.QoS)
			c.Equal(t, "Will Retain", cp.Will.Retain, w.Retain)
			connack(t, conn, false, nil)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/will-properties",
		Title:      "a 5.0 Will's properties (Will Delay Interval, Message Expiry, Content Type, Response Topic, Correlation Data, User Property) go in the CONNECT as given",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.2-9", "MQTT-3.1.3-11"},
		Run: func(t *c.T) {
			var props codec.Properties
			props.SetWillDelay(30).SetMessageExpiry(60).SetContentType("text/plain; charset=ü").SetResponseTopic(t.Topic("reply")).
				SetCorrelationData([]byte{1, 2, 3}).AddUser("ключ", "значение")
			w := &c.Will{Topic: t.Topic("will"), Payload: []byte("gone"), Properties: &props}
			t.StartClient(c.Action{Op: c.OpConnect, Will: w})
			conn, cp := accept(t, "")
			t.Check(cp.WillFlag, "Will Flag 1", "Will Flag 0", "CONNECT of a client with a will has Will Flag 0: %s", cp)
			// The codec has checked that the Will Properties, Will Topic and Will Payload are
			// there and well-formed (MQTT-3.1.2-9, MQTT-3.1.3-11). That they carry what the
			// application gave is no statement's requirement: a client that drops or changes
			// some skips, with what it sent (paho.golang 0.23 packs the Will Properties as
			// CONNECT properties and loses the four PUBLISH-only ones).
			got := &cp.Will.Properties
			var diffs []string
			differs := func(what string, bad bool, gotV, wantV any) {
				if bad {
					diffs = append(diffs, fmt.Sprintf("%s %v, want %v", what, gotV, wantV))
				}
			}
			differs("Will Delay Interval", !got.Has(codec.PropWillDelay) || got.WillDelay != props.WillDelay, got.WillDelay, props.WillDelay)
			differs("Message Expiry Interval", !got.Has(codec.PropMessageExpiry) || got.MessageExpiry != props.MessageExpiry, got.MessageExpiry, props.MessageExpiry)
			differs("Content Type", got.ContentType != props.ContentType, fmt.Sprintf("%q", got.ContentType), fmt.Sprintf("%q", props.ContentType))
			differs("Response Topic", got.ResponseTopic != props.ResponseTopic, fmt.Sprintf("%q", got.ResponseTopic), fmt.Sprintf("%q", props.ResponseTopic))
			differs("Correlation Data", !bytes.Equal(got.CorrelationData, props.CorrelationData), fmt.Sprintf("%x", got.CorrelationData), fmt.Sprintf("%x", props.CorrelationData))
			differs("User Properties", len(got.User) != 1 || got.User[0] != props.User[0], got.User, props.User)
			if len(diffs) > 0 {
				t.Skipf("the client did not send the Will Properties the application gave (%s): no statement requires it to, and the ones it sent are well-formed", strings.Join(diffs, "; "))
			}
			connack(t, conn, false, nil)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/credentials",
		Title:      "a user name and password set both flags and appear, in that order, in the CONNECT payload",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.2-19", "3.1.1:MQTT-3.1.2-21", "3.1.1:MQTT-3.1.3-11", "5.0:MQTT-3.1.2-17", "5.0:MQTT-3.1.3-12"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect, Username: "user-ü", Password: []byte("secret")})
			conn, cp := accept(t, "")
			t.Check(cp.UsernameFlag && cp.PasswordFlag, "User Name Flag 1, Password Flag 1", cp.String(), "CONNECT flags do not announce the credentials: %s", cp)
			c.Equal(t, "User Name", cp.Username, "user-ü")
			c.Equal(t, "Password", string(cp.Password), "secret")
			connack(t, conn, false, nil)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/password-needs-user-name",
		Title:      "asked for a password without a user name, the client does not send Password Flag 1 with User Name Flag 0",
		Versions:   c.V311,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.2-22"},
		Run: func(t *c.T) {
			conn, cp := startOrRefuse(t, c.Action{Op: c.OpConnect, Password: []byte("secret")}, true)
			if conn == nil {
				return // the client refused before connecting
			}
			// The codec rejects Password Flag 1 with User Name Flag 0 as malformed, failing
			// accept; check the flags explicitly as well.
			t.Check(!cp.PasswordFlag || cp.UsernameFlag, "Password Flag 0 or User Name Flag 1", cp.String(), "CONNECT has a password without a user name: %s", cp)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/empty-client-id-needs-clean-session",
		Title:      "asked for a zero-length client identifier and a persistent session, the client never sends that identifier with CleanSession 0",
		Versions:   c.V311,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.3-7"},
		Run: func(t *c.T) {
			conn, cp := startOrRefuse(t, c.Action{Op: c.OpConnect, KeepSession: true, EmptyClientID: true}, true)
			if conn == nil {
				return // the client refused before connecting
			}
			t.Check(cp.ClientID != "" || cp.CleanStart, "a client identifier, or CleanSession 1", cp.String(),
				"CONNECT has a zero-length ClientId with CleanSession 0: %s", cp)
			leaves(t, conn)
		},
	})

	catalog.Client(c.Case{
		ID:         "3.1/auth-before-connack",
		Title:      "with an Authentication Method the client sends only AUTH (0x18, same method) or DISCONNECT before the CONNACK",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.2-30", "MQTT-4.12.0-3", "MQTT-4.12.0-5", "MQTT-3.15.2-1"},
		Run: func(t *c.T) {
			a := c.Action{Op: c.OpPublish, Topic: t.Topic("auth"), Message: []byte("m"),
				AuthMethod: "MQTTSPEC-ECHO", AuthData: []byte("hello"), AuthAnswer: c.AuthEcho}
			t.StartClient(a)
			conn, cp := accept(t, "")
			if cp.Properties.AuthMethod != "MQTTSPEC-ECHO" { // the statements bind a client that sent one
				t.Skipf("the client did not start enhanced authentication (Authentication Method %q)", cp.Properties.AuthMethod)
			}
			ch := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
			ch.Properties.SetAuthMethod("MQTTSPEC-ECHO").SetAuthData([]byte("challenge-1"))
			conn.Send(ch)
			// The PUBLISH must wait for the CONNACK: the answer comes first, and only it — not
			// even a PINGREQ (MQTT-3.1.2-30 allows AUTH and DISCONNECT only).
			conn.Expect(c.Auth(codec.ReasonContinueAuthentication).Props("same Authentication Method", func(p *codec.Properties) error {
				return wantString("Authentication Method", p.AuthMethod, "MQTTSPEC-ECHO")
			}))
			conn.ExpectNothing(0)
			ok := &codec.Connack{}
			ok.Properties.SetAuthMethod("MQTTSPEC-ECHO")
			conn.Send(ok)
			conn.ExpectPublish(c.Publish(a.Topic, a.Message, 0))
			leaves(t, conn)
		},
	})
}
