package broker

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// closeCause records why a connection ended; it decides what happens to the Will Message.
type closeCause int32

const (
	causeNone       closeCause = iota
	causeNormal                // DISCONNECT with 0x00 (or any 3.1/3.1.1 DISCONNECT): the will is discarded
	causeClientWill            // v5 DISCONNECT with a non-zero reason code: the will is published
	causeNetwork               // the network connection failed or the client closed it
	causeProtocol              // the broker found a protocol violation
	causeKeepAlive             // nothing received within 1.5 times the keep alive
	causeTakeover              // another connection took the client identifier over
	causeShutdown              // Server.Close
)

// will is a Will Message waiting for its connection to end.
type will struct {
	msg   *message // expiry is applied when it is published
	delay uint32   // Will Delay Interval, seconds
}

// outItem is one entry of a connection's outbound queue: a control packet or a message.
type outItem struct {
	pkt   codec.Packet // control packet; nil for a message
	d     delivery
	f     *flight // QoS 1/2 messages: the flight holding the packet identifier
	dup   bool
	final bool // the last packet on this connection: the writer stops after it
	drain bool // nothing to write (with final): the writer stops once what came before is written
}

// conn is one network connection. The reader goroutine (run) owns the protocol state; the writer
// goroutine owns the outbound topic aliases and the write buffer.
type conn struct {
	srv  *Server
	nc   net.Conn
	log  *slog.Logger // reader's logger; gains the client identifier after CONNECT
	wlog *slog.Logger // writer's logger, fixed at creation (the writer runs concurrently)
	r    *codec.Reader
	id   uint64

	// Set during the handshake, read-only afterwards (kick reads v after connacked).
	v           codec.Version
	clientID    string
	user        string
	keepAlive   time.Duration // read timeout, 1.5 times the keep alive; 0 = none
	recvMax     uint16        // client's Receive Maximum: the outbound window (v5)
	maxOut      int           // client's Maximum Packet Size (v5), 0 = none
	aliasMaxOut uint16        // client's Topic Alias Maximum (v5)
	problemInfo bool          // client's Request Problem Information (v5)
	authMethod  string
	sess        *session

	// Reader-owned.
	sessExpiry uint32
	will       *will
	inAlias    map[uint16]string
	pubDec     *codec.Decoder // PUBLISH packets are decoded in place; allocated on the first one
	reauth     AuthExchange
	lastDL     time.Time // when the read deadline was last pushed

	connacked atomic.Bool
	counted   bool         // counted in Server.connected
	cause     atomic.Int32 // closeCause, first one wins
	kicked    atomic.Int32 // closeCause of a kick by another goroutine

	// Outbound queue, shared by the reader, publishers and the writer.
	qmu     sync.Mutex
	queue   []outItem
	spare   []outItem
	qos0    int // QoS 0 messages in queue
	qclosed bool

	wake       chan struct{} // queue became non-empty
	space      chan struct{} // writer took a batch
	quit       chan struct{} // closed by the reader to stop the writer
	writerDone chan struct{}
	finished   chan struct{} // closed once the connection is fully cleaned up

	// Writer-owned.
	outAlias  map[string]uint16
	nextAlias uint16
	wbuf      []byte
}

func newConn(srv *Server, nc net.Conn) *conn {
	id := srv.nextConn.Add(1)
	c := &conn{
		srv:         srv,
		nc:          nc,
		id:          id,
		log:         srv.log.With("conn", id, "remote", nc.RemoteAddr().String()),
		wake:        make(chan struct{}, 1),
		space:       make(chan struct{}, 1),
		quit:        make(chan struct{}),
		writerDone:  make(chan struct{}),
		finished:    make(chan struct{}),
		problemInfo: true,
	}
	c.wlog = c.log
	c.r = codec.NewReader(nc, codec.Options{MaxPacketSize: srv.cfg.maxPacket, Sender: codec.SideClient})
	return c
}

// serve runs one connection to its end.
func (s *Server) serve(nc net.Conn) {
	c := newConn(s, nc)
	if !s.trackConn(c) {
		nc.Close()
		return
	}
	go c.writeLoop()
	defer func() {
		// A bug must cost one connection, never the broker (and never other clients).
		if r := recover(); r != nil {
			c.log.Error("panic recovered; closing the connection", "in", "reader", "panic", r, "stack", string(debug.Stack()))
			c.cause.CompareAndSwap(0, int32(causeProtocol))
		}
	}()
	defer c.cleanup()
	if !c.handshake() {
		return
	}
	c.readLoop()
}

func (c *conn) cleanup() {
	// What was queued still goes out before the close (boundedly; nothing when the connection's
	// last packet, a DISCONNECT or a refusing CONNACK, was already queued): the CONNACK of a
	// CONNECT the client followed at once with a DISCONNECT or a bad packet (MQTT-3.1.4-4
	// acknowledges every valid CONNECT), the answers to the packets before the end.
	c.finishWith(outItem{drain: true, final: true})
	c.nc.Close()
	close(c.quit)
	<-c.writerDone
	if c.sess != nil {
		c.srv.detach(c)
	}
	if c.counted {
		c.srv.connected.Add(-1)
	}
	c.srv.untrackConn(c)
	close(c.finished)
}

// takeoverGrace is how long a taken-over connection may still deliver what its client sent
// before the takeover: a DISCONNECT already on the wire must still discard the will.
const takeoverGrace = 100 * time.Millisecond

// kick ends the connection from another goroutine: takeover or shutdown. v5 clients past
// CONNACK get a DISCONNECT with rc first.
func (c *conn) kick(rc codec.ReasonCode, why closeCause) {
	c.kicked.Store(int32(why))
	if c.connacked.Load() && c.v == codec.V5 {
		if c.enqueue(outItem{pkt: &codec.Disconnect{ReasonCode: rc}, final: true}) {
			t := time.NewTimer(time.Second)
			select {
			case <-c.writerDone:
			case <-t.C:
			}
			t.Stop()
		}
	}
	if why == causeTakeover {
		// The reader drains packets that had already arrived, then its read times out.
		if c.nc.SetReadDeadline(time.Now().Add(takeoverGrace)) == nil {
			return
		}
	}
	c.nc.Close()
}

// enqueue appends a control packet (or a QoS 1/2 message, already within its window) to the
// outbound queue. It returns false once the connection is closing.
func (c *conn) enqueue(it outItem) bool {
	c.qmu.Lock()
	if c.qclosed {
		c.qmu.Unlock()
		return false
	}
	c.queue = append(c.queue, it)
	if it.final {
		c.qclosed = true
	}
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// enqueueMessage queues a PUBLISH. QoS 0 messages beyond MaxQueued are dropped, so a slow
// subscriber never holds publishers up; it returns false for a dropped message.
func (c *conn) enqueueMessage(it outItem) bool {
	c.qmu.Lock()
	if c.qclosed {
		c.qmu.Unlock()
		return true
	}
	if it.d.qos == 0 {
		if c.qos0 >= c.srv.cfg.maxQueued {
			c.qmu.Unlock()
			return false
		}
		c.qos0++
	}
	c.queue = append(c.queue, it)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// throttle makes the reader wait while the outbound queue is long, so that a client that floods
// requests without reading the answers cannot grow the queue without bound.
func (c *conn) throttle() {
	c.qmu.Lock()
	n := len(c.queue) - c.qos0
	c.qmu.Unlock()
	if n < 4096 {
		return
	}
	select {
	case <-c.space:
	case <-c.writerDone:
	}
}

// finish sends a last packet (v5 DISCONNECT, or a refusing CONNACK) and waits, boundedly, for
// it to be written.
func (c *conn) finish(p codec.Packet) {
	c.finishWith(outItem{pkt: p, final: true})
}

// finishWith queues the connection's last item and waits, boundedly, for the writer to write it
// and everything before it.
func (c *conn) finishWith(it outItem) {
	if !c.enqueue(it) {
		return
	}
	t := time.NewTimer(min(c.srv.cfg.writeTimeout, 5*time.Second))
	defer t.Stop()
	select {
	case <-c.writerDone:
	case <-t.C:
	}
}

// disconnect ends the connection because of err or reason rc: v5 clients past CONNACK get
// DISCONNECT with rc (MQTT-4.13.1-1), 3.1/3.1.1 clients are just disconnected.
func (c *conn) disconnect(why closeCause, rc codec.ReasonCode, reason string) {
	c.cause.CompareAndSwap(int32(causeNone), int32(why))
	c.log.Info("disconnecting client", "reason", rc.String(), "detail", reason)
	if c.v == codec.V5 && c.connacked.Load() {
		d := &codec.Disconnect{ReasonCode: rc}
		if reason != "" {
			d.Properties.SetReasonString(reason)
		}
		c.finish(d)
	}
}

func (c *conn) take() []outItem {
	c.qmu.Lock()
	items := c.queue
	c.queue = c.spare
	c.spare = nil
	c.qos0 = 0
	c.qmu.Unlock()
	return items
}

func (c *conn) recycle(items []outItem) {
	clear(items)
	c.qmu.Lock()
	if c.spare == nil && cap(items) <= 4096 {
		c.spare = items[:0]
	}
	c.qmu.Unlock()
}

// writeChunk is how many bytes the writer gathers before a write.
const writeChunk = 64 << 10

func (c *conn) writeLoop() {
	defer func() {
		if r := recover(); r != nil {
			c.wlog.Error("panic recovered; closing the connection", "in", "writer", "panic", r, "stack", string(debug.Stack()))
			c.nc.Close()
		}
		c.qmu.Lock()
		c.qclosed = true
		c.queue = nil
		c.qmu.Unlock()
		close(c.writerDone)
	}()
	var sent, discards []*flight
	for {
		select {
		case <-c.wake:
		case <-c.quit:
			return
		}
		for {
			items := c.take()
			if len(items) == 0 {
				break
			}
			final := false
			buf := c.wbuf[:0]
			for i := range items {
				buf = c.appendItem(buf, &items[i], &sent, &discards)
				if items[i].final {
					final = true
				}
				if len(buf) >= writeChunk || final || i == len(items)-1 {
					if err := c.write(buf); err != nil {
						return
					}
					buf = buf[:0]
					for _, f := range sent {
						f.sent.Store(true)
					}
					clear(sent)
					sent = sent[:0]
				}
				if final {
					break
				}
			}
			if cap(buf) <= 4*writeChunk {
				c.wbuf = buf[:0]
			}
			if len(discards) > 0 {
				c.sess.discarded(discards)
				clear(discards)
				discards = discards[:0]
			}
			c.recycle(items)
			select {
			case c.space <- struct{}{}:
			default:
			}
			if final {
				return
			}
		}
	}
}

func (c *conn) write(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.writeTimeout))
	_, err := c.nc.Write(buf)
	if err != nil {
		if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
			c.wlog.Debug("write failed; closing", "err", err)
		}
		c.cause.CompareAndSwap(int32(causeNone), int32(causeNetwork))
		c.nc.Close() // wakes the reader
	}
	return err
}

// appendItem encodes one queued item for this connection: topic aliases, the Message Expiry
// still left, Subscription Identifiers and the client's Maximum Packet Size are applied here.
func (c *conn) appendItem(buf []byte, it *outItem, sent, discards *[]*flight) []byte {
	start := len(buf)
	if it.drain {
		return buf
	}
	if it.pkt != nil {
		pkt := c.srv.rules.send(c, it.pkt)
		if pkt == nil {
			return buf
		}
		out, err := pkt.AppendTo(buf, c.v)
		if err != nil {
			c.wlog.Error("cannot encode packet", "packet", pkt.String(), "err", err)
			return buf[:start]
		}
		if c.maxOut > 0 && len(out)-start > c.maxOut && !c.srv.rules.exempt(pkt) {
			// Drop the optional diagnostics first (MQTT-3.2.2-19/20 and the like), then the packet.
			if stripped := stripDiagnostics(pkt); stripped != nil {
				if out, err = stripped.AppendTo(buf[:start], c.v); err == nil && len(out)-start <= c.maxOut {
					return out
				}
			}
			c.wlog.Warn("packet larger than the client's Maximum Packet Size not sent", "packet", pkt.Type().String(), "size", len(out)-start, "max", c.maxOut)
			return buf[:start]
		}
		return out
	}
	d := &it.d
	m := d.msg
	p := codec.Publish{Dup: it.dup && d.qos > 0, QoS: d.qos, Retain: d.retain, Topic: m.topic, Payload: m.payload}
	if it.f != nil {
		p.PacketID = it.f.id
	}
	newAlias := false
	if c.v == codec.V5 {
		if m.props != nil {
			p.Properties = *m.props // MQTT-3.3.2-17/18: forwarded unaltered, User Properties in order
		}
		if len(d.subIDs) > 0 {
			p.Properties.SubscriptionIDs = d.subIDs // MQTT-3.3.4-3
		}
		if !m.expires.IsZero() {
			p.Properties.SetMessageExpiry(m.remaining(time.Now())) // MQTT-3.3.2-6
		}
		if c.aliasMaxOut > 0 {
			if a, ok := c.outAlias[m.topic]; ok {
				p.Topic = ""
				p.Properties.SetTopicAlias(a)
			} else if c.nextAlias < c.aliasMaxOut {
				c.nextAlias++
				if c.outAlias == nil {
					c.outAlias = make(map[string]uint16)
				}
				c.outAlias[m.topic] = c.nextAlias
				p.Properties.SetTopicAlias(c.nextAlias)
				newAlias = true
			}
		}
	}
	c.srv.rules.publish(c, d, &p)
	out, err := p.AppendTo(buf, c.v)
	if err == nil {
		out = c.srv.rules.encoded(c, out, start)
	}
	if err == nil && c.maxOut > 0 && len(out)-start > c.maxOut {
		err = errTooLarge
	}
	if err != nil {
		if newAlias {
			delete(c.outAlias, m.topic)
			c.nextAlias--
		}
		c.wlog.Debug("PUBLISH not sent", "topic", m.topic, "err", err)
		if it.f != nil {
			*discards = append(*discards, it.f)
		}
		return buf[:start]
	}
	if it.f != nil {
		*sent = append(*sent, it.f)
	}
	return out
}

// explain gives an acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK) or an
// AUTH the Reason String why, when the client's Request Problem Information allows one: with 0
// these packets carry none (MQTT-3.1.2-29). CONNACK and DISCONNECT set theirs directly, as the
// rule allows them regardless. Whether it fits the client's Maximum Packet Size is decided when
// the packet is written (appendItem).
func (c *conn) explain(pr *codec.Properties, why string) {
	if why != "" && c.v == codec.V5 && c.problemInfo {
		pr.SetReasonString(why)
	}
}

// echoUsers returns the User Properties of a SUBSCRIBE or UNSUBSCRIBE on its SUBACK or UNSUBACK,
// in order, so that a client can match its own annotations with the answer; like a Reason
// String, only when the client's Request Problem Information allows (MQTT-3.1.2-29), and left
// out when they would make the answer exceed its Maximum Packet Size (MQTT-3.9.2-2,
// MQTT-3.11.2-2). The request's strings may alias the read buffer: they are copied.
func (c *conn) echoUsers(dst, req *codec.Properties) {
	if c.v != codec.V5 || !c.problemInfo {
		return
	}
	for _, u := range req.User {
		dst.AddUser(strings.Clone(u.Key), strings.Clone(u.Value))
	}
}

var errTooLarge = errors.New("larger than the client's Maximum Packet Size (discarded as if sent, MQTT-3.1.2-25)")

// stripDiagnostics returns p without Reason String and User Properties, or nil when p has none.
func stripDiagnostics(p codec.Packet) codec.Packet {
	strip := func(pr *codec.Properties) bool {
		had := pr.Has(codec.PropReasonString) || pr.Has(codec.PropUserProperty)
		pr.Clear(codec.PropReasonString)
		pr.Clear(codec.PropUserProperty)
		return had
	}
	switch x := p.(type) {
	case *codec.Connack:
		y := *x
		if strip(&y.Properties) {
			return &y
		}
	case *codec.Disconnect:
		y := *x
		if strip(&y.Properties) {
			return &y
		}
	case *codec.Suback:
		y := *x
		if strip(&y.Properties) {
			return &y
		}
	case *codec.Unsuback:
		y := *x
		if strip(&y.Properties) {
			return &y
		}
	case *codec.Puback:
		y := *x
		if strip(&y.Properties) {
			return &y
		}
	case *codec.Pubrec:
		y := *x
		if strip(&y.Properties) {
			return &y
		}
	case *codec.Pubrel:
		y := *x
		if strip(&y.Properties) {
			return &y
		}
	case *codec.Pubcomp:
		y := *x
		if strip(&y.Properties) {
			return &y
		}
	case *codec.Auth:
		y := *x
		if strip(&y.Properties) {
			return &y
		}
	}
	return nil
}
