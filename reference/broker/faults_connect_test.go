package broker_test

import (
	"maps"
	"testing"
)

// connectChecks are the scenarios of the faults in connectFaults (faults_connect.go); connectDependsOn
// adds to dependsOn for them.
var (
	connectChecks    = map[string]func(tb testing.TB, addr string){}
	connectDependsOn = map[string][]string{}
)

func init() {
	maps.Copy(faultChecks, connectChecks)
	maps.Copy(dependsOn, connectDependsOn)
}
