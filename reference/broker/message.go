package broker

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/topics"
)

// message is an Application Message as the broker holds it: immutable once routed, shared by
// every subscriber and by the retained store.
type message struct {
	topic   string
	payload []byte
	qos     byte
	retain  bool
	from    string            // publisher's client identifier, for No Local
	props   *codec.Properties // v5 properties forwarded unaltered (Message Expiry is recomputed); nil when none
	expires time.Time         // zero: no Message Expiry Interval
	expiry  uint32            // the Message Expiry Interval as received
}

// expired reports whether the message's lifetime has passed at now.
func (m *message) expired(now time.Time) bool {
	return !m.expires.IsZero() && !now.Before(m.expires)
}

// remaining is the Message Expiry Interval to forward: the received value minus the time the
// message has waited, rounded up (MQTT-3.3.2-6).
func (m *message) remaining(now time.Time) uint32 {
	d := m.expires.Sub(now)
	if d <= 0 {
		return 0
	}
	return uint32(math.Ceil(d.Seconds()))
}

// newMessage copies a received PUBLISH into a message the broker owns: topic and payload in one
// allocation, properties (v5 only) deep-copied, because p may alias the connection's read buffer.
func newMessage(p *codec.Publish, topic, from string, v5 bool) *message {
	buf := make([]byte, len(topic)+len(p.Payload))
	copy(buf, topic)
	copy(buf[len(topic):], p.Payload)
	m := &message{payload: buf[len(topic):len(buf):len(buf)], qos: p.QoS, retain: p.Retain, from: from}
	if len(topic) > 0 {
		m.topic = unsafe.String(&buf[0], len(topic)) // buf is never written again
	}
	if !v5 || p.Properties.Empty() {
		return m
	}
	pr := cloneProps(&p.Properties)
	pr.Clear(codec.PropTopicAlias)
	pr.Clear(codec.PropSubscriptionID)
	if pr.Has(codec.PropMessageExpiry) {
		m.expiry = pr.MessageExpiry
		m.expires = time.Now().Add(time.Duration(m.expiry) * time.Second)
		pr.Clear(codec.PropMessageExpiry)
	}
	if !pr.Empty() {
		m.props = pr
	}
	return m
}

// cloneProps deep-copies the properties an Application Message carries.
func cloneProps(p *codec.Properties) *codec.Properties {
	c := *p
	c.ContentType = strings.Clone(p.ContentType)
	c.ResponseTopic = strings.Clone(p.ResponseTopic)
	c.CorrelationData = bytes.Clone(p.CorrelationData)
	c.SubscriptionIDs = nil
	if len(p.User) > 0 {
		c.User = make([]codec.UserProperty, len(p.User))
		for i, u := range p.User {
			c.User[i] = codec.UserProperty{Key: strings.Clone(u.Key), Value: strings.Clone(u.Value)}
		}
	}
	// The other string and binary properties cannot appear in a PUBLISH or Will Properties.
	c.AssignedClientID, c.AuthMethod, c.ResponseInfo, c.ServerReference, c.ReasonString = "", "", "", "", ""
	c.AuthData = nil
	return &c
}

// delivery is one message on its way to one session, with the QoS, RETAIN flag and
// Subscription Identifiers decided for that session.
type delivery struct {
	msg    *message
	qos    byte
	retain bool
	subIDs []uint32
	share  string // shared subscription it came through: share name…
	filter string // …and filter, to hand it to another member if this session ends
}

// retainedStore is the retained-message store as the server uses it: a *retainStore, reached
// through an interface so that rules can wrap it and alter its answers (rules.wrapRetained).
type retainedStore interface {
	// put stores a retained message as its topic's, or deletes the topic's for an empty payload.
	put(m *message)
	// match returns the retained messages whose topic matches filter and which are not expired
	// at now, in topic order.
	match(filter string, now time.Time) []*message
	// find returns every retained message whose topic keep accepts, expired ones included, in
	// topic order.
	find(keep func(topic string) bool) []*message
	// size returns the number of retained messages.
	size() int
}

// retainStore holds the last retained message per topic name.
type retainStore struct {
	mu sync.RWMutex
	m  map[string]*message
}

// put replaces the topic's retained message (MQTT-3.3.1-5); an empty payload deletes it instead
// and is not stored (MQTT-3.3.1-6/7).
func (r *retainStore) put(m *message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(m.payload) == 0 {
		delete(r.m, m.topic)
		return
	}
	r.m[m.topic] = m
}

func (r *retainStore) size() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m)
}

func (r *retainStore) find(keep func(topic string) bool) []*message {
	var out []*message
	r.mu.RLock()
	for t, m := range r.m {
		if keep(t) {
			out = append(out, m)
		}
	}
	r.mu.RUnlock()
	// A deterministic order keeps transcripts reproducible; the specification sets none.
	slices.SortFunc(out, func(a, b *message) int { return strings.Compare(a.topic, b.topic) })
	return out
}

// match deletes the expired messages it comes across: nothing may deliver them any more
// (MQTT-3.3.2-5).
func (r *retainStore) match(filter string, now time.Time) []*message {
	var out, dead []*message
	if topics.HasWildcard(filter) {
		out = r.find(func(t string) bool { return topics.MatchFilter(filter, t) })
	} else {
		r.mu.RLock()
		if m := r.m[filter]; m != nil {
			out = append(out, m)
		}
		r.mu.RUnlock()
	}
	live := out[:0]
	for _, m := range out {
		if m.expired(now) {
			dead = append(dead, m)
		} else {
			live = append(live, m)
		}
	}
	if len(dead) > 0 {
		r.mu.Lock()
		for _, m := range dead {
			if r.m[m.topic] == m {
				delete(r.m, m.topic)
			}
		}
		r.mu.Unlock()
	}
	return live
}
