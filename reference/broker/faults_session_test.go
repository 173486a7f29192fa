package broker_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// sessionChecks are the scenarios of the faults in sessionFaults (faults_session.go); sessionDependsOn
// adds to dependsOn for them.
var (
	sessionChecks = map[string]func(tb testing.TB, addr string){
		"client-id-over-22-refused": func(tb testing.TB, addr string) {
			for _, v := range []codec.Version{codec.V311, codec.V5} {
				id := (uniq("f") + strings.Repeat("Z", 23))[:23]
				c, _ := connect(tb, addr, v, clientID(id))
				c.ping()
			}
		},
		"session-expired-while-connected": func(tb testing.TB, addr string) {
			for _, v := range []codec.Version{codec.V311, codec.V5} {
				topic := uniq("f/")
				sub, _ := connect(tb, addr, v, props(func(p *codec.Properties) {
					if v == codec.V5 {
						p.SetSessionExpiry(1)
					}
				}))
				sub.subscribe(1, codec.Subscription{Filter: topic})
				time.Sleep(2300 * time.Millisecond)
				pub, _ := connect(tb, addr, codec.V311)
				pub.publish(&codec.Publish{Topic: topic, Payload: []byte("x")})
				checkPublish(tb, sub.publishes(1)[0], topic, "x", 0, false)
			}
		},
		"disconnect-sent-twice":    disconnectThenClose,
		"disconnect-without-close": disconnectThenClose,
		"takeover-keeps-old-connection": func(tb testing.TB, addr string) {
			id := uniq("f")
			old, _ := connect(tb, addr, codec.V311, clientID(id))
			connect(tb, addr, codec.V311, clientID(id))
			old.expectClosed(wait)
		},
		"empty-client-id-refusal-left-open": func(tb testing.TB, addr string) {
			// The broker may refuse an empty identifier; it must close the connection if so.
			for _, v := range []codec.Version{codec.V311, codec.V5} {
				c := dial(tb, addr, v)
				c.send(connectPacket(clientID("")))
				if ack := expectP[*codec.Connack](c); ack.ReasonCode != 0 {
					c.expectClosed(wait)
				}
			}
		},
		"assigned-client-id-per-host": func(tb testing.TB, addr string) {
			first, a := connect(tb, addr, codec.V5, clientID(""))
			_, b := connect(tb, addr, codec.V5, clientID(""))
			// A missing identifier is assigned-client-id-missing's verdict.
			if x, y := a.Properties.AssignedClientID, b.Properties.AssignedClientID; x == y && x != "" {
				tb.Fatalf("both clients were assigned %q", x)
			}
			first.ping() // not taken over
		},
		"clean-start-0-unknown-session-refused": func(tb testing.TB, addr string) {
			se := props(func(p *codec.Properties) { p.SetSessionExpiry(0) })
			// Accepted is the verdict; Session Present is session-present-always-1's.
			c, _ := connect(tb, addr, codec.V5, clientID(uniq("f")), notClean(), se)
			c.ping()
		},
		"retained-deleted-with-session": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			pub, _ := connect(tb, addr, codec.V311)
			pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("x")})
			pub.disconnect()
			time.Sleep(50 * time.Millisecond)
			sub, _ := connect(tb, addr, codec.V311)
			sub.subscribe(1, codec.Subscription{Filter: topic})
			checkPublish(tb, sub.publishes(1)[0], topic, "x", 0, true)
		},
		"session-keyed-by-connection": func(tb testing.TB, addr string) {
			// 3.1.1 is enough to see the key, and reads no v5 CONNACK flags or properties.
			id, topic := uniq("f"), uniq("f/")
			c, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
			c.subscribe(1, codec.Subscription{Filter: topic})
			c.disconnect()
			c, _ = connect(tb, addr, codec.V311, clientID(id), notClean())
			pub, _ := connect(tb, addr, codec.V311)
			pub.publish(&codec.Publish{Topic: topic, Payload: []byte("x")})
			checkPublish(tb, c.publishes(1)[0], topic, "x", 0, false)
			c.disconnect()
			connect(tb, addr, codec.V311, clientID(id)) // the session ends with this clean one
		},
	}
	sessionDependsOn = map[string][]string{
		// An empty identifier the broker refuses (as it may) is one these scenarios cannot use.
		"assigned-client-id-per-host": {"empty-client-id-refusal-left-open"},
		"assigned-client-id-missing":  {"empty-client-id-refusal-left-open"},
		"empty-client-ids-share-one":  {"empty-client-id-refusal-left-open"},
		// Its first CONNECT is a Clean Start 0 for an identifier without a session.
		"disconnect-session-expiry-ignored": {"clean-start-0-unknown-session-refused"},
		// A second CONNECT's DISCONNECT 0x82, then the close, is what these scenarios read, and
		// (the last two) a takeover's DISCONNECT 0x8E without Session Expiry Interval.
		"no-second-connect-check":  {"disconnect-sent-twice", "disconnect-without-close"},
		"disconnect-sent-twice":    {"disconnect-without-close", "no-second-connect-check", "takeover-disconnect-normal", "takeover-disconnect-0x85", "takeover-disconnect-session-expiry"},
		"disconnect-without-close": {"disconnect-sent-twice", "no-second-connect-check", "takeover-disconnect-normal", "takeover-disconnect-0x85", "takeover-disconnect-session-expiry"},
		// The refusing CONNACK is read: under a configuration with users, the refusal of the
		// missing credentials.
		"empty-client-id-refusal-left-open": {"v5-refusal-with-v311-return-code"},
		// A retained message delivered with RETAIN 1 on subscribing is what it reads.
		"retained-deleted-with-session": {"retained-not-sent-on-subscribe", "retained-sent-without-retain"},
	}
)

// disconnectThenClose checks that a v5 connection the broker ends — for a second CONNECT, for a
// takeover — gets one DISCONNECT and then the close.
func disconnectThenClose(tb testing.TB, addr string) {
	c, _ := connect(tb, addr, codec.V5)
	c.send(connectPacket())
	c.expectDisconnect(codec.ReasonProtocolError)
	id := uniq("f")
	old, _ := connect(tb, addr, codec.V5, clientID(id))
	connect(tb, addr, codec.V5, clientID(id))
	old.expectDisconnect(codec.ReasonSessionTakenOver)
}

func init() {
	maps.Copy(faultChecks, sessionChecks)
	// Like session-not-resumed, a session that no new connection finds breaks every scenario
	// that resumes one.
	exemptFromCrossCheck["session-keyed-by-connection"] = true
	// Added to, not replacing, what dependsOn already lists for a scenario.
	for name, faults := range sessionDependsOn {
		dependsOn[name] = slices.Concat(dependsOn[name], faults)
	}
}
