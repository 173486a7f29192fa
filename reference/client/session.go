package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/client/store"
)

type flowKind uint8

const (
	kindPublish flowKind = iota + 1
	kindSubscribe
	kindUnsubscribe
)

type flowState uint8

const (
	stQueued   flowState = iota + 1 // PUBLISH waiting for send quota or a connection
	stWaitAck                       // PUBLISH sent on the current connection, awaiting PUBACK/PUBREC
	stWaitComp                      // PUBREL sent (or due on reconnection), awaiting PUBCOMP
)

// flow is one outgoing exchange that holds a packet identifier: a QoS 1/2 PUBLISH, a SUBSCRIBE
// or an UNSUBSCRIBE. Its fields are guarded by Client.mu.
type flow struct {
	id    uint16
	kind  flowKind
	qos   byte
	state flowState
	sent  bool   // the PUBLISH went out at least once: a resend carries DUP (MQTT-3.3.1-1)
	gen   uint64 // connection the last PUBLISH/PUBREL was written on (counts against its quota)
	seq   uint64 // order of the PUBLISH, or of the PUBREC for a PUBREL (MQTT-4.6.0-1, -4)
	raw   []byte // the encoded PUBLISH, as stored
	pub   *codec.Publish

	req   codec.Packet // SUBSCRIBE or UNSUBSCRIBE
	subs  []*subscription
	resub bool // resubscription after reconnect: nobody waits

	done   chan struct{}
	err    error
	codes  []codec.ReasonCode
	reason string // Reason String of the acknowledgement
}

// finish completes a flow and frees its identifier. drop removes its stored state: true when the
// flow ended (acknowledged, or discarded with the session); false when the client stops and a
// later client may resume it from the store.
func (c *Client) finish(f *flow, err error, drop bool) {
	if c.flows[f.id] != f {
		return
	}
	if f.kind == kindPublish && drop {
		if serr := c.store.Delete(store.Outgoing, f.id); serr != nil {
			c.log.Error("store: delete", "id", f.id, "err", serr)
		}
	}
	delete(c.flows, f.id)
	f.err = err
	close(f.done)
	if c.idWait != nil {
		close(c.idWait)
		c.idWait = nil
	}
}

// allocID returns a packet identifier not used by any flow in flight (MQTT-2.2.1-3), waiting if
// all 65535 are in use. c.mu is held on entry and on return.
func (c *Client) allocID(ctx context.Context) (uint16, error) {
	for {
		if c.closed {
			return 0, c.closeErr
		}
		if id, ok := c.tryAllocID(); ok {
			return id, nil
		}
		if c.idWait == nil {
			c.idWait = make(chan struct{})
		}
		ch := c.idWait
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			c.mu.Lock()
			return 0, ctx.Err()
		case <-c.ctx.Done():
		}
		c.mu.Lock()
	}
}

func (c *Client) tryAllocID() (uint16, bool) {
	if len(c.flows) >= 65535 {
		return 0, false
	}
	for {
		c.nextID++
		if c.nextID == 0 {
			c.nextID = 1 // MQTT-2.2.1-3: never 0
		}
		if _, used := c.flows[c.nextID]; !used {
			return c.nextID, true
		}
	}
}

// resumeSession runs on every new connection (c.mu held): it discards the session state when the
// server has none, resubscribes, and resends what is in flight in its original order.
func (c *Client) resumeSession(cn *conn, present bool) {
	if !present {
		// MQTT-3.2.2-5: the server has no session, so ours is discarded — but a PUBLISH that
		// never left is not session state yet and is sent as a new message.
		n := 0
		for _, f := range c.flows {
			if f.kind == kindPublish && (f.sent || f.state == stWaitComp) {
				c.finish(f, ErrSessionLost, true)
				n++
			}
		}
		for id := range c.inQoS2 {
			if err := c.store.Delete(store.Incoming, id); err != nil {
				c.log.Error("store: delete", "id", id, "err", err)
			}
			delete(c.inQoS2, id)
		}
		if n > 0 {
			c.log.Warn("the server has no session: discarded in-flight messages", "count", n)
		}
		c.resubscribe(cn)
	}
	c.quota = int(cn.limits.receiveMax)
	var pubs []*flow
	for _, f := range c.flows {
		if f.kind == kindPublish {
			pubs = append(pubs, f)
		}
	}
	slices.SortFunc(pubs, func(a, b *flow) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	c.pending = c.pending[:0]
	for _, f := range pubs {
		if f.state == stWaitComp {
			// MQTT-4.4.0-1: resend PUBREL with its original identifier. It is not a PUBLISH, so
			// it is never held back by the quota (MQTT-3.3.4-8), but it counts against it until
			// PUBCOMP.
			if cn.w.send(&codec.Pubrel{PacketID: f.id}) == nil {
				f.gen = cn.gen
				c.quota--
			}
			continue
		}
		f.state = stQueued
		c.pending = append(c.pending, f)
	}
	c.pump()
}

// pump sends queued QoS 1/2 PUBLISH packets while the send quota allows (MQTT-3.3.4-7,
// MQTT-4.9.0-2). c.mu held.
func (c *Client) pump() {
	cn := c.cn
	if cn == nil {
		return
	}
	for c.quota > 0 && len(c.pending) > 0 {
		f := c.pending[0]
		if f.state != stQueued || c.flows[f.id] != f {
			c.pending = c.pending[1:]
			continue
		}
		if err := c.checkLimits(f.qos, f.pub.Retain); err != nil {
			c.pending = c.pending[1:]
			c.finish(f, err, true)
			continue
		}
		var err error
		if !f.sent && cn.w.aliasMax > 0 {
			err = cn.w.sendPublish(f.pub)
		} else {
			err = cn.w.sendRaw(f.raw, f.sent, func() codec.Packet {
				p := *f.pub
				p.Dup = f.sent
				return &p
			})
		}
		if err != nil {
			if isConnErr(err) {
				return // the connection is ending; the next one resends
			}
			c.pending = c.pending[1:]
			c.finish(f, err, true)
			continue
		}
		c.pending = c.pending[1:]
		f.state, f.sent, f.gen = stWaitAck, true, cn.gen
		c.quota--
	}
	if len(c.pending) == 0 {
		c.pending = nil
	}
}

func isConnErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, errDisconnecting) || errors.As(err, new(net.Error)) ||
		errors.Is(err, ErrConnectionLost)
}

func (c *Client) checkLimits(qos byte, retain bool) error {
	if qos > c.limits.maxQoS {
		return fmt.Errorf("%w (QoS %d, server allows %d)", ErrQoSNotSupported, qos, c.limits.maxQoS)
	}
	if retain && !c.limits.retain {
		return ErrRetainNotSupported
	}
	return nil
}

// connectionEnded fails what cannot survive the connection (c.mu held): SUBSCRIBE and
// UNSUBSCRIBE waiting for their acknowledgement. QoS 1/2 flows stay for the next connection.
func (c *Client) connectionEnded(err error) {
	for _, f := range c.flows {
		if f.kind != kindPublish {
			c.finish(f, err, false)
			if !f.resub {
				c.forgetSubs(f.subs)
			}
		}
	}
	c.pending = nil
}

// failAll completes every flow with err, keeping stored state for a later client (c.mu held).
func (c *Client) failAll(err error) {
	for _, f := range c.flows {
		c.finish(f, err, false)
	}
	c.pending = nil
}

func (c *Client) checkMessage(m *Message) error {
	switch {
	case m == nil:
		return errors.New("client: nil message")
	case !codec.ValidTopicName(m.Topic):
		return fmt.Errorf("client: %q is not a valid topic name (non-empty UTF-8 without + or #; MQTT-3.3.2-2)", m.Topic)
	case m.QoS > 2:
		return fmt.Errorf("client: QoS %d (must be 0, 1 or 2)", m.QoS)
	case m.Properties.Has(codec.PropTopicAlias):
		return errors.New("client: the client assigns Topic Aliases itself (Options.UseTopicAliases)")
	case len(m.Properties.SubscriptionIDs) > 0:
		return errors.New("client: a PUBLISH from a client must not carry a Subscription Identifier (MQTT-3.3.4-6)")
	case m.Properties.Has(codec.PropResponseTopic) && !codec.ValidTopicName(m.Properties.ResponseTopic):
		return fmt.Errorf("client: Response Topic %q is not a valid topic name (MQTT-3.3.2-14)", m.Properties.ResponseTopic)
	}
	return nil
}

// Publish sends a message and returns when its QoS flow completes: QoS 0 once queued for
// writing, QoS 1 at PUBACK, QoS 2 at PUBCOMP. A reason code of 0x80 or above comes back as a
// *ReasonError. A QoS 1/2 message is stored before it is sent; while the client reconnects it
// waits, and it is resent on the next connection. If ctx ends first, Publish returns ctx.Err()
// but the flow goes on. The client reads m.Payload until the message is encoded.
func (c *Client) Publish(ctx context.Context, m *Message) error {
	if err := c.checkMessage(m); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		err := c.closeErr
		c.mu.Unlock()
		return err
	}
	if err := c.checkLimits(m.QoS, m.Retain); err != nil {
		c.mu.Unlock()
		return err
	}
	if m.QoS == 0 {
		cn := c.cn
		c.mu.Unlock()
		if cn == nil {
			return ErrNotConnected
		}
		if err := cn.w.waitSpace(ctx); err != nil {
			return sendErr(err)
		}
		var pub codec.Publish // stays on the stack: QoS 0 allocates nothing
		c.fillPublish(&pub, m)
		return sendErr(cn.w.sendPublish(&pub))
	}
	id, err := c.allocID(ctx)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	pub := new(codec.Publish)
	c.fillPublish(pub, m)
	f, err := c.newPublishFlow(id, pub)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	c.pump()
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newPublishFlow encodes and stores a QoS 1/2 PUBLISH and queues it (c.mu held).
func (c *Client) newPublishFlow(id uint16, pub *codec.Publish) (*flow, error) {
	pub.PacketID = id
	raw, err := pub.AppendTo(nil, c.opts.Version)
	if err != nil {
		return nil, fmt.Errorf("client: encode PUBLISH: %w", err)
	}
	if c.limits.maxPacket > 0 && len(raw) > int(c.limits.maxPacket) {
		return nil, fmt.Errorf("%w (%d bytes, server allows %d)", ErrPacketTooLarge, len(raw), c.limits.maxPacket)
	}
	pub.Payload = raw[len(raw)-len(pub.Payload):] // the flow no longer refers to the caller's buffer
	if err := c.store.Put(store.Entry{Dir: store.Outgoing, ID: id, Version: c.opts.Version, Packet: raw}); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	f := &flow{id: id, kind: kindPublish, qos: pub.QoS, state: stQueued, raw: raw, pub: pub, done: make(chan struct{})}
	c.seq++
	f.seq = c.seq
	c.flows[id] = f
	c.pending = append(c.pending, f)
	return f, nil
}

func (c *Client) fillPublish(p *codec.Publish, m *Message) {
	p.QoS, p.Retain, p.Topic, p.Payload = m.QoS, m.Retain, m.Topic, m.Payload
	if c.opts.Version == codec.V5 {
		p.Properties = m.Properties
	}
}

func sendErr(err error) error {
	if err == nil || errors.Is(err, ErrPacketTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if isConnErr(err) {
		return fmt.Errorf("%w: %w", ErrNotConnected, err)
	}
	return err
}

// Subscribe sends a SUBSCRIBE and returns the reason codes of its SUBACK, one per filter. The
// handler receives the messages matching any of the filters; it is installed before the
// SUBSCRIBE leaves (retained messages may precede the SUBACK) and removed for a filter the server
// refused. The error is a *ReasonError for the first refused filter. Subscriptions are made again
// after a reconnection that did not resume the session.
func (c *Client) Subscribe(ctx context.Context, subs []codec.Subscription, h Handler, opts ...RequestOption) ([]codec.ReasonCode, error) {
	v := c.opts.Version
	if len(subs) == 0 {
		return nil, errors.New("client: SUBSCRIBE needs at least one topic filter (MQTT-3.8.3-3)")
	}
	if h == nil {
		return nil, errors.New("client: nil handler")
	}
	for _, s := range subs {
		if err := checkSubscription(s, v); err != nil {
			return nil, err
		}
	}
	var props codec.Properties
	for _, o := range opts {
		o(&props)
	}
	if v != codec.V5 && !props.Empty() {
		return nil, errors.New("client: SUBSCRIBE properties need MQTT 5.0")
	}
	for _, id := range props.SubscriptionIDs {
		if id == 0 || id > codec.MaxVarint {
			return nil, fmt.Errorf("client: Subscription Identifier %d (must be 1 to %d)", id, codec.MaxVarint)
		}
	}
	pkt := &codec.Subscribe{Subscriptions: slices.Clone(subs), Properties: props}
	c.mu.Lock()
	f, err := c.request(ctx, pkt, kindSubscribe)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	f.subs = c.addSubs(pkt.Subscriptions, props, h)
	cn := c.cn
	if err := cn.w.send(pkt); err != nil {
		c.finish(f, err, false)
		c.forgetSubs(f.subs)
		c.mu.Unlock()
		return nil, sendErr(err)
	}
	c.mu.Unlock()
	if err := c.wait(ctx, f); err != nil {
		return nil, err
	}
	var first error
	for i, code := range f.codes {
		if code >= 0x80 {
			c.forgetSubs(f.subs[i : i+1])
			if first == nil {
				first = &ReasonError{Packet: codec.SUBACK, Version: v, Code: code, Filter: subs[i].Filter, ReasonString: f.reason}
			}
		}
	}
	return f.codes, first
}

func checkSubscription(s codec.Subscription, v codec.Version) error {
	switch {
	case !codec.ValidTopicFilter(s.Filter, v):
		return fmt.Errorf("client: %q is not a valid topic filter (MQTT-4.7.1-1, MQTT-4.7.1-2)", s.Filter)
	case s.QoS > 2:
		return fmt.Errorf("client: requested QoS %d for %q", s.QoS, s.Filter)
	case s.ReservedBits != 0:
		return fmt.Errorf("client: reserved subscription option bits set for %q", s.Filter)
	}
	if v == codec.V5 {
		if s.RetainHandling > 2 {
			return fmt.Errorf("client: Retain Handling %d for %q", s.RetainHandling, s.Filter)
		}
		if _, _, shared := codec.SharedFilter(s.Filter); shared && s.NoLocal {
			return fmt.Errorf("client: No Local on the shared subscription %q (MQTT-3.8.3-4)", s.Filter)
		}
	}
	return nil
}

// request allocates the identifier of a SUBSCRIBE or UNSUBSCRIBE and registers its flow (c.mu
// held); the caller sends it.
func (c *Client) request(ctx context.Context, pkt codec.Packet, kind flowKind) (*flow, error) {
	if c.closed {
		return nil, c.closeErr
	}
	if c.cn == nil {
		return nil, ErrNotConnected
	}
	id, err := c.allocID(ctx)
	if err != nil {
		return nil, err
	}
	if c.cn == nil { // allocID may have waited
		return nil, ErrNotConnected
	}
	switch p := pkt.(type) {
	case *codec.Subscribe:
		p.PacketID = id
	case *codec.Unsubscribe:
		p.PacketID = id
	}
	f := &flow{id: id, kind: kind, req: pkt, done: make(chan struct{})}
	c.flows[id] = f
	return f, nil
}

func (c *Client) wait(ctx context.Context, f *flow) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) addSubs(subs []codec.Subscription, props codec.Properties, h Handler) []*subscription {
	out := make([]*subscription, len(subs))
	var pp *codec.Properties
	if !props.Empty() {
		pp = &props
	}
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	for i, s := range subs {
		match := s.Filter
		if _, f, ok := codec.SharedFilter(s.Filter); ok && c.opts.Version == codec.V5 {
			match = f
		}
		sub := &subscription{sub: s, props: pp, match: match, handler: h}
		if _, ok := c.subs[s.Filter]; !ok {
			c.subOrder = append(c.subOrder, s.Filter)
		}
		c.subs[s.Filter] = sub
		out[i] = sub
	}
	return out
}

// forgetSubs removes subscriptions, unless a later Subscribe replaced them.
func (c *Client) forgetSubs(subs []*subscription) {
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	for _, s := range subs {
		if c.subs[s.sub.Filter] == s {
			c.removeSubLocked(s.sub.Filter)
		}
	}
}

func (c *Client) removeSubLocked(filter string) {
	delete(c.subs, filter)
	if i := slices.Index(c.subOrder, filter); i >= 0 {
		c.subOrder = slices.Delete(c.subOrder, i, i+1)
	}
}

// resubscribe repeats every subscription on a connection without a session (c.mu held): one
// SUBSCRIBE for those without properties, one each for those with a Subscription Identifier or
// User Properties.
func (c *Client) resubscribe(cn *conn) {
	c.subsMu.RLock()
	var groups [][]*subscription
	byProps := make(map[*codec.Properties]int) // subscriptions made by one call share properties
	for _, f := range c.subOrder {
		s := c.subs[f]
		i, ok := byProps[s.props]
		if !ok {
			i = len(groups)
			byProps[s.props] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], s)
	}
	c.subsMu.RUnlock()
	for _, g := range groups {
		id, ok := c.tryAllocID()
		if !ok {
			c.log.Error("resubscribe: no free packet identifier")
			return
		}
		pkt := &codec.Subscribe{PacketID: id}
		if g[0].props != nil {
			pkt.Properties = *g[0].props
		}
		for _, s := range g {
			pkt.Subscriptions = append(pkt.Subscriptions, s.sub)
		}
		f := &flow{id: id, kind: kindSubscribe, req: pkt, subs: g, resub: true, done: make(chan struct{})}
		c.flows[id] = f
		if err := cn.w.send(pkt); err != nil {
			c.finish(f, err, false)
			c.log.Error("resubscribe", "err", err)
			return
		}
	}
}

// Unsubscribe sends an UNSUBSCRIBE and, once acknowledged, removes the filters' handlers. A 5.0
// reason code of 0x80 or above comes back as a *ReasonError (the handler stays).
func (c *Client) Unsubscribe(ctx context.Context, filters []string, opts ...RequestOption) error {
	v := c.opts.Version
	if len(filters) == 0 {
		return errors.New("client: UNSUBSCRIBE needs at least one topic filter (MQTT-3.10.3-2)")
	}
	for _, f := range filters {
		if !codec.ValidTopicFilter(f, v) {
			return fmt.Errorf("client: %q is not a valid topic filter", f)
		}
	}
	var props codec.Properties
	for _, o := range opts {
		o(&props)
	}
	if len(props.SubscriptionIDs) > 0 {
		return errors.New("client: UNSUBSCRIBE has no Subscription Identifier")
	}
	if v != codec.V5 && !props.Empty() {
		return errors.New("client: UNSUBSCRIBE properties need MQTT 5.0")
	}
	pkt := &codec.Unsubscribe{Filters: slices.Clone(filters), Properties: props}
	c.mu.Lock()
	f, err := c.request(ctx, pkt, kindUnsubscribe)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	if err := c.cn.w.send(pkt); err != nil {
		c.finish(f, err, false)
		c.mu.Unlock()
		return sendErr(err)
	}
	c.mu.Unlock()
	if err := c.wait(ctx, f); err != nil {
		return err
	}
	var first error
	c.subsMu.Lock()
	for i, filter := range filters {
		if i < len(f.codes) && f.codes[i] >= 0x80 {
			if first == nil {
				first = &ReasonError{Packet: codec.UNSUBACK, Version: v, Code: f.codes[i], Filter: filter, ReasonString: f.reason}
			}
			continue
		}
		c.removeSubLocked(filter)
	}
	c.subsMu.Unlock()
	return first
}

// Reauthenticate starts 5.0 re-authentication (AUTH 0x19 with the connection's method,
// MQTT-4.12.1-1) and returns when the server answers AUTH 0x00 Success. A failed
// re-authentication ends with the server's DISCONNECT, returned wrapped in ErrConnectionLost.
func (c *Client) Reauthenticate(ctx context.Context) error {
	a := c.opts.Auth
	if a == nil {
		return errors.New("client: re-authentication needs Options.Auth (MQTT-4.12.0-7)")
	}
	c.mu.Lock()
	cn := c.cn
	c.mu.Unlock()
	if cn == nil {
		return ErrNotConnected
	}
	ch := make(chan error, 1)
	cn.inMu.Lock()
	if cn.reauthWait != nil {
		cn.inMu.Unlock()
		return errors.New("client: re-authentication already in progress")
	}
	cn.reauthWait = ch
	cn.inMu.Unlock()
	p := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
	p.Properties.SetAuthMethod(a.Method)
	if a.Data != nil {
		p.Properties.SetAuthData(a.Data)
	}
	clear := func() {
		cn.inMu.Lock()
		if cn.reauthWait == ch {
			cn.reauthWait = nil
		}
		cn.inMu.Unlock()
	}
	if err := cn.w.send(p); err != nil {
		clear()
		return sendErr(err)
	}
	select {
	case err := <-ch:
		return err
	case <-cn.dead:
		clear()
		return lost(cn.err)
	case <-ctx.Done():
		clear()
		return ctx.Err()
	}
}
