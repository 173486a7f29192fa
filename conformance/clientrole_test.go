package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// toyClient is a minimal client for testing the scripted-broker side: it publishes at QoS 1 and
// (when broken) uses packet id 0.
func toyClient(brokenID bool) *FuncDriver {
	return &FuncDriver{DriverName: "toy", Can: func(a Action) bool { return a.Op == OpPublish }, Run: func(ctx context.Context, a Action) error {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", a.Addr())
		if err != nil {
			return err
		}
		defer nc.Close()
		w := codec.NewWriter(nc, a.Version)
		r := codec.NewReader(nc, codec.Options{Version: a.Version})
		_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
		if err := w.WritePacket(&codec.Connect{ProtocolLevel: byte(a.Version), CleanStart: true, KeepAlive: 30, ClientID: a.ClientID}); err != nil {
			return err
		}
		if _, err := r.ReadPacket(); err != nil {
			return err
		}
		id := uint16(1)
		if brokenID {
			id = 0
		}
		if err := w.WritePacket(&codec.Publish{Topic: a.Topic, QoS: a.QoS, PacketID: id, Payload: a.Message}); err != nil {
			return err
		}
		if _, err := r.ReadPacket(); err != nil {
			return err
		}
		return w.WritePacket(&codec.Disconnect{})
	}}
}

func TestClientRole(t *testing.T) {
	c := Case{ID: "4.3/client-qos1", Title: "client publishes QoS 1 with a non-zero packet id", Level: Must, Versions: Both,
		Statements: []string{"MQTT-2.3.1-1", "MQTT-2.2.1-3"}, Role: RoleClient,
		Run: func(t *T) {
			topic := t.Topic("q1")
			t.StartClient(Action{Op: OpPublish, Topic: topic, QoS: 1, Message: []byte("m")})
			conn, _ := t.AcceptConnect("")
			conn.Send(&codec.Connack{})
			pub := conn.ExpectPublish(Publish(topic, []byte("m"), 1))
			conn.Send(&codec.Puback{PacketID: pub.PacketID})
			conn.Expect(Disconnect(0))
			conn.ExpectClosed()
		}}
	for _, tc := range []struct {
		broken bool
		want   reports.Status
	}{{false, reports.Pass}, {true, reports.Fail}} {
		for _, v := range []codec.Version{codec.V311, codec.V5} {
			res := RunClientCase(context.Background(), toyClient(tc.broken), &c, v, Timeouts{Step: time.Second}, "run12345")
			if res.Status != tc.want {
				t.Fatalf("broken=%v %v: status %s (%s), want %s", tc.broken, v, res.Status, res.Message, tc.want)
			}
			if tc.broken && !strings.Contains(res.Message, "packet identifier") {
				t.Errorf("failure should name the packet identifier: %s", res.Message)
			}
		}
	}
	// An action the driver cannot do is a skip.
	c2 := c
	c2.Run = func(t *T) { t.StartClient(Action{Op: OpSubscribe, Topic: "x"}) }
	if res := RunClientCase(context.Background(), toyClient(false), &c2, codec.V5, Timeouts{Step: time.Second}, "run12345"); res.Status != reports.Skip {
		t.Fatalf("unsupported action: %s", res.Status)
	}
	// A client that never connects is an error, not a pass.
	c3 := c
	c3.Run = func(t *T) { t.Accept("") }
	if res := RunClientCase(context.Background(), toyClient(false), &c3, codec.V5, Timeouts{Step: 100 * time.Millisecond}, "run12345"); res.Status != reports.Error {
		t.Fatalf("no connection: %s", res.Status)
	}
}

// clientCase is a client-role case running fn.
func clientCase(fn func(t *T)) *Case {
	return &Case{ID: "9.9/test", Title: "test", Level: Must, Versions: Both, Statements: []string{"MQTT-3.1.0-1"}, Role: RoleClient, Run: fn}
}

func hasNote(res reports.Case, sub string) bool {
	for _, e := range res.Transcript {
		if e.Dir == "note" && strings.Contains(e.Packet, sub) {
			return true
		}
	}
	return false
}

// TestSkipNamesTheReason checks that StartClient puts the driver's reason (Explainer) in the skip
// message, and a generic one when the driver gives none.
func TestSkipNamesTheReason(t *testing.T) {
	run := func(d Driver) reports.Case {
		c := clientCase(func(t *T) { t.StartClient(Action{Op: OpPublish, Topic: "x", Retain: true}) })
		return RunClientCase(context.Background(), d, c, codec.V5, Timeouts{Step: time.Second}, "run12345")
	}
	explained := &FuncDriver{DriverName: "why", Run: func(context.Context, Action) error { return nil },
		Explain: func(a Action) string {
			if a.Retain {
				return "this client cannot retain"
			}
			return ""
		}}
	res := run(explained)
	if res.Status != reports.Skip || !strings.Contains(res.Message, "this client cannot retain") || !strings.Contains(res.Message, "retain=true") {
		t.Errorf("explained skip: %s %q", res.Status, res.Message)
	}
	silent := &FuncDriver{DriverName: "silent", Can: func(Action) bool { return false }, Run: func(context.Context, Action) error { return nil }}
	if res := run(silent); res.Status != reports.Skip || !strings.Contains(res.Message, "driver silent cannot publish") {
		t.Errorf("unexplained skip: %s %q", res.Status, res.Message)
	}
}

// TestActionValidate checks that impossible actions end the case as an error (a case bug).
func TestActionValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Action
		bad  string // "" when valid
	}{
		{"plain", Action{Op: OpPublish, Version: codec.V5}, ""},
		{"unknown op", Action{Op: "jump", Version: codec.V5}, "unknown operation"},
		{"5.0 field on 3.1.1", Action{Op: OpConnect, Version: codec.V311, TopicAliasMaximum: 2, SessionExpiry: 3}, "SessionExpiry, TopicAliasMaximum only exist in MQTT 5.0"},
		{"will properties on 3.1.1", Action{Op: OpConnect, Version: codec.V311, Will: &Will{Topic: "w", Properties: new(codec.Properties).SetWillDelay(1)}}, "Will.Properties"},
		{"empty id with an id", Action{Op: OpConnect, Version: codec.V5, EmptyClientID: true, ClientID: "x"}, "EmptyClientID"},
		{"auth data without method", Action{Op: OpConnect, Version: codec.V5, AuthData: []byte{1}}, "AuthData without AuthMethod"},
		{"unsubscribe on publish", Action{Op: OpPublish, Version: codec.V5, Unsubscribe: []string{"t"}}, "Unsubscribe with publish"},
		{"publish properties on subscribe", Action{Op: OpSubscribe, Version: codec.V5, PublishProps: new(codec.Properties).SetMessageExpiry(1)}, "PublishProps with subscribe"},
	} {
		err := tc.a.Validate()
		if (err == nil) != (tc.bad == "") || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.bad)
		}
	}
	var got Action
	d := &FuncDriver{DriverName: "rec", Run: func(_ context.Context, a Action) error { got = a; return nil }}
	c := clientCase(func(t *T) { t.StartClient(Action{Op: OpConnect, Version: codec.V311, ReceiveMaximum: 1}) })
	if res := RunClientCase(context.Background(), d, c, codec.V311, Timeouts{Step: time.Second}, "run12345"); res.Status != reports.Error || !strings.Contains(res.Message, "ReceiveMaximum") {
		t.Errorf("invalid action: %s %q", res.Status, res.Message)
	}
	c = clientCase(func(t *T) {
		p := t.StartClient(Action{Op: OpConnect, EmptyClientID: true})
		_ = p.Wait(t.Context())
	})
	if res := RunClientCase(context.Background(), d, c, codec.V5, Timeouts{Step: time.Second}, "run12345"); res.Status != reports.Pass || got.ClientID != "" || got.Version != codec.V5 {
		t.Errorf("EmptyClientID: %s %q, driver got client id %q version %v", res.Status, res.Message, got.ClientID, got.Version)
	}
}

func TestActionDefaults(t *testing.T) {
	for _, tc := range []struct {
		a          Action
		ka         uint16
		expiry     uint32
		count      int
		descParts  []string
		descAbsent string
	}{
		{Action{Op: OpPublish, Version: codec.V5}, DefaultKeepAlive, 0, 1, []string{"publish", "clean=true", "keepalive=60", "session_expiry=0"}, "count="},
		{Action{Op: OpPublish, Version: codec.V5, Count: 3, KeepAlive: 5, KeepSession: true}, 5, DefaultSessionExpiry, 3, []string{"count=3", "clean=false", "session_expiry=300", "keepalive=5"}, "reconnect"},
		{Action{Op: OpSubscribe, Version: codec.V5, SessionExpiry: 9, Unsubscribe: []string{"a"}}, DefaultKeepAlive, 9, 1, []string{`unsubscribe=["a"]`, "session_expiry=9"}, "message="},
		{Action{Op: OpConnect, Version: codec.V311, EmptyClientID: true, KeepSession: true, Password: []byte("x")}, DefaultKeepAlive, DefaultSessionExpiry, 1, []string{`client_id=""`, "clean=false", "password=(1 bytes)"}, "session_expiry"},
	} {
		if got := tc.a.EffectiveKeepAlive(); got != tc.ka {
			t.Errorf("%s: keep alive %d, want %d", tc.a, got, tc.ka)
		}
		if got := tc.a.EffectiveSessionExpiry(); got != tc.expiry {
			t.Errorf("%s: session expiry %d, want %d", tc.a, got, tc.expiry)
		}
		if got := tc.a.EffectiveCount(); got != tc.count {
			t.Errorf("%s: count %d, want %d", tc.a, got, tc.count)
		}
		s := tc.a.String()
		for _, p := range tc.descParts {
			if !strings.Contains(s, p) {
				t.Errorf("%q lacks %q", s, p)
			}
		}
		if strings.Contains(s, tc.descAbsent) {
			t.Errorf("%q has %q", s, tc.descAbsent)
		}
	}
}

// scripted is a FuncDriver whose client runs script on its connection (nil: it never connects)
// and then returns err.
func scripted(script func(nc net.Conn, a Action) error) *FuncDriver {
	return &FuncDriver{DriverName: "scripted", Run: func(ctx context.Context, a Action) error {
		if script == nil {
			return errors.New("refused: bad topic")
		}
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", a.Addr())
		if err != nil {
			return err
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(3 * time.Second))
		return script(nc, a)
	}}
}

func send(nc net.Conn, v codec.Version, ps ...codec.Packet) error {
	for _, p := range ps {
		b, err := codec.Encode(p, v)
		if err != nil {
			return err
		}
		if _, err := nc.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func expectType(nc net.Conn, v codec.Version, want codec.PacketType) error {
	p, err := codec.NewReader(nc, codec.Options{Version: v}).ReadPacket()
	if err != nil {
		return err
	}
	if p.Type() != want {
		return fmt.Errorf("got %v, want %v", p.Type(), want)
	}
	return nil
}

// TestAcceptNoticesExit checks that Accept ends the case at once, as an error with the client's
// report, when the client ended without connecting; that AcceptOrRefuse passes only a refusal
// the driver recognises (a crash fails); and
// that a connection made just before the client ended is still accepted.
func TestAcceptNoticesExit(t *testing.T) {
	step := 2 * time.Second // Accept alone would wait 6 s
	start := time.Now()
	res := RunClientCase(context.Background(), scripted(nil), clientCase(func(t *T) {
		t.StartClient(Action{Op: OpPublish, Topic: "a/+"})
		t.Accept("")
	}), codec.V5, Timeouts{Step: step}, "run12345")
	if took := time.Since(start); res.Status != reports.Error || !strings.Contains(res.Message, "ended without connecting") ||
		!strings.Contains(res.Message, "refused: bad topic") || took > step {
		t.Errorf("Accept of an ended client: %s %q after %v", res.Status, res.Message, took)
	}

	// AcceptOrRefuse: only the end the driver recognises as a refusal passes; a crash fails; a
	// driver that cannot tell skips.
	refusing := scripted(nil)
	refusing.Refusal = func(err error) string {
		if strings.Contains(err.Error(), "refused:") {
			return "the toy's refusal"
		}
		return ""
	}
	panicking := &FuncDriver{DriverName: "panicking", Refusal: refusing.Refusal,
		Run: func(context.Context, Action) error { panic("nil map") }}
	failing := &FuncDriver{DriverName: "failing", Refusal: refusing.Refusal,
		Run: func(context.Context, Action) error { return errors.New("dial: no route") }}
	for _, tc := range []struct {
		name   string
		d      *FuncDriver
		status reports.Status
		want   string // in the message or a note
	}{
		{"refusal", refusing, reports.Pass, "the toy's refusal"},
		{"cannot tell", scripted(nil), reports.Skip, "cannot tell a refusal"},
		{"panic", panicking, reports.Fail, "panic: nil map"},
		{"other error", failing, reports.Fail, "dial: no route"},
	} {
		start := time.Now()
		res := RunClientCase(context.Background(), tc.d, clientCase(func(t *T) {
			t.StartClient(Action{Op: OpPublish, Topic: "a/+"})
			if conn, exited := t.AcceptOrRefuse(""); !exited || conn != nil {
				t.Fatalf("AcceptOrRefuse: %v %v", conn, exited)
			}
		}), codec.V5, Timeouts{Step: step}, "run12345")
		if took := time.Since(start); res.Status != tc.status || took > step || !(strings.Contains(res.Message, tc.want) || hasNote(res, tc.want)) {
			t.Errorf("AcceptOrRefuse, %s: %s %q after %v, want %s with %q\n%v", tc.name, res.Status, res.Message, took, tc.status, tc.want, res.Transcript)
		}
	}

	// The client connects, sends CONNECT and ends before the case accepts.
	quick := scripted(func(nc net.Conn, a Action) error {
		return send(nc, a.Version, &codec.Connect{ProtocolLevel: byte(a.Version), CleanStart: true, ClientID: a.ClientID})
	})
	res = RunClientCase(context.Background(), quick, clientCase(func(t *T) {
		p := t.StartClient(Action{Op: OpConnect})
		if err := p.Wait(t.Context()); err != nil {
			t.Fatalf("client: %v", err)
		}
		conn, exited := t.AcceptOrRefuse("")
		if exited {
			t.Fatalf("the queued connection was not accepted")
		}
		conn.Expect(Type(codec.CONNECT))
		conn.ExpectClosed()
		t.ExpectNoConnection(5 * time.Second) // returns at once: the client has ended
	}), codec.V311, Timeouts{Step: step}, "run12345")
	if res.Status != reports.Pass || res.DurationMs > 2000 {
		t.Errorf("queued connection: %s %q in %.0f ms", res.Status, res.Message, res.DurationMs)
	}
}

// outputProcess is a ClientProcess that printed something and ends when stopped.
type outputProcess struct{ done chan struct{} }

func (p *outputProcess) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (p *outputProcess) Stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}
func (p *outputProcess) Output() string { return "hello from the client" }

type outputDriver struct{}

func (outputDriver) Name() string         { return "output" }
func (outputDriver) Supports(Action) bool { return true }
func (outputDriver) Describe() string     { return "prog {topic}" }
func (outputDriver) Start(context.Context, Action) (ClientProcess, error) {
	return &outputProcess{done: make(chan struct{})}, nil
}

// TestClientOutputInTranscript checks that the clients are stopped, and their output recorded,
// before the result is built — on a pass as on a failure.
func TestClientOutputInTranscript(t *testing.T) {
	for _, fail := range []bool{false, true} {
		res := RunClientCase(context.Background(), outputDriver{}, clientCase(func(t *T) {
			t.StartClient(Action{Op: OpConnect})
			if fail {
				t.Fatalf("planned failure")
			}
		}), codec.V5, Timeouts{Step: time.Second}, "run12345")
		if !hasNote(res, "output: hello from the client") || !hasNote(res, "still running when the case ended") {
			t.Errorf("fail=%v: the client's output is not in the transcript: %+v", fail, res.Transcript)
		}
	}
	r := &Runner{Driver: outputDriver{}, Versions: []codec.Version{codec.V5}, Timeouts: Timeouts{Step: time.Second}}
	out, err := r.Run(context.Background(), []Case{*clientCase(func(t *T) {})})
	if err != nil {
		t.Fatal(err)
	}
	if out.Target.Name != "output" || out.Target.URL != "prog {topic}" || out.Target.Driver != "output" || out.Target.Role != "client" {
		t.Errorf("target: %+v", out.Target)
	}
	if got := ClientTarget(toyClient(false)).URL; got != "driver:toy" {
		t.Errorf("target URL of a driver without a description: %q", got)
	}
}

// pinger is a client that sends PINGREQ at every turn and checks each PINGRESP: before its
// PUBLISH, during a silence, and (when after) after its DISCONNECT. When early it also sends one
// before the CONNACK, and goes on whatever the CONNACK says.
func pinger(early, after bool) *FuncDriver {
	return scripted(func(nc net.Conn, a Action) error {
		v := a.Version
		steps := []func() error{
			func() error {
				return send(nc, v, &codec.Connect{ProtocolLevel: byte(v), CleanStart: true, KeepAlive: 30, ClientID: a.ClientID})
			},
		}
		if early {
			steps = append(steps, func() error { return send(nc, v, &codec.Pingreq{}) })
		}
		steps = append(steps,
			func() error { return expectType(nc, v, codec.CONNACK) },
			func() error { return send(nc, v, &codec.Pingreq{}) },
			func() error { return expectType(nc, v, codec.PINGRESP) },
			func() error { return send(nc, v, &codec.Publish{Topic: a.Topic, Payload: []byte("m")}) },
			func() error { time.Sleep(100 * time.Millisecond); return send(nc, v, &codec.Pingreq{}) },
			func() error { return expectType(nc, v, codec.PINGRESP) },
			func() error {
				time.Sleep(400 * time.Millisecond)
				return send(nc, v, &codec.Pingreq{}, &codec.Disconnect{})
			},
		)
		if after {
			steps = append(steps, func() error { return send(nc, v, &codec.Pingreq{}) })
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestAnswerPings checks that the scripted broker answers PINGREQ itself, recording it, wherever
// it comes between the CONNACK that accepts the connection and the client's DISCONNECT — and
// nowhere else — unless the case switched that off.
func TestAnswerPings(t *testing.T) {
	accepted := func(conn *Conn) { conn.Send(&codec.Connack{}) }
	for _, tc := range []struct {
		name         string
		early, after bool
		run          func(t *T, conn *Conn, topic string)
		want         reports.Status
		msg          string
		answered     int // PINGRESPs the scripted broker sent by itself
	}{
		{"answered everywhere", false, false, func(t *T, conn *Conn, topic string) {
			accepted(conn)
			conn.Expect(Publish(topic, []byte("m"), 0))
			conn.ExpectNothing(300 * time.Millisecond)
			conn.Expect(Disconnect(0))
			conn.ExpectClosed()
			if err := t.WaitClient(); err != nil {
				t.Fatalf("the client did not get its PINGRESPs: %v", err)
			}
		}, reports.Pass, "", 3},
		{"left to the case", false, false, func(t *T, conn *Conn, topic string) {
			conn.AnswerPings(false)
			accepted(conn)
			conn.Expect(Type(codec.PINGREQ))
		}, reports.Pass, "", 0},
		{"left to the case, then answered again", false, false, func(t *T, conn *Conn, topic string) {
			conn.AnswerPings(false)
			accepted(conn)
			conn.Expect(Type(codec.PINGREQ))
			conn.AnswerPings(true)
			conn.Send(&codec.Pingresp{})
			conn.Expect(Publish(topic, []byte("m"), 0))
			conn.Expect(Disconnect(0))
			conn.ExpectClosed()
		}, reports.Pass, "", 2},
		{"left to the case, Expect sees it", false, false, func(t *T, conn *Conn, topic string) {
			conn.AnswerPings(false)
			accepted(conn)
			conn.Expect(Publish(topic, []byte("m"), 0))
		}, reports.Fail, "got PINGREQ", 0},
		{"before the CONNACK", true, false, func(t *T, conn *Conn, topic string) {
			conn.ExpectNothing(300 * time.Millisecond)
		}, reports.Fail, "got PINGREQ", 0},
		{"after a refusing CONNACK", false, false, func(t *T, conn *Conn, topic string) {
			refusal := codec.ReasonCode(5) // 3.1.1: not authorized
			if t.V5() {
				refusal = codec.ReasonNotAuthorized
			}
			conn.Send(&codec.Connack{ReasonCode: refusal})
			conn.ExpectClosed()
		}, reports.Fail, "got PINGREQ", 0},
		{"after DISCONNECT", false, true, func(t *T, conn *Conn, topic string) {
			accepted(conn)
			conn.Expect(Publish(topic, []byte("m"), 0))
			conn.Expect(Disconnect(0))
			conn.ExpectClosed()
		}, reports.Fail, "got PINGREQ", 3},
		{"after DISCONNECT, in one call", false, true, func(t *T, conn *Conn, topic string) {
			accepted(conn)
			conn.Expect(Publish(topic, []byte("m"), 0))
			if t.V5() {
				conn.ExpectClosed(OrDisconnect(0))
			} else {
				conn.Expect(Disconnect(0))
				conn.ExpectClosed()
			}
		}, reports.Fail, "got PINGREQ", 3},
		{"silence broken", false, false, func(t *T, conn *Conn, topic string) {
			accepted(conn)
			conn.ExpectNothing(time.Second)
		}, reports.Fail, "PUBLISH", 1},
	} {
		for _, v := range []codec.Version{codec.V311, codec.V5} {
			res := RunClientCase(context.Background(), pinger(tc.early, tc.after), clientCase(func(t *T) {
				topic := t.Topic("p")
				t.StartClient(Action{Op: OpPublish, Topic: topic})
				conn, _ := t.AcceptConnect("")
				tc.run(t, conn, topic)
			}), v, Timeouts{Step: time.Second}, "run12345")
			if res.Status != tc.want || !strings.Contains(res.Message, tc.msg) {
				t.Errorf("%s %v: %s %q, want %s %q", tc.name, v, res.Status, res.Message, tc.want, tc.msg)
			}
			if got := answeredPings(t, res.Transcript); got != tc.answered {
				t.Errorf("%s %v: %d PINGREQs answered by the scripted broker, want %d\n%v", tc.name, v, got, tc.answered, res.Transcript)
			}
		}
	}
}

// answeredPings counts the PINGRESPs the scripted broker sent by itself, checking that each
// follows the PINGREQ it answers in the transcript.
func answeredPings(t *testing.T, events []reports.Event) int {
	t.Helper()
	n := 0
	for i, e := range events {
		if e.Dir != "send" || !strings.Contains(e.Packet, "answered by the scripted broker") {
			continue
		}
		n++
		if e.Hex != "d000" {
			t.Errorf("automatic answer %q is not a PINGRESP: %s", e.Packet, e.Hex)
		}
		if i == 0 || events[i-1].Dir != "recv" || events[i-1].Hex != "c000" {
			t.Errorf("automatic PINGRESP without the PINGREQ before it: %+v", events[max(i-1, 0)])
		}
	}
	return n
}

// TestAnswerPingsOnlyOnAcceptedConnections checks that a case asking to switch PINGREQ answers
// on a connection the scripted broker did not accept ends as an error (a case bug).
func TestAnswerPingsOnlyOnAcceptedConnections(t *testing.T) {
	res := RunClientCase(context.Background(), outputDriver{}, clientCase(func(t *T) {
		ours, theirs := net.Pipe()
		defer theirs.Close()
		t.WrapConn("own", ours).AnswerPings(false)
	}), codec.V5, Timeouts{Step: time.Second}, "run12345")
	if res.Status != reports.Error || !strings.Contains(res.Message, "did not accept") {
		t.Errorf("AnswerPings on a connection of the case's own: %s %q", res.Status, res.Message)
	}
}

// TestAcceptsConnection checks which packets the scripted broker writes arm its PINGREQ answers.
func TestAcceptsConnection(t *testing.T) {
	enc := func(p codec.Packet, v codec.Version) []byte {
		b, err := codec.Encode(p, v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	big := &codec.Connack{}
	big.Properties.SetReasonString(strings.Repeat("r", 200)) // a two-byte Remaining Length
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"3.1.1 accepted", enc(&codec.Connack{}, codec.V311), true},
		{"3.1.1 refused", enc(&codec.Connack{ReasonCode: 5}, codec.V311), false},
		{"5.0 accepted", enc(&codec.Connack{SessionPresent: true}, codec.V5), true},
		{"5.0 refused", enc(&codec.Connack{ReasonCode: codec.ReasonNotAuthorized}, codec.V5), false},
		{"5.0 accepted, long", enc(big, codec.V5), true},
		{"reserved flags set", []byte{0x20, 0x02, 0x80, 0x00}, true},
		{"truncated", []byte{0x20, 0x02, 0x00}, false},
		{"not a CONNACK", enc(&codec.Pingresp{}, codec.V5), false},
		{"nothing", nil, false},
	} {
		if got := acceptsConnection(tc.b); got != tc.want {
			t.Errorf("%s (%x): %v, want %v", tc.name, tc.b, got, tc.want)
		}
	}
}
