package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// serverLimits are what a CONNACK told the client about the server.
type serverLimits struct {
	receiveMax  uint16 // send quota (MQTT-4.9.0-1); 65535 when absent
	maxPacket   uint32 // 0 = no limit announced
	aliasMax    uint16
	maxQoS      byte
	retain      bool
	keepAlive   time.Duration
	authMethod  string
	assignedID  string
	sessionLeft bool // Session Present
}

func limitsFrom(ack *codec.Connack, v codec.Version, keepAlive uint16) serverLimits {
	l := serverLimits{receiveMax: 65535, maxQoS: 2, retain: true, keepAlive: time.Duration(keepAlive) * time.Second,
		sessionLeft: ack.SessionPresent}
	if v != codec.V5 {
		return l
	}
	p := &ack.Properties
	if p.Has(codec.PropReceiveMaximum) {
		l.receiveMax = p.ReceiveMaximum
	}
	if p.Has(codec.PropMaximumPacketSize) {
		l.maxPacket = p.MaximumPacketSize
	}
	if p.Has(codec.PropTopicAliasMaximum) {
		l.aliasMax = p.TopicAliasMaximum
	}
	if p.Has(codec.PropMaximumQoS) {
		l.maxQoS = p.MaximumQoS
	}
	if p.Has(codec.PropRetainAvailable) {
		l.retain = p.RetainAvailable == 1
	}
	if p.Has(codec.PropServerKeepAlive) { // MQTT-3.1.2-21: the server's value wins
		l.keepAlive = time.Duration(p.ServerKeepAlive) * time.Second
	}
	if p.Has(codec.PropAssignedClientID) {
		l.assignedID = p.AssignedClientID
	}
	return l
}

// conn is one network connection and the goroutines that serve it: reader, writer and keep alive.
// It fails once; the client's manager goroutine then waits for the three to end.
type conn struct {
	c       *Client
	nc      net.Conn
	gen     uint64
	version codec.Version
	limits  serverLimits
	r       *codec.Reader
	w       *writer

	lastSent    atomic.Int64
	lastRecv    atomic.Int64
	pingPending atomic.Bool

	// Incoming state of this connection, used by the reader goroutine and the delivery goroutine.
	inMu       sync.Mutex
	inAliases  map[uint16]string   // the server's Topic Aliases (MQTT-3.3.2-7: per connection)
	inUnacked  map[uint16]struct{} // QoS 1/2 PUBLISH not yet answered by PUBACK/PUBCOMP
	reauthWait chan error

	dead    chan struct{}
	once    sync.Once
	err     error
	wg      sync.WaitGroup
	stopped chan struct{} // closed after wg.Wait, by the manager
}

func (cn *conn) fail(err error) {
	cn.once.Do(func() {
		cn.err = err
		close(cn.dead)
		cn.nc.Close()
	})
}

// failWith closes a connection because the server broke the protocol; in 5.0 it first sends
// DISCONNECT with the reason code the violation calls for (section 4.13).
func (cn *conn) failWith(pe *ProtocolError) {
	if cn.version == codec.V5 {
		if cn.w.send(&codec.Disconnect{ReasonCode: disconnectCode(pe.Reason)}) == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			cn.w.drain(ctx)
			cancel()
		}
	}
	cn.c.log.Warn("closing the connection: protocol violation by the server", "reason", pe.Reason, "err", pe.Err)
	cn.fail(pe)
}

func (cn *conn) start() {
	now := time.Now().UnixNano()
	cn.lastSent.Store(now)
	cn.lastRecv.Store(now)
	cn.wg.Add(3)
	go func() {
		defer cn.wg.Done()
		cn.w.run(cn.dead, func(err error) { cn.fail(fmt.Errorf("write: %w", err)) })
	}()
	go func() {
		defer cn.wg.Done()
		cn.readLoop()
	}()
	go func() {
		defer cn.wg.Done()
		cn.keepAlive()
	}()
}

// keepAlive sends PINGREQ when nothing was sent for a keep alive period (MQTT-3.1.2-20, 3.1.1
// MQTT-3.1.2-23), and also when nothing arrived for one, so that a silent server is asked to
// prove it is alive before the reader's deadline of 1.5 periods declares it dead.
func (cn *conn) keepAlive() {
	ka := cn.limits.keepAlive
	if ka <= 0 {
		return
	}
	t := time.NewTimer(ka)
	defer t.Stop()
	var pingQueued int64
	for {
		select {
		case <-cn.dead:
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		sent := max(cn.lastSent.Load(), pingQueued)
		recv := cn.lastRecv.Load()
		if now-sent >= int64(ka) || (now-recv >= int64(ka) && !cn.pingPending.Load()) {
			cn.pingPending.Store(true)
			if err := cn.w.send(&codec.Pingreq{}); err != nil {
				return
			}
			pingQueued = now
			sent = now
		}
		next := time.Duration(sent + int64(ka) - now)
		if !cn.pingPending.Load() {
			next = min(next, time.Duration(recv+int64(ka)-now))
		}
		t.Reset(max(next, time.Millisecond))
	}
}

// readLoop reads packets until the connection fails. Every read has a deadline: 1.5 times the
// keep alive for the first byte of a packet (the dead-server detection) and as long for the
// rest; without keep alive, a packet that has started must complete within a minute.
func (cn *conn) readLoop() {
	ka := cn.limits.keepAlive
	if ka > 0 {
		cn.r.IdleTimeout = ka * 3 / 2
		cn.r.PacketTimeout = ka * 3 / 2
	} else {
		cn.r.PacketTimeout = time.Minute
	}
	c := cn.c
	for {
		p, err := cn.r.ReadPacket()
		if err != nil {
			var ce *codec.Error
			var ne net.Error
			switch {
			case errors.As(err, &ce):
				cn.failWith(&ProtocolError{Reason: ce.Reason, Err: err})
			case errors.As(err, &ne) && ne.Timeout():
				cn.fail(ErrKeepAliveTimeout)
			default:
				cn.fail(fmt.Errorf("read: %w", err))
			}
			return
		}
		cn.lastRecv.Store(time.Now().UnixNano())
		if c.opts.Trace != nil {
			c.opts.Trace(TraceRecv, p)
		}
		if pe := c.handle(cn, p); pe != nil {
			cn.failWith(pe)
			return
		}
		select {
		case <-cn.dead:
			return
		default:
		}
	}
}
