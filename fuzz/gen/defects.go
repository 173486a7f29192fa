package gen

import (
	"bytes"
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
)

// variant breaks the packet under construction in one specific way and records the verdict.
type variant func(g *builder)

// variants lists the ways defect d can break a packet of type g.t in version g.v sent by
// g.o.Sender. It depends on nothing else, so it also tells which types can carry a defect.
func (g *builder) variants(d Defect) []variant {
	switch d {
	case EdgeValue:
		return g.edgeValues()
	case ReservedBit:
		return g.reservedBits()
	case WrongLength:
		return g.wrongLengths()
	case DuplicateProperty:
		// UNSUBSCRIBE carries only User Properties, which may repeat.
		if g.v5() && hasProps(g.t) && g.t != codec.UNSUBSCRIBE {
			return []variant{(*builder).duplicateProperty}
		}
	case BadString:
		return g.badStrings()
	case BadProperty:
		return g.badProperties()
	}
	return nil
}

func hasProps(t codec.PacketType) bool { return t != codec.PINGREQ && t != codec.PINGRESP }

// isAck reports PUBACK, PUBREC, PUBREL and PUBCOMP.
func isAck(t codec.PacketType) bool { return t >= codec.PUBACK && t <= codec.PUBCOMP }

// reasonRuleName is the codec rule citing the reason code list of t ("puback-reason-code").
func reasonRuleName(t codec.PacketType) string {
	return map[codec.PacketType]string{codec.CONNACK: "connack-reason-code", codec.PUBACK: "puback-reason-code",
		codec.PUBREC: "pubrec-reason-code", codec.PUBREL: "pubrel-reason-code", codec.PUBCOMP: "pubcomp-reason-code",
		codec.SUBACK: "suback-reason-code", codec.UNSUBACK: "unsuback-reason-code",
		codec.DISCONNECT: "disconnect-reason-code", codec.AUTH: "auth-reason-code"}[t]
}

// badReason draws a reason code the version does not allow in t.
func (g *builder) badReason(t codec.PacketType) codec.ReasonCode {
	for i := 0; i < 8; i++ {
		rc := codec.ReasonCode(g.s.Byte())
		if !g.reasonOK(t, rc) {
			return rc
		}
	}
	return 0xFF // allowed nowhere
}

func (g *builder) reasonOK(t codec.PacketType, rc codec.ReasonCode) bool {
	switch {
	case g.v5():
		return rc.ValidFor(t)
	case t == codec.CONNACK:
		return rc <= 5
	case t == codec.SUBACK:
		return rc <= 2 || rc == 0x80
	}
	return true
}

// --- EdgeValue ---

func (g *builder) edgeValues() []variant {
	var vs []variant
	badRC := func(g *builder) {
		rc := g.badReason(g.t)
		switch p := g.p.(type) {
		case *codec.Connack:
			p.ReasonCode, p.SessionPresent = rc, false
		case *codec.Suback:
			p.ReasonCodes[g.s.Intn(len(p.ReasonCodes))] = rc
		case *codec.Unsuback:
			p.ReasonCodes[g.s.Intn(len(p.ReasonCodes))] = rc
		case *codec.Disconnect:
			p.ReasonCode = rc
		case *codec.Auth:
			p.ReasonCode = rc
		default:
			ackOf(g.p).ReasonCode = rc
		}
		g.reject(reasonRuleName(g.t), fmt.Sprintf("reason code 0x%02X", byte(rc)))
	}
	propValue := func(id codec.PropID, bad func(g *builder) uint32, where codec.PacketType) variant {
		return func(g *builder) {
			p := propsOf(g.p)
			if where == willProps {
				c := g.p.(*codec.Connect)
				g.addWill(c)
				p = &c.Will.Properties
			}
			x := bad(g)
			switch id {
			case codec.PropPayloadFormat:
				p.SetPayloadFormat(byte(x))
			case codec.PropRequestProblemInfo:
				p.SetRequestProblemInfo(byte(x))
			case codec.PropRequestResponseInfo:
				p.SetRequestResponseInfo(byte(x))
			case codec.PropMaximumQoS:
				p.SetMaximumQoS(byte(x))
			case codec.PropRetainAvailable:
				p.SetRetainAvailable(byte(x))
			case codec.PropWildcardSubAvailable:
				p.SetWildcardSubAvailable(byte(x))
			case codec.PropSubIDAvailable:
				p.SetSubIDAvailable(byte(x))
			case codec.PropSharedSubAvailable:
				p.SetSharedSubAvailable(byte(x))
			case codec.PropReceiveMaximum:
				p.SetReceiveMaximum(uint16(x))
			case codec.PropMaximumPacketSize:
				p.SetMaximumPacketSize(x)
			}
			g.reject("property-value", fmt.Sprintf("%v is %d", id, x))
		}
	}
	above1 := func(g *builder) uint32 { return uint32(2 + g.s.Intn(254)) }
	zero := func(*builder) uint32 { return 0 }
	switch g.t {
	case codec.CONNECT:
		vs = append(vs, func(g *builder) {
			c := g.p.(*codec.Connect)
			g.addWill(c)
			c.Will.QoS = 3
			g.reject("will-qos3", "Will QoS 3")
		}, func(g *builder) {
			// Patched into the bytes: the encoder reads level 0 as "the version encoded for".
			levels := []byte{0, 1, 2, 6, 7, 0x83, 0xFF}
			c := g.p.(*codec.Connect)
			g.encode()
			level := levels[g.s.Intn(len(levels))]
			g.b[headerLen(g.b)+2+len(c.ProtocolName)] = level
			g.reject("connect-protocol-level", fmt.Sprintf("protocol level %d", level))
		})
		if g.v5() {
			vs = append(vs, propValue(codec.PropReceiveMaximum, zero, codec.CONNECT),
				propValue(codec.PropMaximumPacketSize, zero, codec.CONNECT),
				propValue(codec.PropRequestProblemInfo, above1, codec.CONNECT),
				propValue(codec.PropRequestResponseInfo, above1, codec.CONNECT),
				propValue(codec.PropPayloadFormat, above1, willProps))
		}
	case codec.CONNACK:
		vs = append(vs, badRC)
		if g.v5() {
			vs = append(vs, propValue(codec.PropMaximumQoS, above1, codec.CONNACK),
				propValue(codec.PropRetainAvailable, above1, codec.CONNACK),
				propValue(codec.PropWildcardSubAvailable, above1, codec.CONNACK),
				propValue(codec.PropSubIDAvailable, above1, codec.CONNACK),
				propValue(codec.PropSharedSubAvailable, above1, codec.CONNACK),
				propValue(codec.PropReceiveMaximum, zero, codec.CONNACK),
				propValue(codec.PropMaximumPacketSize, zero, codec.CONNACK))
		}
	case codec.PUBLISH:
		vs = append(vs, func(g *builder) {
			p := g.p.(*codec.Publish)
			p.QoS, p.Dup = 3, false
			g.reject("publish-qos3", "QoS 3")
		}, func(g *builder) {
			p := g.p.(*codec.Publish)
			if p.QoS == 0 {
				p.QoS = 1 + byte(g.s.Intn(2))
			}
			p.PacketID = 0
			rule := "packet-id-zero"
			if g.o.Sender == codec.SideServer {
				rule = "packet-id-zero-server"
			}
			g.reject(rule, fmt.Sprintf("QoS %d with packet identifier 0", p.QoS))
		})
		if g.v5() {
			vs = append(vs, func(g *builder) {
				g.p.(*codec.Publish).Properties.SetTopicAlias(0)
				g.reject("topic-alias-zero", "Topic Alias 0")
			}, propValue(codec.PropPayloadFormat, above1, codec.PUBLISH))
			if g.o.Sender != codec.SideClient {
				vs = append(vs, func(g *builder) {
					p := &g.p.(*codec.Publish).Properties
					p.SubscriptionIDs = append(p.SubscriptionIDs, 0)
					g.reject("subscription-id-zero", "Subscription Identifier 0")
				})
			}
		}
	case codec.PUBACK, codec.PUBREC, codec.PUBREL, codec.PUBCOMP:
		vs = append(vs, func(g *builder) {
			ackOf(g.p).PacketID = 0
			g.reject("ack-packet-id-zero", "packet identifier 0")
		})
		if g.v5() {
			vs = append(vs, badRC)
		}
	case codec.SUBSCRIBE:
		vs = append(vs, func(g *builder) {
			g.p.(*codec.Subscribe).PacketID = 0
			g.reject("packet-id-zero", "packet identifier 0")
		}, func(g *builder) {
			p := g.p.(*codec.Subscribe)
			p.Subscriptions[g.s.Intn(len(p.Subscriptions))].QoS = 3
			g.reject("subscribe-qos3", "requested QoS 3")
		}, func(g *builder) {
			g.p.(*codec.Subscribe).Subscriptions = nil
			g.reject("subscribe-empty", "no topic filter")
		})
		if g.v5() {
			vs = append(vs, func(g *builder) {
				p := g.p.(*codec.Subscribe)
				p.Subscriptions[g.s.Intn(len(p.Subscriptions))].RetainHandling = 3
				g.reject("retain-handling-3", "Retain Handling 3")
			}, func(g *builder) {
				g.p.(*codec.Subscribe).Properties.SubscriptionIDs = []uint32{0}
				g.reject("subscription-id-zero", "Subscription Identifier 0")
			})
		}
	case codec.SUBACK:
		vs = append(vs, badRC, func(g *builder) {
			g.p.(*codec.Suback).PacketID = 0
			g.reject("suback-packet-id-zero", "packet identifier 0")
		})
	case codec.UNSUBSCRIBE:
		vs = append(vs, func(g *builder) {
			g.p.(*codec.Unsubscribe).PacketID = 0
			g.reject("packet-id-zero", "packet identifier 0")
		}, func(g *builder) {
			g.p.(*codec.Unsubscribe).Filters = nil
			g.reject("unsubscribe-empty", "no topic filter")
		})
	case codec.UNSUBACK:
		vs = append(vs, func(g *builder) {
			g.p.(*codec.Unsuback).PacketID = 0
			g.reject("suback-packet-id-zero", "packet identifier 0")
		})
		if g.v5() {
			vs = append(vs, badRC)
		}
	case codec.DISCONNECT, codec.AUTH:
		if g.v5() {
			vs = append(vs, badRC)
		}
	}
	return vs
}

// addWill gives a CONNECT a valid Will if it has none.
func (g *builder) addWill(c *codec.Connect) {
	if c.WillFlag {
		return
	}
	c.WillFlag = true
	c.Will.Topic = g.s.Topic(64)
	c.Will.Payload = g.s.Binary(64)
	c.Will.Properties = g.props(willProps)
}

// --- ReservedBit ---

func (g *builder) reservedBits() []variant {
	var vs []variant
	if g.t != codec.PUBLISH {
		vs = append(vs, func(g *builder) {
			g.encode()
			bit := byte(1) << g.s.Intn(4)
			g.b[0] ^= bit
			rule := map[codec.PacketType]string{codec.PUBREL: "pubrel-flags", codec.SUBSCRIBE: "subscribe-flags",
				codec.UNSUBSCRIBE: "unsubscribe-flags", codec.DISCONNECT: "disconnect-flags", codec.AUTH: "auth-flags"}[g.t]
			if rule == "" {
				rule = "reserved-flags"
			}
			g.reject(rule, fmt.Sprintf("fixed-header flags %04b", g.b[0]&0x0F))
		})
	}
	switch g.t {
	case codec.PUBLISH:
		vs = append(vs, func(g *builder) {
			p := g.p.(*codec.Publish)
			p.QoS, p.Dup, p.PacketID = 0, true, 0
			g.reject("publish-dup-qos0", "DUP 1 on a QoS 0 PUBLISH")
		})
	case codec.CONNECT:
		vs = append(vs, func(g *builder) {
			g.p.(*codec.Connect).ReservedFlag = true
			g.reject("connect-reserved-flag", "CONNECT flags bit 0 set")
		}, func(g *builder) {
			c := g.p.(*codec.Connect)
			c.WillFlag, c.Will = false, codec.Will{QoS: 1 + byte(g.s.Intn(2))}
			g.reject("will-qos-without-will", fmt.Sprintf("Will QoS %d without Will Flag", c.Will.QoS))
		}, func(g *builder) {
			c := g.p.(*codec.Connect)
			c.WillFlag, c.Will = false, codec.Will{Retain: true}
			g.reject("will-retain-without-will", "Will Retain without Will Flag")
		})
		if !g.v5() {
			vs = append(vs, func(g *builder) {
				c := g.p.(*codec.Connect)
				c.UsernameFlag, c.Username = false, ""
				c.PasswordFlag, c.Password = true, g.s.Binary(16)
				g.reject("password-without-username", "Password Flag without User Name Flag")
			})
		}
	case codec.CONNACK:
		vs = append(vs, func(g *builder) {
			c := g.p.(*codec.Connack)
			c.ReservedFlags = 1 + byte(g.s.Intn(127))
			g.reject("connack-reserved-flags", fmt.Sprintf("acknowledge flags 0x%02X", c.ReservedFlags<<1))
		}, func(g *builder) {
			c := g.p.(*codec.Connack)
			c.SessionPresent = true
			refusing := []codec.ReasonCode{1, 2, 3, 4, 5}
			if g.v5() {
				refusing = codec.ReasonCodesFor(codec.CONNACK)[1:] // all but 0x00 Success
			}
			c.ReasonCode = refusing[g.s.Intn(len(refusing))]
			g.reject("connack-session-present-on-error", fmt.Sprintf("Session Present with reason code 0x%02X", byte(c.ReasonCode)))
		})
	case codec.SUBSCRIBE:
		vs = append(vs, func(g *builder) {
			p := g.p.(*codec.Subscribe)
			sub := &p.Subscriptions[g.s.Intn(len(p.Subscriptions))]
			if g.v5() {
				sub.ReservedBits = 1 + byte(g.s.Intn(3))
			} else {
				sub.ReservedBits = 1 + byte(g.s.Intn(63))
			}
			g.reject("subscribe-options-reserved", "reserved subscription option bits set")
		})
		if g.v5() {
			vs = append(vs, func(g *builder) {
				p := g.p.(*codec.Subscribe)
				sub := &p.Subscriptions[g.s.Intn(len(p.Subscriptions))]
				sub.Filter, sub.NoLocal = "$share/g/"+g.s.Topic(32), true
				g.reject("shared-no-local", "No Local on a shared subscription")
			})
		}
	}
	return vs
}

// --- WrongLength ---

func (g *builder) wrongLengths() []variant {
	vs := []variant{func(g *builder) {
		// A remaining length in five bytes: every byte but the last has its continuation bit.
		g.encode()
		h := headerLen(g.b)
		n := len(g.b) - h
		five := []byte{byte(n&0x7F) | 0x80, byte(n>>7&0x7F) | 0x80, byte(n>>14&0x7F) | 0x80, byte(n>>21&0x7F) | 0x80, 0}
		g.b = append(append([]byte{g.b[0]}, five...), g.b[h:]...)
		g.reject("varint-too-long", "remaining length in five bytes")
	}}
	if g.v5() {
		vs = append(vs, func(g *builder) {
			// MQTT-1.5.5-1: the remaining length in more bytes than it needs (five bytes when
			// the minimal form already takes four).
			g.encode()
			h := headerLen(g.b)
			n := len(g.b) - h
			long := appendVarint(nil, n)
			m := len(long)
			target := 5
			if m < 4 {
				target = m + 1 + g.s.Intn(4-m)
			}
			long[m-1] |= 0x80
			for len(long) < target-1 {
				long = append(long, 0x80)
			}
			long = append(long, 0)
			g.b = append(append([]byte{g.b[0]}, long...), g.b[h:]...)
			if target == 5 {
				g.reject("varint-too-long", "remaining length in five bytes")
				return
			}
			g.reject("varint-non-minimal", fmt.Sprintf("remaining length %d in %d bytes", n, target))
		})
	}
	// A string field whose length runs past the end of the packet.
	if g.stringField() != nil {
		vs = append(vs, func(g *builder) {
			mark := g.marker(6)
			g.stringField()(g, mark)
			g.shortenTail()
			g.encode()
			at := g.find(append([]byte{0, byte(len(mark))}, mark...))
			if at < 0 {
				panic("gen: string marker not found")
			}
			rest := len(g.b) - at - 2
			n := min(rest+1+g.s.Intn(64), 0xFFFF)
			if n <= rest {
				panic(fmt.Sprintf("gen: %d bytes follow a string; no length can run past them", rest))
			}
			g.b[at], g.b[at+1] = byte(n>>8), byte(n)
			g.reject("truncated", fmt.Sprintf("string length %d with %d bytes left", n, rest))
		})
	}
	// Bytes after the last field, where the layout has a definite end.
	fixed := g.t == codec.PINGREQ || g.t == codec.PINGRESP || g.t == codec.CONNECT ||
		(!g.v5() && (isAck(g.t) || g.t == codec.CONNACK || g.t == codec.DISCONNECT || g.t == codec.UNSUBACK)) ||
		(g.v5() && (isAck(g.t) || g.t == codec.CONNACK || g.t == codec.DISCONNECT || g.t == codec.AUTH))
	if fixed {
		vs = append(vs, func(g *builder) {
			if g.v5() && (isAck(g.t) || g.t == codec.DISCONNECT || g.t == codec.AUTH) {
				// The property block must be there for the end to be definite.
				if p := propsOf(g.p); p.Empty() {
					p.SetReasonString(g.s.Text(16))
				}
			}
			g.encode()
			h := headerLen(g.b)
			extra := 1 + g.s.Intn(4)
			body := append(append([]byte(nil), g.b[h:]...), g.s.Raw(extra)...)
			g.b = withHeader(g.b[0], body)
			g.reject("trailing-bytes", fmt.Sprintf("%d bytes after the last field", extra))
		})
	}
	// A property length that claims more bytes than the packet has.
	if g.v5() && hasProps(g.t) {
		vs = append(vs, func(g *builder) {
			if isAck(g.t) || g.t == codec.DISCONNECT || g.t == codec.AUTH {
				if p := propsOf(g.p); p.Empty() {
					p.SetReasonString(g.s.Text(16))
				}
			}
			g.encode()
			h := headerLen(g.b)
			body := g.b[h:]
			off := g.propsOffset()
			_, old := uvarint(body[off:])
			rest := len(body) - off - old
			n := rest + 1 + g.s.Intn(100)
			nb := append(append(append([]byte(nil), body[:off]...), appendVarint(nil, n)...), body[off+old:]...)
			g.b = withHeader(g.b[0], nb)
			g.reject("property-length", fmt.Sprintf("property length %d with %d bytes left", n, rest))
		})
	}
	return vs
}

// propsOffset is the offset in the packet body of the (first) property length.
func (g *builder) propsOffset() int {
	switch p := g.p.(type) {
	case *codec.Connect:
		return 2 + len(p.ProtocolName) + 1 + 1 + 2
	case *codec.Connack:
		return 2
	case *codec.Publish:
		n := 2 + len(p.Topic)
		if p.QoS > 0 {
			n += 2
		}
		return n
	case *codec.Disconnect, *codec.Auth:
		return 1
	}
	if isAck(g.t) {
		return 3
	}
	return 2 // SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK
}

// stringField returns a function that sets one string field of the packet to a value, or nil
// when the packet type has no string field in this version.
func (g *builder) stringField() func(g *builder, v []byte) {
	switch g.t {
	case codec.CONNECT:
		return func(g *builder, v []byte) { g.p.(*codec.Connect).ClientID = string(v) }
	case codec.PUBLISH:
		return func(g *builder, v []byte) { g.p.(*codec.Publish).Topic = string(v) }
	case codec.SUBSCRIBE:
		return func(g *builder, v []byte) { g.p.(*codec.Subscribe).Subscriptions[0].Filter = string(v) }
	case codec.UNSUBSCRIBE:
		return func(g *builder, v []byte) { g.p.(*codec.Unsubscribe).Filters[0] = string(v) }
	}
	if g.v5() && hasProps(g.t) {
		return func(g *builder, v []byte) { propsOf(g.p).SetReasonString(string(v)) }
	}
	return nil
}

// shortenTail trims what follows the field stringField sets, so that a 16-bit length can point
// past the end of the packet.
func (g *builder) shortenTail() {
	switch p := g.p.(type) {
	case *codec.Connect:
		p.WillFlag, p.Will = false, codec.Will{}
		p.UsernameFlag, p.Username, p.PasswordFlag, p.Password = false, "", false, nil
	case *codec.Publish:
		p.Payload = p.Payload[:min(len(p.Payload), 64)]
	case *codec.Subscribe:
		p.Subscriptions = p.Subscriptions[:1]
	case *codec.Unsubscribe:
		p.Filters = p.Filters[:1]
	}
}

// marker returns letters "mk…" that the generator never produces elsewhere in a string, so that
// their encoding can be found in the packet; n is the number of letters after "mk".
func (g *builder) marker(n int) []byte {
	b := []byte("mk")
	for i := 0; i < n; i++ {
		b = append(b, 'a'+g.s.Byte()%26)
	}
	return b
}

// find returns the offset of the only occurrence of pat in the encoded packet, or -1. Binary
// fields drawn from the input may contain the pattern by chance; such packets are rebuilt by
// the caller's panic, which a fuzzer reports, so find is strict rather than guessing.
func (g *builder) find(pat []byte) int {
	i := bytes.Index(g.b, pat)
	if i < 0 || bytes.Contains(g.b[i+1:], pat) {
		return -1
	}
	return i
}

// --- DuplicateProperty and BadProperty: splicing into a property block ---

// single lists the properties that may appear only once in a packet (all but User Property,
// and Subscription Identifier, which repeats in PUBLISH).
func single(id codec.PropID, t codec.PacketType) bool {
	return id != codec.PropUserProperty && !(id == codec.PropSubscriptionID && t == codec.PUBLISH)
}

// splice replaces a marker User Property in block (the packet's own properties, or its Will
// Properties when will is set) with raw property bytes, keeping every length right: the raw
// bytes are followed by a User Property padding them to the marker's size. raw of length 1 (an
// unknown identifier, after which nothing parses) is padded with zeros instead.
func (g *builder) splice(will bool, raw []byte) {
	block := propsOf(g.p)
	if will {
		c := g.p.(*codec.Connect)
		g.addWill(c)
		block = &c.Will.Properties
	}
	mark := g.marker(max(6, len(raw)))
	block.AddUser(string(mark), "")
	g.encode()
	enc := append(append([]byte{byte(codec.PropUserProperty), 0, byte(len(mark))}, mark...), 0, 0)
	at := -1
	for try := 0; try < 4 && at < 0; try++ {
		at = g.find(enc)
		if at < 0 { // the marker also occurs in a binary field: pick another one
			block.User = block.User[:len(block.User)-1]
			mark = append(mark, 'q')
			block.AddUser(string(mark), "")
			g.encode()
			enc = append(append([]byte{byte(codec.PropUserProperty), 0, byte(len(mark))}, mark...), 0, 0)
		}
	}
	if at < 0 {
		panic("gen: property marker not found")
	}
	var repl []byte
	if len(raw) == 1 {
		repl = append(raw, make([]byte, len(enc)-1)...)
	} else {
		pad := len(enc) - len(raw) - 5 // a User Property of an empty key and pad value bytes
		repl = append(append([]byte(nil), raw...), byte(codec.PropUserProperty), 0, 0, byte(pad>>8), byte(pad))
		repl = append(repl, bytes.Repeat([]byte{'p'}, pad)...)
	}
	copy(g.b[at:], repl)
	block.User = block.User[:len(block.User)-1]
}

// encodeProp encodes property id with a valid value drawn from the source (independently of
// the codec's encoder, so that the generator is an oracle of its own).
func (g *builder) encodeProp(id codec.PropID) []byte {
	s := g.s
	b := []byte{byte(id)}
	switch id {
	case codec.PropPayloadFormat, codec.PropRequestProblemInfo, codec.PropRequestResponseInfo,
		codec.PropMaximumQoS, codec.PropRetainAvailable, codec.PropWildcardSubAvailable,
		codec.PropSubIDAvailable, codec.PropSharedSubAvailable:
		return append(b, byte(s.Intn(2)))
	case codec.PropServerKeepAlive, codec.PropTopicAliasMaximum:
		x := s.Uint16()
		return append(b, byte(x>>8), byte(x))
	case codec.PropReceiveMaximum, codec.PropTopicAlias:
		x := s.Edge16(1, 65535)
		return append(b, byte(x>>8), byte(x))
	case codec.PropMessageExpiry, codec.PropSessionExpiry, codec.PropWillDelay:
		x := s.Uint32()
		return append(b, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
	case codec.PropMaximumPacketSize:
		x := s.Edge32(1, 0xFFFFFFFF)
		return append(b, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
	case codec.PropSubscriptionID:
		return appendVarint(b, int(s.Edge32(1, codec.MaxVarint)))
	case codec.PropCorrelationData, codec.PropAuthData:
		v := s.Binary(12)
		return append(append(b, 0, byte(len(v))), v...)
	case codec.PropResponseTopic:
		v := s.Topic(12)
		return append(append(b, 0, byte(len(v))), v...)
	}
	v := s.Text(12) // the string properties
	return append(append(b, byte(len(v)>>8), byte(len(v))), v...)
}

// blockFor picks the property block a splice goes into: the packet's own, or (CONNECT, half of
// the time) its Will Properties.
func (g *builder) blockFor() (will bool, t codec.PacketType) {
	if g.t == codec.CONNECT && g.s.Bool() {
		return true, willProps
	}
	return false, g.t
}

func (g *builder) duplicateProperty() {
	will, t := g.blockFor()
	var ids []codec.PropID
	for _, id := range codec.PropIDs() {
		if id.AllowedIn(t) && single(id, t) &&
			!(t == codec.DISCONNECT && id == codec.PropSessionExpiry && g.o.Sender == codec.SideServer) {
			ids = append(ids, id)
		}
	}
	id := ids[g.s.Intn(len(ids))]
	if id == codec.PropAuthData {
		if p := propsOf(g.p); !p.Has(codec.PropAuthMethod) {
			p.SetAuthMethod("m") // the data's method, so that only the duplicate is wrong
		}
	}
	raw := g.encodeProp(id)
	g.splice(will, append(raw, g.encodeProp(id)...))
	g.reject("property-duplicate", id.String()+" twice")
}

// unknownProps are single-byte identifiers section 2.2.2.2 does not define.
var unknownProps = []byte{0x00, 0x04, 0x05, 0x06, 0x07, 0x0A, 0x0C, 0x0D, 0x10, 0x14, 0x1B, 0x1D, 0x1E, 0x20, 0x2B, 0x40, 0x7F}

func (g *builder) badProperties() []variant {
	if !g.v5() || !hasProps(g.t) {
		return nil
	}
	vs := []variant{func(g *builder) {
		will, _ := g.blockFor()
		id := unknownProps[g.s.Intn(len(unknownProps))]
		g.splice(will, []byte{id})
		g.reject("property-unknown", fmt.Sprintf("property identifier 0x%02X", id))
	}, func(g *builder) {
		will, t := g.blockFor()
		var ids []codec.PropID
		for _, id := range codec.PropIDs() {
			if !id.AllowedIn(t) {
				ids = append(ids, id)
			}
		}
		id := ids[g.s.Intn(len(ids))]
		g.splice(will, g.encodeProp(id))
		where := t.String()
		if will {
			where = "Will Properties"
		}
		g.reject("property-not-allowed", fmt.Sprintf("%v in %s", id, where))
	}}
	switch {
	case g.t == codec.PUBLISH && g.o.Sender == codec.SideClient:
		vs = append(vs, func(g *builder) {
			g.p.(*codec.Publish).Properties.SubscriptionIDs = []uint32{g.s.Edge32(1, codec.MaxVarint)}
			g.reject("publish-subscription-id-from-client", "Subscription Identifier in a client's PUBLISH")
		})
	case g.t == codec.DISCONNECT && g.o.Sender == codec.SideServer:
		vs = append(vs, func(g *builder) {
			g.p.(*codec.Disconnect).Properties.SetSessionExpiry(g.s.Uint32())
			g.reject("disconnect-session-expiry-from-server", "Session Expiry Interval in a server's DISCONNECT")
		})
	case g.t == codec.CONNECT || g.t == codec.CONNACK || g.t == codec.AUTH:
		vs = append(vs, func(g *builder) {
			p := propsOf(g.p)
			p.Clear(codec.PropAuthMethod)
			p.SetAuthData(g.s.Binary(16))
			g.reject("auth-data-without-method", "Authentication Data without Authentication Method")
		})
	}
	return vs
}

// --- BadString ---

// badUTF8 are ill-formed sequences: a stray continuation byte, 0xFF, an overlong form, an
// encoded surrogate, a truncated sequence.
var badUTF8 = []string{"\x80", "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82"}

// badFilters are filters with a misplaced wildcard, with the rule each breaks.
var badFilters = []struct{ f, rule string }{
	{"a#", "filter-hash"}, {"a/#/b", "filter-hash"}, {"#/", "filter-hash"}, {"x/#a", "filter-hash"},
	{"a+", "filter-plus"}, {"+a/b", "filter-plus"}, {"a/b+", "filter-plus"}, {"++", "filter-plus"},
}

// badShared are malformed 5.0 shared subscriptions.
var badShared = []struct{ f, rule string }{
	{"$share//a", "shared-name-empty"}, {"$share/g", "shared-filter-invalid"},
	{"$share/g/", "shared-filter-invalid"}, {"$share/g+/a", "shared-filter-invalid"},
	{"$share/#/a", "shared-filter-invalid"},
}

// corrupt inserts s into v at a drawn position (shortening a long v so that the string still
// fits its 16-bit length).
func (g *builder) corrupt(v, s string) string {
	if len(v)+len(s) > 65535 {
		v = v[:65535-len(s)]
		for len(v) > 0 && !validUTF8Tail([]byte(v)) {
			v = v[:len(v)-1]
		}
	}
	i := 0
	if len(v) > 0 {
		i = g.s.Intn(len(v) + 1)
		for i < len(v) && v[i]&0xC0 == 0x80 { // not inside a character
			i++
		}
	}
	return v[:i] + s + v[i:]
}

func (g *builder) badStrings() []variant {
	var vs []variant
	// Ill-formed UTF-8 or U+0000 in a string field.
	utf := func(set func(g *builder, f func(string) string)) variant {
		return func(g *builder) {
			bad := "\x00"
			rule := "utf8-null"
			if g.s.Bool() {
				bad, rule = badUTF8[g.s.Intn(len(badUTF8))], "utf8-invalid"
			}
			set(g, func(v string) string { return g.corrupt(v, bad) })
			g.reject(rule, fmt.Sprintf("%q in a string", bad))
		}
	}
	switch g.t {
	case codec.CONNECT:
		vs = append(vs, utf(func(g *builder, f func(string) string) {
			c := g.p.(*codec.Connect)
			switch g.s.Intn(3) {
			case 0:
				c.ClientID = f(c.ClientID)
			case 1:
				g.addWill(c)
				c.Will.Topic = f(c.Will.Topic)
			default:
				c.UsernameFlag = true
				c.Username = f(c.Username)
			}
		}), func(g *builder) {
			c := g.p.(*codec.Connect)
			g.addWill(c)
			c.Will.Topic = g.corrupt(c.Will.Topic, []string{"+", "#"}[g.s.Intn(2)])
			g.reject("will-topic-wildcard", fmt.Sprintf("will topic %q", c.Will.Topic))
		}, func(g *builder) {
			c := g.p.(*codec.Connect)
			g.addWill(c)
			c.Will.Topic = ""
			g.reject("topic-empty", "empty will topic")
		}, func(g *builder) {
			c := g.p.(*codec.Connect)
			c.ProtocolName = []string{"MQTX", "mqtt", "MQIsdp", "MQTTT", "MQ"}[g.s.Intn(5)]
			g.reject("connect-protocol-name", fmt.Sprintf("protocol name %q", c.ProtocolName))
		})
		if g.v5() {
			vs = append(vs, func(g *builder) {
				c := g.p.(*codec.Connect)
				g.addWill(c)
				c.Will.Properties.SetResponseTopic(g.corrupt(g.s.Topic(16), "#"))
				g.reject("response-topic-wildcard", "wildcard in the Will's Response Topic")
			})
		}
	case codec.PUBLISH:
		vs = append(vs, utf(func(g *builder, f func(string) string) {
			p := g.p.(*codec.Publish)
			if p.Topic == "" {
				p.Topic = "t"
			}
			p.Topic = f(p.Topic)
		}), func(g *builder) {
			p := g.p.(*codec.Publish)
			if p.Topic == "" {
				p.Topic = "t"
			}
			p.Topic = g.corrupt(p.Topic, []string{"+", "#"}[g.s.Intn(2)])
			g.reject("topic-name-wildcard", fmt.Sprintf("topic name %q", p.Topic))
		}, func(g *builder) {
			p := g.p.(*codec.Publish)
			p.Topic = ""
			if g.v5() {
				p.Properties.Clear(codec.PropTopicAlias)
				g.reject("topic-empty-no-alias", "empty topic name without Topic Alias")
				return
			}
			g.reject("topic-empty", "empty topic name")
		})
		if g.v5() {
			vs = append(vs, func(g *builder) {
				g.p.(*codec.Publish).Properties.SetResponseTopic(g.corrupt(g.s.Topic(16), "+"))
				g.reject("response-topic-wildcard", "wildcard in the Response Topic")
			})
		}
	case codec.SUBSCRIBE, codec.UNSUBSCRIBE:
		filter := func(g *builder) *string {
			if p, ok := g.p.(*codec.Subscribe); ok {
				sub := &p.Subscriptions[g.s.Intn(len(p.Subscriptions))]
				sub.NoLocal = false // a filter that turns shared must not carry No Local
				return &sub.Filter
			}
			p := g.p.(*codec.Unsubscribe)
			return &p.Filters[g.s.Intn(len(p.Filters))]
		}
		vs = append(vs, utf(func(g *builder, f func(string) string) {
			fp := filter(g)
			*fp = f(*fp)
		}), func(g *builder) {
			*filter(g) = ""
			g.reject("topic-empty", "empty topic filter")
		}, func(g *builder) {
			b := badFilters[g.s.Intn(len(badFilters))]
			*filter(g) = b.f
			g.reject(b.rule, fmt.Sprintf("topic filter %q", b.f))
		})
		if g.v5() {
			vs = append(vs, func(g *builder) {
				b := badShared[g.s.Intn(len(badShared))]
				*filter(g) = b.f
				g.reject(b.rule, fmt.Sprintf("topic filter %q", b.f))
			})
		}
	}
	if g.v5() && hasProps(g.t) && g.t != codec.CONNECT && g.t != codec.PUBLISH && g.t != codec.SUBSCRIBE && g.t != codec.UNSUBSCRIBE {
		vs = append(vs, utf(func(g *builder, f func(string) string) {
			p := propsOf(g.p)
			if g.s.Bool() {
				p.SetReasonString(f(p.ReasonString))
				return
			}
			p.AddUser(f(g.s.Text(8)), g.s.Text(8))
		}))
	}
	return vs
}

// --- wire helpers (the generator's own, independent of the codec) ---

// headerLen is the size of the fixed header at the front of b (which the encoder wrote).
func headerLen(b []byte) int {
	_, n := uvarint(b[1:])
	return 1 + n
}

// uvarint decodes a variable byte integer; n is the number of bytes it took.
func uvarint(b []byte) (x, n int) {
	for i, c := range b {
		x |= int(c&0x7F) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return x, len(b)
}

func appendVarint(dst []byte, x int) []byte {
	for {
		c := byte(x & 0x7F)
		x >>= 7
		if x > 0 {
			dst = append(dst, c|0x80)
		} else {
			return append(dst, c)
		}
	}
}

// withHeader returns the packet with first byte b0 and body, with a minimal remaining length.
func withHeader(b0 byte, body []byte) []byte {
	return append(appendVarint([]byte{b0}, len(body)), body...)
}
