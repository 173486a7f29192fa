package conformance

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// grantingBroker is a fake target that accepts the versions in accept, announces maxQoS in a v5
// CONNACK (255: no Maximum QoS property) and grants every subscription at most grant.
func grantingBroker(t *testing.T, accept []codec.Version, maxQoS, grant byte) *Target {
	return fakeBroker(t, func(_ *testing.T, nc net.Conn) {
		p := readPacket(nc, codec.VersionUnknown)
		cp, ok := p.(*codec.Connect)
		if !ok {
			return
		}
		v := codec.Version(cp.ProtocolLevel)
		ack := &codec.Connack{}
		switch {
		case !containsVersion(accept, v) && v == codec.V5:
			ack.ReasonCode = codec.ReasonUnsupportedProtocolVersion
		case !containsVersion(accept, v):
			ack.ReasonCode = 0x01
		case v == codec.V5 && maxQoS != 255:
			ack.Properties.SetMaximumQoS(maxQoS)
		}
		write(nc, v, ack)
		if ack.ReasonCode != 0 {
			return
		}
		if s, ok := readPacket(nc, v).(*codec.Subscribe); ok {
			write(nc, v, &codec.Suback{PacketID: s.PacketID, ReasonCodes: []codec.ReasonCode{codec.ReasonCode(min(s.Subscriptions[0].QoS, grant))}})
		}
		readPacket(nc, v) // DISCONNECT
	})
}

func containsVersion(vs []codec.Version, v codec.Version) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// TestDiscoverGrantedQoS checks that discovery learns the QoS a target grants: a 3.1.1 broker
// announces nothing, so a grant of 1 is the only sign that QoS 2 cases cannot set up; a v5 broker
// granting less than it announces is noted, and its announced limit is marked as not in force.
func TestDiscoverGrantedQoS(t *testing.T) {
	both := []codec.Version{codec.V311, codec.V5}
	tests := []struct {
		name         string
		accept       []codec.Version
		maxQoS       byte // 255: not announced
		grant        byte
		wantQoS      byte
		wantMissing2 bool
		wantLowered  bool
		wantNote     bool
	}{
		{"3.1.1 broker granting QoS 1", []codec.Version{codec.V311}, 255, 1, 1, true, false, false},
		{"3.1.1 broker granting QoS 2", []codec.Version{codec.V311}, 255, 2, 2, false, false, false},
		{"v5 grants what it announces", both, 1, 1, 1, true, false, false},
		{"v5 announces 2, grants 1", both, 255, 1, 1, true, true, true},
		{"everything", both, 255, 2, 2, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := grantingBroker(t, tt.accept, tt.maxQoS, tt.grant)
			caps, err := Discover(context.Background(), tg, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if caps.MaximumQoS != tt.wantQoS {
				t.Errorf("MaximumQoS %d, want %d (granted %v)", caps.MaximumQoS, tt.wantQoS, caps.GrantedQoS)
			}
			why, missing := caps.Missing[FeatureQoS2]
			if missing != tt.wantMissing2 {
				t.Errorf("qos2 missing = %t (%q), want %t", missing, why, tt.wantMissing2)
			}
			if tt.maxQoS == 255 && tt.grant < 2 && !strings.Contains(why, "grants QoS 1") {
				t.Errorf("skip reason %q does not name the grant", why)
			}
			if got := caps.LoweredByDescriptor(FeatureQoS2); got != tt.wantLowered {
				t.Errorf("qos2 lowered = %t, want %t", got, tt.wantLowered)
			}
			if got := len(caps.Notes) > 0; got != tt.wantNote {
				t.Errorf("notes %q, want a note: %t", caps.Notes, tt.wantNote)
			}
		})
	}
}
