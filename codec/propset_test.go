package codec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// TestSetText sets each kind of property from text, and checks that a bad text gives a
// *PropertyError wrapping the sentinel (or the codec rule) that says what is wrong.
func TestSetText(t *testing.T) {
	cases := []struct {
		name   string
		id     codec.PropID
		values []string
		want   string // Properties.String() after a successful set
		err    error  // sentinel the error wraps, or
		rule   string // name of the rule of the *Error it wraps
	}{
		{name: "byte", id: codec.PropPayloadFormat, values: []string{"1"}, want: "Payload Format Indicator=1"},
		{name: "byte zero", id: codec.PropRequestProblemInfo, values: []string{"0"}, want: "Request Problem Information=0"},
		{name: "two byte", id: codec.PropReceiveMaximum, values: []string{"65535"}, want: "Receive Maximum=65535"},
		{name: "two byte zero allowed", id: codec.PropTopicAliasMaximum, values: []string{"0"}, want: "Topic Alias Maximum=0"},
		{name: "four byte", id: codec.PropMessageExpiry, values: []string{"4294967295"}, want: "Message Expiry Interval=4294967295"},
		{name: "varint", id: codec.PropSubscriptionID, values: []string{"268435455"}, want: "Subscription Identifier=[268435455]"},
		{name: "string", id: codec.PropContentType, values: []string{"text/plain; charset=utf-8"}, want: `Content Type="text/plain; charset=utf-8"`},
		{name: "empty string", id: codec.PropReasonString, values: []string{""}, want: `Reason String=""`},
		{name: "binary", id: codec.PropCorrelationData, values: []string{"abc"}, want: "Correlation Data=616263"},
		{name: "pair", id: codec.PropUserProperty, values: []string{"k", "v"}, want: `User Property="k":"v"`},

		{name: "not a number", id: codec.PropReceiveMaximum, values: []string{"many"}, err: codec.ErrPropertyNotNumber},
		{name: "negative", id: codec.PropSessionExpiry, values: []string{"-1"}, err: codec.ErrPropertyNotNumber},
		{name: "hex is not decimal", id: codec.PropSessionExpiry, values: []string{"0x10"}, err: codec.ErrPropertyNotNumber},
		{name: "byte too large", id: codec.PropPayloadFormat, values: []string{"256"}, err: codec.ErrPropertyTooLarge},
		{name: "two byte too large", id: codec.PropTopicAlias, values: []string{"65536"}, err: codec.ErrPropertyTooLarge},
		{name: "four byte too large", id: codec.PropMaximumPacketSize, values: []string{"4294967296"}, err: codec.ErrPropertyTooLarge},
		{name: "beyond uint64", id: codec.PropMessageExpiry, values: []string{"99999999999999999999999"}, err: codec.ErrPropertyTooLarge},
		{name: "varint too large", id: codec.PropSubscriptionID, values: []string{"268435456"}, err: codec.ErrPropertyTooLarge},
		{name: "binary too long", id: codec.PropAuthData, values: []string{strings.Repeat("x", 65536)}, err: codec.ErrPropertyTooLarge},
		{name: "string too long", id: codec.PropAuthMethod, values: []string{strings.Repeat("x", 65536)}, err: codec.ErrPropertyTooLarge},
		{name: "pair with one value", id: codec.PropUserProperty, values: []string{"k"}, err: codec.ErrPropertyValueCount},
		{name: "two values for a string", id: codec.PropContentType, values: []string{"a", "b"}, err: codec.ErrPropertyValueCount},
		{name: "no value", id: codec.PropTopicAlias, err: codec.ErrPropertyValueCount},
		{name: "undefined identifier", id: 0x04, values: []string{"1"}, err: codec.ErrUnknownProperty},

		{name: "boolean range", id: codec.PropRequestResponseInfo, values: []string{"2"}, rule: "property-value"},
		{name: "receive maximum zero", id: codec.PropReceiveMaximum, values: []string{"0"}, rule: "property-value"},
		{name: "maximum packet size zero", id: codec.PropMaximumPacketSize, values: []string{"0"}, rule: "property-value"},
		{name: "topic alias zero", id: codec.PropTopicAlias, values: []string{"0"}, rule: "topic-alias-zero"},
		{name: "subscription id zero", id: codec.PropSubscriptionID, values: []string{"0"}, rule: "subscription-id-zero"},
		{name: "response topic wildcard", id: codec.PropResponseTopic, values: []string{"a/#"}, rule: "response-topic-wildcard"},
		{name: "string with U+0000", id: codec.PropContentType, values: []string{"a\x00b"}, rule: "utf8-null"},
		{name: "ill-formed string", id: codec.PropContentType, values: []string{"a\xffb"}, rule: "utf8-invalid"},
		{name: "ill-formed pair value", id: codec.PropUserProperty, values: []string{"k", "\xed\xa0\x80"}, rule: "utf8-invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p codec.Properties
			err := p.SetText(tc.id, tc.values...)
			if tc.err == nil && tc.rule == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := p.String(); got != tc.want {
					t.Fatalf("properties %s, want %s", got, tc.want)
				}
				if !p.Has(tc.id) {
					t.Fatalf("%v not present after SetText", tc.id)
				}
				return
			}
			var pe *codec.PropertyError
			if !errors.As(err, &pe) || pe.Prop != tc.id {
				t.Fatalf("SetText = %v, want a *PropertyError for %v", err, tc.id)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("SetText = %v, want %v", err, tc.err)
			}
			var ce *codec.Error
			if tc.rule != "" && (!errors.As(err, &ce) || ce.Rule != tc.rule) {
				t.Fatalf("SetText = %v, want the rule %s", err, tc.rule)
			}
			if !p.Empty() {
				t.Fatalf("a refused value left properties %s", &p)
			}
		})
	}
}

// TestSetTextEncodes: values SetText accepts make packets the strict decoder accepts.
func TestSetTextEncodes(t *testing.T) {
	var p codec.Properties
	for _, s := range []struct {
		id     codec.PropID
		values []string
	}{
		{codec.PropPayloadFormat, []string{"1"}}, {codec.PropMessageExpiry, []string{"60"}},
		{codec.PropContentType, []string{"text/plain"}}, {codec.PropResponseTopic, []string{"reply/to"}},
		{codec.PropCorrelationData, []string{"id-1"}}, {codec.PropTopicAlias, []string{"3"}},
		{codec.PropUserProperty, []string{"a", "1"}}, {codec.PropUserProperty, []string{"b", "2"}},
	} {
		if err := p.SetText(s.id, s.values...); err != nil {
			t.Fatal(err)
		}
	}
	pub := &codec.Publish{Topic: "t", QoS: 1, PacketID: 1, Properties: p}
	if err := codec.Validate(pub, codec.V5, codec.SideClient); err != nil {
		t.Fatalf("PUBLISH with %s: %v", &p, err)
	}
	if len(p.User) != 2 {
		t.Fatalf("User Property replaced instead of added: %v", p.User)
	}
}

func TestPropertyByName(t *testing.T) {
	for name, want := range map[string]codec.PropID{
		"Content Type": codec.PropContentType, "content-type": codec.PropContentType, "CONTENT TYPE": codec.PropContentType,
		"user-property": codec.PropUserProperty, "subscription-identifier-available": codec.PropSubIDAvailable,
		"wildcard-subscription-available": codec.PropWildcardSubAvailable, "Maximum QoS": codec.PropMaximumQoS,
	} {
		if got, ok := codec.PropertyByName(name); !ok || got != want {
			t.Errorf("PropertyByName(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"", "content_type", "contenttype", "bogus"} {
		if got, ok := codec.PropertyByName(name); ok {
			t.Errorf("PropertyByName(%q) = %v, want not found", name, got)
		}
	}
	// Every defined property is found by its own name.
	for _, id := range codec.PropIDs() {
		if got, ok := codec.PropertyByName(id.String()); !ok || got != id {
			t.Errorf("PropertyByName(%q) = %v, %v", id.String(), got, ok)
		}
	}
}

func TestAllowedFrom(t *testing.T) {
	cases := []struct {
		id     codec.PropID
		t      codec.PacketType
		sender codec.Side
		want   bool
	}{
		{codec.PropSubscriptionID, codec.PUBLISH, codec.SideServer, true},
		{codec.PropSubscriptionID, codec.PUBLISH, codec.SideClient, false},
		{codec.PropSubscriptionID, codec.PUBLISH, codec.SideUnknown, true},
		{codec.PropSubscriptionID, codec.SUBSCRIBE, codec.SideClient, true},
		{codec.PropSessionExpiry, codec.DISCONNECT, codec.SideClient, true},
		{codec.PropSessionExpiry, codec.DISCONNECT, codec.SideServer, false},
		{codec.PropSessionExpiry, codec.CONNECT, codec.SideClient, true},
		{codec.PropWillDelay, codec.WillProperties, codec.SideClient, true},
		{codec.PropWillDelay, codec.PUBLISH, codec.SideClient, false},
		{codec.PropContentType, codec.CONNECT, codec.SideUnknown, false},
		{0x04, codec.PUBLISH, codec.SideUnknown, false},
	}
	for _, tc := range cases {
		if got := tc.id.AllowedFrom(tc.t, tc.sender); got != tc.want {
			t.Errorf("%v.AllowedFrom(%v, %d) = %v, want %v", tc.id, tc.t, tc.sender, got, tc.want)
		}
	}
}

func TestPropKind(t *testing.T) {
	for id, want := range map[codec.PropID]codec.PropKind{
		codec.PropPayloadFormat: codec.KindByte, codec.PropServerKeepAlive: codec.KindUint16,
		codec.PropWillDelay: codec.KindUint32, codec.PropSubscriptionID: codec.KindVarint,
		codec.PropServerReference: codec.KindString, codec.PropAuthData: codec.KindBinary,
		codec.PropUserProperty: codec.KindPair, 0x04: 0, 0xFF: 0,
	} {
		if got := id.Kind(); got != want {
			t.Errorf("%v.Kind() = %v, want %v", id, got, want)
		}
	}
	if s := codec.KindVarint.String(); s != "Variable Byte Integer" {
		t.Errorf("KindVarint.String() = %q", s)
	}
}
