package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestActionYAML checks the composite action at the repository root: it parses, every step
// either uses an action or runs a shell, and every mqttspec invocation in it names an existing
// subcommand and existing flags. The action cannot run here (no GitHub), so this is what can be
// checked.
func TestActionYAML(t *testing.T) {
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Name   string
		Inputs map[string]struct {
			Description string
			Default     string
		}
		Runs struct {
			Using string
			Steps []struct {
				Name  string
				Uses  string
				Run   string
				Shell string
				With  map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("action.yml does not parse: %v", err)
	}
	if action.Runs.Using != "composite" || len(action.Runs.Steps) == 0 {
		t.Fatalf("want a composite action with steps, got %q with %d steps", action.Runs.Using, len(action.Runs.Steps))
	}
	for name, in := range action.Inputs {
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
	}
	inputRef := regexp.MustCompile(`inputs\.([a-z-]+)`)
	invocation := regexp.MustCompile(`mqttspec "\$\{args\[@\]\}"|mqttspec ([a-z]+(?: [a-z]+)?)`)
	for _, m := range inputRef.FindAllStringSubmatch(string(data), -1) {
		if _, ok := action.Inputs[m[1]]; !ok {
			t.Errorf("action refers to undefined input %q", m[1])
		}
	}
	ran := 0
	for _, s := range action.Runs.Steps {
		if (s.Uses == "") == (s.Run == "") {
			t.Errorf("step %q must have exactly one of uses and run", s.Name)
		}
		if s.Run != "" && s.Shell == "" {
			t.Errorf("step %q runs a script without a shell (composite actions need one)", s.Name)
		}
		if !strings.Contains(s.Run, "mqttspec") {
			continue
		}
		for _, m := range invocation.FindAllStringSubmatch(s.Run, -1) {
			if m[1] == "" {
				continue // the args array, checked below
			}
			if m[1] == "test broker" || strings.HasPrefix(m[1], "report") {
				ran++
			}
		}
		if strings.Contains(s.Run, "args=(test broker") {
			ran++
			cmd, rest, err := rootCmd.Find([]string{"test", "broker"})
			if err != nil || cmd.Name() != "broker" || len(rest) != 0 {
				t.Fatalf("the action runs 'mqttspec test broker', which does not exist: %v", err)
			}
			for _, flag := range regexp.MustCompile(`--([a-z-]+)`).FindAllStringSubmatch(s.Run, -1) {
				if cmd.Flags().Lookup(flag[1]) == nil {
					t.Errorf("the action passes --%s, which 'mqttspec test broker' does not have", flag[1])
				}
			}
		}
	}
	if ran == 0 {
		t.Fatal("the action never runs mqttspec test broker")
	}
	if !strings.Contains(string(data), "go install github.com/mqttspec/mqttspec/cmd/mqttspec@") {
		t.Error("the action does not build mqttspec from source with go install")
	}
}
