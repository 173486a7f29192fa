package client_test

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	clientcat "github.com/mqttspec/mqttspec/conformance/catalog/client"
	"github.com/mqttspec/mqttspec/conformance/drivers"
	"github.com/mqttspec/mqttspec/conformance/spec"
	"github.com/mqttspec/mqttspec/reference/client"
	"github.com/mqttspec/mqttspec/reports"
)

// fault is a deliberate bug put into the reference client by rewriting the packets it writes
// (out) or reads (in) on the wire. conn counts the connections of one client, from 1.
type fault struct {
	name string
	out  func(p []byte, conn int, st *faultState) [][]byte
	in   func(p []byte, conn int) []byte
	// lateClose makes the client's Close of a connection take effect only 3 s later.
	lateClose bool
	// inject, when set, returns a packet the client sends right before its first DISCONNECT,
	// built from the action (nil: none): what a client that skips a validation would have sent.
	inject func(a conformance.Action, level byte) []byte
	// The cases that must fail with the fault switched on, and the statements it breaks, are
	// its row of clientcat.Proofs (proofs.go), which coverage reads.
}

// faultState is per client: packets a fault holds back or remembers.
type faultState struct {
	action conformance.Action
	level  byte // protocol level of the client's last CONNECT
	// injected: the inject fault's packet has gone out
	injected bool
	// published: a QoS 1/2 PUBLISH has gone out (stops-pinging-after-publish)
	published bool
	held      [][]byte
	sent      []byte // resend-after-clean-start: the QoS 1 PUBLISH of the first connection
}

func typeOf(p []byte) codec.PacketType { return codec.PacketType(p[0] >> 4) }

// publishIDOffset is where the packet identifier of a QoS>0 PUBLISH starts.
func publishIDOffset(p []byte) int {
	i := 1
	for p[i]&0x80 != 0 {
		i++
	}
	i++
	tl := int(p[i])<<8 | int(p[i+1])
	return i + 2 + tl
}

func rewrite(v codec.Version, p []byte, fn func(codec.Packet)) []byte {
	pkt, _, err := codec.Decode(v, p)
	if err != nil {
		return p
	}
	fn(pkt)
	b, err := codec.Encode(pkt, v)
	if err != nil {
		return p
	}
	return b
}

func keep(p []byte) [][]byte { return [][]byte{p} }

var faults = []fault{
	{name: "publish-id-zero",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.PUBLISH && p[0]&0x06 != 0 {
				i := publishIDOffset(p)
				p[i], p[i+1] = 0, 0
			}
			return keep(p)
		}},
	{name: "dup-on-first-send",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.PUBLISH && p[0]&0x06 != 0 {
				p[0] |= 0x08
			}
			return keep(p)
		}},
	{name: "no-dup-on-resend",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.PUBLISH {
				p[0] &^= 0x08
			}
			return keep(p)
		}},
	{name: "drop-pubrel",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.PUBREL {
				return nil
			}
			return keep(p)
		}},
	{name: "drop-pingreq",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.PINGREQ {
				return nil
			}
			return keep(p)
		}},
	{name: "puback-wrong-id",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.PUBACK {
				p[3]++
			}
			return keep(p)
		}},
	{name: "pubacks-swapped",
		out: func(p []byte, _ int, st *faultState) [][]byte {
			if typeOf(p) != codec.PUBACK {
				return keep(p)
			}
			if len(st.held) == 0 {
				st.held = append(st.held, p)
				return nil
			}
			first := st.held[0]
			st.held = nil
			return [][]byte{p, first}
		}},
	{name: "drop-disconnect",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.DISCONNECT {
				return nil
			}
			return keep(p)
		}},
	{name: "packet-after-disconnect",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.DISCONNECT {
				return [][]byte{p, {0xC0, 0x00}}
			}
			return keep(p)
		}},
	{name: "retain-always",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.PUBLISH {
				p[0] |= 0x01
			}
			return keep(p)
		}},
	{name: "will-qos-without-will",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.CONNECT && p[9]&0x04 == 0 { // connect flags of a short CONNECT
				p[9] |= 0x08
			}
			return keep(p)
		}},
	{name: "subscribe-flags-zero",
		out: func(p []byte, _ int, _ *faultState) [][]byte {
			if typeOf(p) == codec.SUBSCRIBE {
				p[0] &^= 0x02
			}
			return keep(p)
		}},
	{name: "accepts-qos3",
		in: func(p []byte, _ int) []byte {
			if typeOf(p) == codec.PUBLISH && p[0]&0x06 == 0x06 {
				p[0] &^= 0x04 // the client reads it as QoS 1 and carries on
			}
			return p
		}},
	{name: "ignores-session-present-0",
		in: func(p []byte, conn int) []byte {
			if typeOf(p) == codec.CONNACK && conn > 1 {
				p[2] |= 0x01
			}
			return p
		}},
	{name: "ignores-retain-available",
		in: func(p []byte, _ int) []byte {
			if typeOf(p) == codec.CONNACK {
				return rewrite(codec.V5, p, func(pk codec.Packet) { pk.(*codec.Connack).Properties.Clear(codec.PropRetainAvailable) })
			}
			return p
		}},
	{name: "ignores-maximum-qos",
		in: func(p []byte, _ int) []byte {
			if typeOf(p) == codec.CONNACK {
				return rewrite(codec.V5, p, func(pk codec.Packet) { pk.(*codec.Connack).Properties.Clear(codec.PropMaximumQoS) })
			}
			return p
		}},
	{name: "ignores-maximum-packet-size",
		in: func(p []byte, _ int) []byte {
			if typeOf(p) == codec.CONNACK {
				return rewrite(codec.V5, p, func(pk codec.Packet) { pk.(*codec.Connack).Properties.Clear(codec.PropMaximumPacketSize) })
			}
			return p
		}},
	{name: "ignores-session-present-1",
		in: func(p []byte, _ int) []byte {
			if typeOf(p) == codec.CONNACK {
				p[2] &^= 0x01
			}
			return p
		}},
	{name: "ignores-refusing-connack",
		in: func(p []byte, _ int) []byte {
			if typeOf(p) == codec.CONNACK {
				return rewrite(codec.V5, p, func(pk codec.Packet) {
					ack := pk.(*codec.Connack)
					ack.ReasonCode = 0
					ack.Properties.Clear(codec.PropServerReference)
				})
			}
			return p
		}},
	{name: "ignores-receive-maximum",
		in: func(p []byte, _ int) []byte {
			if typeOf(p) == codec.CONNACK {
				return rewrite(codec.V5, p, func(pk codec.Packet) { pk.(*codec.Connack).Properties.Clear(codec.PropReceiveMaximum) })
			}
			return p
		}},
	{name: "ignores-server-keep-alive",
		in: func(p []byte, _ int) []byte {
			if typeOf(p) == codec.CONNACK {
				return rewrite(codec.V5, p, func(pk codec.Packet) { pk.(*codec.Connack).Properties.Clear(codec.PropServerKeepAlive) })
			}
			return p
		}},
	{name: "keeps-alias-across-connections",
		in: func(p []byte, conn int) []byte {
			if typeOf(p) == codec.PUBLISH && conn > 1 {
				// The server's empty topic with alias 1, the alias the case set on the first
				// connection, reaches the client as the full topic: the mapping was kept. Other
				// aliases stay unknown, so the client still refuses those.
				return rewrite(codec.V5, p, func(pk codec.Packet) {
					pub := pk.(*codec.Publish)
					if pub.Topic == "" && pub.Properties.Has(codec.PropTopicAlias) && pub.Properties.TopicAlias == 1 {
						pub.Topic = "restored/by/the/fault"
						pub.Properties.Clear(codec.PropTopicAlias)
					}
				})
			}
			return p
		}},
	// The faults below each break one thing a careless client gets wrong.
	{name: "subscribe-id-zero", out: onType(codec.SUBSCRIBE, func(p []byte) { setID(p, 0) })},
	{name: "unsubscribe-id-zero", out: onType(codec.UNSUBSCRIBE, func(p []byte) { setID(p, 0) })},
	{name: "unsubscribe-flags-zero", out: onType(codec.UNSUBSCRIBE, func(p []byte) { p[0] &^= 0x02 })},
	{name: "pubrel-flags-zero", out: onType(codec.PUBREL, func(p []byte) { p[0] &^= 0x02 })},
	{name: "pubrec-wrong-id", out: onType(codec.PUBREC, func(p []byte) { setID(p, packetID(p)+1) })},
	{name: "pubcomp-wrong-id", out: onType(codec.PUBCOMP, func(p []byte) { setID(p, packetID(p)+1) })},
	{name: "drop-puback", out: func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.PUBACK {
			return nil
		}
		return keep(p)
	}},
	{name: "dup-on-qos0", out: func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.PUBLISH && p[0]&0x06 == 0 {
			p[0] |= 0x08
		}
		return keep(p)
	}},
	{name: "publish-qos3", out: func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.PUBLISH && p[0]&0x06 == 0x02 {
			p[0] |= 0x06
		}
		return keep(p)
	}},
	{name: "will-retain-without-will", out: onType(codec.CONNECT, func(p []byte) {
		if f := connectFlagsOffset(p); p[f]&0x04 == 0 {
			p[f] |= 0x20
		}
	})},
	{name: "protocol-name-mqtx", out: onType(codec.CONNECT, func(p []byte) {
		p[headerLen(p)+5] = 'X' // the name's last byte: "MQTT" -> "MQTX"
	})},
	{name: "pingreq-before-connect", out: func(p []byte, conn int, _ *faultState) [][]byte {
		if typeOf(p) == codec.CONNECT {
			return [][]byte{{0xC0, 0x00}, p}
		}
		return keep(p)
	}},
	{name: "pubrecs-swapped", out: swapped(codec.PUBREC)},
	{name: "pubrels-swapped", out: swapped(codec.PUBREL)},
	{name: "resend-out-of-order", out: func(p []byte, conn int, st *faultState) [][]byte {
		if typeOf(p) != codec.PUBLISH || conn < 2 {
			return keep(p)
		}
		return swapped(codec.PUBLISH)(p, conn, st)
	}},
	{name: "resend-with-new-id", out: func(p []byte, conn int, _ *faultState) [][]byte {
		if typeOf(p) == codec.PUBLISH && p[0]&0x06 != 0 && conn > 1 {
			i := publishIDOffset(p)
			id := uint16(p[i])<<8 | uint16(p[i+1]) + 100
			p[i], p[i+1] = byte(id>>8), byte(id)
		}
		return keep(p)
	}},
	{name: "pubrel-not-resent", out: func(p []byte, conn int, _ *faultState) [][]byte {
		if typeOf(p) == codec.PUBREL && conn > 1 {
			return nil
		}
		return keep(p)
	}},
	{name: "client-id-changed-on-reconnect", out: func(p []byte, conn int, _ *faultState) [][]byte {
		if typeOf(p) == codec.CONNECT && conn > 1 {
			v := codec.Version(p[headerLen(p)+6])
			return keep(rewrite(v, p, func(pk codec.Packet) { pk.(*codec.Connect).ClientID += "-2" }))
		}
		return keep(p)
	}},
	{name: "alias-without-permission", out: func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.PUBLISH {
			return keep(rewrite(codec.V5, p, func(pk codec.Packet) {
				if pub := pk.(*codec.Publish); !pub.Properties.Has(codec.PropTopicAlias) {
					pub.Properties.SetTopicAlias(1)
				}
			}))
		}
		return keep(p)
	}},
	{name: "subscription-id-on-publish", out: func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.PUBLISH {
			return keep(rewrite(codec.V5, p, func(pk codec.Packet) { pk.(*codec.Publish).Properties.SubscriptionIDs = []uint32{7} }))
		}
		return keep(p)
	}},
	{name: "topic-alias-above-maximum", out: setAlias(2)},
	{name: "topic-alias-zero", out: setAlias(0)},
	{name: "puback-invalid-reason", out: invalidReason(codec.PUBACK)},
	{name: "pubrec-invalid-reason", out: invalidReason(codec.PUBREC)},
	{name: "pubrel-invalid-reason", out: invalidReason(codec.PUBREL)},
	{name: "pubcomp-invalid-reason", out: invalidReason(codec.PUBCOMP)},
	{name: "disconnect-invalid-reason", out: func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.DISCONNECT {
			return keep([]byte{0xE0, 0x01, 0x05}) // 0x05 is no DISCONNECT reason code
		}
		return keep(p)
	}},
	{name: "puback-reason-string-over-limit", out: overLimit(codec.PUBACK, false)},
	{name: "pubrec-reason-string-over-limit", out: overLimit(codec.PUBREC, false)},
	{name: "pubrel-reason-string-over-limit", out: overLimit(codec.PUBREL, false)},
	{name: "pubcomp-reason-string-over-limit", out: overLimit(codec.PUBCOMP, false)},
	{name: "disconnect-reason-string-over-limit", out: overLimit(codec.DISCONNECT, false)},
	{name: "puback-user-property-over-limit", out: overLimit(codec.PUBACK, true)},
	{name: "pubrec-user-property-over-limit", out: overLimit(codec.PUBREC, true)},
	{name: "pubrel-user-property-over-limit", out: overLimit(codec.PUBREL, true)},
	{name: "pubcomp-user-property-over-limit", out: overLimit(codec.PUBCOMP, true)},
	{name: "disconnect-user-property-over-limit", out: overLimit(codec.DISCONNECT, true)},
	{name: "disconnect-close-late", lateClose: true},
	{name: "resend-after-clean-start", out: func(p []byte, conn int, st *faultState) [][]byte {
		// The client keeps its unacknowledged message across a clean start and resends it
		// right after the next CONNECT.
		switch {
		case typeOf(p) == codec.PUBLISH && p[0]&0x06 != 0 && conn == 1 && st.sent == nil:
			st.sent = append([]byte(nil), p...)
		case typeOf(p) == codec.CONNECT && conn > 1 && st.sent != nil:
			dup := append([]byte(nil), st.sent...)
			dup[0] |= 0x08
			return [][]byte{p, dup}
		}
		return keep(p)
	}},
	{name: "username-missing", out: onConnect(func(p []byte, f connectFields) []byte {
		if f.username.end == 0 {
			return p
		}
		return cut(p, f.username) // User Name Flag 1, no User Name
	})},
	{name: "password-missing", out: onConnect(func(p []byte, f connectFields) []byte {
		if f.password.end == 0 {
			return p
		}
		return cut(p, f.password) // Password Flag 1, no Password
	})},
	{name: "username-without-flag", out: onConnect(func(p []byte, f connectFields) []byte {
		if p[f.flags]&0xC4 != 0 { // only a CONNECT without credentials or will
			return p
		}
		return insert(p, len(p), []byte{0, 4, 'u', 's', 'e', 'r'})
	})},
	{name: "password-without-username", out: onConnect(func(p []byte, f connectFields) []byte {
		if p[f.flags]&0xC4 != 0 {
			return p
		}
		q := insert(p, len(p), []byte{0, 2, 'p', 'w'})
		q[f.flags+headerLen(q)-headerLen(p)] |= 0x40 // the flags move with a longer Remaining Length
		return q
	})},
	{name: "will-topic-missing", out: onConnect(func(p []byte, f connectFields) []byte {
		if f.willTopic.end == 0 {
			return p
		}
		return cut(p, f.willTopic) // Will Flag 1, no Will Topic
	})},
	{name: "forgets-incoming-alias", in: func(p []byte, _ int) []byte {
		if typeOf(p) != codec.PUBLISH {
			return p
		}
		// The client loses the alias the server set: an empty-topic PUBLISH arrives with an
		// alias it never learnt.
		return rewrite(codec.V5, p, func(pk codec.Packet) {
			if pub := pk.(*codec.Publish); pub.Topic == "" && pub.Properties.Has(codec.PropTopicAlias) {
				pub.Properties.SetTopicAlias(pub.Properties.TopicAlias%2 + 1)
			}
		})
	}},
	{name: "pubrel-waits-for-quota", out: func(p []byte, _ int, st *faultState) [][]byte {
		// The client queues a PUBREL behind the PUBLISH packets its send quota holds back.
		switch typeOf(p) {
		case codec.PUBREL:
			st.held = append(st.held, p)
			return nil
		case codec.PUBLISH:
			out := append([][]byte{p}, st.held...)
			st.held = nil
			return out
		}
		return keep(p)
	}},
	{name: "ping-during-auth", out: func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.AUTH {
			return [][]byte{p, {0xC0, 0x00}}
		}
		return keep(p)
	}},
	{name: "auth-invalid-reason", out: onType(codec.AUTH, func(p []byte) { p[headerLen(p)] = 0x81 })},
	{name: "ignores-auth-flags", in: clearFlags(codec.AUTH)},
	{name: "ignores-suback-flags", in: clearFlags(codec.SUBACK)},
	{name: "ignores-puback-flags", in: clearFlags(codec.PUBACK)},
	{name: "ignores-pubrel-flags", in: func(p []byte, _ int) []byte {
		if typeOf(p) == codec.PUBREL {
			p[0] = p[0]&0xF0 | 0x02
		}
		return p
	}},
	{name: "accepts-ill-formed-topic", in: replaceInPublish(surrogateBytes, []byte("xxx"))},
	{name: "accepts-nul-topic", in: replaceInPublish([]byte{0}, []byte("x"))},
	{name: "accepts-wildcard-topic", in: replaceInPublish([]byte("+"), []byte("x"))},
	{name: "retry-on-same-connection", out: func(p []byte, _ int, _ *faultState) [][]byte {
		// A retry timer: each QoS 1/2 PUBLISH goes out again at once, with DUP 1.
		if typeOf(p) == codec.PUBLISH && p[0]&0x06 != 0 && p[0]&0x08 == 0 {
			dup := append([]byte(nil), p...)
			dup[0] |= 0x08
			return [][]byte{p, dup}
		}
		return keep(p)
	}},
	{name: "publish-after-pubrel", out: func(p []byte, _ int, st *faultState) [][]byte {
		// The client resends the QoS 2 PUBLISH after its PUBREL, as if PUBREC had been lost.
		switch {
		case typeOf(p) == codec.PUBLISH && p[0]&0x06 == 0x04:
			st.sent = append([]byte(nil), p...)
		case typeOf(p) == codec.PUBREL && st.sent != nil:
			dup := st.sent
			dup[0] |= 0x08
			st.sent = nil
			return [][]byte{p, dup}
		}
		return keep(p)
	}},
	{name: "publish-id-reused", out: func(p []byte, _ int, _ *faultState) [][]byte {
		// Every QoS 1/2 PUBLISH gets identifier 1, whatever is in flight.
		if typeOf(p) == codec.PUBLISH && p[0]&0x06 != 0 {
			i := publishIDOffset(p)
			p[i], p[i+1] = 0, 1
		}
		return keep(p)
	}},
	{name: "qos0-with-packet-id", out: func(p []byte, _ int, _ *faultState) [][]byte {
		// A packet identifier written for every PUBLISH, QoS 0 included.
		if typeOf(p) == codec.PUBLISH && p[0]&0x06 == 0 {
			return keep(insert(p, topicEnd(p), []byte{0x00, 0x07}))
		}
		return keep(p)
	}},
	{name: "qos0-sent-as-qos1", out: func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.PUBLISH && p[0]&0x06 == 0 {
			q := insert(p, topicEnd(p), []byte{0x00, 0x07})
			q[0] |= 0x02
			return keep(q)
		}
		return keep(p)
	}},
	{name: "no-property-length", out: func(p []byte, _ int, _ *faultState) [][]byte {
		// A 5.0 PUBLISH without its Property Length, as 3.1.1 would encode it.
		if typeOf(p) == codec.PUBLISH && p[0]&0x06 == 0 {
			if i := topicEnd(p); i < len(p) && p[i] == 0x00 {
				return keep(cut(p, span{i, i + 1}))
			}
		}
		return keep(p)
	}},
	{name: "remaining-length-not-minimal", out: func(p []byte, _ int, _ *faultState) [][]byte {
		// The Remaining Length padded with a 0x80 continuation and a 0x00 byte.
		if typeOf(p) != codec.PUBLISH {
			return keep(p)
		}
		h := headerLen(p)
		q := append([]byte{p[0]}, p[1:h]...)
		q[len(q)-1] |= 0x80
		q = append(q, 0x00)
		return keep(append(q, p[h:]...))
	}},
	{name: "subscribe-without-filters", out: withoutFilters(codec.SUBSCRIBE)},
	{name: "unsubscribe-without-filters", out: withoutFilters(codec.UNSUBSCRIBE)},
	{name: "puback-for-qos2", out: func(p []byte, _ int, _ *faultState) [][]byte {
		// The client answers a QoS 2 PUBLISH as if it were QoS 1.
		if typeOf(p) == codec.PUBREC {
			p[0] = byte(codec.PUBACK) << 4
		}
		return keep(p)
	}},
	// Each corrupts the one non-ASCII character the case puts in one string of the packet, as
	// a client with a broken UTF-8 encoder would: its continuation byte becomes '('.
	{name: "will-topic-ill-formed", out: illFormed(codec.CONNECT, "é")},
	{name: "username-ill-formed", out: illFormed(codec.CONNECT, "ü")},
	{name: "subscribe-filter-ill-formed", out: illFormed(codec.SUBSCRIBE, "ü")},
	{name: "unsubscribe-filter-ill-formed", out: illFormed(codec.UNSUBSCRIBE, "ü")},
	{name: "content-type-ill-formed", out: illFormed(codec.PUBLISH, "ü")},
	{name: "user-property-ill-formed", out: illFormed(codec.PUBLISH, "к")},
	{name: "client-id-ill-formed", out: onConnect(func(p []byte, f connectFields) []byte {
		p[f.clientID.start+2] = 0xFF // never valid in UTF-8
		return p
	})},
	{name: "will-qos-3", out: onType(codec.CONNECT, func(p []byte) {
		if f := connectFlagsOffset(p); p[f]&0x04 != 0 {
			p[f] |= 0x18
		}
	})},
	{name: "sends-invalid-topic", inject: func(a conformance.Action, level byte) []byte {
		// The client publishes to whatever topic name the application gives (the length
		// prefix wraps above 65,535 bytes), instead of refusing it.
		if a.Op != conformance.OpPublish || a.Will != nil {
			return nil
		}
		body := append([]byte{byte(len(a.Topic) >> 8), byte(len(a.Topic))}, a.Topic...)
		if level == 5 {
			body = append(body, 0x00)
		}
		return withBody(0x30, append(body, a.Message...))
	}},
	{name: "sends-invalid-filter", inject: func(a conformance.Action, level byte) []byte {
		// The client subscribes to whatever topic filter the application gives.
		if a.Op != conformance.OpSubscribe {
			return nil
		}
		body := []byte{0x00, 0x01}
		if level == 5 {
			body = append(body, 0x00)
		}
		body = append(append(body, byte(len(a.Topic)>>8), byte(len(a.Topic))), a.Topic...)
		return withBody(0x82, append(body, a.QoS))
	}},
	{name: "sends-invalid-response-topic", inject: func(a conformance.Action, level byte) []byte {
		// The client sends the Response Topic the application gives, wildcards included.
		if a.Op != conformance.OpPublish || a.PublishProps == nil || !a.PublishProps.Has(codec.PropResponseTopic) || level != 5 {
			return nil
		}
		rt := a.PublishProps.ResponseTopic
		props := append([]byte{0x08, byte(len(rt) >> 8), byte(len(rt))}, rt...)
		body := append([]byte{byte(len(a.Topic) >> 8), byte(len(a.Topic))}, a.Topic...)
		body = append(append(append(body, byte(len(props))), props...), a.Message...)
		return withBody(0x30, body)
	}},
	{name: "no-local-on-shared", out: func(p []byte, _ int, st *faultState) [][]byte {
		// No Local set on every shared subscription (5.0: the last byte of a one-filter
		// SUBSCRIBE is its Subscription Options).
		if typeOf(p) == codec.SUBSCRIBE && st.level == 5 && bytes.Contains(p, []byte("$share/")) {
			p[len(p)-1] |= 0x04
		}
		return keep(p)
	}},
	{name: "password-without-flag", out: onConnect(func(p []byte, f connectFields) []byte {
		if p[f.flags]&0xC4 != 0 { // only a CONNECT without credentials or will
			return p
		}
		return insert(p, len(p), []byte{0, 2, 'p', 'w'}) // a Password, Password Flag 0
	})},
	{name: "client-id-missing", out: onConnect(func(p []byte, f connectFields) []byte {
		return cut(p, f.clientID)
	})},
	{name: "payload-out-of-order", out: onConnect(func(p []byte, f connectFields) []byte {
		if f.willTopic.end == 0 {
			return p
		}
		// The Will Topic written before the ClientID (5.0: the Will Properties stay put).
		id := append([]byte(nil), p[f.clientID.start:f.clientID.end]...)
		wt := append([]byte(nil), p[f.willTopic.start:f.willTopic.end]...)
		q := append([]byte(nil), p[:f.clientID.start]...)
		q = append(q, wt...)
		q = append(q, p[f.clientID.end:f.willTopic.start]...)
		q = append(q, id...)
		return append(q, p[f.willTopic.end:]...)
	})},
	{name: "forgets-session", out: func(p []byte, conn int, _ *faultState) [][]byte {
		// Nothing of the session survives the connection: no PUBLISH is resent.
		if typeOf(p) == codec.PUBLISH && conn > 1 && p[0]&0x08 != 0 {
			return nil
		}
		return keep(p)
	}},
	{name: "leaves-before-ack", out: func(p []byte, _ int, _ *faultState) [][]byte {
		// The client takes a QoS 1/2 message as delivered once written and leaves.
		if typeOf(p) == codec.PUBLISH && p[0]&0x06 != 0 {
			return [][]byte{p, {0xE0, 0x00}}
		}
		return keep(p)
	}},
	{name: "ignores-pubrec-error", in: func(p []byte, _ int) []byte {
		// The client reads a failing PUBREC as a success and carries on with PUBREL.
		if typeOf(p) == codec.PUBREC && len(p) > 4 && p[4] >= 0x80 {
			p[4] = 0x00
		}
		return p
	}},
	{name: "stops-pinging-after-publish", out: func(p []byte, _ int, st *faultState) [][]byte {
		// Once a QoS 1/2 message is out, the keep-alive timer is never rearmed.
		switch {
		case typeOf(p) == codec.PUBLISH && p[0]&0x06 != 0:
			st.published = true
		case typeOf(p) == codec.PINGREQ && st.published:
			return nil
		}
		return keep(p)
	}},
	{name: "response-topic-ill-formed", out: illFormed(codec.PUBLISH, "reply")},
	{name: "auth-method-changed", out: func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.AUTH {
			return keep(rewrite(codec.V5, p, func(pk codec.Packet) { pk.(*codec.Auth).Properties.SetAuthMethod("OTHER") }))
		}
		return keep(p)
	}},
}

// surrogateBytes is U+D800 as UTF-8 would encode it (ill-formed).
var surrogateBytes = []byte{0xED, 0xA0, 0x80}

// clearFlags is an in fault: the client reads packets of type pt as if their reserved
// fixed-header flags were 0, so it never notices them.
func clearFlags(pt codec.PacketType) func([]byte, int) []byte {
	return func(p []byte, _ int) []byte {
		if typeOf(p) == pt {
			p[0] &= 0xF0
		}
		return p
	}
}

// replaceInPublish is an in fault: the client reads the topic of a PUBLISH as if old in it were
// new (of the same length), so an invalid topic looks valid to it.
func replaceInPublish(old, new []byte) func([]byte, int) []byte {
	return func(p []byte, _ int) []byte {
		if typeOf(p) != codec.PUBLISH {
			return p
		}
		i := headerLen(p)
		end := i + 2 + (int(p[i])<<8 | int(p[i+1]))
		topic := bytes.ReplaceAll(p[i+2:end], old, new)
		return append(append(append([]byte(nil), p[:i+2]...), topic...), p[end:]...)
	}
}

// illFormed is an out fault that makes the first occurrence of ch in packets of type pt (after
// the fixed header) ill-formed UTF-8: the continuation byte of a two-byte character becomes '(',
// the first byte of an ASCII word 0xFF.
func illFormed(pt codec.PacketType, ch string) func([]byte, int, *faultState) [][]byte {
	return func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == pt {
			if i := bytes.Index(p[headerLen(p):], []byte(ch)); i >= 0 {
				if ch[0] < 0x80 {
					p[headerLen(p)+i] = 0xFF
				} else {
					p[headerLen(p)+i+1] = '('
				}
			}
		}
		return keep(p)
	}
}

// setAlias is an out fault that gives every PUBLISH the Topic Alias n, whatever the server
// allowed (5.0).
func setAlias(n uint16) func([]byte, int, *faultState) [][]byte {
	return func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == codec.PUBLISH {
			return keep(rewrite(codec.V5, p, func(pk codec.Packet) { pk.(*codec.Publish).Properties.SetTopicAlias(n) }))
		}
		return keep(p)
	}
}

// invalidReason is an out fault that sends acknowledgements of type pt with reason code 0x81,
// which none of PUBACK, PUBREC, PUBREL and PUBCOMP allows (5.0; the packet identifier is kept).
func invalidReason(pt codec.PacketType) func([]byte, int, *faultState) [][]byte {
	return func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) != pt {
			return keep(p)
		}
		i := headerLen(p)
		return keep([]byte{p[0], 0x03, p[i], p[i+1], 0x81})
	}
}

// overLimit is an out fault that adds a 200-byte Reason String (or User Property) to each
// packet of type pt, whatever the server's Maximum Packet Size (5.0).
func overLimit(pt codec.PacketType, user bool) func([]byte, int, *faultState) [][]byte {
	long := strings.Repeat("x", 200)
	return func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) != pt {
			return keep(p)
		}
		return keep(rewrite(codec.V5, p, func(pk codec.Packet) {
			var props *codec.Properties
			switch a := pk.(type) {
			case *codec.Puback:
				props = &a.Properties
			case *codec.Pubrec:
				props = &a.Properties
			case *codec.Pubrel:
				props = &a.Properties
			case *codec.Pubcomp:
				props = &a.Properties
			case *codec.Disconnect:
				props = &a.Properties
			default:
				return
			}
			if user {
				props.AddUser("diagnostic", long)
			} else {
				props.SetReasonString(long)
			}
		}))
	}
}

// span is where a field lies in a packet, [start, end).
type span struct{ start, end int }

// connectFields locates the Connect Flags byte and the payload fields of a CONNECT (a zero span
// for a field that is absent).
type connectFields struct {
	flags                                                int
	clientID, willTopic, willPayload, username, password span
}

// parseConnect reads the layout of a well-formed CONNECT.
func parseConnect(p []byte) connectFields {
	var f connectFields
	f.flags = connectFlagsOffset(p)
	flags := p[f.flags]
	i := f.flags + 1 + 2 // keep alive
	skipProps := func() {
		n, mul := 0, 1
		for {
			b := p[i]
			i++
			n += int(b&0x7F) * mul
			mul *= 128
			if b&0x80 == 0 {
				break
			}
		}
		i += n
	}
	if p[f.flags-1] == 5 {
		skipProps()
	}
	field := func() span {
		l := int(p[i])<<8 | int(p[i+1])
		sp := span{i, i + 2 + l}
		i = sp.end
		return sp
	}
	f.clientID = field()
	if flags&0x04 != 0 {
		if p[f.flags-1] == 5 {
			skipProps()
		}
		f.willTopic, f.willPayload = field(), field()
	}
	if flags&0x80 != 0 {
		f.username = field()
	}
	if flags&0x40 != 0 {
		f.password = field()
	}
	return f
}

// onConnect is an out fault that rewrites each CONNECT.
func onConnect(edit func(p []byte, f connectFields) []byte) func([]byte, int, *faultState) [][]byte {
	return func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) != codec.CONNECT {
			return keep(p)
		}
		return keep(edit(p, parseConnect(p)))
	}
}

// cut removes sp from a packet and insert puts b at offset at, both fixing the Remaining
// Length.
func cut(p []byte, sp span) []byte {
	body := append(append([]byte(nil), p[headerLen(p):sp.start]...), p[sp.end:]...)
	return withBody(p[0], body)
}

func insert(p []byte, at int, b []byte) []byte {
	body := append(append(append([]byte(nil), p[headerLen(p):at]...), b...), p[at:]...)
	return withBody(p[0], body)
}

func withBody(first byte, body []byte) []byte {
	out := []byte{first}
	n := len(body)
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// topicEnd is where the topic name of a PUBLISH ends.
func topicEnd(p []byte) int {
	i := headerLen(p)
	return i + 2 + (int(p[i])<<8 | int(p[i+1]))
}

// propLen is how many bytes the 5.0 property block starting at i takes, Property Length
// included (0 on a 3.1.1 connection, which has none).
func propLen(p []byte, i int, st *faultState) int {
	if st.level != 5 {
		return 0
	}
	n, mul, j := 0, 1, i
	for {
		b := p[j]
		j++
		n += int(b&0x7F) * mul
		mul *= 128
		if b&0x80 == 0 {
			break
		}
	}
	return j - i + n
}

// withoutFilters is an out fault that sends SUBSCRIBE or UNSUBSCRIBE packets (pt) with their
// packet identifier and properties but no topic filter.
func withoutFilters(pt codec.PacketType) func([]byte, int, *faultState) [][]byte {
	return func(p []byte, _ int, st *faultState) [][]byte {
		if typeOf(p) != pt {
			return keep(p)
		}
		h := headerLen(p)
		return keep(withBody(p[0], p[h:h+2+propLen(p, h+2, st)]))
	}
}

// headerLen is the length of a packet's fixed header (type byte and Remaining Length).
func headerLen(p []byte) int {
	i := 1
	for p[i]&0x80 != 0 {
		i++
	}
	return i + 1
}

// packetID and setID read and write the Packet Identifier that starts the variable header of
// PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE and UNSUBSCRIBE.
func packetID(p []byte) uint16 { i := headerLen(p); return uint16(p[i])<<8 | uint16(p[i+1]) }
func setID(p []byte, id uint16) {
	i := headerLen(p)
	p[i], p[i+1] = byte(id>>8), byte(id)
}

// connectFlagsOffset is where the Connect Flags byte of a CONNECT is (after the protocol name
// "MQTT" and the level).
func connectFlagsOffset(p []byte) int { return headerLen(p) + 2 + 4 + 1 }

// onType is an out fault that edits each packet of type pt in place.
func onType(pt codec.PacketType, edit func(p []byte)) func([]byte, int, *faultState) [][]byte {
	return func(p []byte, _ int, _ *faultState) [][]byte {
		if typeOf(p) == pt {
			edit(p)
		}
		return keep(p)
	}
}

// swapped is an out fault that sends the first two packets of type pt in reverse order (the
// first is held until the second is written).
func swapped(pt codec.PacketType) func([]byte, int, *faultState) [][]byte {
	return func(p []byte, _ int, st *faultState) [][]byte {
		if typeOf(p) != pt {
			return keep(p)
		}
		switch len(st.held) {
		case 0:
			st.held = append(st.held, p)
			return nil
		case 1:
			first := st.held[0]
			st.held = append(st.held, nil) // done: later packets pass
			return [][]byte{p, first}
		}
		return keep(p)
	}
}

// TestFaultsAreCaught switches each deliberate bug on in the reference client and checks that
// the cases written for that behaviour fail: the catalog can catch the bugs it is meant for.
func TestFaultsAreCaught(t *testing.T) {
	all := catalog.ClientCases()
	proofs := map[string]spec.Proof{}
	for _, p := range clientcat.Proofs {
		proofs[p.Fault] = p
	}
	for _, f := range faults {
		if _, ok := proofs[f.name]; !ok {
			t.Errorf("fault %s has no row in clientcat.Proofs", f.name)
		}
		delete(proofs, f.name)
	}
	for name := range proofs {
		t.Errorf("clientcat.Proofs row %s names no fault of the reference client", name)
	}
	for _, p := range clientcat.Proofs {
		proofs[p.Fault] = p
	}
	for _, f := range faults {
		proof := proofs[f.name]
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			var cases []conformance.Case
			ids := proof.CasesOn(spec.V311)
			for _, id := range proof.CasesOn(spec.V5) {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			for _, id := range ids {
				sel, err := conformance.Select(all, []string{id}, nil)
				if err != nil || len(sel) != 1 {
					t.Fatalf("fault %s: %q selects %d cases (%v)", f.name, id, len(sel), err)
				}
				cases = append(cases, sel...)
			}
			res := run(t, faultyReference(f), cases)
			for _, c := range res.Cases {
				if !slices.Contains(proof.CasesOn(c.Version), c.ID) {
					continue // mapped for the other version only
				}
				// Only a fail proves the case catches the bug: a warn is a SHOULD's verdict, and
				// a skip or an error judged nothing.
				if c.Status != reports.Fail {
					t.Errorf("fault %s: %s [%s] did not fail: %s %s", f.name, c.ID, c.Version, c.Status, c.Message)
				} else {
					t.Logf("fault %s caught by %s [%s]: %s", f.name, c.ID, c.Version, c.Message)
				}
			}
		})
	}
}

func faultyReference(f fault) conformance.Driver {
	return drivers.ReferenceWith("reference+"+f.name, func(a conformance.Action, o *client.Options) {
		var conns atomic.Int32
		st := &faultState{action: a}
		o.Dialer = func(ctx context.Context, u *url.URL) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, "tcp", u.Host)
			if err != nil {
				return nil, err
			}
			return &faultConn{Conn: nc, f: f, n: int(conns.Add(1)), st: st}, nil
		}
	})
}

// faultConn splits the byte streams into packets and passes each through the fault.
type faultConn struct {
	net.Conn
	closeOnce sync.Once
	f         fault
	n         int
	st        *faultState
	wmu       sync.Mutex
	wbuf      []byte
	rbuf      []byte // raw bytes read, not yet a whole packet
	pending   []byte // rewritten bytes not yet returned by Read
}

// split returns the whole packets at the start of b and the rest.
func split(b []byte) (pkts [][]byte, rest []byte) {
	for {
		if len(b) < 2 {
			return pkts, b
		}
		n, mul, i := 0, 1, 1
		for ; i < len(b) && i <= 4; i++ {
			n += int(b[i]&0x7F) * mul
			mul *= 128
			if b[i]&0x80 == 0 {
				break
			}
		}
		if i >= len(b) || i > 4 {
			return pkts, b
		}
		end := i + 1 + n
		if len(b) < end {
			return pkts, b
		}
		pkts = append(pkts, append([]byte(nil), b[:end]...))
		b = b[end:]
	}
}

// Close ends the connection, 3 s late with a lateClose fault (the client believes it closed).
func (c *faultConn) Close() error {
	if !c.f.lateClose {
		return c.Conn.Close()
	}
	c.closeOnce.Do(func() { time.AfterFunc(3*time.Second, func() { c.Conn.Close() }) })
	return nil
}

func (c *faultConn) Write(b []byte) (int, error) {
	if c.f.out == nil && c.f.inject == nil {
		return c.Conn.Write(b)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	pkts, rest := split(append(c.wbuf, b...))
	c.wbuf = append([]byte(nil), rest...)
	var out []byte
	for _, p := range pkts {
		if typeOf(p) == codec.CONNECT {
			c.st.level = p[headerLen(p)+6]
		}
		if c.f.inject != nil && typeOf(p) == codec.DISCONNECT && !c.st.injected {
			c.st.injected = true
			if q := c.f.inject(c.st.action, c.st.level); q != nil {
				out = append(out, q...)
			}
		}
		if c.f.out == nil {
			out = append(out, p...)
			continue
		}
		for _, q := range c.f.out(p, c.n, c.st) {
			out = append(out, q...)
		}
	}
	if len(out) > 0 {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func (c *faultConn) Read(b []byte) (int, error) {
	if c.f.in == nil {
		return c.Conn.Read(b)
	}
	for len(c.pending) == 0 {
		buf := make([]byte, 4096)
		n, err := c.Conn.Read(buf)
		pkts, rest := split(append(c.rbuf, buf[:n]...))
		c.rbuf = append([]byte(nil), rest...)
		for _, p := range pkts {
			c.pending = append(c.pending, c.f.in(p, c.n)...)
		}
		if err != nil && len(c.pending) == 0 {
			return 0, err
		}
	}
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}
