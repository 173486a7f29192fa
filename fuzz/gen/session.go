package gen

import (
	"github.com/mqttspec/mqttspec/codec"
)

// Session is what a client sends on one connection: a CONNECT, then packets that a broker has to
// act on. Topics and filters come from a small pool, so subscriptions match publications and a
// broker under test routes messages instead of only parsing them.
type Session struct {
	Version codec.Version
	// Cases are the packets in order; Cases[0] is a valid CONNECT. At most one case is broken.
	Cases []*Case
}

// Bytes returns the session's packets back to back, as they go on the wire.
func (s *Session) Bytes() []byte {
	var b []byte
	for _, c := range s.Cases {
		b = append(b, c.Bytes...)
	}
	return b
}

// Broken returns the broken case, or nil when every packet is valid.
func (s *Session) Broken() *Case {
	for _, c := range s.Cases {
		if !c.Want.Accept {
			return c
		}
	}
	return nil
}

// SessionOptions choose what NewSession generates.
type SessionOptions struct {
	// Version is codec.V311 or codec.V5; codec.VersionUnknown draws one of the two.
	Version codec.Version
	// MaxPackets bounds the packets after the CONNECT (default 8).
	MaxPackets int
	// Defect is Valid (the default): every packet valid; Any or a specific defect breaks one
	// packet after the CONNECT (or none, when the draw for Any says Valid).
	Defect Defect
	// MaxField bounds string and binary fields (default 1024: sessions stay small).
	MaxField int
}

var (
	sessionTopics  = []string{"a/b", "a/c", "x", "a/b/c", "$SYS/t"}
	sessionFilters = []string{"a/b", "a/+", "#", "a/#", "+/+", "x", "$SYS/#"}
)

// NewSession draws a session from fuzz bytes: a valid CONNECT, then SUBSCRIBE, PUBLISH at every
// QoS (with the PUBREL that completes a QoS 2 flow), UNSUBSCRIBE and PINGREQ, and sometimes a
// DISCONNECT at the end.
func NewSession(data []byte, o SessionOptions) *Session {
	s := NewSource(data)
	v := o.Version
	if v != codec.V311 && v != codec.V5 {
		v = codec.V311
		if s.Bool() {
			v = codec.V5
		}
	}
	maxField := o.MaxField
	if maxField <= 0 {
		maxField = 1024
	}
	maxPackets := o.MaxPackets
	if maxPackets <= 0 {
		maxPackets = 8
	}
	po := Options{Version: v, Sender: codec.SideClient, MaxField: maxField}
	sess := &Session{Version: v}

	po.Types = []codec.PacketType{codec.CONNECT}
	conn := FromSource(s, po)
	c := conn.Packet.(*codec.Connect)
	c.KeepAlive = 0 // a fuzzed session must not be cut by a keep alive of one second
	if c.ClientID == "" && v == codec.V311 {
		c.CleanStart = true // MQTT-3.1.3-7: an empty identifier needs a clean session
	}
	c.UsernameFlag, c.PasswordFlag, c.Username, c.Password = false, false, "", nil // anonymous
	c.Properties.Clear(codec.PropAuthMethod)                                       // no enhanced authentication
	c.Properties.Clear(codec.PropAuthData)
	c.Properties.Clear(codec.PropMaximumPacketSize)
	c.Properties.Clear(codec.PropReceiveMaximum)
	reencode(conn)
	sess.Cases = append(sess.Cases, conn)

	n := 1 + s.Intn(maxPackets)
	broken := -1
	defect := o.Defect
	if defect == Any {
		defect = Valid
		if s.Bool() {
			defect = Defect(1 + s.Intn(int(numDefects)-1))
		}
	}
	if defect != Valid && defect < numDefects {
		broken = s.Intn(n)
	}
	kinds := []codec.PacketType{codec.SUBSCRIBE, codec.PUBLISH, codec.PUBLISH, codec.PUBLISH, codec.UNSUBSCRIBE, codec.PINGREQ}
	for i := 0; i < n; i++ {
		po.Types = []codec.PacketType{kinds[s.Intn(len(kinds))]}
		po.Defect = Valid
		if i == broken {
			po.Defect = defect
			po.Types = nil // any type a client sends that can carry the defect
		}
		pc := FromSource(s, po)
		if pc.Want.Accept {
			pool(s, pc)
		}
		sess.Cases = append(sess.Cases, pc)
		if p, ok := pc.Packet.(*codec.Publish); ok && pc.Want.Accept && p.QoS == 2 && s.Byte()%4 != 0 {
			rel := &codec.Pubrel{PacketID: p.PacketID}
			sess.Cases = append(sess.Cases, &Case{Version: v, Sender: codec.SideClient, Type: codec.PUBREL,
				Packet: rel, Bytes: mustEncode(rel, v), Want: Verdict{Accept: true}})
		}
	}
	if s.Byte()%4 == 0 {
		d := &codec.Disconnect{}
		sess.Cases = append(sess.Cases, &Case{Version: v, Sender: codec.SideClient, Type: codec.DISCONNECT,
			Packet: d, Bytes: mustEncode(d, v), Want: Verdict{Accept: true}})
	}
	return sess
}

// pool moves a valid case's topics and filters into the session pools and re-encodes it.
func pool(s *Source, c *Case) {
	switch p := c.Packet.(type) {
	case *codec.Publish:
		p.Topic = sessionTopics[s.Intn(len(sessionTopics))]
		p.Properties.Clear(codec.PropTopicAlias)
	case *codec.Subscribe:
		for i := range p.Subscriptions {
			p.Subscriptions[i].Filter = sessionFilters[s.Intn(len(sessionFilters))]
		}
	case *codec.Unsubscribe:
		for i := range p.Filters {
			p.Filters[i] = sessionFilters[s.Intn(len(sessionFilters))]
		}
	default:
		return
	}
	reencode(c)
}

func reencode(c *Case) { c.Bytes = mustEncode(c.Packet, c.Version) }

func mustEncode(p codec.Packet, v codec.Version) []byte {
	b, err := p.AppendTo(nil, v)
	if err != nil {
		panic("gen: encode " + p.String() + ": " + err.Error())
	}
	return b
}
