package broker

import (
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
		conn.Send(reauth(t, method))
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
	Title:      "with a Maximum Packet Size that the server's AUTH packets and CONNACK fit only without their Reason String or User Property, each of them still arrives within it (skipped when the exchange never carries them)",
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureEnhancedAuth},
	Statements: []string{"MQTT-3.15.2-2", "MQTT-3.15.2-3", "MQTT-3.2.2-19", "MQTT-3.2.2-20"},
	Run: func(t *c.T) {
		// First exchange, no limit, Request Problem Information 1: learn how big the server's
		// AUTH packets and CONNACK are with and without their optional Reason String and User
		// Properties. The rules bind only packets that carry them.
		var bare, explainedMin uint32
		record := func(p codec.Packet) {
			full := packetSize(t, p)
			if hasDiagnostics(p) && (explainedMin == 0 || full < explainedMin) {
				explainedMin = full
			}
			cp := *p.(*codec.Auth)
			bare = max(bare, bareSize(t, &cp))
		}
		learn := authConnect(t)
		learn.Properties.SetRequestProblemInfo(1)
		first := t.Dial("learn")
		first.Send(learn)
		ack := *watchAuth(t, first, withMethod(c.Connack(0), t.Target.AuthMethod), record).(*codec.Connack)
		first.Disconnect()
		if n := packetSize(t, &ack); hasDiagnostics(&ack) && (explainedMin == 0 || n < explainedMin) {
			explainedMin = n
		}
		bare = max(bare, bareSize(t, &ack))
		if explainedMin == 0 {
			t.Skipf("no AUTH or CONNACK of the %s exchange carries a Reason String or User Property, even without a size limit: MQTT-3.15.2-2/3 and MQTT-3.2.2-19/20 have nothing to leave out", t.Target.AuthMethod)
		}
		// Second exchange, a limit every bare packet fits and the smallest explained one does
		// not: each AUTH and the CONNACK must arrive within it.
		limit := max(bare, explainedMin-1)
		if limit >= explainedMin {
			t.Skipf("the explained packets (%d bytes) are no larger than the bare ones (%d bytes)", explainedMin, bare)
		}
		t.Logf("Maximum Packet Size %d: every bare packet of the exchange fits, the smallest with a Reason String or User Property (%d bytes) does not", limit, explainedMin)
		p := authConnect(t)
		p.Properties.SetMaximumPacketSize(limit).SetRequestProblemInfo(1)
		second := t.Dial("limited")
		second.Send(p)
		final := watchAuth(t, second, withMethod(c.Connack(0), t.Target.AuthMethod), func(a codec.Packet) { checkFits(t, a, limit) })
		checkFits(t, final, limit)
	},
})
