package broker

import (
	"errors"
	"fmt"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// refusal is a CONNACK error: the v5 reason code and the 3.1/3.1.1 return code (0 = close
// without a CONNACK, where 3.1.1 has no code for the problem).
type refusal struct {
	v5  codec.ReasonCode
	v3  codec.ReasonCode
	why string
}

// refuse answers the CONNECT with an error CONNACK (Session Present 0, MQTT-3.2.2-6) and ends
// the connection (MQTT-3.2.2-7).
func (c *conn) refuse(r refusal) {
	c.cause.CompareAndSwap(int32(causeNone), int32(causeProtocol))
	c.log.Info("CONNECT refused", "reason", r.why)
	var ack *codec.Connack
	switch {
	case c.v == codec.V5:
		ack = &codec.Connack{ReasonCode: r.v5}
		if r.why != "" {
			ack.Properties.SetReasonString(r.why)
		}
	case r.v3 != 0:
		ack = &codec.Connack{ReasonCode: r.v3}
	}
	if ack != nil {
		c.finish(ack)
	}
	c.srv.rules.refused(c, ack)
}

// handshake reads the CONNECT, validates and authenticates it, attaches the session and queues
// the CONNACK. It returns false when the connection is to be closed.
func (c *conn) handshake() bool {
	srv := c.srv
	deadline := time.Now().Add(srv.cfg.connectTimeout)
	c.nc.SetReadDeadline(deadline)
	raw, err := c.r.ReadRaw()
	if err != nil {
		c.cause.Store(int32(causeNetwork))
		c.log.Debug("no CONNECT received", "err", err)
		return false
	}
	if t := codec.PacketType(raw[0] >> 4); t != codec.CONNECT {
		// MQTT-3.1.0-1: the first packet must be CONNECT; anything else closes the connection.
		c.cause.Store(int32(causeProtocol))
		c.log.Info("first packet is not CONNECT; closing", "type", t.String())
		return false
	}
	pkt, _, err := codec.DecodeWith(codec.Options{Sender: codec.SideClient}, raw, nil)
	if err != nil {
		pkt, err = srv.rules.rescueConnect(raw, err)
	}
	if err != nil {
		c.refuseMalformed(err)
		return false
	}
	cp := pkt.(*codec.Connect)
	c.v = cp.Version()
	c.r.SetVersion(c.v)
	srv.rules.receive(c, cp)
	c.clientID = cp.ClientID
	c.log = c.log.With("version", c.v.String())
	c.clientLimits(cp)
	if r, ok := c.checkConnect(cp); !ok {
		c.log = c.log.With("client", c.clientID)
		c.refuse(r)
		return false
	}
	assigned := false
	if c.clientID == "" {
		c.clientID = srv.assignClientID()
		assigned = c.v == codec.V5
	}
	c.log = c.log.With("client", c.clientID)
	if n := srv.connected.Add(1); srv.cfg.maxConns > 0 && n > int64(srv.cfg.maxConns) {
		srv.connected.Add(-1)
		c.refuse(refusal{v5: codec.ReasonQuotaExceeded, v3: codec.ConnRefusedServerUnavailable, why: "too many connections"})
		return false
	}
	c.counted = true
	var authReply []byte
	if c.v == codec.V5 && cp.Properties.Has(codec.PropAuthMethod) {
		var r refusal
		var ok bool
		if authReply, r, ok = c.authenticate(cp, deadline); !ok {
			if r.v5 != 0 {
				c.refuse(r)
			}
			return false
		}
	} else if len(srv.opts.Users) > 0 {
		if !cp.UsernameFlag || !checkPassword(srv.opts.Users, cp.Username, cp.Password) {
			c.refuse(refusal{v5: codec.ReasonBadUsernameOrPassword, v3: codec.ConnRefusedBadUsernamePassword, why: "bad user name or password"})
			return false
		}
		c.user = cp.Username
	} else if cp.UsernameFlag {
		c.user = cp.Username
	}
	if cp.WillFlag && !srv.opts.ACL.CanPublish(c.clientID, c.user, cp.Will.Topic) {
		c.refuse(refusal{v5: codec.ReasonNotAuthorized, v3: codec.ConnRefusedNotAuthorized, why: "not authorized to publish the will topic"})
		return false
	}
	if !c.connackFits(cp, assigned, authReply) {
		return false
	}
	c.setupSession(cp)
	ack := c.connack(cp, assigned, authReply)
	srv.rules.connected(c, cp)
	// The CONNECT deadline ends before attach: once attached, a takeover may kick this
	// connection, whose read deadline (takeoverGrace) a later clear would wipe, leaving the
	// kicked connection reading forever and the taking-over CONNECT waiting for it.
	c.nc.SetReadDeadline(time.Time{})
	present := srv.attach(c, cp.CleanStart, ack)
	c.log.Debug("client connected", "clean", cp.CleanStart, "session_present", present, "keepalive", cp.KeepAlive)
	return true
}

// refuseMalformed answers a CONNECT the codec rejected.
func (c *conn) refuseMalformed(err error) {
	var ce *codec.Error
	if !errors.As(err, &ce) {
		c.cause.Store(int32(causeProtocol))
		c.log.Info("undecodable CONNECT; closing", "err", err)
		return
	}
	switch ce.Rule {
	case "connect-protocol-level":
		// 3.1.1 MQTT-3.1.2-2: an unsupported level gets return code 0x01, in the 3.1.1 layout
		// because the client's layout is unknown.
		c.v = codec.V311
		c.refuse(refusal{v3: codec.ConnRefusedProtocolVersion, why: ce.Error()})
	case "connect-protocol-name":
		// MQTT-3.1.2-1: not MQTT, or not in a way we can answer: close without a CONNACK.
		c.cause.Store(int32(causeProtocol))
		c.log.Info("CONNECT with a wrong protocol name; closing", "err", ce.Error())
	default:
		c.v = ce.Version
		rc := ce.Reason
		if !rc.ValidFor(codec.CONNACK) {
			rc = codec.ReasonUnspecifiedError
		}
		// MQTT-3.1.4-1: close; v5 may say why first. 3.1.1 has no return code for a malformed CONNECT.
		c.refuse(refusal{v5: rc, why: ce.Error()})
	}
}

// checkConnect applies the broker's rules to a well-formed CONNECT.
func (c *conn) checkConnect(cp *codec.Connect) (refusal, bool) {
	cfg := &c.srv.cfg
	switch {
	case c.v == codec.V31 && (len(cp.ClientID) < 1 || len(cp.ClientID) > 23):
		// MQTT 3.1 requires 1 to 23 characters.
		return refusal{v3: codec.ConnRefusedIdentifierRejected, why: "MQTT 3.1 client identifiers are 1 to 23 characters"}, false
	case c.v == codec.V311 && cp.ClientID == "" && !cp.CleanStart:
		// MQTT-3.1.3-8: zero-length identifier with Clean Session 0.
		return refusal{v3: codec.ConnRefusedIdentifierRejected, why: "an empty client identifier needs Clean Session 1"}, false
	case c.v != codec.V5 && cfg.maxKeepAlive > 0 && (cp.KeepAlive == 0 || cp.KeepAlive > cfg.maxKeepAlive):
		// 3.1.1 cannot tell the client another keep alive: refuse, as mosquitto does.
		return refusal{v3: codec.ConnRefusedIdentifierRejected, why: fmt.Sprintf("keep alive %d exceeds the maximum %d", cp.KeepAlive, cfg.maxKeepAlive)}, false
	case c.v == codec.V5 && cp.WillFlag && cp.Will.QoS > cfg.maxQoS:
		return refusal{v5: codec.ReasonQoSNotSupported, why: fmt.Sprintf("will QoS %d exceeds the maximum QoS %d", cp.Will.QoS, cfg.maxQoS)}, false // MQTT-3.2.2-12
	case c.v == codec.V5 && cp.WillFlag && cp.Will.Retain && !cfg.retain:
		return refusal{v5: codec.ReasonRetainNotSupported, why: "retained messages are not supported"}, false // MQTT-3.2.2-13
	case c.v == codec.V5 && cp.Properties.Has(codec.PropAuthMethod) && c.srv.opts.AuthMethods[cp.Properties.AuthMethod] == nil:
		return refusal{v5: codec.ReasonBadAuthenticationMethod, why: fmt.Sprintf("authentication method %q is not supported", cp.Properties.AuthMethod)}, false // MQTT-4.12.0-1
	}
	return c.srv.rules.checkConnect(c, cp)
}

// authenticate runs the enhanced authentication exchange of section 4.12 before CONNACK.
func (c *conn) authenticate(cp *codec.Connect, deadline time.Time) ([]byte, refusal, bool) {
	method := cp.Properties.AuthMethod
	ex := c.srv.opts.AuthMethods[method].Begin(c.clientID)
	data := cp.Properties.AuthData
	for step := 0; ; step++ {
		if step == maxAuthSteps {
			return nil, refusal{v5: codec.ReasonNotAuthorized, why: "authentication exchange too long"}, false
		}
		reply, done, err := ex.Step(data)
		reply, done, err = c.srv.rules.authStepped(reply, done, err)
		if err != nil {
			rc := codec.ReasonNotAuthorized
			var ae *AuthError
			if errors.As(err, &ae) && ae.Reason.ValidFor(codec.CONNACK) {
				rc = ae.Reason
			}
			return nil, refusal{v5: rc, why: "authentication failed"}, false
		}
		if done {
			c.authMethod = method
			if id, ok := ex.(AuthIdentity); ok {
				c.user = id.Username()
			} else if cp.UsernameFlag {
				c.user = cp.Username
			}
			if reply == nil {
				reply = []byte{}
			}
			return reply, refusal{}, true
		}
		a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
		a.Properties.SetAuthMethod(method)
		if reply != nil {
			a.Properties.SetAuthData(reply)
		}
		if !c.enqueue(outItem{pkt: a}) {
			return nil, refusal{}, false
		}
		c.nc.SetReadDeadline(deadline)
		raw, err := c.r.ReadRaw()
		if err != nil {
			c.cause.Store(int32(causeNetwork))
			return nil, refusal{}, false
		}
		p, _, err := codec.DecodeWith(codec.Options{Version: codec.V5, Sender: codec.SideClient}, raw, nil)
		if err != nil {
			var ce *codec.Error
			rc := codec.ReasonMalformedPacket
			if errors.As(err, &ce) && ce.Reason.ValidFor(codec.CONNACK) {
				rc = ce.Reason
			}
			return nil, refusal{v5: rc, why: err.Error()}, false
		}
		switch x := p.(type) {
		case *codec.Auth:
			if x.ReasonCode != codec.ReasonContinueAuthentication || x.Properties.AuthMethod != method {
				// MQTT-4.12.0-3 and MQTT-4.12.0-5.
				return nil, refusal{v5: codec.ReasonProtocolError, why: "AUTH must carry 0x18 and the CONNECT's authentication method"}, false
			}
			data = x.Properties.AuthData
		case *codec.Disconnect:
			c.cause.Store(int32(causeNormal))
			return nil, refusal{}, false
		default:
			// MQTT-3.1.2-30: only AUTH or DISCONNECT before CONNACK when authenticating.
			return nil, refusal{v5: codec.ReasonProtocolError, why: p.Type().String() + " during authentication"}, false
		}
	}
}

// clientLimits records, as soon as the CONNECT is decoded, what binds every packet the broker
// sends from then on, the refusing CONNACK and the AUTH packets of enhanced authentication
// included: the client's Maximum Packet Size (MQTT-3.1.2-24; a Reason String or User Property
// that would exceed it is left out, MQTT-3.2.2-19/20, MQTT-3.15.2-2/3) and its Request Problem
// Information (MQTT-3.1.2-29).
func (c *conn) clientLimits(cp *codec.Connect) {
	if c.v != codec.V5 {
		return
	}
	pr := &cp.Properties
	if pr.Has(codec.PropMaximumPacketSize) {
		c.maxOut = int(pr.MaximumPacketSize)
	}
	if pr.Has(codec.PropRequestProblemInfo) {
		c.problemInfo = pr.RequestProblemInfo == 1
	}
}

// ResponseInformation is the Response Information the broker returns in the CONNACK of a v5
// client that sets Request Response Information 1 (never otherwise, MQTT-3.1.2-28): the topic
// prefix "response/<client identifier>/", below which the client may build the Response Topics
// of its requests. The broker gives topics below it no special treatment: they are ordinary
// topics, subject to the ACL like any other.
func ResponseInformation(clientID string) string { return "response/" + clientID + "/" }

// setupSession records what the CONNECT asked for: keep alive, v5 limits, session expiry, will.
func (c *conn) setupSession(cp *codec.Connect) {
	cfg := &c.srv.cfg
	ka := cp.KeepAlive
	if c.v == codec.V5 {
		pr := &cp.Properties
		c.recvMax = 65535
		if pr.Has(codec.PropReceiveMaximum) {
			c.recvMax = pr.ReceiveMaximum
		}
		c.aliasMaxOut = pr.TopicAliasMaximum
		c.sessExpiry = pr.SessionExpiry
		switch {
		case cfg.serverKeepAlive > 0:
			ka = cfg.serverKeepAlive
		case cfg.maxKeepAlive > 0 && (ka == 0 || ka > cfg.maxKeepAlive):
			ka = cfg.maxKeepAlive
		}
	} else if !cp.CleanStart {
		c.sessExpiry = 0xFFFFFFFF // 3.1.1 Clean Session 0: the session never expires
	}
	if ka > 0 {
		c.keepAlive = time.Duration(ka) * 1500 * time.Millisecond // MQTT-3.1.2-22 (3.1.1: -24)
	}
	if cp.WillFlag {
		w := &codec.Publish{QoS: min(cp.Will.QoS, cfg.maxQoS), Retain: cp.Will.Retain && cfg.retain, Topic: cp.Will.Topic, Payload: cp.Will.Payload}
		if c.v == codec.V5 {
			w.Properties = cp.Will.Properties
			w.Properties.Clear(codec.PropWillDelay) // not forwarded: it is about the will, not the message
		}
		c.will = &will{msg: newMessage(w, w.Topic, c.clientID, c.v == codec.V5), delay: cp.Will.Properties.WillDelay}
	}
}

// connackFits reports whether the success CONNACK fits the client's Maximum Packet Size. When it
// does not (a limit of a few bytes, below the Assigned Client Identifier the CONNACK must carry,
// MQTT-3.2.2-16), no CONNACK can be sent (MQTT-3.1.2-24), and without one there is no connection:
// the broker closes it before any session is set up, so no will is armed and nothing, not even a
// DISCONNECT, goes out first (MQTT-3.14.0-1). Found by the libFuzzer broker-session campaign with
// the answer oracle: the broker went on as if connected and later sent DISCONNECT 0x81.
func (c *conn) connackFits(cp *codec.Connect, assigned bool, authReply []byte) bool {
	if c.maxOut <= 0 {
		return true
	}
	ack := c.connack(cp, assigned, authReply)
	if c.srv.rules.exempt(ack) {
		return true
	}
	b, err := ack.AppendTo(nil, c.v)
	if err != nil || len(b) <= c.maxOut {
		return true // an encoding error is the normal send path's to report
	}
	c.cause.Store(int32(causeProtocol))
	c.log.Info("the CONNACK does not fit the client's Maximum Packet Size; closing", "size", len(b), "max", c.maxOut)
	return false
}

// connack builds the success CONNACK (Session Present is set by attach).
func (c *conn) connack(cp *codec.Connect, assigned bool, authReply []byte) *codec.Connack {
	cfg := &c.srv.cfg
	ack := &codec.Connack{}
	if c.v != codec.V5 {
		return ack
	}
	pr := &ack.Properties
	if assigned {
		pr.SetAssignedClientID(c.clientID) // MQTT-3.2.2-16
	}
	if cfg.maxInflight < 65535 {
		pr.SetReceiveMaximum(cfg.maxInflight)
	}
	if cfg.maxQoS < 2 {
		pr.SetMaximumQoS(cfg.maxQoS) // MQTT-3.2.2-9
	}
	if !cfg.retain {
		pr.SetRetainAvailable(0)
	}
	if cfg.maxPacket > 0 {
		pr.SetMaximumPacketSize(uint32(cfg.maxPacket))
	}
	if cfg.aliasMax > 0 {
		pr.SetTopicAliasMaximum(cfg.aliasMax)
	}
	if !cfg.wildcard {
		pr.SetWildcardSubAvailable(0)
	}
	if !cfg.subID {
		pr.SetSubIDAvailable(0)
	}
	if !cfg.shared {
		pr.SetSharedSubAvailable(0)
	}
	switch {
	case cfg.serverKeepAlive > 0:
		pr.SetServerKeepAlive(cfg.serverKeepAlive)
	case cfg.maxKeepAlive > 0 && (cp.KeepAlive == 0 || cp.KeepAlive > cfg.maxKeepAlive):
		pr.SetServerKeepAlive(cfg.maxKeepAlive)
	}
	if c.authMethod != "" {
		pr.SetAuthMethod(c.authMethod) // MQTT-4.12.0-5
		if len(authReply) > 0 {
			pr.SetAuthData(authReply)
		}
	}
	if cp.Properties.RequestResponseInfo == 1 {
		pr.SetResponseInfo(ResponseInformation(c.clientID)) // only when requested: MQTT-3.1.2-28
	}
	return ack
}

// explainConnack gives a success CONNACK a short Reason String saying what the client got — a
// new or a resumed session, and the authentication method that admitted it — for a client that
// asked for diagnostics (Request Problem Information 1). The rule allows a CONNACK one even with
// 0 (MQTT-3.1.2-29); the broker keeps quiet then, as the client said it wants no extra text.
func (c *conn) explainConnack(ack *codec.Connack) {
	if c.v != codec.V5 || !c.problemInfo {
		return
	}
	why := "new session"
	if ack.SessionPresent {
		why = "session resumed"
	}
	if c.authMethod != "" {
		why += ", authenticated with " + c.authMethod
	}
	ack.Properties.SetReasonString(why)
}

// attach binds the connection to its session — taking the client identifier over from a live
// connection (MQTT-3.1.4-3), discarding or resuming the session (MQTT-3.1.2-4/5/6) — queues the
// CONNACK and re-sends what the session has in flight. It returns Session Present.
func (s *Server) attach(c *conn, clean bool, ack *codec.Connack) bool {
	for {
		s.mu.Lock()
		old := s.sessions[c.clientID]
		if old != nil {
			old.mu.Lock()
			oc := old.conn
			old.mu.Unlock()
			if oc != nil {
				s.mu.Unlock()
				oc.kick(codec.ReasonSessionTakenOver, causeTakeover)
				<-oc.finished
				continue
			}
		}
		var willNow *will
		var sess *session
		var reroute []delivery
		present := false
		if old == nil || clean {
			if old != nil {
				old.mu.Lock()
				willNow = old.takeWillLocked() // the old session ends: its delayed will goes now
				reroute = old.endLocked()
				old.mu.Unlock()
			}
			sess = newSession(s, c.clientID)
			s.sessions[c.clientID] = sess
		} else {
			sess = old
			present = true
		}
		sess.mu.Lock()
		if present {
			if sess.expiryTimer != nil {
				sess.expiryTimer.Stop()
				sess.expiryTimer = nil
			}
			sess.takeWillLocked() // reconnected within the Will Delay Interval (MQTT-3.1.3-9)
		}
		sess.conn = c
		sess.online.Store(true)
		c.sess = sess
		ack.SessionPresent = present && c.v != codec.V31 // MQTT-3.2.2-3 (3.1.1: MQTT-3.2.2-2); 3.1 has no such flag
		c.explainConnack(ack)
		c.enqueue(outItem{pkt: ack})
		c.connacked.Store(true)
		if present {
			sess.resendLocked(c)
		}
		sess.mu.Unlock()
		s.mu.Unlock()
		s.reroute(reroute)
		if willNow != nil {
			s.publishWill(willNow)
		}
		return present
	}
}

// detach unbinds a closed connection from its session and applies the Will Message and Session
// Expiry rules (MQTT-3.1.2-8, MQTT-3.1.3-9, MQTT-3.1.2-23, MQTT-4.1.0-2).
func (s *Server) detach(c *conn) {
	sess := c.sess
	cause := closeCause(c.cause.Load())
	if cause == causeNone {
		cause = causeNetwork
	}
	var willNow *will
	var reroute []delivery
	s.mu.Lock()
	sess.mu.Lock()
	if sess.conn == c {
		sess.conn = nil
		sess.online.Store(false)
	}
	if cause == causeShutdown {
		sess.mu.Unlock()
		s.mu.Unlock()
		return
	}
	if w := c.will; w != nil && cause != causeNormal { // MQTT-3.1.2-8, MQTT-3.14.4-3
		if w.delay == 0 || c.sessExpiry == 0 {
			willNow = w
		} else {
			sess.will = w
			wait := time.Duration(min(w.delay, c.sessExpiry)) * time.Second
			sess.willTimer = s.afterFunc(wait, func() { s.fireWill(sess, w) })
		}
	}
	reroute = s.rules.detached(sess)
	expiry := s.rules.closing(c.sessExpiry)
	switch expiry {
	case 0:
		if s.sessions[sess.id] == sess {
			delete(s.sessions, sess.id)
		}
		reroute = append(reroute, sess.endLocked()...)
	case 0xFFFFFFFF:
		// never expires
	default:
		sess.expiryTimer = s.afterFunc(time.Duration(expiry)*time.Second, func() { s.expire(sess) })
	}
	sess.mu.Unlock()
	s.mu.Unlock()
	s.reroute(reroute)
	if willNow != nil {
		s.publishWill(willNow)
	}
}

// expire ends an offline session whose Session Expiry Interval has passed; a will still waiting
// for its delay is published now because the session ends.
func (s *Server) expire(sess *session) {
	s.mu.Lock()
	sess.mu.Lock()
	var w *will
	var reroute []delivery
	if sess.conn == nil && !sess.ended && s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
		w = sess.takeWillLocked()
		reroute = sess.endLocked()
		s.log.Debug("session expired", "client", sess.id)
	}
	sess.mu.Unlock()
	s.mu.Unlock()
	s.reroute(reroute)
	if w != nil {
		s.publishWill(w)
	}
}

func (s *Server) fireWill(sess *session, w *will) {
	sess.mu.Lock()
	if sess.will != w {
		sess.mu.Unlock()
		return
	}
	sess.will, sess.willTimer = nil, nil
	sess.mu.Unlock()
	s.publishWill(w)
}

// publishWill publishes a Will Message; its Message Expiry starts now.
func (s *Server) publishWill(w *will) {
	m := *w.msg
	if m.expiry > 0 || !m.expires.IsZero() {
		m.expires = time.Now().Add(time.Duration(m.expiry) * time.Second)
	}
	s.log.Debug("publishing will", "client", m.from, "topic", m.topic)
	s.route(&m)
}
