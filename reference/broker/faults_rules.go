package broker

import (
	"errors"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/topics"
)

// rules are how one Server departs from the specification: computed once by newRules from
// Options.Faults, each fault's alter adding its hooks. The zero value is the specification
// itself, with no hook and every knob off, so that the handlers run the specification's logic and
// merely pass through these seams; each seam is named after the point it sits at.
type rules struct {
	// receiveHooks see every packet a client sends once it is decoded, before the broker handles
	// it: the handshake's CONNECT (c.sess is nil then) and every packet after it. A hook may
	// rewrite the packet in place, or handle it itself and return nil (not for the handshake's
	// CONNECT). They run on the connection's reader goroutine.
	receiveHooks []func(c *conn, p codec.Packet) codec.Packet
	// undecodable, when set, is given a packet the codec rejected after the handshake and returns
	// what the broker handles instead (or the error, which closes the connection).
	undecodable func(o codec.Options, raw []byte, err error) (codec.Packet, error)
	// connectHooks adjust what the broker recorded from a CONNECT (keep alive, the client's
	// limits, the will in c) just before the session is attached; of cp, only CleanStart is read
	// after them.
	connectHooks []func(c *conn, cp *codec.Connect)
	// subscribeHooks adjust the options stored with a new subscription, once its SUBACK reason
	// code is decided.
	subscribeHooks []func(o *topics.Options)
	// treeWraps and storeWraps wrap the subscription tree and the retained store, in order, to
	// alter their answers.
	treeWraps  []func(subscriptionTree) subscriptionTree
	storeWraps []func(retainedStore) retainedStore
	// sendHooks rewrite a control packet just before it is encoded (nil: it is not sent);
	// publishHooks rewrite a PUBLISH built for a delivery. They run on the writer goroutine and
	// touch nothing but the packet.
	sendHooks    []func(c *conn, p codec.Packet) codec.Packet
	publishHooks []func(c *conn, d *delivery, p *codec.Publish)
	// queueHooks see a session's queue after a message was appended to it, and may reorder it.
	queueHooks []func(pending []delivery)
	// resumeHooks see a stored session attached to a new connection, before it re-sends what is in
	// flight; resendIf, when set, decides which flights it re-sends. The session is locked.
	resumeHooks []func(s *session)
	resendIf    func(f *flight) bool
	// nextID, when set, allocates outbound packet identifiers instead of session.nextIDLocked.
	nextID func(s *session) uint16
	// keepExpired delivers queued messages whose Message Expiry Interval has passed.
	keepExpired bool
	// closeHooks map the Session Expiry Interval in force when a connection closes to the one
	// the session gets.
	closeHooks []func(expiry uint32) uint32
	// unlimited, when set, exempts the control packets it selects from the client's Maximum
	// Packet Size: they are sent whole, however large. It runs on the writer goroutine.
	unlimited func(p codec.Packet) bool
	// connectUndecodable, when set, is given the handshake's CONNECT the codec rejected and
	// returns the CONNECT the broker handles instead (or the error, which refuses it).
	connectUndecodable func(raw []byte, err error) (codec.Packet, error)
	// refusedHooks run once a CONNECT is refused, after its refusing CONNACK (ack; nil when the
	// refusal sends none) was written and before the connection closes, on the reader goroutine.
	refusedHooks []func(c *conn, ack *codec.Connack)
	// connectChecks are further checks of a well-formed CONNECT, after the broker's own
	// (checkConnect): the first that fails refuses the CONNECT. They run on the reader goroutine.
	connectChecks []func(c *conn, cp *codec.Connect) (refusal, bool)
	// encodedHooks see a PUBLISH built for a delivery once it is encoded (buf[start:]) and return
	// the bytes to send instead, in a slice of their own; on the writer goroutine.
	encodedHooks []func(c *conn, pkt []byte) []byte
	// wildcardsAnyway, sharedAnyway and subIDsAnyway take wildcard filters, shared
	// subscriptions and Subscription Identifiers even when the broker is configured without them.
	wildcardsAnyway, sharedAnyway, subIDsAnyway bool
	// authStep, when set, sees the outcome of each step of an enhanced authentication exchange
	// at CONNECT (rules.authStepped) and may change it.
	authStep func(reply []byte, done bool, err error) ([]byte, bool, error)
	// wsHandshake, when set, wraps the ResponseWriter answering a WebSocket handshake;
	// wsStream, when set, turns the accepted WebSocket into the connection's byte stream instead
	// of websocket.NetConn over binary messages (rules.webSocket, faults_capability.go).
	wsHandshake wsHandshakeFunc
	wsStream    wsStreamFunc
	// detachHooks see a session whose connection closed (locked, before its Session Expiry
	// Interval is applied); the deliveries they return go to other members of their shared
	// subscriptions, as those of an ending session do.
	detachHooks []func(s *session) []delivery
}

func (r *rules) detached(s *session) (reroute []delivery) {
	for _, h := range r.detachHooks {
		reroute = append(reroute, h(s)...)
	}
	return reroute
}

func (r *rules) receive(c *conn, p codec.Packet) codec.Packet {
	for _, h := range r.receiveHooks {
		if p = h(c, p); p == nil {
			return nil
		}
	}
	return p
}

func (r *rules) rescue(o codec.Options, raw []byte, err error) (codec.Packet, error) {
	if r.undecodable == nil {
		return nil, err
	}
	return r.undecodable(o, raw, err)
}

func (r *rules) rescueConnect(raw []byte, err error) (codec.Packet, error) {
	if r.connectUndecodable == nil {
		return nil, err
	}
	return r.connectUndecodable(raw, err)
}

func (r *rules) refused(c *conn, ack *codec.Connack) {
	for _, h := range r.refusedHooks {
		h(c, ack)
	}
}

func (r *rules) checkConnect(c *conn, cp *codec.Connect) (refusal, bool) {
	for _, h := range r.connectChecks {
		if rf, ok := h(c, cp); !ok {
			return rf, false
		}
	}
	return refusal{}, true
}

func (r *rules) encoded(c *conn, buf []byte, start int) []byte {
	for _, h := range r.encodedHooks {
		buf = append(buf[:start], h(c, buf[start:])...)
	}
	return buf
}

func (r *rules) connected(c *conn, cp *codec.Connect) {
	for _, h := range r.connectHooks {
		h(c, cp)
	}
}

func (r *rules) subscribing(o *topics.Options) {
	for _, h := range r.subscribeHooks {
		h(o)
	}
}

func (r *rules) wrapTree(t subscriptionTree) subscriptionTree {
	for _, w := range r.treeWraps {
		t = w(t)
	}
	return t
}

func (r *rules) wrapRetained(st retainedStore) retainedStore {
	for _, w := range r.storeWraps {
		st = w(st)
	}
	return st
}

func (r *rules) send(c *conn, p codec.Packet) codec.Packet {
	for _, h := range r.sendHooks {
		if p = h(c, p); p == nil {
			return nil
		}
	}
	return p
}

func (r *rules) publish(c *conn, d *delivery, p *codec.Publish) {
	for _, h := range r.publishHooks {
		h(c, d, p)
	}
}

func (r *rules) queued(pending []delivery) {
	for _, h := range r.queueHooks {
		h(pending)
	}
}

func (r *rules) resuming(s *session) {
	for _, h := range r.resumeHooks {
		h(s)
	}
}

func (r *rules) resends(f *flight) bool {
	return r.resendIf == nil || r.resendIf(f)
}

func (r *rules) exempt(p codec.Packet) bool {
	return r.unlimited != nil && r.unlimited(p)
}

func (r *rules) closing(expiry uint32) uint32 {
	for _, h := range r.closeHooks {
		expiry = h(expiry)
	}
	return expiry
}

// The helpers below build a fault's alter from one hook.

// onReceive adds a receive hook for packets of type P.
func onReceive[P codec.Packet](h func(c *conn, p P) codec.Packet) func(*rules) {
	return func(r *rules) {
		r.receiveHooks = append(r.receiveHooks, func(c *conn, p codec.Packet) codec.Packet {
			if x, ok := p.(P); ok {
				return h(c, x)
			}
			return p
		})
	}
}

// onSend adds a send hook for control packets of type P.
func onSend[P codec.Packet](h func(c *conn, p P) codec.Packet) func(*rules) {
	return func(r *rules) {
		r.sendHooks = append(r.sendHooks, func(c *conn, p codec.Packet) codec.Packet {
			if x, ok := p.(P); ok {
				return h(c, x)
			}
			return p
		})
	}
}

func onPublish(h func(c *conn, d *delivery, p *codec.Publish)) func(*rules) {
	return func(r *rules) { r.publishHooks = append(r.publishHooks, h) }
}

func onConnect(h func(c *conn, cp *codec.Connect)) func(*rules) {
	return func(r *rules) { r.connectHooks = append(r.connectHooks, h) }
}

func onSubscribe(h func(o *topics.Options)) func(*rules) {
	return func(r *rules) { r.subscribeHooks = append(r.subscribeHooks, h) }
}

func onResume(h func(s *session)) func(*rules) {
	return func(r *rules) { r.resumeHooks = append(r.resumeHooks, h) }
}

func onClose(h func(expiry uint32) uint32) func(*rules) {
	return func(r *rules) { r.closeHooks = append(r.closeHooks, h) }
}

// matchFunc is the signature of subscriptionTree.Match, given the tree being wrapped.
type matchFunc = func(t subscriptionTree, topic string, prefer func(*session) bool, out []topics.Match[*session]) []topics.Match[*session]

// onMatch wraps the subscription tree so that match answers its Match.
func onMatch(match matchFunc) func(*rules) {
	return func(r *rules) {
		r.treeWraps = append(r.treeWraps, func(t subscriptionTree) subscriptionTree { return matchWrap{t, match} })
	}
}

type matchWrap struct {
	subscriptionTree
	match matchFunc
}

func (w matchWrap) Match(topic string, prefer func(*session) bool, out []topics.Match[*session]) []topics.Match[*session] {
	return w.match(w.subscriptionTree, topic, prefer, out)
}

// onRetainedPut wraps the retained store so that put stores (or does not) through the wrapped one.
func onRetainedPut(put func(st retainedStore, m *message)) func(*rules) {
	return func(r *rules) {
		r.storeWraps = append(r.storeWraps, func(st retainedStore) retainedStore { return retainedWrap{st, put, nil} })
	}
}

// onRetainedMatch wraps the retained store so that match answers its match.
func onRetainedMatch(match func(st retainedStore, filter string, now time.Time) []*message) func(*rules) {
	return func(r *rules) {
		r.storeWraps = append(r.storeWraps, func(st retainedStore) retainedStore { return retainedWrap{st, nil, match} })
	}
}

type retainedWrap struct {
	retainedStore
	putFunc   func(st retainedStore, m *message)
	matchFunc func(st retainedStore, filter string, now time.Time) []*message
}

func (w retainedWrap) put(m *message) {
	if w.putFunc == nil {
		w.retainedStore.put(m)
		return
	}
	w.putFunc(w.retainedStore, m)
}

func (w retainedWrap) match(filter string, now time.Time) []*message {
	if w.matchFunc == nil {
		return w.retainedStore.match(filter, now)
	}
	return w.matchFunc(w.retainedStore, filter, now)
}

// both is an alter that applies a and then b, for a fault with two hooks.
func both(a, b func(*rules)) func(*rules) {
	return func(r *rules) {
		a(r)
		b(r)
	}
}

// matchBy returns a Match that tests every subscription's filter with match instead of walking
// the tree: a fault that changes the matching rule states the rule, not a second tree. A shared
// group yields one member, picked as the tree picks.
func matchBy(match func(filter, topic string) bool) matchFunc {
	return func(t subscriptionTree, topic string, prefer func(*session) bool, out []topics.Match[*session]) []topics.Match[*session] {
		picked := map[[2]string]bool{}
		for _, m := range t.All(nil) {
			switch {
			case !match(m.Filter, topic):
			case m.Group == "":
				m.Filter = "" // as Match returns a non-shared subscription
				out = append(out, m)
			case !picked[[2]string{m.Group, m.Filter}]:
				picked[[2]string{m.Group, m.Filter}] = true
				if p, ok := t.PickShared(m.Group, m.Filter, prefer); ok {
					out = append(out, p)
				}
			}
		}
		return out
	}
}

// wildcardFirst reports whether filter f starts with a wildcard level.
func wildcardFirst(f string) bool { return f != "" && (f[0] == '+' || f[0] == '#') }

// dollarBlind is topics.MatchFilter without MQTT-4.7.2-1: a filter starting with a wildcard also
// matches topic names starting with $. (That first wildcard matches any first level, so the $
// may as well be another character.)
func dollarBlind(f, topic string) bool {
	if wildcardFirst(f) && strings.HasPrefix(topic, "$") {
		topic = "_" + topic[1:]
	}
	return topics.MatchFilter(f, topic)
}

// plusMatchesMany is topics.MatchFilter with + matching one or more topic levels instead of
// exactly one.
func plusMatchesMany(f, topic string) bool {
	if wildcardFirst(f) && strings.HasPrefix(topic, "$") {
		return false // MQTT-4.7.2-1 still holds
	}
	return levelsMatch(strings.Split(f, "/"), strings.Split(topic, "/"))
}

func levelsMatch(f, t []string) bool {
	switch {
	case len(f) == 0:
		return len(t) == 0
	case f[0] == "#":
		return true
	case len(t) == 0:
		return false
	case f[0] == "+":
		for n := 1; n <= len(t); n++ {
			if levelsMatch(f[1:], t[n:]) {
				return true
			}
		}
		return false
	}
	return f[0] == t[0] && levelsMatch(f[1:], t[1:])
}

// hashSkipsParent is topics.MatchFilter where a trailing /# matches one or more levels but not
// the parent level ("a/#" does not match "a").
func hashSkipsParent(f, topic string) bool {
	parent, ok := strings.CutSuffix(f, "/#")
	return topics.MatchFilter(f, topic) && !(ok && topics.MatchFilter(parent, topic))
}

// flagRules are the codec rules about fixed-header flags.
var flagRules = map[string]bool{"reserved-flags": true, "pubrel-flags": true, "subscribe-flags": true,
	"unsubscribe-flags": true, "disconnect-flags": true, "auth-flags": true}

// decodeIgnoringFlags decodes a packet the codec rejected for its fixed-header flags as if they
// were right; any other violation still fails with err.
func decodeIgnoringFlags(o codec.Options, raw []byte, err error) (codec.Packet, error) {
	return decodeIgnoring(flagRules, o, raw, err)
}

// decodeIgnoring decodes a packet the codec rejected only for violations of the codec rules in
// ignored (by codec.Rule name) as if it were right; any other violation still fails with err.
func decodeIgnoring(ignored map[string]bool, o codec.Options, raw []byte, err error) (codec.Packet, error) {
	var ce *codec.Error
	if !errors.As(err, &ce) || !ignored[ce.Rule] {
		return nil, err
	}
	o.Lenient = true
	var viol []codec.Error
	p, _, lerr := codec.DecodeWith(o, raw, &viol)
	if lerr != nil {
		return nil, err
	}
	for _, v := range viol {
		if !ignored[v.Rule] {
			return nil, err
		}
	}
	return p, nil
}

// unchecked is the alter of a fault that leaves the named codec rules unchecked on packets after
// the handshake: a packet breaking only those is handled as if it were well formed. It chains
// with an undecodable hook set before it, so that such faults combine.
func unchecked(names ...string) func(*rules) {
	ignored := map[string]bool{}
	for _, n := range names {
		ignored[n] = true
	}
	return func(r *rules) {
		prev := r.undecodable
		r.undecodable = func(o codec.Options, raw []byte, err error) (codec.Packet, error) {
			if p, rerr := decodeIgnoring(ignored, o, raw, err); rerr == nil {
				return p, nil
			}
			if prev != nil {
				return prev(o, raw, err)
			}
			return nil, err
		}
	}
}

// unexpired drops the messages expired at now.
func unexpired(ms []*message, now time.Time) []*message {
	live := ms[:0]
	for _, m := range ms {
		if !m.expired(now) {
			live = append(live, m)
		}
	}
	return live
}
