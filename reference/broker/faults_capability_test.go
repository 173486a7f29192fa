package broker_test

import (
	"context"
	"maps"
	"testing"

	"github.com/coder/websocket"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reference/broker/scram"
)

// capabilityChecks are the scenarios of the faults in capabilityFaults (faults_capability.go); capabilityDependsOn
// adds to dependsOn for them.
var (
	capabilityChecks = map[string]func(tb testing.TB, addr string){
		"maximum-qos-not-announced": func(tb testing.TB, addr string) {
			if _, ack := connect(tb, addr, codec.V5); !ack.Properties.Has(codec.PropMaximumQoS) || ack.Properties.MaximumQoS != 1 {
				tb.Fatalf("CONNACK of a QoS 1 broker without Maximum QoS 1: %v", ack)
			}
		},
		"maximum-qos-subscribe-refused": func(tb testing.TB, addr string) {
			c, _ := connect(tb, addr, codec.V5)
			ack := c.subscribe(1, codec.Subscription{Filter: uniq("f/"), QoS: 2}, codec.Subscription{Filter: uniq("f/")})
			if len(ack.ReasonCodes) != 2 || ack.ReasonCodes[0] != 1 || ack.ReasonCodes[1] != 0 {
				tb.Fatalf("SUBACK %v for [QoS 2, QoS 0] on a QoS 1 broker, want [0x01 0x00]", ack.ReasonCodes)
			}
		},
		"will-qos-above-maximum-accepted": func(tb testing.TB, addr string) {
			refused(tb, addr, codec.ReasonQoSNotSupported, withWill(uniq("f/"), "w", 2, false, nil))
		},
		"will-retain-unavailable-accepted": func(tb testing.TB, addr string) {
			refused(tb, addr, codec.ReasonRetainNotSupported, withWill(uniq("f/"), "w", 0, true, nil))
		},
		"server-keepalive-not-announced": func(tb testing.TB, addr string) {
			if _, ack := connect(tb, addr, codec.V5); !ack.Properties.Has(codec.PropServerKeepAlive) || ack.Properties.ServerKeepAlive != 3 {
				tb.Fatalf("CONNACK of a broker enforcing keep alive 3 without Server Keep Alive 3: %v", ack)
			}
		},
		"unauthorized-publish-not-acknowledged": func(tb testing.TB, addr string) {
			c, _ := connect(tb, addr, codec.V311)
			c.publish(&codec.Publish{Topic: uniq("denied/"), QoS: 1, PacketID: 3, Payload: []byte("x")}) // requires the PUBACK
		},
		"wildcard-unavailable-accepted": func(tb testing.TB, addr string) {
			c, _ := connect(tb, addr, codec.V311)
			if ack := c.subscribe(1, codec.Subscription{Filter: uniq("f/") + "/+"}); len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] != codec.SubackFailure {
				tb.Fatalf("SUBACK %v for a wildcard filter on a broker without wildcard subscriptions, want [0x80]", ack.ReasonCodes)
			}
		},
		"shared-unavailable-accepted": func(tb testing.TB, addr string) {
			c, _ := connect(tb, addr, codec.V5)
			c.send(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "$share/g/" + uniq("f/")}}})
			c.expectDisconnect(codec.ReasonSharedSubsNotSupported)
		},
		"subscription-ids-unavailable-accepted": func(tb testing.TB, addr string) {
			c, _ := connect(tb, addr, codec.V5)
			s := &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: uniq("f/")}}}
			s.Properties.SubscriptionIDs = []uint32{3}
			c.send(s)
			c.expectDisconnect(codec.ReasonSubscriptionIDsNotSupported)
		},
		"suback-failure-v5-code-on-v311": func(tb testing.TB, addr string) {
			c, _ := connect(tb, addr, codec.V311)
			// The test reader refuses a 3.1.1 SUBACK with a reserved return code, so 0x87 fails
			// in subscribe already.
			if ack := c.subscribe(1, codec.Subscription{Filter: uniq("denied/")}); len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] != codec.SubackFailure {
				tb.Fatalf("SUBACK %v for an ACL-denied filter, want [0x80]", ack.ReasonCodes)
			}
		},
		"unsupported-auth-method-ignored": func(tb testing.TB, addr string) {
			refused(tb, addr, codec.ReasonBadAuthenticationMethod, props(func(p *codec.Properties) {
				p.SetAuthMethod("no-such-method").SetAuthData([]byte("x"))
			}))
		},
		"auth-continue-reason-unset": func(tb testing.TB, addr string) {
			scramConnect(tb, addr, broker.FaultSCRAMPassword) // requires AUTH 0x18 for the challenge
		},
		"auth-failure-admits-client": func(tb testing.TB, addr string) {
			c, ack := scramConnect(tb, addr, "not-the-password")
			if ack.ReasonCode != codec.ReasonBadUsernameOrPassword {
				tb.Fatalf("CONNACK %v after a wrong SCRAM proof, want 0x86", ack.ReasonCode)
			}
			c.expectClosed(wait)
		},
		"auth-success-without-method": func(tb testing.TB, addr string) {
			if _, ack := scramConnect(tb, addr, broker.FaultSCRAMPassword); ack.Properties.AuthMethod != scram.Method {
				tb.Fatalf("CONNACK ending SCRAM authentication without the method: %v", ack)
			}
		},
		"connack-advertises-auth-method": func(tb testing.TB, addr string) {
			if _, ack := connect(tb, addr, codec.V5); ack.Properties.Has(codec.PropAuthMethod) || ack.Properties.Has(codec.PropAuthData) {
				tb.Fatalf("CONNACK to a client without enhanced authentication names a method: %v", ack)
			}
		},
		"reauth-method-ignored": func(tb testing.TB, addr string) {
			c, ack := scramConnect(tb, addr, broker.FaultSCRAMPassword)
			if ack.ReasonCode != 0 {
				tb.Fatalf("CONNACK %v", ack.ReasonCode)
			}
			re := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
			cl := &scram.Client{User: broker.FaultSCRAMUser, Password: broker.FaultSCRAMPassword}
			re.Properties.SetAuthMethod("other-method").SetAuthData(cl.First())
			c.send(re)
			c.expectDisconnect(codec.ReasonProtocolError)
		},
		"auth-reason-code-unchecked": func(tb testing.TB, addr string) {
			c, ack := scramConnect(tb, addr, broker.FaultSCRAMPassword)
			if ack.ReasonCode != 0 {
				tb.Fatalf("CONNACK %v", ack.ReasonCode)
			}
			// AUTH reason 0x01 (no Authenticate Reason Code), with the method and a SCRAM
			// client-first that a re-authentication would answer with a challenge.
			cl := &scram.Client{User: broker.FaultSCRAMUser, Password: broker.FaultSCRAMPassword}
			first := cl.First()
			pr := append([]byte{0x15}, rawStr(scram.Method)...)
			pr = append(append(pr, 0x16), rawStr(string(first))...)
			c.sendRaw(rawPacket(0xF0, []byte{0x01, byte(len(pr))}, pr))
			c.expectDisconnect(codec.ReasonProtocolError)
		},
		"websocket-text-frames-accepted": func(tb testing.TB, addr string) {
			ws := wsOpen(tb, addr)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			b, _ := codec.Encode(connectPacket(), codec.V311)
			if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
				return // closed already
			}
			if typ, msg, err := ws.Read(ctx); err == nil {
				tb.Fatalf("a CONNECT in a text frame answered with a %v message %x instead of the close", typ, msg)
			}
		},
		"websocket-packet-per-frame": func(tb testing.TB, addr string) {
			ws := wsOpen(tb, addr)
			nc := websocket.NetConn(context.Background(), ws, websocket.MessageBinary)
			c := &tconn{t: tb, nc: nc, r: codec.NewReader(nc, codec.Options{Version: codec.V311, Sender: codec.SideServer}), v: codec.V311}
			b, _ := codec.Encode(connectPacket(), codec.V311)
			c.sendRaw(b[:len(b)/2]) // one binary message each
			c.sendRaw(b[len(b)/2:])
			if ack := expectP[*codec.Connack](c); ack.ReasonCode != 0 {
				tb.Fatalf("CONNACK %v", ack.ReasonCode)
			}
			sub, _ := codec.Encode(&codec.Subscribe{PacketID: 5, Subscriptions: []codec.Subscription{{Filter: uniq("f/")}}}, codec.V311)
			ping, _ := codec.Encode(&codec.Pingreq{}, codec.V311)
			c.sendRaw(append(sub, ping...))
			expectP[*codec.Suback](c)
			expectP[*codec.Pingresp](c)
		},
		"websocket-subprotocol-not-returned": func(tb testing.TB, addr string) {
			if ws := wsOpen(tb, addr); ws.Subprotocol() != broker.WebSocketSubprotocol {
				tb.Fatalf("WebSocket handshake answered with subprotocol %q, want %q", ws.Subprotocol(), broker.WebSocketSubprotocol)
			}
		},
	}
	capabilityDependsOn = map[string][]string{
		// The scenario reads a refusing CONNACK and the close after it, which those faults break.
		"unsupported-auth-method-ignored": {"refused-connack-session-present", "refused-connection-left-open"},
		// Other areas' scenarios that see a capability fault on purpose (appended to their
		// entries): refused-connection-left-open is refused with an unknown authentication method;
		// the Maximum Packet Size of diagnostics-exceed-maximum-packet-size leaves no room for the
		// Authentication Method the fault adds to CONNACK; under the ACL of
		// suback-failure-v5-code-on-v311 the 3.1.1 subscription to +/… of
		// dollar-topics-match-wildcards is refused, with the fault's code.
		"refused-connection-left-open":           {"unsupported-auth-method-ignored"},
		"diagnostics-exceed-maximum-packet-size": {"connack-advertises-auth-method"},
		"dollar-topics-match-wildcards":          {"suback-failure-v5-code-on-v311"},
	}
)

func init() {
	maps.Copy(faultChecks, capabilityChecks)
	// Appended, not copied: some entries extend other areas' scenarios.
	for name, deps := range capabilityDependsOn {
		dependsOn[name] = append(dependsOn[name], deps...)
	}
}

// refused sends a v5 CONNECT built with opts and requires CONNACK rc and the close.
func refused(tb testing.TB, addr string, rc codec.ReasonCode, opts ...connOpt) {
	tb.Helper()
	c := dial(tb, addr, codec.V5)
	c.send(connectPacket(opts...))
	if ack := expectP[*codec.Connack](c); ack.ReasonCode != rc {
		tb.Fatalf("CONNACK %v, want %v", ack.ReasonCode, rc)
	}
	c.expectClosed(wait)
}

// scramConnect runs a SCRAM-SHA-256 exchange at CONNECT as broker.FaultSCRAMUser with password
// and returns the connection and its CONNACK; every AUTH from the broker must be 0x18 with the
// method.
func scramConnect(tb testing.TB, addr, password string) (*tconn, *codec.Connack) {
	tb.Helper()
	cl := &scram.Client{User: broker.FaultSCRAMUser, Password: password}
	c := dial(tb, addr, codec.V5)
	c.send(connectPacket(props(func(p *codec.Properties) { p.SetAuthMethod(scram.Method).SetAuthData(cl.First()) })))
	a := expectP[*codec.Auth](c)
	if a.ReasonCode != codec.ReasonContinueAuthentication || a.Properties.AuthMethod != scram.Method {
		tb.Fatalf("SCRAM challenge %v, want AUTH 0x18 with the method", a)
	}
	final, err := cl.Final(a.Properties.AuthData)
	if err != nil {
		tb.Fatalf("SCRAM server-first: %v", err)
	}
	resp := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
	resp.Properties.SetAuthMethod(scram.Method).SetAuthData(final)
	c.send(resp)
	return c, expectP[*codec.Connack](c)
}

// wsOpen adds a WebSocket listener to the broker at addr and opens a WebSocket to it offering
// the mqtt subprotocol.
func wsOpen(tb testing.TB, addr string) *websocket.Conn {
	tb.Helper()
	srv := brokertest.ServerAt(addr)
	if srv == nil {
		tb.Fatalf("no broker started by brokertest at %s", addr)
	}
	ws := brokertest.Listen(tb, srv, "ws://127.0.0.1:0/mqtt")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+ws+"/mqtt", &websocket.DialOptions{Subprotocols: []string{broker.WebSocketSubprotocol}})
	if err != nil {
		tb.Fatalf("open the WebSocket: %v", err)
	}
	tb.Cleanup(func() { conn.CloseNow() })
	return conn
}
