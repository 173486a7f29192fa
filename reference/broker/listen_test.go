package broker_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func TestTLSListener(t *testing.T) {
	cert := brokertest.SelfSigned(t)
	srv, _ := brokertest.StartServer(t, broker.Options{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	addr := brokertest.Listen(t, srv, "tls://127.0.0.1:0")
	nc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &tconn{t: t, nc: nc, r: codec.NewReader(nc, codec.Options{Version: codec.V5, Sender: codec.SideServer}), v: codec.V5}
	c.send(connectPacket())
	if ack := expectP[*codec.Connack](c); ack.ReasonCode != 0 {
		t.Fatal(ack)
	}
	c.ping()
}

func wsDial(t *testing.T, url string, protos ...string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protos})
	if err != nil {
		t.Fatalf("WebSocket dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

func TestWebSocketListener(t *testing.T) {
	srv, tcpAddr := brokertest.StartServer(t, broker.Options{})
	addr := brokertest.Listen(t, srv, "ws://127.0.0.1:0/mqtt")
	url := "ws://" + addr + "/mqtt"
	topic := uniq("ws/")
	sub, _ := connect(t, tcpAddr, codec.V311)
	sub.subscribe(1, codec.Subscription{Filter: topic})

	ws := wsDial(t, url, "mqtt")
	if ws.Subprotocol() != "mqtt" {
		t.Fatalf("subprotocol %q, want mqtt (MQTT-6.0.0-4)", ws.Subprotocol())
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _ := codec.Encode(connectPacket(), codec.V311)
	pub1, _ := codec.Encode(&codec.Publish{Topic: topic, Payload: []byte("one")}, codec.V311)
	pub2, _ := codec.Encode(&codec.Publish{Topic: topic, Payload: []byte("two")}, codec.V311)
	// CONNECT split across two frames; two PUBLISH packets in one frame, the second split again.
	stream := append(append(append([]byte{}, conn...), pub1...), pub2...)
	cut1, cut2 := 3, len(conn)+len(pub1)+2
	for _, part := range [][]byte{stream[:cut1], stream[cut1:cut2], stream[cut2:]} {
		if err := ws.Write(ctx, websocket.MessageBinary, part); err != nil {
			t.Fatal(err)
		}
	}
	typ, msg, err := ws.Read(ctx)
	if err != nil || typ != websocket.MessageBinary {
		t.Fatalf("read CONNACK: %v %v", typ, err)
	}
	if p, _, err := codec.Decode(codec.V311, msg); err != nil || p.(*codec.Connack).ReasonCode != 0 {
		t.Fatalf("CONNACK %v %v", p, err)
	}
	got := sub.publishes(2)
	checkPublish(t, got[0], topic, "one", 0, false)
	checkPublish(t, got[1], topic, "two", 0, false)

	// A text frame closes the connection (MQTT-6.0.0-1).
	ws.Write(ctx, websocket.MessageText, []byte{0xC0, 0x00})
	if _, _, err := ws.Read(ctx); err == nil {
		t.Fatal("connection still open after a text frame")
	}

	// Without the mqtt subprotocol the upgrade is refused.
	resp, err := http.Get("http://" + addr + "/mqtt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain HTTP request: %s", resp.Status)
	}
	if _, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"other"}}); err == nil {
		t.Fatal("upgrade without the mqtt subprotocol succeeded")
	}
}

func TestWSSListener(t *testing.T) {
	cert := brokertest.SelfSigned(t)
	srv, _ := brokertest.StartServer(t, broker.Options{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	addr := brokertest.Listen(t, srv, "wss://127.0.0.1:0/")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}}}
	ws, _, err := websocket.Dial(ctx, "wss://"+addr+"/", &websocket.DialOptions{Subprotocols: []string{"mqtt"}, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	nc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	c := &tconn{t: t, nc: nc, r: codec.NewReader(nc, codec.Options{Version: codec.V5, Sender: codec.SideServer}), v: codec.V5}
	c.send(connectPacket())
	expectP[*codec.Connack](c)
	c.ping()
}

func TestListenURLErrors(t *testing.T) {
	srv, _ := brokertest.StartServer(t, broker.Options{})
	for _, u := range []string{"http://127.0.0.1:0", "tcp://", "tcp://127.0.0.1", "tcp://127.0.0.1:0/path", "tls://127.0.0.1:0", "::"} {
		if _, err := srv.ListenAndServe(context.Background(), u); err == nil {
			t.Errorf("ListenAndServe(%q) succeeded", u)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := srv.ListenAndServe(ctx, "tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(wait)
	for {
		nc, err := net.Dial("tcp", a.String())
		if err != nil {
			break
		}
		nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseDisconnectsAndLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	srv, err := broker.New(broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := srv.ListenAndServe(context.Background(), "tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w, err := srv.ListenAndServe(context.Background(), "ws://127.0.0.1:0/")
	if err != nil {
		t.Fatal(err)
	}
	addr := a.String()
	v5, _ := connect(t, addr, codec.V5, props(func(p *codec.Properties) { p.SetSessionExpiry(100) }), withWill("w", "x", 1, false, func(p *codec.Properties) { p.SetWillDelay(100) }))
	v3, _ := connect(t, addr, codec.V311)
	half := dial(t, addr, codec.V5) // connected, no CONNECT yet
	ws := wsDial(t, "ws://"+w.String()+"/", "mqtt")
	srv.Close()
	v5.expectDisconnect(codec.ReasonServerShuttingDown)
	v3.expectClosed(wait)
	half.expectClosed(wait)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, _, err := ws.Read(ctx); err == nil {
		t.Fatal("WebSocket connection survived Close")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("listener accepting after Close")
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ws.CloseNow()
	// No goroutine of the broker may survive Close (the test's own clients hold none).
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		st := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(st, "reference/broker.(*") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker goroutines left after Close (%d before, %d now):\n%s", before, runtime.NumGoroutine(), st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// flakyListener fails Accept with EMFILE a few times before delegating.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestServeSurvivesTransientAcceptErrors(t *testing.T) {
	srv, err := broker.New(broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(&flakyListener{Listener: l, fails: 3}) }()
	connect(t, l.Addr().String(), codec.V311)
	srv.Close()
	if err := <-done; err != broker.ErrServerClosed {
		t.Fatalf("Serve returned %v, want ErrServerClosed", err)
	}
}
