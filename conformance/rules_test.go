package conformance

import (
	"testing"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance/spec"
)

// TestCodecRulesCiteRegisteredStatements cross-checks the codec's rule table with the statement
// registry: every statement a decode error can cite must exist in its version.
func TestCodecRulesCiteRegisteredStatements(t *testing.T) {
	for _, r := range codec.Rules() {
		if r.V311 != "" && !spec.Exists(spec.V311, r.V311) {
			t.Errorf("rule %s cites %s, which is not a 3.1.1 statement", r.Name, r.V311)
		}
		if r.V5 != "" && !spec.Exists(spec.V5, r.V5) {
			t.Errorf("rule %s cites %s, which is not a 5.0 statement", r.Name, r.V5)
		}
	}
}
