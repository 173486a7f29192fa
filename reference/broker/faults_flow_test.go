package broker_test

import (
	"maps"
	"testing"
)

// flowChecks are the scenarios of the faults in flowFaults (faults_flow.go); flowDependsOn
// adds to dependsOn for them.
var (
	flowChecks    = map[string]func(tb testing.TB, addr string){}
	flowDependsOn = map[string][]string{}
)

func init() {
	maps.Copy(faultChecks, flowChecks)
	maps.Copy(dependsOn, flowDependsOn)
}
