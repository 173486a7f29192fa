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
	c := &Command{Templates: map[conformance.Op]string{conformance.OpPublish: "pub -h {host} -p {port} -V {version} -i {client_id} -t {topic} -q {qos} -m {message} -u {username} --will-topic {will_topic}"}}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	var props codec.Properties
	props.SetMessageExpiry(5)
	base := conformance.Action{Op: conformance.OpPublish, Version: codec.V5, ClientID: "id", Topic: "t"}
	for _, tc := range []struct {
		name string
		mod  func(a *conformance.Action)
		why  string // "" when supported; otherwise a word of the reason
	}{
		{"plain", func(*conformance.Action) {}, ""},
		{"no subscribe template", func(a *conformance.Action) { a.Op = conformance.OpSubscribe }, "no template"},
		{"keep alive needs {keepalive}", func(a *conformance.Action) { a.KeepAlive = 1 }, "{keepalive}"},
		{"persistent session needs {clean}", func(a *conformance.Action) { a.KeepSession = true }, "{clean}"},
		{"several messages need {count}", func(a *conformance.Action) { a.Count = 3 }, "{count}"},
		{"reconnect needs {reconnect}", func(a *conformance.Action) { a.Reconnect = true }, "{reconnect}"},
		{"NUL cannot be an argument", func(a *conformance.Action) { a.Topic = "a\x00" }, "NUL"},
		{"user name", func(a *conformance.Action) { a.Username = "u" }, ""},
		{"password needs {password}", func(a *conformance.Action) { a.Password = []byte{} }, "{password}"},
		{"will topic", func(a *conformance.Action) { a.Will = &conformance.Will{Topic: "w"} }, ""},
		{"will QoS needs {will_qos}", func(a *conformance.Action) { a.Will = &conformance.Will{Topic: "w", QoS: 1} }, "{will_qos}"},
		{"will properties", func(a *conformance.Action) { a.Will = &conformance.Will{Topic: "w", Properties: &props} }, "Will properties"},
		{"session expiry needs {session_expiry}", func(a *conformance.Action) { a.SessionExpiry = 9 }, "{session_expiry}"},
		{"enhanced authentication", func(a *conformance.Action) { a.AuthMethod = "m" }, "authentication"},
		{"client limits", func(a *conformance.Action) { a.ReceiveMaximum = 1 }, "Receive Maximum"},
		{"publish properties", func(a *conformance.Action) { a.PublishProps = &props }, "PUBLISH properties"},
	} {
		a := base
		tc.mod(&a)
		why := c.Why(a)
		if got := c.Supports(a); got != (tc.why == "") || !strings.Contains(why, tc.why) {
			t.Errorf("%s: Supports = %v, Why = %q; want a reason containing %q", tc.name, got, why, tc.why)
		}
	}
	noID := &Command{Default: "pub -t {topic}"}
	if why := noID.Why(conformance.Action{Op: conformance.OpPublish, Version: codec.V311}); !strings.Contains(why, "{client_id}") {
		t.Errorf("a template without {client_id}: %q", why)
	}
	if got := c.Describe(); !strings.Contains(got, "publish: pub -h {host}") {
		t.Errorf("Describe: %q", got)
	}
}

// TestCommandRuns runs a template through the shell-free path: each placeholder becomes one
// argument, whatever it contains.
func TestCommandRuns(t *testing.T) {
	if _, err := exec.LookPath("printf"); err != nil {
		t.Skip("printf not found")
	}
	c := &Command{Default: "printf %s|%s|%s|%s {topic} {qos} {version} {client_id}"}
	a := conformance.Action{Op: conformance.OpPublish, Version: codec.V311, ClientID: "id 1", Topic: "a b $(x)", QoS: 2, Host: "127.0.0.1", Port: 1}
	p, err := c.Start(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.Output(); got != "a b $(x)|2|3.1.1|id 1" {
		t.Errorf("output %q", got)
	}
}

func TestMosquittoCommand(t *testing.T) {
	m := &Mosquitto{}
	var pp, wp codec.Properties
	pp.SetContentType("text/plain").AddUser("k", "v")
	wp.SetWillDelay(30)
	a := conformance.Action{Op: conformance.OpPublish, Version: codec.V5, Host: "127.0.0.1", Port: 1884, ClientID: "c1",
		Topic: "a/b", QoS: 1, Message: []byte("hi"), Count: 3, KeepAlive: 5, KeepSession: true, Password: []byte("pw"),
		Will: &conformance.Will{Topic: "w", Payload: []byte("bye"), QoS: 1, Properties: &wp}, PublishProps: &pp, ReceiveMaximum: 7}
	argv, stdin, _ := m.command(a)
	line := strings.Join(argv, " ")
	for _, want := range []string{"mosquitto_pub", "-V mqttv5", "-i c1", "-k 5", "-t a/b", "-q 1", "-c", "-x 300", "-s", "--repeat 3",
		"-P pw", "--will-topic w --will-payload bye --will-qos 1", "-D will will-delay-interval 30", "-D publish content-type text/plain",
		"-D publish user-property k v", "-D connect receive-maximum 7"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "-u ") {
		t.Errorf("%q has a user name the action does not", line)
	}
	if string(stdin) != "hi" {
		t.Errorf("stdin %q", stdin)
	}
	var alias codec.Properties
	alias.SetTopicAlias(1)
	var format codec.Properties
	format.SetPayloadFormat(1)
	for _, tc := range []struct {
		name string
		a    conformance.Action
		why  string
	}{
		{"keep alive 1", conformance.Action{Op: conformance.OpConnect, Version: codec.V311, KeepAlive: 1}, "keep alive"},
		{"keep alive 5", conformance.Action{Op: conformance.OpConnect, Version: codec.V311, KeepAlive: 5}, ""},
		{"publisher reconnect", conformance.Action{Op: conformance.OpPublish, Version: codec.V311, Reconnect: true}, "reconnect"},
		{"subscriber reconnect", conformance.Action{Op: conformance.OpSubscribe, Version: codec.V311, Reconnect: true}, ""},
		{"authentication", conformance.Action{Op: conformance.OpConnect, Version: codec.V5, AuthMethod: "m"}, "AUTH"},
		{"unsubscribe", conformance.Action{Op: conformance.OpSubscribe, Version: codec.V5, Unsubscribe: []string{"t"}}, "-U"},
		{"topic alias", conformance.Action{Op: conformance.OpPublish, Version: codec.V5, PublishProps: &alias}, "publish property"},
		{"will payload format", conformance.Action{Op: conformance.OpConnect, Version: codec.V5, Will: &conformance.Will{Topic: "w", Properties: &format}}, "will property"},
		{"will with NUL", conformance.Action{Op: conformance.OpConnect, Version: codec.V5, Will: &conformance.Will{Topic: "w\x00"}}, "NUL"},
	} {
		why := m.Why(tc.a)
		if got := m.Supports(tc.a); got != (tc.why == "") || !strings.Contains(why, tc.why) {
			t.Errorf("%s: Supports = %v, Why = %q; want a reason containing %q", tc.name, got, why, tc.why)
		}
	}
}

func TestHelperArgs(t *testing.T) {
	var props, will codec.Properties
	props.SetMessageExpiry(7).AddUser("k", "v")
	will.SetWillDelay(9).SetContentType("c")
	a := conformance.Action{Op: conformance.OpSubscribe, Version: codec.V5, Host: "::1", Port: 9, Topic: "t/\x00", QoS: 2,
		EmptyClientID: true, KeepSession: true, Username: "u", Password: []byte{}, Will: &conformance.Will{Topic: "w", QoS: 1, Properties: &will},
		TopicAliasMaximum: 4, Unsubscribe: []string{"t/\x00", "x"}, AuthMethod: "m"}
	args := helperArgs(a)
	for _, want := range []string{"--op=subscribe", "--id=", "--topic-hex=742f00", "--qos=2", "--clean=false", "--session-expiry=300",
		"--username-hex=75", "--password-hex=", "--will-topic-hex=77", "--will-qos=1", "--topic-alias-max=4",
		"--will-delay=9", "--will-content-type-hex=63", "--unsubscribe-hex=742f00", "--unsubscribe-hex=78", "--auth-method=m"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	for _, arg := range args {
		if strings.HasPrefix(arg, "--auth-data-hex") || strings.HasPrefix(arg, "--message-expiry") {
			t.Errorf("%q: no Authentication Data, and PUBLISH properties only for OpPublish", arg)
		}
	}
	a = conformance.Action{Op: conformance.OpPublish, Version: codec.V5, Topic: "t", PublishProps: &props, AuthMethod: "m", AuthData: []byte{}}
	args = helperArgs(a)
	for _, want := range []string{"--message-expiry=7", "--user-hex=6b:76", "--auth-data-hex=", "--count=1", "--keepalive=60"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
}

// TestDriversDecline checks that every driver declines, with a reason, what it cannot honour.
func TestDriversDecline(t *testing.T) {
	var alias, sid, expiry codec.Properties
	alias.SetTopicAlias(1)
	sid.SubscriptionIDs = []uint32{1}
	expiry.SetMessageExpiry(3)
	type explainer interface {
		conformance.Driver
		conformance.Explainer
	}
	ref := Reference()
	for _, tc := range []struct {
		name string
		a    conformance.Action
		// want[i]: the reason (a word of it) driver i gives; "" = supported.
		ref, paho, mqttjs string
	}{
		{"3.1", conformance.Action{Op: conformance.OpConnect, Version: codec.V31}, "3.1.1 and 5.0", "3.1.1 and 5.0", "3.1.1 and 5.0"},
		{"publish expiry", conformance.Action{Op: conformance.OpPublish, Version: codec.V5, PublishProps: &expiry}, "", "", ""},
		{"publish topic alias", conformance.Action{Op: conformance.OpPublish, Version: codec.V5, PublishProps: &alias}, "", "Topic Alias", "Topic Alias"},
		{"publish subscription id", conformance.Action{Op: conformance.OpPublish, Version: codec.V5, PublishProps: &sid}, "", "Subscription Identifier", "Subscription Identifier"},
		{"will topic alias", conformance.Action{Op: conformance.OpConnect, Version: codec.V5, Will: &conformance.Will{Topic: "w", Properties: &alias}}, "", "Topic Alias", "Topic Alias"},
		{"auth answer", conformance.Action{Op: conformance.OpConnect, Version: codec.V5, AuthMethod: "m", AuthAnswer: 7}, "AuthEcho", "AuthEcho", "AuthEcho"},
		{"auth echo", conformance.Action{Op: conformance.OpConnect, Version: codec.V5, AuthMethod: "m"}, "", "", ""},
	} {
		for i, d := range []explainer{ref, &Paho{}, &MQTTjs{}} {
			want := []string{tc.ref, tc.paho, tc.mqttjs}[i]
			why := d.Why(tc.a)
			if d.Supports(tc.a) != (want == "") || !strings.Contains(why, want) || (want != "" && why == "") {
				t.Errorf("%s, %s: Supports = %v, Why = %q; want %q", tc.name, d.Name(), d.Supports(tc.a), why, want)
			}
		}
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

// TestRefusal checks how the drivers read a program that ended without connecting: only the
// refusal each program documents counts; a signal, a crash's exit status or another message
// does not.
func TestRefusal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string
		refusal func(int, string) string
		want    bool
	}{
		{"mosquitto invalid topic", `echo "Error: Invalid publish topic 'a/+', does it contain '+' or '#'?" >&2; exit 1`, mosquittoRefusal, true},
		{"mosquitto password without user", `echo "Error: Problem setting username and/or password." >&2; exit 1`, mosquittoRefusal, true},
		{"mosquitto malformed UTF-8", `echo "Error: Malformed UTF-8 in -t argument." >&2; exit 1`, mosquittoRefusal, true},
		{"mosquitto connection refused", `echo "Error: Connection refused" >&2; exit 1`, mosquittoRefusal, false},
		{"mosquitto invalid topic, other status", `echo "Error: Invalid id." >&2; exit 3`, mosquittoRefusal, false},
		{"mosquitto killed", `echo "Error: Invalid id." >&2; kill -SEGV $$`, mosquittoRefusal, false},
		{"helper library error", `echo "error invalid topic"; exit 1`, helperRefusal, true},
		{"MQTT.js library error", `echo "   229 error connection closed"; exit 1`, helperRefusal, true},
		{"MQTT.js error event, then a crash", `echo "    12 error event boom"; echo "TypeError: x" >&2; exit 1`, helperRefusal, false},
		{"helper Go panic", `echo "panic: runtime error" >&2; exit 2`, helperRefusal, false},
		{"helper Node.js exception", `echo "Error: boom" >&2; echo "    at main (client.js:1)" >&2; exit 1`, helperRefusal, false},
		{"helper exit 0", `echo "error nothing"; exit 0`, helperRefusal, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := startProcess([]string{"sh", "-c", tc.script}, nil, nil, 0)
			if err != nil {
				t.Skip(err)
			}
			p.refusal = tc.refusal
			_ = p.Wait(context.Background())
			got := p.Refusal()
			if (got != "") != tc.want {
				t.Errorf("Refusal() = %q, want a refusal: %v (ended: %v, output %q)", got, tc.want, p.err, p.Output())
			}
			if _, ok := p.clientProcess().(conformance.Refuser); !ok {
				t.Error("a process with a refusal reader is no conformance.Refuser")
			}
		})
	}
	p, err := startProcess([]string{"true"}, nil, nil, 0)
	if err != nil {
		t.Skip(err)
	}
	p.Stop()
	if _, ok := p.clientProcess().(conformance.Refuser); ok {
		t.Error("a process without a refusal reader claims to tell refusals")
	}
}
