package broker_test

import (
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

// TestDiagnostics checks the Reason Strings and echoed User Properties of the broker's v5
// answers: present when the client's Request Problem Information allows them (1, also when
// absent), absent with 0 on every packet but CONNACK and DISCONNECT (MQTT-3.1.2-29, and the
// broker keeps its success CONNACK quiet then too), and left out of any packet they would make
// exceed the client's Maximum Packet Size (MQTT-3.2.2-19/20, MQTT-3.6.2-2/3, MQTT-3.7.2-2/3,
// MQTT-3.11.2-1/2 and their siblings).
func TestDiagnostics(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{ACL: broker.ACL{
		{Topic: "ok/#", Access: broker.AccessReadWrite},
		{Topic: "#", Access: broker.AccessRead},
	}})
	rpi := func(v byte) connOpt { return props(func(p *codec.Properties) { p.SetRequestProblemInfo(v) }) }
	maxSize := func(n uint32) connOpt { return props(func(p *codec.Properties) { p.SetMaximumPacketSize(n) }) }
	unsubscribeNever := func() codec.Packet {
		u := &codec.Unsubscribe{PacketID: 3, Filters: []string{uniq("ok/never/")}}
		u.Properties.AddUser("k", "v")
		return u
	}
	tests := []struct {
		name       string
		opts       []connOpt
		send       func() codec.Packet // nil: the CONNACK is the answer
		reason     codec.ReasonCode
		wantReason string // a substring of the Reason String; "" for none
		wantUsers  int
	}{
		{name: "connack default", wantReason: "new session"},
		{name: "connack problem info 0", opts: []connOpt{rpi(0)}},
		{name: "connack too large for it", opts: []connOpt{maxSize(16)}},
		{name: "pubcomp unknown id", send: func() codec.Packet { return &codec.Pubrel{PacketID: 5} },
			reason: codec.ReasonPacketIDNotFound, wantReason: "packet identifier 5"},
		{name: "pubcomp unknown id, problem info 0", opts: []connOpt{rpi(0)}, send: func() codec.Packet { return &codec.Pubrel{PacketID: 5} },
			reason: codec.ReasonPacketIDNotFound},
		{name: "pubcomp too large for it", opts: []connOpt{maxSize(16)}, send: func() codec.Packet { return &codec.Pubrel{PacketID: 5} },
			reason: codec.ReasonPacketIDNotFound},
		{name: "pubrel unknown id", send: func() codec.Packet { return &codec.Pubrec{PacketID: 6} },
			reason: codec.ReasonPacketIDNotFound, wantReason: "packet identifier 6"},
		{name: "pubrel too large for it", opts: []connOpt{maxSize(16)}, send: func() codec.Packet { return &codec.Pubrec{PacketID: 6} },
			reason: codec.ReasonPacketIDNotFound},
		{name: "unsuback nothing to unsubscribe", send: unsubscribeNever,
			reason: codec.ReasonNoSubscriptionExisted, wantReason: "filter 1: No subscription existed", wantUsers: 1},
		{name: "unsuback, problem info 0", opts: []connOpt{rpi(0)}, send: unsubscribeNever, reason: codec.ReasonNoSubscriptionExisted},
		{name: "unsuback too large for it", opts: []connOpt{maxSize(16)}, send: unsubscribeNever, reason: codec.ReasonNoSubscriptionExisted},
		{name: "puback not authorized", send: func() codec.Packet { return &codec.Publish{Topic: "denied", QoS: 1, PacketID: 7} },
			reason: codec.ReasonNotAuthorized, wantReason: `"denied"`},
		{name: "puback, problem info 0", opts: []connOpt{rpi(0)}, send: func() codec.Packet { return &codec.Publish{Topic: "denied", QoS: 1, PacketID: 7} },
			reason: codec.ReasonNotAuthorized},
		{name: "suback echoes user properties", send: func() codec.Packet {
			s := &codec.Subscribe{PacketID: 8, Subscriptions: []codec.Subscription{{Filter: uniq("ok/s/")}}}
			s.Properties.AddUser("a", "1").AddUser("b", "2")
			return s
		}, wantUsers: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ack := connect(t, addr, codec.V5, tt.opts...)
			var got codec.Packet = ack
			if tt.send != nil {
				c.send(tt.send())
				got = c.expect(wait)
			}
			pr := codec.PropertiesOf(got)
			if rc := reasonOf(got); rc != tt.reason {
				t.Fatalf("%v: reason code %v, want %v", got, rc, tt.reason)
			}
			switch {
			case tt.wantReason == "" && pr.Has(codec.PropReasonString):
				t.Errorf("%v: unexpected Reason String %q", got, pr.ReasonString)
			case tt.wantReason != "" && !strings.Contains(pr.ReasonString, tt.wantReason):
				t.Errorf("%v: Reason String %q, want one containing %q", got, pr.ReasonString, tt.wantReason)
			}
			if len(pr.User) != tt.wantUsers {
				t.Errorf("%v: %d User Properties, want %d", got, len(pr.User), tt.wantUsers)
			}
		})
	}
}

// reasonOf is the reason code of the answers TestDiagnostics reads (0 for a SUBACK's first grant).
func reasonOf(p codec.Packet) codec.ReasonCode {
	switch x := p.(type) {
	case *codec.Connack:
		return x.ReasonCode
	case *codec.Puback:
		return x.ReasonCode
	case *codec.Pubrel:
		return x.ReasonCode
	case *codec.Pubcomp:
		return x.ReasonCode
	case *codec.Unsuback:
		return x.ReasonCodes[0]
	case *codec.Suback:
		return x.ReasonCodes[0]
	}
	return 0xFF
}

// TestResponseInformation checks that the CONNACK carries Response Information exactly when the
// CONNECT asks for it with Request Response Information 1 (MQTT-3.1.2-28).
func TestResponseInformation(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, tt := range []struct {
		name string
		opt  connOpt
		want bool
	}{
		{"absent", props(func(*codec.Properties) {}), false},
		{"requested", props(func(p *codec.Properties) { p.SetRequestResponseInfo(1) }), true},
		{"declined", props(func(p *codec.Properties) { p.SetRequestResponseInfo(0) }), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := uniq("ri")
			_, ack := connect(t, addr, codec.V5, clientID(id), tt.opt)
			switch has := ack.Properties.Has(codec.PropResponseInfo); {
			case has != tt.want:
				t.Fatalf("Response Information present %v, want %v: %v", has, tt.want, ack)
			case has && ack.Properties.ResponseInfo != broker.ResponseInformation(id):
				t.Fatalf("Response Information %q, want %q", ack.Properties.ResponseInfo, broker.ResponseInformation(id))
			}
		})
	}
}
