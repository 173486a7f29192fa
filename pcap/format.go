package pcap

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// PacketInfo is a Message flattened for output: every field a reader of a capture looks for,
// as text (String) or JSON (the struct tags). It owns its memory.
type PacketInfo struct {
	Frame   int       `json:"frame"`
	Time    time.Time `json:"time"`
	Rel     float64   `json:"rel"` // seconds since the first frame of the capture
	Stream  int       `json:"stream"`
	Src     string    `json:"src"`
	Dst     string    `json:"dst"`
	Dir     string    `json:"dir"` // c2s or s2c
	Version string    `json:"version"`
	Type    string    `json:"type"`
	Size    int       `json:"size"`
	WS      bool      `json:"ws,omitempty"`

	ID    *uint16 `json:"id,omitempty"`
	Topic *string `json:"topic,omitempty"` // as on the wire: "" when a Topic Alias stands for it
	// ResolvedTopic is, for a PUBLISH with an empty Topic Name and a Topic Alias, the topic the
	// alias was set to earlier on the connection in the same direction; AliasUnset says no
	// earlier packet set it.
	ResolvedTopic  *string  `json:"resolved_topic,omitempty"`
	AliasUnset     bool     `json:"alias_unset,omitempty"`
	QoS            *byte    `json:"qos,omitempty"`
	Dup            bool     `json:"dup,omitempty"`
	Retain         bool     `json:"retain,omitempty"`
	SessionPresent bool     `json:"session_present,omitempty"`
	ReasonCodes    []string `json:"reason_codes,omitempty"` // "0x00 Success"
	PayloadLen     *int     `json:"payload_len,omitempty"`
	Payload        string   `json:"payload,omitempty"` // short printable payloads only

	// CONNECT
	ClientID  *string `json:"client_id,omitempty"`
	KeepAlive *uint16 `json:"keep_alive,omitempty"`
	Clean     bool    `json:"clean,omitempty"`
	Username  *string `json:"username,omitempty"`
	Will      *Will   `json:"will,omitempty"`
	// SUBSCRIBE / UNSUBSCRIBE
	Filters []Filter `json:"filters,omitempty"`

	Properties []Property  `json:"properties,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
	Error      string      `json:"error,omitempty"`
}

// Will is the Will Message of a CONNECT.
type Will struct {
	Topic  string `json:"topic"`
	QoS    byte   `json:"qos"`
	Retain bool   `json:"retain,omitempty"`
	Len    int    `json:"payload_len"`
}

// Filter is one topic filter of a SUBSCRIBE or UNSUBSCRIBE with its options.
type Filter struct {
	Filter            string `json:"filter"`
	QoS               *byte  `json:"qos,omitempty"`
	NoLocal           bool   `json:"no_local,omitempty"`
	RetainAsPublished bool   `json:"retain_as_published,omitempty"`
	RetainHandling    byte   `json:"retain_handling,omitempty"`
}

// Property is one v5 property, by its name in the specification.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Violation is one rule a packet broke.
type Violation struct {
	Statement string `json:"statement,omitempty"`
	Rule      string `json:"rule"`
	Detail    string `json:"detail"`
}

// Describe flattens m.
func Describe(m *Message) *PacketInfo {
	pi := &PacketInfo{
		Frame: m.Frame, Time: m.Time, Rel: m.Since.Seconds(), Dir: m.Dir.String(),
		Version: m.Version.String(), Type: m.Type.String(), Size: m.Size, WS: m.WebSocket,
	}
	if s := m.Stream; s != nil {
		pi.Stream = s.ID
		pi.Src, pi.Dst = s.Client.String(), s.Server.String()
		if m.Dir == FromServer {
			pi.Src, pi.Dst = pi.Dst, pi.Src
		}
	}
	if m.Err != nil {
		pi.Error = m.Err.Error()
	}
	for i := range m.Violations {
		v := &m.Violations[i]
		pi.Violations = append(pi.Violations, Violation{Statement: v.Cite(), Rule: v.Rule, Detail: v.Error()})
	}
	if m.Packet != nil {
		pi.fill(m.Packet, m.Version)
	}
	if a := m.Alias; a != nil && !a.Set {
		if a.Unset {
			pi.AliasUnset = true
		} else if a.Topic != "" {
			pi.ResolvedTopic = ptr(a.Topic)
		}
	}
	return pi
}

func ptr[T any](v T) *T { return &v }

func (pi *PacketInfo) codes(t codec.PacketType, v codec.Version, rcs ...codec.ReasonCode) {
	for _, rc := range rcs {
		pi.ReasonCodes = append(pi.ReasonCodes, fmt.Sprintf("0x%02X %s", byte(rc), rc.NameFor(t, v)))
	}
}

func (pi *PacketInfo) fill(p codec.Packet, v codec.Version) {
	var props *codec.Properties
	switch p := p.(type) {
	case *codec.Connect:
		pi.Version = codec.Version(p.ProtocolLevel).String()
		pi.ClientID, pi.KeepAlive, pi.Clean = ptr(p.ClientID), ptr(p.KeepAlive), p.CleanStart
		if p.UsernameFlag {
			pi.Username = ptr(p.Username)
		}
		if p.WillFlag {
			pi.Will = &Will{Topic: p.Will.Topic, QoS: p.Will.QoS, Retain: p.Will.Retain, Len: len(p.Will.Payload)}
		}
		props = &p.Properties
	case *codec.Connack:
		pi.SessionPresent = p.SessionPresent
		pi.codes(codec.CONNACK, v, p.ReasonCode)
		props = &p.Properties
	case *codec.Publish:
		pi.Topic, pi.QoS, pi.Dup, pi.Retain = ptr(p.Topic), ptr(p.QoS), p.Dup, p.Retain
		if p.QoS > 0 {
			pi.ID = ptr(p.PacketID)
		}
		pi.PayloadLen = ptr(len(p.Payload))
		if len(p.Payload) <= 64 && printableASCII(p.Payload) {
			pi.Payload = string(p.Payload)
		}
		props = &p.Properties
	case *codec.Puback:
		pi.ack(codec.PUBACK, v, p.PacketID, p.ReasonCode)
		props = &p.Properties
	case *codec.Pubrec:
		pi.ack(codec.PUBREC, v, p.PacketID, p.ReasonCode)
		props = &p.Properties
	case *codec.Pubrel:
		pi.ack(codec.PUBREL, v, p.PacketID, p.ReasonCode)
		props = &p.Properties
	case *codec.Pubcomp:
		pi.ack(codec.PUBCOMP, v, p.PacketID, p.ReasonCode)
		props = &p.Properties
	case *codec.Subscribe:
		pi.ID = ptr(p.PacketID)
		for _, s := range p.Subscriptions {
			pi.Filters = append(pi.Filters, Filter{Filter: s.Filter, QoS: ptr(s.QoS), NoLocal: s.NoLocal,
				RetainAsPublished: s.RetainAsPublished, RetainHandling: s.RetainHandling})
		}
		props = &p.Properties
	case *codec.Suback:
		pi.ID = ptr(p.PacketID)
		pi.codes(codec.SUBACK, v, p.ReasonCodes...)
		props = &p.Properties
	case *codec.Unsubscribe:
		pi.ID = ptr(p.PacketID)
		for _, f := range p.Filters {
			pi.Filters = append(pi.Filters, Filter{Filter: f})
		}
		props = &p.Properties
	case *codec.Unsuback:
		pi.ID = ptr(p.PacketID)
		pi.codes(codec.UNSUBACK, v, p.ReasonCodes...)
		props = &p.Properties
	case *codec.Disconnect:
		if v == codec.V5 {
			pi.codes(codec.DISCONNECT, v, p.ReasonCode)
		}
		props = &p.Properties
	case *codec.Auth:
		pi.codes(codec.AUTH, v, p.ReasonCode)
		props = &p.Properties
	}
	if props != nil {
		pi.Properties = Properties(props)
	}
}

func (pi *PacketInfo) ack(t codec.PacketType, v codec.Version, id uint16, rc codec.ReasonCode) {
	pi.ID = ptr(id)
	if v == codec.V5 {
		pi.codes(t, v, rc)
	}
}

func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// Properties lists the present properties of p by name, in identifier order.
func Properties(p *codec.Properties) []Property {
	if p.Empty() {
		return nil
	}
	var out []Property
	for _, id := range p.IDs() {
		switch id {
		case codec.PropUserProperty:
			for _, u := range p.User {
				out = append(out, Property{id.String(), strconv.Quote(u.Key) + ":" + strconv.Quote(u.Value)})
			}
			continue
		case codec.PropSubscriptionID:
			for _, s := range p.SubscriptionIDs {
				out = append(out, Property{id.String(), strconv.FormatUint(uint64(s), 10)})
			}
			continue
		}
		out = append(out, Property{id.String(), propValue(p, id)})
	}
	return out
}

func propValue(p *codec.Properties, id codec.PropID) string {
	switch id {
	case codec.PropPayloadFormat:
		return strconv.Itoa(int(p.PayloadFormat))
	case codec.PropMessageExpiry:
		return strconv.FormatUint(uint64(p.MessageExpiry), 10)
	case codec.PropContentType:
		return strconv.Quote(p.ContentType)
	case codec.PropResponseTopic:
		return strconv.Quote(p.ResponseTopic)
	case codec.PropCorrelationData:
		return fmt.Sprintf("%x", p.CorrelationData)
	case codec.PropSessionExpiry:
		return strconv.FormatUint(uint64(p.SessionExpiry), 10)
	case codec.PropAssignedClientID:
		return strconv.Quote(p.AssignedClientID)
	case codec.PropServerKeepAlive:
		return strconv.Itoa(int(p.ServerKeepAlive))
	case codec.PropAuthMethod:
		return strconv.Quote(p.AuthMethod)
	case codec.PropAuthData:
		return fmt.Sprintf("%x", p.AuthData)
	case codec.PropRequestProblemInfo:
		return strconv.Itoa(int(p.RequestProblemInfo))
	case codec.PropWillDelay:
		return strconv.FormatUint(uint64(p.WillDelay), 10)
	case codec.PropRequestResponseInfo:
		return strconv.Itoa(int(p.RequestResponseInfo))
	case codec.PropResponseInfo:
		return strconv.Quote(p.ResponseInfo)
	case codec.PropServerReference:
		return strconv.Quote(p.ServerReference)
	case codec.PropReasonString:
		return strconv.Quote(p.ReasonString)
	case codec.PropReceiveMaximum:
		return strconv.Itoa(int(p.ReceiveMaximum))
	case codec.PropTopicAliasMaximum:
		return strconv.Itoa(int(p.TopicAliasMaximum))
	case codec.PropTopicAlias:
		return strconv.Itoa(int(p.TopicAlias))
	case codec.PropMaximumQoS:
		return strconv.Itoa(int(p.MaximumQoS))
	case codec.PropRetainAvailable:
		return strconv.Itoa(int(p.RetainAvailable))
	case codec.PropMaximumPacketSize:
		return strconv.FormatUint(uint64(p.MaximumPacketSize), 10)
	case codec.PropWildcardSubAvailable:
		return strconv.Itoa(int(p.WildcardSubAvailable))
	case codec.PropSubIDAvailable:
		return strconv.Itoa(int(p.SubIDAvailable))
	case codec.PropSharedSubAvailable:
		return strconv.Itoa(int(p.SharedSubAvailable))
	}
	return "?"
}

// String renders the packet on one line, like a tshark summary line:
//
//	frame  time     stream dir  type      details
//	   12  0.004180 #0     C→S  PUBLISH   id=1 topic="a/b" qos=1 retain payload=5 "hello"
//
// Violations follow on their own lines, indented and marked with "!".
func (pi *PacketInfo) String() string {
	var b strings.Builder
	dir := "C→S"
	if pi.Dir == "s2c" {
		dir = "S→C"
	}
	fmt.Fprintf(&b, "%6d %10.6f #%-3d %s %-11s", pi.Frame, pi.Rel, pi.Stream, dir, pi.Type)
	d := pi.details()
	if d != "" {
		b.WriteByte(' ')
		b.WriteString(d)
	}
	if pi.Error != "" {
		b.WriteString("\n       ! ")
		b.WriteString(pi.Error)
	}
	for _, v := range pi.Violations {
		b.WriteString("\n       ! ")
		b.WriteString(v.Detail)
	}
	return b.String()
}

func (pi *PacketInfo) details() string {
	var f []string
	add := func(format string, a ...any) { f = append(f, fmt.Sprintf(format, a...)) }
	if pi.Type == "CONNECT" {
		add("v%s", pi.Version)
	}
	if pi.ClientID != nil {
		add("client_id=%q", *pi.ClientID)
	}
	if pi.KeepAlive != nil {
		add("keepalive=%d", *pi.KeepAlive)
	}
	if pi.Clean {
		add("clean")
	}
	if pi.Username != nil {
		add("username=%q", *pi.Username)
	}
	if pi.Will != nil {
		add("will={topic=%q qos=%d retain=%t len=%d}", pi.Will.Topic, pi.Will.QoS, pi.Will.Retain, pi.Will.Len)
	}
	if pi.ID != nil {
		add("id=%d", *pi.ID)
	}
	if pi.Topic != nil {
		add("topic=%q", *pi.Topic)
	}
	if pi.ResolvedTopic != nil {
		add("resolved=%q", *pi.ResolvedTopic)
	}
	if pi.AliasUnset {
		add("resolved=? (alias never set)")
	}
	if pi.QoS != nil {
		add("qos=%d", *pi.QoS)
	}
	if pi.Dup {
		add("dup")
	}
	if pi.Retain {
		add("retain")
	}
	if pi.SessionPresent {
		add("session_present")
	}
	for _, fl := range pi.Filters {
		s := strconv.Quote(fl.Filter)
		if fl.QoS != nil {
			s += fmt.Sprintf(" qos=%d", *fl.QoS)
		}
		if fl.NoLocal {
			s += " no_local"
		}
		if fl.RetainAsPublished {
			s += " rap"
		}
		if fl.RetainHandling != 0 {
			s += fmt.Sprintf(" rh=%d", fl.RetainHandling)
		}
		add("filter=[%s]", s)
	}
	if len(pi.ReasonCodes) > 0 {
		add("rc=[%s]", strings.Join(pi.ReasonCodes, ", "))
	}
	if pi.PayloadLen != nil {
		add("payload=%d", *pi.PayloadLen)
		if pi.Payload != "" {
			add("%q", pi.Payload)
		}
	}
	if len(pi.Properties) > 0 {
		var ps []string
		for _, p := range pi.Properties {
			ps = append(ps, p.Name+"="+p.Value)
		}
		add("props={%s}", strings.Join(ps, ", "))
	}
	if pi.WS {
		add("[ws]")
	}
	return strings.Join(f, " ")
}
