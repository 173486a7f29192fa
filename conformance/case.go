package conformance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance/spec"
)

// Role says which side a case tests.
type Role string

// Roles.
const (
	RoleBroker Role = "broker"
	RoleClient Role = "client"
)

// Versions is a set of protocol versions a case applies to.
type Versions uint8

// Version sets.
const (
	V311 Versions = 1 << iota
	V5
	V31
	// Both is 3.1.1 and 5.0, the common case.
	Both = V311 | V5
)

// Has reports whether the set contains v.
func (vs Versions) Has(v codec.Version) bool {
	switch v {
	case codec.V311:
		return vs&V311 != 0
	case codec.V5:
		return vs&V5 != 0
	case codec.V31:
		return vs&V31 != 0
	}
	return false
}

// List returns the versions in the set, oldest first.
func (vs Versions) List() []codec.Version {
	var out []codec.Version
	for _, v := range []codec.Version{codec.V31, codec.V311, codec.V5} {
		if vs.Has(v) {
			out = append(out, v)
		}
	}
	return out
}

// Level is the strength of what a case checks: a failed MUST fails, a failed SHOULD warns, a
// failed MAY is informational (reported as warn).
type Level = spec.Level

// Levels.
const (
	Must   = spec.Must
	Should = spec.Should
	May    = spec.May
)

// Feature is something a target may lack; a case that requires a missing feature is skipped.
type Feature string

// Features. Those marked (v5) are discovered from CONNACK properties; the others come from the
// target descriptor.
const (
	FeatureQoS1          Feature = "qos1"          // (v5 Maximum QoS)
	FeatureQoS2          Feature = "qos2"          // (v5 Maximum QoS)
	FeatureRetain        Feature = "retain"        // (v5 Retain Available)
	FeatureWildcard      Feature = "wildcard-subs" // (v5 Wildcard Subscription Available)
	FeatureSubID         Feature = "subscription-ids"
	FeatureShared        Feature = "shared-subs"
	FeatureTopicAlias    Feature = "topic-alias" // server accepts topic aliases (Topic Alias Maximum > 0)
	FeatureEnhancedAuth  Feature = "enhanced-auth"
	FeatureCredentials   Feature = "credentials"  // the descriptor gives a valid and an invalid user
	FeatureDeniedTopic   Feature = "denied-topic" // the descriptor names a topic the ACL denies
	FeatureRestart       Feature = "restart"      // the broker can be restarted by the runner
	FeatureAnonymous     Feature = "anonymous"    // connects without credentials
	FeatureEmptyClientID Feature = "empty-client-id"
	FeatureWebSocket     Feature = "websocket" // the target has a ws:// or wss:// URL
)

// Case is one conformance check: one observable claim about a target.
type Case struct {
	ID    string // stable, "section/short-name": "3.1/second-connect-closes"
	Title string // one line: what the target must do
	// Statements are the normative statement IDs checked (spec registry IDs). Many IDs exist in
	// both versions with different meanings; qualify such an ID with its version ("3.1.1:MQTT-3.1.2-24",
	// "5.0:MQTT-3.1.2-22") so that it is claimed only on that version. An unqualified ID is
	// claimed on every version the case runs on where the registry has it.
	Statements []string
	Versions   Versions // protocol versions the case runs on
	Level      Level    // MUST, SHOULD or MAY
	Role       Role     // broker or client (set by the catalog registration)
	Requires   []Feature
	// Timeout overrides the hard deadline of the whole case (default: Runner.CaseTimeout).
	Timeout time.Duration
	Run     func(t *T)
	// Source is where the case is registered, "file:line" relative to the repository root
	// ("conformance/catalog/broker/3_1_connect.go:42"); the catalog records it at registration.
	Source string
}

// Section is the part of the ID before the first slash ("3.1" for "3.1/second-connect").
func (c *Case) Section() string {
	s, _, _ := strings.Cut(c.ID, "/")
	return s
}

// Validate checks a case definition: ID shape, statements known to the registry for every
// version the case runs on, a Run function.
func (c *Case) Validate() error {
	if c.ID == "" || !strings.Contains(c.ID, "/") {
		return fmt.Errorf("case %q: ID must be section/short-name", c.ID)
	}
	if c.Title == "" {
		return fmt.Errorf("case %s: no title", c.ID)
	}
	if c.Run == nil {
		return fmt.Errorf("case %s: no Run", c.ID)
	}
	if c.Versions == 0 {
		return fmt.Errorf("case %s: no versions", c.ID)
	}
	if c.Level == 0 {
		return fmt.Errorf("case %s: no level", c.ID)
	}
	if len(c.Statements) == 0 {
		return fmt.Errorf("case %s: cites no statement", c.ID)
	}
	for _, v := range c.Versions.List() {
		if v == codec.V31 {
			continue // 3.1 numbers no statements; cases cite 3.1.1's
		}
		if len(c.StatementsFor(v)) == 0 {
			return fmt.Errorf("case %s: none of %v is a %s statement", c.ID, c.Statements, v)
		}
	}
	for _, id := range c.Statements {
		if ver, bare, ok := splitQualified(id); ok {
			if !spec.Exists(ver, bare) {
				return fmt.Errorf("case %s: %s is not a %s statement", c.ID, bare, ver)
			}
			if ver == spec.V311 && !c.Versions.Has(codec.V311) || ver == spec.V5 && !c.Versions.Has(codec.V5) {
				return fmt.Errorf("case %s: cites %s but does not run on %s", c.ID, id, ver)
			}
		}
	}
	return nil
}

// splitQualified splits "5.0:MQTT-x" into its version and ID.
func splitQualified(id string) (version, bare string, ok bool) {
	for _, v := range []string{spec.V311, spec.V5} {
		if rest, found := strings.CutPrefix(id, v+":"); found {
			return v, rest, true
		}
	}
	return "", id, false
}

// StatementsFor returns the statements of the case that exist in version v.
func (c *Case) StatementsFor(v codec.Version) []string {
	var out []string
	sv := specVersion(v)
	for _, id := range c.Statements {
		ver, bare, qualified := splitQualified(id)
		if qualified && ver != sv {
			continue
		}
		if spec.Exists(sv, bare) && !slices.Contains(out, bare) {
			out = append(out, bare)
		}
	}
	return out
}

// Cites reports whether the case claims statement id on any version it runs on.
func (c *Case) Cites(id string) bool {
	for _, v := range c.Versions.List() {
		if slices.Contains(c.StatementsFor(v), id) {
			return true
		}
	}
	return false
}

func specVersion(v codec.Version) string {
	if v == codec.V5 {
		return spec.V5
	}
	return spec.V311
}
