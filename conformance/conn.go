package conformance

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// maxInbound bounds what a case accepts from the target in one packet.
const maxInbound = 16 << 20

// inbound is one thing that arrived on a connection: a packet, a packet that failed to decode,
// or the end of the stream.
type inbound struct {
	p   codec.Packet
	raw []byte
	err error // decode error (p == nil) or, with eof, the read error
	eof bool
	at  time.Time
}

// Conn is one network connection of a case to the target.
type Conn struct {
	Label string
	// Connack is the CONNACK received by T.Connect.
	Connack *codec.Connack

	t       *T
	nc      net.Conn
	version atomic.Uint32
	in      chan inbound
	done    chan struct{} // closed when the reader goroutine ends
	once    sync.Once
	nextID  uint16
	sender  codec.Side // who we are (the side whose rules our packets follow)
	peer    codec.Side // who the target is
	mu      sync.Mutex
	ended   bool // the stream ended (seen by an Expect)
	endErr  error
	// The times behind timing verdicts (windows.go): when the close arrived, when the case last
	// began a write, when the last packet it took arrived.
	closedTime time.Time
	lastSent   time.Time
	lastRecv   time.Time
}

// Dial opens a raw connection to the target; nothing is sent. A dial failure ends the case with
// status error (the target cannot be judged).
func (t *T) Dial(label string) *Conn {
	nc, err := t.Target.Dial(t.ctx)
	if err != nil {
		t.Errorf("dial %s: %v", t.Target.URL, err)
	}
	return t.wrap(label, nc, codec.SideClient, codec.SideServer)
}

// WrapConn makes a connection the case opened itself (e.g. over a WebSocket it framed by hand) a
// Conn of the case: its traffic is decoded, logged and expected like any other. We are the client.
func (t *T) WrapConn(label string, nc net.Conn) *Conn {
	return t.wrap(label, nc, codec.SideClient, codec.SideServer)
}

func (t *T) wrap(label string, nc net.Conn, self, peer codec.Side) *Conn {
	t.mu.Lock()
	if label == "" {
		label = fmt.Sprintf("c%d", len(t.conns)+1)
	}
	c := &Conn{Label: label, t: t, nc: nc, in: make(chan inbound, 256), done: make(chan struct{}), sender: self, peer: peer}
	t.conns = append(t.conns, c)
	t.mu.Unlock()
	c.version.Store(uint32(t.Version))
	t.note(label, "connected to "+nc.RemoteAddr().String())
	go c.readLoop()
	return c
}

// Version returns the protocol version the connection decodes and encodes with.
func (c *Conn) Version() codec.Version { return codec.Version(c.version.Load()) }

// SetVersion changes the version used for the following packets.
func (c *Conn) SetVersion(v codec.Version) { c.version.Store(uint32(v)) }

func (c *Conn) readLoop() {
	defer close(c.done)
	defer close(c.in)
	rd := codec.NewReader(c.nc, codec.Options{MaxPacketSize: maxInbound})
	for {
		raw, err := rd.ReadRaw()
		if err != nil {
			c.t.note(c.Label, "connection closed: "+describeEOF(err))
			c.in <- inbound{err: err, eof: true, at: time.Now()}
			return
		}
		v := c.Version()
		p, _, derr := codec.DecodeWith(codec.Options{Version: v, Sender: c.peer}, raw, nil)
		raw = append([]byte(nil), raw...)
		if derr != nil {
			c.t.record(c.Label, "recv", raw, "MALFORMED: "+derr.Error())
		} else {
			c.t.record(c.Label, "recv", raw, p.String())
		}
		select {
		case c.in <- inbound{p: p, raw: raw, err: derr, at: time.Now()}:
		case <-c.t.ctx.Done():
			return
		}
	}
}

func describeEOF(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "closed by peer (EOF)"
	case errors.Is(err, net.ErrClosed):
		return "closed by the test"
	case strings.Contains(err.Error(), "reset by peer"):
		return "reset by peer"
	}
	return err.Error()
}

// shut closes the network connection and waits briefly for the reader to end.
func (c *Conn) shut() {
	c.once.Do(func() {
		c.nc.Close()
	})
	select {
	case <-c.done:
	case <-time.After(time.Second):
	}
}

// Close closes the connection from our side (no DISCONNECT: an abnormal close, as far as the
// peer is concerned).
func (c *Conn) Close() {
	c.t.note(c.Label, "closing the network connection")
	c.shut()
}

// Disconnect sends a normal DISCONNECT and closes the connection.
func (c *Conn) Disconnect() {
	c.Send(&codec.Disconnect{})
	c.Close()
}

// Send encodes p with the connection's version and writes it. A write error is noted, not
// fatal: the target may legitimately have closed the connection, which the next Expect sees.
func (c *Conn) Send(p codec.Packet) {
	if cp, ok := p.(*codec.Connect); ok && codec.Version(cp.ProtocolLevel).Valid() {
		c.SetVersion(codec.Version(cp.ProtocolLevel))
	}
	b, err := p.AppendTo(nil, c.Version())
	if err != nil {
		c.t.Errorf("encode %v: %v", p.Type(), err)
	}
	c.t.record(c.Label, "send", b, p.String())
	c.write(b)
}

// SendRaw writes bytes as they are; desc says what they are meant to be (for the transcript).
func (c *Conn) SendRaw(b []byte, desc string) {
	if desc == "" {
		desc = "raw bytes"
	}
	c.t.record(c.Label, "send", b, desc)
	c.write(b)
}

func (c *Conn) write(b []byte) {
	c.mu.Lock()
	c.lastSent = time.Now()
	c.mu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.t.Timeouts.Step))
	if _, err := c.nc.Write(b); err != nil {
		c.t.note(c.Label, "write failed: "+err.Error())
	}
}

// NextID returns a fresh non-zero packet identifier for this connection.
func (c *Conn) NextID() uint16 {
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	return c.nextID
}

// recv waits up to d for the next inbound item. ok is false on timeout.
func (c *Conn) recv(d time.Duration) (inbound, bool) {
	c.mu.Lock()
	if c.ended {
		in := inbound{err: c.endErr, eof: true, at: c.closedTime}
		c.mu.Unlock()
		return in, true
	}
	c.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	defer beginWait(c.t.ctx)() // an idle case gives its run slot away (schedule.go)
	select {
	case in, open := <-c.in:
		if !open || in.eof {
			c.mu.Lock()
			c.ended = true
			if in.err != nil {
				c.endErr = in.err
			}
			if in.at.IsZero() {
				in.at = time.Now()
			}
			c.closedTime = in.at
			c.mu.Unlock()
			in.eof = true
		} else {
			c.mu.Lock()
			c.lastRecv = in.at
			c.mu.Unlock()
		}
		return in, true
	case <-timer.C:
		return inbound{}, false
	case <-c.t.ctx.Done():
		c.t.Errorf("case cancelled: %v", c.t.ctx.Err())
		return inbound{}, false
	}
}

// Expect waits for the next packet and checks it against m. Anything else — another packet, a
// malformed packet, a close, silence past the step timeout — fails the case.
func (c *Conn) Expect(m Matcher) codec.Packet {
	return c.ExpectWithin(c.t.Timeouts.Step, m)
}

// ExpectWithin is Expect with an explicit deadline.
func (c *Conn) ExpectWithin(d time.Duration, m Matcher) codec.Packet {
	in, ok := c.recv(d)
	if !ok {
		c.t.Failf(m.String(), fmt.Sprintf("nothing within %v", d), "[%s] expected %s, nothing arrived within %v", c.Label, m, d)
	}
	c.checkInbound(in, m.String())
	if err := m.Match(in.p); err != nil {
		c.t.Failf(m.String(), in.p.String(), "[%s] expected %s, got %s: %v", c.Label, m, in.p, err)
	}
	return in.p
}

// checkInbound fails the case when the item is not a well-formed packet.
func (c *Conn) checkInbound(in inbound, want string) {
	if in.eof {
		c.t.Failf(want, "connection closed", "[%s] expected %s, but the connection closed (%s)", c.Label, want, describeEOF(orEOF(in.err)))
	}
	if in.err != nil {
		c.t.Failf(want, "malformed packet "+fmt.Sprintf("%x", in.raw), "[%s] expected %s, but the target sent a malformed packet: %v", c.Label, want, in.err)
	}
}

func orEOF(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}

// ExpectUnordered waits for len(ms) packets that match the matchers in any order (each matcher
// used once) and returns them in arrival order.
func (c *Conn) ExpectUnordered(ms ...Matcher) []codec.Packet {
	var got []codec.Packet
	used := make([]bool, len(ms))
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.String()
	}
	want := "in any order: " + strings.Join(names, "; ")
	for len(got) < len(ms) {
		in, ok := c.recv(c.t.Timeouts.Step)
		if !ok {
			c.t.Failf(want, fmt.Sprintf("%d of %d packets within %v", len(got), len(ms), c.t.Timeouts.Step),
				"[%s] expected %d packets (%s), only %d arrived", c.Label, len(ms), want, len(got))
		}
		c.checkInbound(in, want)
		matched := false
		var errs []string
		for i, m := range ms {
			if used[i] {
				continue
			}
			if err := m.Match(in.p); err == nil {
				used[i], matched = true, true
				break
			} else {
				errs = append(errs, err.Error())
			}
		}
		if !matched {
			c.t.Failf(want, in.p.String(), "[%s] %s matches none of the expected packets still missing: %s", c.Label, in.p, strings.Join(errs, "; "))
		}
		got = append(got, in.p)
	}
	return got
}

// ExpectNothing checks that no packet arrives (and the connection stays open) for a quiet window:
// d is in units of DefaultQuiet (0 is one window) and scales with the run's quiet window
// (T.QuietWindow), so a slow or remote target gets proportionally longer to show a forbidden
// packet. The window used is noted in the transcript.
func (c *Conn) ExpectNothing(d time.Duration) {
	d = c.t.QuietWindow(d)
	c.t.note(c.Label, fmt.Sprintf("expecting nothing for %v (quiet window)", d))
	c.expectNothing(d)
}

func (c *Conn) expectNothing(d time.Duration) {
	in, ok := c.recv(d)
	if !ok {
		return
	}
	if in.eof {
		c.t.Failf("no packet for "+d.String(), "connection closed", "[%s] expected silence for %v, but the connection closed (%s)", c.Label, d, describeEOF(orEOF(in.err)))
	}
	if in.err != nil {
		c.t.Failf("no packet for "+d.String(), "malformed packet", "[%s] expected silence for %v, got a malformed packet: %v", c.Label, d, in.err)
	}
	c.t.Failf("no packet for "+d.String(), in.p.String(), "[%s] expected no packet for %v, got %s", c.Label, d, in.p)
}

// CloseOption says what may or must precede the close in ExpectClosed.
type CloseOption func(*closeSpec)

type closeSpec struct {
	disconnect     []codec.ReasonCode // allowed DISCONNECT reason codes (v5)
	needDisconnect bool
	connack        []codec.ReasonCode // allowed CONNACK codes before the close
	needConnack    bool
	plainDisc      bool // a 3.1/3.1.1 DISCONNECT (a client's) may precede the close
	within         time.Duration
}

// OrDisconnect allows a v5 DISCONNECT with one of the codes before the close (the specification
// says the server SHOULD send one, section 4.13). A DISCONNECT with another code fails the case.
func OrDisconnect(codes ...codec.ReasonCode) CloseOption {
	return func(s *closeSpec) { s.disconnect = append(s.disconnect, codes...) }
}

// OrPlainDisconnect allows a 3.1/3.1.1 DISCONNECT before the close. Only a client sends one in
// those versions, and their protocol-violation rule (MQTT-4.8.0-1) asks for the close alone, so a
// client that ends the connection with a DISCONNECT first still closes it.
func OrPlainDisconnect() CloseOption {
	return func(s *closeSpec) { s.plainDisc = true }
}

// WithDisconnect requires a v5 DISCONNECT with one of the codes before the close.
func WithDisconnect(codes ...codec.ReasonCode) CloseOption {
	return func(s *closeSpec) { s.disconnect = append(s.disconnect, codes...); s.needDisconnect = true }
}

// OrConnack allows a CONNACK with one of the codes before the close (errors in CONNECT).
func OrConnack(codes ...codec.ReasonCode) CloseOption {
	return func(s *closeSpec) { s.connack = append(s.connack, codes...) }
}

// WithConnack requires a CONNACK with one of the codes before the close.
func WithConnack(codes ...codec.ReasonCode) CloseOption {
	return func(s *closeSpec) { s.connack = append(s.connack, codes...); s.needConnack = true }
}

// Within sets how long the close may take (default: the step timeout).
func Within(d time.Duration) CloseOption { return func(s *closeSpec) { s.within = d } }

// ExpectClosed checks that the target closes the connection within the deadline, with nothing
// before it but what the options allow.
//
// It returns the packets that preceded the close (the allowed DISCONNECT or CONNACK), so a case
// can inspect their properties.
func (c *Conn) ExpectClosed(opts ...CloseOption) []codec.Packet {
	var s closeSpec
	for _, o := range opts {
		o(&s)
	}
	if s.within <= 0 {
		s.within = c.t.Timeouts.Step
	}
	want := "the connection closed"
	if len(s.disconnect) > 0 {
		want += " (DISCONNECT " + codesString(s.disconnect) + " allowed first)"
	}
	if len(s.connack) > 0 {
		want += " (CONNACK " + codesString(s.connack) + " allowed first)"
	}
	seen, _, closed := c.awaitClose(s, time.Now().Add(s.within), want)
	if !closed {
		c.t.Failf(want, "connection still open after "+s.within.String(), "[%s] expected the target to close the connection within %v; it is still open", c.Label, s.within)
	}
	return seen
}

// awaitClose reads until the stream ends or deadline passes, allowing before the close only the
// DISCONNECT or CONNACK that s allows (anything else fails the case, as does a missing required
// one). It returns the allowed packets, when the first sign of the close arrived (the first of
// them, or the end of the stream), and whether the connection closed by the deadline; the caller
// words the failure for a connection still open.
func (c *Conn) awaitClose(s closeSpec, deadline time.Time, want string) (seen []codec.Packet, first time.Time, closed bool) {
	sawDisc, sawConnack := false, false
	for {
		in, ok := c.recv(max(time.Until(deadline), time.Millisecond))
		if !ok {
			return seen, first, false
		}
		if first.IsZero() {
			first = in.at
		}
		if in.eof {
			break
		}
		if in.err != nil {
			c.t.Failf(want, "malformed packet", "[%s] expected %s, got a malformed packet: %v", c.Label, want, in.err)
		}
		switch p := in.p.(type) {
		case *codec.Disconnect:
			if c.Version() == codec.V5 && len(s.disconnect) > 0 && !sawDisc {
				if !containsCode(s.disconnect, p.ReasonCode) {
					c.t.Failf(want, p.String(), "[%s] DISCONNECT reason %s; expected one of %s", c.Label, p.ReasonCode, codesString(s.disconnect))
				}
				sawDisc = true
				seen = append(seen, p)
				continue
			}
			if c.Version() != codec.V5 && s.plainDisc && !sawDisc {
				sawDisc = true
				seen = append(seen, p)
				continue
			}
		case *codec.Connack:
			if len(s.connack) > 0 && !sawConnack {
				if !containsCode(s.connack, p.ReasonCode) {
					c.t.Failf(want, p.String(), "[%s] CONNACK %s; expected one of %s before the close", c.Label, p.ReasonCode.NameFor(codec.CONNACK, c.Version()), codesString(s.connack))
				}
				if p.SessionPresent {
					c.t.Failf("Session Present 0 on a refusing CONNACK", p.String(), "[%s] refusing CONNACK has Session Present 1", c.Label)
				}
				sawConnack = true
				seen = append(seen, p)
				continue
			}
		}
		c.t.Failf(want, in.p.String(), "[%s] expected %s, got %s", c.Label, want, in.p)
	}
	if s.needDisconnect && !sawDisc && c.Version() == codec.V5 {
		c.t.Failf(want, "closed without DISCONNECT", "[%s] the connection closed without a DISCONNECT %s", c.Label, codesString(s.disconnect))
	}
	if s.needConnack && !sawConnack {
		c.t.Failf(want, "closed without CONNACK", "[%s] the connection closed without a CONNACK %s", c.Label, codesString(s.connack))
	}
	return seen, first, true
}

// Next waits up to d for the next packet without judging it: it returns the packet, or
// closed=true when the connection ended, or (nil, false) on timeout. A malformed packet from the
// target still fails the case.
func (c *Conn) Next(d time.Duration) (p codec.Packet, closed bool) {
	in, ok := c.recv(d)
	if !ok {
		return nil, false
	}
	if in.eof {
		return nil, true
	}
	if in.err != nil {
		c.t.Failf("a well-formed packet", "malformed packet", "[%s] the target sent a malformed packet: %v", c.Label, in.err)
	}
	return in.p, false
}

// NextRaw is Next for a case that must tell "the target answered with something" from "the
// target closed": a packet the codec rejects is returned as its decode error (malformed) instead
// of failing the case — for instance a client echoing the packet identifier 0 of a bad PUBLISH
// in its PUBACK, which is carrying on, not a reaction.
func (c *Conn) NextRaw(d time.Duration) (p codec.Packet, malformed error, closed bool) {
	in, ok := c.recv(d)
	switch {
	case !ok:
		return nil, nil, false
	case in.eof:
		return nil, nil, true
	case in.err != nil:
		return nil, in.err, false
	}
	return in.p, nil, false
}

// ExpectOrClosed accepts either of two reactions the specification allows: the next packet
// matches m (returned), or the connection closes, optionally after a DISCONNECT/CONNACK the
// options allow (nil returned).
func (c *Conn) ExpectOrClosed(m Matcher, opts ...CloseOption) codec.Packet {
	var s closeSpec
	for _, o := range opts {
		o(&s)
	}
	p, closed := c.Next(c.t.Timeouts.Step)
	switch {
	case closed:
		return nil
	case p == nil:
		c.t.Failf(m.String()+" or a close", "nothing within "+c.t.Timeouts.Step.String(), "[%s] expected %s or the connection to close; nothing happened within %v", c.Label, m, c.t.Timeouts.Step)
	}
	if err := m.Match(p); err == nil {
		return p
	}
	if d, ok := p.(*codec.Disconnect); ok && containsCode(s.disconnect, d.ReasonCode) {
		c.ExpectClosed(opts...)
		return nil
	}
	if a, ok := p.(*codec.Connack); ok && containsCode(s.connack, a.ReasonCode) {
		c.ExpectClosed(opts...)
		return nil
	}
	c.t.Failf(m.String()+" or a close", p.String(), "[%s] expected %s or the connection to close, got %s", c.Label, m, p)
	return nil
}

// WaitClosed waits up to d for the connection to close, discarding packets that arrive
// meanwhile; it reports whether it closed. It never fails the case (use it to let a
// DISCONNECT take effect before the next step).
func (c *Conn) WaitClosed(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		in, ok := c.recv(left)
		if !ok {
			return false
		}
		if in.eof {
			return true
		}
	}
}

// ExpectOpen checks the connection is still open: a PINGREQ gets its PINGRESP.
func (c *Conn) ExpectOpen() {
	c.Send(&codec.Pingreq{})
	c.Expect(Pingresp())
}

func containsCode(codes []codec.ReasonCode, rc codec.ReasonCode) bool {
	for _, c := range codes {
		if c == rc {
			return true
		}
	}
	return false
}

func codesString(codes []codec.ReasonCode) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = fmt.Sprintf("0x%02X", byte(c))
	}
	return "{" + strings.Join(s, ",") + "}"
}
