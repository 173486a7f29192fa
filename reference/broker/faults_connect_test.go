package broker_test

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// connectChecks are the scenarios of the faults in connectFaults (faults_connect.go); connectDependsOn
// adds to dependsOn for them.
var (
	connectChecks = map[string]func(tb testing.TB, addr string){
		"connect-protocol-name-unchecked": func(tb testing.TB, addr string) {
			for _, v := range []codec.Version{codec.V311, codec.V5} {
				notAccepted(tb, addr, v, encodeConnect(tb, v, func(cp *codec.Connect) { cp.ProtocolName = "MQTX" }))
			}
		},
		"connect-reserved-flag-accepted": func(tb testing.TB, addr string) {
			for _, v := range []codec.Version{codec.V311, codec.V5} {
				notAccepted(tb, addr, v, encodeConnect(tb, v, func(cp *codec.Connect) { cp.ReservedFlag = true }))
			}
		},
		"connect-trailing-bytes-accepted": func(tb testing.TB, addr string) {
			for _, v := range []codec.Version{codec.V311, codec.V5} {
				b := encodeConnect(tb, v, nil)
				// A user name although User Name Flag is 0: bytes after the last field.
				notAccepted(tb, addr, v, rawPacket(b[0], b[2:], rawStr("user")))
			}
		},
		"unknown-protocol-level-as-311": func(tb testing.TB, addr string) {
			notAccepted(tb, addr, codec.V311, encodeConnect(tb, codec.V311, func(cp *codec.Connect) { cp.ProtocolLevel = 6 }))
		},
		"unknown-protocol-level-as-5": func(tb testing.TB, addr string) {
			notAccepted(tb, addr, codec.V5, encodeConnect(tb, codec.V5, func(cp *codec.Connect) { cp.ProtocolLevel = 6 }))
		},
		"refused-connection-left-open": func(tb testing.TB, addr string) {
			// An authentication method the broker does not know gets CONNACK 0x8C.
			c := dial(tb, addr, codec.V5)
			c.send(connectPacket(props(func(p *codec.Properties) { p.SetAuthMethod("no-such-method") })))
			p, err := c.next(wait)
			var ce *codec.Error
			switch ack, ok := p.(*codec.Connack); {
			case errors.As(err, &ce):
				// A refusing CONNACK the test reader rejects is another fault's business.
			case err != nil:
				tb.Fatalf("expected a refusing CONNACK, got %v", err)
			case !ok || !ack.ReasonCode.IsError():
				tb.Fatalf("expected a refusing CONNACK, got %v", p)
			}
			c.expectClosed(wait)
		},
		"refused-connect-keeps-processing": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			w := watcher(tb, addr, topic)
			c := dial(tb, addr, codec.V311)
			// Will QoS 3 is malformed: the CONNECT is refused, the PUBLISH behind it never handled.
			bad := encodeConnect(tb, codec.V311, func(cp *codec.Connect) {
				cp.WillFlag, cp.Will = true, codec.Will{Topic: uniq("w/"), Payload: []byte("w"), QoS: 1}
			})
			bad[9] |= 0x10 // Will QoS 1 becomes 3 (connect flags, after the 2+4+1 bytes of name and level)
			pub, err := codec.Encode(&codec.Publish{Topic: topic, Payload: []byte("after the refused CONNECT")}, codec.V311)
			if err != nil {
				tb.Fatal(err)
			}
			c.sendRaw(append(bad, pub...))
			c.expectClosed(wait)
			w.expectNothing(500 * time.Millisecond)
		},
		"malformed-connect-answered-with-disconnect": func(tb testing.TB, addr string) {
			c := dial(tb, addr, codec.V5)
			c.sendRaw(encodeConnect(tb, codec.V5, func(cp *codec.Connect) { cp.ReservedFlag = true }))
			// Whatever comes first may be a CONNACK or the close, never a DISCONNECT.
			if p, err := c.next(wait); err == nil {
				if _, ok := p.(*codec.Disconnect); ok {
					tb.Fatalf("%v before CONNACK (MQTT-3.14.0-1)", p)
				}
			}
		},
		"v5-refusal-with-v311-return-code": func(tb testing.TB, addr string) {
			c := dial(tb, addr, codec.V5)
			c.send(connectPacket(creds(faultUser, "wrong")))
			if ack := expectP[*codec.Connack](c); ack.ReasonCode != codec.ReasonBadUsernameOrPassword {
				tb.Fatalf("CONNACK %v to a wrong password, want 0x86", ack.ReasonCode)
			}
		},
		"password-not-checked": func(tb testing.TB, addr string) {
			c := dial(tb, addr, codec.V5)
			c.send(connectPacket(creds(faultUser, "wrong")))
			p, err := c.next(wait)
			if ack, ok := p.(*codec.Connack); err == nil && ok && ack.ReasonCode == 0 {
				tb.Fatalf("a wrong password was accepted: %v", ack)
			}
		},
		"connack-after-pipelined-packets": func(tb testing.TB, addr string) {
			c := dial(tb, addr, codec.V311)
			ping, err := codec.Encode(&codec.Pingreq{}, codec.V311)
			if err != nil {
				tb.Fatal(err)
			}
			c.sendRaw(append(encodeConnect(tb, codec.V311, nil), ping...))
			if ack := expectP[*codec.Connack](c); ack.ReasonCode != 0 {
				tb.Fatalf("CONNACK %v", ack.ReasonCode)
			}
			expectP[*codec.Pingresp](c)
		},
		"connack-resumed-flag-bit-1": func(tb testing.TB, addr string) {
			id := uniq("f")
			se := props(func(p *codec.Properties) { p.SetSessionExpiry(60) })
			c, _ := connect(tb, addr, codec.V5, clientID(id), se)
			c.disconnect()
			connect(tb, addr, codec.V5, clientID(id), notClean(), se) // the test reader checks the flags
		},
		"will-with-user-name-refused": func(tb testing.TB, addr string) {
			for _, v := range []codec.Version{codec.V311, codec.V5} {
				c, _ := connect(tb, addr, v, creds("someone", "secret"), withWill(uniq("w/"), "w", 1, false, nil))
				c.disconnect()
			}
		},
		"publish-length-four-bytes": func(tb testing.TB, addr string) {
			// 200 bytes of payload: a Remaining Length of two bytes, which the test reader checks.
			topic := uniq("f/")
			sub, _ := connect(tb, addr, codec.V5)
			sub.subscribe(1, codec.Subscription{Filter: topic})
			pub, _ := connect(tb, addr, codec.V5)
			pub.publish(&codec.Publish{Topic: topic, Payload: make([]byte, 200)})
			sub.publishes(1)
		},
	}
	connectDependsOn = map[string][]string{
		// That scenario requires the close after its refusing CONNACK, which this fault leaves out.
		"empty-id-persistent-accepted": {"refused-connection-left-open"},
		// These scenarios resume a v5 session: the test reader rejects the CONNACK whose reserved
		// flag bit this fault sets.
		"no-dup-on-redelivery":                {"connack-resumed-flag-bit-1"},
		"puback-error-ignored":                {"connack-resumed-flag-bit-1"},
		"session-present-always-0":            {"connack-resumed-flag-bit-1"},
		"topic-alias-kept-across-connections": {"connack-resumed-flag-bit-1"},
	}
)

// faultUser is the user name the credential faults configure (broker.Fault.Configure).
const faultUser = "fault-user"

// encodeConnect encodes a CONNECT for version v, changed by edit (nil: none) first.
func encodeConnect(tb testing.TB, v codec.Version, edit func(cp *codec.Connect)) []byte {
	tb.Helper()
	cp := connectPacket()
	if edit != nil {
		edit(cp)
	}
	b, err := codec.Encode(cp, v)
	if err != nil {
		tb.Fatalf("encode %v: %v", cp, err)
	}
	return b
}

// notAccepted sends a CONNECT the broker must not accept and fails only on a CONNACK 0x00: how
// the broker refuses it (a refusing CONNACK, a DISCONNECT, the close) is other faults' business.
func notAccepted(tb testing.TB, addr string, v codec.Version, raw []byte) {
	tb.Helper()
	c := dial(tb, addr, v)
	c.sendRaw(raw)
	if p, err := c.next(wait); err == nil {
		if ack, ok := p.(*codec.Connack); ok && ack.ReasonCode == 0 {
			tb.Fatalf("%v: the CONNECT was accepted: %v", v, p)
		}
	}
}

func init() {
	maps.Copy(faultChecks, connectChecks)
	// Added to, not replacing, what dependsOn already lists for a scenario.
	for name, faults := range connectDependsOn {
		dependsOn[name] = slices.Concat(dependsOn[name], faults)
	}
}
