package broker_test

import (
	"maps"
	"testing"
)

// sessionChecks are the scenarios of the faults in sessionFaults (faults_session.go); sessionDependsOn
// adds to dependsOn for them.
var (
	sessionChecks    = map[string]func(tb testing.TB, addr string){}
	sessionDependsOn = map[string][]string{}
)

func init() {
	maps.Copy(faultChecks, sessionChecks)
	maps.Copy(dependsOn, sessionDependsOn)
}
