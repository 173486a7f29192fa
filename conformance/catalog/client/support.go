package client

import (
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// accept waits for the client's connection and its CONNECT, which must be for the case's
// version (a client that cannot speak it cannot be judged on it).
func accept(t *c.T, label string) (*c.Conn, *codec.Connect) {
	conn, cp := t.AcceptConnect(label)
	checkLevel(t, cp)
	return conn, cp
}

// checkLevel ends the case as an error unless the CONNECT is for the case's version.
func checkLevel(t *c.T, cp *codec.Connect) {
	if codec.Version(cp.ProtocolLevel) != t.Version {
		t.Errorf("the client connected with protocol level %d; the case runs on %v (the driver did not make it speak that version)", cp.ProtocolLevel, t.Version)
	}
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

// leaves checks the end of a connection whose action is done: the client sends nothing more
// than a DISCONNECT (any reason; what follows it is not judged) before it closes or falls silent
// for the step timeout. How a
// client leaves (DISCONNECT 0x00 then the close, MQTT-3.14.4-1, MQTT-3.14.4-2) is
// 3.14/disconnect-then-close's claim, not of the cases that end this way: a client that closes
// without DISCONNECT, or stays connected, has not broken the statements they cite. Any other
// packet fails the case — it is one the case did not ask for (an extra PUBLISH, a resent
// flow).
func leaves(t *c.T, conn *c.Conn) { leavesAfter(t, conn, 0) }

// leavesAfter is leaves for a client that stays connected for another d (an OpConnect's
// Duration minus what has passed): its end may come up to d plus the step timeout later.
func leavesAfter(t *c.T, conn *c.Conn, d time.Duration) {
	deadline := time.Now().Add(max(d, 0) + t.Timeouts.Step)
	disconnected := false
	for {
		p, closed := conn.Next(max(time.Until(deadline), time.Millisecond))
		switch {
		case closed:
			return
		case p == nil:
			t.Logf("[%s] the client stayed connected after its action", conn.Label)
			return
		case p.Type() == codec.DISCONNECT && !disconnected:
			disconnected = true
			deadline = time.Now().Add(t.Timeouts.Step)
		case disconnected:
			// Nothing may follow a DISCONNECT (MQTT-3.14.4-1), which is
			// 3.14/disconnect-then-close's claim, not this case's.
			t.Logf("[%s] the client sent %s after its DISCONNECT", conn.Label, p)
		default:
			want := "a DISCONNECT, the close, or nothing"
			t.Failf(want, p.String(), "[%s] expected %s once the action was done, got %s", conn.Label, want, p)
		}
	}
}

// closes checks that the client closes the connection within the step timeout, sending nothing
// before but possibly one DISCONNECT, whatever its reason code (cases where only the close is
// claimed).
func closes(t *c.T, conn *c.Conn) {
	want := "the connection closed (a DISCONNECT allowed first)"
	deadline := time.Now().Add(t.Timeouts.Step)
	disconnected := false
	for {
		p, malformed, closed := conn.NextRaw(max(time.Until(deadline), time.Millisecond))
		switch {
		case malformed != nil:
			t.Failf(want, "a packet the codec rejects", "[%s] expected %s; the client carried on, answering with a packet the codec rejects: %v", conn.Label, want, malformed)
		case closed:
			return
		case p == nil:
			t.Failf(want, "connection still open after "+t.Timeouts.Step.String(), "[%s] expected the client to close the connection within %v; it is still open", conn.Label, t.Timeouts.Step)
		case p.Type() == codec.DISCONNECT && !disconnected:
			disconnected = true
		default:
			t.Failf(want, p.String(), "[%s] expected %s, got %s", conn.Label, want, p)
		}
	}
}

// quietExceptRetry is conn.ExpectNothing(d) for a sender that waits for an acknowledgement,
// except that on 3.1.1 a repeat of the packet it waits on (retry: the PUBLISH with DUP 1, or
// the PUBREL) is allowed: 3.1.1 requires resending on reconnection but does not forbid it on the
// same connection (section 4.4), 5.0 allows it on reconnection only (MQTT-4.4.0-1).
func quietExceptRetry(t *c.T, conn *c.Conn, d time.Duration, retry c.Matcher) {
	if t.V5() {
		conn.ExpectNothing(d)
		return
	}
	want := "nothing for " + d.String() + " but a resend (" + retry.String() + ")"
	deadline := time.Now().Add(d)
	for {
		p, closed := conn.Next(max(time.Until(deadline), time.Millisecond))
		switch {
		case p == nil && !closed:
			return
		case closed:
			t.Failf(want, "connection closed", "[%s] expected %s, but the connection closed", conn.Label, want)
		case retry.Match(p) == nil:
			t.Logf("[%s] the client resent %s on the same connection (allowed on 3.1.1)", conn.Label, p)
		default:
			t.Failf(want, p.String(), "[%s] expected %s, got %s", conn.Label, want, p)
		}
	}
}

// sendsOnly reads what the client sends until it closes the connection or falls silent for the
// step timeout, and fails the case on the first packet check rejects (DISCONNECT included).
func sendsOnly(t *c.T, conn *c.Conn, what string, check func(codec.Packet) error) {
	for {
		p, closed := conn.Next(t.Timeouts.Step)
		if closed || p == nil {
			return
		}
		if err := check(p); err != nil {
			t.Failf(what, p.String(), "[%s] expected %s, got %s: %v", conn.Label, what, p, err)
		}
	}
}

// startOrRefuse starts the client on an action it may refuse before connecting (an invalid
// topic, a forbidden combination of options). It returns nil when the client ended without
// connecting by refusing the action as its driver recognises a refusal (a crash, or any other
// end, fails the case: T.AcceptOrRefuse); otherwise the accepted connection and its CONNECT — answered with a successful
// CONNACK when answer is set — for the case to check what the client does next.
func startOrRefuse(t *c.T, a c.Action, answer bool) (*c.Conn, *codec.Connect) {
	t.StartClient(a)
	conn, exited := t.AcceptOrRefuse("first")
	if exited {
		return nil, nil
	}
	cp := conn.Expect(c.Type(codec.CONNECT)).(*codec.Connect)
	if v := codec.Version(cp.ProtocolLevel); v.Valid() {
		conn.SetVersion(v)
	}
	checkLevel(t, cp)
	if answer {
		connack(t, conn, false, nil)
	}
	return conn, cp
}

// pingWindow is how long a client with keep alive ka may stay silent before a case concludes it
// broke MQTT-3.1.2-23 (3.1.1) / MQTT-3.1.2-20 (5.0): the keep alive plus the run's timing
// tolerance (the verdict itself is Conn.ExpectDue's; this sizes how long a client must run).
func pingWindow(t *c.T, ka uint16) time.Duration {
	return secs(ka) + t.Tolerance()
}

// quietOrLeaves checks that for d the client sends nothing (the scripted broker answers its
// PINGREQs), unless it ends the connection normally: a DISCONNECT 0x00 and the close, or just the
// close. Anything else fails the case.
func quietOrLeaves(t *c.T, conn *c.Conn, d time.Duration) {
	p, closed := conn.Next(d)
	switch {
	case closed, p == nil:
		return
	case c.Disconnect(codec.ReasonSuccess).Match(p) == nil:
		conn.ExpectClosed()
		return
	}
	want := "nothing for " + d.String() + ", or a normal end of the connection"
	t.Failf(want, p.String(), "[%s] expected %s, got %s", conn.Label, want, p)
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

// lastMessage sends the QoS 0 message that completes the count the client waits for, and
// expects it to leave. Cases end QoS 2 flows this way: a client may deliver a QoS 2 message when
// the PUBLISH arrives and leave at once, before the PUBREL, which is not what they check.
func lastMessage(t *c.T, conn *c.Conn, topic string) {
	conn.Send(&codec.Publish{Topic: topic, Payload: []byte("last")})
	leaves(t, conn)
}

// is checks a packet obtained with Conn.Next against m and returns it as a PUBLISH when it is one.
func is(t *c.T, conn *c.Conn, p codec.Packet, m c.Matcher) *codec.Publish {
	if err := m.Match(p); err != nil {
		t.Failf(m.String(), p.String(), "[%s] expected %s, got %s: %v", conn.Label, m, p, err)
	}
	pub, _ := p.(*codec.Publish)
	return pub
}

// afterResume lets a client that subscribes again on every connection do so: it answers the
// SUBSCRIBE packets that arrive within half a second of the CONNACK (re-subscribing on a resumed
// session is allowed) and fails on anything else.
func afterResume(t *c.T, conn *c.Conn) {
	deadline := time.Now().Add(500 * time.Millisecond)
	for {
		p, closed := conn.Next(max(time.Until(deadline), time.Millisecond))
		switch {
		case p == nil && !closed:
			return
		case closed:
			t.Failf("the connection to stay open", "connection closed", "[%s] the client closed the resumed connection", conn.Label)
		case p.Type() == codec.SUBSCRIBE:
			s := p.(*codec.Subscribe)
			codes := make([]codec.ReasonCode, len(s.Subscriptions))
			for i, sub := range s.Subscriptions {
				codes[i] = codec.ReasonCode(sub.QoS)
			}
			conn.Send(&codec.Suback{PacketID: s.PacketID, ReasonCodes: codes})
		default:
			t.Failf("SUBSCRIBE or nothing", p.String(), "[%s] unexpected %s right after the resumed CONNACK", conn.Label, p)
		}
	}
}

// subscribed expects the client's SUBSCRIBE and grants it. A well-formed SUBSCRIBE for anything
// but exactly filter at qos skips the case: the client did not do what the case needs, which no
// statement forbids (a malformed one fails, through the codec).
func subscribed(t *c.T, conn *c.Conn, filter string, qos byte) *codec.Subscribe {
	sub := conn.Expect(c.Type(codec.SUBSCRIBE)).(*codec.Subscribe)
	if len(sub.Subscriptions) != 1 {
		t.Skipf("the client subscribed to %d topic filters, not to %q at QoS %d as asked: %s", len(sub.Subscriptions), filter, qos, sub)
	}
	if got := sub.Subscriptions[0]; got.Filter != filter || got.QoS != qos {
		t.Skipf("the client subscribed to %q at QoS %d, not to %q at QoS %d as asked", got.Filter, got.QoS, filter, qos)
	}
	codes := []codec.ReasonCode{codec.ReasonCode(qos)}
	conn.Send(&codec.Suback{PacketID: sub.PacketID, ReasonCodes: codes})
	return sub
}

// persistent checks that a CONNECT asks for a session that outlives the connection (Clean Start 0;
// on 5.0 a Session Expiry Interval above 0). A client that cannot ask for one cannot be judged on
// session resumption: the case is skipped.
func persistent(t *c.T, cp *codec.Connect) {
	if cp.CleanStart {
		t.Skipf("the client asked for a clean start although the action asked for a persistent session")
	}
	if t.V5() && (!cp.Properties.Has(codec.PropSessionExpiry) || cp.Properties.SessionExpiry == 0) {
		t.Skipf("the client sent no Session Expiry Interval: its session ends with the connection")
	}
}

// nonZeroID checks, in a matcher, that the packet carries a packet identifier other than 0.
func nonZeroID(p codec.Packet) error {
	if id, _ := c.PacketID(p); id == 0 {
		return fmt.Errorf("packet identifier 0")
	}
	return nil
}

// inFlight reads n PUBLISH packets matching m without acknowledging them. A client that keeps
// fewer messages in flight falls silent instead: then the case is skipped, since what it checks
// needs several messages in flight at once.
func inFlight(t *c.T, conn *c.Conn, m c.Matcher, n int) []*codec.Publish {
	var out []*codec.Publish
	for len(out) < n {
		p, closed := conn.Next(time.Second)
		switch {
		case closed:
			t.Failf(m.String(), "connection closed", "[%s] expected PUBLISH %d of %d, the client closed the connection", conn.Label, len(out)+1, n)
		case p == nil:
			t.Skipf("the client keeps %d message(s) in flight, not %d: the claim needs them in flight together", len(out), n)
		}
		if err := m.Match(p); err != nil {
			t.Failf(m.String(), p.String(), "[%s] expected %s, got %s: %v", conn.Label, m, p, err)
		}
		out = append(out, p.(*codec.Publish))
	}
	return out
}

// surrogate is U+D800 encoded as UTF-8 would encode it: ill-formed (MQTT-1.5.3-1, MQTT-1.5.4-1).
const surrogate = "\xed\xa0\x80"

// pings expects n PINGREQs, each due a keep alive after the client's previous packet (within the
// run's timing tolerance, the measured time in the transcript), and answers them. The
// case has switched answering off (Conn.AnswerPings) before the first could come; pings switches
// it on again as soon as the last one has arrived — the client's next PINGREQ is a keep alive
// away — so that the scripted broker answers those that come while the case checks the rest.
func pings(conn *c.Conn, n int, ka uint16) {
	for i := range n {
		conn.ExpectDue("PINGREQ", conn.LastReceived(), secs(ka), c.Type(codec.PINGREQ))
		if i == n-1 {
			conn.AnswerPings(true)
		}
		conn.Send(&codec.Pingresp{})
	}
}
