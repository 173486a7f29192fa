package client

import (
	"context"
	"sync"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/client/store"
)

// handle dispatches one packet from the server (reader goroutine). A non-nil result closes the
// connection.
func (c *Client) handle(cn *conn, p codec.Packet) *ProtocolError {
	switch p := p.(type) {
	case *codec.Publish:
		return c.onPublish(cn, p)
	case *codec.Puback:
		c.onPuback(cn, p)
	case *codec.Pubrec:
		c.onPubrec(cn, p)
	case *codec.Pubrel:
		c.onPubrel(cn, p)
	case *codec.Pubcomp:
		c.onPubcomp(cn, p)
	case *codec.Suback:
		return c.onSuback(cn, p)
	case *codec.Unsuback:
		return c.onUnsuback(cn, p)
	case *codec.Pingresp:
		cn.pingPending.Store(false)
	case *codec.Disconnect:
		if cn.version != codec.V5 {
			return protocolErrorf(codec.ReasonProtocolError, "DISCONNECT from a %v server (only clients send it before 5.0)", cn.version)
		}
		// MQTT-4.13.2-1 / MQTT-3.14.4-2: the connection ends after a DISCONNECT.
		cn.fail(&DisconnectError{Code: p.ReasonCode, ReasonString: p.Properties.ReasonString,
			ServerReference: p.Properties.ServerReference})
	case *codec.Auth:
		return c.onAuth(cn, p)
	default: // CONNECT, CONNACK, SUBSCRIBE, UNSUBSCRIBE, PINGREQ: never sent by a server
		return protocolErrorf(codec.ReasonProtocolError, "%v from the server", p.Type())
	}
	return nil
}

func (c *Client) onPublish(cn *conn, p *codec.Publish) *ProtocolError {
	topic := p.Topic
	if cn.version == codec.V5 && p.Properties.Has(codec.PropTopicAlias) {
		a := p.Properties.TopicAlias
		if a > c.opts.TopicAliasMaximum {
			// MQTT-3.1.2-26/27 bind the server; the client answers 0x94 Topic Alias invalid.
			return protocolErrorf(codec.ReasonTopicAliasInvalid, "Topic Alias %d above the Topic Alias Maximum %d the client sent", a, c.opts.TopicAliasMaximum)
		}
		cn.inMu.Lock()
		if topic != "" {
			cn.inAliases[a] = topic
		} else if t, ok := cn.inAliases[a]; ok {
			topic = t
		} else {
			cn.inMu.Unlock()
			return protocolErrorf(codec.ReasonProtocolError, "PUBLISH with an empty topic and Topic Alias %d, which this connection never mapped", a)
		}
		cn.inMu.Unlock()
	}
	m := &Message{Topic: topic, Payload: p.Payload, QoS: p.QoS, Retain: p.Retain, Dup: p.Dup, PacketID: p.PacketID,
		Properties: p.Properties}
	m.Properties.Clear(codec.PropTopicAlias)
	if p.QoS == 0 {
		c.dq.push(c.ctx, cn, delivery{msg: m})
		return nil
	}
	id := p.PacketID
	cn.inMu.Lock()
	if _, again := cn.inUnacked[id]; !again {
		if rm := c.opts.ReceiveMaximum; rm > 0 && len(cn.inUnacked) >= int(rm) {
			cn.inMu.Unlock()
			return protocolErrorf(codec.ReasonReceiveMaximumExceeded,
				"more than the client's Receive Maximum of %d QoS 1/2 PUBLISH unacknowledged [MQTT-3.3.4-9]", rm)
		}
		cn.inUnacked[id] = struct{}{}
	}
	cn.inMu.Unlock()
	if p.QoS == 1 {
		c.dq.push(c.ctx, cn, delivery{msg: m, ack: &codec.Puback{PacketID: id}, cn: cn})
		return nil
	}
	rec := &codec.Pubrec{PacketID: id}
	c.mu.Lock()
	if c.inQoS2[id] {
		// MQTT-4.3.3-10: until PUBREL, a repeated PUBLISH is acknowledged again, not delivered again.
		c.mu.Unlock()
		c.dq.push(c.ctx, cn, delivery{ack: rec, cn: cn})
		return nil
	}
	raw, _ := rec.AppendTo(nil, cn.version)
	// Stored before the message is handed on: the identifier must outlive a restart so that the
	// server's redelivery is recognised (exactly once).
	if err := c.store.Put(store.Entry{Dir: store.Incoming, ID: id, Version: cn.version, Packet: raw}); err != nil {
		c.log.Error("store: put", "id", id, "err", err)
	}
	c.inQoS2[id] = true
	c.mu.Unlock()
	c.dq.push(c.ctx, cn, delivery{msg: m, ack: rec, cn: cn})
	return nil
}

func reasonErr(t codec.PacketType, v codec.Version, code codec.ReasonCode, p *codec.Properties) error {
	if code < 0x80 {
		return nil
	}
	return &ReasonError{Packet: t, Version: v, Code: code, ReasonString: p.ReasonString}
}

func (c *Client) onPuback(cn *conn, p *codec.Puback) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.flows[p.PacketID]
	if f == nil || f.kind != kindPublish || f.qos != 1 || f.state != stWaitAck {
		c.log.Warn("PUBACK for no QoS 1 PUBLISH in flight", "id", p.PacketID)
		return
	}
	if f.gen == cn.gen {
		c.quota++
	}
	// MQTT-4.4.0-2: an error reason also ends the flow; the message is not retransmitted.
	c.finish(f, reasonErr(codec.PUBACK, cn.version, p.ReasonCode, &p.Properties), true)
	c.pump()
}

func (c *Client) onPubrec(cn *conn, p *codec.Pubrec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := p.PacketID
	f := c.flows[id]
	rel := &codec.Pubrel{PacketID: id}
	switch {
	case f != nil && f.kind == kindPublish && f.qos == 2 && f.state == stWaitAck:
		if p.ReasonCode >= 0x80 {
			if f.gen == cn.gen {
				c.quota++
			}
			c.finish(f, reasonErr(codec.PUBREC, cn.version, p.ReasonCode, &p.Properties), true)
			c.pump()
			return
		}
		// Store the PUBREL before sending it: after a restart the client must resend PUBREL,
		// not the PUBLISH (MQTT-4.3.3-6).
		raw, _ := rel.AppendTo(nil, cn.version)
		if err := c.store.Put(store.Entry{Dir: store.Outgoing, ID: id, Version: cn.version, Packet: raw}); err != nil {
			c.log.Error("store: put", "id", id, "err", err)
		}
		c.seq++
		f.seq = c.seq // PUBRELs are resent in the order of their PUBRECs (MQTT-4.6.0-4)
		f.state = stWaitComp
		f.raw, f.pub = nil, nil
	case f != nil && f.kind == kindPublish && f.state == stWaitComp:
		// A repeated PUBREC: answer it again.
	default:
		c.log.Warn("PUBREC for no QoS 2 PUBLISH in flight", "id", id)
		if cn.version == codec.V5 {
			rel.ReasonCode = codec.ReasonPacketIDNotFound
		}
	}
	cn.w.send(rel) // MQTT-4.3.3-4
}

func (c *Client) onPubcomp(cn *conn, p *codec.Pubcomp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.flows[p.PacketID]
	if f == nil || f.kind != kindPublish || f.state != stWaitComp {
		c.log.Warn("PUBCOMP for no PUBREL in flight", "id", p.PacketID)
		return
	}
	if f.gen == cn.gen {
		c.quota++
	}
	c.finish(f, reasonErr(codec.PUBCOMP, cn.version, p.ReasonCode, &p.Properties), true)
	c.pump()
}

func (c *Client) onPubrel(cn *conn, p *codec.Pubrel) {
	id := p.PacketID
	c.mu.Lock()
	found := c.inQoS2[id]
	if found {
		delete(c.inQoS2, id)
		if err := c.store.Delete(store.Incoming, id); err != nil {
			c.log.Error("store: delete", "id", id, "err", err)
		}
	}
	c.mu.Unlock()
	cn.inMu.Lock()
	delete(cn.inUnacked, id)
	cn.inMu.Unlock()
	comp := &codec.Pubcomp{PacketID: id} // MQTT-4.3.3-11
	if !found {
		c.log.Warn("PUBREL for no QoS 2 PUBLISH received", "id", id)
		if cn.version == codec.V5 {
			comp.ReasonCode = codec.ReasonPacketIDNotFound
		}
	}
	cn.w.send(comp)
}

func (c *Client) onSuback(cn *conn, p *codec.Suback) *ProtocolError {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.flows[p.PacketID]
	if f == nil || f.kind != kindSubscribe {
		c.log.Warn("SUBACK for no SUBSCRIBE in flight", "id", p.PacketID)
		return nil
	}
	req := f.req.(*codec.Subscribe)
	if len(p.ReasonCodes) != len(req.Subscriptions) {
		return protocolErrorf(codec.ReasonProtocolError, "SUBACK has %d reason codes for %d topic filters [MQTT-3.9.3-1]",
			len(p.ReasonCodes), len(req.Subscriptions))
	}
	f.codes = append([]codec.ReasonCode(nil), p.ReasonCodes...)
	f.reason = p.Properties.ReasonString
	if f.resub {
		for i, code := range f.codes {
			if code >= 0x80 {
				c.log.Error("resubscribe refused", "filter", req.Subscriptions[i].Filter, "reason", code)
				c.forgetSubs(f.subs[i : i+1])
			}
		}
	}
	c.finish(f, nil, false)
	return nil
}

func (c *Client) onUnsuback(cn *conn, p *codec.Unsuback) *ProtocolError {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.flows[p.PacketID]
	if f == nil || f.kind != kindUnsubscribe {
		c.log.Warn("UNSUBACK for no UNSUBSCRIBE in flight", "id", p.PacketID)
		return nil
	}
	req := f.req.(*codec.Unsubscribe)
	if cn.version == codec.V5 && len(p.ReasonCodes) != len(req.Filters) {
		return protocolErrorf(codec.ReasonProtocolError, "UNSUBACK has %d reason codes for %d topic filters [MQTT-3.11.3-1]",
			len(p.ReasonCodes), len(req.Filters))
	}
	f.codes = append([]codec.ReasonCode(nil), p.ReasonCodes...)
	f.reason = p.Properties.ReasonString
	c.finish(f, nil, false)
	return nil
}

func (c *Client) onAuth(cn *conn, p *codec.Auth) *ProtocolError {
	cn.inMu.Lock()
	ch := cn.reauthWait
	cn.inMu.Unlock()
	if ch == nil {
		return protocolErrorf(codec.ReasonProtocolError, "AUTH 0x%02X from the server outside an authentication exchange", byte(p.ReasonCode))
	}
	if p.ReasonCode == codec.ReasonSuccess {
		if p.Properties.AuthMethod != c.opts.Auth.Method {
			return protocolErrorf(codec.ReasonProtocolError, "AUTH Authentication Method %q differs from %q [MQTT-4.12.0-5]",
				p.Properties.AuthMethod, c.opts.Auth.Method)
		}
		cn.inMu.Lock()
		cn.reauthWait = nil
		cn.inMu.Unlock()
		ch <- nil
		return nil
	}
	return c.answerAuth(p, cn.w.send)
}

// delivery is one message for the handlers and/or the acknowledgement that follows them.
type delivery struct {
	msg *Message
	ack codec.Packet // PUBACK or PUBREC, sent once the handlers returned
	cn  *conn        // the connection the PUBLISH came on; the ack goes only there
}

// maxQueuedQoS0 bounds QoS 0 messages waiting for handlers; the reader waits beyond it (TCP then
// pushes back on the server). QoS 1/2 messages are bounded by the Receive Maximum.
const maxQueuedQoS0 = 10000

type deliveryQueue struct {
	mu    sync.Mutex
	items []delivery
	head  int
	qos0  int
	wake  chan struct{}
	space chan struct{}
}

func newDeliveryQueue() *deliveryQueue {
	return &deliveryQueue{wake: make(chan struct{}, 1)}
}

// push appends d, waiting while too many QoS 0 messages are queued (unless ctx or the connection
// ends, in which case the message is dropped: QoS 0 promises nothing more).
func (q *deliveryQueue) push(ctx context.Context, cn *conn, d delivery) {
	q.mu.Lock()
	for d.msg != nil && d.msg.QoS == 0 && q.qos0 >= maxQueuedQoS0 {
		if q.space == nil {
			q.space = make(chan struct{})
		}
		ch := q.space
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-cn.dead:
			return
		}
		q.mu.Lock()
	}
	if d.msg != nil && d.msg.QoS == 0 {
		q.qos0++
	}
	q.items = append(q.items, d)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop returns the next delivery, waiting until there is one or ctx ends.
func (q *deliveryQueue) pop(ctx context.Context) (delivery, bool) {
	for {
		q.mu.Lock()
		if q.head < len(q.items) {
			d := q.items[q.head]
			q.items[q.head] = delivery{}
			q.head++
			if q.head == len(q.items) {
				q.items, q.head = q.items[:0], 0
			}
			if d.msg != nil && d.msg.QoS == 0 {
				q.qos0--
				if q.space != nil {
					close(q.space)
					q.space = nil
				}
			}
			q.mu.Unlock()
			return d, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-ctx.Done():
			return delivery{}, false
		}
	}
}

// deliver runs handlers one message at a time, in arrival order, and sends each acknowledgement
// after the handlers returned, so acknowledgements leave in PUBLISH order (MQTT-4.6.0-2, -3).
func (c *Client) deliver() {
	defer c.wg.Done()
	var hs []Handler
	for {
		d, ok := c.dq.pop(c.ctx)
		if !ok {
			return
		}
		if d.msg != nil {
			hs = c.route(d.msg, hs[:0])
		}
		if d.ack != nil {
			if a, ok := d.ack.(*codec.Puback); ok {
				d.cn.inMu.Lock()
				delete(d.cn.inUnacked, a.PacketID)
				d.cn.inMu.Unlock()
			}
			// On a connection that has ended this fails, and the server resends the PUBLISH.
			d.cn.w.send(d.ack)
		}
	}
}

// route calls every handler whose filter matches, or the default handler.
func (c *Client) route(m *Message, hs []Handler) []Handler {
	c.subsMu.RLock()
	for _, f := range c.subOrder {
		s := c.subs[f]
		if codec.MatchTopic(s.match, m.Topic) {
			hs = append(hs, s.handler)
		}
	}
	c.subsMu.RUnlock()
	if len(hs) == 0 {
		if c.opts.OnMessage != nil {
			c.opts.OnMessage(m)
		} else {
			c.log.Debug("message matches no subscription", "topic", m.Topic)
		}
		return hs
	}
	for _, h := range hs {
		h(m)
	}
	return hs
}
