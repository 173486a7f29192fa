package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.15 (AUTH) and 4.12 (enhanced authentication). Cases that run an exchange need the
// target descriptor's authentication method (FeatureEnhancedAuth; each exchange through
// T.StartAuth and T.AuthAnswer); the others check what every v5 server must do when enhanced
// authentication is not asked for, or asked for with a method it does not know.

// unknownMethod is an authentication method no server supports.
const unknownMethod = "mqttspec-no-such-method"

// withMethod checks that a packet carries the Authentication Method m.
func withMethod(m *c.M, method string) *c.M {
	return m.Props("Authentication Method "+method, func(pr *codec.Properties) error {
		if !pr.Has(codec.PropAuthMethod) || pr.AuthMethod != method {
			return fmt.Errorf("Authentication Method is %q (present %t), want %q", pr.AuthMethod, pr.Has(codec.PropAuthMethod), method)
		}
		return nil
	})
}

// authConnect returns a CONNECT starting enhanced authentication with the target's method.
func authConnect(t *c.T) *codec.Connect {
	p := t.DefaultConnect()
	p.Properties.SetAuthMethod(t.Target.AuthMethod)
	if data := t.StartAuth(); data != nil {
		p.Properties.SetAuthData(data)
	}
	return p
}

// reauth returns an AUTH 0x19 starting re-authentication: a new exchange with the method.
func reauth(t *c.T, method string) *codec.Auth {
	a := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
	a.Properties.SetAuthMethod(method)
	if data := t.StartAuth(); data != nil {
		a.Properties.SetAuthData(data)
	}
	return a
}

// continueAuth is the client's AUTH 0x18 carrying data.
func continueAuth(method string, data []byte) *codec.Auth {
	a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
	a.Properties.SetAuthMethod(method)
	if data != nil {
		a.Properties.SetAuthData(data)
	}
	return a
}

// exchange answers AUTH 0x18 challenges (each must carry the method) until done matches; it
// returns the final packet.
func exchange(t *c.T, conn *c.Conn, done *c.M) codec.Packet {
	return watchAuth(t, conn, done, func(codec.Packet) {})
}

var _ = catalog.Broker(c.Case{
	ID:         "3.15/auth-data-without-method",
	Title:      "a CONNECT with Authentication Data but no Authentication Method is a protocol error: refused and the connection closed",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-3.1.4-1", "MQTT-4.13.1-1", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.Properties.SetAuthData([]byte("orphan"))
		conn := t.Dial("")
		conn.Send(p)
		conn.ExpectConnectRefused(nil, malformedOrProtocol)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.15/auth-without-enhanced-auth",
	Title:      "an AUTH on a connection that did not use enhanced authentication is a protocol error: closed without any AUTH in reply (DISCONNECT 0x82 allowed)",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-4.12.0-6", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		a := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
		a.Properties.SetAuthMethod(unknownMethod)
		conn.Send(a)
		conn.ExpectClosed(c.OrDisconnect(codec.ReasonProtocolError))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.15/packet-type-15-closes-v311-connection",
	Title:      "packet type 15 (reserved in 3.1.1) closes a 3.1.1 connection",
	Versions:   c.V311,
	Level:      c.Must,
	Statements: []string{"MQTT-4.8.0-1"},
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.SendRaw([]byte{0xF0, 0x00}, "packet type 15 with no body")
		conn.ExpectClosed()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.15/auth-reserved-flags",
	Title:      "an AUTH (re-authentication) with fixed-header flags 0001 is malformed: the connection is closed, no AUTH in reply",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureEnhancedAuth},
	Statements: []string{"MQTT-3.15.1-1", "MQTT-2.1.3-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		conn.Send(authConnect(t))
		exchange(t, conn, withMethod(c.Connack(0), t.Target.AuthMethod))
		a := reauth(t, t.Target.AuthMethod)
		conn.SendRaw(c.WithFlags(t.Encode(a, codec.V5), 0x01), "AUTH 0x19 with fixed-header flags 0001")
		conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.15/auth-invalid-reason-code",
	Title:      "an AUTH with reason code 0x01 (not an AUTH reason) is malformed: the connection is closed, no AUTH in reply",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureEnhancedAuth},
	Statements: []string{"MQTT-3.15.2-1", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		conn.Send(authConnect(t))
		exchange(t, conn, withMethod(c.Connack(0), t.Target.AuthMethod))
		a := &codec.Auth{ReasonCode: 0x01}
		a.Properties.SetAuthMethod(t.Target.AuthMethod)
		conn.Send(a)
		conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
	},
})

// watchAuth runs an exchange like exchange, passing every server AUTH 0x18 to seen, and checks
// the last packet with done.
func watchAuth(t *c.T, conn *c.Conn, done *c.M, seen func(codec.Packet)) codec.Packet {
	method := t.Target.AuthMethod
	challenge := withMethod(c.Auth(codec.ReasonContinueAuthentication), method)
	for i := 0; i < 10; i++ {
		p := conn.Expect(c.OneOf(challenge, done))
		a, ok := p.(*codec.Auth)
		if !ok || a.ReasonCode != codec.ReasonContinueAuthentication {
			return p
		}
		seen(a)
		conn.Send(continueAuth(method, t.AuthAnswer(a.Properties.AuthData)))
	}
	t.Fatalf("the authentication exchange did not end after 10 challenges")
	return nil
}
