package check

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/pcap"
)

// both cites the same statements for client and broker.
func both(c Cite) map[Role]Cite { return map[Role]Cite{Client: c, Broker: c} }

func ids(s ...string) []string { return s }

// Grace periods for the timing checks: capture timestamps and broker timers are not exact, so
// only clear overruns are reported.
const (
	clientKeepAliveGrace = time.Second
	brokerKeepAliveGrace = 2 * time.Second
)

// Checks returns the table of passive checks.
func Checks() []*Check {
	return []*Check{
		{
			ID: "3.1/first-packet-connect", Title: "the first packet a client sends is CONNECT", Section: "3.1", Level: "MUST",
			Cites:   map[Role]Cite{Client: {V311: ids("MQTT-3.1.0-1"), V5: ids("MQTT-3.1.0-1")}},
			Applies: FromStart,
			Run: func(c *Conv, r *Reporter) {
				for i := range c.Recs {
					if c.Recs[i].From == Client {
						if c.Recs[i].Type != codec.CONNECT {
							r.Fail(Client, "MQTT-3.1.0-1", i, "the client's first packet is %v", c.Recs[i].Type)
						}
						return
					}
				}
			},
		},
		{
			ID: "3.1/second-connect-closes", Title: "a second CONNECT is a protocol violation the server answers by closing", Section: "3.1", Level: "MUST",
			Cites:       map[Role]Cite{Broker: {V311: ids("MQTT-3.1.0-2"), V5: ids("MQTT-3.1.0-2")}},
			Conditional: true,
			Run: func(c *Conv, r *Reporter) {
				connects := 0
				for i := range c.Recs {
					rec := &c.Recs[i]
					if rec.From == Client && rec.Type == codec.CONNECT {
						connects++
						if connects == 2 {
							r.Judged(Broker)
						}
						continue
					}
					if connects >= 2 && rec.From == Broker && rec.Type != codec.DISCONNECT {
						r.Fail(Broker, "MQTT-3.1.0-2", i, "the server sent %v after the client's second CONNECT instead of closing the connection", rec.Type)
						return
					}
				}
			},
		},
		{
			ID: "3.2/connack-first", Title: "the server sends CONNACK before any other packet", Section: "3.2", Level: "MUST",
			Cites:   map[Role]Cite{Broker: {V311: ids("MQTT-3.2.0-1"), V5: ids("MQTT-3.2.0-1", "MQTT-3.14.0-1")}},
			Applies: FromStart,
			Run: func(c *Conv, r *Reporter) {
				for i := range c.Recs {
					rec := &c.Recs[i]
					if rec.From != Broker {
						continue
					}
					switch {
					case rec.Type == codec.CONNACK:
						return
					case rec.Type == codec.AUTH && c.Version == codec.V5:
						continue // enhanced authentication precedes the CONNACK
					case rec.Type == codec.DISCONNECT && c.Version == codec.V5:
						r.Fail(Broker, "MQTT-3.14.0-1", i, "the server sent DISCONNECT before any CONNACK")
					default:
						r.Fail(Broker, "MQTT-3.2.0-1", i, "the server sent %v before CONNACK", rec.Type)
					}
					return
				}
			},
		},
		{
			ID: "3.2/single-connack", Title: "the server sends at most one CONNACK per connection", Section: "3.2", Level: "MUST",
			Cites: map[Role]Cite{Broker: {V5: ids("MQTT-3.2.0-2")}},
			Run: func(c *Conv, r *Reporter) {
				n := 0
				for i := range c.Recs {
					if c.Recs[i].From == Broker && c.Recs[i].Type == codec.CONNACK {
						if n++; n == 2 {
							r.Fail(Broker, "MQTT-3.2.0-2", i, "second CONNACK on the connection")
						}
					}
				}
			},
		},
		{
			ID: "3.2/refusal-closes", Title: "after a refusing CONNACK the server sends nothing more and closes", Section: "3.2", Level: "MUST",
			Cites:       map[Role]Cite{Broker: {V311: ids("MQTT-3.2.2-5"), V5: ids("MQTT-3.2.2-7", "MQTT-4.13.2-1")}},
			Conditional: true,
			Run: func(c *Conv, r *Reporter) {
				refused := -1
				for i := range c.Recs {
					rec := &c.Recs[i]
					if rec.From != Broker {
						continue
					}
					if refused >= 0 {
						st := "MQTT-3.2.2-5"
						if c.Version == codec.V5 {
							st = "MQTT-3.2.2-7"
						}
						r.Fail(Broker, st, i, "the server sent %v after refusing the connection with CONNACK 0x%02X", rec.Type, byte(c.Recs[refused].Packet.(*codec.Connack).ReasonCode))
						return
					}
					if ca, ok := rec.Packet.(*codec.Connack); ok && (ca.ReasonCode >= 0x80 || c.Version != codec.V5 && ca.ReasonCode != 0) {
						refused = i
						r.Judged(Broker)
					}
				}
			},
		},
		keepAliveClient(),
		keepAliveBroker(),
		{
			ID: "3.14/nothing-after-disconnect", Title: "the sender of DISCONNECT sends nothing after it", Section: "3.14", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V311: ids("MQTT-3.14.4-2"), V5: ids("MQTT-3.14.4-1")},
				Broker: {V5: ids("MQTT-3.14.4-1")},
			},
			Conditional: true,
			Run: func(c *Conv, r *Reporter) {
				st := "MQTT-3.14.4-1"
				if c.Version != codec.V5 {
					st = "MQTT-3.14.4-2"
				}
				sent := map[Role]bool{}
				for i := range c.Recs {
					rec := &c.Recs[i]
					if sent[rec.From] {
						r.Fail(rec.From, st, i, "%v sent after this side's DISCONNECT", rec.Type)
						sent[rec.From] = false // one finding per DISCONNECT
						continue
					}
					if rec.Type == codec.DISCONNECT {
						sent[rec.From] = true
						r.Judged(rec.From)
					}
				}
			},
		},
		{
			ID: "2.2/packet-id-nonzero", Title: "QoS>0 PUBLISH, SUBSCRIBE and UNSUBSCRIBE carry a non-zero packet identifier", Section: "2.2.1", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V311: ids("MQTT-2.3.1-1"), V5: ids("MQTT-2.2.1-3")},
				Broker: {V311: ids("MQTT-2.3.1-1"), V5: ids("MQTT-2.2.1-4")},
			},
			Run: func(c *Conv, r *Reporter) {
				for i := range c.Recs {
					rec := &c.Recs[i]
					id, has := packetID(rec.Packet)
					if !has || id != 0 || !isRequest(rec.Type) {
						continue
					}
					st := "MQTT-2.3.1-1"
					if c.Version == codec.V5 {
						st = map[Role]string{Client: "MQTT-2.2.1-3", Broker: "MQTT-2.2.1-4"}[rec.From]
					}
					r.Fail(rec.From, st, i, "%s with packet identifier 0", describe(rec))
				}
			},
		},
		{
			ID: "2.2/packet-id-free", Title: "a new PUBLISH, SUBSCRIBE or UNSUBSCRIBE uses an identifier not in use; a redelivery sets DUP", Section: "2.2.1", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V311: ids("MQTT-2.3.1-2", "MQTT-3.3.1-1"), V5: ids("MQTT-2.2.1-3", "MQTT-3.3.1-1")},
				Broker: {V311: ids("MQTT-2.3.1-4", "MQTT-3.3.1-1"), V5: ids("MQTT-2.2.1-4", "MQTT-3.3.1-1")},
			},
			Applies: FromStart,
			Run: func(c *Conv, r *Reporter) {
				s := newSession()
				for i := range c.Recs {
					rec := &c.Recs[i]
					before := s.inUse[roleIndex(rec.From)]
					var prev *pending
					if id, ok := packetID(rec.Packet); ok && isRequest(rec.Type) {
						if q := before[id]; q != nil {
							cp := *q
							prev = &cp
						}
					}
					res := s.step(c, i)
					switch {
					case res.resend:
						if p := rec.Packet.(*codec.Publish); !p.Dup && samePublish(c.Recs[prev.at].Packet, p) {
							r.Fail(rec.From, "MQTT-3.3.1-1", i, "%s re-delivers the message of frame %d without DUP", describe(rec), c.Recs[prev.at].Frame)
						} else if !p.Dup {
							r.Fail(rec.From, idInUseStatement(c.Version, rec.From), i, "%s uses packet identifier %d, still in use by the %v of frame %d", describe(rec), p.PacketID, prev.kind, c.Recs[prev.at].Frame)
						}
					case res.reuse:
						id, _ := packetID(rec.Packet)
						r.Fail(rec.From, idInUseStatement(c.Version, rec.From), i, "%s uses packet identifier %d, still in use by the %v of frame %d", describe(rec), id, prev.kind, c.Recs[prev.at].Frame)
					}
				}
			},
		},
		{
			ID: "2.2/ack-matches-request", Title: "acknowledgements carry the identifier of an outstanding request from the peer", Section: "2.2.1", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V311: ids("MQTT-2.3.1-6", "MQTT-4.3.3-2"), V5: ids("MQTT-2.2.1-5")},
				Broker: {V311: ids("MQTT-2.3.1-6", "MQTT-4.3.3-2", "MQTT-2.3.1-7"), V5: ids("MQTT-2.2.1-5", "MQTT-2.2.1-6")},
			},
			Applies: FromStart,
			Run: func(c *Conv, r *Reporter) {
				resumed := c.Connack != nil && c.Connack.SessionPresent
				s := newSession()
				for i := range c.Recs {
					rec := &c.Recs[i]
					res := s.step(c, i)
					if !res.unmatched {
						continue
					}
					if resumed && rec.Type == codec.PUBREL {
						continue // a resumed session re-sends PUBREL for flows of an earlier connection
					}
					id, _ := packetID(rec.Packet)
					var st string
					switch {
					case rec.Type == codec.SUBACK || rec.Type == codec.UNSUBACK:
						st = map[codec.Version]string{codec.V311: "MQTT-2.3.1-7", codec.V5: "MQTT-2.2.1-6"}[c.Version]
					case c.Version == codec.V5:
						st = "MQTT-2.2.1-5"
					case rec.Type == codec.PUBCOMP:
						st = "MQTT-4.3.3-2"
					default:
						st = "MQTT-2.3.1-6"
					}
					r.Fail(rec.From, st, i, "%v for packet identifier %d, which answers nothing the peer has outstanding", rec.Type, id)
				}
			},
		},
		qosFlowsComplete(),
		{
			ID: "4.6/ack-order", Title: "a client acknowledges in the order the messages arrived", Section: "4.6", Level: "MUST",
			Cites:   map[Role]Cite{Client: {V311: ids("MQTT-4.6.0-2", "MQTT-4.6.0-3", "MQTT-4.6.0-4"), V5: ids("MQTT-4.6.0-2", "MQTT-4.6.0-3", "MQTT-4.6.0-4")}},
			Applies: FromStart,
			Run:     ackOrder,
		},
		{
			ID: "3.3/dup-qos0", Title: "a QoS 0 PUBLISH has DUP 0", Section: "3.3.1", Level: "MUST",
			Cites: both(Cite{V311: ids("MQTT-3.3.1-2"), V5: ids("MQTT-3.3.1-2")}),
			Run: func(c *Conv, r *Reporter) {
				for i := range c.Recs {
					if p, ok := c.Recs[i].Packet.(*codec.Publish); ok && p.QoS == 0 && p.Dup {
						r.Fail(c.Recs[i].From, "MQTT-3.3.1-2", i, "QoS 0 PUBLISH on %q with DUP 1", c.Recs[i].Topic)
					}
				}
			},
		},
		{
			ID: "3.3/qos-not-3", Title: "a PUBLISH never has both QoS bits set", Section: "3.3.1", Level: "MUST",
			Cites: both(Cite{V311: ids("MQTT-3.3.1-4"), V5: ids("MQTT-3.3.1-4")}),
			Run: func(c *Conv, r *Reporter) {
				for i := range c.Recs {
					if rec := &c.Recs[i]; rec.Type == codec.PUBLISH && rec.Flags&6 == 6 {
						r.Fail(rec.From, "MQTT-3.3.1-4", i, "PUBLISH with QoS 3 (flags %04b)", rec.Flags)
					}
				}
			},
		},
		{
			ID: "2.1/reserved-flags", Title: "fixed-header flags have the values the packet type requires", Section: "2.1.3", Level: "MUST",
			Cites: both(Cite{
				V311: ids("MQTT-2.2.2-1", "MQTT-3.6.1-1", "MQTT-3.8.1-1", "MQTT-3.10.1-1"),
				V5:   ids("MQTT-2.1.3-1", "MQTT-3.6.1-1", "MQTT-3.8.1-1", "MQTT-3.10.1-1", "MQTT-3.14.1-1", "MQTT-3.15.1-1"),
			}),
			Run: func(c *Conv, r *Reporter) {
				for i := range c.Recs {
					rec := &c.Recs[i]
					if rec.Type == codec.PUBLISH || rec.Type == 0 {
						continue
					}
					want := byte(0)
					if rec.Type == codec.PUBREL || rec.Type == codec.SUBSCRIBE || rec.Type == codec.UNSUBSCRIBE {
						want = 2
					}
					if rec.Flags == want || rec.Version == codec.V31 && rec.Flags&^8 == want {
						continue // 3.1 allows DUP on any packet
					}
					r.Fail(rec.From, flagStatement(c.Version, rec.Type), i, "%v with fixed-header flags %04b, must be %04b", rec.Type, rec.Flags, want)
				}
			},
		},
		{
			ID: "2.4/reason-codes", Title: "reason and return codes are ones the packet type (and sender) may use", Section: "2.4", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V5: ids("MQTT-3.4.2-1", "MQTT-3.5.2-1", "MQTT-3.6.2-1", "MQTT-3.7.2-1", "MQTT-3.14.2-1", "MQTT-3.15.2-1")},
				Broker: {V311: ids("MQTT-3.9.3-2"), V5: ids("MQTT-3.2.2-8", "MQTT-3.4.2-1", "MQTT-3.5.2-1", "MQTT-3.6.2-1", "MQTT-3.7.2-1", "MQTT-3.9.3-2", "MQTT-3.11.3-2", "MQTT-3.14.2-1", "MQTT-3.15.2-1")},
			},
			Run: reasonCodes,
		},
		{
			ID: "4.3/dup-first-delivery", Title: "the first delivery of a QoS 1 or 2 message has DUP 0", Section: "4.3", Level: "MUST",
			Cites: both(Cite{V311: ids("MQTT-4.3.2-1", "MQTT-4.3.3-1"), V5: ids("MQTT-4.3.2-2", "MQTT-4.3.3-2")}),
			// Only where neither side can be re-delivering from an earlier connection.
			Applies: func(c *Conv) bool { return freshSession(c) && c.Connect != nil && c.Connect.CleanStart },
			Run: func(c *Conv, r *Reporter) {
				s := newSession()
				for i := range c.Recs {
					rec := &c.Recs[i]
					res := s.step(c, i)
					if p, ok := rec.Packet.(*codec.Publish); ok && res.newID && p.Dup {
						st := map[byte]map[codec.Version]string{
							1: {codec.V311: "MQTT-4.3.2-1", codec.V5: "MQTT-4.3.2-2"},
							2: {codec.V311: "MQTT-4.3.3-1", codec.V5: "MQTT-4.3.3-2"},
						}[p.QoS][c.Version]
						r.Fail(rec.From, st, i, "%s has DUP 1, but nothing with this identifier was sent before on a clean session", describe(rec))
					}
				}
			},
		},
		{
			ID: "3.3/forwarded-retain-flag", Title: "a message forwarded to an established subscription carries the RETAIN flag the rules require", Section: "3.3.1.3", Level: "MUST",
			Cites:       map[Role]Cite{Broker: {V311: ids("MQTT-3.3.1-9"), V5: ids("MQTT-3.3.1-12", "MQTT-3.3.1-13")}},
			Applies:     freshSession,
			Conditional: true,
			Run:         forwardedRetain,
		},
		{
			ID: "3.3/topic-matches-subscription", Title: "the server sends a client only messages matching its subscriptions", Section: "3.3.2", Level: "MUST",
			Cites:       map[Role]Cite{Broker: {V311: ids("MQTT-3.3.2-3"), V5: ids("MQTT-3.3.2-3")}},
			Applies:     freshSession,
			Conditional: true, // not judged when a stream has more filters than are followed
			Run:         func(c *Conv, r *Reporter) { subscriptionDeliveries(c, r, false) },
		},
		{
			ID: "3.8/granted-qos", Title: "messages go out at no more than the granted QoS", Section: "3.8.4", Level: "MUST",
			Cites:       map[Role]Cite{Broker: {V311: ids("MQTT-3.8.4-6"), V5: ids("MQTT-3.8.4-8")}},
			Applies:     freshSession,
			Conditional: true, // not judged when a stream has more filters than are followed
			Run:         func(c *Conv, r *Reporter) { subscriptionDeliveries(c, r, true) },
		},
		{
			ID: "3.9/one-code-per-filter", Title: "SUBACK (and v5 UNSUBACK) carry one reason code per topic filter", Section: "3.9", Level: "MUST",
			Cites:   map[Role]Cite{Broker: {V311: ids("MQTT-3.8.4-5"), V5: ids("MQTT-3.8.4-6", "MQTT-3.11.3-1")}},
			Applies: FromStart,
			Run:     codesPerFilter,
		},
		{
			ID: "3.3/topic-alias", Title: "Topic Aliases are non-zero and within the receiver's Topic Alias Maximum", Section: "3.3.2.3.4", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V5: ids("MQTT-3.3.2-8", "MQTT-3.2.2-17", "MQTT-3.2.2-18", "MQTT-3.3.2-9")},
				Broker: {V5: ids("MQTT-3.3.2-8", "MQTT-3.1.2-26", "MQTT-3.1.2-27", "MQTT-3.3.2-11")},
			},
			Applies: func(c *Conv) bool { return c.Connect != nil && c.Connack != nil },
			Run:     topicAliases,
		},
		{
			ID: "3.3/topic-alias-set-before-use", Title: "a PUBLISH with an empty Topic Name uses a Topic Alias its sender set earlier on the connection", Section: "3.3.2.3.4", Level: "MUST",
			// Mappings live only within one network connection [MQTT-3.3.2-7]: an alias the
			// connection never set is one the receiver cannot know (a Protocol Error in 3.3.2.3.4;
			// the statement is the closest numbered one).
			Cites:   both(Cite{V5: ids("MQTT-3.3.2-7")}),
			Applies: func(c *Conv) bool { return FromStart(c) && c.Version == codec.V5 },
			Run: func(c *Conv, r *Reporter) {
				for i := range c.Recs {
					rec := &c.Recs[i]
					if rec.AliasUnset {
						r.Fail(rec.From, "MQTT-3.3.2-7", i, "PUBLISH with an empty Topic Name and Topic Alias %d, which no earlier PUBLISH from the %s on this connection set",
							rec.Packet.(*codec.Publish).Properties.TopicAlias, rec.From)
					}
				}
			},
		},
		{
			ID: "3.1/maximum-packet-size", Title: "no packet exceeds the Maximum Packet Size its receiver announced", Section: "3.1.2.11.4", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V5: ids("MQTT-3.2.2-15")},
				Broker: {V5: ids("MQTT-3.1.2-24")},
			},
			Applies: func(c *Conv) bool { return c.Connect != nil && c.Connack != nil },
			Run: func(c *Conv, r *Reporter) {
				limits := map[Role]uint32{Broker: 0, Client: 0} // limit on what each role sends
				if c.Connect.Properties.Has(codec.PropMaximumPacketSize) {
					limits[Broker] = c.Connect.Properties.MaximumPacketSize
				}
				if c.Connack.Properties.Has(codec.PropMaximumPacketSize) {
					limits[Client] = c.Connack.Properties.MaximumPacketSize
				}
				for i := range c.Recs {
					rec := &c.Recs[i]
					if rec.From == Client && i < c.ConnackAt {
						continue // the client did not know the limit yet
					}
					if l := limits[rec.From]; l > 0 && uint32(rec.Size) > l {
						st := map[Role]string{Client: "MQTT-3.2.2-15", Broker: "MQTT-3.1.2-24"}[rec.From]
						r.Fail(rec.From, st, i, "%v of %d bytes, the receiver's Maximum Packet Size is %d", rec.Type, rec.Size, l)
					}
				}
			},
		},
		{
			ID: "4.9/receive-maximum", Title: "no side has more unacknowledged QoS>0 PUBLISH than the receiver's Receive Maximum", Section: "4.9", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V5: ids("MQTT-3.3.4-7")},
				Broker: {V5: ids("MQTT-3.3.4-9")},
			},
			Applies: func(c *Conv) bool { return FromStart(c) && c.Connect != nil && c.Connack != nil },
			Run:     receiveMaximum,
		},
		{
			ID: "3.2/maximum-qos", Title: "a client publishes at no more than the server's Maximum QoS", Section: "3.2.2.3.4", Level: "MUST",
			Cites:   map[Role]Cite{Client: {V5: ids("MQTT-3.2.2-11")}},
			Applies: func(c *Conv) bool { return c.Connack != nil },
			Run: func(c *Conv, r *Reporter) {
				if !c.Connack.Properties.Has(codec.PropMaximumQoS) {
					return
				}
				max := c.Connack.Properties.MaximumQoS
				for i := c.ConnackAt + 1; i < len(c.Recs); i++ {
					if p, ok := c.Recs[i].Packet.(*codec.Publish); ok && c.Recs[i].From == Client && p.QoS > max {
						r.Fail(Client, "MQTT-3.2.2-11", i, "PUBLISH at QoS %d, the server's Maximum QoS is %d", p.QoS, max)
					}
				}
			},
		},
		{
			ID: "3.2/retain-available", Title: "a client told Retain Available 0 does not publish with RETAIN 1", Section: "3.2.2.3.5", Level: "MUST",
			Cites:   map[Role]Cite{Client: {V5: ids("MQTT-3.2.2-14")}},
			Applies: func(c *Conv) bool { return c.Connack != nil },
			Run: func(c *Conv, r *Reporter) {
				p := &c.Connack.Properties
				if !p.Has(codec.PropRetainAvailable) || p.RetainAvailable != 0 {
					return
				}
				for i := c.ConnackAt + 1; i < len(c.Recs); i++ {
					if pub, ok := c.Recs[i].Packet.(*codec.Publish); ok && c.Recs[i].From == Client && pub.Retain {
						r.Fail(Client, "MQTT-3.2.2-14", i, "PUBLISH on %q with RETAIN 1 after Retain Available 0", c.Recs[i].Topic)
					}
				}
			},
		},
		{
			ID: "3.1/request-problem-information", Title: "with Request Problem Information 0 the server sends Reason String and User Property only on PUBLISH, CONNACK and DISCONNECT", Section: "3.1.2.11.7", Level: "MUST",
			Cites: map[Role]Cite{Broker: {V5: ids("MQTT-3.1.2-29")}},
			Applies: func(c *Conv) bool {
				return c.Connect != nil && c.Connect.Properties.Has(codec.PropRequestProblemInfo) && c.Connect.Properties.RequestProblemInfo == 0
			},
			Run: func(c *Conv, r *Reporter) {
				for i := range c.Recs {
					rec := &c.Recs[i]
					if rec.From != Broker || rec.Type == codec.PUBLISH || rec.Type == codec.CONNACK || rec.Type == codec.DISCONNECT {
						continue
					}
					if p := properties(rec.Packet); p != nil && (p.Has(codec.PropReasonString) || p.Has(codec.PropUserProperty)) {
						r.Fail(Broker, "MQTT-3.1.2-29", i, "%v carries a Reason String or User Property though the client asked for no problem information", rec.Type)
					}
				}
			},
		},
		{
			ID: "3.1/request-response-information", Title: "without Request Response Information 1 the CONNACK carries no Response Information", Section: "3.1.2.11.6", Level: "MUST",
			Cites:   map[Role]Cite{Broker: {V5: ids("MQTT-3.1.2-28")}},
			Applies: func(c *Conv) bool { return c.Connect != nil && c.Connack != nil },
			Run: func(c *Conv, r *Reporter) {
				if c.Connect.Properties.RequestResponseInfo == 0 && c.Connack.Properties.Has(codec.PropResponseInfo) {
					r.Fail(Broker, "MQTT-3.1.2-28", c.ConnackAt, "CONNACK carries Response Information %q, the client did not request it", c.Connack.Properties.ResponseInfo)
				}
			},
		},
		{
			ID: "4.12/auth-needs-method", Title: "AUTH is exchanged only when the CONNECT named an Authentication Method", Section: "4.12", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V5: ids("MQTT-4.12.0-7")},
				Broker: {V5: ids("MQTT-4.12.0-6")},
			},
			Applies: func(c *Conv) bool { return c.Connect != nil && !c.Connect.Properties.Has(codec.PropAuthMethod) },
			Run: func(c *Conv, r *Reporter) {
				for i := range c.Recs {
					rec := &c.Recs[i]
					switch {
					case rec.Type == codec.AUTH && rec.From == Client:
						r.Fail(Client, "MQTT-4.12.0-7", i, "AUTH sent though the CONNECT had no Authentication Method")
					case rec.Type == codec.AUTH:
						r.Fail(Broker, "MQTT-4.12.0-6", i, "AUTH sent though the CONNECT had no Authentication Method")
					case rec.Type == codec.CONNACK && rec.Packet != nil && properties(rec.Packet).Has(codec.PropAuthMethod):
						r.Fail(Broker, "MQTT-4.12.0-6", i, "CONNACK carries an Authentication Method the client did not use")
					}
				}
			},
		},
		{
			ID: "6.0/binary-frames", Title: "over WebSocket, MQTT travels in binary frames", Section: "6.0", Level: "MUST",
			Cites:   both(Cite{V311: ids("MQTT-6.0.0-1"), V5: ids("MQTT-6.0.0-1")}),
			Applies: func(c *Conv) bool { return c.Stream.WebSocket != nil },
			Run: func(c *Conv, r *Reporter) {
				ws := c.Stream.WebSocket
				for i, role := range []Role{Client, Broker} {
					if n := ws.TextFrames[i]; n > 0 {
						r.FailFrame(role, "MQTT-6.0.0-1", firstNote(c, pcap.NoteWSText, i), "%d WebSocket text frame(s) sent", n)
					}
				}
			},
		},
		{
			ID: "6.0/subprotocol-mqtt", Title: "the WebSocket client offers and the server selects the mqtt subprotocol", Section: "6.0", Level: "MUST",
			Cites: map[Role]Cite{
				Client: {V311: ids("MQTT-6.0.0-3"), V5: ids("MQTT-6.0.0-3")},
				Broker: {V311: ids("MQTT-6.0.0-4"), V5: ids("MQTT-6.0.0-4")},
			},
			Applies: func(c *Conv) bool { return c.Stream.WebSocket != nil && c.Stream.WebSocket.RequestFrame > 0 },
			Run: func(c *Conv, r *Reporter) {
				ws := c.Stream.WebSocket
				if !slices.Contains(ws.Offered, "mqtt") {
					r.FailFrame(Client, "MQTT-6.0.0-3", ws.RequestFrame, "the upgrade request offers subprotocols [%s], not mqtt", strings.Join(ws.Offered, ", "))
				}
				if ws.Status == 101 && ws.Selected != "mqtt" {
					r.FailFrame(Broker, "MQTT-6.0.0-4", ws.ResponseFrame, "the server accepted the upgrade with subprotocol %q, not mqtt", ws.Selected)
				}
			},
		},
		wellFormed(),
	}
}

// isRequest reports whether a packet type starts an exchange with its own packet identifier.
func isRequest(t codec.PacketType) bool {
	return t == codec.PUBLISH || t == codec.SUBSCRIBE || t == codec.UNSUBSCRIBE
}

func idInUseStatement(v codec.Version, r Role) string {
	if v == codec.V5 {
		return map[Role]string{Client: "MQTT-2.2.1-3", Broker: "MQTT-2.2.1-4"}[r]
	}
	return map[Role]string{Client: "MQTT-2.3.1-2", Broker: "MQTT-2.3.1-4"}[r]
}

func samePublish(a codec.Packet, b *codec.Publish) bool {
	p, ok := a.(*codec.Publish)
	return ok && p.Topic == b.Topic && bytes.Equal(p.Payload, b.Payload)
}

// describe names a packet for a finding: "PUBLISH QoS 1 on \"a/b\"", "SUBSCRIBE".
func describe(r *Rec) string {
	if p, ok := r.Packet.(*codec.Publish); ok {
		return fmt.Sprintf("PUBLISH QoS %d on %q", p.QoS, r.Topic)
	}
	return r.Type.String()
}

func flagStatement(v codec.Version, t codec.PacketType) string {
	switch t {
	case codec.PUBREL:
		return "MQTT-3.6.1-1"
	case codec.SUBSCRIBE:
		return "MQTT-3.8.1-1"
	case codec.UNSUBSCRIBE:
		return "MQTT-3.10.1-1"
	}
	if v == codec.V5 {
		switch t {
		case codec.DISCONNECT:
			return "MQTT-3.14.1-1"
		case codec.AUTH:
			return "MQTT-3.15.1-1"
		}
		return "MQTT-2.1.3-1"
	}
	return "MQTT-2.2.2-1"
}

// properties returns a packet's v5 properties.
func properties(p codec.Packet) *codec.Properties { return codec.PropertiesOf(p) }

func firstNote(c *Conv, k pcap.NoteKind, dir int) int {
	for _, n := range c.Notes {
		if n.Kind == k && dirIndex(n.Dir) == dir {
			return n.Frame
		}
	}
	return 0
}

// keepAlive returns the Keep Alive in force: the CONNACK's Server Keep Alive when present (v5),
// else the CONNECT's.
func keepAlive(c *Conv) time.Duration {
	ka := c.Connect.KeepAlive
	if c.Connack != nil && c.Connack.Properties.Has(codec.PropServerKeepAlive) {
		ka = c.Connack.Properties.ServerKeepAlive
	}
	return time.Duration(ka) * time.Second
}

func keepAliveClient() *Check {
	return &Check{
		ID: "3.1/keep-alive-client", Title: "a client lets no more than Keep Alive pass between its packets", Section: "3.1.2.10", Level: "MUST",
		Cites:       map[Role]Cite{Client: {V311: ids("MQTT-3.1.2-23"), V5: ids("MQTT-3.1.2-20", "MQTT-3.1.2-21")}},
		Applies:     func(c *Conv) bool { return FromStart(c) && c.Connect != nil },
		Conditional: true,
		Run: func(c *Conv, r *Reporter) {
			ka := keepAlive(c)
			if ka == 0 {
				return // no keep-alive in force
			}
			r.Judged(Client)
			st := "MQTT-3.1.2-23"
			if c.Version == codec.V5 {
				st = "MQTT-3.1.2-20"
				if c.Connack != nil && c.Connack.Properties.Has(codec.PropServerKeepAlive) {
					st = "MQTT-3.1.2-21"
				}
			}
			last := c.Recs[c.ConnectAt].Time
			for i := c.ConnectAt + 1; i < len(c.Recs); i++ {
				rec := &c.Recs[i]
				if rec.From != Client {
					continue
				}
				if gap := rec.Time.Sub(last); gap > ka+clientKeepAliveGrace {
					r.Fail(Client, st, i, "%v after %v of silence from the client; Keep Alive is %v", rec.Type, gap.Round(time.Millisecond), ka)
				}
				last = rec.Time
				if rec.Type == codec.DISCONNECT {
					return
				}
			}
			if end := c.closedAt(); end.Sub(last) > ka+clientKeepAliveGrace {
				r.Fail(Client, st, -1, "the client sent nothing for the last %v of the open connection; Keep Alive is %v", end.Sub(last).Round(time.Millisecond), ka)
			}
		},
	}
}

func keepAliveBroker() *Check {
	return &Check{
		ID: "3.1/keep-alive-server", Title: "a server closes a connection silent for 1.5 times Keep Alive", Section: "3.1.2.10", Level: "MUST",
		Cites:       map[Role]Cite{Broker: {V311: ids("MQTT-3.1.2-24"), V5: ids("MQTT-3.1.2-22")}},
		Applies:     func(c *Conv) bool { return FromStart(c) && c.Connect != nil },
		Conditional: true,
		Run: func(c *Conv, r *Reporter) {
			ka := keepAlive(c)
			if ka == 0 {
				return
			}
			r.Judged(Broker)
			st := "MQTT-3.1.2-24"
			if c.Version == codec.V5 {
				st = "MQTT-3.1.2-22"
			}
			s := c.Stream
			limit := ka*3/2 + brokerKeepAliveGrace
			last := c.Recs[c.ConnectAt].Time
			serverClosedBy := func(t time.Time) bool { return s.ServerClose != pcap.Open && !s.ServerCloseTime.After(t) }
			for i := c.ConnectAt + 1; i <= len(c.Recs); i++ {
				var next time.Time
				if i < len(c.Recs) {
					if c.Recs[i].From != Client {
						continue
					}
					next = c.Recs[i].Time
				} else {
					// After the last client packet: the connection lasts until a close or the end.
					next = c.End
					if s.ClientClose != pcap.Open {
						next = s.ClientCloseTime
					}
				}
				deadline := last.Add(limit)
				if next.After(deadline) && !serverClosedBy(deadline) {
					idx := i
					if i == len(c.Recs) {
						idx = -1
					}
					r.Fail(Broker, st, idx, "no packet from the client for %v (Keep Alive %v) and the server had not closed the connection", next.Sub(last).Round(time.Millisecond), ka)
					return
				}
				if i < len(c.Recs) {
					last = next
				}
			}
		},
	}
}

func qosFlowsComplete() *Check {
	cite := Cite{V311: ids("MQTT-4.3.2-2", "MQTT-4.3.3-1", "MQTT-4.3.3-2"), V5: ids("MQTT-4.3.2-4", "MQTT-4.3.3-8", "MQTT-4.3.3-4", "MQTT-4.3.3-11")}
	brokerCite := Cite{V311: append(slices.Clone(cite.V311), "MQTT-3.8.4-1", "MQTT-3.10.4-4", "MQTT-3.12.4-1"),
		V5: append(slices.Clone(cite.V5), "MQTT-3.8.4-1", "MQTT-3.10.4-4", "MQTT-3.12.4-1")}
	return &Check{
		ID: "4.3/flows-complete", Title: "every QoS flow, SUBSCRIBE, UNSUBSCRIBE and PINGREQ gets its answer", Section: "4.3", Level: "MUST",
		Cites:   map[Role]Cite{Client: cite, Broker: brokerCite},
		Applies: FromStart,
		Run: func(c *Conv, r *Reporter) {
			s := newSession()
			pings := []int{}
			for i := range c.Recs {
				s.step(c, i)
				switch c.Recs[i].Type {
				case codec.PINGREQ:
					pings = append(pings, i)
				case codec.PINGRESP:
					if len(pings) > 0 {
						pings = pings[1:]
					}
				}
			}
			ended := "the capture ended"
			if c.Stream.ClientClose != pcap.Open || c.Stream.ServerClose != pcap.Open {
				ended = "the connection closed"
			}
			st := func(v311, v5 string) string {
				if c.Version == codec.V5 {
					return v5
				}
				return v311
			}
			for side, m := range s.inUse {
				owner := []Role{Client, Broker}[side]
				var idsLeft []int
				for id := range m {
					idsLeft = append(idsLeft, int(id))
				}
				sort.Ints(idsLeft)
				for _, id := range idsLeft {
					q := m[uint16(id)]
					rec := &c.Recs[q.at]
					switch {
					case q.kind == codec.SUBSCRIBE:
						r.Warn(Broker, "MQTT-3.8.4-1", q.at, "SUBSCRIBE %d got no SUBACK before %s", id, ended)
					case q.kind == codec.UNSUBSCRIBE:
						r.Warn(Broker, "MQTT-3.10.4-4", q.at, "UNSUBSCRIBE %d got no UNSUBACK before %s", id, ended)
					case q.qos == 1:
						r.Warn(peer(owner), st("MQTT-4.3.2-2", "MQTT-4.3.2-4"), q.at, "%s (id %d) got no PUBACK before %s", describe(rec), id, ended)
					case q.stage == 0:
						r.Warn(peer(owner), st("MQTT-4.3.3-2", "MQTT-4.3.3-8"), q.at, "%s (id %d) got no PUBREC before %s", describe(rec), id, ended)
					case q.stage == 1:
						r.Warn(owner, st("MQTT-4.3.3-1", "MQTT-4.3.3-4"), q.at, "%s (id %d) got PUBREC, but no PUBREL followed before %s", describe(rec), id, ended)
					default:
						r.Warn(peer(owner), st("MQTT-4.3.3-2", "MQTT-4.3.3-11"), q.at, "%s (id %d): PUBREL got no PUBCOMP before %s", describe(rec), id, ended)
					}
				}
			}
			for _, i := range pings {
				if c.Recs[i].From == Client {
					r.Warn(Broker, "MQTT-3.12.4-1", i, "PINGREQ got no PINGRESP before %s", ended)
				}
			}
		},
	}
}

// orderQueue holds identifiers in arrival order and tells whether one leaves in turn.
type orderQueue struct {
	ids     []uint16
	head    int
	pending map[uint16]bool
}

func (q *orderQueue) push(id uint16) {
	if q.pending == nil {
		q.pending = map[uint16]bool{}
	}
	if !q.pending[id] {
		q.pending[id] = true
		q.ids = append(q.ids, id)
	}
}

// pop removes id and reports whether it was the oldest, and which was; an id not queued is
// another check's business and counts as in turn.
func (q *orderQueue) pop(id uint16) (bool, uint16) {
	if !q.pending[id] {
		return true, 0
	}
	for !q.pending[q.ids[q.head]] {
		q.head++
	}
	first := q.ids[q.head]
	delete(q.pending, id)
	if q.head > 1024 && q.head > len(q.ids)/2 {
		q.ids, q.head = slices.Clone(q.ids[q.head:]), 0
	}
	return first == id, first
}

// ackOrder checks that a client acknowledges the server's QoS 1 and QoS 2 messages, and
// releases its own QoS 2 messages, in the order they arrived.
func ackOrder(c *Conv, r *Reporter) {
	var q1, q2, rel orderQueue // server QoS 1 ids awaiting PUBACK, QoS 2 awaiting PUBREC; PUBRECs awaiting PUBREL
	for i := range c.Recs {
		rec := &c.Recs[i]
		switch p := rec.Packet.(type) {
		case *codec.Publish:
			if rec.From == Broker && p.QoS == 1 {
				q1.push(p.PacketID)
			}
			if rec.From == Broker && p.QoS == 2 {
				q2.push(p.PacketID)
			}
		case *codec.Puback:
			if rec.From == Client {
				if ok, head := q1.pop(p.PacketID); !ok {
					r.Fail(Client, "MQTT-4.6.0-2", i, "PUBACK %d sent before PUBACK %d, whose QoS 1 PUBLISH arrived first", p.PacketID, head)
				}
			}
		case *codec.Pubrec:
			if rec.From == Client {
				if ok, head := q2.pop(p.PacketID); !ok {
					r.Fail(Client, "MQTT-4.6.0-3", i, "PUBREC %d sent before PUBREC %d, whose QoS 2 PUBLISH arrived first", p.PacketID, head)
				}
			}
			if rec.From == Broker && p.ReasonCode < 0x80 {
				rel.push(p.PacketID)
			}
		case *codec.Pubrel:
			if rec.From == Client {
				if ok, head := rel.pop(p.PacketID); !ok {
					r.Fail(Client, "MQTT-4.6.0-4", i, "PUBREL %d sent before PUBREL %d, whose PUBREC arrived first", p.PacketID, head)
				}
			}
		}
	}
}

func reasonCodes(c *Conv, r *Reporter) {
	// Table 3-10: DISCONNECT codes only a server may send; Table 3-13: AUTH 0x19 only a client.
	serverOnlyDisconnect := []codec.ReasonCode{0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2}
	clientOnlyDisconnect := []codec.ReasonCode{0x04}
	v5 := map[codec.PacketType]string{
		codec.CONNACK: "MQTT-3.2.2-8", codec.PUBACK: "MQTT-3.4.2-1", codec.PUBREC: "MQTT-3.5.2-1", codec.PUBREL: "MQTT-3.6.2-1",
		codec.PUBCOMP: "MQTT-3.7.2-1", codec.SUBACK: "MQTT-3.9.3-2", codec.UNSUBACK: "MQTT-3.11.3-2",
		codec.DISCONNECT: "MQTT-3.14.2-1", codec.AUTH: "MQTT-3.15.2-1",
	}
	for i := range c.Recs {
		rec := &c.Recs[i]
		codes := reasonCodesOf(rec.Packet, c.Version)
		for _, rc := range codes {
			bad := ""
			st := v5[rec.Type]
			switch {
			case c.Version == codec.V5 && !rc.ValidFor(rec.Type):
				bad = "is not a " + rec.Type.String() + " reason code"
			case c.Version == codec.V5 && rec.Type == codec.DISCONNECT && rec.From == Client && slices.Contains(serverOnlyDisconnect, rc):
				bad = "may be sent only by a server"
			case c.Version == codec.V5 && rec.Type == codec.DISCONNECT && rec.From == Broker && slices.Contains(clientOnlyDisconnect, rc):
				bad = "may be sent only by a client"
			case c.Version == codec.V5 && rec.Type == codec.AUTH && rec.From == Broker && rc == codec.ReasonReAuthenticate:
				bad = "may be sent only by a client"
			case c.Version != codec.V5 && rec.Type == codec.SUBACK && rc > 2 && rc != 0x80:
				bad, st = "is a reserved SUBACK return code", "MQTT-3.9.3-2"
			case c.Version != codec.V5 && rec.Type == codec.CONNACK && rc > 5:
				bad, st = "is a reserved CONNACK return code (3.1.1 §3.2.2.3)", ""
			}
			if bad != "" {
				r.Fail(rec.From, st, i, "%v reason code 0x%02X %s", rec.Type, byte(rc), bad)
			}
		}
	}
}

// reasonCodesOf returns the reason (or return) codes a packet carries.
func reasonCodesOf(p codec.Packet, v codec.Version) []codec.ReasonCode {
	switch p := p.(type) {
	case *codec.Connack:
		return []codec.ReasonCode{p.ReasonCode}
	case *codec.Suback:
		return p.ReasonCodes
	}
	if v != codec.V5 {
		return nil
	}
	switch p := p.(type) {
	case *codec.Puback:
		return []codec.ReasonCode{p.ReasonCode}
	case *codec.Pubrec:
		return []codec.ReasonCode{p.ReasonCode}
	case *codec.Pubrel:
		return []codec.ReasonCode{p.ReasonCode}
	case *codec.Pubcomp:
		return []codec.ReasonCode{p.ReasonCode}
	case *codec.Unsuback:
		return p.ReasonCodes
	case *codec.Disconnect:
		return []codec.ReasonCode{p.ReasonCode}
	case *codec.Auth:
		return []codec.ReasonCode{p.ReasonCode}
	}
	return nil
}

// subscription is a topic filter a client subscribed to on the connection.
type subscription struct {
	filter  string // without a $share/name/ prefix
	qos     byte   // the highest QoS requested or granted for it
	rap     bool
	at      time.Time
	granted bool
}

// maxSubscriptions bounds the filters followed per stream: beyond it the subscription checks give
// up on the stream rather than spend time in proportion to filters × messages.
const maxSubscriptions = 4096

// subscriptions follows the filters a client subscribed to, with the QoS the server granted
// (taken from the SUBACK; until then the QoS requested).
type subscriptions struct {
	subs     []*subscription
	pending  map[uint16][]*subscription
	overflow bool
}

func (s *subscriptions) step(rec *Rec) {
	switch p := rec.Packet.(type) {
	case *codec.Subscribe:
		if rec.From != Client {
			return
		}
		if len(s.subs)+len(p.Subscriptions) > maxSubscriptions {
			s.overflow = true
			return
		}
		var added []*subscription
		for _, sb := range p.Subscriptions {
			f := sb.Filter
			if _, inner, ok := codec.SharedFilter(f); ok {
				f = inner
			}
			n := &subscription{filter: f, qos: min(sb.QoS, 2), rap: sb.RetainAsPublished, at: rec.Time}
			s.subs = append(s.subs, n)
			added = append(added, n)
		}
		if s.pending == nil {
			s.pending = map[uint16][]*subscription{}
		}
		s.pending[p.PacketID] = added
	case *codec.Suback:
		if rec.From != Broker {
			return
		}
		added := s.pending[p.PacketID]
		delete(s.pending, p.PacketID)
		for i, n := range added {
			if i >= len(p.ReasonCodes) {
				break
			}
			n.granted = true
			if rc := p.ReasonCodes[i]; rc <= 2 {
				n.qos = byte(rc)
			} else {
				n.qos = 0
				n.filter = "" // refused: matches nothing
			}
		}
	}
}

// matching returns the subscriptions whose filter matches the topic.
func (s *subscriptions) matching(topic string) []*subscription {
	var out []*subscription
	for _, n := range s.subs {
		if n.filter != "" && codec.MatchTopic(n.filter, topic) {
			out = append(out, n)
		}
	}
	return out
}

// subscriptionDeliveries checks the server's PUBLISH packets on a fresh session against the
// client's subscriptions: the topic must match one (MQTT-3.3.2-3), and with qos the QoS must not
// exceed the highest granted among those that match (MQTT-3.8.4-6 / -8). Filters stay counted
// after an UNSUBSCRIBE, since messages queued before it may still arrive.
func subscriptionDeliveries(c *Conv, r *Reporter, qos bool) {
	var subs subscriptions
	for i := range c.Recs {
		rec := &c.Recs[i]
		subs.step(rec)
		if subs.overflow {
			return
		}
		p, ok := rec.Packet.(*codec.Publish)
		if !ok || rec.From != Broker || rec.Topic == "" {
			continue
		}
		m := subs.matching(rec.Topic)
		if !qos {
			if len(m) == 0 {
				r.Fail(Broker, "MQTT-3.3.2-3", i, "PUBLISH on %q, which matches none of the client's subscriptions", rec.Topic)
			}
			continue
		}
		if len(m) == 0 {
			continue
		}
		granted := byte(0)
		for _, n := range m {
			granted = max(granted, n.qos)
		}
		if p.QoS <= 2 && p.QoS > granted {
			st := "MQTT-3.8.4-6"
			if c.Version == codec.V5 {
				st = "MQTT-3.8.4-8"
			}
			r.Fail(Broker, st, i, "PUBLISH on %q at QoS %d, the subscription allows at most QoS %d", rec.Topic, p.QoS, granted)
		}
	}
	r.Judged(Broker)
}

// forwardedRetain follows messages across streams: a message a client published with RETAIN 0
// (or 1) on one stream and that reaches a subscriber whose subscription already existed is a
// forwarded message, whose RETAIN flag must be 0 (3.1.1; 5.0 with Retain As Published 0) or
// the publisher's (5.0 with Retain As Published 1).
func forwardedRetain(c *Conv, r *Reporter) {
	var subs subscriptions
	for i := range c.Recs {
		rec := &c.Recs[i]
		subs.step(rec)
		if subs.overflow {
			return
		}
		p, ok := rec.Packet.(*codec.Publish)
		if !ok || rec.From != Broker || p.Dup || rec.Topic == "" {
			continue
		}
		src := lastPublication(c, rec.Topic, p.Payload, rec.Time)
		if src == nil {
			continue
		}
		m := subs.matching(rec.Topic)
		if len(m) == 0 {
			continue
		}
		established, rap, mixed := true, m[0].rap, false
		for _, n := range m {
			established = established && n.at.Before(src.Time)
			mixed = mixed || n.rap != rap
		}
		// A SUBSCRIBE matching the topic after the publication may have caused a retained
		// delivery, with RETAIN 1 legitimately.
		for _, j := range c.subscribes {
			if j >= i {
				break
			}
			if sb := c.Recs[j].Packet.(*codec.Subscribe); c.Recs[j].Time.After(src.Time) {
				for _, s := range sb.Subscriptions {
					f := s.Filter
					if _, inner, ok := codec.SharedFilter(f); ok {
						f = inner
					}
					if codec.MatchTopic(f, rec.Topic) {
						established = false
					}
				}
			}
		}
		if !established || mixed {
			continue
		}
		r.Judged(Broker)
		want, st := false, "MQTT-3.3.1-9"
		if c.Version == codec.V5 {
			st = "MQTT-3.3.1-12"
			if rap {
				want, st = src.Packet.(*codec.Publish).Retain, "MQTT-3.3.1-13"
			}
		}
		if p.Retain != want {
			r.Fail(Broker, st, i, "message on %q published at frame %d (stream %d) with RETAIN %d forwarded to an existing subscription with RETAIN %d",
				rec.Topic, src.Frame, src.conv.Stream.ID, b2i(src.Packet.(*codec.Publish).Retain), b2i(p.Retain))
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

type publication struct {
	*Rec
	conv *Conv
}

// lastPublication finds the latest client PUBLISH of the same topic and payload, on any stream,
// in the 10 seconds before t.
func lastPublication(c *Conv, topic string, payload []byte, t time.Time) *publication {
	list := c.pubs[topic]
	// The first publication at or after t; look back from there.
	i, _ := slices.BinarySearchFunc(list, t, func(p publication, t time.Time) int {
		if p.Time.Before(t) {
			return -1
		}
		return 1
	})
	for i--; i >= 0; i-- {
		p := &list[i]
		if t.Sub(p.Time) > 10*time.Second {
			break
		}
		if bytes.Equal(p.Packet.(*codec.Publish).Payload, payload) {
			return p
		}
	}
	return nil
}

func codesPerFilter(c *Conv, r *Reporter) {
	filters := map[codec.PacketType]map[uint16]int{codec.SUBSCRIBE: {}, codec.UNSUBSCRIBE: {}}
	for i := range c.Recs {
		rec := &c.Recs[i]
		switch p := rec.Packet.(type) {
		case *codec.Subscribe:
			if rec.From == Client {
				filters[codec.SUBSCRIBE][p.PacketID] = len(p.Subscriptions)
			}
		case *codec.Unsubscribe:
			if rec.From == Client {
				filters[codec.UNSUBSCRIBE][p.PacketID] = len(p.Filters)
			}
		case *codec.Suback:
			if n, ok := filters[codec.SUBSCRIBE][p.PacketID]; ok && rec.From == Broker {
				delete(filters[codec.SUBSCRIBE], p.PacketID)
				if len(p.ReasonCodes) != n {
					st := "MQTT-3.8.4-5"
					if c.Version == codec.V5 {
						st = "MQTT-3.8.4-6"
					}
					r.Fail(Broker, st, i, "SUBACK %d has %d reason codes for %d topic filters", p.PacketID, len(p.ReasonCodes), n)
				}
			}
		case *codec.Unsuback:
			if n, ok := filters[codec.UNSUBSCRIBE][p.PacketID]; ok && rec.From == Broker && c.Version == codec.V5 {
				delete(filters[codec.UNSUBSCRIBE], p.PacketID)
				if len(p.ReasonCodes) != n {
					r.Fail(Broker, "MQTT-3.11.3-1", i, "UNSUBACK %d has %d reason codes for %d topic filters", p.PacketID, len(p.ReasonCodes), n)
				}
			}
		}
	}
}

func topicAliases(c *Conv, r *Reporter) {
	max := map[Role]uint16{ // the largest alias each role may send
		Client: c.Connack.Properties.TopicAliasMaximum,
		Broker: c.Connect.Properties.TopicAliasMaximum,
	}
	for i := range c.Recs {
		rec := &c.Recs[i]
		p, ok := rec.Packet.(*codec.Publish)
		if !ok || !p.Properties.Has(codec.PropTopicAlias) {
			continue
		}
		if rec.From == Client && i < c.ConnackAt {
			continue // sent before the client could know the server's maximum
		}
		a, m := p.Properties.TopicAlias, max[rec.From]
		switch {
		case a == 0:
			r.Fail(rec.From, "MQTT-3.3.2-8", i, "PUBLISH with Topic Alias 0")
		case m == 0:
			st := map[Role]string{Client: "MQTT-3.2.2-18", Broker: "MQTT-3.1.2-27"}[rec.From]
			r.Fail(rec.From, st, i, "PUBLISH with Topic Alias %d, but the receiver allowed none (Topic Alias Maximum absent or 0)", a)
		case a > m:
			st := map[Role]string{Client: "MQTT-3.2.2-17", Broker: "MQTT-3.1.2-26"}[rec.From]
			r.Fail(rec.From, st, i, "PUBLISH with Topic Alias %d above the receiver's Topic Alias Maximum %d", a, m)
		}
	}
}

func receiveMaximum(c *Conv, r *Reporter) {
	limit := map[Role]int{Client: 65535, Broker: 65535} // what each role may have outstanding
	if c.Connack.Properties.Has(codec.PropReceiveMaximum) {
		limit[Client] = int(c.Connack.Properties.ReceiveMaximum)
	}
	if c.Connect.Properties.Has(codec.PropReceiveMaximum) {
		limit[Broker] = int(c.Connect.Properties.ReceiveMaximum)
	}
	s := newSession()
	for i := range c.Recs {
		rec := &c.Recs[i]
		res := s.step(c, i)
		if !res.newID && !res.reuse || rec.Type != codec.PUBLISH {
			continue
		}
		if rec.From == Client && i < c.ConnackAt {
			continue
		}
		n := 0
		for _, q := range s.inUse[roleIndex(rec.From)] {
			if q.kind == codec.PUBLISH {
				n++
			}
		}
		if n > limit[rec.From] {
			st := map[Role]string{Client: "MQTT-3.3.4-7", Broker: "MQTT-3.3.4-9"}[rec.From]
			r.Fail(rec.From, st, i, "%d QoS>0 PUBLISH unacknowledged, the receiver's Receive Maximum is %d", n, limit[rec.From])
		}
	}
}

// coveredRules are the codec rules with a check of their own above; wellFormed reports every
// other rule the lenient decoder saw broken.
var coveredRules = []string{
	"reserved-flags", "pubrel-flags", "subscribe-flags", "unsubscribe-flags", "disconnect-flags", "auth-flags",
	"publish-qos3", "publish-dup-qos0", "packet-id-zero", "packet-id-zero-server", "ack-packet-id-zero",
	"suback-packet-id-zero", "topic-alias-zero", "connack-reason-code", "puback-reason-code", "pubrec-reason-code",
	"pubrel-reason-code", "pubcomp-reason-code", "suback-reason-code", "unsuback-reason-code",
	"disconnect-reason-code", "auth-reason-code",
}

func wellFormed() *Check {
	var v311, v5 []string
	for _, rule := range codec.Rules() {
		if slices.Contains(coveredRules, rule.Name) {
			continue
		}
		if rule.V311 != "" && !slices.Contains(v311, rule.V311) {
			v311 = append(v311, rule.V311)
		}
		if rule.V5 != "" && !slices.Contains(v5, rule.V5) {
			v5 = append(v5, rule.V5)
		}
	}
	return &Check{
		ID: "2/well-formed", Title: "every packet decodes without breaking an encoding rule of the codec", Section: "2", Level: "MUST",
		Cites: both(Cite{V311: v311, V5: v5}),
		Run: func(c *Conv, r *Reporter) {
			for i := range c.Recs {
				rec := &c.Recs[i]
				for _, v := range rec.Violations {
					if !slices.Contains(coveredRules, v.Rule) {
						r.Fail(rec.From, v.Statement, i, "%s", v.Error())
					}
				}
				if rec.Err != nil && rec.Raw != nil {
					var ce *codec.Error
					st := ""
					if errors.As(rec.Err, &ce) {
						st = ce.Statement
					}
					r.Fail(rec.From, st, i, "cannot decode: %v", rec.Err)
				}
			}
		},
	}
}
