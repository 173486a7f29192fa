package broker

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/topics"
	"go.yaml.in/yaml/v3"
)

// Fault is a deliberate specification violation the broker can be switched into with
// Options.Faults. Each fault is a realistic bug that changes exactly one behaviour, so that a
// conformance case covering that behaviour must fail when it is on: a case that still passes
// does not test what it claims (mutation testing of the suite).
type Fault struct {
	Name       string   // the name used in Options.Faults and --fault
	Statements []string // statements the fault breaks: 5.0 IDs, 3.1.1 IDs marked "3.1.1:", "§x.y" for a section without one
	Summary    string   // what the broker does wrong

	// Configure, when set, is the configuration under which the fault shows (a maximum QoS the
	// faulty broker ignores, a user whose password it does not check): tests, `mqttspec broker
	// --fault` and the embedded target apply it to the correct and the faulty broker alike, so
	// that the two differ in the fault only. Nil when the default configuration shows it.
	Configure func(o *Options)

	// alter adds the fault's hooks to the broker's rules (faults_rules.go): the whole of the
	// fault's behaviour, so that the handlers carry none of it.
	alter func(r *rules)
}

// Faults lists every fault the broker implements. Adding a fault is adding a row (see
// docs/faults.md) to one of the area tables it is joined from.
var Faults = slices.Concat(faults, connectFaults, sessionFaults, capabilityFaults, flowFaults)

// ConfigureFaults applies the Configure of every named fault to o (unknown names are left to
// New to report).
func ConfigureFaults(o *Options, names []string) {
	for _, n := range names {
		if i := slices.IndexFunc(Faults, func(f Fault) bool { return f.Name == n }); i >= 0 && Faults[i].Configure != nil {
			Faults[i].Configure(o)
		}
	}
}

// faults are the first faults written, on every area; newer ones go to the area tables
// (faults_connect.go, faults_session.go, faults_capability.go, faults_flow.go).
var faults = []Fault{
	{Name: "no-second-connect-check", Statements: []string{"MQTT-3.1.0-2", "3.1.1:MQTT-3.1.0-2", "MQTT-3.2.0-2"},
		Summary: "a second CONNECT on a connection is answered with another CONNACK instead of closing the connection",
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if c.sess == nil {
				return p // the handshake's CONNECT
			}
			c.enqueue(outItem{pkt: &codec.Connack{SessionPresent: true}})
			return nil
		})},
	{Name: "session-present-always-0", Statements: []string{"MQTT-3.2.2-3", "3.1.1:MQTT-3.2.2-2"},
		Summary: "CONNACK always carries Session Present 0, even when a stored session is resumed",
		alter: onSend(func(_ *conn, p *codec.Connack) codec.Packet {
			p.SessionPresent = false
			return p
		})},
	{Name: "clean-start-ignored", Statements: []string{"MQTT-3.1.2-4", "3.1.1:MQTT-3.1.2-6", "MQTT-3.1.4-4", "3.1.1:MQTT-3.1.4-3"},
		Summary: "Clean Start / Clean Session 1 resumes an existing session instead of discarding it",
		alter:   onConnect(func(_ *conn, cp *codec.Connect) { cp.CleanStart = false })},
	{Name: "assigned-client-id-missing", Statements: []string{"MQTT-3.2.2-16", "MQTT-3.1.3-7"},
		Summary: "a v5 client connecting with an empty Client Identifier gets no Assigned Client Identifier in CONNACK",
		alter: onSend(func(_ *conn, p *codec.Connack) codec.Packet {
			p.Properties.Clear(codec.PropAssignedClientID)
			return p
		})},
	{Name: "retain-empty-not-deleted", Statements: []string{"MQTT-3.3.1-6", "3.1.1:MQTT-3.3.1-10"},
		Summary: "a retained PUBLISH with an empty payload leaves the existing retained message in place",
		alter: onRetainedPut(func(st retainedStore, m *message) {
			if len(m.payload) > 0 {
				st.put(m)
			}
		})},
	{Name: "retain-flag-always-set", Statements: []string{"MQTT-3.3.1-12", "3.1.1:MQTT-3.3.1-9"},
		Summary: "messages forwarded to established subscriptions keep their RETAIN flag (Retain As Published ignored)",
		alter:   onPublish(func(_ *conn, d *delivery, p *codec.Publish) { p.Retain = d.msg.retain })},
	{Name: "retained-not-sent-on-subscribe", Statements: []string{"MQTT-3.3.1-9", "3.1.1:MQTT-3.3.1-6"},
		Summary: "a new subscription does not receive the matching retained messages",
		alter:   onRetainedMatch(func(retainedStore, string, time.Time) []*message { return nil })},
	{Name: "dup-on-first-delivery", Statements: []string{"MQTT-3.3.1-3", "MQTT-4.3.2-2", "MQTT-4.3.3-2", "3.1.1:MQTT-3.3.1-3"},
		Summary: "the first transmission of a QoS 1/2 PUBLISH to a subscriber has DUP 1",
		alter:   onPublish(func(_ *conn, _ *delivery, p *codec.Publish) { p.Dup = p.QoS > 0 })},
	{Name: "no-dup-on-redelivery", Statements: []string{"MQTT-3.3.1-1", "3.1.1:MQTT-3.3.1-1"},
		Summary: "PUBLISH packets re-sent on session resumption have DUP 0",
		alter:   onPublish(func(_ *conn, _ *delivery, p *codec.Publish) { p.Dup = false })},
	{Name: "qos-not-downgraded", Statements: []string{"MQTT-3.8.4-8", "3.1.1:MQTT-3.8.4-6"},
		Summary: "messages are delivered at the published QoS, ignoring the QoS granted to the subscription",
		alter:   onSubscribe(func(o *topics.Options) { o.QoS = 2 })},
	{Name: "suback-wrong-order", Statements: []string{"MQTT-3.9.3-1", "3.1.1:MQTT-3.9.3-1"},
		Summary: "SUBACK reason codes are in the reverse order of the topic filters",
		alter: onSend(func(_ *conn, p *codec.Suback) codec.Packet {
			slices.Reverse(p.ReasonCodes)
			return p
		})},
	{Name: "wrong-packet-id-in-puback", Statements: []string{"MQTT-2.2.1-5", "3.1.1:MQTT-2.3.1-6"},
		Summary: "PUBACK carries the packet identifier of the PUBLISH plus one",
		alter: onSend(func(_ *conn, p *codec.Puback) codec.Packet {
			p.PacketID++
			return p
		})},
	{Name: "keepalive-not-enforced", Statements: []string{"MQTT-3.1.2-22", "3.1.1:MQTT-3.1.2-24"},
		Summary: "a client silent for more than 1.5 times its keep alive is not disconnected",
		alter:   onConnect(func(c *conn, _ *codec.Connect) { c.keepAlive = 0 })},
	{Name: "keepalive-2x", Statements: []string{"MQTT-3.1.2-22", "3.1.1:MQTT-3.1.2-24"},
		Summary: "a silent client is disconnected after twice its keep alive instead of 1.5 times",
		alter:   onConnect(func(c *conn, _ *codec.Connect) { c.keepAlive = c.keepAlive * 4 / 3 })},
	{Name: "will-on-normal-disconnect", Statements: []string{"MQTT-3.14.4-3", "3.1.1:MQTT-3.14.4-3"},
		Summary: "the Will Message is published even after a normal DISCONNECT",
		alter: onReceive(func(_ *conn, p *codec.Disconnect) codec.Packet {
			if p.ReasonCode == codec.ReasonNormalDisconnection {
				p.ReasonCode = codec.ReasonDisconnectWithWill
			}
			return p
		})},
	{Name: "will-delay-ignored", Statements: []string{"MQTT-3.1.3-9", "MQTT-3.1.2-8"},
		Summary: "the Will Message is published at once, ignoring the Will Delay Interval",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.will != nil {
				c.will.delay = 0
			}
		})},
	{Name: "will-delay-doubled", Statements: []string{"MQTT-3.1.2-8"},
		Summary: "the Will Message is published after twice its Will Delay Interval",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.will != nil && c.will.delay < 1<<31 {
				c.will.delay *= 2
			}
		})},
	{Name: "will-delay-halved", Statements: []string{"MQTT-3.1.2-8"},
		Summary: "the Will Message is published after half its Will Delay Interval, before the delay has passed",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.will != nil {
				c.will.delay /= 2
			}
		})},
	{Name: "will-retain-ignored", Statements: []string{"MQTT-3.1.2-15", "3.1.1:MQTT-3.1.2-17"},
		Summary: "a Will Message with Will Retain 1 is published as a non-retained message",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.will != nil {
				c.will.msg.retain = false
			}
		})},
	{Name: "dollar-topics-match-wildcards", Statements: []string{"MQTT-4.7.2-1", "3.1.1:MQTT-4.7.2-1"},
		Summary: "filters starting with + or # match topic names starting with $",
		alter: both(onMatch(matchBy(dollarBlind)),
			onRetainedMatch(func(st retainedStore, filter string, now time.Time) []*message {
				if !wildcardFirst(filter) {
					return st.match(filter, now)
				}
				return unexpired(st.find(func(t string) bool { return dollarBlind(filter, t) }), now)
			}))},
	{Name: "no-local-ignored", Statements: []string{"MQTT-3.8.3-3"},
		Summary: "messages are delivered back to their publisher on No Local subscriptions",
		alter: onReceive(func(_ *conn, p *codec.Subscribe) codec.Packet {
			for i := range p.Subscriptions {
				p.Subscriptions[i].NoLocal = false
			}
			return p
		})},
	{Name: "topic-alias-not-resolved", Statements: []string{"MQTT-3.3.2-12"},
		Summary: "a PUBLISH with an empty topic and a known Topic Alias is acknowledged but never routed",
		alter: onReceive(func(c *conn, p *codec.Publish) codec.Packet {
			if c.v == codec.V5 && p.Topic == "" && p.Properties.Has(codec.PropTopicAlias) {
				if _, known := c.aliasMap()[p.Properties.TopicAlias]; known {
					p.Properties.Clear(codec.PropTopicAlias) // still acknowledged, but with no topic to route to
				}
			}
			return p
		})},
	{Name: "receive-max-ignored", Statements: []string{"MQTT-3.3.4-9", "MQTT-4.9.0-2"},
		Summary: "the broker sends more unacknowledged QoS 1/2 PUBLISH packets than the client's Receive Maximum",
		alter:   onConnect(func(c *conn, _ *codec.Connect) { c.recvMax = 65535 })},
	{Name: "max-packet-size-ignored", Statements: []string{"MQTT-3.1.2-24", "MQTT-3.1.2-25"},
		Summary: "the broker sends packets larger than the client's Maximum Packet Size",
		alter:   onConnect(func(c *conn, _ *codec.Connect) { c.maxOut = 0 })},
	{Name: "message-expiry-not-decremented", Statements: []string{"MQTT-3.3.2-6"},
		Summary: "forwarded messages carry the Message Expiry Interval as received, not minus the time waited",
		alter: onPublish(func(_ *conn, d *delivery, p *codec.Publish) {
			if !d.msg.expires.IsZero() {
				p.Properties.SetMessageExpiry(d.msg.expiry)
			}
		})},
	{Name: "expired-message-delivered", Statements: []string{"MQTT-3.3.2-5"},
		Summary: "queued and retained messages are delivered after their Message Expiry Interval has passed",
		alter: both(func(r *rules) { r.keepExpired = true },
			onRetainedMatch(func(st retainedStore, filter string, _ time.Time) []*message {
				return st.find(func(t string) bool { return topics.MatchFilter(filter, t) })
			}))},
	{Name: "message-expiry-doubled", Statements: []string{"MQTT-3.3.2-5"},
		Summary: "queued and retained messages expire after twice their Message Expiry Interval (the forwarded interval is right)",
		// The broker keeps the message for twice the interval received, and forwards what a
		// correct broker would: the received interval less the time waited (at least 1).
		alter: both(onReceive(func(_ *conn, p *codec.Publish) codec.Packet {
			if p.Properties.Has(codec.PropMessageExpiry) && p.Properties.MessageExpiry < 1<<31 {
				p.Properties.SetMessageExpiry(2 * p.Properties.MessageExpiry)
			}
			return p
		}), onPublish(func(_ *conn, d *delivery, p *codec.Publish) {
			if !d.msg.expires.IsZero() {
				left := time.Until(d.msg.expires) - time.Duration(d.msg.expiry/2)*time.Second
				p.Properties.SetMessageExpiry(uint32(max(1, math.Ceil(left.Seconds()))))
			}
		}))},
	{Name: "user-properties-reordered", Statements: []string{"MQTT-3.3.2-18", "MQTT-3.3.2-17"},
		Summary: "User Properties of forwarded messages are sent in reverse order",
		alter: onPublish(func(_ *conn, _ *delivery, p *codec.Publish) {
			// A reversed copy: the message's own properties are shared by every subscriber.
			p.Properties.User = slices.Clone(p.Properties.User)
			slices.Reverse(p.Properties.User)
		})},
	{Name: "subscription-id-dropped", Statements: []string{"MQTT-3.3.4-3"},
		Summary: "forwarded messages carry no Subscription Identifier",
		alter:   onPublish(func(_ *conn, _ *delivery, p *codec.Publish) { p.Properties.Clear(codec.PropSubscriptionID) })},
	{Name: "shared-sub-delivers-to-all", Statements: []string{"§4.8.2"},
		Summary: "each message matching a shared subscription goes to every member of the group instead of one",
		alter: onMatch(func(t subscriptionTree, topic string, prefer func(*session) bool, out []topics.Match[*session]) []topics.Match[*session] {
			n := len(out)
			out = t.Match(topic, prefer, out)
			groups := map[[2]string]bool{}
			kept := out[:n]
			for _, m := range out[n:] {
				if m.Group == "" {
					kept = append(kept, m)
				} else {
					groups[[2]string{m.Group, m.Filter}] = true
				}
			}
			if len(groups) == 0 {
				return kept
			}
			for _, m := range t.All(nil) {
				if groups[[2]string{m.Group, m.Filter}] {
					kept = append(kept, m)
				}
			}
			return kept
		})},
	{Name: "reserved-flags-accepted", Statements: []string{"MQTT-2.1.3-1", "MQTT-3.6.1-1", "MQTT-3.8.1-1", "MQTT-3.10.1-1", "3.1.1:MQTT-2.2.2-2",
		"3.1.1:MQTT-2.2.2-1", "3.1.1:MQTT-3.6.1-1", "3.1.1:MQTT-3.8.1-1", "3.1.1:MQTT-3.10.1-1"},
		Summary: "packets whose fixed-header flags differ from the required values are processed as if they were right",
		alter:   func(r *rules) { r.undecodable = decodeIgnoringFlags }},
	{Name: "unsubscribe-no-unsuback", Statements: []string{"MQTT-3.10.4-4", "MQTT-3.10.4-5", "3.1.1:MQTT-3.10.4-4"},
		Summary: "UNSUBSCRIBE is processed but never acknowledged",
		alter:   onSend(func(*conn, *codec.Unsuback) codec.Packet { return nil })},
	{Name: "pingreq-ignored", Statements: []string{"MQTT-3.12.4-1", "3.1.1:MQTT-3.12.4-1"},
		Summary: "PINGREQ is accepted (it resets keep alive) but no PINGRESP is sent",
		alter:   onReceive(func(*conn, *codec.Pingreq) codec.Packet { return nil })},
	{Name: "qos2-duplicate-delivery", Statements: []string{"MQTT-4.3.3-10", "3.1.1:MQTT-4.3.3-2"},
		Summary: "a QoS 2 PUBLISH re-sent before PUBREL is delivered to subscribers a second time",
		alter: onReceive(func(c *conn, p *codec.Publish) codec.Packet {
			if p.QoS == 2 {
				// Forget the identifier: the re-sent PUBLISH is taken for a new one.
				c.sess.mu.Lock()
				delete(c.sess.inQoS2, p.PacketID)
				c.sess.mu.Unlock()
			}
			return p
		})},
	{Name: "plus-matches-many-levels", Statements: []string{"MQTT-3.3.2-3", "3.1.1:MQTT-3.3.2-3", "§4.7.1"},
		Summary: "a + in a filter matches one or more topic levels, like # (\"a/+\" matches \"a/b/c\")",
		alter:   onMatch(matchBy(plusMatchesMany))},
	{Name: "hash-skips-parent-level", Statements: []string{"§4.7.1"},
		Summary: "a filter ending in /# does not match its parent level (\"a/#\" does not match \"a\")",
		alter:   onMatch(matchBy(hashSkipsParent))},
	{Name: "granted-qos-above-requested", Statements: []string{"MQTT-3.8.4-7", "MQTT-3.8.4-8", "3.1.1:MQTT-3.8.4-5", "3.1.1:MQTT-3.8.4-6"},
		Summary: "SUBACK grants the server's maximum QoS whatever the client requested, and messages go out at that QoS",
		alter: onReceive(func(_ *conn, p *codec.Subscribe) codec.Packet {
			for i := range p.Subscriptions {
				p.Subscriptions[i].QoS = 2
			}
			return p
		})},
	{Name: "wrong-packet-id-in-pubrec", Statements: []string{"MQTT-2.2.1-5", "3.1.1:MQTT-2.3.1-6", "MQTT-4.3.3-8"},
		Summary: "PUBREC carries the packet identifier of the QoS 2 PUBLISH plus one",
		alter: onSend(func(_ *conn, p *codec.Pubrec) codec.Packet {
			p.PacketID++
			return p
		})},
	{Name: "overlapping-lowest-qos", Statements: []string{"MQTT-3.3.4-2", "3.1.1:MQTT-3.3.5-1"},
		Summary: "a message matching overlapping subscriptions of one client goes out once at the lowest QoS among them, not the highest",
		alter: onMatch(func(t subscriptionTree, topic string, prefer func(*session) bool, out []topics.Match[*session]) []topics.Match[*session] {
			// Each subscriber's overlapping subscriptions all take the lowest QoS among them, so
			// the highest the broker picks is that one.
			n := len(out)
			out = t.Match(topic, prefer, out)
			lowest := map[*session]byte{}
			for _, m := range out[n:] {
				if q, seen := lowest[m.Key]; m.Group == "" && (!seen || m.Options.QoS < q) {
					lowest[m.Key] = m.Options.QoS
				}
			}
			for i := n; i < len(out); i++ {
				if out[i].Group == "" {
					out[i].Options.QoS = lowest[out[i].Key]
				}
			}
			return out
		})},
	{Name: "unsubscribe-keeps-subscription", Statements: []string{"MQTT-3.10.4-1", "MQTT-3.10.4-2", "3.1.1:MQTT-3.10.4-1", "3.1.1:MQTT-3.10.4-2"},
		Summary: "UNSUBSCRIBE is acknowledged as if the subscription were deleted, but messages keep being delivered for it",
		alter: onReceive(func(c *conn, p *codec.Unsubscribe) codec.Packet {
			// Acknowledged as onUnsubscribe would, but nothing is deleted.
			ack := &codec.Unsuback{PacketID: p.PacketID}
			if c.v == codec.V5 {
				s := c.sess
				s.mu.Lock()
				for _, f := range p.Filters {
					rc := codec.ReasonSuccess
					if _, ok := s.subs[f]; !ok || s.ended {
						rc = codec.ReasonNoSubscriptionExisted
					}
					ack.ReasonCodes = append(ack.ReasonCodes, rc)
				}
				s.mu.Unlock()
			}
			c.enqueue(outItem{pkt: ack})
			return nil
		})},
	{Name: "retained-sent-without-retain", Statements: []string{"MQTT-3.3.1-9", "3.1.1:MQTT-3.3.1-8"},
		Summary: "retained messages sent because of a new subscription carry RETAIN 0",
		alter: onRetainedMatch(func(st retainedStore, filter string, now time.Time) []*message {
			ms := st.match(filter, now)
			for i, m := range ms {
				cp := *m
				cp.retain = false
				ms[i] = &cp
			}
			return ms
		})},
	{Name: "retained-exact-match-only", Statements: []string{"MQTT-3.3.1-9", "3.1.1:MQTT-3.3.1-6"},
		Summary: "retained messages are sent only to subscriptions whose filter has no wildcard and equals the topic",
		alter: onRetainedMatch(func(st retainedStore, filter string, now time.Time) []*message {
			if topics.HasWildcard(filter) {
				return nil
			}
			return st.match(filter, now)
		})},
	{Name: "retain-handling-ignored", Statements: []string{"MQTT-3.3.1-10", "MQTT-3.3.1-11"},
		Summary: "every subscription is treated as Retain Handling 0: retained messages are sent even for Retain Handling 1 on an existing subscription and for 2",
		alter: onReceive(func(_ *conn, p *codec.Subscribe) codec.Packet {
			for i := range p.Subscriptions {
				p.Subscriptions[i].RetainHandling = 0
			}
			return p
		})},
	{Name: "session-expiry-ignored", Statements: []string{"MQTT-4.1.0-2", "MQTT-3.1.2-23"},
		Summary: "a v5 session with a non-zero Session Expiry Interval never expires",
		alter: onClose(func(expiry uint32) uint32 {
			if expiry != 0 {
				return 0xFFFFFFFF
			}
			return expiry
		})},
	{Name: "session-expiry-halved", Statements: []string{"MQTT-3.1.2-23", "MQTT-4.1.0-2"},
		Summary: "a v5 session is discarded after half its Session Expiry Interval, before the interval has passed",
		alter: onClose(func(expiry uint32) uint32 {
			if expiry != 0xFFFFFFFF {
				return expiry / 2
			}
			return expiry
		})},
	{Name: "session-expiry-doubled", Statements: []string{"MQTT-4.1.0-2"},
		Summary: "a v5 session is discarded after twice its Session Expiry Interval",
		alter: onClose(func(expiry uint32) uint32 {
			if expiry < 1<<31 { // 0 stays 0; 0xFFFFFFFF (never) stays never
				return 2 * expiry
			}
			return expiry
		})},
	{Name: "no-local-drops-all", Statements: []string{"MQTT-3.8.3-3"},
		Summary: "a No Local subscription receives no messages at all, not only none of its own",
		alter: onMatch(func(t subscriptionTree, topic string, prefer func(*session) bool, out []topics.Match[*session]) []topics.Match[*session] {
			n := len(out)
			out = t.Match(topic, prefer, out)
			kept := out[:n]
			for _, m := range out[n:] {
				if !m.Options.NoLocal {
					kept = append(kept, m)
				}
			}
			return kept
		})},
	{Name: "will-qos-ignored", Statements: []string{"§3.1.2.6"},
		Summary: "the Will Message is published at QoS 0 whatever the Will QoS",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.will != nil {
				c.will.msg.qos = 0
			}
		})},
	{Name: "pubrel-not-resent", Statements: []string{"MQTT-4.4.0-1", "3.1.1:MQTT-4.4.0-1", "MQTT-4.3.3-5"},
		Summary: "on session resumption, PUBRELs of QoS 2 deliveries waiting for PUBCOMP are not re-sent",
		alter:   func(r *rules) { r.resendIf = func(f *flight) bool { return f.state != awaitComp } }},
	{Name: "inflight-not-resent", Statements: []string{"MQTT-4.4.0-1", "3.1.1:MQTT-4.4.0-1", "MQTT-4.3.2-3", "MQTT-4.3.3-3"},
		Summary: "on session resumption, unacknowledged QoS 1/2 PUBLISH packets are dropped instead of re-sent",
		alter: onResume(func(s *session) {
			for _, f := range slices.Clone(s.order) {
				if !f.done && f.state == awaitAck {
					s.removeFlightLocked(f)
				}
			}
		})},
	{Name: "queue-lifo", Statements: []string{"MQTT-4.6.0-5", "MQTT-4.6.0-6", "3.1.1:MQTT-4.6.0-6", "3.1.1:MQTT-4.6.0-5"},
		Summary: "messages queued for a session (offline or beyond the in-flight window) are sent newest first",
		alter: func(r *rules) {
			r.queueHooks = append(r.queueHooks, func(pending []delivery) {
				// The message just appended moves to the front.
				last := pending[len(pending)-1]
				copy(pending[1:], pending[:len(pending)-1])
				pending[0] = last
			})
		}},
	{Name: "empty-id-persistent-accepted", Statements: []string{"3.1.1:MQTT-3.1.3-8"},
		Summary: "a 3.1.1 CONNECT with an empty Client Identifier and Clean Session 0 is accepted with an assigned identifier",
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if c.sess == nil && c.v == codec.V311 && p.ClientID == "" && !p.CleanStart {
				p.ClientID = c.srv.assignClientID()
			}
			return p
		})},
	{Name: "correlation-data-dropped", Statements: []string{"MQTT-3.3.2-16"},
		Summary: "forwarded messages lose their Correlation Data",
		alter:   onPublish(func(_ *conn, _ *delivery, p *codec.Publish) { p.Properties.Clear(codec.PropCorrelationData) })},
	{Name: "packet-ids-restart-per-connection", Statements: []string{"MQTT-2.2.1-4", "3.1.1:MQTT-2.3.1-4"},
		Summary: "outbound packet identifiers restart at 1 on every connection without skipping those still in flight from a resumed session",
		alter: both(onResume(func(s *session) { s.lastID = 0 }),
			func(r *rules) {
				r.nextID = func(s *session) uint16 {
					s.lastID++ // in-flight identifiers not skipped
					if s.lastID == 0 {
						s.lastID = 1
					}
					return s.lastID
				}
			})},
	{Name: "session-kept-without-expiry", Statements: []string{"MQTT-4.1.0-2", "3.1.1:MQTT-3.1.2-6"},
		Summary: "a session with Session Expiry Interval 0 (3.1.1: Clean Session 1) outlives its connection and is resumed by a later Clean Start 0",
		alter: onClose(func(expiry uint32) uint32 {
			if expiry == 0 {
				return 0xFFFFFFFF
			}
			return expiry
		})},
	{Name: "disconnect-session-expiry-ignored", Statements: []string{"MQTT-4.1.0-2", "MQTT-3.1.2-23"},
		Summary: "a Session Expiry Interval in the client's DISCONNECT is ignored; the CONNECT's value stays in force",
		alter: onReceive(func(c *conn, p *codec.Disconnect) codec.Packet {
			if c.sessExpiry != 0 {
				// Ignored rather than refused: a change from 0 still gets its Protocol Error.
				p.Properties.Clear(codec.PropSessionExpiry)
			}
			return p
		})},
	{Name: "topic-alias-kept-across-connections", Statements: []string{"MQTT-3.3.2-7"},
		Summary: "Topic Alias mappings a client set are kept in its session and resolved on its next network connection",
		alter: func(r *rules) {
			// The client's aliases by session; they live as long as the broker.
			var mu sync.Mutex
			kept := map[*session]map[uint16]string{}
			onReceive(func(c *conn, p *codec.Publish) codec.Packet {
				if c.v != codec.V5 || !p.Properties.Has(codec.PropTopicAlias) {
					return p
				}
				mu.Lock()
				defer mu.Unlock()
				aliases := kept[c.sess]
				if aliases == nil {
					aliases = make(map[uint16]string)
					kept[c.sess] = aliases
				}
				if p.Topic != "" {
					aliases[p.Properties.TopicAlias] = strings.Clone(p.Topic) // p aliases the read buffer
				} else if t, ok := aliases[p.Properties.TopicAlias]; ok {
					p.Topic = t
				}
				return p
			})(r)
		}},
	{Name: "utf8-unchecked", Statements: []string{"MQTT-1.5.4-1", "3.1.1:MQTT-1.5.3-1", "MQTT-3.3.2-1", "3.1.1:MQTT-3.3.2-1",
		"MQTT-3.3.2-13", "MQTT-3.3.2-19", "MQTT-1.5.7-1", "MQTT-4.13.1-1", "3.1.1:MQTT-4.8.0-1"},
		Summary: "ill-formed UTF-8 (or an encoded surrogate) in a string after CONNECT is accepted instead of closing the connection",
		alter:   unchecked("utf8-invalid")},
	{Name: "utf8-null-accepted", Statements: []string{"MQTT-1.5.4-2", "3.1.1:MQTT-1.5.3-2", "MQTT-4.7.3-2", "3.1.1:MQTT-4.7.3-2"},
		Summary: "a U+0000 character in a topic name or filter is accepted instead of closing the connection",
		alter:   unchecked("utf8-null")},
	{Name: "wildcard-topic-name-accepted", Statements: []string{"MQTT-3.3.2-2", "3.1.1:MQTT-3.3.2-2", "MQTT-4.7.0-1", "3.1.1:MQTT-4.7.1-1", "3.1.1:MQTT-4.8.0-1"},
		Summary: "a PUBLISH whose topic name contains + or # is accepted instead of closing the connection",
		alter:   unchecked("topic-name-wildcard")},
	{Name: "empty-topic-accepted", Statements: []string{"MQTT-4.7.3-1", "3.1.1:MQTT-4.7.3-1"},
		Summary: "a zero-length topic name or topic filter (without a Topic Alias) is accepted",
		alter:   unchecked("topic-empty", "topic-empty-no-alias")},
	{Name: "misplaced-hash-accepted", Statements: []string{"MQTT-4.7.1-1", "3.1.1:MQTT-4.7.1-2"},
		Summary: "a topic filter with # not alone in the last level (\"a/#/b\", \"a#\") is accepted",
		alter:   unchecked("filter-hash")},
	{Name: "partial-plus-accepted", Statements: []string{"MQTT-4.7.1-2", "3.1.1:MQTT-4.7.1-3"},
		Summary: "a topic filter with + sharing a level with other characters (\"a+/b\") is accepted",
		alter:   unchecked("filter-plus")},
	{Name: "subscribe-without-filters-accepted", Statements: []string{"MQTT-3.8.3-2", "3.1.1:MQTT-3.8.3-3"},
		Summary: "a SUBSCRIBE with no topic filter is answered with an empty SUBACK instead of closing the connection",
		alter:   unchecked("subscribe-empty")},
	{Name: "unsubscribe-without-filters-accepted", Statements: []string{"MQTT-3.10.3-2", "3.1.1:MQTT-3.10.3-2"},
		Summary: "an UNSUBSCRIBE with no topic filter is answered with an empty UNSUBACK instead of closing the connection",
		alter:   unchecked("unsubscribe-empty")},
	{Name: "subscription-options-unchecked", Statements: []string{"MQTT-3.8.3-5", "3.1.1:MQTT-3.8.3-4"},
		Summary: "reserved bits of the subscription options, and a requested QoS of 3, are ignored instead of closing the connection",
		alter:   unchecked("subscribe-options-reserved", "subscribe-qos3")},
	{Name: "no-local-on-shared-accepted", Statements: []string{"MQTT-3.8.3-4"},
		Summary: "No Local 1 on a shared subscription is accepted instead of being a Protocol Error",
		alter:   unchecked("shared-no-local")},
	{Name: "publish-qos3-accepted", Statements: []string{"MQTT-3.3.1-4", "3.1.1:MQTT-3.3.1-4"},
		Summary: "a PUBLISH with both QoS bits set is handled instead of closing the connection",
		alter:   unchecked("publish-qos3")},
	{Name: "topic-alias-zero-accepted", Statements: []string{"MQTT-3.3.2-8"},
		Summary: "a PUBLISH with Topic Alias 0 is accepted instead of closing the connection",
		alter:   unchecked("topic-alias-zero")},
	{Name: "response-topic-wildcard-accepted", Statements: []string{"MQTT-3.3.2-14"},
		Summary: "a PUBLISH whose Response Topic contains a wildcard is accepted",
		alter:   unchecked("response-topic-wildcard")},
	{Name: "share-name-unchecked", Statements: []string{"MQTT-4.8.2-1", "MQTT-4.8.2-2"},
		Summary: "a $share/ filter with an empty or wildcard share name, or no filter after it, is accepted",
		alter:   unchecked("shared-filter-invalid", "shared-name-empty")},
	{Name: "disconnect-flags-unchecked", Statements: []string{"MQTT-3.14.1-1", "3.1.1:MQTT-3.14.1-1"},
		Summary: "a DISCONNECT with non-zero fixed-header flags is taken for a normal disconnection (the will is discarded)",
		alter:   unchecked("disconnect-flags")},
	{Name: "auth-flags-unchecked", Statements: []string{"MQTT-3.15.1-1"},
		Summary: "an AUTH with non-zero fixed-header flags is processed instead of closing the connection",
		alter:   unchecked("auth-flags")},
	{Name: "will-not-stored", Statements: []string{"MQTT-3.1.2-8", "3.1.1:MQTT-3.1.2-8", "MQTT-3.1.2-7"},
		Summary: "the Will Message of a CONNECT is accepted but not stored, so it is never published",
		alter:   onConnect(func(c *conn, _ *codec.Connect) { c.will = nil })},
	{Name: "will-retain-0-retained", Statements: []string{"MQTT-3.1.2-14", "3.1.1:MQTT-3.1.2-16"},
		Summary: "a Will Message with Will Retain 0 is published as a retained message",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.will != nil {
				c.will.msg.retain = true
			}
		})},
	{Name: "will-kept-for-next-connection", Statements: []string{"MQTT-3.1.2-10", "3.1.1:MQTT-3.1.2-10", "3.1.1:MQTT-3.1.2-12"},
		Summary: "a client's Will Message outlives its connection: a later connection of the same client without a will gets the old one",
		alter: func(r *rules) {
			var mu sync.Mutex
			wills := map[string]will{} // the last will each client identifier connected with
			onConnect(func(c *conn, _ *codec.Connect) {
				mu.Lock()
				defer mu.Unlock()
				if c.will != nil {
					wills[c.clientID] = *c.will
				} else if w, ok := wills[c.clientID]; ok {
					c.will = &w
				}
			})(r)
		}},
	{Name: "retain-0-stored", Statements: []string{"MQTT-3.3.1-8", "3.1.1:MQTT-3.3.1-12"},
		Summary: "a PUBLISH with RETAIN 0 is stored as the topic's retained message (an empty one deletes it)",
		alter: onReceive(func(_ *conn, p *codec.Publish) codec.Packet {
			p.Retain = true
			return p
		})},
	{Name: "retained-not-replaced", Statements: []string{"MQTT-3.3.1-5", "3.1.1:MQTT-3.3.1-5"},
		Summary: "a retained message does not replace the one already retained for its topic (the first one stays)",
		alter: onRetainedPut(func(st retainedStore, m *message) {
			if len(m.payload) > 0 && len(st.find(func(t string) bool { return t == m.topic })) > 0 {
				return
			}
			st.put(m)
		})},
	{Name: "retained-qos0-not-replacing", Statements: []string{"3.1.1:MQTT-3.3.1-7", "MQTT-3.3.1-5"},
		Summary: "a retained QoS 0 message does not replace a retained QoS 1 or 2 message on its topic",
		alter: onRetainedPut(func(st retainedStore, m *message) {
			if len(m.payload) > 0 && m.qos == 0 {
				for _, old := range st.find(func(t string) bool { return t == m.topic }) {
					if old.qos > 0 {
						return
					}
				}
			}
			st.put(m)
		})},
	{Name: "retain-as-published-ignored", Statements: []string{"MQTT-3.3.1-13"},
		Summary: "Retain As Published is ignored: messages forwarded to such subscriptions always have RETAIN 0",
		alter:   onSubscribe(func(o *topics.Options) { o.RetainAsPublished = false })},
	{Name: "payload-format-dropped", Statements: []string{"MQTT-3.3.2-4"},
		Summary: "forwarded messages lose their Payload Format Indicator",
		alter:   onPublish(func(_ *conn, _ *delivery, p *codec.Publish) { p.Properties.Clear(codec.PropPayloadFormat) })},
	{Name: "content-type-dropped", Statements: []string{"MQTT-3.3.2-20"},
		Summary: "forwarded messages lose their Content Type",
		alter:   onPublish(func(_ *conn, _ *delivery, p *codec.Publish) { p.Properties.Clear(codec.PropContentType) })},
	{Name: "response-topic-dropped", Statements: []string{"MQTT-3.3.2-15"},
		Summary: "forwarded messages lose their Response Topic",
		alter:   onPublish(func(_ *conn, _ *delivery, p *codec.Publish) { p.Properties.Clear(codec.PropResponseTopic) })},
	{Name: "wrong-packet-id-in-suback", Statements: []string{"MQTT-2.2.1-6", "3.1.1:MQTT-2.3.1-7", "MQTT-3.8.4-2", "3.1.1:MQTT-3.8.4-2"},
		Summary: "SUBACK carries the packet identifier of the SUBSCRIBE plus one",
		alter: onSend(func(_ *conn, p *codec.Suback) codec.Packet {
			p.PacketID++
			return p
		})},
	{Name: "wrong-packet-id-in-unsuback", Statements: []string{"MQTT-2.2.1-6", "3.1.1:MQTT-2.3.1-7", "3.1.1:MQTT-3.10.4-5"},
		Summary: "UNSUBACK carries the packet identifier of the UNSUBSCRIBE plus one",
		alter: onSend(func(_ *conn, p *codec.Unsuback) codec.Packet {
			p.PacketID++
			return p
		})},
	{Name: "subscribe-no-suback", Statements: []string{"MQTT-3.8.4-1", "3.1.1:MQTT-3.8.4-1"},
		Summary: "SUBSCRIBE is processed but never acknowledged",
		alter:   onSend(func(*conn, *codec.Suback) codec.Packet { return nil })},
	{Name: "refused-connack-session-present", Statements: []string{"MQTT-3.2.2-6", "3.1.1:MQTT-3.2.2-4"},
		Summary: "a CONNACK refusing the connection carries Session Present 1 when the client has a stored session",
		alter: onSend(func(_ *conn, p *codec.Connack) codec.Packet {
			if p.ReasonCode != 0 {
				p.SessionPresent = true
			}
			return p
		})},
	{Name: "dup-set-when-downgraded-to-qos0", Statements: []string{"MQTT-3.3.1-2", "3.1.1:MQTT-3.3.1-2"},
		Summary: "a message published at QoS 1 or 2 and delivered at QoS 0 (downgraded) goes out with DUP 1",
		alter: onPublish(func(_ *conn, d *delivery, p *codec.Publish) {
			if p.QoS == 0 && d.msg.qos > 0 {
				p.Dup = true
			}
		})},
	{Name: "subscription-ids-first-only", Statements: []string{"MQTT-3.3.4-4"},
		Summary: "a message matching several subscriptions of a client carries only the first one's Subscription Identifier",
		alter: onPublish(func(_ *conn, _ *delivery, p *codec.Publish) {
			if len(p.Properties.SubscriptionIDs) > 1 {
				p.Properties.SubscriptionIDs = p.Properties.SubscriptionIDs[:1]
			}
		})},
	{Name: "response-information-unrequested", Statements: []string{"MQTT-3.1.2-28"},
		Summary: "CONNACK carries Response Information even when the client did not request it",
		alter: onSend(func(c *conn, p *codec.Connack) codec.Packet {
			if c.v == codec.V5 && p.ReasonCode == 0 && !p.Properties.Has(codec.PropResponseInfo) {
				p.Properties.SetResponseInfo("response/" + c.clientID)
			}
			return p
		})},
	{Name: "topic-alias-maximum-exceeded", Statements: []string{"MQTT-3.1.2-26", "MQTT-3.1.2-27", "MQTT-3.3.2-11"},
		Summary: "the broker uses one Topic Alias more than the client's Topic Alias Maximum (one when the client allowed none)",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.v == codec.V5 && c.aliasMaxOut < 65535 {
				c.aliasMaxOut++
			}
		})},
	{Name: "session-present-always-1", Statements: []string{"MQTT-3.2.2-2", "MQTT-3.2.2-3", "3.1.1:MQTT-3.2.2-1", "3.1.1:MQTT-3.2.2-3"},
		Summary: "CONNACK accepting a connection always carries Session Present 1, even for a new session",
		alter: onSend(func(_ *conn, p *codec.Connack) codec.Packet {
			if p.ReasonCode == 0 {
				p.SessionPresent = true
			}
			return p
		})},
	{Name: "empty-client-ids-share-one", Statements: []string{"3.1.1:MQTT-3.1.3-6"},
		Summary: "every 3.1.1 client connecting with an empty ClientId (Clean Session 1) is given the same one, so each takes the previous one over",
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if c.sess == nil && c.v == codec.V311 && p.ClientID == "" && p.CleanStart {
				p.ClientID = "anonymous"
			}
			return p
		})},
	{Name: "resubscribe-keeps-old-qos", Statements: []string{"MQTT-3.8.4-3", "3.1.1:MQTT-3.8.4-3"},
		Summary: "subscribing again to an existing filter keeps the subscription's old maximum QoS instead of replacing it",
		alter: onReceive(func(c *conn, p *codec.Subscribe) codec.Packet {
			c.sess.mu.Lock()
			defer c.sess.mu.Unlock()
			for i, sub := range p.Subscriptions {
				if old, ok := c.sess.subs[sub.Filter]; ok {
					p.Subscriptions[i].QoS = old.opts.QoS
				}
			}
			return p
		})},
	{Name: "resubscribe-no-retained", Statements: []string{"MQTT-3.8.4-4"},
		Summary: "subscribing again to an existing filter does not resend the matching retained messages (as if Retain Handling were 1)",
		alter: onReceive(func(c *conn, p *codec.Subscribe) codec.Packet {
			c.sess.mu.Lock()
			defer c.sess.mu.Unlock()
			for i, sub := range p.Subscriptions {
				if _, ok := c.sess.subs[sub.Filter]; ok && sub.RetainHandling == 0 {
					p.Subscriptions[i].RetainHandling = 1
				}
			}
			return p
		})},
	{Name: "topic-matching-case-insensitive", Statements: []string{"MQTT-4.7.3-4", "3.1.1:MQTT-4.7.3-4", "3.1.1:MQTT-3.3.2-3"},
		Summary: "topic filters match topic names ignoring case (\"a/B\" matches \"a/b\")",
		alter: onMatch(matchBy(func(f, topic string) bool {
			return topics.MatchFilter(strings.ToLower(f), strings.ToLower(topic))
		}))},
	{Name: "topic-bom-stripped", Statements: []string{"MQTT-1.5.4-3", "3.1.1:MQTT-1.5.3-3"},
		Summary: "a U+FEFF (byte order mark) starting a level of a received topic name is stripped",
		alter: onReceive(func(_ *conn, p *codec.Publish) codec.Packet {
			p.Topic = strings.ReplaceAll(strings.TrimPrefix(p.Topic, "\uFEFF"), "/\uFEFF", "/")
			return p
		})},
	{Name: "long-topic-dropped", Statements: []string{"MQTT-4.7.3-3", "3.1.1:MQTT-4.7.3-3"},
		Summary: "a PUBLISH whose topic name is longer than 32767 bytes is silently dropped",
		alter: onReceive(func(_ *conn, p *codec.Publish) codec.Packet {
			if len(p.Topic) > 32767 {
				return nil
			}
			return p
		})},
	{Name: "offline-sessions-skipped", Statements: []string{"MQTT-4.5.0-1", "3.1.1:MQTT-4.5.0-1", "3.1.1:MQTT-3.1.2-5"},
		Summary: "messages are not queued for a stored session whose client is disconnected",
		alter: onMatch(func(t subscriptionTree, topic string, prefer func(*session) bool, out []topics.Match[*session]) []topics.Match[*session] {
			n := len(out)
			out = t.Match(topic, prefer, out)
			kept := out[:n]
			for _, m := range out[n:] {
				if m.Group != "" || m.Key.online.Load() {
					kept = append(kept, m)
				}
			}
			return kept
		})},
	{Name: "takeover-disconnect-normal", Statements: []string{"MQTT-3.1.4-3"},
		Summary: "a connection taken over by another with the same Client Identifier gets DISCONNECT 0x00 instead of 0x8E",
		alter: onSend(func(_ *conn, p *codec.Disconnect) codec.Packet {
			if p.ReasonCode == codec.ReasonSessionTakenOver {
				p.ReasonCode = codec.ReasonNormalDisconnection
			}
			return p
		})},
	{Name: "takeover-disconnect-session-expiry", Statements: []string{"MQTT-3.14.2-2"},
		Summary: "the DISCONNECT sent to a connection taken over carries a Session Expiry Interval",
		alter: onSend(func(_ *conn, p *codec.Disconnect) codec.Packet {
			if p.ReasonCode == codec.ReasonSessionTakenOver {
				p.Properties.SetSessionExpiry(0)
			}
			return p
		})},
	{Name: "unsuback-first-reason-only", Statements: []string{"MQTT-3.11.3-1", "MQTT-3.10.4-6"},
		Summary: "an UNSUBACK for several topic filters carries only the first filter's reason code",
		alter: onSend(func(_ *conn, p *codec.Unsuback) codec.Packet {
			if len(p.ReasonCodes) > 1 {
				p.ReasonCodes = p.ReasonCodes[:1]
			}
			return p
		})},
	{Name: "suback-first-reason-only", Statements: []string{"MQTT-3.8.4-6", "3.1.1:MQTT-3.8.4-5", "MQTT-3.8.4-5", "3.1.1:MQTT-3.8.4-4"},
		Summary: "a SUBACK for several topic filters carries only the first filter's reason code",
		alter: onSend(func(_ *conn, p *codec.Suback) codec.Packet {
			if len(p.ReasonCodes) > 1 {
				p.ReasonCodes = p.ReasonCodes[:1]
			}
			return p
		})},
	{Name: "will-properties-dropped", Statements: []string{"MQTT-3.1.3-10"},
		Summary: "the Will Message is published without the properties given in the CONNECT's Will Properties",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.will != nil {
				c.will.msg.props = nil
			}
		})},
	{Name: "qos1-not-acknowledged", Statements: []string{"MQTT-3.3.4-1", "3.1.1:MQTT-3.3.4-1", "MQTT-4.3.2-4", "3.1.1:MQTT-4.3.2-2"},
		Summary: "a QoS 1 PUBLISH is delivered but never acknowledged with PUBACK",
		alter:   onSend(func(*conn, *codec.Puback) codec.Packet { return nil })},
	{Name: "problem-info-0-ignored", Statements: []string{"MQTT-3.1.2-29"},
		Summary: "Request Problem Information 0 is ignored: PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK and AUTH still carry Reason Strings and User Properties",
		alter:   onConnect(func(c *conn, _ *codec.Connect) { c.problemInfo = true })},
	{Name: "diagnostics-exceed-maximum-packet-size", Statements: []string{"MQTT-3.2.2-19", "MQTT-3.2.2-20",
		"MQTT-3.4.2-2", "MQTT-3.4.2-3", "MQTT-3.5.2-2", "MQTT-3.5.2-3", "MQTT-3.6.2-2", "MQTT-3.6.2-3", "MQTT-3.7.2-2", "MQTT-3.7.2-3",
		"MQTT-3.9.2-1", "MQTT-3.9.2-2", "MQTT-3.11.2-1", "MQTT-3.11.2-2", "MQTT-3.14.2-3", "MQTT-3.14.2-4", "MQTT-3.15.2-2", "MQTT-3.15.2-3"},
		Summary: "a control packet whose Reason String or User Properties make it exceed the client's Maximum Packet Size is sent whole instead of without them",
		alter: func(r *rules) {
			r.unlimited = func(p codec.Packet) bool { return stripDiagnostics(p) != nil }
		}},
	{Name: "session-not-resumed", Statements: []string{"MQTT-3.1.2-5", "3.1.1:MQTT-3.1.2-4", "3.1.1:MQTT-4.1.0-1"},
		Summary: "Clean Start / Clean Session 0 is treated as 1: a stored session is discarded instead of resumed",
		alter:   onConnect(func(_ *conn, cp *codec.Connect) { cp.CleanStart = true })},
	{Name: "subscription-id-sticky", Statements: []string{"MQTT-3.3.4-5"},
		Summary: "the last Subscription Identifier a client gave is attached to deliveries for its subscriptions made without one",
		alter: func(r *rules) {
			var mu sync.Mutex
			last := map[*session]uint32{}
			onReceive(func(c *conn, p *codec.Subscribe) codec.Packet {
				if len(p.Properties.SubscriptionIDs) > 0 {
					mu.Lock()
					last[c.sess] = p.Properties.SubscriptionIDs[0]
					mu.Unlock()
				}
				return p
			})(r)
			onPublish(func(c *conn, _ *delivery, p *codec.Publish) {
				mu.Lock()
				id := last[c.sess]
				mu.Unlock()
				if id != 0 && len(p.Properties.SubscriptionIDs) == 0 {
					p.Properties.SubscriptionIDs = []uint32{id}
				}
			})(r)
		}},
	{Name: "unsuback-no-subscription-0x10", Statements: []string{"MQTT-3.11.3-2"},
		Summary: "UNSUBACK reports a filter with no subscription as 0x10 (a PUBACK code) instead of 0x11 No subscription existed",
		alter: onSend(func(_ *conn, p *codec.Unsuback) codec.Packet {
			for i, rc := range p.ReasonCodes {
				if rc == codec.ReasonNoSubscriptionExisted {
					p.ReasonCodes[i] = codec.ReasonNoMatchingSubscribers
				}
			}
			return p
		})},
	{Name: "takeover-disconnect-0x85", Statements: []string{"MQTT-3.14.2-1"},
		Summary: "a connection taken over gets DISCONNECT 0x85 (a CONNACK code) instead of 0x8E Session taken over",
		alter: onSend(func(_ *conn, p *codec.Disconnect) codec.Packet {
			if p.ReasonCode == codec.ReasonSessionTakenOver {
				p.ReasonCode = codec.ReasonClientIDNotValid
			}
			return p
		})},
	{Name: "pubcomp-unknown-id-0x80", Statements: []string{"MQTT-3.7.2-1"},
		Summary: "a PUBREL for an unknown packet identifier is answered with PUBCOMP 0x80 (not a PUBCOMP code) instead of 0x92",
		alter: onSend(func(_ *conn, p *codec.Pubcomp) codec.Packet {
			if p.ReasonCode == codec.ReasonPacketIDNotFound {
				p.ReasonCode = codec.ReasonUnspecifiedError
			}
			return p
		})},
	{Name: "outbound-packet-id-always-1", Statements: []string{"MQTT-4.3.2-1", "3.1.1:MQTT-4.3.2-1", "MQTT-4.3.3-1", "3.1.1:MQTT-4.3.3-1"},
		Summary: "every QoS 1/2 PUBLISH the broker sends uses packet identifier 1, even while another one is in flight",
		alter:   func(r *rules) { r.nextID = func(*session) uint16 { return 1 } }},
	{Name: "retained-empty-stored", Statements: []string{"MQTT-3.3.1-7", "3.1.1:MQTT-3.3.1-11"},
		Summary: "a retained PUBLISH with an empty payload replaces the retained message with an empty one, sent to later subscribers, instead of leaving none",
		alter: func(r *rules) {
			var mu sync.Mutex
			empties := map[string]*message{} // topics whose retained message is an empty one
			onRetainedPut(func(st retainedStore, m *message) {
				mu.Lock()
				if len(m.payload) == 0 {
					empties[m.topic] = m
				} else {
					delete(empties, m.topic)
				}
				mu.Unlock()
				st.put(m)
			})(r)
			onRetainedMatch(func(st retainedStore, filter string, now time.Time) []*message {
				ms := st.match(filter, now)
				mu.Lock()
				defer mu.Unlock()
				for t, m := range empties {
					if topics.MatchFilter(filter, t) {
						ms = append(ms, m)
					}
				}
				return ms
			})(r)
		}},
	{Name: "qos2-id-kept-after-pubcomp", Statements: []string{"MQTT-4.3.3-12"},
		Summary: "a QoS 2 packet identifier stays in use after the PUBCOMP, so a new PUBLISH reusing it is taken for a duplicate (acknowledged, never delivered)",
		alter: onReceive(func(c *conn, p *codec.Pubrel) codec.Packet {
			c.sess.mu.Lock()
			_, known := c.sess.inQoS2[p.PacketID]
			c.sess.mu.Unlock()
			if !known {
				return p
			}
			c.enqueue(outItem{pkt: &codec.Pubcomp{PacketID: p.PacketID}}) // without forgetting the identifier
			return nil
		})},
	{Name: "puback-error-ignored", Statements: []string{"MQTT-4.4.0-2"},
		Summary: "a PUBACK with an error reason code is ignored: the message stays unacknowledged and is sent again on reconnection",
		alter: onReceive(func(_ *conn, p *codec.Puback) codec.Packet {
			if p.ReasonCode.IsError() {
				return nil
			}
			return p
		})},
	{Name: "pubrec-error-taken-as-success", Statements: []string{"MQTT-4.3.3-4", "MQTT-4.4.0-2"},
		Summary: "a PUBREC with an error reason code is taken for success and answered with PUBREL",
		alter: onReceive(func(_ *conn, p *codec.Pubrec) codec.Packet {
			if p.ReasonCode.IsError() {
				p.ReasonCode = codec.ReasonSuccess
			}
			return p
		})},
	{Name: "qos1-dup-dropped", Statements: []string{"MQTT-4.3.2-5"},
		Summary: "a QoS 1 PUBLISH with DUP 1 reusing an identifier already acknowledged is acknowledged but dropped as a duplicate",
		alter: func(r *rules) {
			var mu sync.Mutex
			seen := map[*session]map[uint16]bool{}
			onReceive(func(c *conn, p *codec.Publish) codec.Packet {
				if p.QoS != 1 {
					return p
				}
				mu.Lock()
				defer mu.Unlock()
				ids := seen[c.sess]
				if ids == nil {
					ids = map[uint16]bool{}
					seen[c.sess] = ids
				}
				if p.Dup && ids[p.PacketID] {
					c.enqueue(outItem{pkt: &codec.Puback{PacketID: p.PacketID}})
					return nil
				}
				ids[p.PacketID] = true
				return p
			})(r)
		}},
	{Name: "shared-qos-not-downgraded", Statements: []string{"MQTT-4.8.2-3"},
		Summary: "messages delivered on a shared subscription go out at the published QoS, ignoring the QoS granted to the member",
		alter: onMatch(func(t subscriptionTree, topic string, prefer func(*session) bool, out []topics.Match[*session]) []topics.Match[*session] {
			n := len(out)
			out = t.Match(topic, prefer, out)
			for i := n; i < len(out); i++ {
				if out[i].Group != "" {
					out[i].Options.QoS = 2
				}
			}
			return out
		})},
	{Name: "qos0-sent-with-dup", Statements: []string{"MQTT-4.3.1-1", "3.1.1:MQTT-4.3.1-1", "MQTT-3.3.1-2", "3.1.1:MQTT-3.3.1-2"},
		Summary: "every QoS 0 PUBLISH the broker sends has DUP 1",
		alter: onPublish(func(_ *conn, _ *delivery, p *codec.Publish) {
			if p.QoS == 0 {
				p.Dup = true
			}
		})},
}

// newRules returns the rules of a broker with the named faults switched on.
func newRules(names []string) (rules, error) {
	var r rules
	for _, n := range names {
		i := slices.IndexFunc(Faults, func(f Fault) bool { return f.Name == n })
		if i < 0 {
			return rules{}, fmt.Errorf("unknown fault %q (known: %s)", n, strings.Join(FaultNames(), ", "))
		}
		Faults[i].alter(&r)
	}
	return r, nil
}

// faults parses the faults setting of a configuration file: a list of fault names.
func (p *cfgParser) faults(v *yaml.Node) ([]string, error) {
	names, err := p.strings(v)
	if err != nil {
		return nil, err
	}
	if _, err := newRules(names); err != nil {
		return nil, cfgErr(p.name, v, err.Error())
	}
	return names, nil
}

// FaultNames returns the names of every fault, sorted.
func FaultNames() []string {
	names := make([]string, 0, len(Faults))
	for _, f := range Faults {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}
