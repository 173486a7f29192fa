// Package oracle judges what an MQTT peer sent back on one connection: given the bytes a tester
// sent (often hostile) and the bytes the peer under test answered with, it decodes the answers
// with the strict codec and reports every answer the specification forbids — a malformed packet,
// an acknowledgement carrying a packet identifier nobody sent, a SUBACK with the wrong number of
// codes, a delivery above the granted QoS, a packet after DISCONNECT or after a refused CONNACK —
// and whether a violation by the tester ended the way the specification asks (the connection
// closed, a DISCONNECT with an error reason code, the reason the codec names).
//
// The fuzz targets of the reference broker and client (package fuzz, reference/broker's
// FuzzServeConn) and `mqttspec fuzz diff` use it, so that a fuzzer fails on a wrong answer and not
// only on a crash. Every check is shown to fire on a planted wrong answer (oracle_test.go).
package oracle

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
)

// Role names the peer under test.
type Role int

// Roles.
const (
	Broker Role = iota // the tester is a client; the answers come from a broker
	Client             // the tester is a broker; the answers come from a client
)

// Conversation is one network connection as the checker sees it.
type Conversation struct {
	// Sent is everything the tester wrote to the peer, in order.
	Sent []byte
	// Got is everything the peer wrote back, in order (a trailing partial packet is ignored).
	Got []byte
	// Closed: the peer closed the connection while the tester still held it open.
	Closed bool
	// Waited: after its last write the tester kept reading until the peer closed or the tester's
	// bound passed, so Closed false means "did not close within the bound". Without it the close
	// checks are skipped.
	Waited bool
}

// Options tune the checks to what the caller knows about the peer.
type Options struct {
	Role Role
	// Version of the connection; VersionUnknown learns it from the CONNECT.
	Version codec.Version
	// PeerMaxPacketSize is the largest packet the peer accepts (0: the codec's maximum; a 5.0
	// CONNACK's or CONNECT's Maximum Packet Size overrides it). A larger packet from the tester is
	// a violation the peer must react to.
	PeerMaxPacketSize int
	// Fresh: the peer holds no state from earlier connections (no session to resume, no
	// retained messages, no other publisher). It enables the checks that need that: deliveries
	// only on subscribed topics, a PUBREL only for a QoS 2 PUBLISH of this connection.
	Fresh bool
	// ExactReason: a DISCONNECT answering a packet the codec rejects carries the codec's reason
	// code (0x82 Protocol Error when that code is not a DISCONNECT reason code), as the
	// reference broker and client document. Off, any reason of 0x80 or above is accepted.
	ExactReason bool
	// AcceptsConnect: the peer (a broker) accepts every CONNECT the codec accepts — no
	// authentication, no limit that refuses one — so a valid CONNECT must get its CONNACK before
	// the peer closes, whatever follows it.
	AcceptsConnect bool
}

// Violation is one answer the specification forbids.
type Violation struct {
	Check     string // the check's stable name (Checks lists them)
	Statement string // version-qualified statement ID, or a section when none is numbered
	Packet    int    // index of the offending answer among the peer's packets, -1 for the connection
	Detail    string
}

func (v Violation) Error() string {
	where := "connection"
	if v.Packet >= 0 {
		where = fmt.Sprintf("answer #%d", v.Packet+1)
	}
	return fmt.Sprintf("%s: %s: %s [%s]", v.Check, where, v.Detail, v.Statement)
}

// Violations is the error Check's callers get from Err; errors.As finds it.
type Violations []Violation

func (vs Violations) Error() string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.Error()
	}
	return strings.Join(s, "; ")
}

// Err returns vs as an error, nil when empty.
func Err(vs []Violation) error {
	if len(vs) == 0 {
		return nil
	}
	return Violations(vs)
}

// Check names, as Violation.Check carries them.
const (
	CheckMalformed        = "malformed-answer"       // an answer the strict codec rejects
	CheckTooLarge         = "answer-too-large"       // above the tester's Maximum Packet Size
	CheckFirstPacket      = "first-packet"           // a broker's first answer not CONNACK/AUTH, a client's not CONNECT
	CheckSecondConnack    = "second-connack"         // a second CONNACK (or a client's second CONNECT)
	CheckAnswerNoConnect  = "answer-without-connect" // a broker answered a stream that does not start with CONNECT
	CheckDisconnectEarly  = "disconnect-before-connack"
	CheckAfterDisconnect  = "packet-after-disconnect" // anything after the peer's own DISCONNECT
	CheckAfterRefusal     = "packet-after-refusal"    // anything after a CONNACK refusing the connection
	CheckAckID            = "ack-packet-id"           // an acknowledgement with an identifier the tester never sent
	CheckAckCount         = "ack-reason-count"        // SUBACK/UNSUBACK with the wrong number of codes
	CheckQoSGranted       = "qos-above-granted"       // a delivery above the QoS the SUBACK granted
	CheckGrantedAbove     = "granted-above-requested" // a SUBACK granting more than the SUBSCRIBE asked
	CheckUnsubscribed     = "delivery-unsubscribed"   // a delivery no subscription of a fresh session matches
	CheckTopicAliasMax    = "topic-alias-above-max"   // a server's Topic Alias above the client's maximum
	CheckPubrelID         = "pubrel-packet-id"        // a PUBREL for no QoS 2 PUBLISH of the peer
	CheckAcceptedBad      = "accepted-bad-connect"    // CONNACK 0 to a CONNECT the codec rejects
	CheckNoClose          = "no-close"                // a violation by the tester, and the peer kept the connection open
	CheckDisconnectReason = "disconnect-reason"       // a DISCONNECT for a violation with a success or the wrong code
	CheckConnackMissing   = "connack-missing"         // a valid CONNECT, then a close without CONNACK (AcceptsConnect)
)

// Checks returns every check name.
func Checks() []string {
	return []string{CheckMalformed, CheckTooLarge, CheckFirstPacket, CheckSecondConnack, CheckAnswerNoConnect,
		CheckDisconnectEarly, CheckAfterDisconnect, CheckAfterRefusal, CheckAckID, CheckAckCount, CheckQoSGranted, CheckGrantedAbove,
		CheckUnsubscribed, CheckTopicAliasMax, CheckPubrelID, CheckAcceptedBad, CheckNoClose, CheckDisconnectReason, CheckConnackMissing}
}

// Stream is what the strict codec makes of one direction of a connection.
type Stream struct {
	Packets []codec.Packet // decoded in order, up to the first error
	Raw     [][]byte       // the bytes of each packet
	Err     *codec.Error   // the first rejection, nil when every complete packet is valid
	Other   error          // a failure that is not a rule (should not happen)
	Partial bool           // the bytes end inside a packet
	Version codec.Version  // as learnt from a CONNECT
}

// Decode decodes b strictly as packets sent by sender, learning the version from a CONNECT
// when v is VersionUnknown; max limits the packet size (0: the codec's maximum).
func Decode(b []byte, v codec.Version, sender codec.Side, max int) Stream {
	s := Stream{Version: v}
	dc := &codec.Decoder{Options: codec.Options{Version: v, Sender: sender, MaxPacketSize: max}}
	for len(b) > 0 {
		before := dc.Options
		_, n, err := dc.Decode(b)
		if errors.Is(err, codec.ErrShort) {
			s.Partial = true
			break
		}
		if err != nil {
			if !errors.As(err, &s.Err) {
				s.Other = err
			}
			break
		}
		p, _, _ := codec.DecodeWith(before, b[:n], nil) // a copy that owns its memory
		s.Packets = append(s.Packets, p)
		s.Raw = append(s.Raw, b[:n:n])
		b = b[n:]
		if c, ok := p.(*codec.Connect); ok && s.Version == codec.VersionUnknown {
			s.Version = c.Version()
		}
	}
	if s.Version == codec.VersionUnknown {
		s.Version = dc.Version
	}
	if s.Version == codec.VersionUnknown && len(s.Packets) == 0 {
		// A CONNECT the codec rejects still says which version its peer will answer in.
		s.Version = connectLevel(b)
	}
	return s
}

// connectLevel reads the protocol level of what looks like a CONNECT: 4 (3.1.1) or 5, else
// VersionUnknown.
func connectLevel(b []byte) codec.Version {
	if len(b) < 2 || b[0]>>4 != byte(codec.CONNECT) {
		return codec.VersionUnknown
	}
	i := 1
	for i < len(b) && i < 5 && b[i]&0x80 != 0 {
		i++
	}
	i++ // past the last length byte
	if i+2 > len(b) {
		return codec.VersionUnknown
	}
	n := int(b[i])<<8 | int(b[i+1])
	if at := i + 2 + n; at < len(b) {
		switch b[at] {
		case 4:
			return codec.V311
		case 5:
			return codec.V5
		}
	}
	return codec.VersionUnknown
}

// stmt picks the statement of the connection's version: "5.0:ID" or "3.1.1:ID"; an empty ID of
// a version falls back to the other's section text given as fallback.
func stmt(v codec.Version, v5, v311, fallback string) string {
	if v == codec.V5 && v5 != "" {
		return "5.0:" + v5
	}
	if v != codec.V5 && v311 != "" {
		return "3.1.1:" + v311
	}
	return fallback
}

// ExpectedReason is the DISCONNECT reason code the reference implementations send for a packet
// the codec rejects: the codec's own, or 0x82 Protocol Error when that is not a DISCONNECT code.
func ExpectedReason(e *codec.Error) codec.ReasonCode {
	rc := e.Reason
	if e.Rule == "topic-alias-zero" {
		rc = codec.ReasonTopicAliasInvalid // §3.3.4 names 0x94 for alias 0
	}
	if !rc.ValidFor(codec.DISCONNECT) {
		rc = codec.ReasonProtocolError
	}
	return rc
}

// Cause is why the peer has to close the connection after the tester's bytes, "" for none.
func Cause(sent Stream, role Role) string {
	if len(sent.Packets) > 0 {
		first := sent.Packets[0]
		switch f := first.(type) {
		case *codec.Connect:
			if role == Client {
				return "a CONNECT from the broker"
			}
		case *codec.Connack:
			if role == Broker {
				return "the first packet is CONNACK, not CONNECT"
			}
			if f.ReasonCode != 0 {
				return "the tester's refusing CONNACK"
			}
		case *codec.Auth:
			if role == Broker {
				return "the first packet is AUTH, not CONNECT"
			}
		default:
			if role == Broker {
				return "the first packet is " + first.Type().String() + ", not CONNECT"
			}
			return "the first packet is " + first.Type().String() + ", not CONNACK"
		}
		aliases := map[uint16]bool{} // the Topic Aliases the tester's PUBLISH packets mapped
		for _, p := range sent.Packets[1:] {
			if pub, ok := p.(*codec.Publish); ok && pub.Properties.Has(codec.PropTopicAlias) {
				// An alias with an empty topic must have been mapped on this connection before
				// (§3.3.2.3.4): the peer's 0x82 answers this PUBLISH (either side), which the codec alone
				// cannot judge.
				a := pub.Properties.TopicAlias
				if pub.Topic != "" {
					aliases[a] = true
				} else if !aliases[a] {
					return fmt.Sprintf("a PUBLISH with Topic Alias %d, never mapped on this connection, and no topic", a)
				}
			}
			switch p.(type) {
			case *codec.Connect:
				if role == Broker {
					return "a second CONNECT"
				}
			case *codec.Connack:
				if role == Client {
					return "a second CONNACK" // a Protocol Error the codec cannot see alone
				}
			case *codec.Auth:
				// 5.0 MQTT-4.12.0-7: AUTH on a connection whose CONNECT named no Authentication
				// Method is a Protocol Error; the codec cannot see that in the AUTH alone, so the
				// broker's 0x82 DISCONNECT answers this AUTH, not a later malformed packet.
				if c, ok := first.(*codec.Connect); ok && role == Broker && !c.Properties.Has(codec.PropAuthMethod) {
					return "an AUTH on a connection whose CONNECT named no Authentication Method"
				}
			case *codec.Disconnect:
				return "the tester's DISCONNECT"
			}
			// A packet of the other direction (a client's CONNACK, SUBACK, UNSUBACK or PINGRESP; a
			// broker's SUBSCRIBE, UNSUBSCRIBE or PINGREQ) is a Protocol Error the codec decodes
			// without complaint: the peer's 0x82 answers it, not a later malformed packet.
			if t := p.Type(); serverOnly(t) && role == Broker || clientOnly(t) && role == Client {
				return "a " + t.String() + ", which only the other side sends"
			}
		}
	}
	if sent.Err != nil {
		return "a packet the codec rejects: " + sent.Err.Error()
	}
	return ""
}

// Check runs every check on c and returns the violations found, in answer order.
func Check(c Conversation, o Options) []Violation {
	testerSide, peerSide := codec.SideClient, codec.SideServer
	if o.Role == Client {
		testerSide, peerSide = codec.SideServer, codec.SideClient
	}
	v := o.Version
	var sent, got Stream
	if o.Role == Broker {
		sent = Decode(c.Sent, v, testerSide, o.PeerMaxPacketSize)
		v = sent.Version
	} else {
		got = Decode(c.Got, v, peerSide, 0)
		v = got.Version
	}
	ck := &checker{o: o, v: v}
	// The limits each side announced: the tester's CONNECT (broker role) bounds what the peer
	// may send; the peer's CONNACK bounds what the tester may send (the tester's stream is
	// decoded again with it, since its packets past the limit are violations the peer sees).
	if o.Role == Broker {
		if cp, ok := first(sent.Packets).(*codec.Connect); ok && v == codec.V5 {
			ck.aliasMax = int(cp.Properties.TopicAliasMaximum)
			max := 0
			if cp.Properties.Has(codec.PropMaximumPacketSize) {
				max = int(cp.Properties.MaximumPacketSize)
			}
			got = Decode(c.Got, v, peerSide, max)
			ck.cleanStart = cp.CleanStart
		} else {
			if ok {
				ck.cleanStart = cp.CleanStart
			}
			got = Decode(c.Got, v, peerSide, 0)
		}
		if ack, ok := first(got.Packets).(*codec.Connack); ok && v == codec.V5 && ack.Properties.Has(codec.PropMaximumPacketSize) {
			sent = Decode(c.Sent, v, testerSide, int(ack.Properties.MaximumPacketSize))
		}
	} else {
		sent = Decode(c.Sent, v, testerSide, o.PeerMaxPacketSize)
		if cp, ok := first(got.Packets).(*codec.Connect); ok {
			ck.cleanStart = cp.CleanStart
			if v == codec.V5 && cp.Properties.Has(codec.PropMaximumPacketSize) {
				sent = Decode(c.Sent, v, testerSide, int(cp.Properties.MaximumPacketSize))
			}
		}
	}
	ck.seen(sent)
	ck.answers(got)
	ck.reaction(c, sent, got)
	return ck.out
}

func first(ps []codec.Packet) codec.Packet {
	if len(ps) == 0 {
		return nil
	}
	return ps[0]
}

type checker struct {
	o          Options
	v          codec.Version
	aliasMax   int
	cleanStart bool
	out        []Violation

	// What the tester sent that the peer can answer (the valid prefix up to a DISCONNECT).
	noConnect bool
	qos1      map[uint16]bool
	qos2      map[uint16]bool
	pubrel    map[uint16]bool
	pubrec    map[uint16]bool
	// A SUBSCRIBE or UNSUBSCRIBE identifier may be used again once answered, so each holds
	// every request that carried it.
	subs   map[uint16][][]codec.Subscription
	unsubs map[uint16][]int
}

func (ck *checker) add(check, statement string, i int, format string, args ...any) {
	ck.out = append(ck.out, Violation{Check: check, Statement: statement, Packet: i, Detail: fmt.Sprintf(format, args...)})
}

// seen records what the tester sent, up to where the peer stops processing.
func (ck *checker) seen(sent Stream) {
	ck.qos1, ck.qos2, ck.pubrel, ck.pubrec = map[uint16]bool{}, map[uint16]bool{}, map[uint16]bool{}, map[uint16]bool{}
	ck.subs, ck.unsubs = map[uint16][][]codec.Subscription{}, map[uint16][]int{}
	if ck.o.Role == Broker {
		if _, ok := first(sent.Packets).(*codec.Connect); !ok {
			// (A CONNECT the codec rejects may get a refusing CONNACK: reaction checks that.)
			ck.noConnect = len(sent.Packets) > 0 || (sent.Err != nil && sent.Err.Packet != codec.CONNECT)
			return
		}
	}
	for i, p := range sent.Packets {
		switch p := p.(type) {
		case *codec.Publish:
			if p.QoS == 1 {
				ck.qos1[p.PacketID] = true
			} else if p.QoS == 2 {
				ck.qos2[p.PacketID] = true
			}
		case *codec.Pubrel:
			ck.pubrel[p.PacketID] = true
		case *codec.Pubrec:
			ck.pubrec[p.PacketID] = true
		case *codec.Subscribe:
			ck.subs[p.PacketID] = append(ck.subs[p.PacketID], append([]codec.Subscription(nil), p.Subscriptions...))
		case *codec.Unsubscribe:
			ck.unsubs[p.PacketID] = append(ck.unsubs[p.PacketID], len(p.Filters))
		case *codec.Disconnect:
			return
		case *codec.Connect:
			if i > 0 {
				return
			}
		}
	}
}

// answers walks the peer's packets in order.
func (ck *checker) answers(got Stream) {
	v := ck.v
	var (
		connacked, refused, disconnected bool
		grants                           []codec.Subscription // granted QoS in QoS
		aliases                          = map[uint16]string{}
		peerQoS2                         = map[uint16]bool{}
		subAnswered                      = map[uint16]int{} // SUBSCRIBEs of each identifier answered so far
	)
	if ck.noConnect && len(got.Packets) > 0 {
		ck.add(CheckAnswerNoConnect, stmt(v, "MQTT-3.1.0-1", "MQTT-3.1.0-1", "§3.1"), 0,
			"answered %v to a stream that does not start with CONNECT", got.Packets[0])
	}
	for i, p := range got.Packets {
		if disconnected {
			ck.add(CheckAfterDisconnect, stmt(v, "MQTT-3.14.4-1", "MQTT-3.14.4-1", "§3.14.4"), i, "%v after the peer's own DISCONNECT", p)
		} else if refused {
			ck.add(CheckAfterRefusal, stmt(v, "MQTT-3.2.2-7", "MQTT-3.2.2-5", "§3.2.2"), i, "%v after a CONNACK refusing the connection", p)
		}
		if i == 0 {
			if ck.o.Role == Broker {
				switch p.(type) {
				case *codec.Connack:
				case *codec.Auth:
					if v != codec.V5 {
						ck.add(CheckFirstPacket, stmt(v, "MQTT-3.2.0-1", "MQTT-3.2.0-1", "§3.2"), i, "first answer %v, not CONNACK", p)
					}
				default:
					if _, ok := p.(*codec.Disconnect); !ok || v != codec.V5 {
						ck.add(CheckFirstPacket, stmt(v, "MQTT-3.2.0-1", "MQTT-3.2.0-1", "§3.2"), i, "first answer %v, not CONNACK", p)
					}
				}
			} else if _, ok := p.(*codec.Connect); !ok {
				ck.add(CheckFirstPacket, stmt(v, "MQTT-3.1.0-1", "MQTT-3.1.0-1", "§3.1"), i, "first packet %v, not CONNECT", p)
			}
		}
		switch p := p.(type) {
		case *codec.Connack:
			if connacked {
				ck.add(CheckSecondConnack, stmt(v, "MQTT-3.2.0-2", "", "3.1.1:§3.2"), i, "a second CONNACK")
			}
			connacked = true
			refused = p.ReasonCode != 0
		case *codec.Connect:
			if i > 0 {
				ck.add(CheckSecondConnack, stmt(v, "MQTT-3.1.0-2", "MQTT-3.1.0-2", "§3.1"), i, "a second CONNECT")
			}
		case *codec.Disconnect:
			if ck.o.Role == Broker && !connacked {
				ck.add(CheckDisconnectEarly, stmt(v, "MQTT-3.14.0-1", "", "§3.14"), i, "DISCONNECT %v before any CONNACK", p.ReasonCode)
			}
			disconnected = true
		case *codec.Puback:
			ck.ackID(i, "PUBACK", p.PacketID, ck.qos1, "QoS 1 PUBLISH")
		case *codec.Pubrec:
			ck.ackID(i, "PUBREC", p.PacketID, ck.qos2, "QoS 2 PUBLISH")
		case *codec.Pubcomp:
			ck.ackID(i, "PUBCOMP", p.PacketID, ck.pubrel, "PUBREL")
		case *codec.Pubrel:
			// (A PUBREL answering the tester's PUBREC for an unknown identifier is how 5.0 says
			// 0x92 Packet Identifier not found.)
			if (ck.o.Fresh || ck.cleanStart) && !peerQoS2[p.PacketID] && !ck.pubrec[p.PacketID] {
				ck.add(CheckPubrelID, stmt(v, "MQTT-4.3.3-4", "MQTT-4.3.3-1", "§4.3.3"), i,
					"PUBREL %d, but neither the peer's QoS 2 PUBLISH nor the tester's PUBREC carried that identifier on this connection", p.PacketID)
			}
		case *codec.Suback:
			reqs, ok := ck.subs[p.PacketID]
			if !ok {
				ck.add(CheckAckID, stmt(v, "MQTT-2.2.1-6", "MQTT-3.8.4-2", "§3.9"), i, "SUBACK %d answers no SUBSCRIBE (sent: %v)", p.PacketID, keys(ck.subs))
				break
			}
			// SUBACKs answer SUBSCRIBEs of one identifier in order (a tester may reuse an
			// identifier once its SUBACK came): the first unanswered request of that length.
			var subs []codec.Subscription
			for k := subAnswered[p.PacketID]; k < len(reqs); k++ {
				if len(reqs[k]) == len(p.ReasonCodes) {
					subs = reqs[k]
					subAnswered[p.PacketID] = k + 1
					break
				}
			}
			if subs == nil {
				for _, r := range reqs { // more SUBACKs than SUBSCRIBEs: the count check below
					if len(r) == len(p.ReasonCodes) {
						subs = r
						break
					}
				}
			}
			if subs == nil {
				ck.add(CheckAckCount, stmt(v, "MQTT-3.8.4-6", "MQTT-3.8.4-5", "§3.9.3"), i, "SUBACK %d has %d codes for %d filters", p.PacketID, len(p.ReasonCodes), len(reqs[0]))
				break
			}
			for k, rc := range p.ReasonCodes {
				if rc < 0x80 && byte(rc) > subs[k].QoS {
					ck.add(CheckGrantedAbove, stmt(v, "MQTT-3.8.4-7", "MQTT-3.8.4-5", "§3.8.4"), i,
						"SUBACK %d grants QoS %d to %q, which asked for QoS %d", p.PacketID, rc, subs[k].Filter, subs[k].QoS)
				}
				if rc < 0x80 {
					g := subs[k]
					g.QoS = byte(rc)
					grants = append(grants, g)
				}
			}
		case *codec.Unsuback:
			ns, ok := ck.unsubs[p.PacketID]
			if !ok {
				ck.add(CheckAckID, stmt(v, "MQTT-2.2.1-6", "MQTT-3.10.4-4", "§3.11"), i, "UNSUBACK %d answers no UNSUBSCRIBE (sent: %v)", p.PacketID, keys(ck.unsubs))
			} else if v == codec.V5 && !slices.Contains(ns, len(p.ReasonCodes)) {
				ck.add(CheckAckCount, stmt(v, "MQTT-3.11.3-2", "", "§3.11.3"), i, "UNSUBACK %d has %d codes for %d filters", p.PacketID, len(p.ReasonCodes), ns[0])
			}
		case *codec.Publish:
			if p.QoS == 2 {
				peerQoS2[p.PacketID] = true
			}
			if ck.o.Role != Broker {
				break
			}
			topic := p.Topic
			if p.Properties.Has(codec.PropTopicAlias) {
				a := p.Properties.TopicAlias
				if int(a) > ck.aliasMax {
					ck.add(CheckTopicAliasMax, stmt(v, "MQTT-3.3.2-11", "", "§3.3.2.3.4"), i, "Topic Alias %d above the client's maximum %d", a, ck.aliasMax)
				}
				if topic != "" {
					aliases[a] = topic
				} else {
					topic = aliases[a]
				}
			}
			if topic == "" || !(ck.o.Fresh || ck.cleanStart) {
				break // a session from an earlier connection may hold subscriptions we never saw
			}
			max, matched := -1, false
			for _, g := range grants {
				f := g.Filter
				if _, inner, ok := codec.SharedFilter(f); ok {
					f = inner
				}
				if codec.MatchTopic(f, topic) {
					matched = true
					max = maxInt(max, int(g.QoS))
				}
			}
			switch {
			case matched && int(p.QoS) > max && !ck.pendingGrant(topic, p.QoS, subAnswered):
				ck.add(CheckQoSGranted, stmt(v, "MQTT-3.8.4-8", "MQTT-3.8.4-6", "§3.8.4"), i, "PUBLISH on %q at QoS %d; the SUBACKs granted at most QoS %d", topic, p.QoS, max)
			case !matched && ck.o.Fresh && len(ck.subs) > 0:
				// (Without a SUBSCRIBE of this connection a SUBACK may still be missing from a
				// stream cut short, and a delivery before the SUBACK is allowed.)
				if !ck.pendingMatch(topic) {
					ck.add(CheckUnsubscribed, stmt(v, "", "", "§3.3.4"), i, "PUBLISH on %q, which no subscription of this fresh session matches", topic)
				}
			}
		}
	}
}

// pendingMatch reports whether a SUBSCRIBE the tester sent (answered or not) has a filter
// matching topic: a server may deliver before its SUBACK.
func (ck *checker) pendingMatch(topic string) bool {
	for _, reqs := range ck.subs {
		for _, s := range slices.Concat(reqs...) {
			f := s.Filter
			if _, inner, ok := codec.SharedFilter(f); ok {
				f = inner
			}
			if codec.MatchTopic(f, topic) {
				return true
			}
		}
	}
	return false
}

// pendingGrant reports whether a SUBSCRIBE not yet answered by its SUBACK asks for topic at
// QoS q or more: a delivery may come before the SUBACK (§3.8.4), at the QoS that subscription
// will be granted.
func (ck *checker) pendingGrant(topic string, q byte, answered map[uint16]int) bool {
	for id, reqs := range ck.subs {
		for _, r := range reqs[min(answered[id], len(reqs)):] {
			for _, s := range r {
				f := s.Filter
				if _, inner, ok := codec.SharedFilter(f); ok {
					f = inner
				}
				if s.QoS >= q && codec.MatchTopic(f, topic) {
					return true
				}
			}
		}
	}
	return false
}

func (ck *checker) ackID(i int, what string, id uint16, sent map[uint16]bool, of string) {
	if !sent[id] {
		ck.add(CheckAckID, stmt(ck.v, "MQTT-2.2.1-5", "MQTT-2.3.1-6", "§2.2.1"), i, "%s %d, but the tester sent no %s with that identifier (sent: %v)", what, id, of, keys(sent))
	}
}

// reaction checks how the peer ended the connection against what the tester sent.
func (ck *checker) reaction(c Conversation, sent, got Stream) {
	v := ck.v
	if got.Err != nil {
		if got.Err.Rule == "packet-too-large" {
			ck.add(CheckTooLarge, stmt(v, "MQTT-3.1.2-24", "", "§3.1.2.11.4"), len(got.Packets), "%v", got.Err)
		} else {
			st := got.Err.Statement
			if st != "" {
				st = stmt(v, st, st, "")
			} else {
				st = "§" + got.Err.Section
			}
			ck.add(CheckMalformed, st, len(got.Packets), "%v (% X)", got.Err, head(c.Got, got))
		}
	}
	cause := ck.cause(sent, got)
	var refusedConnect bool
	if ck.o.Role == Broker {
		if a, ok := first(got.Packets).(*codec.Connack); ok && a.ReasonCode != 0 {
			refusedConnect = true
			if cause == "" {
				cause = "the peer's refusing CONNACK"
			}
		}
		// A CONNECT the codec rejects must not be accepted.
		if sent.Err != nil && len(sent.Packets) == 0 && sent.Err.Packet == codec.CONNECT {
			if a, ok := first(got.Packets).(*codec.Connack); ok && a.ReasonCode == 0 {
				ck.add(CheckAcceptedBad, stmt(v, "MQTT-3.1.4-1", "MQTT-3.1.4-1", "§3.1.4"), 0, "CONNACK 0 to a CONNECT the codec rejects: %v", sent.Err)
			}
		}
	}
	if ck.o.Role == Broker && ck.o.AcceptsConnect && c.Closed {
		if cn, ok := first(sent.Packets).(*codec.Connect); ok && got.Err == nil && !hasType(got.Packets, codec.CONNACK) &&
			!(cn.Properties.Has(codec.PropMaximumPacketSize) && int(cn.Properties.MaximumPacketSize) < fullConnackSize) {
			ck.add(CheckConnackMissing, stmt(v, "MQTT-3.1.4-5", "MQTT-3.1.4-4", "§3.1.4"), -1,
				"the connection closed without a CONNACK for the valid CONNECT (%d answers)", len(got.Packets))
		}
	}
	// The peer's own DISCONNECT: a reason of 0x80 or above asks for a close too.
	var disc *codec.Disconnect
	discAt := -1
	for i, p := range got.Packets {
		if d, ok := p.(*codec.Disconnect); ok {
			disc, discAt = d, i
			break
		}
	}
	if disc != nil && cause == "" {
		cause = "the peer's own DISCONNECT"
	}
	if c.Waited && cause != "" && !c.Closed {
		st := stmt(v, "MQTT-4.13.1-1", "MQTT-4.8.0-1", "§4.13")
		switch {
		case strings.HasPrefix(cause, "the peer's own"):
			st = stmt(v, "MQTT-3.14.4-2", "", "§3.14.4")
		case strings.HasPrefix(cause, "the peer's refusing"):
			st = stmt(v, "MQTT-3.2.2-7", "MQTT-3.2.2-5", "§3.2.2")
		case strings.HasPrefix(cause, "the tester's DISCONNECT"):
			st = stmt(v, "", "MQTT-3.14.4-2", "5.0:§3.14.4")
		}
		ck.add(CheckNoClose, st, -1, "the connection stayed open after %s", cause)
	}
	// A DISCONNECT sent because of the tester's bad packet: an error reason, the codec's when
	// asked. Only when the bad packet was the first thing wrong (no earlier cause of the peer's
	// own, such as a second CONNECT), and the DISCONNECT came after everything else.
	if disc != nil && sent.Err != nil && !refusedConnect && ck.cause(Stream{Packets: sent.Packets}, got) == "" && discAt == len(got.Packets)-1 {
		want := ExpectedReason(sent.Err)
		switch {
		case !disc.ReasonCode.IsError():
			ck.add(CheckDisconnectReason, stmt(v, "MQTT-4.13.2-1", "", "§4.13"), discAt, "DISCONNECT %v for %v; a violation needs a reason of 0x80 or above", disc.ReasonCode, sent.Err)
		case ck.o.ExactReason && disc.ReasonCode != want && !otherCause(disc.ReasonCode):
			ck.add(CheckDisconnectReason, stmt(v, "", "", "§4.13, §2.4"), discAt, "DISCONNECT %v for %v; the codec names %v", disc.ReasonCode, sent.Err, want)
		}
	}
}

// fullConnackSize is the size of a 5.0 CONNACK carrying every capability property a server may
// announce and a 23-character Assigned Client Identifier. A client whose Maximum Packet Size is
// below it may get no CONNACK at all (MQTT-3.1.2-24: the server must not send a larger packet,
// and only Reason String and User Property are ones it must drop to fit), so the oracle does not
// ask for one. Found by the libFuzzer broker-session campaign: Maximum Packet Size 1.
var fullConnackSize = func() int {
	a := &codec.Connack{}
	a.Properties.SetAssignedClientID("abcdefghijklmnopqrstuvw").SetReceiveMaximum(65535).SetMaximumQoS(1).
		SetRetainAvailable(0).SetMaximumPacketSize(1 << 28).SetTopicAliasMaximum(65535).SetWildcardSubAvailable(0).
		SetSubIDAvailable(0).SetSharedSubAvailable(0).SetServerKeepAlive(65535).SetSessionExpiry(1 << 31)
	b, err := a.AppendTo(nil, codec.V5)
	if err != nil {
		panic("oracle: the reference CONNACK does not encode: " + err.Error()) // fixed input
	}
	return len(b)
}()

// serverOnly and clientOnly are the packet types only a server, or only a client, sends (the
// CONNECT of a broker is Cause's own case).
func serverOnly(t codec.PacketType) bool {
	return t == codec.CONNACK || t == codec.SUBACK || t == codec.UNSUBACK || t == codec.PINGRESP
}

func clientOnly(t codec.PacketType) bool {
	return t == codec.SUBSCRIBE || t == codec.UNSUBSCRIBE || t == codec.PINGREQ
}

// cause is Cause with what only the peer's own packets tell: a client whose CONNECT named no
// Authentication Method must treat the broker's AUTH as a Protocol Error (5.0 MQTT-4.12.0-7
// seen from the client's side; found by the libFuzzer client-session run in a CI dry run: the
// client's 0x82 answered the AUTH, not the malformed packet after it).
func (ck *checker) cause(sent, got Stream) string {
	if c := Cause(sent, ck.o.Role); c != "" || ck.o.Role != Client || len(sent.Packets) < 2 {
		return c
	}
	cn, ok := first(got.Packets).(*codec.Connect)
	if !ok {
		return ""
	}
	// What the client asked for, by packet identifier: a SUBACK or UNSUBACK with another number
	// of reason codes is a Protocol Error only the client can see (§3.9.3, §3.11.3).
	filters := map[uint16]int{}
	for _, p := range got.Packets {
		switch q := p.(type) {
		case *codec.Subscribe:
			filters[q.PacketID] = len(q.Subscriptions)
		case *codec.Unsubscribe:
			filters[q.PacketID] = len(q.Filters)
		}
	}
	for _, p := range sent.Packets[1:] {
		switch q := p.(type) {
		case *codec.Auth:
			if !cn.Properties.Has(codec.PropAuthMethod) {
				return "an AUTH to a client whose CONNECT named no Authentication Method"
			}
		case *codec.Suback:
			if n, ok := filters[q.PacketID]; ok && n != len(q.ReasonCodes) {
				return fmt.Sprintf("a SUBACK with %d reason codes for %d filters", len(q.ReasonCodes), n)
			}
		case *codec.Unsuback:
			if n, ok := filters[q.PacketID]; ok && ck.v == codec.V5 && n != len(q.ReasonCodes) {
				return fmt.Sprintf("an UNSUBACK with %d reason codes for %d filters", len(q.ReasonCodes), n)
			}
		}
	}
	return ""
}

// otherCause lists the DISCONNECT reasons a peer may have for something the codec cannot see in
// the tester's bytes alone: its own limits (Receive Maximum, Topic Alias Maximum, packet size,
// quotas), keep-alive, a takeover, authorization, shutdown.
func otherCause(rc codec.ReasonCode) bool {
	switch rc {
	case 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2:
		return true
	}
	return false
}

func hasType(ps []codec.Packet, t codec.PacketType) bool {
	for _, p := range ps {
		if p.Type() == t {
			return true
		}
	}
	return false
}

func head(b []byte, s Stream) []byte {
	off := 0
	for _, r := range s.Raw {
		off += len(r)
	}
	b = b[off:]
	if len(b) > 16 {
		b = b[:16]
	}
	return b
}

func keys[V any](m map[uint16]V) []uint16 {
	out := make([]uint16, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
