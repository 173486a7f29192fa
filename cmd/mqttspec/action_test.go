package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
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

// actionDef is action.yml as the local runner reads it.
type actionDef struct {
	Inputs map[string]struct {
		Description string
		Default     string
	}
	Outputs map[string]struct{ Value string }
	Runs    struct {
		Using string
		Steps []actionStep
	}
}

type actionStep struct {
	Name, ID, If, Uses, Run, Shell string
	With, Env                      map[string]string
}

// actionJob is what the steps of one GitHub Actions job share: the runner's temp directory, the
// workspace, the job summary, the job id and runner name.
type actionJob struct {
	job, runnerName       string
	temp, workspace, path string
	summary               string
}

// actionRun is one invocation of the action: its inputs, its steps' outputs, what it uploaded.
type actionRun struct {
	inputs    map[string]string
	outputs   map[string]map[string]string
	failed    bool   // a step failed (later steps run only under always())
	failure   string // which step, and its output
	artifacts []struct{ name, path string }
}

var actionExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// eval evaluates the expressions the action uses; any other is a test failure, so that a new
// expression in action.yml gets a meaning here too.
func (r *actionRun) eval(t *testing.T, expr string) string {
	t.Helper()
	switch {
	case strings.HasPrefix(expr, "inputs."):
		v, ok := r.inputs[strings.TrimPrefix(expr, "inputs.")]
		if !ok {
			t.Fatalf("expression %q: no such input", expr)
		}
		return v
	case strings.HasPrefix(expr, "steps."):
		parts := strings.Split(expr, ".") // steps.ID.outputs.NAME
		if len(parts) != 4 || parts[2] != "outputs" {
			t.Fatalf("expression %q", expr)
		}
		return r.outputs[parts[1]][parts[3]]
	}
	switch expr {
	case "github.token", "github.event.pull_request.number":
		return ""
	case "github.event_name":
		return "push"
	}
	t.Fatalf("action.yml uses the expression %q, which the local runner does not know", expr)
	return ""
}

func (r *actionRun) expand(t *testing.T, s string) string {
	return actionExpr.ReplaceAllStringFunc(s, func(m string) string {
		return r.eval(t, actionExpr.FindStringSubmatch(m)[1])
	})
}

// cond evaluates a step's if: empty means success(); otherwise always(), and comparisons of an
// expression with a quoted string joined by &&.
func (r *actionRun) cond(t *testing.T, s string) bool {
	s = strings.TrimSpace(s)
	if m := actionExpr.FindStringSubmatch(s); m != nil && m[0] == s {
		s = m[1]
	}
	if s == "" {
		return !r.failed
	}
	ok, always := true, false
	for _, part := range strings.Split(s, "&&") {
		part = strings.TrimSpace(part)
		if part == "always()" {
			always = true
			continue
		}
		op := "=="
		if strings.Contains(part, "!=") {
			op = "!="
		}
		lhs, rhs, found := strings.Cut(part, op)
		if !found {
			t.Fatalf("if: %q: cannot evaluate %q", s, part)
		}
		v := r.eval(t, strings.TrimSpace(lhs))
		want := strings.Trim(strings.TrimSpace(rhs), "'")
		if (v == want) != (op == "==") {
			ok = false
		}
	}
	return ok && (always || !r.failed)
}

// runAction executes the action's steps as a runner would: bash steps with their env and the
// GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and RUNNER_TEMP files, outputs read back for later
// expressions, if: conditions honoured. Two steps cannot run here and are stood in for: setup-go
// (Go is already installed) and the go install of mqttspec, which needs the network, replaced by
// the binary built from this tree; upload-artifact is recorded (name, path) and its path
// checked.
func runAction(t *testing.T, def *actionDef, job *actionJob, with map[string]string) *actionRun {
	t.Helper()
	r := &actionRun{inputs: map[string]string{}, outputs: map[string]map[string]string{}}
	for name, in := range def.Inputs {
		r.inputs[name] = in.Default
	}
	for k, v := range with {
		if _, ok := def.Inputs[k]; !ok {
			t.Fatalf("the workflow passes %q, which the action does not take", k)
		}
		r.inputs[k] = v
	}
	for i, st := range def.Runs.Steps {
		if !r.cond(t, st.If) {
			continue
		}
		switch {
		case strings.HasPrefix(st.Uses, "actions/setup-go@"):
			if got := r.expand(t, st.With["go-version"]); got != r.inputs["go-version"] {
				t.Errorf("setup-go gets go-version %q", got)
			}
			continue
		case strings.HasPrefix(st.Uses, "actions/upload-artifact@"):
			name, path := r.expand(t, st.With["name"]), r.expand(t, st.With["path"])
			// A run that could not start writes no report (upload-artifact then warns).
			if code := r.outputs["run"]["exit-code"]; code == "0" || code == "1" {
				if _, err := os.Stat(filepath.Join(job.workspace, path, "results.json")); err != nil {
					t.Errorf("artifact %q: path %q holds no results.json: %v", name, path, err)
				}
			}
			r.artifacts = append(r.artifacts, struct{ name, path string }{name, path})
			continue
		case st.Uses != "":
			t.Fatalf("step %q uses %s, which the local runner does not stand in for", st.Name, st.Uses)
		}
		script := r.expand(t, st.Run)
		if st.Name == "Install mqttspec" {
			if want := "go install github.com/mqttspec/mqttspec/cmd/mqttspec@" + r.inputs["mqttspec-ref"]; strings.TrimSpace(script) != want {
				t.Errorf("install step runs %q, want %q", script, want)
			}
			continue // job.path holds the binary built from this tree
		}
		if st.Shell != "bash" {
			t.Fatalf("step %q: shell %q", st.Name, st.Shell)
		}
		out := filepath.Join(job.temp, fmt.Sprintf("output-%d-%d", len(r.outputs), i))
		if err := os.WriteFile(out, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
		cmd.Dir = job.workspace
		cmd.Env = append(os.Environ(), "PATH="+job.path, "RUNNER_TEMP="+job.temp, "GITHUB_OUTPUT="+out,
			"GITHUB_STEP_SUMMARY="+job.summary, "GITHUB_JOB="+job.job, "RUNNER_OS=Linux", "RUNNER_ARCH=X64", "RUNNER_NAME="+job.runnerName)
		for k, v := range st.Env {
			cmd.Env = append(cmd.Env, k+"="+r.expand(t, v))
		}
		combined, err := cmd.CombinedOutput()
		b, _ := os.ReadFile(out)
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && st.ID != "" {
				if r.outputs[st.ID] == nil {
					r.outputs[st.ID] = map[string]string{}
				}
				r.outputs[st.ID][k] = v
			}
		}
		if err != nil {
			r.failed = true
			r.failure = fmt.Sprintf("step %q: %v\n%s", st.Name, err, combined)
		}
	}
	return r
}

// TestActionRuns runs action.yml's steps locally, with the inputs workflows pass: a job that
// starts its broker with broker-command and runs a section of the catalog, a second invocation
// in the same job against the running broker, a matrix leg (another runner, same job id), and a
// job whose broker is unreachable. Each uploads its report under a name no other uses.
func TestActionRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the action's steps")
	}
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var def actionDef
	if err := yaml.Unmarshal(data, &def); err != nil {
		t.Fatal(err)
	}
	bin := mqttspecBinary(t)
	newJob := func(runner string) *actionJob {
		j := &actionJob{job: "conformance", runnerName: runner, temp: t.TempDir(), workspace: t.TempDir(),
			path: filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")}
		j.summary = filepath.Join(j.temp, "step-summary.md")
		return j
	}
	port := freePort(t)
	target := "tcp://127.0.0.1:" + port
	jobA := newJob("GitHub Actions 1")
	defer func() {
		// The broker the first invocation started (its command wrote its PID).
		if b, err := os.ReadFile(filepath.Join(jobA.temp, "broker.pid")); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	}()
	brokerCmd := `echo $$ > "$RUNNER_TEMP/broker.pid"; exec mqttspec broker --listen ` + target
	names := map[string]string{}
	check := func(label string, r *actionRun, wantCode string) {
		t.Helper()
		if got := r.outputs["run"]["exit-code"]; got != wantCode {
			t.Errorf("%s: exit-code %q, want %q (%s)", label, got, wantCode, r.failure)
		}
		if (wantCode != "0") != r.failed {
			t.Errorf("%s: job failed %v, want %v: %s", label, r.failed, wantCode != "0", r.failure)
		}
		if len(r.artifacts) != 1 {
			t.Fatalf("%s: %d artifacts uploaded, want 1", label, len(r.artifacts))
		}
		name := r.artifacts[0].name
		if name == "" || r.outputs["artifact"]["name"] != name {
			t.Errorf("%s: artifact name %q, output %q", label, name, r.outputs["artifact"]["name"])
		}
		if other, dup := names[name]; dup {
			t.Errorf("%s: artifact name %q already used by %s: upload-artifact@v4 would fail", label, name, other)
		}
		names[name] = label
	}
	r := runAction(t, &def, jobA, map[string]string{"broker-command": brokerCmd, "target": target, "extra-args": "--case 3.14/"})
	check("first invocation", r, "0")
	if b, err := os.ReadFile(jobA.summary); err != nil || !strings.Contains(string(b), "all MUST cases pass") {
		t.Errorf("job summary (%v):\n%s", err, b)
	}
	r = runAction(t, &def, jobA, map[string]string{"target": target, "version": "5", "report-dir": "report-v5", "extra-args": "--case 3.14/"})
	check("second invocation in the job", r, "0")
	r = runAction(t, &def, newJob("GitHub Actions 2"), map[string]string{"target": target, "extra-args": "--case 3.14/"})
	check("matrix leg", r, "0")
	r = runAction(t, &def, newJob("GitHub Actions 3"), map[string]string{"target": "tcp://127.0.0.1:" + freePort(t), "extra-args": "--case 3.14/", "artifact-name": "my-report"})
	check("unreachable broker", r, "2")
	if _, ok := names["my-report"]; !ok {
		t.Errorf("artifact-name input not used: %v", names)
	}
}
