package client

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// highWater is the size of queued, unwritten bytes above which Publish waits for the writer.
const highWater = 1 << 20

var errDisconnecting = errors.New("client: DISCONNECT sent; the connection takes no more packets")

// writer owns the write side of one connection. Callers encode packets into a shared buffer under
// a mutex (so the order on the wire is the order of the calls, and Trace sees that order); a
// single goroutine swaps the buffer out and writes it, so packets queued while a write is in
// progress leave together in the next one.
type writer struct {
	nc       net.Conn
	version  codec.Version
	timeout  time.Duration
	trace    func(string, codec.Packet)
	lastSent *atomic.Int64 // unix nanos of the last completed write, for keep alive

	mu       sync.Mutex
	buf      []byte
	spare    []byte
	err      error // sticky: the connection failed, or was closed
	finish   bool  // drain, then stop (graceful close)
	closing  bool  // DISCONNECT queued: nothing may follow it (MQTT-3.14.4-1)
	space    chan struct{}
	maxSize  int               // server's Maximum Packet Size; 0 = unlimited
	aliasMax uint16            // server's Topic Alias Maximum when aliases are used, else 0
	aliases  map[string]uint16 // outgoing topic aliases of this connection (MQTT-3.3.2-7)

	wake chan struct{}
	done chan struct{} // closed when run returns
}

func newWriter(nc net.Conn, v codec.Version, timeout time.Duration, trace func(string, codec.Packet), lastSent *atomic.Int64) *writer {
	return &writer{nc: nc, version: v, timeout: timeout, trace: trace, lastSent: lastSent,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// run writes queued bytes until the connection fails, stop is closed, or a finish drains.
func (w *writer) run(stop <-chan struct{}, fail func(error)) {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.buf) == 0 && w.err == nil && !w.finish {
			w.mu.Unlock()
			select {
			case <-w.wake:
			case <-stop:
				w.setErr(net.ErrClosed)
				return
			}
			w.mu.Lock()
		}
		if w.err != nil || len(w.buf) == 0 {
			w.mu.Unlock()
			return
		}
		out := w.buf
		w.buf = w.spare[:0]
		if w.space != nil {
			close(w.space)
			w.space = nil
		}
		w.mu.Unlock()

		if err := w.nc.SetWriteDeadline(time.Now().Add(w.timeout)); err == nil {
			_, err = w.nc.Write(out)
			if err != nil {
				w.setErr(err)
				fail(err)
				return
			}
		} else {
			w.setErr(err)
			fail(err)
			return
		}
		w.lastSent.Store(time.Now().UnixNano())

		w.mu.Lock()
		if cap(out) <= 4*highWater {
			w.spare = out[:0] // reuse; a buffer grown by a burst above that is let go
		}
		w.mu.Unlock()
	}
}

func (w *writer) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	if w.space != nil {
		close(w.space)
		w.space = nil
	}
	w.mu.Unlock()
}

func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// waitSpace blocks while more than highWater bytes wait to be written: the back pressure that
// keeps a fast publisher from queueing without bound. Internal callers never wait.
func (w *writer) waitSpace(ctx context.Context) error {
	w.mu.Lock()
	for len(w.buf) >= highWater && w.err == nil {
		if w.space == nil {
			w.space = make(chan struct{})
		}
		ch := w.space
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
	err := w.err
	w.mu.Unlock()
	return err
}

// send queues one packet. It fails when the connection is gone, after a DISCONNECT, when the
// packet cannot be encoded, or with ErrPacketTooLarge.
func (w *writer) send(p codec.Packet) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	n0 := len(w.buf)
	var err error
	w.buf, err = p.AppendTo(w.buf, w.version)
	if err == nil && w.maxSize > 0 && len(w.buf)-n0 > w.maxSize {
		err = ErrPacketTooLarge
	}
	if err != nil {
		w.buf = w.buf[:n0]
		return err
	}
	if p.Type() == codec.DISCONNECT {
		w.closing = true
	}
	if w.trace != nil {
		w.trace(TraceSend, p)
	}
	w.signal()
	return nil
}

func (w *writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.closing || w.finish {
		return errDisconnecting
	}
	return nil
}

// sendPublish queues a PUBLISH, replacing its topic by a Topic Alias when aliases are in use. It
// takes the struct by pointer but does not keep it.
func (w *writer) sendPublish(p *codec.Publish) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	q := p
	var aliased codec.Publish
	var newAlias uint16
	if w.aliasMax > 0 {
		if a, ok := w.aliases[p.Topic]; ok {
			aliased = *p
			aliased.Topic = ""
			aliased.Properties.SetTopicAlias(a)
			q = &aliased
		} else if len(w.aliases) < int(w.aliasMax) {
			newAlias = uint16(len(w.aliases) + 1)
			aliased = *p
			aliased.Properties.SetTopicAlias(newAlias)
			q = &aliased
		}
	}
	n0 := len(w.buf)
	var err error
	w.buf, err = q.AppendTo(w.buf, w.version)
	if err == nil && w.maxSize > 0 && len(w.buf)-n0 > w.maxSize {
		err = ErrPacketTooLarge
	}
	if err != nil {
		w.buf = w.buf[:n0]
		return err
	}
	if newAlias != 0 {
		if w.aliases == nil {
			w.aliases = make(map[string]uint16)
		}
		w.aliases[p.Topic] = newAlias
	}
	if w.trace != nil {
		c := *q // the caller's struct may change after we return
		w.trace(TraceSend, &c)
	}
	w.signal()
	return nil
}

// sendRaw queues an already encoded packet (a stored PUBLISH or PUBREL), setting DUP on a
// re-delivered PUBLISH (MQTT-3.3.1-1). traced is what Trace sees.
func (w *writer) sendRaw(raw []byte, dup bool, traced func() codec.Packet) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if w.maxSize > 0 && len(raw) > w.maxSize {
		return ErrPacketTooLarge
	}
	n0 := len(w.buf)
	w.buf = append(w.buf, raw...)
	if dup {
		w.buf[n0] |= 0x08
	}
	if w.trace != nil {
		w.trace(TraceSend, traced())
	}
	w.signal()
	return nil
}

// drain asks the goroutine to write what is queued and stop, and waits for it (or ctx).
func (w *writer) drain(ctx context.Context) error {
	w.mu.Lock()
	w.finish = true
	w.mu.Unlock()
	w.signal()
	select {
	case <-w.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil && !errors.Is(w.err, net.ErrClosed) {
		return w.err
	}
	return nil
}

func (w *writer) setLimits(maxSize uint32, aliasMax uint16) {
	w.mu.Lock()
	w.maxSize = int(maxSize)
	w.aliasMax = aliasMax
	w.mu.Unlock()
}
