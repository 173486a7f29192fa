package gen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
)

// Seed is one named packet of the exported corpus.
type Seed struct {
	// Name is a file name stem: "v5-publish-qos1-props", "v311-subscribe-subscribe-qos3".
	Name string
	Case *Case
}

// Corpus returns a seed corpus for version v (codec.V311 or codec.V5): every packet type with
// realistic fields, valid edge cases (identifiers 1 and 65535, empty strings and payloads, long
// fields, property storms), and for every packet type each rule a broken packet of that type can
// break. It is deterministic: the same version gives the same seeds.
func Corpus(v codec.Version) []Seed {
	prefix := "v311-"
	if v == codec.V5 {
		prefix = "v5-"
	}
	var seeds []Seed
	add := func(name string, side codec.Side, p codec.Packet) {
		b, err := p.AppendTo(nil, v)
		if err != nil {
			panic("gen: corpus packet " + name + ": " + err.Error())
		}
		seeds = append(seeds, Seed{Name: prefix + name, Case: &Case{Version: v, Sender: side, Type: p.Type(),
			Packet: p, Bytes: b, Want: Verdict{Accept: true}}})
	}
	for _, r := range realPackets(v) {
		add(r.name, r.side, r.p)
	}
	// Broken packets: for every type, the first case of each rule the generator reaches, found
	// by walking deterministic inputs.
	seen := map[string]bool{}
	for _, t := range sentBy(codec.SideUnknown, v) {
		for _, d := range Defects()[1:] {
			for i := 0; i < 400; i++ {
				side := codec.Side(i % 3)
				c := Packet(corpusInput(i), Options{Version: v, Sender: side, Types: []codec.PacketType{t}, Defect: d, MaxField: 64})
				if c.Defect != d {
					break // the type cannot carry this defect
				}
				key := t.String() + "/" + c.Want.Rule
				if seen[key] {
					continue
				}
				seen[key] = true
				seeds = append(seeds, Seed{Name: fmt.Sprintf("%s%s-%s", prefix, strings.ToLower(t.String()), c.Want.Rule), Case: c})
			}
		}
	}
	sort.SliceStable(seeds, func(i, j int) bool { return seeds[i].Name < seeds[j].Name })
	return seeds
}

// corpusInput is the i-th deterministic input used to search for broken seeds.
func corpusInput(i int) []byte {
	b := make([]byte, 96)
	x := uint32(i)*2654435761 + 12345
	for j := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[j] = byte(x)
	}
	return b
}

type realPacket struct {
	name string
	side codec.Side
	p    codec.Packet
}

// realPackets are packets as real clients and brokers send them, one or more per type.
func realPackets(v codec.Version) []realPacket {
	v5 := v == codec.V5
	var connProps, willProps, pubProps, ackProps, subProps, connackProps, discProps codec.Properties
	if v5 {
		connProps.SetSessionExpiry(3600).SetReceiveMaximum(20).SetMaximumPacketSize(1<<20).
			SetTopicAliasMaximum(10).SetRequestProblemInfo(1).AddUser("client", "mqttspec")
		willProps.SetWillDelay(5).SetPayloadFormat(1).SetMessageExpiry(60).SetContentType("text/plain").
			SetResponseTopic("replies/sensor-1").SetCorrelationData([]byte{1, 2, 3, 4})
		pubProps.SetPayloadFormat(1).SetMessageExpiry(300).SetTopicAlias(3).SetContentType("application/json").
			AddUser("trace", "a1b2")
		ackProps.SetReasonString("no subscribers").AddUser("k", "v")
		subProps.AddUser("origin", "test")
		subProps.SubscriptionIDs = []uint32{42}
		connackProps.SetSessionExpiry(3600).SetReceiveMaximum(100).SetMaximumQoS(1).SetRetainAvailable(1).
			SetMaximumPacketSize(1 << 20).SetAssignedClientID("auto-5c1f").SetTopicAliasMaximum(10).
			SetWildcardSubAvailable(1).SetSubIDAvailable(1).SetSharedSubAvailable(1).SetServerKeepAlive(60)
		discProps.SetReasonString("bye").SetSessionExpiry(0)
	}
	storm := codec.Properties{}
	if v5 {
		for i := 0; i < 64; i++ {
			storm.AddUser(fmt.Sprintf("k%d", i), "v")
		}
	}
	serverPub := pubProps
	if v5 {
		serverPub.SubscriptionIDs = []uint32{1, 268435455}
	}
	long := strings.Repeat("l", 65535)
	ps := []realPacket{
		{"connect-minimal", codec.SideClient, &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), CleanStart: true, KeepAlive: 60, ClientID: "sensor-1"}},
		{"connect-will-credentials", codec.SideClient, &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), KeepAlive: 30,
			Properties: connProps, ClientID: "sensor-1", WillFlag: true,
			Will:         codec.Will{QoS: 1, Retain: true, Properties: willProps, Topic: "status/sensor-1", Payload: []byte("offline")},
			UsernameFlag: true, Username: "user", PasswordFlag: true, Password: []byte("secret")}},
		{"connect-empty-client-id", codec.SideClient, &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), CleanStart: true}},
		{"connect-keepalive-max", codec.SideClient, &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), KeepAlive: 65535, ClientID: "k"}},
		{"connect-long-client-id", codec.SideClient, &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), CleanStart: true, ClientID: long}},
		{"connack-accepted", codec.SideServer, &codec.Connack{Properties: connackProps}},
		{"connack-session-present", codec.SideServer, &codec.Connack{SessionPresent: true}},
		{"connack-refused", codec.SideServer, &codec.Connack{ReasonCode: refused(v)}},
		{"publish-qos0", codec.SideClient, &codec.Publish{Topic: "sensors/1/temp", Payload: []byte("21.5")}},
		{"publish-qos1-props", codec.SideClient, &codec.Publish{QoS: 1, PacketID: 1, Topic: "sensors/1/temp", Properties: pubProps, Payload: []byte(`{"t":21.5}`)}},
		{"publish-qos2-retain-dup", codec.SideClient, &codec.Publish{QoS: 2, Dup: true, Retain: true, PacketID: 65535, Topic: "a/b", Payload: []byte{0, 0xFF}}},
		{"publish-empty-payload", codec.SideClient, &codec.Publish{Retain: true, Topic: "retained/clear"}},
		{"publish-server-subids", codec.SideServer, &codec.Publish{QoS: 1, PacketID: 7, Topic: "a/b", Properties: serverPub, Payload: []byte("x")}},
		{"publish-unicode-topic", codec.SideClient, &codec.Publish{Topic: "maison/température/😀\uFEFF", Payload: []byte("é")}},
		{"publish-property-storm", codec.SideClient, &codec.Publish{QoS: 1, PacketID: 9, Topic: "storm", Properties: storm, Payload: []byte("s")}},
		{"puback", codec.SideServer, &codec.Puback{PacketID: 1}},
		{"pubrec", codec.SideServer, &codec.Pubrec{PacketID: 2}},
		{"pubrel", codec.SideClient, &codec.Pubrel{PacketID: 2}},
		{"pubcomp", codec.SideServer, &codec.Pubcomp{PacketID: 2}},
		{"subscribe", codec.SideClient, &codec.Subscribe{PacketID: 3, Properties: subProps, Subscriptions: []codec.Subscription{
			{Filter: "sensors/+/temp", QoS: 1}, {Filter: "alerts/#", QoS: 2}, {Filter: "#", QoS: 0}}}},
		{"suback", codec.SideServer, &codec.Suback{PacketID: 3, ReasonCodes: []codec.ReasonCode{1, 2, 0, 0x80}}},
		{"unsubscribe", codec.SideClient, &codec.Unsubscribe{PacketID: 4, Filters: []string{"sensors/+/temp", "alerts/#"}}},
		{"unsuback", codec.SideServer, &codec.Unsuback{PacketID: 4}},
		{"pingreq", codec.SideClient, &codec.Pingreq{}},
		{"pingresp", codec.SideServer, &codec.Pingresp{}},
		{"disconnect", codec.SideClient, &codec.Disconnect{}},
	}
	if v5 {
		ps = append(ps,
			realPacket{"puback-reason-props", codec.SideServer, &codec.Puback{PacketID: 5, ReasonCode: codec.ReasonNoMatchingSubscribers, Properties: ackProps}},
			realPacket{"pubrec-error", codec.SideServer, &codec.Pubrec{PacketID: 6, ReasonCode: codec.ReasonQuotaExceeded}},
			realPacket{"pubrel-not-found", codec.SideClient, &codec.Pubrel{PacketID: 6, ReasonCode: codec.ReasonPacketIDNotFound}},
			realPacket{"subscribe-v5-options", codec.SideClient, &codec.Subscribe{PacketID: 8, Subscriptions: []codec.Subscription{
				{Filter: "a/b", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
				{Filter: "$share/group/sensors/#", QoS: 2, RetainHandling: 1}}}},
			realPacket{"suback-v5-errors", codec.SideServer, &codec.Suback{PacketID: 8, Properties: ackProps,
				ReasonCodes: []codec.ReasonCode{0x87, 0x8F, 0x9E, 0xA1, 0xA2, 0x97}}},
			realPacket{"unsuback-v5", codec.SideServer, &codec.Unsuback{PacketID: 4, ReasonCodes: []codec.ReasonCode{0, 0x11}}},
			realPacket{"disconnect-v5-reason", codec.SideClient, &codec.Disconnect{ReasonCode: codec.ReasonDisconnectWithWill, Properties: discProps}},
			realPacket{"disconnect-server-moved", codec.SideServer, &codec.Disconnect{ReasonCode: 0x9D, Properties: func() codec.Properties {
				var p codec.Properties
				p.SetServerReference("other.example:1883")
				return p
			}()}},
			realPacket{"publish-topic-alias-only", codec.SideClient, &codec.Publish{QoS: 1, PacketID: 10, Properties: pubProps, Payload: []byte("aliased")}},
			realPacket{"auth-continue", codec.SideServer, &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication, Properties: func() codec.Properties {
				var p codec.Properties
				p.SetAuthMethod("SCRAM-SHA-256").SetAuthData([]byte("r=abc,s=salt,i=4096"))
				return p
			}()}},
			realPacket{"auth-reauthenticate", codec.SideClient, &codec.Auth{ReasonCode: codec.ReasonReAuthenticate, Properties: func() codec.Properties {
				var p codec.Properties
				p.SetAuthMethod("SCRAM-SHA-256").SetAuthData([]byte("n,,n=user,r=xyz"))
				return p
			}()}},
		)
	}
	return ps
}

func refused(v codec.Version) codec.ReasonCode {
	if v == codec.V5 {
		return codec.ReasonNotAuthorized
	}
	return codec.ConnRefusedNotAuthorized
}
