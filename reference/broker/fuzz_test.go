package broker_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/oracle"
	"github.com/mqttspec/mqttspec/reference/broker"
)

// panicWatch is a slog handler that counts recovered panics.
type panicWatch struct{ n *atomic.Int64 }

func (h panicWatch) Enabled(context.Context, slog.Level) bool { return true }
func (h panicWatch) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.n.Add(1)
	}
	return nil
}
func (h panicWatch) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicWatch) WithGroup(string) slog.Handler      { return h }

func encodeAll(v codec.Version, ps ...codec.Packet) []byte {
	var b []byte
	for _, p := range ps {
		b, _ = p.AppendTo(b, v)
	}
	return b
}

// FuzzServeConn feeds arbitrary bytes to one connection over net.Pipe. Invariants: no panic
// (recovered panics are logged and counted), the connection ends once the peer closes, the
// server then shuts down with every goroutine accounted for, and every packet the broker wrote
// back passes the answer checks of package fuzz/oracle (strictly decodable, acknowledgements
// with the identifiers the input used, no delivery above the granted QoS, nothing after its
// DISCONNECT, the codec's reason code on a DISCONNECT for a bad packet).
func FuzzServeConn(f *testing.F) {
	will := &codec.Connect{ClientID: "f", CleanStart: true, KeepAlive: 1, WillFlag: true, Will: codec.Will{Topic: "w", Payload: []byte("x"), QoS: 1}}
	will.Will.Properties.SetWillDelay(1)
	will.Properties.SetSessionExpiry(2).SetTopicAliasMaximum(2)
	for _, v := range []codec.Version{codec.V31, codec.V311, codec.V5} {
		id := "f"
		f.Add(encodeAll(v, &codec.Connect{ClientID: id, CleanStart: true},
			&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "#", QoS: 2}, {Filter: "$share/g/a"}}},
			&codec.Publish{Topic: "a/b", QoS: 2, PacketID: 2, Retain: true, Payload: []byte("p")},
			&codec.Pubrel{PacketID: 2}, &codec.Pubrec{PacketID: 1}, &codec.Puback{PacketID: 1},
			&codec.Unsubscribe{PacketID: 3, Filters: []string{"#"}}, &codec.Pingreq{}, &codec.Disconnect{}))
	}
	f.Add(encodeAll(codec.V5, will, &codec.Publish{Topic: "t", QoS: 1, PacketID: 1}, &codec.Auth{ReasonCode: 0x19}))
	f.Add([]byte{0x10, 0xFF, 0xFF, 0xFF, 0x7F})
	f.Fuzz(func(t *testing.T, data []byte) {
		var panics atomic.Int64
		srv, err := broker.New(broker.Options{Logger: slog.New(panicWatch{&panics}), ConnectTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() { srv.ServeConn(a); close(done) }()
		var got bytes.Buffer
		read := make(chan struct{})
		go func() {
			defer close(read)
			io.Copy(&got, io.LimitReader(b, 16<<20))
			io.Copy(io.Discard, b)
		}()
		b.SetWriteDeadline(time.Now().Add(time.Second))
		b.Write(data)
		b.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("connection still served after its peer closed")
		}
		closed := make(chan struct{})
		go func() { srv.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("Close hangs")
		}
		if n := panics.Load(); n > 0 {
			t.Fatalf("%d panics recovered for input %x", n, data)
		}
		<-read
		// Every answer judged against the input (the connection is closed by this side at once,
		// so the close checks are off: FuzzBrokerSession in package fuzz waits for them).
		if err := oracle.Err(oracle.Check(oracle.Conversation{Sent: data, Got: got.Bytes()},
			oracle.Options{Role: oracle.Broker, Fresh: true, ExactReason: true})); err != nil {
			t.Fatalf("input %x: %v", data, err)
		}
	})
}

// TestServeConnOverPipe: ServeConn serves any net.Conn, as fuzzers use it.
func TestServeConnOverPipe(t *testing.T) {
	srv, err := broker.New(broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a, b := net.Pipe()
	go srv.ServeConn(a)
	c := &tconn{t: t, nc: b, r: codec.NewReader(b, codec.Options{Version: codec.V5, Sender: codec.SideServer}), v: codec.V5}
	c.send(connectPacket())
	expectP[*codec.Connack](c)
	c.subscribe(1, codec.Subscription{Filter: "p"})
	c.publish(&codec.Publish{Topic: "p", Payload: []byte("self")})
	checkPublish(t, c.publishes(1)[0], "p", "self", 0, false)
	c.disconnect()
}
