package codec_test

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// allProps returns properties carrying every property that packet type t allows (codec.PropID(0)
// stands for the Will Properties), with values chosen to be distinct from the zero value where the
// specification allows it, and zero where presence alone has to survive the round trip.
func allProps(t codec.PacketType) codec.Properties {
	var p codec.Properties
	for _, id := range codec.PropIDs() {
		if !id.AllowedIn(t) {
			continue
		}
		switch id {
		case codec.PropPayloadFormat:
			p.SetPayloadFormat(1)
		case codec.PropMessageExpiry:
			p.SetMessageExpiry(3600)
		case codec.PropContentType:
			p.SetContentType("text/plain; charset=utf-8")
		case codec.PropResponseTopic:
			p.SetResponseTopic("reply/to/me")
		case codec.PropCorrelationData:
			p.SetCorrelationData([]byte{0xde, 0xad, 0xbe, 0xef})
		case codec.PropSubscriptionID:
			if t == codec.PUBLISH {
				p.SubscriptionIDs = []uint32{1, codec.MaxVarint, 128, 16383}
			} else {
				p.SubscriptionIDs = []uint32{16384}
			}
		case codec.PropSessionExpiry:
			p.SetSessionExpiry(0xFFFFFFFF)
		case codec.PropAssignedClientID:
			p.SetAssignedClientID("auto-1234")
		case codec.PropServerKeepAlive:
			p.SetServerKeepAlive(120)
		case codec.PropAuthMethod:
			p.SetAuthMethod("SCRAM-SHA-1")
		case codec.PropAuthData:
			p.SetAuthData([]byte{1, 2, 3})
		case codec.PropRequestProblemInfo:
			p.SetRequestProblemInfo(0) // present with value 0
		case codec.PropWillDelay:
			p.SetWillDelay(30)
		case codec.PropRequestResponseInfo:
			p.SetRequestResponseInfo(1)
		case codec.PropResponseInfo:
			p.SetResponseInfo("resp/info")
		case codec.PropServerReference:
			p.SetServerReference("other.example:1883")
		case codec.PropReasonString:
			p.SetReasonString("because ✓")
		case codec.PropReceiveMaximum:
			p.SetReceiveMaximum(65535)
		case codec.PropTopicAliasMaximum:
			p.SetTopicAliasMaximum(0) // present with value 0
		case codec.PropTopicAlias:
			p.SetTopicAlias(7)
		case codec.PropMaximumQoS:
			p.SetMaximumQoS(1)
		case codec.PropRetainAvailable:
			p.SetRetainAvailable(0)
		case codec.PropUserProperty:
			// Repeated and out-of-order keys: the order on the wire must be kept.
			p.AddUser("b", "1").AddUser("a", "2").AddUser("b", "3").AddUser("", "")
		case codec.PropMaximumPacketSize:
			p.SetMaximumPacketSize(1 << 20)
		case codec.PropWildcardSubAvailable:
			p.SetWildcardSubAvailable(1)
		case codec.PropSubIDAvailable:
			p.SetSubIDAvailable(0)
		case codec.PropSharedSubAvailable:
			p.SetSharedSubAvailable(1)
		default:
			panic(fmt.Sprintf("allProps: no test value for %v", id))
		}
	}
	return p
}

func connectFor(v codec.Version) *codec.Connect {
	c := &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), CleanStart: true, KeepAlive: 60, ClientID: "client-1"}
	if v == codec.V31 {
		c.ProtocolName = "MQIsdp"
	}
	return c
}

type rtCase struct {
	name string
	vers []codec.Version // nil: every version
	p    codec.Packet
}

// roundTripCases lists the packets of every type, for every version they exist in.
func roundTripCases() []rtCase {
	var cs []rtCase
	add := func(name string, vers []codec.Version, p codec.Packet) {
		cs = append(cs, rtCase{name, vers, p})
	}
	v3 := []codec.Version{codec.V31, codec.V311}
	v5 := []codec.Version{codec.V5}

	// CONNECT
	for _, v := range versions {
		vs := []codec.Version{v}
		add("connect/minimal", vs, connectFor(v))
		c := connectFor(v)
		c.ClientID = ""
		c.KeepAlive = 0
		add("connect/empty-client-id", vs, c)
		for q := byte(0); q <= 2; q++ {
			c := connectFor(v)
			c.CleanStart = false
			c.WillFlag = true
			c.Will = codec.Will{QoS: q, Retain: q == 1, Topic: "will/tøpic", Payload: []byte("gone")}
			c.UsernameFlag, c.Username = true, "user"
			c.PasswordFlag, c.Password = true, []byte{0, 1, 2, 0xff}
			c.KeepAlive = 0xFFFF
			if v == codec.V5 {
				c.Properties = allProps(codec.CONNECT)
				c.Will.Properties = allProps(0)
			}
			add(fmt.Sprintf("connect/will-qos%d-user-password", q), vs, c)
		}
		c = connectFor(v)
		c.WillFlag = true
		c.Will = codec.Will{Topic: "w", Payload: []byte{}}
		c.UsernameFlag, c.Username = true, ""
		c.PasswordFlag, c.Password = true, []byte{}
		add("connect/empty-will-payload-user-password", vs, c)
	}
	c := connectFor(codec.V5)
	c.PasswordFlag, c.Password = true, []byte("secret") // 5.0 allows a password without a user name
	add("connect/password-without-username", v5, c)

	// CONNACK
	for rc := codec.ReasonCode(0); rc <= 5; rc++ {
		add(fmt.Sprintf("connack/return-code-%d", rc), v3, &codec.Connack{ReasonCode: rc})
	}
	add("connack/session-present", v3, &codec.Connack{SessionPresent: true})
	for _, rc := range codec.ReasonCodesFor(codec.CONNACK) {
		add(fmt.Sprintf("connack/reason-0x%02X", byte(rc)), v5, &codec.Connack{ReasonCode: rc})
	}
	add("connack/all-properties", v5, &codec.Connack{SessionPresent: true, Properties: allProps(codec.CONNACK)})

	// PUBLISH
	for q := byte(0); q <= 2; q++ {
		id := uint16(0)
		if q > 0 {
			id = 0xFFFF
		}
		add(fmt.Sprintf("publish/qos%d", q), nil, &codec.Publish{QoS: q, Topic: "a/b/c", PacketID: id, Payload: []byte("hello")})
		add(fmt.Sprintf("publish/qos%d-retain-empty-payload", q), nil, &codec.Publish{QoS: q, Retain: true, Topic: "a", PacketID: id, Payload: []byte{}})
		if q > 0 {
			add(fmt.Sprintf("publish/qos%d-dup", q), nil, &codec.Publish{Dup: true, QoS: q, Topic: "a/b", PacketID: 1, Payload: []byte{0}})
		}
		p := &codec.Publish{QoS: q, Topic: "x/y", PacketID: id, Payload: []byte("props"), Properties: allProps(codec.PUBLISH)}
		add(fmt.Sprintf("publish/qos%d-all-properties", q), v5, p)
	}
	add("publish/unicode-topic-with-bom", nil, &codec.Publish{Topic: "\uFEFFsensors/温度/𝄞", Payload: []byte("x")})
	add("publish/64KiB", nil, &codec.Publish{QoS: 1, Topic: "big", PacketID: 9, Payload: bytes.Repeat([]byte("0123456789abcdef"), 4096)})
	pa := &codec.Publish{QoS: 1, Topic: "", PacketID: 2, Payload: []byte("aliased")}
	pa.Properties.SetTopicAlias(3)
	add("publish/empty-topic-with-alias", v5, pa)

	// PUBACK, PUBREC, PUBREL, PUBCOMP
	acks := []struct {
		t    codec.PacketType
		make func(id uint16, rc codec.ReasonCode, p codec.Properties) codec.Packet
	}{
		{codec.PUBACK, func(id uint16, rc codec.ReasonCode, p codec.Properties) codec.Packet {
			return &codec.Puback{PacketID: id, ReasonCode: rc, Properties: p}
		}},
		{codec.PUBREC, func(id uint16, rc codec.ReasonCode, p codec.Properties) codec.Packet {
			return &codec.Pubrec{PacketID: id, ReasonCode: rc, Properties: p}
		}},
		{codec.PUBREL, func(id uint16, rc codec.ReasonCode, p codec.Properties) codec.Packet {
			return &codec.Pubrel{PacketID: id, ReasonCode: rc, Properties: p}
		}},
		{codec.PUBCOMP, func(id uint16, rc codec.ReasonCode, p codec.Properties) codec.Packet {
			return &codec.Pubcomp{PacketID: id, ReasonCode: rc, Properties: p}
		}},
	}
	for _, a := range acks {
		name := a.t.String()
		add(name+"/id-only", nil, a.make(0x1234, 0, codec.Properties{}))
		for _, rc := range codec.ReasonCodesFor(a.t) {
			add(fmt.Sprintf("%s/reason-0x%02X", name, byte(rc)), v5, a.make(1, rc, codec.Properties{}))
			add(fmt.Sprintf("%s/reason-0x%02X-all-properties", name, byte(rc)), v5, a.make(2, rc, allProps(a.t)))
		}
	}

	// SUBSCRIBE
	var subs3, subs5 []codec.Subscription
	for q := byte(0); q <= 2; q++ {
		subs3 = append(subs3, codec.Subscription{Filter: fmt.Sprintf("a/+/q%d/#", q), QoS: q})
		for rh := byte(0); rh <= 2; rh++ {
			for _, nl := range []bool{false, true} {
				for _, rap := range []bool{false, true} {
					subs5 = append(subs5, codec.Subscription{Filter: fmt.Sprintf("s/%d/%d/%t/%t", q, rh, nl, rap),
						QoS: q, NoLocal: nl, RetainAsPublished: rap, RetainHandling: rh})
				}
			}
		}
	}
	subs3 = append(subs3, codec.Subscription{Filter: "#"}, codec.Subscription{Filter: "+"}, codec.Subscription{Filter: "$SYS/#", QoS: 1})
	add("subscribe/qos-and-wildcards", v3, &codec.Subscribe{PacketID: 10, Subscriptions: subs3})
	add("subscribe/every-option", v5, &codec.Subscribe{PacketID: 10, Subscriptions: subs5, Properties: allProps(codec.SUBSCRIBE)})
	add("subscribe/shared", v5, &codec.Subscribe{PacketID: 11, Subscriptions: []codec.Subscription{
		{Filter: "$share/group/a/+/#", QoS: 2}, {Filter: "$share/g/#", RetainAsPublished: true}}})

	// SUBACK
	add("suback/codes", v3, &codec.Suback{PacketID: 10, ReasonCodes: []codec.ReasonCode{0, 1, 2, 0x80}})
	add("suback/every-reason", v5, &codec.Suback{PacketID: 10, ReasonCodes: codec.ReasonCodesFor(codec.SUBACK), Properties: allProps(codec.SUBACK)})

	// UNSUBSCRIBE / UNSUBACK
	add("unsubscribe/filters", nil, &codec.Unsubscribe{PacketID: 3, Filters: []string{"a/b", "a/+", "#"}})
	add("unsubscribe/all-properties", v5, &codec.Unsubscribe{PacketID: 3, Filters: []string{"$share/g/x"}, Properties: allProps(codec.UNSUBSCRIBE)})
	add("unsuback/id", v3, &codec.Unsuback{PacketID: 3})
	add("unsuback/every-reason", v5, &codec.Unsuback{PacketID: 3, ReasonCodes: codec.ReasonCodesFor(codec.UNSUBACK), Properties: allProps(codec.UNSUBACK)})

	// PINGREQ / PINGRESP
	add("pingreq", nil, &codec.Pingreq{})
	add("pingresp", nil, &codec.Pingresp{})

	// DISCONNECT
	add("disconnect/empty", nil, &codec.Disconnect{})
	for _, rc := range codec.ReasonCodesFor(codec.DISCONNECT) {
		add(fmt.Sprintf("disconnect/reason-0x%02X", byte(rc)), v5, &codec.Disconnect{ReasonCode: rc})
	}
	add("disconnect/all-properties", v5, &codec.Disconnect{ReasonCode: codec.ReasonServerMoved, Properties: allProps(codec.DISCONNECT)})

	// AUTH
	for _, rc := range codec.ReasonCodesFor(codec.AUTH) {
		add(fmt.Sprintf("auth/reason-0x%02X", byte(rc)), v5, &codec.Auth{ReasonCode: rc})
		add(fmt.Sprintf("auth/reason-0x%02X-all-properties", byte(rc)), v5, &codec.Auth{ReasonCode: rc, Properties: allProps(codec.AUTH)})
	}
	return cs
}

func TestRoundTrip(t *testing.T) {
	cases := roundTripCases()
	for _, v := range versions {
		reused := codec.NewDecoder(v) // one decoder through every case of the version
		for _, c := range cases {
			if c.vers != nil && !containsVersion(c.vers, v) {
				continue
			}
			t.Run(v.String()+"/"+c.name, func(t *testing.T) {
				b := mustEncode(t, c.p, v)

				got, n, err := codec.Decode(v, b)
				if err != nil {
					t.Fatalf("Decode(% X): %v", b, err)
				}
				if n != len(b) {
					t.Errorf("Decode consumed %d of %d bytes", n, len(b))
				}
				if !reflect.DeepEqual(got, c.p) {
					t.Errorf("Decode mismatch\n got: %#v\nwant: %#v", got, c.p)
				}

				// The zero-alloc path, with a decoder that has seen every earlier packet.
				reused.Version = v
				got2, n2, err := reused.Decode(b)
				if err != nil {
					t.Fatalf("Decoder.Decode: %v", err)
				}
				if n2 != len(b) || !equalPacket(got2, c.p) {
					t.Errorf("Decoder.Decode mismatch (n=%d)\n got: %#v\nwant: %#v", n2, got2, c.p)
				}

				// Re-encoding what was decoded gives the same bytes.
				if b2 := mustEncode(t, got, v); !bytes.Equal(b, b2) {
					t.Errorf("re-encode differs\n got % X\nwant % X", b2, b)
				}
				if err := codec.Validate(c.p, v, codec.SideUnknown); err != nil {
					t.Errorf("Validate: %v", err)
				}
				if got.String() == "" {
					t.Error("String() is empty")
				}
			})
		}
	}
}

func containsVersion(vs []codec.Version, v codec.Version) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// TestRoundTripCoversEveryProperty checks that the round-trip table exercises every property
// identifier, and every packet type in every version it exists in.
func TestRoundTripCoversEveryProperty(t *testing.T) {
	seen := map[codec.PropID]bool{}
	types := map[string]bool{}
	for _, c := range roundTripCases() {
		vs := c.vers
		if vs == nil {
			vs = versions
		}
		for _, v := range vs {
			types[fmt.Sprintf("%v/%v", c.p.Type(), v)] = true
		}
		var props []*codec.Properties
		switch p := c.p.(type) {
		case *codec.Connect:
			props = append(props, &p.Properties, &p.Will.Properties)
		case *codec.Connack:
			props = append(props, &p.Properties)
		case *codec.Publish:
			props = append(props, &p.Properties)
		case *codec.Puback:
			props = append(props, &p.Properties)
		case *codec.Pubrec:
			props = append(props, &p.Properties)
		case *codec.Pubrel:
			props = append(props, &p.Properties)
		case *codec.Pubcomp:
			props = append(props, &p.Properties)
		case *codec.Subscribe:
			props = append(props, &p.Properties)
		case *codec.Suback:
			props = append(props, &p.Properties)
		case *codec.Unsubscribe:
			props = append(props, &p.Properties)
		case *codec.Unsuback:
			props = append(props, &p.Properties)
		case *codec.Disconnect:
			props = append(props, &p.Properties)
		case *codec.Auth:
			props = append(props, &p.Properties)
		}
		for _, p := range props {
			for _, id := range p.IDs() {
				seen[id] = true
			}
		}
	}
	for _, id := range codec.PropIDs() {
		if !seen[id] {
			t.Errorf("no round-trip case carries %v (0x%02X)", id, byte(id))
		}
	}
	for pt := codec.CONNECT; pt <= codec.AUTH; pt++ {
		for _, v := range versions {
			if pt == codec.AUTH && v != codec.V5 {
				continue
			}
			if !types[fmt.Sprintf("%v/%v", pt, v)] {
				t.Errorf("no round-trip case for %v in %v", pt, v)
			}
		}
	}
}

// TestReasonCodesPerType decodes every byte value as the reason code of every v5 packet type
// that carries one: exactly the codes of the type's table are accepted, the rest are rejected
// with the type's reason-code rule.
func TestReasonCodesPerType(t *testing.T) {
	build := map[codec.PacketType]func(rc codec.ReasonCode) codec.Packet{
		codec.CONNACK: func(rc codec.ReasonCode) codec.Packet { return &codec.Connack{ReasonCode: rc} },
		codec.PUBACK:  func(rc codec.ReasonCode) codec.Packet { return &codec.Puback{PacketID: 1, ReasonCode: rc} },
		codec.PUBREC:  func(rc codec.ReasonCode) codec.Packet { return &codec.Pubrec{PacketID: 1, ReasonCode: rc} },
		codec.PUBREL:  func(rc codec.ReasonCode) codec.Packet { return &codec.Pubrel{PacketID: 1, ReasonCode: rc} },
		codec.PUBCOMP: func(rc codec.ReasonCode) codec.Packet { return &codec.Pubcomp{PacketID: 1, ReasonCode: rc} },
		codec.SUBACK: func(rc codec.ReasonCode) codec.Packet {
			return &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{rc}}
		},
		codec.UNSUBACK: func(rc codec.ReasonCode) codec.Packet {
			return &codec.Unsuback{PacketID: 1, ReasonCodes: []codec.ReasonCode{rc}}
		},
		codec.DISCONNECT: func(rc codec.ReasonCode) codec.Packet { return &codec.Disconnect{ReasonCode: rc} },
		codec.AUTH:       func(rc codec.ReasonCode) codec.Packet { return &codec.Auth{ReasonCode: rc} },
	}
	wantRule := map[codec.PacketType]string{
		codec.CONNACK: "MQTT-3.2.2-8", codec.PUBACK: "MQTT-3.4.2-1", codec.PUBREC: "MQTT-3.5.2-1",
		codec.PUBREL: "MQTT-3.6.2-1", codec.PUBCOMP: "MQTT-3.7.2-1", codec.SUBACK: "MQTT-3.9.3-2",
		codec.UNSUBACK: "MQTT-3.11.3-2", codec.DISCONNECT: "MQTT-3.14.2-1", codec.AUTH: "MQTT-3.15.2-1",
	}
	for pt, mk := range build {
		valid := map[codec.ReasonCode]bool{}
		for _, rc := range codec.ReasonCodesFor(pt) {
			valid[rc] = true
		}
		for i := 0; i < 256; i++ {
			rc := codec.ReasonCode(i)
			b := mustEncode(t, mk(rc), codec.V5)
			_, _, err := codec.Decode(codec.V5, b)
			if valid[rc] != rc.ValidFor(pt) {
				t.Errorf("%v 0x%02X: ValidFor disagrees with ReasonCodesFor", pt, i)
			}
			if valid[rc] {
				if err != nil {
					t.Errorf("%v reason 0x%02X: %v", pt, i, err)
				}
				continue
			}
			e := asCodecError(t, err)
			if e == nil {
				t.Errorf("%v reason 0x%02X accepted", pt, i)
				continue
			}
			if e.Statement != wantRule[pt] || e.Reason != codec.ReasonProtocolError {
				t.Errorf("%v reason 0x%02X: statement %q reason %v, want %q Protocol Error", pt, i, e.Statement, e.Reason, wantRule[pt])
			}
		}
	}
	// 3.1.1 return codes: CONNACK 0-5, SUBACK 0, 1, 2, 0x80.
	for i := 0; i < 256; i++ {
		_, _, err := codec.Decode(codec.V311, []byte{0x20, 2, 0, byte(i)})
		if ok := i <= 5; ok != (err == nil) {
			t.Errorf("3.1.1 CONNACK return code %d: err %v", i, err)
		}
		_, _, err = codec.Decode(codec.V311, []byte{0x90, 3, 0, 1, byte(i)})
		ok := i <= 2 || i == 0x80
		if ok != (err == nil) {
			t.Errorf("3.1.1 SUBACK return code %d: err %v", i, err)
		}
		if e := asCodecError(t, err); !ok && (e == nil || e.Statement != "MQTT-3.9.3-2") {
			t.Errorf("3.1.1 SUBACK return code %d: %v, want MQTT-3.9.3-2", i, err)
		}
	}
}

func TestReasonCodeNames(t *testing.T) {
	tests := []struct {
		rc   codec.ReasonCode
		t    codec.PacketType
		v    codec.Version
		want string
	}{
		{0, codec.DISCONNECT, codec.V5, "Normal disconnection"},
		{0, codec.SUBACK, codec.V5, "Granted QoS 0"},
		{0, codec.PUBACK, codec.V5, "Success"},
		{0x87, codec.PUBACK, codec.V5, "Not authorized"},
		{2, codec.CONNACK, codec.V311, "Identifier rejected"},
		{9, codec.CONNACK, codec.V311, "reserved return code"},
		{1, codec.SUBACK, codec.V311, "Success - Maximum QoS 1"},
		{0x80, codec.SUBACK, codec.V311, "Failure"},
		{0x05, codec.PUBACK, codec.V5, "unassigned"},
	}
	for _, tt := range tests {
		if got := tt.rc.NameFor(tt.t, tt.v); got != tt.want {
			t.Errorf("0x%02X.NameFor(%v, %v) = %q, want %q", byte(tt.rc), tt.t, tt.v, got, tt.want)
		}
	}
	if got := codec.ReasonCode(0x95).String(); got != "0x95 Packet too large" {
		t.Errorf("String() = %q", got)
	}
	if !codec.ReasonCode(0x80).IsError() || codec.ReasonCode(0x7F).IsError() {
		t.Error("IsError boundary wrong")
	}
}
