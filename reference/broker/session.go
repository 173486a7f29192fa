package broker

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// flightState is where an outbound QoS 1/2 message is in its acknowledgement flow.
type flightState uint8

const (
	awaitAck  flightState = iota // PUBLISH sent or queued; waiting for PUBACK (QoS 1) or PUBREC (QoS 2)
	awaitComp                    // PUBREL sent; waiting for PUBCOMP
)

// flight is an outbound QoS 1/2 message holding a packet identifier.
type flight struct {
	id    uint16
	d     delivery
	state flightState
	sent  atomic.Bool // the PUBLISH has been written at least once: a re-send carries DUP 1
	done  bool        // acknowledged; a tombstone in session.order until compacted
}

// session is the state the broker keeps for a client identifier, across network connections
// (section 4.1): subscriptions, messages in flight and queued, QoS 2 packet identifiers received.
type session struct {
	srv *Server
	id  string

	online atomic.Bool // a connection is attached (read without the lock by shared-subscription picks)

	mu       sync.Mutex
	conn     *conn
	ended    bool                 // discarded: no further deliveries
	subs     map[string]subRecord // by filter as subscribed ($share/... included)
	inflight map[uint16]*flight
	order    []*flight // inflight in send order, with tombstones (re-sends keep the order, MQTT-4.6.0-1)
	dead     int       // tombstones in order
	pending  []delivery
	inQoS2   map[uint16]struct{} // QoS 2 packet identifiers received, PUBREL not yet received
	lastID   uint16

	expiryTimer *time.Timer
	will        *will // a will waiting for its delay after the connection closed
	willTimer   *time.Timer
}

func newSession(srv *Server, id string) *session {
	return &session{srv: srv, id: id, subs: make(map[string]subRecord),
		inflight: make(map[uint16]*flight), inQoS2: make(map[uint16]struct{})}
}

// window is how many QoS 1/2 messages may be unacknowledged on connection c.
func (s *session) window(c *conn) int {
	if c.v == codec.V5 {
		return int(c.recvMax) // MQTT-3.3.4-9
	}
	return int(s.srv.cfg.maxInflight)
}

// deliver hands a message to the session; it never blocks on the network. It returns false when
// the message was dropped because the connection's QoS 0 queue is full.
func (s *session) deliver(d delivery) bool {
	srv := s.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return true
	}
	c := s.conn
	if d.qos == 0 {
		// QoS 0 is not stored for offline sessions (a MAY in section 3.1.2.4).
		if c != nil {
			return c.enqueueMessage(outItem{d: d})
		}
		return true
	}
	if c != nil && len(s.pending) == 0 && len(s.inflight) < s.window(c) {
		s.sendNewLocked(c, d) // onward delivery starts now
		return true
	}
	if s.stale(&d, time.Now()) {
		return true
	}
	if len(s.pending) >= srv.cfg.maxQueued {
		srv.log.Debug("session queue full, message dropped", "client", s.id, "topic", d.msg.topic)
		return false
	}
	s.pending = append(s.pending, d) // sent in order (MQTT-4.6.0-5/6)
	srv.rules.queued(s.pending)
	return true
}

// stale reports whether d's message expired before its onward delivery began: it is then not
// delivered at all (MQTT-3.3.2-5).
func (s *session) stale(d *delivery, now time.Time) bool {
	return d.msg.expired(now) && !s.srv.rules.keepExpired
}

// nextIDLocked returns a packet identifier no flight uses (MQTT-2.2.1-4).
func (s *session) nextIDLocked() uint16 {
	if next := s.srv.rules.nextID; next != nil {
		return next(s)
	}
	for {
		s.lastID++
		if s.lastID == 0 {
			s.lastID = 1
		}
		if _, used := s.inflight[s.lastID]; !used {
			return s.lastID
		}
	}
}

func (s *session) sendNewLocked(c *conn, d delivery) {
	f := &flight{id: s.nextIDLocked(), d: d}
	s.inflight[f.id] = f
	s.order = append(s.order, f)
	c.enqueueMessage(outItem{d: d, f: f})
}

// refillLocked moves queued messages into the window freed by acknowledgements.
func (s *session) refillLocked() {
	c := s.conn
	if c == nil {
		return
	}
	w := s.window(c)
	now := time.Now()
	n := 0
	for n < len(s.pending) && len(s.inflight) < w {
		d := s.pending[n]
		n++
		if s.stale(&d, now) {
			continue
		}
		s.sendNewLocked(c, d)
	}
	if n > 0 {
		clear(s.pending[:n])
		s.pending = s.pending[n:]
		if len(s.pending) == 0 {
			s.pending = nil
		}
	}
}

func (s *session) removeFlightLocked(f *flight) {
	delete(s.inflight, f.id)
	f.done = true
	s.dead++
	for len(s.order) > 0 && s.order[0].done {
		s.order[0] = nil
		s.order = s.order[1:]
		s.dead--
	}
	if s.dead > 64 && s.dead > len(s.order)/2 {
		live := make([]*flight, 0, len(s.order)-s.dead)
		for _, x := range s.order {
			if !x.done {
				live = append(live, x)
			}
		}
		s.order, s.dead = live, 0
	}
}

// onPuback completes a QoS 1 delivery.
func (s *session) onPuback(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.inflight[id]; f != nil && f.d.qos == 1 {
		s.removeFlightLocked(f)
		s.refillLocked()
	}
}

// onPubrec advances a QoS 2 delivery and returns the PUBREL to send (nil for none).
func (s *session) onPubrec(c *conn, p *codec.Pubrec) codec.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.inflight[p.PacketID]
	if f == nil || f.d.qos != 2 {
		// MQTT-4.3.3: a PUBREC for an identifier we do not hold still gets a PUBREL; v5 says why.
		rel := &codec.Pubrel{PacketID: p.PacketID}
		if c.v == codec.V5 {
			rel.ReasonCode = codec.ReasonPacketIDNotFound
			c.explain(&rel.Properties, fmt.Sprintf("no QoS 2 PUBLISH with packet identifier %d is awaiting its PUBREC", p.PacketID))
		}
		return rel
	}
	if p.ReasonCode.IsError() {
		// The receiver refused the message: it is acknowledged and not re-sent (MQTT-4.4.0-2).
		s.removeFlightLocked(f)
		s.refillLocked()
		return nil
	}
	f.state = awaitComp
	return &codec.Pubrel{PacketID: p.PacketID}
}

// onPubcomp completes a QoS 2 delivery.
func (s *session) onPubcomp(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.inflight[id]; f != nil && f.state == awaitComp {
		s.removeFlightLocked(f)
		s.refillLocked()
	}
}

// discarded completes flights whose PUBLISH was too large for the client: the broker behaves
// as if it had sent them (MQTT-3.1.2-25).
func (s *session) discarded(fs []*flight) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range fs {
		if s.inflight[f.id] == f {
			s.removeFlightLocked(f)
		}
	}
	s.refillLocked()
}

// resendLocked queues, on a resumed session, every unacknowledged PUBLISH (DUP 1 if it was sent
// before) and PUBREL in the original order (MQTT-4.4.0-1, MQTT-4.6.0-1), then fills the window.
func (s *session) resendLocked(c *conn) {
	s.srv.rules.resuming(s)
	now := time.Now()
	// A copy: removing a flight may clear the front of s.order, tombstones after f included.
	for _, f := range slices.Clone(s.order) {
		if f.done || !s.srv.rules.resends(f) {
			continue
		}
		switch f.state {
		case awaitAck:
			if !f.sent.Load() && s.stale(&f.d, now) {
				// Never written, so onward delivery has not started: expiry applies (MQTT-3.3.2-5).
				s.removeFlightLocked(f)
				continue
			}
			c.enqueueMessage(outItem{d: f.d, f: f, dup: f.sent.Load()})
		case awaitComp:
			c.enqueue(outItem{pkt: &codec.Pubrel{PacketID: f.id}})
		}
	}
	s.refillLocked()
}

// endLocked discards the session's state; the caller removes it from the server's map and
// passes the returned shared-subscription messages to Server.reroute once unlocked.
func (s *session) endLocked() (reroute []delivery) {
	s.ended = true
	for filter := range s.subs {
		s.srv.unsubscribeTree(s, filter)
	}
	for _, f := range s.order {
		if !f.done && f.d.share != "" && f.state == awaitAck && (f.d.qos == 1 || !f.sent.Load()) {
			reroute = append(reroute, f.d)
		}
	}
	for _, d := range s.pending {
		if d.share != "" {
			reroute = append(reroute, d)
		}
	}
	s.subs = nil
	s.inflight, s.order, s.pending, s.inQoS2 = nil, nil, nil, nil
	if s.expiryTimer != nil {
		s.expiryTimer.Stop()
		s.expiryTimer = nil
	}
	return reroute
}

func (s *session) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expiryTimer != nil {
		s.expiryTimer.Stop()
	}
	if s.willTimer != nil {
		s.willTimer.Stop()
	}
}

// takeWillLocked removes a pending will and stops its timer.
func (s *session) takeWillLocked() *will {
	w := s.will
	s.will = nil
	if s.willTimer != nil {
		s.willTimer.Stop()
		s.willTimer = nil
	}
	return w
}
