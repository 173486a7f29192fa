package broker

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/topics"
)

// flowFaults are the faults of packet identifiers, the QoS 1 and 2 flows, flow control, shared subscription delivery and unsubscription of in-flight messages.
var flowFaults = []Fault{
	{Name: "packet-id-zero-accepted", Statements: []string{"3.1.1:MQTT-2.3.1-1", "MQTT-2.2.1-3"},
		Summary: "a SUBSCRIBE, UNSUBSCRIBE or QoS 1/2 PUBLISH with Packet Identifier 0 is handled (and answered with identifier 0) instead of closing the connection",
		alter:   unchecked("packet-id-zero")},
	{Name: "no-subscribers-0x11", Statements: []string{"MQTT-3.4.2-1", "MQTT-3.5.2-1"},
		Summary: "a v5 QoS 1/2 non-retained PUBLISH to a topic nobody subscribes to is answered with PUBACK/PUBREC 0x11 (an UNSUBACK code) instead of 0x00 or 0x10 No matching subscribers",
		alter: func(r *rules) {
			// The identifiers of PUBLISH packets found to have no subscriber, by connection, until
			// their acknowledgement is written.
			var unheard sync.Map // connAck → struct{}
			onReceive(func(c *conn, p *codec.Publish) codec.Packet {
				// A retained message is kept for later subscribers: only other ones count as unheard.
				if c.v == codec.V5 && p.QoS > 0 && !p.Retain && p.Topic != "" && !subscribed(c.srv.tree, p.Topic) {
					unheard.Store(connAck{c, p.PacketID}, struct{}{})
				}
				return p
			})(r)
			relabel := func(c *conn, id uint16, rc *codec.ReasonCode) {
				if _, ok := unheard.LoadAndDelete(connAck{c, id}); ok && *rc == codec.ReasonSuccess {
					*rc = codec.ReasonNoSubscriptionExisted
				}
			}
			onSend(func(c *conn, p *codec.Puback) codec.Packet { relabel(c, p.PacketID, &p.ReasonCode); return p })(r)
			onSend(func(c *conn, p *codec.Pubrec) codec.Packet { relabel(c, p.PacketID, &p.ReasonCode); return p })(r)
		}},
	{Name: "unsuback-per-filter", Statements: []string{"3.1.1:MQTT-3.10.4-6", "MQTT-3.10.4-6"},
		Summary: "an UNSUBSCRIBE with several topic filters is answered with one UNSUBACK per filter instead of a single one",
		alter: onReceive(func(c *conn, p *codec.Unsubscribe) codec.Packet {
			// Each filter but the last is handled as an UNSUBSCRIBE of its own, with its own UNSUBACK.
			for _, f := range p.Filters[:max(len(p.Filters)-1, 0)] {
				c.onUnsubscribe(&codec.Unsubscribe{PacketID: p.PacketID, Properties: p.Properties, Filters: []string{f}})
			}
			if n := len(p.Filters); n > 1 {
				p.Filters = p.Filters[n-1:]
			}
			return p
		})},
	{Name: "unsubscribe-drops-inflight", Statements: []string{"MQTT-3.10.4-3", "3.1.1:MQTT-3.10.4-3"},
		Summary: "UNSUBSCRIBE discards the unacknowledged QoS 1/2 deliveries made for the filter, so they are never completed nor re-sent",
		alter: onReceive(func(c *conn, p *codec.Unsubscribe) codec.Packet {
			s := c.sess
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, filter := range p.Filters {
				if _, ok := s.subs[filter]; !ok || strings.HasPrefix(filter, "$share/") {
					continue
				}
				for _, f := range slices.Clone(s.order) {
					if !f.done && f.d.share == "" && topics.MatchFilter(filter, f.d.msg.topic) {
						s.removeFlightLocked(f)
					}
				}
			}
			s.refillLocked()
			return p
		})},
	{Name: "pubrel-resent-as-publish", Statements: []string{"MQTT-4.3.3-6", "MQTT-4.4.0-1", "3.1.1:MQTT-4.4.0-1"},
		Summary: "on session resumption, a QoS 2 delivery already released (PUBREL sent, PUBCOMP awaited) is re-sent from the start as a PUBLISH instead of a PUBREL",
		alter: onResume(func(s *session) {
			for _, f := range s.order {
				if !f.done && f.state == awaitComp {
					f.state = awaitAck // the stored session forgot the PUBREC
				}
			}
		})},
	{Name: "inflight-expired-on-resume", Statements: []string{"MQTT-4.3.3-7", "MQTT-4.4.0-1"},
		Summary: "on session resumption, unacknowledged QoS 1/2 PUBLISH packets whose Message Expiry Interval has passed are discarded, even those already sent",
		alter: onResume(func(s *session) {
			now := time.Now()
			for _, f := range slices.Clone(s.order) {
				if !f.done && f.state == awaitAck && f.d.msg.expired(now) {
					s.removeFlightLocked(f) // as if onward delivery had not started
				}
			}
		})},
	{Name: "refused-qos2-id-kept", Statements: []string{"MQTT-4.3.3-9"}, Configure: withDeniedTopic,
		Summary: "a QoS 2 packet identifier the broker refused with PUBREC 0x80 or above stays in use, so the next PUBLISH with it is taken for a duplicate (acknowledged, never delivered)",
		alter: onSend(func(c *conn, p *codec.Pubrec) codec.Packet {
			// Written before the client can see the PUBREC, so before it can reuse the identifier.
			if p.ReasonCode.IsError() {
				c.sess.mu.Lock()
				if c.sess.inQoS2 != nil {
					c.sess.inQoS2[p.PacketID] = struct{}{}
				}
				c.sess.mu.Unlock()
			}
			return p
		})},
	{Name: "qos2-state-expires-with-message", Statements: []string{"MQTT-4.3.3-13"},
		Summary: "a received QoS 2 packet identifier is forgotten once the message's Message Expiry Interval passes, so a later PUBREL gets PUBCOMP 0x92 instead of completing the flow",
		alter: func(r *rules) {
			var mu sync.Mutex
			expires := map[connAck]time.Time{} // received QoS 2 messages with an expiry, until PUBREL
			onReceive(func(c *conn, p *codec.Publish) codec.Packet {
				if c.v == codec.V5 && p.QoS == 2 && p.Properties.Has(codec.PropMessageExpiry) {
					mu.Lock()
					expires[connAck{c, p.PacketID}] = time.Now().Add(time.Duration(p.Properties.MessageExpiry) * time.Second)
					mu.Unlock()
				}
				return p
			})(r)
			onReceive(func(c *conn, p *codec.Pubrel) codec.Packet {
				mu.Lock()
				at, ok := expires[connAck{c, p.PacketID}]
				delete(expires, connAck{c, p.PacketID})
				mu.Unlock()
				if ok && !time.Now().Before(at) {
					c.sess.mu.Lock()
					delete(c.sess.inQoS2, p.PacketID) // purged with the expired message
					c.sess.mu.Unlock()
				}
				return p
			})(r)
		}},
	{Name: "repeated-pubrel-ignored", Statements: []string{"MQTT-4.3.3-11", "3.1.1:MQTT-4.3.3-2"},
		Summary: "a PUBREL for a packet identifier that is not awaiting release (a repeated PUBREL) is ignored instead of answered with PUBCOMP",
		alter: onReceive(func(c *conn, p *codec.Pubrel) codec.Packet {
			c.sess.mu.Lock()
			_, known := c.sess.inQoS2[p.PacketID]
			c.sess.mu.Unlock()
			if !known {
				return nil
			}
			return p
		})},
	{Name: "shared-refused-rerouted", Statements: []string{"MQTT-4.8.2-6"},
		Summary: "a shared-subscription message its member refuses with PUBACK or PUBREC 0x80 or above is sent to a member of the group again",
		alter: func(r *rules) {
			var mu sync.Mutex
			rerouted := map[*message]bool{} // once per message, or two refusing members would loop
			refused := func(c *conn, id uint16, rc codec.ReasonCode) {
				if !rc.IsError() {
					return
				}
				s := c.sess
				s.mu.Lock()
				f := s.inflight[id]
				s.mu.Unlock()
				if f == nil || f.d.share == "" {
					return
				}
				mu.Lock()
				again := !rerouted[f.d.msg]
				rerouted[f.d.msg] = true
				mu.Unlock()
				if again {
					c.srv.reroute([]delivery{f.d})
				}
			}
			onReceive(func(c *conn, p *codec.Puback) codec.Packet { refused(c, p.PacketID, p.ReasonCode); return p })(r)
			onReceive(func(c *conn, p *codec.Pubrec) codec.Packet { refused(c, p.PacketID, p.ReasonCode); return p })(r)
		}},
	{Name: "receive-maximum-off-by-one", Statements: []string{"MQTT-4.9.0-1", "MQTT-3.3.4-9", "MQTT-4.9.0-2"},
		Summary: "the broker's send quota starts at the client's Receive Maximum plus one: one unacknowledged QoS 1/2 PUBLISH too many",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.v == codec.V5 && c.recvMax < 65535 {
				c.recvMax++
			}
		})},
	{Name: "control-packets-wait-for-quota", Statements: []string{"MQTT-4.9.0-3", "MQTT-3.3.4-10"},
		Summary: "with the client's Receive Maximum used up, PINGRESP, SUBACK and UNSUBACK wait behind the held PUBLISH packets until an acknowledgement frees the quota",
		alter: func(r *rules) {
			for _, h := range []func(*rules){
				onSend(func(c *conn, p *codec.Pingresp) codec.Packet { awaitQuota(c); return p }),
				onSend(func(c *conn, p *codec.Suback) codec.Packet { awaitQuota(c); return p }),
				onSend(func(c *conn, p *codec.Unsuback) codec.Packet { awaitQuota(c); return p }),
			} {
				h(r)
			}
		}},
	{Name: "unsuback-without-property-length", Statements: []string{"MQTT-2.2.2-1"},
		Summary: "a v5 UNSUBACK without properties is sent without its Property Length (the 3.1.1 layout followed by the reason codes)",
		alter: onSend(func(c *conn, p *codec.Unsuback) codec.Packet {
			if c.v != codec.V5 || p.Properties.Has(codec.PropReasonString) || p.Properties.Has(codec.PropUserProperty) {
				return p
			}
			body := []byte{byte(p.PacketID >> 8), byte(p.PacketID)}
			for _, rc := range p.ReasonCodes {
				body = append(body, byte(rc))
			}
			return rawPacket{p, byte(codec.UNSUBACK) << 4, body}
		})},
	{Name: "downgraded-qos0-keeps-packet-id", Statements: []string{"MQTT-2.2.1-2", "3.1.1:MQTT-2.3.1-5"},
		Summary: "a QoS 1/2 message delivered at QoS 0 (downgraded to the subscription's QoS) still carries a Packet Identifier after its topic name",
		alter: func(r *rules) {
			// Whether the PUBLISH being encoded on a connection was downgraded to QoS 0: its
			// publish hook runs just before the encoded hook, both on the connection's writer.
			var downgraded sync.Map // *conn → bool
			onPublish(func(c *conn, d *delivery, p *codec.Publish) {
				downgraded.Store(c, p.QoS == 0 && d.msg.qos > 0)
			})(r)
			onEncoded(func(c *conn, pkt []byte) []byte {
				if v, _ := downgraded.LoadAndDelete(c); v != true {
					return slices.Clone(pkt)
				}
				return withPacketID(pkt, 1)
			})(r)
		}},
	{Name: "shared-inflight-rerouted-on-disconnect", Statements: []string{"MQTT-4.8.2-4", "MQTT-4.8.2-5"},
		Summary: "when a shared-subscription member's connection closes, its unacknowledged shared messages (QoS 2 ones already sent included) go to another member of the group at once",
		alter: func(r *rules) {
			r.detachHooks = append(r.detachHooks, func(s *session) (reroute []delivery) {
				for _, f := range slices.Clone(s.order) {
					if !f.done && f.d.share != "" && f.state == awaitAck {
						s.removeFlightLocked(f)
						reroute = append(reroute, f.d)
					}
				}
				return reroute
			})
		}},
	{Name: "pubrel-echoes-pubrec-reason", Statements: []string{"MQTT-3.6.2-1"},
		Summary: "the PUBREL answering a subscriber's successful PUBREC copies its reason code, so a PUBREC 0x10 No matching subscribers gets a PUBREL 0x10 (not a PUBREL code)",
		alter: func(r *rules) {
			var codes sync.Map // connAck → the PUBREC's reason code, until the PUBREL is written
			onReceive(func(c *conn, p *codec.Pubrec) codec.Packet {
				if c.v == codec.V5 && p.ReasonCode != codec.ReasonSuccess && !p.ReasonCode.IsError() {
					codes.Store(connAck{c, p.PacketID}, p.ReasonCode)
				}
				return p
			})(r)
			onSend(func(c *conn, p *codec.Pubrel) codec.Packet {
				if rc, ok := codes.LoadAndDelete(connAck{c, p.PacketID}); ok && p.ReasonCode == codec.ReasonSuccess {
					p.ReasonCode = rc.(codec.ReasonCode)
				}
				return p
			})(r)
		}},
}

// withPacketID returns the encoded QoS 0 PUBLISH pkt with the packet identifier id inserted
// after its topic name, as a QoS 1 PUBLISH has it, its Remaining Length grown to match.
func withPacketID(pkt []byte, id uint16) []byte {
	n := 1 // past the fixed header: the first byte and the Remaining Length
	for n < len(pkt) && pkt[n]&0x80 != 0 {
		n++
	}
	n++
	if n+2 > len(pkt) {
		return slices.Clone(pkt)
	}
	at := n + 2 + (int(pkt[n])<<8 | int(pkt[n+1]))
	if at > len(pkt) {
		return slices.Clone(pkt)
	}
	body := slices.Concat(pkt[n:at], []byte{byte(id >> 8), byte(id)}, pkt[at:])
	out, _ := rawPacket{first: pkt[0], body: body}.AppendTo(nil, 0)
	return out
}

// subscribed reports whether some subscription, shared or not, matches topic. (Not through
// Match, which would advance the shared groups' choice of member.)
func subscribed(t subscriptionTree, topic string) bool {
	return slices.ContainsFunc(t.All(nil), func(m topics.Match[*session]) bool { return topics.MatchFilter(m.Filter, topic) })
}

// connAck names one packet identifier of one connection.
type connAck struct {
	c  *conn
	id uint16
}

// awaitQuota blocks the writer while the v5 client's send quota is used up by PUBLISH packets
// already written, as a broker that holds its whole output queue at zero quota would. (Flights
// still queued behind the packet do not count: they could never be acknowledged.) It gives up
// when the connection ends.
func awaitQuota(c *conn) {
	if c.v != codec.V5 || c.sess == nil {
		return
	}
	for {
		s := c.sess
		s.mu.Lock()
		sent := 0
		for _, f := range s.inflight {
			if f.sent.Load() {
				sent++
			}
		}
		full := s.inflight != nil && sent >= s.window(c)
		s.mu.Unlock()
		if !full {
			return
		}
		select {
		case <-c.quit:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// rawPacket is a control packet written as the given fixed-header byte and body, for a fault
// whose bytes the codec would not produce; it is otherwise the packet it wraps.
type rawPacket struct {
	codec.Packet
	first byte
	body  []byte
}

// AppendTo writes the fixed header with the body's Remaining Length, then the body.
func (p rawPacket) AppendTo(dst []byte, _ codec.Version) ([]byte, error) {
	dst = append(dst, p.first)
	n := len(p.body)
	for {
		b := byte(n % 128)
		if n /= 128; n > 0 {
			b |= 0x80
		}
		dst = append(dst, b)
		if n == 0 {
			break
		}
	}
	return append(dst, p.body...), nil
}
