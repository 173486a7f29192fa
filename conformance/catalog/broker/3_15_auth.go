package connection

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// Section 3.15 (AUTH) and 4.12 (enhanced authentication). Cases that run an exchange need the
// target descriptor's AuthMethod and AuthStep (FeatureEnhancedAuth); the others check what every
// v5 server must do when enhanced authentication is not asked for, or asked for with a method it
// does not know.

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
	if t.Target.AuthInitial != nil {
		p.Properties.SetAuthData(t.Target.AuthInitial)
	}
	return p
}

// answer computes the client's response to a server challenge.
func answer(t *c.T, challenge []byte) []byte {
	if t.Target.AuthStep == nil {
		t.Errorf("the server sent an authentication challenge but the target descriptor has no AuthStep")
	}
	resp, err := t.Target.AuthStep(challenge)
	if err != nil {
		t.Errorf("the target descriptor's AuthStep failed: %v", err)
	}
	return resp
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

func init() {
	register(c.Case{
		ID:       "4.12/unsupported-auth-method",
		Title:    "a CONNECT with an Authentication Method the server does not support is refused (CONNACK 0x8C or 0x87 allowed) and the connection closed",
		Versions: c.V5,
		Level:    c.Must,
		Run: func(t *c.T) {
			p := t.DefaultConnect()
			p.Properties.SetAuthMethod(unknownMethod).SetAuthData([]byte("x"))
			conn := t.Dial("")
			conn.Send(p)
			conn.ExpectClosed(c.OrConnack(codec.ReasonBadAuthenticationMethod, codec.ReasonNotAuthorized))
		},
	}, nil, ids("MQTT-4.12.0-1", "MQTT-3.14.0-1", "MQTT-4.13.2-1"))

	register(c.Case{
		ID:       "4.12/no-auth-method-in-connack-unless-asked",
		Title:    "a CONNECT without Authentication Method gets a CONNACK without Authentication Method or Authentication Data",
		Versions: c.V5,
		Level:    c.Must,
		Run: func(t *c.T) {
			conn := t.Dial("")
			conn.Send(t.DefaultConnect())
			conn.Expect(c.Connack(0).NoProp(codec.PropAuthMethod).NoProp(codec.PropAuthData))
		},
	}, nil, ids("MQTT-4.12.0-6"))

	register(c.Case{
		ID:       "3.15/auth-data-without-method",
		Title:    "a CONNECT with Authentication Data but no Authentication Method is a protocol error: refused and the connection closed",
		Versions: c.V5,
		Level:    c.Must,
		Run: func(t *c.T) {
			p := t.DefaultConnect()
			p.Properties.SetAuthData([]byte("orphan"))
			conn := t.Dial("")
			conn.Send(p)
			conn.ExpectConnectRefused(nil, malformedOrProtocol)
		},
	}, nil, ids("MQTT-3.1.4-1", "MQTT-4.13.1-1", "MQTT-3.14.0-1"))

	register(c.Case{
		ID:       "3.15/auth-without-enhanced-auth",
		Title:    "an AUTH on a connection that did not use enhanced authentication is a protocol error: closed without any AUTH in reply (DISCONNECT 0x82 allowed)",
		Versions: c.V5,
		Level:    c.Must,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			a := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
			a.Properties.SetAuthMethod(unknownMethod)
			conn.Send(a)
			conn.ExpectClosed(c.OrDisconnect(codec.ReasonProtocolError))
		},
	}, nil, ids("MQTT-4.12.0-6", "MQTT-4.13.1-1"))

	register(c.Case{
		ID:       "3.15/auth-packet-type-in-v311",
		Title:    "packet type 15 (reserved in 3.1.1) closes a 3.1.1 connection",
		Versions: c.V311,
		Level:    c.Must,
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.SendRaw([]byte{0xF0, 0x00}, "packet type 15 with no body")
			conn.ExpectClosed()
		},
	}, ids("MQTT-4.8.0-1"), nil)

	// --- enhanced authentication with the target's method ---

	register(c.Case{
		ID:       "4.12/enhanced-auth-success",
		Title:    "enhanced authentication with the target's method succeeds: every server AUTH has reason 0x18 and the method, the CONNACK is 0x00 with the same method",
		Versions: c.V5,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureEnhancedAuth},
		Run: func(t *c.T) {
			conn := t.Dial("")
			conn.Send(authConnect(t))
			exchange(t, conn, withMethod(c.Connack(0), t.Target.AuthMethod))
			conn.ExpectOpen()
		},
	}, nil, ids("MQTT-4.12.0-2", "MQTT-4.12.0-5", "MQTT-3.2.0-1"))

	register(c.Case{
		ID:       "4.12/enhanced-auth-wrong-answer",
		Title:    "a wrong answer to the server's authentication challenge is refused (CONNACK 0x80 or above allowed) and the connection closed",
		Versions: c.V5,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureEnhancedAuth},
		Run: func(t *c.T) {
			conn := t.Dial("")
			conn.Send(authConnect(t))
			p := conn.Expect(oneOf{withMethod(c.Auth(codec.ReasonContinueAuthentication), t.Target.AuthMethod), c.Type(codec.CONNACK)})
			if _, ok := p.(*codec.Connack); ok {
				t.Skipf("the method completed without a challenge; there is no answer to get wrong")
			}
			conn.Send(continueAuth(t.Target.AuthMethod, []byte("mqttspec: certainly not the right answer")))
			conn.ExpectClosed(c.OrConnack(connackRefusals...))
		},
	}, nil, ids("MQTT-4.12.0-4", "MQTT-4.13.2-1"))

	register(c.Case{
		ID:       "4.12/publish-during-auth-refused",
		Title:    "a PUBLISH sent while enhanced authentication is in progress is a protocol error: the connection is closed and the message not delivered",
		Versions: c.V5,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureEnhancedAuth},
		Run: func(t *c.T) {
			topic := t.Topic("early")
			sub := t.Sub("sub", topic, 0)
			conn := t.Dial("auth")
			conn.Send(authConnect(t))
			p := conn.Expect(oneOf{withMethod(c.Auth(codec.ReasonContinueAuthentication), t.Target.AuthMethod), c.Type(codec.CONNACK)})
			if _, ok := p.(*codec.Connack); ok {
				t.Skipf("the method completed without a challenge; there is no exchange to interrupt")
			}
			conn.Send(&codec.Publish{Topic: topic, Payload: []byte("before CONNACK")})
			conn.ExpectClosed(c.OrConnack(connackRefusals...))
			sub.ExpectNothing(0)
		},
	}, nil, ids("MQTT-3.1.2-30", "MQTT-4.13.1-1", "MQTT-3.14.0-1"))

	register(c.Case{
		ID:       "4.12/re-authentication",
		Title:    "re-authentication (AUTH 0x19) with the connection's method succeeds: challenges are AUTH 0x18, the end is AUTH 0x00, all with the method",
		Versions: c.V5,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureEnhancedAuth},
		Run: func(t *c.T) {
			method := t.Target.AuthMethod
			conn := t.Dial("")
			conn.Send(authConnect(t))
			exchange(t, conn, withMethod(c.Connack(0), method))
			a := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
			a.Properties.SetAuthMethod(method)
			if t.Target.AuthInitial != nil {
				a.Properties.SetAuthData(t.Target.AuthInitial)
			}
			conn.Send(a)
			exchange(t, conn, withMethod(c.Auth(codec.ReasonSuccess), method))
			conn.ExpectOpen()
		},
	}, nil, ids("MQTT-4.12.0-2", "MQTT-4.12.0-5"))

	register(c.Case{
		ID:       "4.12/re-authentication-other-method",
		Title:    "re-authentication with a method other than the connection's is refused: the connection is closed (DISCONNECT 0x82, 0x8C or 0x87 allowed)",
		Versions: c.V5,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureEnhancedAuth},
		Run: func(t *c.T) {
			conn := t.Dial("")
			conn.Send(authConnect(t))
			exchange(t, conn, withMethod(c.Connack(0), t.Target.AuthMethod))
			a := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
			a.Properties.SetAuthMethod(unknownMethod)
			conn.Send(a)
			conn.ExpectClosed(c.OrDisconnect(codec.ReasonProtocolError, codec.ReasonBadAuthenticationMethod, codec.ReasonNotAuthorized))
		},
	}, nil, ids("MQTT-4.12.1-2", "MQTT-4.13.1-1"))

	register(c.Case{
		ID:       "3.15/auth-reserved-flags",
		Title:    "an AUTH (re-authentication) with fixed-header flags 0001 is malformed: the connection is closed, no AUTH in reply",
		Versions: c.V5,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureEnhancedAuth},
		Run: func(t *c.T) {
			conn := t.Dial("")
			conn.Send(authConnect(t))
			exchange(t, conn, withMethod(c.Connack(0), t.Target.AuthMethod))
			a := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
			a.Properties.SetAuthMethod(t.Target.AuthMethod)
			if t.Target.AuthInitial != nil {
				a.Properties.SetAuthData(t.Target.AuthInitial)
			}
			conn.SendRaw(withFlags(encode(t, a, codec.V5), 0x01), "AUTH 0x19 with fixed-header flags 0001")
			conn.ExpectClosed(c.OrDisconnect(malformedOnly...))
		},
	}, nil, ids("MQTT-3.15.1-1", "MQTT-2.1.3-1"))

	register(c.Case{
		ID:       "3.15/auth-invalid-reason-code",
		Title:    "an AUTH with reason code 0x01 (not an AUTH reason) is malformed: the connection is closed, no AUTH in reply",
		Versions: c.V5,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureEnhancedAuth},
		Run: func(t *c.T) {
			conn := t.Dial("")
			conn.Send(authConnect(t))
			exchange(t, conn, withMethod(c.Connack(0), t.Target.AuthMethod))
			a := &codec.Auth{ReasonCode: 0x01}
			a.Properties.SetAuthMethod(t.Target.AuthMethod)
			conn.Send(a)
			conn.ExpectClosed(c.OrDisconnect(malformedOrProtocol...))
		},
	}, nil, ids("MQTT-3.15.2-1", "MQTT-4.13.1-1"))

	register(c.Case{
		ID:       "4.12/auth-within-maximum-packet-size",
		Title:    "with a Maximum Packet Size just above the size of the server's bare AUTH packets, no AUTH or CONNACK over the limit carries a Reason String or User Property",
		Versions: c.V5,
		Level:    c.Must,
		Requires: []c.Feature{c.FeatureEnhancedAuth},
		Run: func(t *c.T) {
			// First exchange, no limit: learn how big the server's AUTH packets are without
			// their optional Reason String and User Properties.
			var bare int
			record := func(p codec.Packet) {
				stripped := *p.(*codec.Auth)
				stripped.Properties.Clear(codec.PropReasonString)
				stripped.Properties.Clear(codec.PropUserProperty)
				bare = max(bare, len(encode(t, &stripped, codec.V5)))
			}
			first := t.Dial("learn")
			first.Send(authConnect(t))
			watchAuth(t, first, withMethod(c.Connack(0), t.Target.AuthMethod), record)
			first.Disconnect()
			if bare == 0 {
				t.Skipf("the method completed without a challenge")
			}
			// Second exchange, limit = that size plus 8 bytes: a Reason String of more than
			// 5 characters (or any User Property pair of more than 3) would cross it.
			limit := uint32(bare + 8)
			check := func(m *c.M) *c.M {
				return m.Where(fmt.Sprintf("no Reason String or User Property beyond %d bytes", limit), func(p codec.Packet) error {
					b := encode(t, p, codec.V5)
					pr := c.PropsOf(p)
					if uint32(len(b)) > limit && (pr.Has(codec.PropReasonString) || pr.Has(codec.PropUserProperty)) {
						return fmt.Errorf("%v is %d bytes, over the client's Maximum Packet Size %d, and carries a Reason String or User Property", p.Type(), len(b), limit)
					}
					return nil
				})
			}
			p := authConnect(t)
			p.Properties.SetMaximumPacketSize(limit)
			second := t.Dial("limited")
			second.Send(p)
			watchAuth(t, second, check(withMethod(c.Connack(0), t.Target.AuthMethod)), func(codec.Packet) {})
		},
	}, nil, ids("MQTT-3.15.2-2", "MQTT-3.15.2-3", "MQTT-3.2.2-19", "MQTT-3.2.2-20"))
}

// watchAuth runs an exchange like exchange, passing every server AUTH 0x18 to seen, and checks
// the last packet with done.
func watchAuth(t *c.T, conn *c.Conn, done *c.M, seen func(codec.Packet)) codec.Packet {
	method := t.Target.AuthMethod
	challenge := withMethod(c.Auth(codec.ReasonContinueAuthentication), method)
	for i := 0; i < 10; i++ {
		p := conn.Expect(oneOf{challenge, done})
		a, ok := p.(*codec.Auth)
		if !ok || a.ReasonCode != codec.ReasonContinueAuthentication {
			return p
		}
		seen(a)
		conn.Send(continueAuth(method, answer(t, a.Properties.AuthData)))
	}
	t.Fatalf("the authentication exchange did not end after 10 challenges")
	return nil
}
