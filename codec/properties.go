package codec

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// PropID is an MQTT 5.0 property identifier (section 2.2.2.2).
type PropID byte

// Property identifiers.
const (
	PropPayloadFormat        PropID = 0x01
	PropMessageExpiry        PropID = 0x02
	PropContentType          PropID = 0x03
	PropResponseTopic        PropID = 0x08
	PropCorrelationData      PropID = 0x09
	PropSubscriptionID       PropID = 0x0B
	PropSessionExpiry        PropID = 0x11
	PropAssignedClientID     PropID = 0x12
	PropServerKeepAlive      PropID = 0x13
	PropAuthMethod           PropID = 0x15
	PropAuthData             PropID = 0x16
	PropRequestProblemInfo   PropID = 0x17
	PropWillDelay            PropID = 0x18
	PropRequestResponseInfo  PropID = 0x19
	PropResponseInfo         PropID = 0x1A
	PropServerReference      PropID = 0x1C
	PropReasonString         PropID = 0x1F
	PropReceiveMaximum       PropID = 0x21
	PropTopicAliasMaximum    PropID = 0x22
	PropTopicAlias           PropID = 0x23
	PropMaximumQoS           PropID = 0x24
	PropRetainAvailable      PropID = 0x25
	PropUserProperty         PropID = 0x26
	PropMaximumPacketSize    PropID = 0x27
	PropWildcardSubAvailable PropID = 0x28
	PropSubIDAvailable       PropID = 0x29
	PropSharedSubAvailable   PropID = 0x2A
)

// PropKind is the data type of a property's value, as section 2.2.2.2's table gives it.
type PropKind byte

// Property kinds. The zero value marks an identifier the specification does not define.
const (
	kindNone   PropKind = iota
	KindByte            // Byte
	KindUint16          // Two Byte Integer
	KindUint32          // Four Byte Integer
	KindVarint          // Variable Byte Integer
	KindString          // UTF-8 Encoded String
	KindBinary          // Binary Data
	KindPair            // UTF-8 String Pair
)

var kindNames = [...]string{kindNone: "undefined", KindByte: "Byte", KindUint16: "Two Byte Integer",
	KindUint32: "Four Byte Integer", KindVarint: "Variable Byte Integer", KindString: "UTF-8 Encoded String",
	KindBinary: "Binary Data", KindPair: "UTF-8 String Pair"}

// String returns the data type's name from the specification.
func (k PropKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("PropKind(%d)", byte(k))
}

// WillProperties is the pseudo packet type that stands for the Will Properties of a CONNECT
// payload in AllowedIn and AllowedFrom: the specification's table lists them as a place of their
// own, and no real packet has type 0.
const WillProperties PacketType = 0

// willProps is the short internal name of WillProperties.
const willProps = WillProperties

type propInfo struct {
	name    string
	kind    PropKind
	allowed uint32 // bit per PacketType; bit 0 = Will Properties
	section string
	bool01  bool // value must be 0 or 1
	nonZero bool // value 0 is a protocol error
	// Packets among allowed that one side must not send the property in (the specification's
	// table does not say who sends, the packet sections do).
	notFromClient, notFromServer uint32
}

func on(ts ...PacketType) uint32 {
	var m uint32
	for _, t := range ts {
		m |= 1 << t
	}
	return m
}

var allPackets = on(CONNECT, CONNACK, PUBLISH, willProps, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK,
	UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH)

// propTable is section 2.2.2.2's table: name, type, and the packets that may carry each property.
var propTable = [0x2B]propInfo{
	PropPayloadFormat:        {name: "Payload Format Indicator", kind: KindByte, allowed: on(PUBLISH, willProps), section: "3.3.2.3.2", bool01: true},
	PropMessageExpiry:        {name: "Message Expiry Interval", kind: KindUint32, allowed: on(PUBLISH, willProps), section: "3.3.2.3.3"},
	PropContentType:          {name: "Content Type", kind: KindString, allowed: on(PUBLISH, willProps), section: "3.3.2.3.9"},
	PropResponseTopic:        {name: "Response Topic", kind: KindString, allowed: on(PUBLISH, willProps), section: "3.3.2.3.5"},
	PropCorrelationData:      {name: "Correlation Data", kind: KindBinary, allowed: on(PUBLISH, willProps), section: "3.3.2.3.6"},
	PropSubscriptionID:       {name: "Subscription Identifier", kind: KindVarint, allowed: on(PUBLISH, SUBSCRIBE), section: "3.3.2.3.8", nonZero: true, notFromClient: on(PUBLISH)}, // MQTT-3.3.4-6
	PropSessionExpiry:        {name: "Session Expiry Interval", kind: KindUint32, allowed: on(CONNECT, CONNACK, DISCONNECT), section: "3.1.2.11.2", notFromServer: on(DISCONNECT)},  // MQTT-3.14.2-2
	PropAssignedClientID:     {name: "Assigned Client Identifier", kind: KindString, allowed: on(CONNACK), section: "3.2.2.3.7"},
	PropServerKeepAlive:      {name: "Server Keep Alive", kind: KindUint16, allowed: on(CONNACK), section: "3.2.2.3.14"},
	PropAuthMethod:           {name: "Authentication Method", kind: KindString, allowed: on(CONNECT, CONNACK, AUTH), section: "3.1.2.11.9"},
	PropAuthData:             {name: "Authentication Data", kind: KindBinary, allowed: on(CONNECT, CONNACK, AUTH), section: "3.1.2.11.10"},
	PropRequestProblemInfo:   {name: "Request Problem Information", kind: KindByte, allowed: on(CONNECT), section: "3.1.2.11.7", bool01: true},
	PropWillDelay:            {name: "Will Delay Interval", kind: KindUint32, allowed: on(willProps), section: "3.1.3.2.2"},
	PropRequestResponseInfo:  {name: "Request Response Information", kind: KindByte, allowed: on(CONNECT), section: "3.1.2.11.6", bool01: true},
	PropResponseInfo:         {name: "Response Information", kind: KindString, allowed: on(CONNACK), section: "3.2.2.3.15"},
	PropServerReference:      {name: "Server Reference", kind: KindString, allowed: on(CONNACK, DISCONNECT), section: "3.2.2.3.16"},
	PropReasonString:         {name: "Reason String", kind: KindString, allowed: on(CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH), section: "3.2.2.3.9"},
	PropReceiveMaximum:       {name: "Receive Maximum", kind: KindUint16, allowed: on(CONNECT, CONNACK), section: "3.1.2.11.3", nonZero: true},
	PropTopicAliasMaximum:    {name: "Topic Alias Maximum", kind: KindUint16, allowed: on(CONNECT, CONNACK), section: "3.1.2.11.5"},
	PropTopicAlias:           {name: "Topic Alias", kind: KindUint16, allowed: on(PUBLISH), section: "3.3.2.3.4", nonZero: true},
	PropMaximumQoS:           {name: "Maximum QoS", kind: KindByte, allowed: on(CONNACK), section: "3.2.2.3.4", bool01: true},
	PropRetainAvailable:      {name: "Retain Available", kind: KindByte, allowed: on(CONNACK), section: "3.2.2.3.5", bool01: true},
	PropUserProperty:         {name: "User Property", kind: KindPair, allowed: allPackets, section: "3.1.2.11.8"},
	PropMaximumPacketSize:    {name: "Maximum Packet Size", kind: KindUint32, allowed: on(CONNECT, CONNACK), section: "3.1.2.11.4", nonZero: true},
	PropWildcardSubAvailable: {name: "Wildcard Subscription Available", kind: KindByte, allowed: on(CONNACK), section: "3.2.2.3.11", bool01: true},
	PropSubIDAvailable:       {name: "Subscription Identifier Available", kind: KindByte, allowed: on(CONNACK), section: "3.2.2.3.12", bool01: true},
	PropSharedSubAvailable:   {name: "Shared Subscription Available", kind: KindByte, allowed: on(CONNACK), section: "3.2.2.3.13", bool01: true},
}

// propOrder is the order properties are written in (identifier order).
var propOrder = []PropID{0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19,
	0x1A, 0x1C, 0x1F, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A}

// String returns the property's name from the specification.
func (id PropID) String() string {
	if int(id) < len(propTable) && propTable[id].kind != kindNone {
		return propTable[id].name
	}
	return fmt.Sprintf("property 0x%02X", byte(id))
}

// AllowedIn reports whether the property may appear in packet type t (WillProperties for the
// Will Properties), whoever sends it.
func (id PropID) AllowedIn(t PacketType) bool {
	return int(id) < len(propTable) && propTable[id].allowed&(1<<t) != 0
}

// AllowedFrom reports whether sender may put the property in packet type t: AllowedIn, less the
// places the packet sections close to one side (a client's PUBLISH carries no Subscription
// Identifier, a server's DISCONNECT no Session Expiry Interval). SideUnknown is AllowedIn.
func (id PropID) AllowedFrom(t PacketType, sender Side) bool {
	if !id.AllowedIn(t) {
		return false
	}
	switch sender {
	case SideClient:
		return propTable[id].notFromClient&(1<<t) == 0
	case SideServer:
		return propTable[id].notFromServer&(1<<t) == 0
	}
	return true
}

// Kind returns the data type of the property's value (0 for an undefined identifier).
func (id PropID) Kind() PropKind {
	if int(id) < len(propTable) {
		return propTable[id].kind
	}
	return kindNone
}

// propByName maps both spellings PropertyByName accepts to the identifier.
var propByName = func() map[string]PropID {
	m := make(map[string]PropID, 2*len(propOrder))
	for _, id := range propOrder {
		m[propNameKey(propTable[id].name)] = id
	}
	return m
}()

// propNameKey folds a property name to the key of propByName: "Content Type", "content type" and
// "content-type" (the spelling of mosquitto_pub's -D) are one key.
func propNameKey(s string) string { return strings.ReplaceAll(strings.ToLower(s), " ", "-") }

// PropertyByName finds a property by its name in the specification ("Content Type"), in any case,
// with spaces or hyphens between the words ("content-type", as mosquitto_pub spells it).
func PropertyByName(name string) (PropID, bool) {
	id, ok := propByName[propNameKey(name)]
	return id, ok
}

// PropIDs returns every defined property identifier in ascending order.
func PropIDs() []PropID { return append([]PropID(nil), propOrder...) }

// UserProperty is one name/value pair of the User Property (0x26).
type UserProperty struct {
	Key, Value string
}

// Properties holds the v5 properties of a packet. A property is present when its bit is set
// (use the Set… methods or Set); User and SubscriptionIDs are present when non-empty.
type Properties struct {
	PayloadFormat        byte
	MessageExpiry        uint32
	ContentType          string
	ResponseTopic        string
	CorrelationData      []byte
	SubscriptionIDs      []uint32 // several in a PUBLISH, at most one in a SUBSCRIBE
	SessionExpiry        uint32
	AssignedClientID     string
	ServerKeepAlive      uint16
	AuthMethod           string
	AuthData             []byte
	RequestProblemInfo   byte
	WillDelay            uint32
	RequestResponseInfo  byte
	ResponseInfo         string
	ServerReference      string
	ReasonString         string
	ReceiveMaximum       uint16
	TopicAliasMaximum    uint16
	TopicAlias           uint16
	MaximumQoS           byte
	RetainAvailable      byte
	User                 []UserProperty
	MaximumPacketSize    uint32
	WildcardSubAvailable byte
	SubIDAvailable       byte
	SharedSubAvailable   byte

	present uint64
}

// Has reports whether the property is present.
func (p *Properties) Has(id PropID) bool {
	switch id {
	case PropUserProperty:
		return len(p.User) > 0
	case PropSubscriptionID:
		return len(p.SubscriptionIDs) > 0
	}
	return id < 64 && p.present&(1<<id) != 0
}

// Set marks a property present (its value is the field's current value). User Property and
// Subscription Identifier are present when their slices are non-empty, so Set ignores them.
func (p *Properties) Set(id PropID) *Properties {
	if id < 64 && id != PropUserProperty && id != PropSubscriptionID {
		p.present |= 1 << id
	}
	return p
}

// Clear marks a property absent.
func (p *Properties) Clear(id PropID) {
	switch id {
	case PropUserProperty:
		p.User = nil
	case PropSubscriptionID:
		p.SubscriptionIDs = nil
	}
	if id < 64 {
		p.present &^= 1 << id
	}
}

// Empty reports whether no property is present.
func (p *Properties) Empty() bool {
	return p.present&^(1<<PropUserProperty|1<<PropSubscriptionID) == 0 && len(p.User) == 0 && len(p.SubscriptionIDs) == 0
}

// IDs returns the identifiers of the present properties in ascending order.
func (p *Properties) IDs() []PropID {
	var ids []PropID
	for _, id := range propOrder {
		if p.Has(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// reset empties p but keeps slice capacity, so a reused decoder does not allocate.
func (p *Properties) reset() {
	u, s := p.User[:0], p.SubscriptionIDs[:0]
	*p = Properties{User: u, SubscriptionIDs: s}
}

// Typed setters: each sets the value and marks the property present.

func (p *Properties) SetPayloadFormat(v byte) *Properties {
	p.PayloadFormat = v
	return p.Set(PropPayloadFormat)
}
func (p *Properties) SetMessageExpiry(v uint32) *Properties {
	p.MessageExpiry = v
	return p.Set(PropMessageExpiry)
}
func (p *Properties) SetContentType(v string) *Properties {
	p.ContentType = v
	return p.Set(PropContentType)
}
func (p *Properties) SetResponseTopic(v string) *Properties {
	p.ResponseTopic = v
	return p.Set(PropResponseTopic)
}
func (p *Properties) SetCorrelationData(v []byte) *Properties {
	p.CorrelationData = v
	return p.Set(PropCorrelationData)
}
func (p *Properties) SetSessionExpiry(v uint32) *Properties {
	p.SessionExpiry = v
	return p.Set(PropSessionExpiry)
}
func (p *Properties) SetAssignedClientID(v string) *Properties {
	p.AssignedClientID = v
	return p.Set(PropAssignedClientID)
}
func (p *Properties) SetServerKeepAlive(v uint16) *Properties {
	p.ServerKeepAlive = v
	return p.Set(PropServerKeepAlive)
}
func (p *Properties) SetAuthMethod(v string) *Properties {
	p.AuthMethod = v
	return p.Set(PropAuthMethod)
}
func (p *Properties) SetAuthData(v []byte) *Properties { p.AuthData = v; return p.Set(PropAuthData) }
func (p *Properties) SetRequestProblemInfo(v byte) *Properties {
	p.RequestProblemInfo = v
	return p.Set(PropRequestProblemInfo)
}
func (p *Properties) SetWillDelay(v uint32) *Properties { p.WillDelay = v; return p.Set(PropWillDelay) }
func (p *Properties) SetRequestResponseInfo(v byte) *Properties {
	p.RequestResponseInfo = v
	return p.Set(PropRequestResponseInfo)
}
func (p *Properties) SetResponseInfo(v string) *Properties {
	p.ResponseInfo = v
	return p.Set(PropResponseInfo)
}
func (p *Properties) SetServerReference(v string) *Properties {
	p.ServerReference = v
	return p.Set(PropServerReference)
}
func (p *Properties) SetReasonString(v string) *Properties {
	p.ReasonString = v
	return p.Set(PropReasonString)
}
func (p *Properties) SetReceiveMaximum(v uint16) *Properties {
	p.ReceiveMaximum = v
	return p.Set(PropReceiveMaximum)
}
func (p *Properties) SetTopicAliasMaximum(v uint16) *Properties {
	p.TopicAliasMaximum = v
	return p.Set(PropTopicAliasMaximum)
}
func (p *Properties) SetTopicAlias(v uint16) *Properties {
	p.TopicAlias = v
	return p.Set(PropTopicAlias)
}
func (p *Properties) SetMaximumQoS(v byte) *Properties {
	p.MaximumQoS = v
	return p.Set(PropMaximumQoS)
}
func (p *Properties) SetRetainAvailable(v byte) *Properties {
	p.RetainAvailable = v
	return p.Set(PropRetainAvailable)
}
func (p *Properties) SetMaximumPacketSize(v uint32) *Properties {
	p.MaximumPacketSize = v
	return p.Set(PropMaximumPacketSize)
}
func (p *Properties) SetWildcardSubAvailable(v byte) *Properties {
	p.WildcardSubAvailable = v
	return p.Set(PropWildcardSubAvailable)
}
func (p *Properties) SetSubIDAvailable(v byte) *Properties {
	p.SubIDAvailable = v
	return p.Set(PropSubIDAvailable)
}
func (p *Properties) SetSharedSubAvailable(v byte) *Properties {
	p.SharedSubAvailable = v
	return p.Set(PropSharedSubAvailable)
}

// AddUser appends a user property.
func (p *Properties) AddUser(key, value string) *Properties {
	p.User = append(p.User, UserProperty{key, value})
	return p
}

// numeric returns the value of a byte/u16/u32/varint property as uint32.
func (p *Properties) numeric(id PropID) uint32 {
	switch id {
	case PropPayloadFormat:
		return uint32(p.PayloadFormat)
	case PropMessageExpiry:
		return p.MessageExpiry
	case PropSessionExpiry:
		return p.SessionExpiry
	case PropServerKeepAlive:
		return uint32(p.ServerKeepAlive)
	case PropRequestProblemInfo:
		return uint32(p.RequestProblemInfo)
	case PropWillDelay:
		return p.WillDelay
	case PropRequestResponseInfo:
		return uint32(p.RequestResponseInfo)
	case PropReceiveMaximum:
		return uint32(p.ReceiveMaximum)
	case PropTopicAliasMaximum:
		return uint32(p.TopicAliasMaximum)
	case PropTopicAlias:
		return uint32(p.TopicAlias)
	case PropMaximumQoS:
		return uint32(p.MaximumQoS)
	case PropRetainAvailable:
		return uint32(p.RetainAvailable)
	case PropMaximumPacketSize:
		return p.MaximumPacketSize
	case PropWildcardSubAvailable:
		return uint32(p.WildcardSubAvailable)
	case PropSubIDAvailable:
		return uint32(p.SubIDAvailable)
	case PropSharedSubAvailable:
		return uint32(p.SharedSubAvailable)
	}
	return 0
}

func (p *Properties) setNumeric(id PropID, x uint32) {
	switch id {
	case PropPayloadFormat:
		p.PayloadFormat = byte(x)
	case PropMessageExpiry:
		p.MessageExpiry = x
	case PropSessionExpiry:
		p.SessionExpiry = x
	case PropServerKeepAlive:
		p.ServerKeepAlive = uint16(x)
	case PropRequestProblemInfo:
		p.RequestProblemInfo = byte(x)
	case PropWillDelay:
		p.WillDelay = x
	case PropRequestResponseInfo:
		p.RequestResponseInfo = byte(x)
	case PropReceiveMaximum:
		p.ReceiveMaximum = uint16(x)
	case PropTopicAliasMaximum:
		p.TopicAliasMaximum = uint16(x)
	case PropTopicAlias:
		p.TopicAlias = uint16(x)
	case PropMaximumQoS:
		p.MaximumQoS = byte(x)
	case PropRetainAvailable:
		p.RetainAvailable = byte(x)
	case PropMaximumPacketSize:
		p.MaximumPacketSize = x
	case PropWildcardSubAvailable:
		p.WildcardSubAvailable = byte(x)
	case PropSubIDAvailable:
		p.SubIDAvailable = byte(x)
	case PropSharedSubAvailable:
		p.SharedSubAvailable = byte(x)
	}
}

func (p *Properties) strPtr(id PropID) *string {
	switch id {
	case PropContentType:
		return &p.ContentType
	case PropResponseTopic:
		return &p.ResponseTopic
	case PropAssignedClientID:
		return &p.AssignedClientID
	case PropAuthMethod:
		return &p.AuthMethod
	case PropResponseInfo:
		return &p.ResponseInfo
	case PropServerReference:
		return &p.ServerReference
	case PropReasonString:
		return &p.ReasonString
	}
	return nil
}

func (p *Properties) binPtr(id PropID) *[]byte {
	switch id {
	case PropCorrelationData:
		return &p.CorrelationData
	case PropAuthData:
		return &p.AuthData
	}
	return nil
}

// props decodes a property block for packet type t (willProps for Will Properties).
func (d *dec) props(p *Properties, t PacketType) error {
	p.reset()
	at := d.off
	n, err := d.varint("property length")
	if err != nil {
		return err
	}
	if int(n) > d.remaining() {
		return d.fail(rulePropLength, "property length", fmt.Sprintf("property length %d but only %d bytes follow", n, d.remaining()), at)
	}
	// Decode within the block: the slice end stops a property from reading past it.
	full := d.b
	d.b = d.b[:d.off+int(n)]
	err = d.propList(p, t)
	d.b = full
	if err != nil {
		return err
	}
	if p.Has(PropAuthData) && !p.Has(PropAuthMethod) {
		if err := d.fail(ruleAuthDataNoMethod, "Authentication Data", "", at); err != nil {
			return err
		}
	}
	return nil
}

// propList decodes the properties up to the end of d.b. It is the hot loop of every v5 decode:
// one-byte identifiers and fixed-size values are read inline.
func (d *dec) propList(p *Properties, t PacketType) error {
	for d.off < len(d.b) {
		idAt := d.off
		x := uint32(d.b[d.off])
		if x < 0x80 {
			d.off++
		} else {
			var err error
			if x, err = d.varint("property identifier"); err != nil {
				return err
			}
		}
		if x >= uint32(len(propTable)) || propTable[x].kind == kindNone {
			return d.fail(rulePropUnknown, "property identifier", fmt.Sprintf("unknown property identifier 0x%02X", x), idAt)
		}
		id := PropID(x)
		info := &propTable[id]
		if info.allowed&(1<<t) == 0 {
			where := t.String()
			if t == willProps {
				where = "Will Properties"
			}
			if err := d.fail(rulePropNotAllowed, info.name, info.name+" is not allowed in "+where, idAt); err != nil {
				return err
			}
		}
		// User Property never sets its presence bit, and Subscription Identifier repeats only in
		// PUBLISH; every other property may appear once.
		if p.present&(1<<id) != 0 || (id == PropSubscriptionID && t != PUBLISH && len(p.SubscriptionIDs) > 0) {
			if err := d.failSec(rulePropDuplicate, info.section, info.name, info.name+" appears more than once", idAt); err != nil {
				return err
			}
		}
		valAt := d.off
		var v uint32
		switch info.kind {
		case KindByte:
			if d.off >= len(d.b) {
				return d.truncated(info.name)
			}
			v = uint32(d.b[d.off])
			d.off++
		case KindUint16:
			if d.off+2 > len(d.b) {
				return d.truncated(info.name)
			}
			v = uint32(d.b[d.off])<<8 | uint32(d.b[d.off+1])
			d.off += 2
		case KindUint32:
			if d.off+4 > len(d.b) {
				return d.truncated(info.name)
			}
			v = binary.BigEndian.Uint32(d.b[d.off:])
			d.off += 4
		case KindVarint:
			var err error
			if v, err = d.varint(info.name); err != nil {
				return err
			}
			if err := d.checkPropValue(id, info, v, valAt); err != nil {
				return err
			}
			p.SubscriptionIDs = append(p.SubscriptionIDs, v)
			continue
		case KindString:
			s, err := d.str(info.name)
			if err != nil {
				return err
			}
			if r, detail := stringRule(id, s); r != nil {
				if err := d.fail(r, info.name, detail, valAt); err != nil {
					return err
				}
			}
			*p.strPtr(id) = s
			p.present |= 1 << id
			continue
		case KindBinary:
			b, err := d.bin(info.name)
			if err != nil {
				return err
			}
			*p.binPtr(id) = b
			p.present |= 1 << id
			continue
		case KindPair:
			k, err := d.str("User Property name")
			if err != nil {
				return err
			}
			v, err := d.str("User Property value")
			if err != nil {
				return err
			}
			p.User = append(p.User, UserProperty{k, v})
			continue
		}
		if (info.bool01 && v > 1) || (info.nonZero && v == 0) {
			if err := d.checkPropValue(id, info, v, valAt); err != nil {
				return err
			}
		}
		p.setNumeric(id, v)
		p.present |= 1 << id
	}
	return nil
}

func (d *dec) checkPropValue(id PropID, info *propInfo, v uint32, at int) error {
	if r, section, detail := valueRule(id, info, v); r != nil {
		return d.failSec(r, section, info.name, detail, at)
	}
	return nil
}

// valueRule returns the rule a numeric value of the property breaks, with the section to cite
// when the rule's own is too general ("" keeps the rule's) and what is wrong, or a nil rule. The
// decoder and Properties.SetText share it, so both refuse the same values.
func valueRule(id PropID, info *propInfo, v uint32) (r *Rule, section, detail string) {
	switch {
	case info.bool01 && v > 1:
		return rulePropValue, info.section, fmt.Sprintf("%s is %d, must be 0 or 1", info.name, v)
	case info.nonZero && v == 0:
		switch id {
		case PropTopicAlias:
			return ruleTopicAliasZero, "", ""
		case PropSubscriptionID:
			return ruleSubIDZero, "", ""
		}
		return rulePropValue, info.section, info.name + " is 0"
	}
	return nil, "", ""
}

// stringRule returns the rule a (well-formed) string value of the property breaks and what is
// wrong, or a nil rule: a Response Topic is a topic name, so it holds no wildcard.
func stringRule(id PropID, s string) (*Rule, string) {
	if id == PropResponseTopic && strings.ContainsAny(s, "+#") {
		return ruleResponseWildcard, "contains a wildcard character"
	}
	return nil, ""
}

func (d *dec) failSec(r *Rule, section, field, detail string, at int) error {
	err := d.fail(r, field, detail, at)
	if e, ok := err.(*Error); ok && section != "" {
		e.Section = section
	} else if err == nil && section != "" && d.viol != nil && len(*d.viol) > 0 {
		(*d.viol)[len(*d.viol)-1].Section = section
	}
	return err
}

// propsSize is the encoded size of the property block without its length prefix.
func (p *Properties) propsSize() int {
	n := 0
	for _, id := range propOrder {
		if !p.Has(id) {
			continue
		}
		switch propTable[id].kind {
		case KindByte:
			n += 2
		case KindUint16:
			n += 3
		case KindUint32:
			n += 5
		case KindVarint:
			for _, s := range p.SubscriptionIDs {
				n += 1 + varintLen(s)
			}
		case KindString:
			n += 3 + len(*p.strPtr(id))
		case KindBinary:
			n += 3 + len(*p.binPtr(id))
		case KindPair:
			for _, u := range p.User {
				n += 5 + len(u.Key) + len(u.Value)
			}
		}
	}
	return n
}

// blockSize is the encoded size of the property block including its length prefix.
func (p *Properties) blockSize() int {
	n := p.propsSize()
	return varintLen(uint32(n)) + n
}

func (p *Properties) appendBlock(dst []byte, t PacketType) ([]byte, error) {
	dst = AppendVarint(dst, uint32(p.propsSize()))
	for _, id := range propOrder {
		if !p.Has(id) {
			continue
		}
		info := &propTable[id]
		switch info.kind {
		case KindByte:
			dst = append(dst, byte(id), byte(p.numeric(id)))
		case KindUint16:
			dst = appendU16(append(dst, byte(id)), uint16(p.numeric(id)))
		case KindUint32:
			dst = appendU32(append(dst, byte(id)), p.numeric(id))
		case KindVarint:
			for _, s := range p.SubscriptionIDs {
				dst = AppendVarint(append(dst, byte(id)), s)
			}
		case KindString:
			s := *p.strPtr(id)
			if err := checkLen(t, info.name, len(s)); err != nil {
				return dst, err
			}
			dst = appendStr(append(dst, byte(id)), s)
		case KindBinary:
			b := *p.binPtr(id)
			if err := checkLen(t, info.name, len(b)); err != nil {
				return dst, err
			}
			dst = appendBin(append(dst, byte(id)), b)
		case KindPair:
			for _, u := range p.User {
				if err := checkLen(t, "User Property", max(len(u.Key), len(u.Value))); err != nil {
					return dst, err
				}
				dst = appendStr(appendStr(append(dst, byte(id)), u.Key), u.Value)
			}
		}
	}
	return dst, nil
}

// String lists the present properties as name=value pairs.
func (p *Properties) String() string {
	var b strings.Builder
	for _, id := range propOrder {
		if !p.Has(id) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		info := &propTable[id]
		switch info.kind {
		case KindByte, KindUint16, KindUint32:
			fmt.Fprintf(&b, "%s=%d", info.name, p.numeric(id))
		case KindVarint:
			fmt.Fprintf(&b, "%s=%v", info.name, p.SubscriptionIDs)
		case KindString:
			fmt.Fprintf(&b, "%s=%q", info.name, *p.strPtr(id))
		case KindBinary:
			fmt.Fprintf(&b, "%s=%x", info.name, *p.binPtr(id))
		case KindPair:
			for i, u := range p.User {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "User Property=%q:%q", u.Key, u.Value)
			}
		}
	}
	return b.String()
}
