package client

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/spec"
)

// register adds a case that cites s311 when it runs on MQTT 3.1.1 and s5 when it runs on 5.0.
//
// A case has one statement list for every version it runs on, and the engine reports an ID for
// each version in which it exists; 3.1.1 and 5.0 number many statements differently (3.1.1's
// MQTT-3.1.2-21 is about the password, 5.0's about Server Keep Alive). When an ID meant for one
// version names another statement in the other, the case is registered twice, with the
// suffixes "-v311" and "-v5"; otherwise once with both lists.
func register(cs c.Case, s311, s5 []string) {
	switch {
	case cs.Versions == c.V311:
		cs.Statements = s311
		catalog.Client(cs)
		return
	case cs.Versions == c.V5:
		cs.Statements = s5
		catalog.Client(cs)
		return
	}
	if !collides(s311, s5, spec.V311) && !collides(s5, s311, spec.V5) {
		cs.Statements = union(s311, s5)
		catalog.Client(cs)
		return
	}
	a, b := cs, cs
	a.ID, a.Versions, a.Statements = cs.ID+"-v311", c.V311, s311
	b.ID, b.Versions, b.Statements = cs.ID+"-v5", c.V5, s5
	catalog.Client(a)
	catalog.Client(b)
}

// collides reports whether an ID meant for the other version also names a statement of v.
func collides(own, other []string, v string) bool {
	for _, id := range other {
		if !slices.Contains(own, id) && spec.Exists(v, id) {
			return true
		}
	}
	return false
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, id := range b {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func ids(s ...string) []string { return s }

// accept waits for the client's connection and its CONNECT, which must be for the case's
// version (a client that cannot speak it cannot be judged on it).
func accept(t *c.T, label string) (*c.Conn, *codec.Connect) {
	conn, cp := t.AcceptConnect(label)
	if codec.Version(cp.ProtocolLevel) != t.Version {
		t.Errorf("the client connected with protocol level %d; the case runs on %v (the driver did not make it speak that version)", cp.ProtocolLevel, t.Version)
	}
	return conn, cp
}

// connack sends a successful CONNACK with Session Present sp; on 5.0 props may add properties.
func connack(t *c.T, conn *c.Conn, sp bool, props func(*codec.Properties)) {
	ack := &codec.Connack{SessionPresent: sp}
	if t.V5() && props != nil {
		props(&ack.Properties)
	}
	conn.Send(ack)
}

// connected accepts the client's connection and answers with a successful CONNACK (Session
// Present 0): the usual start of a case.
func connected(t *c.T, label string) (*c.Conn, *codec.Connect) {
	conn, cp := accept(t, label)
	connack(t, conn, false, nil)
	return conn, cp
}

// leaves expects the client to end the connection normally: a DISCONNECT (5.0: reason 0x00 Normal
// disconnection), then the close with nothing after it (MQTT-3.14.4-1, MQTT-3.14.4-2).
func leaves(conn *c.Conn) {
	conn.Expect(c.Disconnect(codec.ReasonSuccess))
	conn.ExpectClosed()
}

// errorCodes are the DISCONNECT reason codes a client may send before closing on an error: any
// failure code (0x80 and above). A DISCONNECT 0x00 or 0x04 would be a normal end.
func errorCodes() []codec.ReasonCode {
	var out []codec.ReasonCode
	for rc := 0x80; rc <= 0xFF; rc++ {
		if codec.ReasonCode(rc).ValidFor(codec.DISCONNECT) {
			out = append(out, codec.ReasonCode(rc))
		}
	}
	return out
}

// closesOnError expects the client to close the connection because of what the case sent: on 5.0
// a DISCONNECT with one of codes (default: any failure code) may come first; on 3.1.1 the client
// just closes (a DISCONNECT there is a normal end that would discard the Will).
func closesOnError(conn *c.Conn, codes ...codec.ReasonCode) {
	if len(codes) == 0 {
		codes = errorCodes()
	}
	conn.ExpectClosed(c.OrDisconnect(codes...))
}

// anyOf matches a packet that one of the matchers accepts.
type anyOf []c.Matcher

func (m anyOf) Match(p codec.Packet) error {
	var errs []string
	for _, x := range m {
		err := x.Match(p)
		if err == nil {
			return nil
		}
		errs = append(errs, x.String()+": "+err.Error())
	}
	return fmt.Errorf("matches none of: %s", strings.Join(errs, "; "))
}

func (m anyOf) String() string {
	s := make([]string, len(m))
	for i, x := range m {
		s[i] = x.String()
	}
	return strings.Join(s, " or ")
}

// refusedLocally starts the client on an action it should refuse (an invalid topic, a forbidden
// option). It reports true when the client program ended within grace without connecting: it
// refused before opening a connection. Otherwise it returns the accepted connection, answered
// with a successful CONNACK (props on 5.0), for the case to check what the client does next.
func refusedLocally(t *c.T, a c.Action, props func(*codec.Properties)) (*c.Conn, *codec.Connect, bool) {
	p := t.StartClient(a)
	const grace = 1500 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), grace)
	err := p.Wait(ctx)
	exited := ctx.Err() == nil
	cancel()
	if exited {
		t.Logf("the client ended without connecting: %v", err)
		t.ExpectNoConnection(300 * time.Millisecond)
		return nil, nil, true
	}
	conn, cp := accept(t, "")
	connack(t, conn, false, props)
	return conn, cp, false
}

// pingWindow is how long a client with keep alive ka may stay silent before a case concludes it
// broke MQTT-3.1.2-23 (3.1.1) / MQTT-3.1.2-20 (5.0): the keep alive plus scheduling slack.
func pingWindow(ka uint16) time.Duration {
	return time.Duration(ka)*time.Second + 700*time.Millisecond
}

// idle checks that, for n keep alive periods, the client sends nothing but PINGREQ (each answered
// with PINGRESP). It returns early, true, when the client ends the connection normally
// (DISCONNECT then close) and allowLeave is set; anything else fails the case. The action must
// use keep alive ka.
func idle(t *c.T, conn *c.Conn, ka uint16, n int, allowLeave bool) bool {
	m := anyOf{c.Type(codec.PINGREQ)}
	if allowLeave {
		m = append(m, c.Disconnect(codec.ReasonSuccess))
	}
	for range n {
		p := conn.ExpectWithin(pingWindow(ka), m)
		if p.Type() == codec.DISCONNECT {
			conn.ExpectClosed()
			return true
		}
		conn.Send(&codec.Pingresp{})
	}
	return false
}

func wantString(what, got, want string) error {
	if got != want {
		return fmt.Errorf("%s is %q, want %q", what, got, want)
	}
	return nil
}

const millis = time.Millisecond

// secs converts a keep alive to a duration.
func secs(s uint16) time.Duration { return time.Duration(s) * time.Second }
