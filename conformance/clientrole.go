package conformance

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// Op is what a driver makes the client under test do.
type Op string

// Operations a driver may support.
const (
	OpConnect   Op = "connect"   // connect, stay connected for Action.Duration, disconnect normally
	OpPublish   Op = "publish"   // connect, publish Action.Message to Action.Topic at Action.QoS, disconnect
	OpSubscribe Op = "subscribe" // connect, subscribe to Action.Topic at Action.QoS, receive Action.Count messages, disconnect
)

// Action is one instruction for the client under test.
type Action struct {
	Op         Op
	Host       string // filled in by T.StartClient: the scripted broker's address
	Port       int
	Version    codec.Version
	ClientID   string
	Topic      string
	QoS        byte
	Message    []byte
	Retain     bool
	KeepAlive  uint16        // 0 = the driver's default
	CleanStart bool          // ask for a clean session / clean start
	Duration   time.Duration // OpConnect: how long to stay connected
	Count      int           // OpSubscribe: messages to receive before leaving (default 1)
	// Reconnect asks the client to reconnect (and resume its session) when the connection
	// drops, for redelivery cases; only some drivers can.
	Reconnect bool
}

// Addr returns host:port of the scripted broker.
func (a *Action) Addr() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// Driver starts the client under test.
type Driver interface {
	Name() string
	// Supports reports whether the driver can perform the action (operation and options).
	Supports(a Action) bool
	// Start begins the action; the client connects to a.Host:a.Port.
	Start(ctx context.Context, a Action) (ClientProcess, error)
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

// clientSide holds the client-role state of a T: the scripted broker's listener and the client
// processes the case started.
type clientSide struct {
	mu     sync.Mutex
	ln     net.Listener
	driver Driver
	procs  []ClientProcess
}

// ClientDriver returns the driver of a client-role run (nil in broker runs).
func (t *T) ClientDriver() Driver {
	if t.client == nil {
		return nil
	}
	return t.client.driver
}

// StartClient makes the client under test perform the action against the case's scripted
// broker. An action the driver cannot perform skips the case; a driver that fails to start
// ends the case as an error.
func (t *T) StartClient(a Action) ClientProcess {
	if t.client == nil || t.client.driver == nil {
		t.Errorf("StartClient in a case without a client driver")
	}
	addr := t.client.ln.Addr().(*net.TCPAddr)
	a.Host, a.Port = "127.0.0.1", addr.Port
	if a.Version == 0 {
		a.Version = t.Version
	}
	if a.ClientID == "" {
		a.ClientID = t.ClientID()
	}
	if a.Op == OpSubscribe && a.Count == 0 {
		a.Count = 1
	}
	if !t.client.driver.Supports(a) {
		t.Skipf("driver %s cannot %s with these options (qos %d, reconnect %t)", t.client.driver.Name(), a.Op, a.QoS, a.Reconnect)
	}
	t.note("client", fmt.Sprintf("driver %s: %s topic=%q qos=%d clean=%t keepalive=%d", t.client.driver.Name(), a.Op, a.Topic, a.QoS, a.CleanStart, a.KeepAlive))
	p, err := t.client.driver.Start(t.ctx, a)
	if err != nil {
		t.Errorf("start the client under test (%s): %v", t.client.driver.Name(), err)
	}
	t.client.mu.Lock()
	t.client.procs = append(t.client.procs, p)
	t.client.mu.Unlock()
	return p
}

// Accept waits for the client under test to connect to the scripted broker and returns the
// connection; we play the server on it. No connection within the step timeout (times 3, to
// allow for process start-up) ends the case as an error.
func (t *T) Accept(label string) *Conn {
	if t.client == nil {
		t.Errorf("Accept in a case without a scripted broker")
	}
	d := 3 * t.Timeouts.Step
	if tl, ok := t.client.ln.(*net.TCPListener); ok {
		_ = tl.SetDeadline(time.Now().Add(d))
	}
	nc, err := t.client.ln.Accept()
	if err != nil {
		t.Errorf("the client under test did not connect within %v: %v%s", d, err, t.clientOutput())
	}
	if label == "" {
		label = "client"
	}
	c := t.wrap(label, nc, codec.SideServer, codec.SideClient)
	c.version.Store(uint32(codec.VersionUnknown))
	return c
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

// ExpectNoConnection checks that the client does not connect again within d.
func (t *T) ExpectNoConnection(d time.Duration) {
	if tl, ok := t.client.ln.(*net.TCPListener); ok {
		_ = tl.SetDeadline(time.Now().Add(d))
	}
	nc, err := t.client.ln.Accept()
	if err == nil {
		nc.Close()
		t.Failf("no new connection for "+d.String(), "the client connected again", "the client opened another connection within %v", d)
	}
}

// WaitClient waits for every client process of the case to finish (bounded by the step timeout
// times 3) and returns the first error.
func (t *T) WaitClient() error {
	t.client.mu.Lock()
	procs := append([]ClientProcess(nil), t.client.procs...)
	t.client.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.ctx, 3*t.Timeouts.Step)
	defer cancel()
	for _, p := range procs {
		if err := p.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (t *T) clientOutput() string {
	if t.client == nil {
		return ""
	}
	t.client.mu.Lock()
	defer t.client.mu.Unlock()
	out := ""
	for _, p := range t.client.procs {
		if o := p.Output(); o != "" {
			out += "\nclient output: " + o
		}
	}
	return out
}

// stopClients stops the client processes and the listener, and records their output.
func (t *T) stopClients() {
	if t.client == nil {
		return
	}
	t.client.mu.Lock()
	procs := t.client.procs
	t.client.mu.Unlock()
	for _, p := range procs {
		p.Stop()
		if o := p.Output(); o != "" {
			t.note("client", "output: "+o)
		}
	}
	t.client.ln.Close()
}
