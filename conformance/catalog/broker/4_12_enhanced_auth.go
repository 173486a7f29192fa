package broker

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

var _ = catalog.Broker(c.Case{
	ID:         "4.12/unsupported-auth-method",
	Title:      "a CONNECT with an Authentication Method the server does not support is refused (CONNACK 0x8C or 0x87 allowed) and the connection closed",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-4.12.0-1", "MQTT-3.14.0-1", "MQTT-4.13.2-1"},
	Run: func(t *c.T) {
		p := t.DefaultConnect()
		p.Properties.SetAuthMethod(unknownMethod).SetAuthData([]byte("x"))
		conn := t.Dial("")
		conn.Send(p)
		conn.ExpectClosed(c.OrConnack(codec.ReasonBadAuthenticationMethod, codec.ReasonNotAuthorized))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.12/no-auth-method-in-connack-unless-asked",
	Title:      "a CONNECT without Authentication Method gets a CONNACK without Authentication Method or Authentication Data",
	Versions:   c.V5,
	Level:      c.Must,
	Statements: []string{"MQTT-4.12.0-6"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		conn.Send(t.DefaultConnect())
		conn.Expect(c.Connack(0).NoProp(codec.PropAuthMethod).NoProp(codec.PropAuthData))
	},
})

// --- enhanced authentication with the target's method ---

var _ = catalog.Broker(c.Case{
	ID:         "4.12/enhanced-auth-success",
	Title:      "enhanced authentication with the target's method succeeds: every server AUTH has reason 0x18 and the method, the CONNACK is 0x00 with the same method",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureEnhancedAuth},
	Statements: []string{"MQTT-4.12.0-2", "MQTT-4.12.0-5", "MQTT-3.2.0-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		conn.Send(authConnect(t))
		exchange(t, conn, withMethod(c.Connack(0), t.Target.AuthMethod))
		conn.ExpectOpen()
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.12/enhanced-auth-wrong-answer",
	Title:      "a wrong answer to the server's authentication challenge is refused (CONNACK 0x80 or above allowed) and the connection closed",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureEnhancedAuth},
	Statements: []string{"MQTT-4.12.0-4", "MQTT-4.13.2-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		conn.Send(authConnect(t))
		p := conn.Expect(c.OneOf(withMethod(c.Auth(codec.ReasonContinueAuthentication), t.Target.AuthMethod), c.Type(codec.CONNACK)))
		if _, ok := p.(*codec.Connack); ok {
			t.Skipf("the method completed without a challenge; there is no answer to get wrong")
		}
		conn.Send(continueAuth(t.Target.AuthMethod, []byte("mqttspec: certainly not the right answer")))
		conn.ExpectClosed(c.OrConnack(connackRefusals...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.12/publish-during-auth-refused",
	Title:      "a PUBLISH sent while enhanced authentication is in progress is a protocol error: the connection is closed and the message not delivered",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureEnhancedAuth},
	Statements: []string{"MQTT-3.1.2-30", "MQTT-4.13.1-1", "MQTT-3.14.0-1"},
	Run: func(t *c.T) {
		topic := t.Topic("early")
		sub := t.Sub("sub", topic, 0)
		conn := t.Dial("auth")
		conn.Send(authConnect(t))
		p := conn.Expect(c.OneOf(withMethod(c.Auth(codec.ReasonContinueAuthentication), t.Target.AuthMethod), c.Type(codec.CONNACK)))
		if _, ok := p.(*codec.Connack); ok {
			t.Skipf("the method completed without a challenge; there is no exchange to interrupt")
		}
		conn.Send(&codec.Publish{Topic: topic, Payload: []byte("before CONNACK")})
		conn.ExpectClosed(c.OrConnack(connackRefusals...))
		sub.ExpectNothing(0)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.12/re-authentication",
	Title:      "re-authentication (AUTH 0x19) with the connection's method succeeds: challenges are AUTH 0x18, the end is AUTH 0x00, all with the method",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureEnhancedAuth},
	Statements: []string{"MQTT-4.12.0-2", "MQTT-4.12.0-5"},
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
})

var _ = catalog.Broker(c.Case{
	ID:         "4.12/re-authentication-other-method",
	Title:      "re-authentication with a method other than the connection's is refused: the connection is closed (DISCONNECT 0x82, 0x8C or 0x87 allowed)",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureEnhancedAuth},
	Statements: []string{"MQTT-4.12.1-2", "MQTT-4.13.1-1"},
	Run: func(t *c.T) {
		conn := t.Dial("")
		conn.Send(authConnect(t))
		exchange(t, conn, withMethod(c.Connack(0), t.Target.AuthMethod))
		a := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
		a.Properties.SetAuthMethod(unknownMethod)
		conn.Send(a)
		conn.ExpectClosed(c.OrDisconnect(codec.ReasonProtocolError, codec.ReasonBadAuthenticationMethod, codec.ReasonNotAuthorized))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.12/auth-within-maximum-packet-size",
	Title:      "with a Maximum Packet Size just above the size of the server's bare AUTH packets, no AUTH or CONNACK over the limit carries a Reason String or User Property",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureEnhancedAuth},
	Statements: []string{"MQTT-3.15.2-2", "MQTT-3.15.2-3", "MQTT-3.2.2-19", "MQTT-3.2.2-20"},
	Run: func(t *c.T) {
		// First exchange, no limit: learn how big the server's AUTH packets are without
		// their optional Reason String and User Properties.
		var bare int
		record := func(p codec.Packet) {
			stripped := *p.(*codec.Auth)
			stripped.Properties.Clear(codec.PropReasonString)
			stripped.Properties.Clear(codec.PropUserProperty)
			bare = max(bare, len(t.Encode(&stripped, codec.V5)))
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
				b := t.Encode(p, codec.V5)
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
})
