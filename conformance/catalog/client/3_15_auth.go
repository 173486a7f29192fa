package client

import (
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.15 and 4.12: AUTH and enhanced authentication (the exchange before the CONNACK is
// checked in 3_1_connect.go).

func init() {
	catalog.Client(c.Case{
		ID:         "3.15/auth-without-method",
		Title:      "a client that sent no Authentication Method does not answer an AUTH from the server with AUTH",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-4.12.0-7"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect, Duration: 10 * time.Second})
			conn, cp := connected(t, "")
			t.Check(!cp.Properties.Has(codec.PropAuthMethod), "no Authentication Method", cp.String(), "the client sent an Authentication Method unasked")
			a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
			a.Properties.SetAuthMethod("MQTTSPEC-ECHO").SetAuthData([]byte("challenge"))
			conn.Send(a)
			// Closing (the SHOULD of 4.13, checked in 4.13/unexpected-auth) or ignoring it are
			// both compatible with the statement; answering with AUTH is not.
			p, closed := conn.Next(2 * time.Second)
			switch {
			case closed, p == nil:
			case p.Type() == codec.AUTH:
				t.Failf("no AUTH", p.String(), "the client answered with %s although it sent no Authentication Method", p)
			case p.Type() == codec.DISCONNECT:
				conn.ExpectClosed()
			default:
				t.Failf("no AUTH", p.String(), "unexpected %s", p)
			}
		},
	})

	catalog.Client(c.Case{
		ID:         "3.15/auth-reserved-flags",
		Title:      "an AUTH with a reserved fixed-header bit set is a malformed packet: the client closes (DISCONNECT 0x81 allowed first)",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.15.1-1"},
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect, Duration: 10 * time.Second, AuthMethod: "MQTTSPEC-ECHO"})
			conn, cp := accept(t, "")
			if cp.Properties.AuthMethod != "MQTTSPEC-ECHO" {
				t.Skipf("the client did not start enhanced authentication (Authentication Method %q)", cp.Properties.AuthMethod)
			}
			ch := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
			ch.Properties.SetAuthMethod("MQTTSPEC-ECHO").SetAuthData([]byte("challenge"))
			b := c.WithFlags(t.Encode(ch, codec.V5), 0x02)
			conn.SendRaw(b, "AUTH 0x18 with fixed-header flags 0010")
			conn.ExpectErrorClose(codec.ReasonMalformedPacket)
		},
	})
}
