package conformance

import "testing"

// TestLowerDisabledFeatures checks that a disabled feature lowers the value cases read, and that
// LoweredByDescriptor says so only when a v5 CONNACK announced more.
func TestLowerDisabledFeatures(t *testing.T) {
	full := func() *Capabilities {
		return &Capabilities{MaximumQoS: 2, RetainAvailable: true, WildcardAvailable: true, SubIDAvailable: true,
			SharedAvailable: true, TopicAliasMaximum: 10, Missing: map[Feature]string{}}
	}
	tests := []struct {
		name      string
		disable   Feature
		announced bool
		check     func(c *Capabilities) bool
		lowered   []Feature
	}{
		{"qos2", FeatureQoS2, true, func(c *Capabilities) bool { return c.MaximumQoS == 1 }, []Feature{FeatureQoS2}},
		{"qos1", FeatureQoS1, true, func(c *Capabilities) bool { return c.MaximumQoS == 0 && !c.Has(FeatureQoS2) }, []Feature{FeatureQoS1, FeatureQoS2}},
		{"retain", FeatureRetain, true, func(c *Capabilities) bool { return !c.RetainAvailable }, []Feature{FeatureRetain}},
		{"wildcards", FeatureWildcard, true, func(c *Capabilities) bool { return !c.WildcardAvailable }, []Feature{FeatureWildcard}},
		{"subscription ids", FeatureSubID, true, func(c *Capabilities) bool { return !c.SubIDAvailable }, []Feature{FeatureSubID}},
		{"shared", FeatureShared, true, func(c *Capabilities) bool { return !c.SharedAvailable }, []Feature{FeatureShared}},
		{"topic alias", FeatureTopicAlias, true, func(c *Capabilities) bool { return c.TopicAliasMaximum == 0 }, []Feature{FeatureTopicAlias}},
		{"3.1.1 only: lowered, not contradicted", FeatureQoS2, false, func(c *Capabilities) bool { return c.MaximumQoS == 1 }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := full()
			c.lower([]Feature{tc.disable}, tc.announced)
			if !tc.check(c) {
				t.Errorf("values not lowered: %+v", c)
			}
			for _, f := range []Feature{FeatureQoS1, FeatureQoS2, FeatureRetain, FeatureWildcard, FeatureSubID, FeatureShared, FeatureTopicAlias} {
				want := false
				for _, l := range tc.lowered {
					want = want || l == f
				}
				if got := c.LoweredByDescriptor(f); got != want {
					t.Errorf("LoweredByDescriptor(%s) = %t, want %t", f, got, want)
				}
			}
		})
	}
	// A feature the CONNACK already announced as missing is not "lowered by the descriptor".
	c := full()
	c.RetainAvailable = false
	c.lower([]Feature{FeatureRetain}, true)
	if c.LoweredByDescriptor(FeatureRetain) {
		t.Errorf("retain announced unavailable and disabled: LoweredByDescriptor is true")
	}
}
