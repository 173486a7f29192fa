package fuzz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/oracle"
	"github.com/mqttspec/mqttspec/reference/client"
)

// serverStream is what the strict codec makes of the bytes a (fuzzed) server sends.
type serverStream struct {
	packets []codec.Packet // decoded in order, up to the first error
	bad     error          // the first *codec.Error, nil when every complete packet is valid
	partial bool           // the bytes end inside a packet (or hold none at all)
}

func decodeServerStream(b []byte, v codec.Version) serverStream {
	var s serverStream
	dc := &codec.Decoder{Options: codec.Options{Version: v, Sender: codec.SideServer}}
	for len(b) > 0 {
		before := dc.Options
		_, n, err := dc.Decode(b)
		if errors.Is(err, codec.ErrShort) {
			s.partial = true
			break
		}
		if err != nil {
			s.bad = err
			break
		}
		q, _, _ := codec.DecodeWith(before, b[:n], nil) // a copy that owns its memory
		s.packets = append(s.packets, q)
		b = b[n:]
	}
	if len(s.packets) == 0 && s.bad == nil {
		s.partial = true
	}
	return s
}

// quietStream reports whether every packet after the first is a PUBLISH without Topic Alias or a
// PINGRESP: a stream a client must take without closing the connection, answering each QoS 1
// PUBLISH with PUBACK and each QoS 2 PUBLISH with PUBREC.
func (s serverStream) quietStream() bool {
	if s.bad != nil || s.partial || len(s.packets) == 0 {
		return false
	}
	for _, p := range s.packets[1:] {
		switch p := p.(type) {
		case *codec.Publish:
			if p.Properties.Has(codec.PropTopicAlias) || p.Topic == "" {
				return false
			}
		case *codec.Pingresp:
		default:
			return false
		}
	}
	return true
}

// clientResult is what the fake broker saw from the client.
type clientResult struct {
	connect *codec.Connect
	sent    []codec.Packet
	closed  bool   // the client closed the connection
	err     error  // the client sent something the strict codec rejects, or no CONNECT
	raw     []byte // every byte the client sent, for the oracle
}

// checkClientSession plays a broker that answers the reference client's CONNECT with data[1:]
// (hostile broker bytes: usually a CONNACK and what follows it) and checks:
//   - Dial succeeds only when the first packet is a valid CONNACK with reason 0 and Session
//     Present 0 (the client asked for a clean start);
//   - every packet the client sends decodes strictly as a client's packet;
//   - a malformed or forbidden packet, or a DISCONNECT, makes the client close the connection;
//   - a stream of valid PUBLISH and PINGRESP packets does not, and each QoS 1 PUBLISH gets its
//     PUBACK and each QoS 2 PUBLISH its PUBREC, with the packet identifier it carried;
//   - the client delivers only messages that were in valid PUBLISH packets;
//   - after Disconnect every client goroutine ends (no leak, no panic).
//
// data[0] picks the version (bit 0: 5.0) and whether the client publishes (bit 1) and
// subscribes (bit 2) while the bytes arrive.
func checkClientSession(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	v := codec.V311
	if data[0]&1 != 0 {
		v = codec.V5
	}
	in := data[1:]
	want := decodeServerStream(in, v)
	base := goroutines()

	cc, bc := net.Pipe()
	res := make(chan clientResult, 1)
	// A stream that ends inside a packet would keep the client waiting for the rest until a
	// timeout: the fake broker closes the connection once it has sent everything instead.
	go fakeBroker(bc, v, in, want.partial, res)

	tr := newClientTrace()
	ctx, cancel := context.WithTimeout(context.Background(), stallTimeout)
	defer cancel()
	c, err := client.Dial(ctx, "tcp://fuzz.invalid:1883", client.Options{
		Version: v, ClientID: "fuzz", CleanStart: true, DialTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		Dialer:    func(context.Context, *url.URL) (net.Conn, error) { return clientConnWrap(cc), nil },
		OnMessage: tr.deliver,
		Trace:     tr.trace,
	})
	connackOK := false
	if len(want.packets) > 0 {
		ack, ok := want.packets[0].(*codec.Connack)
		connackOK = ok && ack.ReasonCode == 0 && !ack.SessionPresent
	}
	if err != nil {
		cc.Close()
		if r := <-res; r.err != nil {
			return r.err
		}
		var pe *client.ProtocolError
		if connackOK && len(want.packets) == 1 && want.bad == nil && !errors.As(err, &pe) {
			// A lone valid CONNACK: nothing but the network can make Dial fail.
			return fmt.Errorf("Dial failed on a valid CONNACK: %v", err)
		}
		return waitGoroutines(base, 2*time.Second)
	}
	if !connackOK {
		c.Disconnect(context.Background())
		return fmt.Errorf("Dial succeeded although the server's first packet is %v (stream error %v)", first(want.packets), want.bad)
	}
	if data[0]&2 != 0 {
		pctx, pcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		c.Publish(pctx, &client.Message{Topic: "fuzz/out", Payload: []byte("x")})
		pcancel()
	}
	// The subscription stays pending while the stream arrives (a SUBACK in it may answer it) and
	// is abandoned before Disconnect; waiting a fixed time for a SUBACK that mostly never comes
	// made these inputs a hundred times slower than the others.
	sctx, scancel := context.WithCancel(context.Background())
	defer scancel()
	subscribed := make(chan struct{})
	if data[0]&4 != 0 {
		go func() {
			defer close(subscribed)
			c.Subscribe(sctx, []codec.Subscription{{Filter: "fuzz/#", QoS: 1}}, func(*client.Message) {})
		}()
	} else {
		close(subscribed)
	}

	mustClose := want.bad != nil
	for _, p := range want.packets[1:] {
		if _, ok := p.(*codec.Disconnect); ok && !want.partial {
			// (With a partial packet after it the fake broker closes the connection itself,
			// and who closed first cannot be told.)
			mustClose = true
		}
	}
	var r clientResult
	gotResult := false
	var verdict error
	switch {
	case mustClose:
		// The client has to close on its own; the fake broker reports when it does.
		select {
		case r = <-res:
			gotResult = true
			if r.err == nil && !r.closed {
				verdict = fmt.Errorf("the client kept the connection open after %v", closeReason(want))
			}
		case <-time.After(stallTimeout):
			verdict = fmt.Errorf("the client kept the connection open after %v", closeReason(want))
		}
	case want.quietStream():
		verdict = tr.waitAcks(want, res, &r, &gotResult)
	}
	scancel()
	select {
	case <-subscribed:
	case <-time.After(stallTimeout):
		verdict = errors.Join(verdict, errors.New("Subscribe did not return after its context was cancelled"))
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
	c.Disconnect(dctx)
	dcancel()
	cc.Close()
	if !gotResult {
		r = <-res
	}
	select {
	case <-c.Done():
	case <-time.After(stallTimeout):
		return errors.New("client goroutines did not end after Disconnect")
	}
	if r.err != nil {
		return r.err
	}
	// Every packet the client sent, judged against the broker bytes (package fuzz/oracle).
	if vs := oracle.Check(oracle.Conversation{Sent: in, Got: r.raw, Closed: r.closed, Waited: mustClose},
		oracle.Options{Role: oracle.Client, Version: v, Fresh: true, ExactReason: true}); len(vs) > 0 {
		return errors.Join(verdict, oracle.Err(vs))
	}
	if verdict != nil {
		return verdict
	}
	valid := map[string]bool{}
	for _, p := range want.packets {
		if pub, ok := p.(*codec.Publish); ok {
			valid[pub.Topic] = true
		}
	}
	if t, ok := tr.deliveredOutside(valid); ok {
		return fmt.Errorf("the client delivered a message on %q, which no valid PUBLISH carried", t)
	}
	return waitGoroutines(base, 2*time.Second)
}

// clientConnWrap wraps the client's end of the pipe (tests plant a client that sends wrong
// answers by rewriting its writes).
var clientConnWrap = func(c net.Conn) net.Conn { return c }

// ackID is an acknowledgement the client sent: its type and packet identifier.
type ackID struct {
	t  codec.PacketType
	id uint16
}

// clientTrace records what the client sends and delivers (from the client's goroutines).
type clientTrace struct {
	mu        sync.Mutex
	acks      []ackID
	delivered []string
	acked     chan struct{} // signalled (without blocking) whenever an acknowledgement is sent
}

func newClientTrace() *clientTrace { return &clientTrace{acked: make(chan struct{}, 1)} }

func (tr *clientTrace) trace(dir string, p codec.Packet) {
	if dir != client.TraceSend {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	switch p := p.(type) {
	case *codec.Puback:
		tr.acks = append(tr.acks, ackID{codec.PUBACK, p.PacketID})
	case *codec.Pubrec:
		tr.acks = append(tr.acks, ackID{codec.PUBREC, p.PacketID})
	default:
		return
	}
	select {
	case tr.acked <- struct{}{}:
	default:
	}
}

func (tr *clientTrace) deliver(m *client.Message) {
	tr.mu.Lock()
	tr.delivered = append(tr.delivered, m.Topic)
	tr.mu.Unlock()
}

func (tr *clientTrace) deliveredOutside(valid map[string]bool) (string, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, t := range tr.delivered {
		if !valid[t] {
			return t, true
		}
	}
	return "", false
}

// missing returns how many of the QoS 1/2 PUBLISH packets have no matching acknowledgement yet.
func (tr *clientTrace) missing(need []*codec.Publish) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	left := append([]ackID(nil), tr.acks...)
	miss := 0
outer:
	for _, p := range need {
		want := ackID{codec.PUBACK, p.PacketID}
		if p.QoS == 2 {
			want.t = codec.PUBREC
		}
		for i, a := range left {
			if a == want {
				left = append(left[:i], left[i+1:]...)
				continue outer
			}
		}
		miss++
	}
	return miss
}

// waitAcks waits until the client has acknowledged every QoS 1 and 2 PUBLISH of a quiet stream,
// failing if it closes the connection instead.
func (tr *clientTrace) waitAcks(want serverStream, res chan clientResult, r *clientResult, got *bool) error {
	var need []*codec.Publish
	for _, p := range want.packets[1:] {
		if pub, ok := p.(*codec.Publish); ok && pub.QoS > 0 {
			need = append(need, pub)
		}
	}
	timeout := time.NewTimer(stallTimeout)
	defer timeout.Stop()
	for tr.missing(need) > 0 {
		select {
		case *r = <-res:
			*got = true
			if r.err != nil {
				return nil // reported by the caller
			}
			if tr.missing(need) == 0 {
				return nil
			}
			return fmt.Errorf("the client closed the connection on a valid stream of %d PUBLISH/PINGRESP packets", len(want.packets)-1)
		case <-tr.acked:
		case <-timeout.C:
			return fmt.Errorf("the client did not acknowledge %d of %d QoS 1/2 messages within %v", tr.missing(need), len(need), stallTimeout)
		}
	}
	return nil
}

func first(ps []codec.Packet) codec.Packet {
	if len(ps) == 0 {
		return nil
	}
	return ps[0]
}

func closeReason(s serverStream) string {
	if s.bad != nil {
		return "the invalid packet: " + s.bad.Error()
	}
	return "the server's DISCONNECT"
}

// fakeBroker reads the client's CONNECT, sends in, then reads what the client sends until it
// closes the connection (or stallTimeout passes), checking every packet strictly.
func fakeBroker(bc net.Conn, v codec.Version, in []byte, closeAfter bool, res chan<- clientResult) {
	defer bc.Close()
	var r clientResult
	defer func() { res <- r }()
	bc.SetReadDeadline(time.Now().Add(2 * stallTimeout)) // past the waits of the checker
	var raw bytes.Buffer
	defer func() { r.raw = raw.Bytes() }() // (runs before the result is sent: defers run last-in first-out)
	rd := codec.NewReader(io.TeeReader(io.LimitReader(bc, 4<<20), &raw), codec.Options{Version: v, Sender: codec.SideClient, MaxPacketSize: 1 << 20})
	p, err := rd.ReadPacket()
	if err != nil {
		r.err = fmt.Errorf("fake broker: reading the client's CONNECT: %v", err)
		return
	}
	cp, ok := p.(*codec.Connect)
	if !ok || cp.Version() != v {
		r.err = fmt.Errorf("fake broker: the client's first packet is %v", p)
		return
	}
	r.connect = cp
	go func() {
		// Unblocks when the client has read everything, or fails when either side closes.
		if _, err := bc.Write(in); err == nil && closeAfter {
			bc.Close()
		}
	}()
	for {
		p, err := rd.ReadPacket()
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrClosedPipe):
				r.closed = !closeAfter
			case errors.As(err, &ne) && ne.Timeout():
			default:
				r.err = fmt.Errorf("the client sent an invalid packet: %v (% X)", err, rd.LastRaw())
			}
			return
		}
		r.sent = append(r.sent, p)
	}
}
