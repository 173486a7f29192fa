package codec_test

import (
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// TestMatchTopic uses the examples of 3.1.1 / 5.0 section 4.7.
func TestMatchTopic(t *testing.T) {
	tests := []struct {
		filter, name string
		want         bool
	}{
		{"sport/tennis/player1/#", "sport/tennis/player1", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
		{"sport/#", "sport", true},
		{"#", "sport/tennis", true},
		{"sport/tennis/+", "sport/tennis/player1", true},
		{"sport/tennis/+", "sport/tennis/player1/ranking", false},
		{"sport/+", "sport", false},
		{"sport/+", "sport/", true},
		{"+/+", "/finance", true},
		{"/+", "/finance", true},
		{"+", "/finance", false},
		{"+/tennis/#", "sport/tennis", true},
		{"a/b", "a/b/", false},
		{"a/b/", "a/b", false},
		{"A/b", "a/b", false},
		{"#", "$SYS/monitor/Clients", false},
		{"+/monitor/Clients", "$SYS/monitor/Clients", false},
		{"$SYS/#", "$SYS/monitor/Clients", true},
		{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
	}
	for _, tt := range tests {
		if got := codec.MatchTopic(tt.filter, tt.name); got != tt.want {
			t.Errorf("MatchTopic(%q, %q) = %t, want %t", tt.filter, tt.name, got, tt.want)
		}
	}
}

func TestTopicValidity(t *testing.T) {
	names := map[string]bool{"a/b": true, "/": true, "\uFEFF": true, "": false, "a/+": false, "#": false,
		"a\x00": false, "\xed\xa0\x80": false, string(make([]byte, 65536)): false}
	for s, want := range names {
		if got := codec.ValidTopicName(s); got != want {
			t.Errorf("ValidTopicName(%.20q) = %t", s, got)
		}
	}
	filters := []struct {
		f      string
		v      codec.Version
		want   bool
		group  string
		filter string
	}{
		{"a/+/#", codec.V311, true, "", ""},
		{"#", codec.V5, true, "", ""},
		{"a/#/b", codec.V5, false, "", ""},
		{"a+", codec.V311, false, "", ""},
		{"", codec.V311, false, "", ""},
		{"$share/g/a/#", codec.V5, true, "g", "a/#"},
		{"$share/g", codec.V5, false, "", ""},
		{"$share/g", codec.V311, true, "", ""},
		{"$share//a", codec.V5, false, "", ""},
	}
	for _, tt := range filters {
		if got := codec.ValidTopicFilter(tt.f, tt.v); got != tt.want {
			t.Errorf("ValidTopicFilter(%q, %v) = %t", tt.f, tt.v, got)
		}
		g, f, ok := codec.SharedFilter(tt.f)
		if ok != (tt.group != "") || g != tt.group || (ok && f != tt.filter) {
			t.Errorf("SharedFilter(%q) = %q %q %t", tt.f, g, f, ok)
		}
	}
}

func TestVersionsAndNames(t *testing.T) {
	for in, want := range map[string]codec.Version{"3.1": codec.V31, "3": codec.V31, "3.1.1": codec.V311, "4": codec.V311, "5": codec.V5, "5.0": codec.V5} {
		if v, err := codec.ParseVersion(in); err != nil || v != want {
			t.Errorf("ParseVersion(%q) = %v, %v", in, v, err)
		}
	}
	if _, err := codec.ParseVersion("6"); err == nil {
		t.Error("ParseVersion(6) accepted")
	}
	if codec.V311.String() != "3.1.1" || codec.Version(9).String() != "level-9" || codec.PUBREL.String() != "PUBREL" {
		t.Error("String of version or packet type")
	}
	if codec.PropTopicAlias.String() != "Topic Alias" || codec.PropID(0x04).String() != "property 0x04" {
		t.Error("PropID.String")
	}
	if !codec.PropWillDelay.AllowedIn(0) || codec.PropWillDelay.AllowedIn(codec.CONNECT) || !codec.PropUserProperty.AllowedIn(codec.AUTH) {
		t.Error("AllowedIn")
	}
	if !codec.ValidUTF8("ok ✓") || codec.ValidUTF8("\xc0\x80") || codec.ValidUTF8("a\x00") {
		t.Error("ValidUTF8")
	}
	var p codec.Properties
	p.SetTopicAlias(3).AddUser("k", "v").SubscriptionIDs = []uint32{1}
	p.Set(codec.PropUserProperty) // no effect: presence follows the slice
	p.Clear(codec.PropTopicAlias)
	p.Clear(codec.PropUserProperty)
	p.Clear(codec.PropSubscriptionID)
	if !p.Empty() || p.Has(codec.PropTopicAlias) || len(p.IDs()) != 0 {
		t.Errorf("after Clear: %v", p.IDs())
	}
}
