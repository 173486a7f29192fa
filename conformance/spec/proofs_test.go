package spec

import (
	"slices"
	"strings"
	"testing"
)

func TestProofBreaks(t *testing.T) {
	p := Proof{Fault: "f", Statements: []string{"MQTT-3.1.0-2", "3.1.1:MQTT-3.2.2-2", "5.0:MQTT-3.2.2-3", "§4.7"}}
	tests := []struct {
		version, id string
		want        bool
	}{
		{V5, "MQTT-3.1.0-2", true},          // a bare ID is 5.0
		{V311, "MQTT-3.1.0-2", false},       // … and only 5.0
		{V311, "MQTT-3.2.2-2", true},        // marked 3.1.1
		{V5, "MQTT-3.2.2-2", false},         // … and only 3.1.1
		{V5, "MQTT-3.2.2-3", true},          // marked 5.0
		{V5, "§4.7", true},                  // a section reference matches only itself,
		{V5, "MQTT-4.7.1-1", false},         // never a statement of the section
		{V5, "MQTT-9.9.9-9", false},         // not listed
		{V311, "3.1.1:MQTT-3.2.2-2", false}, // the caller passes bare IDs
	}
	for _, tt := range tests {
		if got := p.Breaks(tt.version, tt.id); got != tt.want {
			t.Errorf("Breaks(%s, %s) = %v, want %v", tt.version, tt.id, got, tt.want)
		}
	}
}

func TestProofCasesOnAndProves(t *testing.T) {
	p := Proof{Fault: "f", Statements: []string{"MQTT-3.1.0-2", "3.1.1:MQTT-3.1.0-2"},
		Cases: []string{"3.1/a", "3.1/b@5.0", "3.1/c@3.1.1", "3.1/a@5.0"}}
	if got, want := p.CasesOn(V5), []string{"3.1/a", "3.1/b"}; !slices.Equal(got, want) {
		t.Errorf("CasesOn(5.0) = %v, want %v", got, want)
	}
	if got, want := p.CasesOn(V311), []string{"3.1/a", "3.1/c"}; !slices.Equal(got, want) {
		t.Errorf("CasesOn(3.1.1) = %v, want %v", got, want)
	}
	only := func(id string) func(string) bool { return func(c string) bool { return c == id } }
	tests := []struct {
		version, id string
		cites       func(string) bool
		want        bool
	}{
		{V5, "MQTT-3.1.0-2", only("3.1/b"), true},    // b is mapped on 5.0
		{V311, "MQTT-3.1.0-2", only("3.1/b"), false}, // … not on 3.1.1
		{V311, "MQTT-3.1.0-2", only("3.1/c"), true},
		{V5, "MQTT-3.1.0-2", only("3.1/z"), false}, // no mapped case cites it
		{V5, "MQTT-3.1.0-3", only("3.1/a"), false}, // the fault does not break it
	}
	for _, tt := range tests {
		if got := p.Proves(tt.version, tt.id, tt.cites); got != tt.want {
			t.Errorf("Proves(%s, %s) = %v, want %v", tt.version, tt.id, got, tt.want)
		}
	}
}

// TestUnprovableEntries keeps the reasons table honest: each entry names a statement that exists,
// is wire-testable (otherwise WhyNot says why) and binds the side given, once.
func TestUnprovableEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range noProof {
		key := n.version + " " + n.id + " " + n.side.String()
		if seen[key] {
			t.Errorf("%s listed twice", key)
		}
		seen[key] = true
		s, ok := Lookup(n.version, n.id)
		switch {
		case !ok:
			t.Errorf("%s: no such statement", key)
		case !s.Testable:
			t.Errorf("%s: not testable, its WhyNot already says why", key)
		case s.Role != Both && s.Role != n.side:
			t.Errorf("%s: the statement binds the %s", key, s.Role)
		case strings.TrimSpace(n.why) == "":
			t.Errorf("%s: empty reason", key)
		}
		if why, ok := Unprovable(n.version, n.id, n.side); !ok || why != n.why {
			t.Errorf("Unprovable(%s) = %q, %v", key, why, ok)
		}
	}
	if _, ok := Unprovable(V5, "MQTT-3.1.0-2", Server); ok {
		t.Error("Unprovable gives a reason for a statement the table does not list")
	}
}
