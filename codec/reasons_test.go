package codec_test

import (
	"errors"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// The reason code an error carries is what a v5 receiver answers with (section 3.3.2.3.4 names
// 0x94 for a bad Topic Alias), and an error in a CONNECT names the version the CONNECT asked for.
func TestErrorReasonAndVersion(t *testing.T) {
	p := &codec.Publish{Topic: "a", Payload: []byte("x")}
	p.Properties.SetTopicAlias(0)
	b, err := codec.Encode(p, codec.V5)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = codec.Decode(codec.V5, b)
	var e *codec.Error
	if !errors.As(err, &e) || e.Reason != codec.ReasonTopicAliasInvalid || e.Statement != "MQTT-3.3.2-8" {
		t.Fatalf("topic alias 0: %v (%+v), want reason 0x94 citing MQTT-3.3.2-8", err, e)
	}
	c := &codec.Connect{ProtocolName: "MQTX", ProtocolLevel: 5, CleanStart: true, ClientID: "x"}
	b, _ = codec.Encode(c, codec.V5)
	_, _, err = codec.Decode(codec.VersionUnknown, b)
	if !errors.As(err, &e) || e.Rule != "connect-protocol-name" || e.Version != codec.V5 || e.Reason != codec.ReasonUnsupportedProtocolVersion {
		t.Fatalf("bad protocol name at level 5: %v (%+v), want version 5.0 and reason 0x84", err, e)
	}
}

func TestPropertiesOf(t *testing.T) {
	for ty := codec.CONNECT; ty <= codec.AUTH; ty++ {
		p := codec.New(ty)
		got := codec.PropertiesOf(p)
		if (got == nil) != (ty == codec.PINGREQ || ty == codec.PINGRESP) {
			t.Errorf("%v: PropertiesOf = %v", ty, got)
		}
	}
}
