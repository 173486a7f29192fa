package broker

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/topics"
)

// readLoop reads and handles packets until the connection ends.
func (c *conn) readLoop() {
	dopts := codec.Options{Version: c.v, Sender: codec.SideClient, MaxPacketSize: c.srv.cfg.maxPacket}
	for {
		if c.keepAlive > 0 {
			// The deadline runs from the last complete packet (MQTT-3.1.2-22). Pushing it at most
			// every 10ms, 10ms late, keeps it cheap and never early.
			if now := time.Now(); now.Sub(c.lastDL) >= 10*time.Millisecond && c.kicked.Load() == 0 {
				c.lastDL = now
				c.nc.SetReadDeadline(now.Add(c.keepAlive + 10*time.Millisecond))
				if c.kicked.Load() != 0 {
					c.nc.SetReadDeadline(time.Now().Add(takeoverGrace)) // a kick raced with this push
				}
			}
		}
		raw, err := c.r.ReadRaw()
		if err != nil {
			c.readFailed(err)
			return
		}
		p, err := c.decode(dopts, raw)
		if err != nil {
			c.protocolError(err)
			return
		}
		if p = c.srv.rules.receive(c, p); p != nil && !c.handle(p) {
			return
		}
		c.throttle()
	}
}

func (c *conn) readFailed(err error) {
	if k := c.kicked.Load(); k != int32(causeNone) {
		c.cause.CompareAndSwap(int32(causeNone), k)
		return
	}
	var ce *codec.Error
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		c.protocolError(err)
	case errors.As(err, &ne) && ne.Timeout() && c.keepAlive > 0:
		// MQTT-3.1.2-22: close as if the network failed; v5 may say 0x8D first.
		c.disconnect(causeKeepAlive, codec.ReasonKeepAliveTimeout, fmt.Sprintf("no packet within %v", c.keepAlive))
	default:
		c.cause.CompareAndSwap(int32(causeNone), int32(causeNetwork))
		c.log.Debug("connection closed", "err", err)
	}
}

// protocolError ends the connection for a decode error or a broker-detected violation.
func (c *conn) protocolError(err error) {
	rc := codec.ReasonProtocolError
	var ce *codec.Error
	if errors.As(err, &ce) {
		rc = ce.Reason
		if ce.Rule == "topic-alias-zero" {
			// Section 3.3.4 names 0x94 Topic Alias invalid for alias 0; the codec reports 0x82.
			rc = codec.ReasonTopicAliasInvalid
		}
	}
	if !rc.ValidFor(codec.DISCONNECT) {
		rc = codec.ReasonProtocolError
	}
	c.disconnect(causeProtocol, rc, err.Error())
}

func (c *conn) decode(o codec.Options, raw []byte) (codec.Packet, error) {
	var p codec.Packet
	var err error
	if codec.PacketType(raw[0]>>4) == codec.PUBLISH {
		// The hot path: decoded in place, the packet aliases raw; newMessage copies what it keeps.
		// (A Decoder holds a struct of every packet type: idle subscribers do without one.)
		if c.pubDec == nil {
			c.pubDec = &codec.Decoder{}
		}
		c.pubDec.Options = o
		p, _, err = c.pubDec.Decode(raw)
	} else {
		p, _, err = codec.DecodeWith(o, raw, nil)
	}
	if err != nil {
		return c.srv.rules.rescue(o, raw, err)
	}
	return p, nil
}

// handle processes one packet; false ends the connection.
func (c *conn) handle(p codec.Packet) bool {
	switch p := p.(type) {
	case *codec.Publish:
		return c.onPublish(p)
	case *codec.Puback:
		c.sess.onPuback(p.PacketID)
	case *codec.Pubrec:
		if rel := c.sess.onPubrec(c, p); rel != nil {
			c.enqueue(outItem{pkt: rel})
		}
	case *codec.Pubrel:
		c.onPubrel(p)
	case *codec.Pubcomp:
		c.sess.onPubcomp(p.PacketID)
	case *codec.Subscribe:
		return c.onSubscribe(p)
	case *codec.Unsubscribe:
		c.onUnsubscribe(p)
	case *codec.Pingreq:
		c.enqueue(outItem{pkt: &codec.Pingresp{}}) // MQTT-3.12.4-1
	case *codec.Disconnect:
		return c.onDisconnect(p)
	case *codec.Auth:
		return c.onAuth(p)
	case *codec.Connect:
		c.disconnect(causeProtocol, codec.ReasonProtocolError, "second CONNECT (MQTT-3.1.0-2)")
		return false
	default:
		// CONNACK, SUBACK, UNSUBACK, PINGRESP: only a server sends these.
		c.disconnect(causeProtocol, codec.ReasonProtocolError, p.Type().String()+" is not sent by clients")
		return false
	}
	return true
}

func (c *conn) onPublish(p *codec.Publish) bool {
	srv := c.srv
	cfg := &srv.cfg
	topic := p.Topic
	if c.v == codec.V5 {
		if p.QoS > cfg.maxQoS {
			c.disconnect(causeProtocol, codec.ReasonQoSNotSupported, fmt.Sprintf("QoS %d exceeds the Maximum QoS %d", p.QoS, cfg.maxQoS))
			return false
		}
		if p.Retain && !cfg.retain {
			c.disconnect(causeProtocol, codec.ReasonRetainNotSupported, "retained messages are not supported")
			return false
		}
		if p.Properties.Has(codec.PropTopicAlias) {
			a := p.Properties.TopicAlias
			if a > cfg.aliasMax {
				c.disconnect(causeProtocol, codec.ReasonTopicAliasInvalid, fmt.Sprintf("Topic Alias %d exceeds the maximum %d", a, cfg.aliasMax))
				return false
			}
			if topic == "" {
				t, ok := c.aliasMap()[a]
				if !ok {
					c.disconnect(causeProtocol, codec.ReasonProtocolError, fmt.Sprintf("Topic Alias %d has no mapping on this connection", a))
					return false
				}
				topic = t
			} else {
				c.aliasMap()[a] = strings.Clone(topic) // p aliases the read buffer
			}
		}
	}
	sess := c.sess
	if p.QoS > 0 {
		sess.mu.Lock()
		_, dupQoS2 := sess.inQoS2[p.PacketID]
		inflight := len(sess.inQoS2)
		sess.mu.Unlock()
		if p.QoS == 2 && dupQoS2 {
			// MQTT-4.3.3-10: acknowledge again, deliver nothing new.
			c.enqueue(outItem{pkt: &codec.Pubrec{PacketID: p.PacketID}})
			return true
		}
		if c.v == codec.V5 && inflight >= int(cfg.maxInflight) {
			c.disconnect(causeProtocol, codec.ReasonReceiveMaximumExceeded, fmt.Sprintf("more than %d QoS 1/2 publications unacknowledged", cfg.maxInflight))
			return false
		}
	}
	if !srv.opts.ACL.CanPublish(c.clientID, c.user, topic) {
		c.log.Info("PUBLISH not authorized", "topic", topic)
		if c.v == codec.V5 {
			c.ackPublish(p, codec.ReasonNotAuthorized, "not authorized to publish to "+quoteShort(topic))
			return true
		}
		// 3.1.1 MQTT-3.3.5-2: acknowledge positively, deliver nothing.
		c.ackPublish(p, 0, "")
		return true
	}
	if topic != "" {
		c.routeFrom(p, topic)
	}
	if p.QoS == 2 {
		sess.mu.Lock()
		sess.inQoS2[p.PacketID] = struct{}{}
		sess.mu.Unlock()
	}
	c.ackPublish(p, 0, "")
	return true
}

// aliasMap returns the connection's Topic Alias mappings from the client (MQTT-3.3.2-7: they
// belong to the network connection, not to the session).
func (c *conn) aliasMap() map[uint16]string {
	if c.inAlias == nil {
		c.inAlias = make(map[uint16]string)
	}
	return c.inAlias
}

func (c *conn) routeFrom(p *codec.Publish, topic string) {
	m := newMessage(p, topic, c.clientID, c.v == codec.V5)
	if !c.srv.cfg.retain {
		m.retain = false
	}
	c.srv.route(m)
}

// ackPublish sends PUBACK or PUBREC for a QoS 1/2 PUBLISH.
func (c *conn) ackPublish(p *codec.Publish, rc codec.ReasonCode, reason string) {
	var props codec.Properties
	c.explain(&props, reason)
	switch p.QoS {
	case 1:
		c.enqueue(outItem{pkt: &codec.Puback{PacketID: p.PacketID, ReasonCode: rc, Properties: props}}) // MQTT-2.2.1-5
	case 2:
		c.enqueue(outItem{pkt: &codec.Pubrec{PacketID: p.PacketID, ReasonCode: rc, Properties: props}})
	}
}

func (c *conn) onPubrel(p *codec.Pubrel) {
	sess := c.sess
	sess.mu.Lock()
	_, ok := sess.inQoS2[p.PacketID]
	delete(sess.inQoS2, p.PacketID)
	sess.mu.Unlock()
	comp := &codec.Pubcomp{PacketID: p.PacketID}
	if !ok && c.v == codec.V5 {
		comp.ReasonCode = codec.ReasonPacketIDNotFound
		c.explain(&comp.Properties, fmt.Sprintf("no QoS 2 PUBLISH with packet identifier %d is awaiting release", p.PacketID))
	}
	c.enqueue(outItem{pkt: comp}) // MQTT-4.3.3-11
}

var matchPool = sync.Pool{New: func() any { s := make([]topics.Match[*session], 0, 16); return &s }}

func preferOnline(s *session) bool { return s.online.Load() }

// target collects the subscriptions of one session that match a message.
type target struct {
	s *session
	d delivery
}

// route stores a retained message and delivers a message to every matching session: one copy per
// session for its overlapping non-shared subscriptions, at the highest of their QoS and with all
// their Subscription Identifiers (MQTT-3.3.4-2..4), plus one copy per shared group.
func (s *Server) route(m *message) {
	if m.retain {
		s.retained.put(m) // MQTT-3.3.1-5..7
	}
	bp := matchPool.Get().(*[]topics.Match[*session])
	ms := s.tree.Match(m.topic, preferOnline, (*bp)[:0])
	var local [8]target
	targets := local[:0]
	for i := range ms {
		mt := &ms[i]
		o := &mt.Options
		if o.NoLocal && mt.Key.id == m.from {
			continue // MQTT-3.8.3-3
		}
		qos := min(m.qos, o.QoS)                  // MQTT-3.8.4-8
		retain := m.retain && o.RetainAsPublished // MQTT-3.3.1-12/13
		if mt.Group != "" {
			d := delivery{msg: m, qos: qos, retain: retain, share: mt.Group, filter: mt.Filter}
			if o.ID != 0 {
				d.subIDs = []uint32{o.ID}
			}
			mt.Key.deliver(d)
			continue
		}
		j := 0
		for j < len(targets) && targets[j].s != mt.Key {
			j++
		}
		if j == len(targets) {
			targets = append(targets, target{s: mt.Key, d: delivery{msg: m, qos: qos, retain: retain}})
		} else {
			t := &targets[j].d
			t.qos = max(t.qos, qos)
			t.retain = t.retain || retain
		}
		if o.ID != 0 {
			targets[j].d.subIDs = append(targets[j].d.subIDs, o.ID)
		}
	}
	clear(ms)
	*bp = ms[:0]
	matchPool.Put(bp)
	dropped := false
	for i := range targets {
		if !targets[i].s.deliver(targets[i].d) {
			dropped = true
		}
	}
	if dropped {
		// A subscriber cannot keep up: give its writer the processor rather than route more
		// messages that would be dropped too. Yielding never waits on the subscriber.
		runtime.Gosched()
	}
}

// reroute hands shared-subscription messages of a session that ended to other members of their
// groups (section 4.8.2: a QoS 1 message SHOULD go to another member; a QoS 2 message whose
// delivery had started MUST NOT, and endLocked does not return those).
func (s *Server) reroute(ds []delivery) {
	for _, d := range ds {
		mt, ok := s.tree.PickShared(d.share, d.filter, preferOnline)
		if !ok {
			continue
		}
		o := &mt.Options
		nd := delivery{msg: d.msg, qos: min(d.msg.qos, o.QoS), retain: d.msg.retain && o.RetainAsPublished, share: d.share, filter: d.filter}
		if o.ID != 0 {
			nd.subIDs = []uint32{o.ID}
		}
		mt.Key.deliver(nd)
	}
}

// subRecord is a subscription as the session stores it: options, and how it sits in the tree.
type subRecord struct {
	opts  topics.Options
	share string // share name; "" for a non-shared subscription
	inner string // filter in the tree
}

// subscribeLocked adds or replaces a subscription; the caller holds sess.mu.
func (s *Server) subscribeLocked(sess *session, filter string, rec subRecord) (existed bool) {
	_, existed = sess.subs[filter]
	sess.subs[filter] = rec
	if rec.share != "" {
		s.tree.SubscribeShared(sess, rec.share, rec.inner, rec.opts)
	} else {
		s.tree.Subscribe(sess, rec.inner, rec.opts)
	}
	return existed
}

// unsubscribeTree removes a session's subscription from the tree (not from sess.subs).
func (s *Server) unsubscribeTree(sess *session, filter string) bool {
	rec, ok := sess.subs[filter]
	if !ok {
		return false
	}
	if rec.share != "" {
		return s.tree.UnsubscribeShared(sess, rec.share, rec.inner)
	}
	return s.tree.Unsubscribe(sess, rec.inner)
}

func (c *conn) onSubscribe(p *codec.Subscribe) bool {
	srv := c.srv
	cfg := &srv.cfg
	v5 := c.v == codec.V5
	var subID uint32
	if len(p.Properties.SubscriptionIDs) > 0 {
		if !cfg.subID && !srv.rules.subIDsAnyway {
			c.disconnect(causeProtocol, codec.ReasonSubscriptionIDsNotSupported, "Subscription Identifiers are not supported")
			return false
		}
		subID = p.Properties.SubscriptionIDs[0]
	}
	type retainedSend struct {
		filter string
		opts   topics.Options
	}
	var sends []retainedSend
	codes := make([]codec.ReasonCode, len(p.Subscriptions))
	sess := c.sess
	for i, sub := range p.Subscriptions {
		rec := subRecord{inner: sub.Filter}
		if v5 {
			if g, f, ok := codec.SharedFilter(sub.Filter); ok {
				if !cfg.shared && !srv.rules.sharedAnyway {
					c.disconnect(causeProtocol, codec.ReasonSharedSubsNotSupported, "Shared Subscriptions are not supported")
					return false
				}
				rec.share, rec.inner = g, f
			}
		}
		if !cfg.wildcard && !srv.rules.wildcardsAnyway && topics.HasWildcard(rec.inner) {
			if v5 {
				c.disconnect(causeProtocol, codec.ReasonWildcardSubsNotSupported, "Wildcard Subscriptions are not supported")
				return false
			}
			codes[i] = codec.SubackFailure
			continue
		}
		if !srv.opts.ACL.CanSubscribe(c.clientID, c.user, rec.inner) {
			c.log.Info("SUBSCRIBE not authorized", "filter", sub.Filter)
			codes[i] = codec.SubackFailure
			if v5 {
				codes[i] = codec.ReasonNotAuthorized
			}
			continue
		}
		granted := min(sub.QoS, cfg.maxQoS) // MQTT-3.8.4-7 (3.1.1: -5)
		rec.opts = topics.Options{QoS: granted, ID: subID}
		if v5 {
			rec.opts.NoLocal = sub.NoLocal
			rec.opts.RetainAsPublished = sub.RetainAsPublished
			rec.opts.RetainHandling = sub.RetainHandling
		}
		srv.rules.subscribing(&rec.opts)
		sess.mu.Lock()
		existed := false
		if !sess.ended {
			existed = srv.subscribeLocked(sess, sub.Filter, rec)
		}
		sess.mu.Unlock()
		codes[i] = codec.ReasonCode(granted)
		// Retained messages: not for shared subscriptions (section 4.8.2); per Retain Handling
		// otherwise (MQTT-3.3.1-9..11, 3.1.1 MQTT-3.3.1-6, re-sent on replacement MQTT-3.8.4-4).
		rh := rec.opts.RetainHandling
		if rec.share == "" && (rh == 0 || rh == 1 && !existed) {
			sends = append(sends, retainedSend{rec.inner, rec.opts})
		}
	}
	ack := &codec.Suback{PacketID: p.PacketID, ReasonCodes: codes}
	c.explain(&ack.Properties, refusedFilters(codec.SUBACK, codes, func(rc codec.ReasonCode) bool { return rc >= 0x80 }))
	c.echoUsers(&ack.Properties, &p.Properties)
	c.enqueue(outItem{pkt: ack}) // MQTT-3.8.4-1
	now := time.Now()
	for _, rs := range sends {
		for _, m := range srv.retained.match(rs.filter, now) {
			// A stored message has RETAIN 1, and keeps it when sent because of a new subscription
			// (3.1.1 MQTT-3.3.1-8).
			d := delivery{msg: m, qos: min(m.qos, rs.opts.QoS), retain: m.retain}
			if rs.opts.ID != 0 {
				d.subIDs = []uint32{rs.opts.ID}
			}
			sess.deliver(d)
		}
	}
	return true
}

func (c *conn) onUnsubscribe(p *codec.Unsubscribe) {
	sess := c.sess
	codes := make([]codec.ReasonCode, len(p.Filters))
	sess.mu.Lock()
	for i, f := range p.Filters {
		// MQTT-3.10.4-1: compared character by character with the session's filters.
		if _, ok := sess.subs[f]; ok && !sess.ended {
			c.srv.unsubscribeTree(sess, f)
			delete(sess.subs, f)
		} else {
			codes[i] = codec.ReasonNoSubscriptionExisted
		}
	}
	sess.mu.Unlock()
	ack := &codec.Unsuback{PacketID: p.PacketID}
	if c.v == codec.V5 {
		ack.ReasonCodes = codes
		c.explain(&ack.Properties, refusedFilters(codec.UNSUBACK, codes, func(rc codec.ReasonCode) bool { return rc != codec.ReasonSuccess }))
		c.echoUsers(&ack.Properties, &p.Properties)
	}
	c.enqueue(outItem{pkt: ack}) // MQTT-3.10.4-4, even when nothing was unsubscribed (MQTT-3.10.4-5)
}

// onDisconnect handles DISCONNECT. A 3.1/3.1.1 DISCONNECT has neither properties nor a reason
// code: it reads as 0x00 Normal disconnection.
func (c *conn) onDisconnect(p *codec.Disconnect) bool {
	if p.Properties.Has(codec.PropSessionExpiry) {
		if c.sessExpiry == 0 && p.Properties.SessionExpiry != 0 {
			// MQTT-3.14.2-2's companion rule in 3.14.2.2.2: not a valid DISCONNECT.
			c.disconnect(causeProtocol, codec.ReasonProtocolError, "Session Expiry Interval was 0 in CONNECT and cannot be set in DISCONNECT")
			return false
		}
		c.sessExpiry = p.Properties.SessionExpiry
	}
	if p.ReasonCode == codec.ReasonNormalDisconnection {
		c.cause.CompareAndSwap(int32(causeNone), int32(causeNormal)) // MQTT-3.14.4-3: will discarded
	} else {
		c.cause.CompareAndSwap(int32(causeNone), int32(causeClientWill))
	}
	return false
}

// onAuth handles AUTH after CONNACK: re-authentication (section 4.12.1).
func (c *conn) onAuth(p *codec.Auth) bool {
	if c.authMethod == "" {
		c.disconnect(causeProtocol, codec.ReasonProtocolError, "AUTH without enhanced authentication in CONNECT (MQTT-4.12.0-7)")
		return false
	}
	if p.Properties.AuthMethod != c.authMethod {
		c.disconnect(causeProtocol, codec.ReasonProtocolError, "AUTH must carry the CONNECT's Authentication Method (MQTT-4.12.1-1)")
		return false
	}
	switch {
	case p.ReasonCode == codec.ReasonReAuthenticate && c.reauth == nil:
		c.reauth = c.srv.opts.AuthMethods[c.authMethod].Begin(c.clientID)
	case p.ReasonCode == codec.ReasonContinueAuthentication && c.reauth != nil:
	default:
		c.disconnect(causeProtocol, codec.ReasonProtocolError, fmt.Sprintf("unexpected AUTH reason %v", p.ReasonCode))
		return false
	}
	reply, done, err := c.reauth.Step(p.Properties.AuthData)
	if err != nil {
		rc := codec.ReasonNotAuthorized
		var ae *AuthError
		if errors.As(err, &ae) && ae.Reason.ValidFor(codec.DISCONNECT) {
			rc = ae.Reason
		}
		c.disconnect(causeProtocol, rc, "re-authentication failed") // MQTT-4.12.1-2
		return false
	}
	a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
	if done {
		a.ReasonCode = codec.ReasonSuccess
		if id, ok := c.reauth.(AuthIdentity); ok {
			c.user = id.Username() // the ACL follows the re-authenticated identity
		}
		c.reauth = nil
		c.explain(&a.Properties, "re-authenticated with "+c.authMethod)
	}
	a.Properties.SetAuthMethod(c.authMethod)
	if len(reply) > 0 {
		a.Properties.SetAuthData(reply)
	}
	c.enqueue(outItem{pkt: a})
	return true
}

// refusedFilters is the Reason String of a SUBACK or UNSUBACK: which filters, by position in the
// request, got a code that refused selects, and the code's name; "" when none did. It names at most three, to
// stay short (the filters themselves may be long).
func refusedFilters(t codec.PacketType, codes []codec.ReasonCode, refused func(codec.ReasonCode) bool) string {
	var parts []string
	n := 0
	for i, rc := range codes {
		if !refused(rc) {
			continue
		}
		if n++; n <= 3 {
			parts = append(parts, fmt.Sprintf("filter %d: %s", i+1, rc.NameFor(t, codec.V5)))
		}
	}
	if n > 3 {
		parts = append(parts, fmt.Sprintf("%d more", n-3))
	}
	return strings.Join(parts, "; ")
}

// quoteShort quotes a topic for a Reason String, or says "this topic" when it is too long to
// keep the string short.
func quoteShort(topic string) string {
	if len(topic) > 64 {
		return "this topic"
	}
	return fmt.Sprintf("%q", topic)
}
