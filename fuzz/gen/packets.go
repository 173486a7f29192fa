package gen

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
)

// builder holds one packet under construction.
type builder struct {
	s    *Source
	o    Options
	max  int
	v    codec.Version
	t    codec.PacketType
	p    codec.Packet
	b    []byte // encoded bytes once a defect works on them (nil until then)
	want Verdict

	detail string
}

// willProps is codec's pseudo packet type for the Will Properties of a CONNECT.
const willProps codec.PacketType = 0

func (g *builder) v5() bool { return g.v == codec.V5 }

// encode sets g.b to the packet's encoding. The generator never builds a packet the encoder
// refuses (fields stay within 65535 bytes); if it ever did, that is a bug worth a panic in the
// fuzz target that finds it.
func (g *builder) encode() {
	b, err := g.p.AppendTo(nil, g.v)
	if err != nil {
		desc := g.p.String()
		if len(desc) > 200 {
			desc = desc[:200] + "…"
		}
		panic(fmt.Sprintf("gen: encode %s: %v", desc, err))
	}
	g.b = b
}

// reject records the verdict for a defect that breaks rule.
func (g *builder) reject(rule, detail string) {
	g.want = VerdictFor(rule, g.v)
	if g.want.Accept {
		panic("gen: unknown codec rule " + rule)
	}
	g.detail = detail
}

func (g *builder) build(t codec.PacketType) codec.Packet {
	switch t {
	case codec.CONNECT:
		return g.connect()
	case codec.CONNACK:
		return g.connack()
	case codec.PUBLISH:
		return g.publish()
	case codec.PUBACK:
		return (*codec.Puback)(g.ack(t))
	case codec.PUBREC:
		return (*codec.Pubrec)(g.ack(t))
	case codec.PUBREL:
		return (*codec.Pubrel)(g.ack(t))
	case codec.PUBCOMP:
		return (*codec.Pubcomp)(g.ack(t))
	case codec.SUBSCRIBE:
		return g.subscribe()
	case codec.SUBACK:
		return g.suback()
	case codec.UNSUBSCRIBE:
		return g.unsubscribe()
	case codec.UNSUBACK:
		return g.unsuback()
	case codec.PINGREQ:
		return &codec.Pingreq{}
	case codec.PINGRESP:
		return &codec.Pingresp{}
	case codec.DISCONNECT:
		d := &codec.Disconnect{}
		if g.v5() {
			d.ReasonCode = g.reason(codec.DISCONNECT)
			d.Properties = g.props(codec.DISCONNECT)
		}
		return d
	case codec.AUTH:
		return &codec.Auth{ReasonCode: g.reason(codec.AUTH), Properties: g.props(codec.AUTH)}
	}
	panic(fmt.Sprintf("gen: packet type %d", t))
}

// reason draws a reason code valid for t in the version, Success half of the time.
func (g *builder) reason(t codec.PacketType) codec.ReasonCode {
	if g.s.Bool() {
		return 0
	}
	var set []codec.ReasonCode
	switch {
	case g.v5():
		set = codec.ReasonCodesFor(t)
	case t == codec.CONNACK:
		set = []codec.ReasonCode{0, 1, 2, 3, 4, 5}
	case t == codec.SUBACK:
		set = []codec.ReasonCode{0, 1, 2, 0x80}
	default:
		return 0
	}
	return set[g.s.Intn(len(set))]
}

func (g *builder) connect() *codec.Connect {
	s := g.s
	c := &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(g.v), CleanStart: s.Bool(),
		KeepAlive: s.Edge16(0, 65535)}
	c.Properties = g.props(codec.CONNECT)
	c.ClientID = s.Text(g.max)
	if s.Byte()%4 == 0 {
		c.WillFlag = true
		c.Will.QoS = byte(s.Intn(3))
		c.Will.Retain = s.Bool()
		c.Will.Properties = g.props(willProps)
		c.Will.Topic = s.Topic(g.max)
		c.Will.Payload = s.Binary(g.max)
	}
	if s.Bool() {
		c.UsernameFlag = true
		c.Username = s.Text(g.max)
	}
	// 3.1.1 sends a password only with a user name (MQTT-3.1.2-22); 5.0 allows it alone.
	if s.Bool() && (g.v5() || c.UsernameFlag) {
		c.PasswordFlag = true
		c.Password = s.Binary(g.max)
	}
	return c
}

func (g *builder) connack() *codec.Connack {
	c := &codec.Connack{ReasonCode: g.reason(codec.CONNACK)}
	c.SessionPresent = c.ReasonCode == 0 && g.s.Bool() // MQTT-3.2.2-4 / MQTT-3.2.2-6
	c.Properties = g.props(codec.CONNACK)
	return c
}

func (g *builder) publish() *codec.Publish {
	s := g.s
	p := &codec.Publish{QoS: byte(s.Intn(3)), Retain: s.Bool()}
	p.Dup = p.QoS > 0 && s.Bool()
	p.Topic = s.Topic(g.max)
	if p.QoS > 0 {
		p.PacketID = s.Edge16(1, 65535)
	}
	p.Properties = g.props(codec.PUBLISH)
	if g.v5() && s.Byte()%8 == 0 {
		// An empty topic name with a Topic Alias (section 3.3.2.3.4).
		p.Topic = ""
		if !p.Properties.Has(codec.PropTopicAlias) {
			p.Properties.SetTopicAlias(s.Edge16(1, 65535))
		}
	}
	p.Payload = s.Binary(g.max)
	return p
}

func (g *builder) ack(t codec.PacketType) *codec.Puback {
	a := &codec.Puback{PacketID: g.s.Edge16(1, 65535)}
	if g.v5() {
		a.ReasonCode = g.reason(t)
		a.Properties = g.props(t)
	}
	return a
}

func (g *builder) subscribe() *codec.Subscribe {
	s := g.s
	p := &codec.Subscribe{PacketID: s.Edge16(1, 65535), Properties: g.props(codec.SUBSCRIBE)}
	n := 1 + s.Intn(4)
	for i := 0; i < n; i++ {
		sub := codec.Subscription{Filter: s.Filter(g.v5()), QoS: byte(s.Intn(3))}
		if g.v5() {
			_, _, shared := codec.SharedFilter(sub.Filter)
			sub.NoLocal = !shared && s.Bool() // MQTT-3.8.3-4
			sub.RetainAsPublished = s.Bool()
			sub.RetainHandling = byte(s.Intn(3))
		}
		p.Subscriptions = append(p.Subscriptions, sub)
	}
	return p
}

func (g *builder) codes(t codec.PacketType) []codec.ReasonCode {
	n := 1 + g.s.Intn(4)
	out := make([]codec.ReasonCode, n)
	for i := range out {
		out[i] = g.reason(t)
	}
	return out
}

func (g *builder) suback() *codec.Suback {
	return &codec.Suback{PacketID: g.s.Edge16(1, 65535), Properties: g.props(codec.SUBACK), ReasonCodes: g.codes(codec.SUBACK)}
}

func (g *builder) unsubscribe() *codec.Unsubscribe {
	p := &codec.Unsubscribe{PacketID: g.s.Edge16(1, 65535), Properties: g.props(codec.UNSUBSCRIBE)}
	n := 1 + g.s.Intn(4)
	for i := 0; i < n; i++ {
		p.Filters = append(p.Filters, g.s.Filter(g.v5()))
	}
	return p
}

func (g *builder) unsuback() *codec.Unsuback {
	p := &codec.Unsuback{PacketID: g.s.Edge16(1, 65535), Properties: g.props(codec.UNSUBACK)}
	if g.v5() {
		p.ReasonCodes = g.codes(codec.UNSUBACK)
	}
	return p
}

// props draws a valid property set for packet type t (willProps for Will Properties); empty
// before 5.0.
func (g *builder) props(t codec.PacketType) codec.Properties {
	var p codec.Properties
	if !g.v5() || g.s.Byte()%4 == 0 {
		return p
	}
	for _, id := range codec.PropIDs() {
		if !id.AllowedIn(t) || !g.s.Bool() {
			continue
		}
		g.setProp(&p, t, id)
	}
	if p.Has(codec.PropAuthData) && !p.Has(codec.PropAuthMethod) {
		p.SetAuthMethod(g.s.Text(32)) // Authentication Data needs a method (section 3.1.2.11.10)
	}
	if g.s.Byte() == 0xFF {
		// A property storm: many User Properties, all of which must be kept in order.
		n := 20 + g.s.Intn(200)
		for i := 0; i < n; i++ {
			p.AddUser(g.s.Text(8), g.s.Text(8))
		}
	}
	return p
}

// setProp sets property id of p to a valid drawn value, where the sender may send it.
func (g *builder) setProp(p *codec.Properties, t codec.PacketType, id codec.PropID) {
	s := g.s
	switch id {
	case codec.PropPayloadFormat:
		p.SetPayloadFormat(byte(s.Intn(2)))
	case codec.PropMessageExpiry:
		p.SetMessageExpiry(s.Edge32(0, 0xFFFFFFFF))
	case codec.PropContentType:
		p.SetContentType(s.Text(64))
	case codec.PropResponseTopic:
		p.SetResponseTopic(s.Topic(64))
	case codec.PropCorrelationData:
		p.SetCorrelationData(s.Binary(64))
	case codec.PropSubscriptionID:
		if t == codec.PUBLISH && g.o.Sender == codec.SideClient {
			return // MQTT-3.3.4-6: only the server sends Subscription Identifiers in PUBLISH
		}
		n := 1
		if t == codec.PUBLISH {
			n += s.Intn(4)
		}
		for i := 0; i < n; i++ {
			p.SubscriptionIDs = append(p.SubscriptionIDs, s.Edge32(1, codec.MaxVarint))
		}
	case codec.PropSessionExpiry:
		if t == codec.DISCONNECT && g.o.Sender == codec.SideServer {
			return // MQTT-3.14.2-2
		}
		p.SetSessionExpiry(s.Edge32(0, 0xFFFFFFFF))
	case codec.PropAssignedClientID:
		p.SetAssignedClientID(s.Text(64))
	case codec.PropServerKeepAlive:
		p.SetServerKeepAlive(s.Edge16(0, 65535))
	case codec.PropAuthMethod:
		p.SetAuthMethod(s.Text(32))
	case codec.PropAuthData:
		p.SetAuthData(s.Binary(64))
	case codec.PropRequestProblemInfo:
		p.SetRequestProblemInfo(byte(s.Intn(2)))
	case codec.PropWillDelay:
		p.SetWillDelay(s.Edge32(0, 0xFFFFFFFF))
	case codec.PropRequestResponseInfo:
		p.SetRequestResponseInfo(byte(s.Intn(2)))
	case codec.PropResponseInfo:
		p.SetResponseInfo(s.Text(64))
	case codec.PropServerReference:
		p.SetServerReference(s.Text(64))
	case codec.PropReasonString:
		p.SetReasonString(s.Text(64))
	case codec.PropReceiveMaximum:
		p.SetReceiveMaximum(s.Edge16(1, 65535))
	case codec.PropTopicAliasMaximum:
		p.SetTopicAliasMaximum(s.Edge16(0, 65535))
	case codec.PropTopicAlias:
		p.SetTopicAlias(s.Edge16(1, 65535))
	case codec.PropMaximumQoS:
		p.SetMaximumQoS(byte(s.Intn(2)))
	case codec.PropRetainAvailable:
		p.SetRetainAvailable(byte(s.Intn(2)))
	case codec.PropUserProperty:
		n := 1 + s.Intn(3)
		for i := 0; i < n; i++ {
			p.AddUser(s.Text(32), s.Text(32))
		}
	case codec.PropMaximumPacketSize:
		p.SetMaximumPacketSize(s.Edge32(1, 0xFFFFFFFF))
	case codec.PropWildcardSubAvailable:
		p.SetWildcardSubAvailable(byte(s.Intn(2)))
	case codec.PropSubIDAvailable:
		p.SetSubIDAvailable(byte(s.Intn(2)))
	case codec.PropSharedSubAvailable:
		p.SetSharedSubAvailable(byte(s.Intn(2)))
	}
}

// propsOf returns the property block of packet p (the CONNECT's own, not its will's), or nil for
// packets without one.
func propsOf(p codec.Packet) *codec.Properties {
	switch p := p.(type) {
	case *codec.Connect:
		return &p.Properties
	case *codec.Connack:
		return &p.Properties
	case *codec.Publish:
		return &p.Properties
	case *codec.Puback:
		return &p.Properties
	case *codec.Pubrec:
		return &p.Properties
	case *codec.Pubrel:
		return &p.Properties
	case *codec.Pubcomp:
		return &p.Properties
	case *codec.Subscribe:
		return &p.Properties
	case *codec.Suback:
		return &p.Properties
	case *codec.Unsubscribe:
		return &p.Properties
	case *codec.Unsuback:
		return &p.Properties
	case *codec.Disconnect:
		return &p.Properties
	case *codec.Auth:
		return &p.Properties
	}
	return nil
}

// ackOf returns the shared fields of PUBACK, PUBREC, PUBREL and PUBCOMP.
func ackOf(p codec.Packet) *codec.Puback {
	switch p := p.(type) {
	case *codec.Puback:
		return p
	case *codec.Pubrec:
		return (*codec.Puback)(p)
	case *codec.Pubrel:
		return (*codec.Puback)(p)
	case *codec.Pubcomp:
		return (*codec.Puback)(p)
	}
	return nil
}
