package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// Op is what a driver makes the client under test do.
type Op string

// Operations a driver may support. Every operation connects first (with the Action's connection
// options) and ends with a normal DISCONNECT once its work is done.
const (
	// OpConnect connects, stays connected for Action.Duration, then disconnects normally.
	OpConnect Op = "connect"
	// OpPublish connects, publishes Action.EffectiveCount() messages — each to Action.Topic with
	// Action.Message, Action.QoS, Action.Retain and Action.PublishProps — as fast as the client
	// allows (without waiting for one flow to end before the next starts), waits until every
	// flow is complete, then disconnects normally.
	OpPublish Op = "publish"
	// OpSubscribe connects, subscribes to the filter Action.Topic at Action.QoS, waits for
	// Action.EffectiveCount() messages, unsubscribes from Action.Unsubscribe (when set), then
	// disconnects normally.
	OpSubscribe Op = "subscribe"
)

// Defaults the drivers use where an Action leaves a value open.
const (
	// DefaultKeepAlive is the Keep Alive (seconds) a client sends when Action.KeepAlive is 0.
	DefaultKeepAlive = 60
	// DefaultSessionExpiry is the 5.0 Session Expiry Interval (seconds) a client sends for a
	// persistent session (Action.KeepSession) when Action.SessionExpiry is 0.
	DefaultSessionExpiry = 300
)

// Action is one instruction for the client under test. Its zero values mean "the usual": a case
// sets only what it is about. A driver that cannot honour a field that is set must decline the
// action in Supports (and say why, see Explainer): the case is then skipped, never run with the
// option silently dropped.
type Action struct {
	Op Op
	// Host and Port are the scripted broker's address, filled in by T.StartClient.
	Host string
	Port int
	// Version is the protocol version the client speaks (default: the case's).
	Version codec.Version

	// ClientID is the client identifier the client sends; StartClient fills in one unique to the
	// case when it is empty and EmptyClientID is not set.
	ClientID string
	// EmptyClientID asks the client to send a zero-length client identifier (ClientID must then
	// be empty). A client may refuse to before connecting (3.1.1 allows it only with a clean
	// session, MQTT-3.1.3-7): cases accept with T.AcceptOrRefuse.
	EmptyClientID bool
	// KeepAlive in seconds; 0 means DefaultKeepAlive (not "no keep alive").
	KeepAlive uint16
	// KeepSession asks for a session that outlives the connection: Clean Session 0 on 3.1.1; on
	// 5.0 Clean Start 0 with a Session Expiry Interval above 0 (SessionExpiry, or
	// DefaultSessionExpiry). false, the usual, asks for a clean start (Clean Session 1, Clean
	// Start 1): most cases want no state from earlier runs, so only the session cases set it.
	KeepSession bool
	// SessionExpiry (5.0) is the Session Expiry Interval of the CONNECT in seconds; 0 means the
	// default: none for a clean start, DefaultSessionExpiry with KeepSession. See
	// EffectiveSessionExpiry.
	SessionExpiry uint32
	// Username is sent in CONNECT when not empty.
	Username string
	// Password is sent in CONNECT when not nil (an empty, non-nil Password is a zero-length
	// password), with or without a Username: a client may refuse a password without a user
	// name on 3.1.1 (MQTT-3.1.2-22), before connecting or by leaving it out.
	Password []byte
	// Will is the Will Message of the CONNECT (nil: none).
	Will *Will
	// AuthMethod (5.0) starts enhanced authentication: the CONNECT carries this Authentication
	// Method and AuthData (when not nil) as its Authentication Data; the client answers each
	// AUTH 0x18 (Continue authentication) from the server as AuthAnswer says.
	AuthMethod string
	AuthData   []byte
	AuthAnswer AuthAnswer
	// ReceiveMaximum, TopicAliasMaximum and MaximumPacketSize (5.0) are announced in the
	// CONNECT's properties when not 0: the client's own limits, which the server must respect.
	ReceiveMaximum    uint16
	TopicAliasMaximum uint16
	MaximumPacketSize uint32
	// Reconnect asks the client to reconnect when the connection drops, resuming its session
	// (with KeepSession), and to carry on with the operation: redelivery cases. Only some
	// clients can.
	Reconnect bool

	// Topic is the topic name of OpPublish and the topic filter of OpSubscribe.
	Topic string
	// QoS is the QoS of each PUBLISH of OpPublish, the requested QoS of OpSubscribe.
	QoS byte
	// Message is the payload of each PUBLISH of OpPublish.
	Message []byte
	// Retain is the RETAIN flag of each PUBLISH of OpPublish.
	Retain bool
	// PublishProps (5.0) are the properties of each PUBLISH of OpPublish (Message Expiry
	// Interval, Content Type, Response Topic, Correlation Data, User Properties, …). nil: none.
	PublishProps *codec.Properties
	// Count is, for OpPublish, the number of messages to publish and, for OpSubscribe, the
	// number of messages to receive before leaving; 0 means 1 (see EffectiveCount).
	Count int
	// Unsubscribe (OpSubscribe) lists the topic filters to unsubscribe from, in one UNSUBSCRIBE,
	// once the Count messages have arrived (nil: no UNSUBSCRIBE).
	Unsubscribe []string
	// Duration is how long OpConnect stays connected.
	Duration time.Duration
}

// Will is the Will Message of a CONNECT.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// Properties (5.0) are the Will Properties: Will Delay Interval, Payload Format Indicator,
	// Message Expiry Interval, Content Type, Response Topic, Correlation Data, User Properties.
	// nil: none.
	Properties *codec.Properties
}

// AuthAnswer says how the client answers an AUTH 0x18 (Continue authentication) during enhanced
// authentication.
type AuthAnswer uint8

// How clients answer authentication challenges.
const (
	// AuthEcho answers each challenge with AUTH 0x18 carrying the same Authentication Method
	// and, as its Authentication Data, the challenge's data: the scripted broker can check the
	// exchange without a real mechanism. It is the zero value.
	AuthEcho AuthAnswer = iota
)

func (a AuthAnswer) String() string {
	if a == AuthEcho {
		return "echo"
	}
	return "AuthAnswer(" + strconv.Itoa(int(a)) + ")"
}

// Addr returns host:port of the scripted broker.
func (a *Action) Addr() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// EffectiveKeepAlive is the Keep Alive the client should send: KeepAlive, or DefaultKeepAlive.
func (a *Action) EffectiveKeepAlive() uint16 {
	if a.KeepAlive == 0 {
		return DefaultKeepAlive
	}
	return a.KeepAlive
}

// EffectiveSessionExpiry is the 5.0 Session Expiry Interval the client should send:
// SessionExpiry when set, otherwise DefaultSessionExpiry with KeepSession and 0 for a clean
// start.
func (a *Action) EffectiveSessionExpiry() uint32 {
	switch {
	case a.SessionExpiry != 0:
		return a.SessionExpiry
	case a.KeepSession:
		return DefaultSessionExpiry
	}
	return 0
}

// EffectiveCount is the number of messages of OpPublish or OpSubscribe: Count, at least 1.
func (a *Action) EffectiveCount() int { return max(a.Count, 1) }

// Validate reports actions no client could perform as asked: a case bug, not a client's
// shortcoming. StartClient ends such a case with status error.
func (a *Action) Validate() error {
	switch a.Op {
	case OpConnect, OpPublish, OpSubscribe:
	default:
		return fmt.Errorf("action: unknown operation %q", a.Op)
	}
	switch {
	case a.EmptyClientID && a.ClientID != "":
		return fmt.Errorf("action: EmptyClientID with ClientID %q", a.ClientID)
	case a.Count < 0:
		return fmt.Errorf("action: Count %d", a.Count)
	case a.AuthMethod == "" && a.AuthData != nil:
		return errors.New("action: AuthData without AuthMethod")
	case a.Unsubscribe != nil && a.Op != OpSubscribe:
		return fmt.Errorf("action: Unsubscribe with %s", a.Op)
	case a.PublishProps != nil && a.Op != OpPublish:
		return fmt.Errorf("action: PublishProps with %s", a.Op)
	}
	if a.Version != codec.V5 {
		if f := a.v5Fields(); len(f) > 0 {
			return fmt.Errorf("action: %s only exist in MQTT 5.0; the action is for %v", strings.Join(f, ", "), a.Version)
		}
	}
	return nil
}

// v5Fields names the fields set that only MQTT 5.0 can carry.
func (a *Action) v5Fields() []string {
	var f []string
	add := func(set bool, name string) {
		if set {
			f = append(f, name)
		}
	}
	add(a.SessionExpiry != 0, "SessionExpiry")
	add(a.AuthMethod != "", "AuthMethod")
	add(a.ReceiveMaximum != 0, "ReceiveMaximum")
	add(a.TopicAliasMaximum != 0, "TopicAliasMaximum")
	add(a.MaximumPacketSize != 0, "MaximumPacketSize")
	add(a.PublishProps != nil && !a.PublishProps.Empty(), "PublishProps")
	add(a.Will != nil && a.Will.Properties != nil && !a.Will.Properties.Empty(), "Will.Properties")
	return f
}

// String describes the action for transcripts: the operation and every option that is set. The
// session is shown as the CONNECT carries it (clean=true|false), so that it reads against the
// CONNECT below it in the transcript.
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(string(a.Op))
	kv := func(k string, v any) { fmt.Fprintf(&b, " %s=%v", k, v) }
	if a.Version != 0 {
		kv("version", a.Version)
	}
	if a.EmptyClientID {
		kv("client_id", `""`)
	} else if a.ClientID != "" {
		kv("client_id", a.ClientID)
	}
	if a.Op != OpConnect {
		kv("topic", strconv.Quote(abbreviate(a.Topic)))
		kv("qos", a.QoS)
	}
	if a.Op == OpPublish {
		kv("message", strconv.Quote(abbreviate(string(a.Message))))
		if a.Retain {
			kv("retain", true)
		}
	}
	kv("clean", !a.KeepSession)
	kv("keepalive", a.EffectiveKeepAlive())
	if a.Version == codec.V5 {
		kv("session_expiry", a.EffectiveSessionExpiry())
	}
	if a.Count > 1 {
		kv("count", a.Count)
	}
	if a.Op == OpConnect && a.Duration > 0 {
		kv("duration", a.Duration)
	}
	if a.Reconnect {
		kv("reconnect", true)
	}
	if a.Username != "" {
		kv("username", strconv.Quote(a.Username))
	}
	if a.Password != nil {
		kv("password", fmt.Sprintf("(%d bytes)", len(a.Password)))
	}
	if w := a.Will; w != nil {
		kv("will", fmt.Sprintf("{topic=%q qos=%d retain=%t payload=%d bytes%s}", abbreviate(w.Topic), w.QoS, w.Retain, len(w.Payload), propsSuffix(w.Properties)))
	}
	if a.AuthMethod != "" {
		kv("auth", fmt.Sprintf("{method=%q data=%d bytes answer=%s}", a.AuthMethod, len(a.AuthData), a.AuthAnswer))
	}
	if a.ReceiveMaximum != 0 {
		kv("receive_maximum", a.ReceiveMaximum)
	}
	if a.TopicAliasMaximum != 0 {
		kv("topic_alias_maximum", a.TopicAliasMaximum)
	}
	if a.MaximumPacketSize != 0 {
		kv("maximum_packet_size", a.MaximumPacketSize)
	}
	if a.PublishProps != nil && !a.PublishProps.Empty() {
		kv("publish_props", strings.TrimSpace(propsSuffix(a.PublishProps)))
	}
	if a.Unsubscribe != nil {
		kv("unsubscribe", fmt.Sprintf("%q", a.Unsubscribe))
	}
	return b.String()
}

func abbreviate(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%s…(%d bytes)", s[:60], len(s))
	}
	return s
}

func propsSuffix(p *codec.Properties) string {
	if p == nil || p.Empty() {
		return ""
	}
	names := make([]string, 0, 4)
	for _, id := range p.IDs() {
		names = append(names, id.String())
	}
	return " props=[" + strings.Join(names, ", ") + "]"
}

// Driver starts the client under test.
type Driver interface {
	Name() string
	// Supports reports whether the driver can perform the action with every option that is set.
	Supports(a Action) bool
	// Start begins the action; the client connects to a.Host:a.Port. The process must end when
	// ctx is cancelled.
	Start(ctx context.Context, a Action) (ClientProcess, error)
}

// Explainer is implemented by drivers that can say why they decline an action; StartClient puts
// the reason in the skip message ("mosquitto_pub does not reconnect").
type Explainer interface {
	// Why returns why the driver cannot perform the action ("" when it can).
	Why(a Action) string
}

// Describer is implemented by drivers that can say what runs the client (programs, versions,
// command templates); client runs report it as the target's URL.
type Describer interface {
	Describe() string
}

// ClientTarget is the target of a client run: the driver's name, and its description (see
// Describer) as the URL, instead of the scripted brokers' loopback addresses, which change with
// every case.
func ClientTarget(d Driver) *Target {
	url := "driver:" + d.Name()
	if ds, ok := d.(Describer); ok {
		if s := ds.Describe(); s != "" {
			url = s
		}
	}
	return &Target{Name: d.Name(), URL: url}
}

// ClientProcess is a running client under test.
type ClientProcess interface {
	// Wait waits for the client to finish and returns its error (nil on a clean exit).
	Wait(ctx context.Context) error
	// Stop ends the client (idempotent).
	Stop()
	// Output returns what the client printed (for the transcript), bounded.
	Output() string
}

// Refuser is implemented by client processes whose driver can tell, once the program has ended,
// whether it ended by refusing the action — the refusal the program documents (an exit status
// and message, or an error value) — rather than by crashing (a signal, a panic, a stack trace)
// or failing some other way. Cases where a client may refuse before connecting accept only
// that refusal (T.AcceptOrRefuse).
type Refuser interface {
	// Refusal returns what the program reported when its end is a refusal of the action, and
	// "" otherwise (also while it runs).
	Refusal() string
}

// clientSide holds the client-role state of a T: the scripted broker's listener and the client
// processes the case started.
type clientSide struct {
	mu      sync.Mutex
	ln      net.Listener
	driver  Driver
	procs   []*clientProc
	stopped bool
}

// clientProc is a started client and whether it has ended.
type clientProc struct {
	p     ClientProcess
	ended chan struct{} // closed when the process ended by itself (not when the case ended)
	err   error         // how it ended; set before ended is closed
}

// ClientDriver returns the driver of a client-role run (nil in broker runs).
func (t *T) ClientDriver() Driver {
	if t.client == nil {
		return nil
	}
	return t.client.driver
}

// StartClient makes the client under test perform the action against the case's scripted
// broker. An action the driver cannot perform skips the case, with the driver's reason when it
// gives one (Explainer); an invalid action or a driver that fails to start ends the case as an
// error.
func (t *T) StartClient(a Action) ClientProcess {
	if t.client == nil || t.client.driver == nil {
		t.Errorf("StartClient in a case without a client driver")
	}
	d := t.client.driver
	addr := t.client.ln.Addr().(*net.TCPAddr)
	a.Host, a.Port = "127.0.0.1", addr.Port
	if a.Version == 0 {
		a.Version = t.Version
	}
	if a.ClientID == "" && !a.EmptyClientID {
		a.ClientID = t.ClientID()
	}
	if err := a.Validate(); err != nil {
		t.Errorf("the case asks for an impossible action: %v", err)
	}
	if !d.Supports(a) {
		why := ""
		if e, ok := d.(Explainer); ok {
			why = e.Why(a)
		}
		if why == "" {
			why = "it declines this action"
		}
		t.Skipf("driver %s cannot %s as the case asks: %s (action: %s)", d.Name(), a.Op, why, a)
	}
	t.note("client", fmt.Sprintf("driver %s: %s", d.Name(), a))
	p, err := d.Start(t.ctx, a)
	if err != nil {
		t.Errorf("start the client under test (%s): %v", d.Name(), err)
	}
	cp := &clientProc{p: p, ended: make(chan struct{})}
	t.client.mu.Lock()
	t.client.procs = append(t.client.procs, cp)
	t.client.mu.Unlock()
	go func() { // owned by the case: it ends with the process or with the case
		err := p.Wait(t.ctx)
		if t.ctx.Err() != nil {
			return
		}
		cp.err = err
		close(cp.ended)
	}()
	return p
}

// allEnded returns a channel closed once every client process started so far has ended by itself
// (nil when none was started). Its goroutine ends with the case at the latest.
func (t *T) allEnded() <-chan struct{} {
	t.client.mu.Lock()
	procs := slices.Clone(t.client.procs)
	t.client.mu.Unlock()
	if len(procs) == 0 {
		return nil
	}
	ch := make(chan struct{})
	go func() {
		for _, cp := range procs {
			select {
			case <-cp.ended:
			case <-t.ctx.Done():
				return
			}
		}
		close(ch)
	}()
	return ch
}

// Accept waits for the client under test to connect to the scripted broker and returns the
// connection; we play the server on it, and answer the client's PINGREQ packets once the
// connection is accepted (see Conn.AnswerPings). The case ends as an error when no connection
// comes within the step timeout times 3 (to allow for process start-up), and at once when every
// client process of the case has ended without connecting: the message shows how it ended and
// what it printed.
func (t *T) Accept(label string) *Conn {
	c, exited := t.accept(label)
	if exited {
		t.Errorf("the client under test ended without connecting%s", t.clientOutput())
	}
	return c
}

// AcceptOrRefuse is Accept for actions a client may refuse before connecting (an invalid topic, a
// forbidden combination of options). When every client process has ended without connecting it
// returns (nil, true) only if each ended by refusing the action as its driver recognises a
// refusal (Refuser); a crash or any other end fails the case, with how the program ended and
// the end of what it printed; a driver that cannot tell a refusal from a crash skips the case.
func (t *T) AcceptOrRefuse(label string) (*Conn, bool) {
	c, exited := t.accept(label)
	if !exited {
		return c, false
	}
	t.client.mu.Lock()
	procs := slices.Clone(t.client.procs)
	t.client.mu.Unlock()
	out := t.clientOutput()
	for _, cp := range procs {
		r, ok := cp.p.(Refuser)
		if !ok {
			t.Skipf("the client ended without connecting and driver %s cannot tell a refusal of the action from a crash%s", t.client.driver.Name(), out)
		}
		why := r.Refusal()
		if why == "" {
			t.Failf("a connection, or the client's refusal of the action", "ended otherwise"+strings.ReplaceAll(out, "\n", "; "),
				"the client ended without connecting, and not by refusing the action (driver %s)%s", t.client.driver.Name(), out)
		}
		t.note("client", "refused the action before connecting: "+why)
	}
	return nil, true
}

// accept waits for a connection; exited reports that every client process ended without one.
func (t *T) accept(label string) (c *Conn, exited bool) {
	if t.client == nil {
		t.Errorf("Accept in a case without a scripted broker")
	}
	if label == "" {
		label = "client"
	}
	d := 3 * t.Timeouts.Step
	nc, exited, err := t.waitConnection(d)
	switch {
	case exited:
		return nil, true
	case err != nil:
		t.Errorf("the client under test did not connect within %v: %v%s", d, err, t.clientOutput())
	}
	return t.acceptConn(label, nc), false
}

// waitConnection accepts the next connection within d. It returns early, with exited set, when
// every client process of the case has ended and no connection waits in the listener's queue
// (a client may connect and end before we accept: that connection is still returned).
func (t *T) waitConnection(d time.Duration) (net.Conn, bool, error) {
	ln := t.client.ln
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		nc, err := ln.Accept()
		return nc, false, err
	}
	deadline := time.Now().Add(d)
	ended := t.allEnded()
	for {
		_ = tl.SetDeadline(deadline)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		if ended != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-ended:
					_ = tl.SetDeadline(time.Now()) // wakes the Accept below
				case <-stop:
				}
			}()
		}
		nc, err := tl.Accept()
		close(stop)
		wg.Wait()
		if err == nil {
			return nc, false, nil
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return nil, false, err
		}
		if ended != nil && isClosed(ended) {
			// A past deadline makes Accept fail before looking at the queue: look once more.
			_ = tl.SetDeadline(time.Now().Add(50 * time.Millisecond))
			if nc, err := tl.Accept(); err == nil {
				return nc, false, nil
			}
			return nil, true, nil
		}
		if !time.Now().Before(deadline) {
			return nil, false, err
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// AcceptConnect accepts the client's connection and expects its CONNECT, which it returns; the
// connection then encodes and decodes with the CONNECT's protocol level.
func (t *T) AcceptConnect(label string) (*Conn, *codec.Connect) {
	c := t.Accept(label)
	p := c.Expect(Type(codec.CONNECT)).(*codec.Connect)
	if v := codec.Version(p.ProtocolLevel); v.Valid() {
		c.SetVersion(v)
	}
	return c, p
}

// ExpectNoConnection checks that the client does not connect again within d (it returns early
// once every client process has ended without connecting).
func (t *T) ExpectNoConnection(d time.Duration) {
	if t.client == nil {
		t.Errorf("ExpectNoConnection in a case without a scripted broker")
	}
	nc, _, err := t.waitConnection(d)
	if err == nil && nc != nil {
		nc.Close()
		t.Failf("no new connection for "+d.String(), "the client connected again", "the client opened another connection within %v", d)
	}
}

// WaitClient waits for every client process of the case to finish (bounded by the step timeout
// times 3) and returns the first error.
func (t *T) WaitClient() error {
	t.client.mu.Lock()
	procs := slices.Clone(t.client.procs)
	t.client.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.ctx, 3*t.Timeouts.Step)
	defer cancel()
	for _, cp := range procs {
		if err := cp.p.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// clientOutput describes how the client processes ended and what they printed, for messages.
func (t *T) clientOutput() string {
	if t.client == nil {
		return ""
	}
	t.client.mu.Lock()
	procs := slices.Clone(t.client.procs)
	t.client.mu.Unlock()
	out := ""
	for _, cp := range procs {
		if isClosed(cp.ended) {
			if cp.err != nil {
				out += "\nclient ended: " + cp.err.Error()
			} else {
				out += "\nclient ended: exit status 0"
			}
		}
		if o := cp.p.Output(); o != "" {
			out += "\nclient output: " + o
		}
	}
	return out
}

// stopClients stops the client processes and closes the listener, recording how each process
// ended and what it printed as notes. The runner calls it before it builds the result, so the
// notes are part of the transcript; later calls do nothing.
func (t *T) stopClients() {
	if t.client == nil {
		return
	}
	t.client.mu.Lock()
	if t.client.stopped {
		t.client.mu.Unlock()
		return
	}
	t.client.stopped = true
	procs := t.client.procs
	t.client.mu.Unlock()
	t.client.ln.Close()
	for i, cp := range procs {
		ended := isClosed(cp.ended)
		cp.p.Stop()
		label := "client"
		if len(procs) > 1 {
			label += strconv.Itoa(i + 1)
		}
		switch {
		case ended && cp.err != nil:
			t.note(label, "the client had ended: "+cp.err.Error())
		case ended:
			t.note(label, "the client had ended: exit status 0")
		default:
			t.note(label, "the client was still running when the case ended: stopped")
		}
		if o := cp.p.Output(); o != "" {
			t.note(label, "output: "+o)
		}
	}
}
