package fuzz

import (
	"bytes"
	"fmt"
	"io"

	paho "github.com/eclipse/paho.golang/packets"
	mochi "github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqttspec/mqttspec/codec"
)

// vbi decodes a variable byte integer the permissive way both peers do (any number of
// continuation bytes); ok is false when b ends inside it.
func vbi(b []byte) (x uint64, n int, ok bool) {
	var shift uint
	for i, c := range b {
		if shift < 64 {
			x |= uint64(c&0x7F) << shift
		}
		shift += 7
		if c < 0x80 {
			return x, i + 1, true
		}
	}
	return 0, 0, false
}

// pahoPeer is github.com/eclipse/paho.golang/packets (MQTT 5.0 only): packets.ReadPacket.
var pahoPeer = &peer{
	name:     "paho.golang",
	target:   "Paho",
	versions: []codec.Version{codec.V5},
	sender:   codec.SideUnknown,
	parse: func(_ codec.Version, b []byte) (codec.Packet, int, bool, error) {
		// ReadPacket grows a buffer to the announced length before reading: work out what it
		// would read first, so that a header announcing 256 MB costs nothing here.
		if len(b) < 2 {
			return nil, 0, false, nil
		}
		x, hn, ok := vbi(b[1:])
		if !ok || x > uint64(len(b)) || 1+hn+int(x) > len(b) {
			return nil, 0, false, nil
		}
		n := 1 + hn + int(x)
		cp, err := paho.ReadPacket(bytes.NewReader(b[:n]))
		if err != nil {
			return nil, n, true, err
		}
		return fromPaho(cp), n, true, nil
	},
	view: func(p codec.Packet) {
		viewCommon(p, func(pr *codec.Properties) {
			// Strings and binary data carry no presence: empty means absent.
			for _, id := range []codec.PropID{codec.PropContentType, codec.PropResponseTopic, codec.PropAssignedClientID,
				codec.PropAuthMethod, codec.PropResponseInfo, codec.PropServerReference, codec.PropReasonString} {
				if pr.Has(id) && stringProp(pr, id) == "" {
					pr.Clear(id)
				}
			}
			if pr.Has(codec.PropCorrelationData) && len(pr.CorrelationData) == 0 {
				pr.Clear(codec.PropCorrelationData)
			}
			if pr.Has(codec.PropAuthData) && len(pr.AuthData) == 0 {
				pr.Clear(codec.PropAuthData)
			}
		})
	},
	skip: func(_ codec.Version, b []byte) bool {
		// A CONNECT of another level is outside a 5.0-only parser's claim.
		if len(b) < 2 || codec.PacketType(b[0]>>4) != codec.CONNECT {
			return false
		}
		_, hn, ok := vbi(b[1:])
		at := 1 + hn + 2 + 4 // header, name length, "MQTT"
		return ok && len(b) > at && b[at] != 5
	},
}

func stringProp(p *codec.Properties, id codec.PropID) string {
	switch id {
	case codec.PropContentType:
		return p.ContentType
	case codec.PropResponseTopic:
		return p.ResponseTopic
	case codec.PropAssignedClientID:
		return p.AssignedClientID
	case codec.PropAuthMethod:
		return p.AuthMethod
	case codec.PropResponseInfo:
		return p.ResponseInfo
	case codec.PropServerReference:
		return p.ServerReference
	case codec.PropReasonString:
		return p.ReasonString
	}
	return ""
}

// viewCommon clears what neither peer keeps (reserved bits) and applies props to every property
// block of p.
func viewCommon(p codec.Packet, props func(*codec.Properties)) {
	switch p := p.(type) {
	case *codec.Connect:
		props(&p.Properties)
		props(&p.Will.Properties)
	case *codec.Connack:
		p.ReservedFlags = 0
		props(&p.Properties)
	case *codec.Subscribe:
		for i := range p.Subscriptions {
			p.Subscriptions[i].ReservedBits = 0
		}
		props(&p.Properties)
	default:
		if pp := propsOfPacket(p); pp != nil {
			props(pp)
		}
	}
}

func propsOfPacket(p codec.Packet) *codec.Properties {
	switch p := p.(type) {
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

func fromPahoProps(in *paho.Properties) codec.Properties {
	var p codec.Properties
	if in == nil {
		return p
	}
	if in.PayloadFormat != nil {
		p.SetPayloadFormat(*in.PayloadFormat)
	}
	if in.MessageExpiry != nil {
		p.SetMessageExpiry(*in.MessageExpiry)
	}
	if in.ContentType != "" {
		p.SetContentType(in.ContentType)
	}
	if in.ResponseTopic != "" {
		p.SetResponseTopic(in.ResponseTopic)
	}
	if len(in.CorrelationData) > 0 {
		p.SetCorrelationData(in.CorrelationData)
	}
	if in.SubscriptionIdentifier != nil {
		p.SubscriptionIDs = []uint32{uint32(*in.SubscriptionIdentifier)}
	}
	if in.SessionExpiryInterval != nil {
		p.SetSessionExpiry(*in.SessionExpiryInterval)
	}
	if in.AssignedClientID != "" {
		p.SetAssignedClientID(in.AssignedClientID)
	}
	if in.ServerKeepAlive != nil {
		p.SetServerKeepAlive(*in.ServerKeepAlive)
	}
	if in.AuthMethod != "" {
		p.SetAuthMethod(in.AuthMethod)
	}
	if len(in.AuthData) > 0 {
		p.SetAuthData(in.AuthData)
	}
	if in.RequestProblemInfo != nil {
		p.SetRequestProblemInfo(*in.RequestProblemInfo)
	}
	if in.WillDelayInterval != nil {
		p.SetWillDelay(*in.WillDelayInterval)
	}
	if in.RequestResponseInfo != nil {
		p.SetRequestResponseInfo(*in.RequestResponseInfo)
	}
	if in.ResponseInfo != "" {
		p.SetResponseInfo(in.ResponseInfo)
	}
	if in.ServerReference != "" {
		p.SetServerReference(in.ServerReference)
	}
	if in.ReasonString != "" {
		p.SetReasonString(in.ReasonString)
	}
	if in.ReceiveMaximum != nil {
		p.SetReceiveMaximum(*in.ReceiveMaximum)
	}
	if in.TopicAliasMaximum != nil {
		p.SetTopicAliasMaximum(*in.TopicAliasMaximum)
	}
	if in.TopicAlias != nil {
		p.SetTopicAlias(*in.TopicAlias)
	}
	if in.MaximumQOS != nil {
		p.SetMaximumQoS(*in.MaximumQOS)
	}
	if in.RetainAvailable != nil {
		p.SetRetainAvailable(*in.RetainAvailable)
	}
	for _, u := range in.User {
		p.AddUser(u.Key, u.Value)
	}
	if in.MaximumPacketSize != nil {
		p.SetMaximumPacketSize(*in.MaximumPacketSize)
	}
	if in.WildcardSubAvailable != nil {
		p.SetWildcardSubAvailable(*in.WildcardSubAvailable)
	}
	if in.SubIDAvailable != nil {
		p.SetSubIDAvailable(*in.SubIDAvailable)
	}
	if in.SharedSubAvailable != nil {
		p.SetSharedSubAvailable(*in.SharedSubAvailable)
	}
	return p
}

func fromPaho(cp *paho.ControlPacket) codec.Packet {
	switch c := cp.Content.(type) {
	case *paho.Connect:
		p := &codec.Connect{ProtocolName: c.ProtocolName, ProtocolLevel: c.ProtocolVersion, CleanStart: c.CleanStart,
			WillFlag: c.WillFlag, UsernameFlag: c.UsernameFlag, PasswordFlag: c.PasswordFlag, KeepAlive: c.KeepAlive,
			Properties: fromPahoProps(c.Properties), ClientID: c.ClientID, Username: c.Username, Password: c.Password}
		p.Will = codec.Will{QoS: c.WillQOS, Retain: c.WillRetain, Topic: c.WillTopic, Payload: c.WillMessage,
			Properties: fromPahoProps(c.WillProperties)}
		return p
	case *paho.Connack:
		return &codec.Connack{SessionPresent: c.SessionPresent, ReasonCode: codec.ReasonCode(c.ReasonCode), Properties: fromPahoProps(c.Properties)}
	case *paho.Publish:
		return &codec.Publish{Dup: c.Duplicate, QoS: c.QoS, Retain: c.Retain, Topic: c.Topic, PacketID: c.PacketID,
			Properties: fromPahoProps(c.Properties), Payload: c.Payload}
	case *paho.Puback:
		return &codec.Puback{PacketID: c.PacketID, ReasonCode: codec.ReasonCode(c.ReasonCode), Properties: fromPahoProps(c.Properties)}
	case *paho.Pubrec:
		return &codec.Pubrec{PacketID: c.PacketID, ReasonCode: codec.ReasonCode(c.ReasonCode), Properties: fromPahoProps(c.Properties)}
	case *paho.Pubrel:
		return &codec.Pubrel{PacketID: c.PacketID, ReasonCode: codec.ReasonCode(c.ReasonCode), Properties: fromPahoProps(c.Properties)}
	case *paho.Pubcomp:
		return &codec.Pubcomp{PacketID: c.PacketID, ReasonCode: codec.ReasonCode(c.ReasonCode), Properties: fromPahoProps(c.Properties)}
	case *paho.Subscribe:
		p := &codec.Subscribe{PacketID: c.PacketID, Properties: fromPahoProps(c.Properties)}
		for _, s := range c.Subscriptions {
			p.Subscriptions = append(p.Subscriptions, codec.Subscription{Filter: s.Topic, QoS: s.QoS, NoLocal: s.NoLocal,
				RetainAsPublished: s.RetainAsPublished, RetainHandling: s.RetainHandling})
		}
		return p
	case *paho.Suback:
		return &codec.Suback{PacketID: c.PacketID, Properties: fromPahoProps(c.Properties), ReasonCodes: reasonCodes(c.Reasons)}
	case *paho.Unsubscribe:
		return &codec.Unsubscribe{PacketID: c.PacketID, Properties: fromPahoProps(c.Properties), Filters: c.Topics}
	case *paho.Unsuback:
		return &codec.Unsuback{PacketID: c.PacketID, Properties: fromPahoProps(c.Properties), ReasonCodes: reasonCodes(c.Reasons)}
	case *paho.Pingreq:
		return &codec.Pingreq{}
	case *paho.Pingresp:
		return &codec.Pingresp{}
	case *paho.Disconnect:
		return &codec.Disconnect{ReasonCode: codec.ReasonCode(c.ReasonCode), Properties: fromPahoProps(c.Properties)}
	case *paho.Auth:
		return &codec.Auth{ReasonCode: codec.ReasonCode(c.ReasonCode), Properties: fromPahoProps(c.Properties)}
	}
	return nil
}

func reasonCodes(b []byte) []codec.ReasonCode {
	out := make([]codec.ReasonCode, len(b))
	for i, c := range b {
		out[i] = codec.ReasonCode(c)
	}
	return out
}

// mochiPeer is github.com/mochi-mqtt/server/v2/packets as mochi's broker reads a packet:
// FixedHeader.Decode, DecodeLength, the type's Decode method, and the Validate method the
// broker calls on CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE and AUTH.
var mochiPeer = &peer{
	name:     "mochi-mqtt",
	target:   "Mochi",
	versions: []codec.Version{codec.V311, codec.V5},
	sender:   codec.SideClient,
	parse: func(v codec.Version, b []byte) (codec.Packet, int, bool, error) {
		if len(b) == 0 {
			return nil, 0, false, nil
		}
		var fh mochi.FixedHeader
		if err := fh.Decode(b[0]); err != nil {
			return nil, 1, true, err
		}
		rem, bu, err := mochi.DecodeLength(bytes.NewReader(b[1:]))
		if err == io.EOF {
			return nil, 0, false, nil
		}
		if err != nil {
			return nil, 1 + bu, true, err
		}
		fh.Remaining = rem
		n := 1 + bu + rem
		if n > len(b) {
			return nil, 0, false, nil
		}
		pk := mochi.Packet{ProtocolVersion: byte(v), FixedHeader: fh}
		body := append([]byte{}, b[1+bu:n]...)
		code := mochi.CodeSuccess
		switch fh.Type {
		case mochi.Connect:
			if err = pk.ConnectDecode(body); err == nil {
				code = pk.ConnectValidate()
			}
		case mochi.Connack:
			err = pk.ConnackDecode(body)
		case mochi.Publish:
			if err = pk.PublishDecode(body); err == nil {
				code = pk.PublishValidate(65535)
			}
		case mochi.Puback:
			err = pk.PubackDecode(body)
		case mochi.Pubrec:
			err = pk.PubrecDecode(body)
		case mochi.Pubrel:
			err = pk.PubrelDecode(body)
		case mochi.Pubcomp:
			err = pk.PubcompDecode(body)
		case mochi.Subscribe:
			if err = pk.SubscribeDecode(body); err == nil {
				code = pk.SubscribeValidate()
			}
		case mochi.Suback:
			err = pk.SubackDecode(body)
		case mochi.Unsubscribe:
			if err = pk.UnsubscribeDecode(body); err == nil {
				code = pk.UnsubscribeValidate()
			}
		case mochi.Unsuback:
			err = pk.UnsubackDecode(body)
		case mochi.Pingreq, mochi.Pingresp:
		case mochi.Disconnect:
			err = pk.DisconnectDecode(body)
		case mochi.Auth:
			if err = pk.AuthDecode(body); err == nil {
				code = pk.AuthValidate()
			}
		default:
			err = fmt.Errorf("invalid packet type; %v", fh.Type)
		}
		if err == nil && code != mochi.CodeSuccess {
			err = code
		}
		if err != nil {
			return nil, n, true, err
		}
		return fromMochi(&pk, v), n, true, nil
	},
	view: func(p codec.Packet) {
		viewCommon(p, func(pr *codec.Properties) {
			// Properties without a presence flag in mochi's struct are present when non-zero.
			for _, id := range []codec.PropID{codec.PropMessageExpiry, codec.PropContentType, codec.PropResponseTopic,
				codec.PropCorrelationData, codec.PropAssignedClientID, codec.PropAuthMethod, codec.PropAuthData,
				codec.PropWillDelay, codec.PropRequestResponseInfo, codec.PropResponseInfo, codec.PropServerReference,
				codec.PropReasonString, codec.PropReceiveMaximum, codec.PropTopicAliasMaximum, codec.PropMaximumPacketSize} {
				if pr.Has(id) && zeroProp(pr, id) {
					pr.Clear(id)
				}
			}
		})
	},
}

func zeroProp(p *codec.Properties, id codec.PropID) bool {
	switch id {
	case codec.PropMessageExpiry:
		return p.MessageExpiry == 0
	case codec.PropCorrelationData:
		return len(p.CorrelationData) == 0
	case codec.PropAuthData:
		return len(p.AuthData) == 0
	case codec.PropWillDelay:
		return p.WillDelay == 0
	case codec.PropRequestResponseInfo:
		return p.RequestResponseInfo == 0
	case codec.PropReceiveMaximum:
		return p.ReceiveMaximum == 0
	case codec.PropTopicAliasMaximum:
		return p.TopicAliasMaximum == 0
	case codec.PropMaximumPacketSize:
		return p.MaximumPacketSize == 0
	}
	return stringProp(p, id) == ""
}

func fromMochiProps(in *mochi.Properties) codec.Properties {
	var p codec.Properties
	if in.PayloadFormatFlag {
		p.SetPayloadFormat(in.PayloadFormat)
	}
	if in.MessageExpiryInterval != 0 {
		p.SetMessageExpiry(in.MessageExpiryInterval)
	}
	if in.ContentType != "" {
		p.SetContentType(in.ContentType)
	}
	if in.ResponseTopic != "" {
		p.SetResponseTopic(in.ResponseTopic)
	}
	if len(in.CorrelationData) > 0 {
		p.SetCorrelationData(in.CorrelationData)
	}
	for _, id := range in.SubscriptionIdentifier {
		p.SubscriptionIDs = append(p.SubscriptionIDs, uint32(id))
	}
	if in.SessionExpiryIntervalFlag {
		p.SetSessionExpiry(in.SessionExpiryInterval)
	}
	if in.AssignedClientID != "" {
		p.SetAssignedClientID(in.AssignedClientID)
	}
	if in.ServerKeepAliveFlag {
		p.SetServerKeepAlive(in.ServerKeepAlive)
	}
	if in.AuthenticationMethod != "" {
		p.SetAuthMethod(in.AuthenticationMethod)
	}
	if len(in.AuthenticationData) > 0 {
		p.SetAuthData(in.AuthenticationData)
	}
	if in.RequestProblemInfoFlag {
		p.SetRequestProblemInfo(in.RequestProblemInfo)
	}
	if in.WillDelayInterval != 0 {
		p.SetWillDelay(in.WillDelayInterval)
	}
	if in.RequestResponseInfo != 0 {
		p.SetRequestResponseInfo(in.RequestResponseInfo)
	}
	if in.ResponseInfo != "" {
		p.SetResponseInfo(in.ResponseInfo)
	}
	if in.ServerReference != "" {
		p.SetServerReference(in.ServerReference)
	}
	if in.ReasonString != "" {
		p.SetReasonString(in.ReasonString)
	}
	if in.ReceiveMaximum != 0 {
		p.SetReceiveMaximum(in.ReceiveMaximum)
	}
	if in.TopicAliasMaximum != 0 {
		p.SetTopicAliasMaximum(in.TopicAliasMaximum)
	}
	if in.TopicAliasFlag {
		p.SetTopicAlias(in.TopicAlias)
	}
	if in.MaximumQosFlag {
		p.SetMaximumQoS(in.MaximumQos)
	}
	if in.RetainAvailableFlag {
		p.SetRetainAvailable(in.RetainAvailable)
	}
	for _, u := range in.User {
		p.AddUser(u.Key, u.Val)
	}
	if in.MaximumPacketSize != 0 {
		p.SetMaximumPacketSize(in.MaximumPacketSize)
	}
	if in.WildcardSubAvailableFlag {
		p.SetWildcardSubAvailable(in.WildcardSubAvailable)
	}
	if in.SubIDAvailableFlag {
		p.SetSubIDAvailable(in.SubIDAvailable)
	}
	if in.SharedSubAvailableFlag {
		p.SetSharedSubAvailable(in.SharedSubAvailable)
	}
	return p
}

func fromMochi(pk *mochi.Packet, v codec.Version) codec.Packet {
	props := fromMochiProps(&pk.Properties)
	switch pk.FixedHeader.Type {
	case mochi.Connect:
		c := &pk.Connect
		p := &codec.Connect{ProtocolName: string(c.ProtocolName), ProtocolLevel: pk.ProtocolVersion, CleanStart: c.Clean,
			WillFlag: c.WillFlag, UsernameFlag: c.UsernameFlag, PasswordFlag: c.PasswordFlag, ReservedFlag: pk.ReservedBit != 0,
			KeepAlive: c.Keepalive, Properties: props, ClientID: c.ClientIdentifier, Username: string(c.Username), Password: c.Password}
		p.Will = codec.Will{QoS: c.WillQos, Retain: c.WillRetain, Topic: c.WillTopic, Payload: c.WillPayload,
			Properties: fromMochiProps(&c.WillProperties)}
		return p
	case mochi.Connack:
		return &codec.Connack{SessionPresent: pk.SessionPresent, ReasonCode: codec.ReasonCode(pk.ReasonCode), Properties: props}
	case mochi.Publish:
		return &codec.Publish{Dup: pk.FixedHeader.Dup, QoS: pk.FixedHeader.Qos, Retain: pk.FixedHeader.Retain,
			Topic: pk.TopicName, PacketID: pk.PacketID, Properties: props, Payload: pk.Payload}
	case mochi.Puback:
		return &codec.Puback{PacketID: pk.PacketID, ReasonCode: codec.ReasonCode(pk.ReasonCode), Properties: props}
	case mochi.Pubrec:
		return &codec.Pubrec{PacketID: pk.PacketID, ReasonCode: codec.ReasonCode(pk.ReasonCode), Properties: props}
	case mochi.Pubrel:
		return &codec.Pubrel{PacketID: pk.PacketID, ReasonCode: codec.ReasonCode(pk.ReasonCode), Properties: props}
	case mochi.Pubcomp:
		return &codec.Pubcomp{PacketID: pk.PacketID, ReasonCode: codec.ReasonCode(pk.ReasonCode), Properties: props}
	case mochi.Subscribe:
		p := &codec.Subscribe{PacketID: pk.PacketID, Properties: props}
		for _, s := range pk.Filters {
			p.Subscriptions = append(p.Subscriptions, codec.Subscription{Filter: s.Filter, QoS: s.Qos, NoLocal: s.NoLocal,
				RetainAsPublished: s.RetainAsPublished, RetainHandling: s.RetainHandling})
		}
		return p
	case mochi.Suback:
		return &codec.Suback{PacketID: pk.PacketID, Properties: props, ReasonCodes: reasonCodes(pk.ReasonCodes)}
	case mochi.Unsubscribe:
		p := &codec.Unsubscribe{PacketID: pk.PacketID, Properties: props}
		for _, s := range pk.Filters {
			p.Filters = append(p.Filters, s.Filter)
		}
		return p
	case mochi.Unsuback:
		return &codec.Unsuback{PacketID: pk.PacketID, Properties: props, ReasonCodes: reasonCodes(pk.ReasonCodes)}
	case mochi.Pingreq:
		return &codec.Pingreq{}
	case mochi.Pingresp:
		return &codec.Pingresp{}
	case mochi.Disconnect:
		return &codec.Disconnect{ReasonCode: codec.ReasonCode(pk.ReasonCode), Properties: props}
	case mochi.Auth:
		return &codec.Auth{ReasonCode: codec.ReasonCode(pk.ReasonCode), Properties: props}
	}
	return nil
}
