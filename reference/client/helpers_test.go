package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// ---- mosquitto ----

// mosquitto is a broker process started by a test on a free loopback port.
type mosquitto struct {
	t    testing.TB
	conf string
	addr string // 127.0.0.1:port
	mu   sync.Mutex
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

// startMosquitto starts mosquitto with a generated configuration (persistence off, anonymous
// access) plus extra lines; it skips the test only when the binary is absent.
func startMosquitto(t testing.TB, extra ...string) *mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/mosquitto"); err2 == nil {
			bin = "/usr/sbin/mosquitto"
		} else {
			t.Skip("mosquitto is not installed (apt package mosquitto); skipping the test against it")
		}
	}
	port := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	lines := append([]string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"persistence false",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"log_type notice",
	}, extra...)
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &mosquitto{t: t, conf: conf, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	m.bin(bin)
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

var mosquittoBin string

func (m *mosquitto) bin(b string) { mosquittoBin = b }

// Start runs the broker and waits until its port accepts connections.
func (m *mosquitto) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log = new(bytes.Buffer)
	m.cmd = exec.Command(mosquittoBin, "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	m.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(m.cmd, m.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-m.done:
			m.t.Fatalf("mosquitto exited at start: %s", m.log.String())
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto did not accept connections on %s: %s", m.addr, m.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop terminates the broker and waits for it to exit.
func (m *mosquitto) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Kill()
	<-m.done
	if m.t.Failed() {
		m.t.Logf("mosquitto log:\n%s", m.log.String())
	}
	m.cmd = nil
}

// URL returns tcp://addr.
func (m *mosquitto) URL() string { return "tcp://" + m.addr }

// Addr returns host:port.
func (m *mosquitto) Addr() string { return m.addr }

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ---- scripted fake broker ----

// fakeBroker accepts connections on a loopback port; each test scripts what it answers.
type fakeBroker struct {
	t     *testing.T
	ln    net.Listener
	conns chan net.Conn
}

func newFakeBroker(t *testing.T) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBroker{t: t, ln: ln, conns: make(chan net.Conn, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for {
			select {
			case c := <-b.conns:
				c.Close()
			default:
				return
			}
		}
	})
	return b
}

func (b *fakeBroker) URL() string { return "tcp://" + b.ln.Addr().String() }

// accept waits for the next client connection and reads its CONNECT.
func (b *fakeBroker) accept(v codec.Version) (*fakeConn, *codec.Connect) {
	b.t.Helper()
	select {
	case nc := <-b.conns:
		fc := &fakeConn{t: b.t, nc: nc, v: v, r: codec.NewReader(nc, codec.Options{Version: v, Sender: codec.SideClient}),
			w: codec.NewWriter(nc, v)}
		b.t.Cleanup(func() { nc.Close() })
		p := fc.expect(codec.CONNECT)
		return fc, p.(*codec.Connect)
	case <-time.After(10 * time.Second):
		b.t.Fatal("fake broker: no connection within 10s")
	}
	return nil, nil
}

// noConnection asserts that no client connects within d.
func (b *fakeBroker) noConnection(d time.Duration) {
	b.t.Helper()
	select {
	case nc := <-b.conns:
		nc.Close()
		b.t.Fatal("fake broker: unexpected connection")
	case <-time.After(d):
	}
}

type fakeConn struct {
	t  *testing.T
	nc net.Conn
	v  codec.Version
	r  *codec.Reader
	w  *codec.Writer
}

func (fc *fakeConn) send(p codec.Packet) {
	fc.t.Helper()
	if err := fc.w.WritePacket(p); err != nil {
		fc.t.Fatalf("fake broker: send %v: %v", p, err)
	}
}

// next reads one packet (within d).
func (fc *fakeConn) next(d time.Duration) (codec.Packet, error) {
	fc.nc.SetReadDeadline(time.Now().Add(d))
	return fc.r.ReadPacket()
}

// expect reads the next packet and checks its type.
func (fc *fakeConn) expect(t codec.PacketType) codec.Packet {
	fc.t.Helper()
	p, err := fc.next(5 * time.Second)
	if err != nil {
		fc.t.Fatalf("fake broker: waiting for %v: %v", t, err)
	}
	if p.Type() != t {
		fc.t.Fatalf("fake broker: got %v, want %v", p, t)
	}
	return p
}

// expectClosed reads until the client closes the connection, returning what arrived first.
func (fc *fakeConn) expectClosed(d time.Duration) []codec.Packet {
	fc.t.Helper()
	var got []codec.Packet
	deadline := time.Now().Add(d)
	for {
		p, err := fc.next(time.Until(deadline))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				fc.t.Fatalf("fake broker: the client did not close the connection within %v (got %v)", d, got)
			}
			return got
		}
		got = append(got, p)
	}
}

// expectNothing asserts that no packet arrives within d.
func (fc *fakeConn) expectNothing(d time.Duration) {
	fc.t.Helper()
	p, err := fc.next(d)
	if err == nil {
		fc.t.Fatalf("fake broker: unexpected %v", p)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		fc.t.Fatalf("fake broker: connection ended: %v", err)
	}
}

func (fc *fakeConn) connack(present bool, props func(*codec.Properties)) {
	fc.t.Helper()
	ack := &codec.Connack{SessionPresent: present}
	if props != nil {
		props(&ack.Properties)
	}
	fc.send(ack)
}

// ---- shared ----

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// dial connects and registers a Disconnect and a goroutine-leak check at cleanup.
func dial(t *testing.T, url string, o Options) *Client {
	t.Helper()
	c, err := Dial(ctxT(t, 10*time.Second), url, o)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { closeClient(t, c) })
	return c
}

func closeClient(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Disconnect(ctx)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("client goroutines still running 5s after Disconnect:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

// inbox collects messages delivered to a handler.
type inbox struct {
	ch chan *Message
}

func newInbox() *inbox { return &inbox{ch: make(chan *Message, 1000)} }

func (b *inbox) handler(m *Message) { b.ch <- m }

func (b *inbox) next(t *testing.T, d time.Duration) *Message {
	t.Helper()
	select {
	case m := <-b.ch:
		return m
	case <-time.After(d):
		t.Fatalf("no message within %v", d)
	}
	return nil
}

func (b *inbox) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-b.ch:
		t.Fatalf("unexpected message %q on %s", m.Payload, m.Topic)
	case <-time.After(d):
	}
}

// uniq returns a topic prefix unique to the test.
func uniq(t *testing.T) string {
	return fmt.Sprintf("mqttspec/%s/%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
}

// abort ends the client the way a crashed process would: the connection closes without
// DISCONNECT and the stored session state stays.
func (c *Client) abort() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.closeErr = true, ErrClosed
	cn := c.cn
	c.mu.Unlock()
	c.cancel()
	if cn != nil {
		cn.fail(ErrClosed)
		<-cn.stopped
	}
	c.mu.Lock()
	c.failAll(ErrClosed)
	c.mu.Unlock()
}
