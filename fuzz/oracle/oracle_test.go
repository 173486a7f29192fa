package oracle

import (
	"errors"
	"slices"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

func enc(t *testing.T, v codec.Version, ps ...codec.Packet) []byte {
	t.Helper()
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.AppendTo(b, v); err != nil {
			t.Fatalf("encode %v: %v", p, err)
		}
	}
	return b
}

func conn5() *codec.Connect {
	return &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: 5, CleanStart: true, ClientID: "c"}
}
func conn3() *codec.Connect {
	return &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanStart: true, ClientID: "c"}
}

// TestPlantedAnswers hands Check one wrong answer per check and expects exactly that check to
// fire; the healthy twin of each case (the same conversation, answered correctly) must pass.
func TestPlantedAnswers(t *testing.T) {
	v5, v3 := codec.V5, codec.V311
	sub := &codec.Subscribe{PacketID: 7, Subscriptions: []codec.Subscription{{Filter: "a/+", QoS: 1}, {Filter: "b", QoS: 2}}}
	pub1 := &codec.Publish{Topic: "a/x", QoS: 1, PacketID: 3, Payload: []byte("p")}
	pub2 := &codec.Publish{Topic: "a/x", QoS: 2, PacketID: 4}
	ok0 := &codec.Connack{}
	aliasConn := conn5()
	aliasConn.Properties.SetTopicAliasMaximum(2)
	smallConn := conn5()
	smallConn.Properties.SetMaximumPacketSize(20)
	aliased := &codec.Publish{Topic: "a/x", QoS: 0}
	aliased.Properties.SetTopicAlias(3)
	tinyConn := conn5()
	tinyConn.Properties.SetMaximumPacketSize(1)
	unmapped := &codec.Publish{QoS: 0}
	unmapped.Properties.SetTopicAlias(1)
	aliasMap := &codec.Publish{Topic: "a/x", QoS: 0}
	aliasMap.Properties.SetTopicAlias(1)
	badPub := []byte{0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01} // QoS 3
	suback := &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{1, 2}}
	cases := []struct {
		name    string
		check   string // "" for a healthy conversation
		role    Role
		v       codec.Version
		sent    []byte
		got     []byte
		closed  bool
		o       Options
		stmtHas string
	}{
		{name: "healthy session", v: v5, sent: enc(t, v5, conn5(), sub, pub1, pub2, &codec.Pubrel{PacketID: 4}),
			got: enc(t, v5, ok0, suback, &codec.Puback{PacketID: 3}, &codec.Publish{Topic: "a/x", QoS: 1, PacketID: 1},
				&codec.Pubrec{PacketID: 4}, &codec.Pubcomp{PacketID: 4}), o: Options{Fresh: true}},
		{name: "a SUBSCRIBE identifier used again", v: v5, sent: enc(t, v5, conn5(), sub, &codec.Subscribe{PacketID: 7, Subscriptions: []codec.Subscription{{Filter: "c"}}}),
			got: enc(t, v5, ok0, suback, &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{0}})},
		{name: "malformed answer", check: CheckMalformed, v: v5, sent: enc(t, v5, conn5()),
			got: append(enc(t, v5, ok0), 0x40, 0x02, 0x00, 0x00)}, // PUBACK id 0
		{name: "answer above the client's maximum packet size", check: CheckTooLarge, v: v5, sent: enc(t, v5, smallConn, sub),
			got: enc(t, v5, ok0, &codec.Publish{Topic: "a/x", Payload: make([]byte, 40)})},
		{name: "first answer not CONNACK", check: CheckFirstPacket, v: v3, sent: enc(t, v3, conn3()),
			got: enc(t, v3, &codec.Pingresp{}, ok0)},
		{name: "two CONNACKs", check: CheckSecondConnack, v: v5, sent: enc(t, v5, conn5()), got: enc(t, v5, ok0, ok0)},
		{name: "answer to a stream without CONNECT", check: CheckAnswerNoConnect, v: v3, sent: enc(t, v3, &codec.Pingreq{}),
			got: enc(t, v3, &codec.Pingresp{}), closed: true},
		{name: "DISCONNECT before CONNACK", check: CheckDisconnectEarly, v: v5, sent: enc(t, v5, conn5()),
			got: enc(t, v5, &codec.Disconnect{ReasonCode: 0x82}), closed: true},
		{name: "packet after DISCONNECT", check: CheckAfterDisconnect, v: v5, sent: append(enc(t, v5, conn5(), &codec.Pingreq{}), badPub...),
			got: enc(t, v5, ok0, &codec.Disconnect{ReasonCode: 0x81}, &codec.Pingresp{}), closed: true},
		{name: "packet after a refusal", check: CheckAfterRefusal, v: v5, sent: enc(t, v5, conn5(), &codec.Pingreq{}),
			got: enc(t, v5, &codec.Connack{ReasonCode: 0x87}, &codec.Pingresp{}), closed: true},
		{name: "PUBACK with the wrong identifier", check: CheckAckID, v: v5, sent: enc(t, v5, conn5(), pub1),
			got: enc(t, v5, ok0, &codec.Puback{PacketID: 4})},
		{name: "PUBREC for a QoS 1 PUBLISH", check: CheckAckID, v: v3, sent: enc(t, v3, conn3(), pub1),
			got: enc(t, v3, ok0, &codec.Pubrec{PacketID: 3})},
		{name: "SUBACK with the wrong identifier", check: CheckAckID, v: v3, sent: enc(t, v3, conn3(), sub),
			got: enc(t, v3, ok0, &codec.Suback{PacketID: 8, ReasonCodes: []codec.ReasonCode{1, 2}})},
		{name: "UNSUBACK with the wrong identifier", check: CheckAckID, v: v5, sent: enc(t, v5, conn5(), &codec.Unsubscribe{PacketID: 9, Filters: []string{"a"}}),
			got: enc(t, v5, ok0, &codec.Unsuback{PacketID: 10, ReasonCodes: []codec.ReasonCode{0x11}})},
		{name: "PUBCOMP for no PUBREL", check: CheckAckID, v: v5, sent: enc(t, v5, conn5(), pub2),
			got: enc(t, v5, ok0, &codec.Pubrec{PacketID: 4}, &codec.Pubcomp{PacketID: 4})},
		{name: "acknowledgement of a PUBLISH after the bad packet", check: CheckAckID, v: v5,
			sent: append(append(enc(t, v5, conn5()), badPub...), enc(t, v5, pub1)...),
			got:  enc(t, v5, ok0, &codec.Puback{PacketID: 3}, &codec.Disconnect{ReasonCode: 0x82}), closed: true},
		{name: "SUBACK with one code for two filters", check: CheckAckCount, v: v5, sent: enc(t, v5, conn5(), sub),
			got: enc(t, v5, ok0, &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{1}})},
		{name: "UNSUBACK with two codes for one filter", check: CheckAckCount, v: v5, sent: enc(t, v5, conn5(), &codec.Unsubscribe{PacketID: 9, Filters: []string{"a"}}),
			got: enc(t, v5, ok0, &codec.Unsuback{PacketID: 9, ReasonCodes: []codec.ReasonCode{0, 0x11}})},
		{name: "delivery above the granted QoS", check: CheckQoSGranted, v: v3, sent: enc(t, v3, conn3(), sub),
			got: enc(t, v3, ok0, &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{0, 2}}, &codec.Publish{Topic: "a/x", QoS: 1, PacketID: 1})},
		{name: "SUBACK granting more than asked", check: CheckGrantedAbove, v: v5, sent: enc(t, v5, conn5(), sub),
			got: enc(t, v5, ok0, &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{2, 2}})},
		{name: "delivery on an unsubscribed topic", check: CheckUnsubscribed, v: v5, sent: enc(t, v5, conn5(), sub),
			got: enc(t, v5, ok0, suback, &codec.Publish{Topic: "c", QoS: 0}), o: Options{Fresh: true}},
		{name: "Topic Alias above the client's maximum", check: CheckTopicAliasMax, v: v5, sent: enc(t, v5, aliasConn, sub),
			got: enc(t, v5, ok0, suback, aliased)},
		{name: "PUBREL for no PUBLISH of the peer", check: CheckPubrelID, v: v5, sent: enc(t, v5, conn5()),
			got: enc(t, v5, ok0, &codec.Pubrel{PacketID: 5})},
		{name: "CONNACK 0 to a bad CONNECT", check: CheckAcceptedBad, v: v5,
			sent: []byte{0x10, 0x0D, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00}, // reserved bit 0 set
			got:  enc(t, v5, ok0), closed: true},
		{name: "bad packet, connection left open", check: CheckNoClose, v: v5, sent: append(enc(t, v5, conn5()), badPub...),
			got: enc(t, v5, ok0)},
		{name: "peer's DISCONNECT, connection left open", check: CheckNoClose, v: v5, sent: enc(t, v5, conn5()),
			got: enc(t, v5, ok0, &codec.Disconnect{ReasonCode: 0x8D})},
		{name: "DISCONNECT 0x00 for a bad packet", check: CheckDisconnectReason, v: v5, sent: append(enc(t, v5, conn5()), badPub...),
			got: enc(t, v5, ok0, &codec.Disconnect{}), closed: true},
		{name: "DISCONNECT with another reason than the codec's", check: CheckDisconnectReason, v: v5, sent: append(enc(t, v5, conn5()), badPub...),
			got: enc(t, v5, ok0, &codec.Disconnect{ReasonCode: 0x82}), closed: true, o: Options{ExactReason: true}},
		{name: "bad packet answered with the codec's reason", v: v5, sent: append(enc(t, v5, conn5()), badPub...),
			got: enc(t, v5, ok0, &codec.Disconnect{ReasonCode: 0x81}), closed: true, o: Options{ExactReason: true}},
		// Found by the libFuzzer broker-session campaign: the 0x82 answers the AUTH (MQTT-4.12.0-7),
		// which comes before the malformed PUBLISH the codec stops at.
		{name: "AUTH without an Authentication Method, then a bad packet: 0x82 answers the AUTH", v: v5,
			sent: append(enc(t, v5, conn5(), &codec.Auth{}), 0x3B, 0x00),
			got:  enc(t, v5, ok0, &codec.Disconnect{ReasonCode: 0x82}), closed: true, o: Options{ExactReason: true}},
		{name: "AUTH without an Authentication Method, connection left open", check: CheckNoClose, v: v5,
			sent: enc(t, v5, conn5(), &codec.Auth{}), got: enc(t, v5, ok0)},
		{name: "a client's PINGRESP, then a bad packet: 0x82 answers the PINGRESP", v: v5,
			sent: append(enc(t, v5, conn5(), &codec.Pingresp{}), badPub...),
			got:  enc(t, v5, ok0, &codec.Disconnect{ReasonCode: 0x82}), closed: true, o: Options{ExactReason: true}},
		{name: "a client's SUBACK, connection left open", check: CheckNoClose, v: v3,
			sent: enc(t, v3, conn3(), &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0}}), got: enc(t, v3, ok0)},
		{name: "an unmapped Topic Alias, then a bad packet: 0x82 answers the alias", v: v5,
			sent: append(enc(t, v5, aliasConn, unmapped), badPub...),
			got:  enc(t, v5, ok0, &codec.Disconnect{ReasonCode: 0x82}), closed: true, o: Options{ExactReason: true}},
		{name: "a mapped Topic Alias used, then a bad packet: the codec's reason is due", check: CheckDisconnectReason, v: v5,
			sent: append(enc(t, v5, aliasConn, aliasMap, unmapped), badPub...),
			got:  enc(t, v5, ok0, &codec.Disconnect{ReasonCode: 0x82}), closed: true, o: Options{ExactReason: true}},
		// Found by the libFuzzer broker-session campaign: the second SUBSCRIBE reuses id 7 once
		// its first SUBACK came; the second SUBACK grants a/# at QoS 2.
		{name: "a SUBSCRIBE identifier reused: the second SUBACK answers the second SUBSCRIBE", v: v3,
			sent: enc(t, v3, conn3(), sub, &codec.Subscribe{PacketID: 7, Subscriptions: []codec.Subscription{{Filter: "a/#", QoS: 2}, {Filter: "c", QoS: 0}}}),
			got: enc(t, v3, ok0, &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{1, 2}}, &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{2, 0}},
				&codec.Publish{Topic: "a/x", QoS: 2, PacketID: 1}), o: Options{Fresh: true}},
		{name: "a delivery before its SUBACK, at the QoS the pending SUBSCRIBE asks", v: v3,
			sent: enc(t, v3, conn3(), sub, &codec.Subscribe{PacketID: 8, Subscriptions: []codec.Subscription{{Filter: "a/#", QoS: 2}}}),
			got: enc(t, v3, ok0, &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{1, 2}},
				&codec.Publish{Topic: "a/x", QoS: 2, PacketID: 1}, &codec.Suback{PacketID: 8, ReasonCodes: []codec.ReasonCode{2}}), o: Options{Fresh: true}},
		{name: "a delivery above every grant, the other SUBSCRIBE answered", check: CheckQoSGranted, v: v3,
			sent: enc(t, v3, conn3(), sub, &codec.Subscribe{PacketID: 8, Subscriptions: []codec.Subscription{{Filter: "a/#", QoS: 1}}}),
			got: enc(t, v3, ok0, &codec.Suback{PacketID: 7, ReasonCodes: []codec.ReasonCode{1, 2}}, &codec.Suback{PacketID: 8, ReasonCodes: []codec.ReasonCode{1}},
				&codec.Publish{Topic: "a/x", QoS: 2, PacketID: 1})},
		{name: "close without CONNACK to a CONNECT whose Maximum Packet Size no CONNACK fits", v: v5,
			sent: enc(t, v5, tinyConn), closed: true, o: Options{AcceptsConnect: true}},
		{name: "close without CONNACK after a valid CONNECT", check: CheckConnackMissing, v: v3, sent: append(enc(t, v3, conn3()), 0x20, 0x02, 0x00, 0x00),
			closed: true, o: Options{AcceptsConnect: true}},
		// Found by the libFuzzer client-session run in a CI dry run.
		{name: "client: AUTH without an Authentication Method, then a bad packet: 0x82 answers the AUTH", role: Client, v: v5,
			sent: append(enc(t, v5, ok0, &codec.Auth{}), 0x00, 0x00),
			got:  enc(t, v5, conn5(), &codec.Disconnect{ReasonCode: 0x82}), closed: true, o: Options{ExactReason: true}},
		{name: "client: a second CONNACK, then a bad packet: 0x82 answers the CONNACK", role: Client, v: v5,
			sent: append(enc(t, v5, ok0, ok0), 0x00, 0x00),
			got:  enc(t, v5, conn5(), &codec.Disconnect{ReasonCode: 0x82}), closed: true, o: Options{ExactReason: true}},
		{name: "client: a SUBACK with no reason code, then a bad packet: 0x82 answers the SUBACK", role: Client, v: v5,
			sent: append(enc(t, v5, ok0, &codec.Suback{PacketID: 1}), 0x00, 0x00),
			got:  enc(t, v5, conn5(), &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "a"}}}, &codec.Disconnect{ReasonCode: 0x82}), closed: true, o: Options{ExactReason: true}},
		{name: "client: a bad packet alone is answered with the codec's reason", check: CheckDisconnectReason, role: Client, v: v5,
			sent: append(enc(t, v5, ok0), 0x00, 0x00),
			got:  enc(t, v5, conn5(), &codec.Disconnect{ReasonCode: 0x82}), closed: true, o: Options{ExactReason: true}},
		{name: "client: first packet not CONNECT", check: CheckFirstPacket, role: Client, v: v5, sent: enc(t, v5, ok0),
			got: enc(t, v5, &codec.Pingreq{})},
		{name: "client: PUBACK with the wrong identifier", check: CheckAckID, role: Client, v: v5,
			sent: enc(t, v5, ok0, &codec.Publish{Topic: "t", QoS: 1, PacketID: 9}),
			got:  enc(t, v5, conn5(), &codec.Puback{PacketID: 8})},
		{name: "client: bad packet, connection left open", check: CheckNoClose, role: Client, v: v5,
			sent: append(enc(t, v5, ok0), 0x30, 0x01, 0x00), got: enc(t, v5, conn5())},
		{name: "client: healthy", role: Client, v: v5, sent: enc(t, v5, ok0, &codec.Publish{Topic: "t", QoS: 2, PacketID: 9}, &codec.Pubrel{PacketID: 9}),
			got: enc(t, v5, conn5(), &codec.Pubrec{PacketID: 9}, &codec.Pubcomp{PacketID: 9})},
	}
	planted := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Role, o.Version = tc.role, tc.v
			vs := Check(Conversation{Sent: tc.sent, Got: tc.got, Closed: tc.closed, Waited: true}, o)
			var names []string
			for _, v := range vs {
				names = append(names, v.Check)
				if v.Statement == "" {
					t.Errorf("%s cites nothing", v.Check)
				}
			}
			if tc.check == "" {
				if len(vs) > 0 {
					t.Fatalf("healthy conversation flagged: %v", Err(vs))
				}
				return
			}
			if !slices.Contains(names, tc.check) {
				t.Fatalf("want %s, got %v", tc.check, Err(vs))
			}
			var all Violations
			if !errors.As(Err(vs), &all) || len(all) != len(vs) {
				t.Fatalf("Err does not unwrap to Violations")
			}
			planted[tc.check] = true
		})
	}
	for _, c := range Checks() {
		if !planted[c] {
			t.Errorf("check %s has no planted wrong answer here", c)
		}
	}
}
