package fuzz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/oracle"
	"github.com/mqttspec/mqttspec/reference/broker"
)

// errorLog is a slog handler that keeps the Error records: the reference broker logs a recovered
// panic ("panic while serving a connection") and an unencodable packet at that level, and the
// fuzz target turns either into a failure instead of letting the recovery hide the bug.
type errorLog struct {
	mu   sync.Mutex
	errs []string
}

func (h *errorLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (h *errorLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *errorLog) WithGroup(string) slog.Handler                { return h }

func (h *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	h.errs = append(h.errs, b.String())
	h.mu.Unlock()
	return nil
}

func (h *errorLog) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == 0 {
		return nil
	}
	return fmt.Errorf("broker logged an error: %s", strings.Join(h.errs, "; "))
}

// Timeouts of the session targets. A hostile input never legitimately makes the reference
// broker stop reading for seconds; the health check is a handful of round trips over a pipe.
// Under the race detector on a loaded machine everything is slower, so they are generous.
var (
	stallTimeout  = 5 * time.Second
	healthTimeout = 5 * time.Second
	// reactionTimeout bounds the close a violation calls for (MQTT-4.13.1-1, MQTT-3.14.4-2).
	reactionTimeout = 2 * time.Second
)

// brokerFaults switches deliberate bugs on in the broker under test (tests check that the
// session checks notice them); serveConn serves a connection (tests replace it with a server
// that stops reading).
var (
	brokerFaults []string
	serveConn    = (*broker.Server).ServeConn
)

// healthTopic is the health client's topic; the fuzz input may use it too (a retained message
// there is skipped).
const healthTopic = "mqttspec-fuzz-health/t"

// checkBrokerSession feeds data to an in-process reference broker over net.Pipe, as a client
// would send it (the bytes of a session: CONNECT, then whatever follows), and checks:
//   - no panic, no Error log (a recovered panic is logged there), no unencodable packet;
//   - the broker keeps reading: writing the input never stalls for stallTimeout;
//   - while the hostile connection is still open a second, healthy client connects, subscribes,
//     publishes at QoS 1 and gets its PUBACK and its own message back;
//   - memory follows the input: heap allocated during the session is within allocBound, and
//     what the broker wrote back within 1 MiB + 1 KiB per input byte;
//   - once the connections close, Server.Close returns, every ServeConn returns and no
//     goroutine is left behind.
func checkBrokerSession(data []byte) (err error) {
	if len(data) == 0 {
		return nil
	}
	base := goroutines()
	alloc0 := heapAllocated()
	logs := &errorLog{}
	srv, err := broker.New(broker.Options{Logger: slog.New(logs), ConnectTimeout: stallTimeout,
		WriteTimeout: stallTimeout, MaxQueued: 200, Faults: brokerFaults})
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	client, server := net.Pipe()
	wg.Add(2)
	go func() {
		defer wg.Done()
		serveConn(srv, server)
	}()
	var received atomic.Int64
	outLimit := 1<<20 + 1024*int64(len(data))
	var (
		gotMu  sync.Mutex
		got    []byte // what the broker wrote, up to outLimit
		waited bool   // the checker waited for the close a violation calls for
		judge  bool   // the session ran to the end: the oracle judges the answers
	)
	snapshot := func() []byte {
		gotMu.Lock()
		defer gotMu.Unlock()
		return append([]byte(nil), got...)
	}
	eof := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(eof)
		buf := make([]byte, 4096)
		for {
			n, err := client.Read(buf)
			gotMu.Lock()
			if int64(len(got)+n) <= outLimit {
				got = append(got, buf[:n]...)
			}
			gotMu.Unlock()
			received.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	// closed reports whether the broker closed the hostile connection within reactionTimeout.
	closedAt := false
	waitClose := func() bool {
		if closedAt {
			return true
		}
		select {
		case <-eof:
			closedAt = true
		case <-time.After(reactionTimeout):
		}
		return closedAt
	}
	sent := oracle.Decode(data, codec.VersionUnknown, codec.SideClient, 0)
	defer func() {
		client.Close()
		if cerr := srv.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("Server.Close: %v", cerr)
		}
		done := make(chan struct{})
		go func() {
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(stallTimeout):
			if err == nil {
				err = errors.New("ServeConn did not return after Server.Close")
			}
			return
		}
		if lerr := logs.err(); lerr != nil && err == nil {
			err = lerr
		}
		if err == nil {
			err = waitGoroutines(base, 2*time.Second)
		}
		if err == nil {
			if a := heapAllocated() - alloc0; a > allocBound(len(data)) {
				err = fmt.Errorf("a session of %d bytes allocated %d bytes (bound %d)", len(data), a, allocBound(len(data)))
			}
		}
		if out := received.Load(); err == nil && out > outLimit {
			err = fmt.Errorf("the broker wrote %d bytes in answer to %d", out, len(data))
		}
		if judge {
			// Every answer checked against what the hostile client sent (package fuzz/oracle).
			vs := oracle.Check(oracle.Conversation{Sent: data, Got: snapshot(), Closed: closedAt, Waited: waited},
				oracle.Options{Role: oracle.Broker, Fresh: true, ExactReason: true, AcceptsConnect: true})
			err = errors.Join(err, oracle.Err(vs))
		}
	}()

	client.SetWriteDeadline(time.Now().Add(stallTimeout))
	if _, werr := client.Write(data); werr != nil {
		var ne net.Error
		if errors.As(werr, &ne) && ne.Timeout() {
			return fmt.Errorf("the broker stopped reading for %v without closing the connection", stallTimeout)
		}
		// io.ErrClosedPipe: the broker closed the connection, as it may for bad input.
	}
	// The documented reaction to a violation is a close (after a DISCONNECT in 5.0): it has to
	// come within reactionTimeout of the input, not whenever the pipe is torn down.
	if oracle.Cause(sent, oracle.Broker) != "" {
		waitClose()
		waited = true
	}
	// A health failure and the oracle's verdict on the hostile connection are both reported: a
	// fault that breaks every connection shows up in each.
	herr := healthCheck(srv, &wg)
	// The broker's own DISCONNECT or refusing CONNACK asks for a close too.
	if !waited && brokerEnded(snapshot(), sent.Version) {
		waitClose()
		waited = true
	}
	if judgeSettle > 0 {
		time.Sleep(judgeSettle)
	}
	judge = true
	return herr
}

// judgeSettle lets the broker answer the whole hostile input before the connection is torn down
// and judged; the tests that plant a fault breaking the health check too set it, since that
// check then fails before the broker has got round to the hostile connection.
var judgeSettle time.Duration

// brokerEnded reports whether the broker's answers so far hold a DISCONNECT or a refusing
// CONNACK, after either of which it has to close the connection.
func brokerEnded(got []byte, v codec.Version) bool {
	s := oracle.Decode(got, v, codec.SideServer, 0)
	for _, p := range s.Packets {
		switch p := p.(type) {
		case *codec.Disconnect:
			return true
		case *codec.Connack:
			if p.ReasonCode != 0 {
				return true
			}
		}
	}
	return false
}

// healthCheck runs a well-behaved 5.0 client against srv on a fresh pipe: CONNECT, SUBSCRIBE
// at QoS 1, PUBLISH at QoS 1 to the same topic; it needs CONNACK 0, SUBACK granting QoS 1,
// PUBACK and the message itself within healthTimeout.
func healthCheck(srv *broker.Server, wg *sync.WaitGroup) error {
	hc, hs := net.Pipe()
	defer hc.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.ServeConn(hs)
	}()
	hc.SetDeadline(time.Now().Add(healthTimeout))
	w := codec.NewWriter(hc, codec.V5)
	r := codec.NewReader(hc, codec.Options{Version: codec.V5, Sender: codec.SideServer, MaxPacketSize: 1 << 20})
	step := func(what string, p codec.Packet, until func(codec.Packet) bool) error {
		if p != nil {
			if err := w.WritePacket(p); err != nil {
				return fmt.Errorf("health client: send %s: %w", what, err)
			}
		}
		for {
			got, err := r.ReadPacket()
			if err != nil {
				return fmt.Errorf("health client: waiting for %s: %w", what, err)
			}
			if until(got) {
				return nil
			}
			if _, ok := got.(*codec.Publish); !ok {
				return fmt.Errorf("health client: waiting for %s, got %v", what, got)
			}
		}
	}
	if err := step("CONNACK", &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: 5, CleanStart: true,
		ClientID: "mqttspec-fuzz-health"}, func(p codec.Packet) bool {
		a, ok := p.(*codec.Connack)
		return ok && a.ReasonCode == 0
	}); err != nil {
		return err
	}
	if err := step("SUBACK", &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: healthTopic, QoS: 1}}},
		func(p codec.Packet) bool {
			a, ok := p.(*codec.Suback)
			return ok && a.PacketID == 1 && len(a.ReasonCodes) == 1 && a.ReasonCodes[0] == 1
		}); err != nil {
		return err
	}
	var acked, echoed bool
	if err := step("PUBACK and the message", &codec.Publish{QoS: 1, PacketID: 2, Topic: healthTopic, Payload: []byte("ping")},
		func(p codec.Packet) bool {
			switch p := p.(type) {
			case *codec.Puback:
				acked = acked || p.PacketID == 2
			case *codec.Publish:
				echoed = echoed || (p.Topic == healthTopic && bytes.Equal(p.Payload, []byte("ping")) && !p.Retain)
				return acked && echoed
			default:
				return false
			}
			return acked && echoed
		}); err != nil {
		return err
	}
	if err := w.WritePacket(&codec.Disconnect{}); err != nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("health client: DISCONNECT: %w", err)
	}
	return nil
}
