package drivers

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "mosquitto_pub -t {topic}", want: []string{"mosquitto_pub", "-t", "{topic}"}},
		{in: `a 'b c' "d \"e\" f" g\ h`, want: []string{"a", "b c", `d "e" f`, "g h"}},
		{in: `x '' ""`, want: []string{"x", "", ""}},
		{in: "  lead  trail  ", want: []string{"lead", "trail"}},
		{in: "a 'open", err: true},
		{in: `a "open`, err: true},
		{in: `a \`, err: true},
	} {
		got, err := splitWords(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestExpandKeepsValuesWhole(t *testing.T) {
	vals := map[string]string{"topic": "a b;rm -rf /", "qos": "1"}
	if got := expand("--topic={topic}", vals); got != "--topic=a b;rm -rf /" {
		t.Errorf("expand: %q", got)
	}
	if got := expand("{unknown}-{qos}", vals); got != "{unknown}-1" {
		t.Errorf("unknown placeholders stay: %q", got)
	}
}

func TestCommandCheckAndSupports(t *testing.T) {
	if err := (&Command{Default: "prog {nope}"}).Check(); err == nil || !strings.Contains(err.Error(), "{nope}") {
		t.Errorf("unknown placeholder: %v", err)
	}
	if err := (&Command{}).Check(); err == nil {
		t.Error("no template accepted")
	}
	c := &Command{Templates: map[conformance.Op]string{conformance.OpPublish: "pub -h {host} -p {port} -V {version} -t {topic} -q {qos} -m {message}"}}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	base := conformance.Action{Op: conformance.OpPublish, Version: codec.V5, Topic: "t", CleanStart: true}
	for _, tc := range []struct {
		name string
		mod  func(a *conformance.Action)
		want bool
	}{
		{"plain", func(*conformance.Action) {}, true},
		{"no subscribe template", func(a *conformance.Action) { a.Op = conformance.OpSubscribe }, false},
		{"keep alive needs {keepalive}", func(a *conformance.Action) { a.KeepAlive = 1 }, false},
		{"persistent session needs {clean}", func(a *conformance.Action) { a.CleanStart = false }, false},
		{"several messages need {count}", func(a *conformance.Action) { a.Count = 3 }, false},
		{"reconnect needs {reconnect}", func(a *conformance.Action) { a.Reconnect = true }, false},
		{"NUL cannot be an argument", func(a *conformance.Action) { a.Topic = "a\x00" }, false},
	} {
		a := base
		tc.mod(&a)
		if got := c.Supports(a); got != tc.want {
			t.Errorf("%s: Supports = %v, want %v (%s)", tc.name, got, tc.want, c.why(a))
		}
	}
}

// TestCommandRuns runs a template through the shell-free path: each placeholder becomes one
// argument, whatever it contains.
func TestCommandRuns(t *testing.T) {
	if _, err := exec.LookPath("printf"); err != nil {
		t.Skip("printf not found")
	}
	c := &Command{Default: "printf %s|%s|%s {topic} {qos} {version}"}
	a := conformance.Action{Op: conformance.OpPublish, Version: codec.V311, Topic: "a b $(x)", QoS: 2, CleanStart: true, Host: "127.0.0.1", Port: 1}
	p, err := c.Start(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.Output(); got != "a b $(x)|2|3.1.1" {
		t.Errorf("output %q", got)
	}
}

func TestMosquittoCommand(t *testing.T) {
	m := &Mosquitto{}
	a := conformance.Action{Op: conformance.OpPublish, Version: codec.V5, Host: "127.0.0.1", Port: 1884, ClientID: "c1",
		Topic: "a/b", QoS: 1, Message: []byte("hi"), Count: 3, KeepAlive: 5}
	argv, stdin, _ := m.command(a)
	line := strings.Join(argv, " ")
	for _, want := range []string{"mosquitto_pub", "-V mqttv5", "-i c1", "-k 5", "-t a/b", "-q 1", "-c", "-x 300", "-s", "--repeat 3"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	if string(stdin) != "hi" {
		t.Errorf("stdin %q", stdin)
	}
	for _, tc := range []struct {
		name string
		a    conformance.Action
		want bool
	}{
		{"keep alive 1", conformance.Action{Op: conformance.OpConnect, Version: codec.V311, KeepAlive: 1}, false},
		{"keep alive 5", conformance.Action{Op: conformance.OpConnect, Version: codec.V311, KeepAlive: 5}, true},
		{"publisher reconnect", conformance.Action{Op: conformance.OpPublish, Version: codec.V311, Reconnect: true}, false},
		{"subscriber reconnect", conformance.Action{Op: conformance.OpSubscribe, Version: codec.V311, Reconnect: true}, true},
	} {
		if got := m.Supports(tc.a); got != tc.want {
			t.Errorf("%s: Supports = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHelperArgs(t *testing.T) {
	var props codec.Properties
	props.SetMessageExpiry(7).AddUser("k", "v")
	a := conformance.Action{Op: conformance.OpSubscribe, Version: codec.V5, Host: "::1", Port: 9, ClientID: "id", Topic: "t/\x00", QoS: 2}
	e := Extra{NoClientID: true, Username: "u", Password: []byte{}, Will: &Will{Topic: "w", QoS: 1}, PublishProps: &props, TopicAliasMaximum: 4}
	args := helperArgs(a, e)
	for _, want := range []string{"--op=subscribe", "--id=", "--topic-hex=742f00", "--qos=2", "--clean=false", "--session-expiry=300",
		"--username-hex=75", "--password-hex=", "--will-topic-hex=77", "--will-qos=1", "--topic-alias-max=4", "--message-expiry=7", "--user-hex=6b:76"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if !helperProps(&props) {
		t.Error("expiry and user properties are supported")
	}
	var alias codec.Properties
	alias.SetTopicAlias(1)
	if helperProps(&alias) {
		t.Error("a Topic Alias in the action's properties is not supported")
	}
}

func TestExtraIsPerAction(t *testing.T) {
	a := conformance.Action{ClientID: "x1"}
	if e := ExtraFor(a); e.Will != nil || e.NoClientID {
		t.Fatalf("no extra attached: %+v", e)
	}
	extraMu.Lock()
	extras["x1"] = Extra{NoClientID: true}
	extraMu.Unlock()
	defer func() {
		extraMu.Lock()
		delete(extras, "x1")
		extraMu.Unlock()
	}()
	if e := ExtraFor(a); !e.NoClientID || clientID(a, e) != "" {
		t.Errorf("extra not found: %+v", e)
	}
	if sessionExpiry(conformance.Action{CleanStart: true}, Extra{}) != 0 || sessionExpiry(conformance.Action{}, Extra{}) != DefaultSessionExpiry {
		t.Error("session expiry defaults")
	}
}

func TestByName(t *testing.T) {
	if _, _, err := ByName(context.Background(), "nope", Config{}); err == nil {
		t.Error("unknown driver accepted")
	}
	if _, _, err := ByName(context.Background(), "cmd", Config{}); err == nil {
		t.Error("cmd without template accepted")
	}
	d, release, err := ByName(context.Background(), "reference", Config{})
	if err != nil || d.Name() != "reference" {
		t.Fatal(d, err)
	}
	release()
}

func TestProcessStopEndsTheGroup(t *testing.T) {
	p, err := startProcess([]string{"sh", "-c", "sleep 30 & sleep 30"}, nil, nil, 0)
	if err != nil {
		t.Skip(err)
	}
	done := make(chan struct{})
	go func() { p.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not end the program")
	}
	if !p.Exited() {
		t.Error("not exited after Stop")
	}
}
