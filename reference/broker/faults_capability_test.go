package broker_test

import (
	"maps"
	"testing"
)

// capabilityChecks are the scenarios of the faults in capabilityFaults (faults_capability.go); capabilityDependsOn
// adds to dependsOn for them.
var (
	capabilityChecks    = map[string]func(tb testing.TB, addr string){}
	capabilityDependsOn = map[string][]string{}
)

func init() {
	maps.Copy(faultChecks, capabilityChecks)
	maps.Copy(dependsOn, capabilityDependsOn)
}
