package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

// roundTrip subscribes and publishes a large QoS 1 message (it spans TLS records and WebSocket
// frames) and one small one, and checks they come back intact.
func roundTrip(t *testing.T, url string, o Options) {
	t.Helper()
	topic := uniq(t)
	o.ClientID, o.CleanStart = "rt-"+fmt.Sprint(time.Now().UnixNano()), true
	c := dial(t, url, o)
	in := newInbox()
	if _, err := c.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: topic, QoS: 1}}, in.handler); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB
	for _, payload := range [][]byte{big, []byte("small")} {
		if err := c.Publish(ctxT(t, 5*time.Second), &Message{Topic: topic, QoS: 1, Payload: payload}); err != nil {
			t.Fatal(err)
		}
		if got := in.next(t, 5*time.Second); !bytes.Equal(got.Payload, payload) {
			t.Fatalf("payload of %d bytes came back as %d bytes", len(payload), len(got.Payload))
		}
	}
}

func TestTransportsReferenceBroker(t *testing.T) {
	cert := brokertest.SelfSigned(t)
	srv, addr := brokertest.StartServer(t, broker.Options{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	tlsConf := &tls.Config{RootCAs: cert.Pool}
	cases := []struct {
		name, url string
	}{
		{"tcp", "tcp://" + addr},
		{"tls", "tls://" + brokertest.Listen(t, srv, "tls://127.0.0.1:0")},
		{"ws", "ws://" + brokertest.Listen(t, srv, "ws://127.0.0.1:0/mqtt") + "/mqtt"},
		{"wss", "wss://" + brokertest.Listen(t, srv, "wss://127.0.0.1:0/mqtt") + "/mqtt"},
	}
	for _, tc := range cases {
		for _, ver := range versions {
			t.Run(tc.name+"/"+ver.name, func(t *testing.T) {
				roundTrip(t, tc.url, Options{Version: ver.v, TLSConfig: tlsConf})
			})
		}
	}
	t.Run("untrusted certificate", func(t *testing.T) {
		_, err := Dial(ctxT(t, 5*time.Second), cases[1].url, Options{ClientID: "x"})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Dial = %v, want a certificate error", err)
		}
	})
}

// wsBridge is a WebSocket server that relays to a TCP broker, recording the subprotocols the
// client offered. Its NetConn accepts only binary messages: a text frame fails the relay.
type wsBridge struct {
	srv     *httptest.Server
	mu      sync.Mutex
	offered []string
	errs    []error
}

func newWSBridge(t *testing.T, target string, selectProto bool) *wsBridge {
	b := &wsBridge{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.offered = append(b.offered, r.Header.Get("Sec-WebSocket-Protocol"))
		b.mu.Unlock()
		opts := &websocket.AcceptOptions{}
		if selectProto {
			opts.Subprotocols = []string{"mqtt"}
		}
		ws, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		nc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
		defer nc.Close()
		up, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer up.Close()
		done := make(chan struct{}, 2)
		go func() {
			_, err := io.Copy(up, nc)
			if err != nil && strings.Contains(err.Error(), "unexpected frame type") {
				b.mu.Lock()
				b.errs = append(b.errs, err)
				b.mu.Unlock()
			}
			done <- struct{}{}
		}()
		go func() { io.Copy(nc, up); done <- struct{}{} }()
		<-done
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *wsBridge) URL() string { return "ws" + strings.TrimPrefix(b.srv.URL, "http") + "/mqtt" }

// TestWebSocketToMosquitto: the client offers the mqtt subprotocol (MQTT-6.0.0-3) and sends
// binary frames (MQTT-6.0.0-1) through a bridge to mosquitto.
func TestWebSocketToMosquitto(t *testing.T) {
	m := startMosquitto(t)
	b := newWSBridge(t, m.Addr(), true)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) { roundTrip(t, b.URL(), Options{Version: ver.v}) })
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range b.offered {
		if o != "mqtt" {
			t.Fatalf("client offered subprotocols %q, want mqtt", o)
		}
	}
	if len(b.errs) > 0 {
		t.Fatalf("the client sent a non-binary WebSocket frame: %v", b.errs)
	}
}

func TestWebSocketWithoutSubprotocol(t *testing.T) {
	b := newWSBridge(t, "127.0.0.1:1", false)
	_, err := Dial(ctxT(t, 5*time.Second), b.URL(), Options{ClientID: "x"})
	if err == nil || !strings.Contains(err.Error(), "did not select the mqtt subprotocol") {
		t.Fatalf("Dial = %v", err)
	}
}

func TestDialRefused(t *testing.T) {
	port := freePort(t) // nothing listens there now
	_, err := Dial(ctxT(t, 5*time.Second), fmt.Sprintf("tcp://127.0.0.1:%d", port), Options{ClientID: "x"})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Dial = %v, want connection refused", err)
	}
}

// TestDialTimeout: a server that accepts but never answers CONNACK makes Dial fail after
// DialTimeout.
func TestDialTimeout(t *testing.T) {
	fb := newFakeBroker(t)
	start := time.Now()
	_, err := Dial(context.Background(), fb.URL(), Options{ClientID: "x", DialTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("Dial = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Dial took %v with a 300ms timeout", d)
	}
}

// TestFailedDialLeavesNoGoroutines: every way Dial can fail ends the goroutines it started.
func TestFailedDialLeavesNoGoroutines(t *testing.T) {
	fb := newFakeBroker(t)
	refused := fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	base := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		Dial(ctxT(t, 5*time.Second), refused, Options{ClientID: "x"})
		res := make(chan error, 1)
		go func() {
			_, err := Dial(ctxT(t, 5*time.Second), fb.URL(), Options{ClientID: "x"})
			res <- err
		}()
		fc, _ := fb.accept(codec.V5)
		fc.send(&codec.Connack{ReasonCode: codec.ReasonNotAuthorized})
		<-res
		go func() {
			_, err := Dial(ctxT(t, 5*time.Second), fb.URL(), Options{ClientID: "x", DialTimeout: 50 * time.Millisecond})
			res <- err
		}()
		fb.accept(codec.V5) // and never answer
		<-res
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after failed dials:\n%s", base, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCustomDialer: Options.Dialer supplies the connection (here one end of net.Pipe, as a fuzz
// target or an in-process harness would).
func TestCustomDialer(t *testing.T) {
	cliEnd, srvEnd := net.Pipe()
	defer srvEnd.Close()
	var gotURL string
	o := Options{ClientID: "piped", Dialer: func(_ context.Context, u *url.URL) (net.Conn, error) {
		gotURL = u.String()
		return cliEnd, nil
	}}
	srv := &fakeConn{t: t, nc: srvEnd, v: codec.V5, r: codec.NewReader(srvEnd, codec.Options{Version: codec.V5, Sender: codec.SideClient}),
		w: codec.NewWriter(srvEnd, codec.V5)}
	go func() {
		srv.r.ReadPacket() // CONNECT
		srv.w.WritePacket(&codec.Connack{})
	}()
	c := dial(t, "tcp://in-process:1883", o)
	if gotURL != "tcp://in-process:1883" {
		t.Fatalf("Dialer got %q", gotURL)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Publish(ctxT(t, 5*time.Second), &Message{Topic: "pipe", Payload: []byte("through")}) }()
	if p := srv.expect(codec.PUBLISH).(*codec.Publish); p.Topic != "pipe" || string(p.Payload) != "through" {
		t.Fatalf("got %v", p)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, srvEnd) // let the DISCONNECT at cleanup through
}
