package conformance

import (
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

func TestReasonName(t *testing.T) {
	for _, tc := range []struct {
		p    codec.Packet
		rc   codec.ReasonCode
		want string
	}{
		{&codec.Connack{}, 0x02, "0x02 Identifier rejected"},
		{&codec.Connack{}, 0x86, "0x86 Bad User Name or Password"},
		{&codec.Suback{}, 0x02, "0x02 Granted QoS 2"},
		{&codec.Puback{}, 0x10, "0x10 No matching subscribers"},
	} {
		if got := reasonName(tc.p, tc.rc); got != tc.want {
			t.Errorf("reasonName(%v, 0x%02X) = %q, want %q", tc.p.Type(), byte(tc.rc), got, tc.want)
		}
	}
}
