package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func TestParseProps(t *testing.T) {
	var propErr *codec.PropertyError
	var ruleErr *codec.Error
	cases := []struct {
		name string
		tool string
		ds   []string
		args []string
		want map[string]string // command -> Properties.String()
		err  error             // sentinel the error wraps, or
		as   any               // pointer to the error type it wraps
	}{
		{name: "split like mosquitto", tool: "pub", ds: []string{"publish", "connect"}, args: []string{"user-property", "k", "v", "session-expiry-interval", "60"},
			want: map[string]string{"publish": `User Property="k":"v"`, "connect": "Session Expiry Interval=60"}},
		{name: "quoted", tool: "pub", ds: []string{"publish message-expiry-interval 30"},
			want: map[string]string{"publish": "Message Expiry Interval=30"}},
		{name: "several of one command", tool: "pub", ds: []string{"publish", "publish", "publish"}, args: []string{"content-type", "text/plain", "payload-format-indicator", "1", "correlation-data", "abc"},
			want: map[string]string{"publish": `Payload Format Indicator=1, Content Type="text/plain", Correlation Data=616263`}},
		{name: "subscription id", tool: "sub", ds: []string{"subscribe subscription-identifier 7"}, want: map[string]string{"subscribe": "Subscription Identifier=[7]"}},
		{name: "will delay", tool: "pub", ds: []string{"will will-delay-interval 5"}, want: map[string]string{"will": "Will Delay Interval=5"}},
		{name: "disconnect reason string", tool: "sub", ds: []string{"disconnect reason-string bye"}, want: map[string]string{"disconnect": `Reason String="bye"`}},
		{name: "every connect property", tool: "pub", ds: []string{"connect authentication-method m", "connect authentication-data d",
			"connect request-problem-information 0", "connect request-response-information 1", "connect receive-maximum 10",
			"connect topic-alias-maximum 0", "connect maximum-packet-size 1000"},
			want: map[string]string{"connect": `Authentication Method="m", Authentication Data=64, Request Problem Information=0, ` +
				`Request Response Information=1, Receive Maximum=10, Topic Alias Maximum=0, Maximum Packet Size=1000`}},

		{name: "empty -D", tool: "pub", ds: []string{" "}, err: errPropMissing},
		{name: "unknown property", tool: "pub", ds: []string{"publish bogus 1"}, err: codec.ErrUnknownProperty},
		{name: "not for this command", tool: "pub", ds: []string{"connect"}, args: []string{"content-type", "x"}, err: errPropNotAllowed},
		{name: "server property", tool: "pub", ds: []string{"connect assigned-client-identifier x"}, err: errPropNotAllowed},
		{name: "subscription id from a client", tool: "pub", ds: []string{"publish subscription-identifier 1"}, err: errPropNotAllowed},
		{name: "not for this tool", tool: "pub", ds: []string{"subscribe subscription-identifier 1"}, err: errPropCommand},
		{name: "missing value", tool: "pub", ds: []string{"publish"}, args: []string{"user-property", "k"}, err: errPropMissing},
		{name: "bad number", tool: "pub", ds: []string{"connect receive-maximum many"}, err: codec.ErrPropertyNotNumber, as: &propErr},
		{name: "number too large", tool: "pub", ds: []string{"connect receive-maximum 65536"}, err: codec.ErrPropertyTooLarge, as: &propErr},
		{name: "zero receive maximum", tool: "pub", ds: []string{"connect receive-maximum 0"}, err: codec.ErrProtocol, as: &ruleErr},
		{name: "boolean range", tool: "pub", ds: []string{"connect request-problem-information 2"}, err: codec.ErrProtocol, as: &ruleErr},
		{name: "response topic wildcard", tool: "pub", ds: []string{"publish response-topic a/#"}, as: &ruleErr},
		{name: "left over argument", tool: "pub", args: []string{"stray"}, err: errPropUnexpected},
		{name: "too many words", tool: "pub", ds: []string{"publish content-type a b"}, err: errPropUnexpected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProps(tc.tool, tc.ds, tc.args)
			if tc.err != nil || tc.as != nil {
				if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) || (tc.as != nil && !errors.As(err, tc.as)) {
					t.Fatalf("parseProps = %v, want an error wrapping %v / %T", err, tc.err, tc.as)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got commands %v, want %v", got, tc.want)
			}
			for cmd, want := range tc.want {
				if got[cmd] == nil || got[cmd].String() != want {
					t.Fatalf("%s properties %v, want %s", cmd, got[cmd], want)
				}
			}
		})
	}
}

// TestPropCommandsKnowTheirPacket: every -D command routes to a packet of the codec's table.
func TestPropCommandsKnowTheirPacket(t *testing.T) {
	for tool, cmds := range propCommands {
		for _, c := range cmds {
			if _, ok := propPacket[c]; !ok {
				t.Errorf("%s -D %s: no packet in propPacket", tool, c)
			}
		}
	}
}

// execClient runs a fresh pub or sub command (no state shared with other runs) and returns its
// exit code, stdout and the error text main would print.
func execClient(t *testing.T, mk func() *cobra.Command, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := mk()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	code := exitOK
	msg := ""
	if err != nil {
		code = exitUsage
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		msg = err.Error()
	}
	return code, out.String(), msg
}

// TestPubSub runs mqttspec sub and mqttspec pub against the reference broker, in both versions.
func TestPubSub(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	host, port, _ := strings.Cut(addr, ":")
	for _, v := range []string{"311", "5"} {
		t.Run("v"+v, func(t *testing.T) {
			topic := "cli/" + v + "/" + fmt.Sprint(time.Now().UnixNano())
			type res struct {
				code     int
				out, msg string
			}
			subDone := make(chan res, 1)
			go func() {
				code, out, msg := execClient(t, newSubCmd, "", "-h", host, "-p", port, "-V", v, "-t", topic+"/#", "-q", "2", "-v", "-C", "4", "-W", "10")
				subDone <- res{code, out, msg}
			}()
			time.Sleep(300 * time.Millisecond) // let the subscription settle
			steps := []struct {
				stdin string
				args  []string
			}{
				{"", []string{"-t", topic + "/m", "-m", "hello", "-q", "1"}},
				{"", []string{"-t", topic + "/n", "-n", "-q", "2"}},
				{"line one\nline two\n", []string{"-t", topic + "/l", "-l"}},
			}
			for _, s := range steps {
				args := append([]string{"-h", host, "-p", port, "-V", v}, s.args...)
				if code, _, msg := execClient(t, newPubCmd, s.stdin, args...); code != exitOK {
					t.Fatalf("pub %v: exit %d: %s", s.args, code, msg)
				}
			}
			r := <-subDone
			want := topic + "/m hello\n" + topic + "/n \n" + topic + "/l line one\n" + topic + "/l line two\n"
			if r.code != exitOK || r.out != want {
				t.Fatalf("sub exit %d (%s), printed:\n%q\nwant:\n%q", r.code, r.msg, r.out, want)
			}
		})
	}
}

func TestPubSubV5Properties(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	url := "tcp://" + addr
	topic := "cli/props/" + fmt.Sprint(time.Now().UnixNano())
	var mu sync.Mutex
	done := make(chan int, 1)
	var printed string
	go func() {
		code, out, _ := execClient(t, newSubCmd, "", "--url", url, "-t", topic, "-C", "1", "-W", "10", "-D", "subscribe", "subscription-identifier", "9")
		mu.Lock()
		printed = out
		mu.Unlock()
		done <- code
	}()
	time.Sleep(300 * time.Millisecond)
	code, _, msg := execClient(t, newPubCmd, "", "--url", url, "-t", topic, "-m", "with props", "-q", "1",
		"-D", "publish", "user-property", "k", "v", "-D", "publish", "message-expiry-interval", "60", "-D", "connect", "session-expiry-interval", "0")
	if code != exitOK {
		t.Fatalf("pub exit %d: %s", code, msg)
	}
	if code := <-done; code != exitOK {
		t.Fatalf("sub exit %d", code)
	}
	mu.Lock()
	defer mu.Unlock()
	if printed != "with props\n" {
		t.Fatalf("sub printed %q", printed)
	}
}

func TestPubSubErrors(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{Users: map[string]string{"alice": "secret"}})
	host, port, _ := strings.Cut(addr, ":")
	free := "1" // nothing listens on port 1 of the loopback
	cases := []struct {
		name string
		mk   func() *cobra.Command
		args []string
		code int
		msg  string
	}{
		{"bad password v5", newPubCmd, []string{"-h", host, "-p", port, "-t", "a", "-m", "x", "-u", "alice", "-P", "wrong"}, exitFailures,
			"connection refused: 0x86 Bad User Name or Password"},
		{"not authorized hint", newPubCmd, []string{"-h", host, "-p", port, "-t", "a", "-m", "x", "-u", "alice", "-P", "wrong"}, exitFailures,
			"(check -u/-P and the broker's access rules)"},
		{"bad password v311", newPubCmd, []string{"-h", host, "-p", port, "-V", "311", "-t", "a", "-m", "x", "-u", "alice", "-P", "wrong"}, exitFailures,
			"connection refused: return code 4, Bad user name or password"},
		{"good password", newPubCmd, []string{"-h", host, "-p", port, "-t", "a", "-m", "x", "-u", "alice", "-P", "secret"}, exitOK, ""},
		{"connection refused", newPubCmd, []string{"-h", "127.0.0.1", "-p", free, "-t", "a", "-m", "x"}, exitUsage, "connection refused"},
		{"quiet", newPubCmd, []string{"-h", "127.0.0.1", "-p", free, "-t", "a", "-m", "x", "--quiet"}, exitUsage, ""},
		{"no topic", newPubCmd, []string{"-h", host, "-p", port, "-m", "x"}, exitUsage, "-t is required"},
		{"two payloads", newPubCmd, []string{"-h", host, "-p", port, "-t", "a", "-m", "x", "-n"}, exitUsage, "exactly one of"},
		{"qos 3", newPubCmd, []string{"-h", host, "-p", port, "-t", "a", "-m", "x", "-q", "3"}, exitUsage, "QoS must be 0, 1 or 2"},
		{"bad version", newPubCmd, []string{"-t", "a", "-m", "x", "-V", "6"}, exitUsage, "unknown MQTT version"},
		{"url and host", newPubCmd, []string{"--url", "tcp://" + addr, "-h", host, "-t", "a", "-m", "x"}, exitUsage, "either --url or -h/-p"},
		{"-c without id", newSubCmd, []string{"-h", host, "-p", port, "-t", "a", "-c"}, exitUsage, "needs a client identifier"},
		{"properties in 3.1.1", newPubCmd, []string{"-V", "311", "-t", "a", "-m", "x", "-D", "publish", "content-type", "x"}, exitUsage, "need MQTT 5"},
		{"bad filter", newSubCmd, []string{"-h", host, "-p", port, "-t", "a/#/b"}, exitUsage, "not a valid topic filter"},
		{"sub timeout", newSubCmd, []string{"-h", host, "-p", port, "-u", "alice", "-P", "secret", "-t", "quiet/topic", "-C", "1", "-W", "0.3"}, exitFailures, "timed out after 0.3s with 0 of 1 messages"},
		{"sub exit after subscribe", newSubCmd, []string{"-h", host, "-p", port, "-u", "alice", "-P", "secret", "-t", "x", "-E"}, exitOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, msg := execClient(t, tc.mk, "", tc.args...)
			if code != tc.code || (tc.msg == "" && msg != "") || !strings.Contains(msg, tc.msg) {
				t.Fatalf("exit %d with %q; want exit %d with a message containing %q", code, msg, tc.code, tc.msg)
			}
		})
	}
}

// TestPubSubRefusedSubscription: a SUBACK failure ends sub with status 1.
func TestPubSubRefusedSubscription(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{ACL: broker.ACL{{Topic: "allowed/#", Access: broker.AccessReadWrite}}})
	code, _, msg := execClient(t, newSubCmd, "", "--url", "tcp://"+addr, "-t", "allowed/x", "-t", "denied/x")
	if code != exitFailures || !strings.Contains(msg, `SUBACK for "denied/x": 0x87 Not authorized`) {
		t.Fatalf("exit %d with %q", code, msg)
	}
	code, _, msg = execClient(t, newSubCmd, "", "--url", "tcp://"+addr, "-V", "311", "-t", "denied/x")
	if code != exitFailures || !strings.Contains(msg, `SUBACK for "denied/x": 0x80 Failure`) {
		t.Fatalf("3.1.1: exit %d with %q", code, msg)
	}
}

// TestPubSubServerDisconnect: a DISCONNECT with a reason from the broker (here 0xA2 for a
// wildcard subscription the broker does not support) ends sub with status 1.
func TestPubSubServerDisconnect(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{WildcardAvailable: broker.Ptr(false)})
	code, _, msg := execClient(t, newSubCmd, "", "--url", "tcp://"+addr, "-t", "a/#", "--quiet")
	if code != exitFailures || msg != "" {
		t.Fatalf("exit %d with %q, want 1 and no message (--quiet)", code, msg)
	}
	_ = codec.V5
}

// TestDisconnectProperties: the -D disconnect properties reach the DISCONNECT options, and the one
// the client cannot send is refused before connecting.
func TestDisconnectProperties(t *testing.T) {
	setup := func(args ...string) (*clientSetup, error) {
		cmd := &cobra.Command{}
		var f clientFlags
		f.register(cmd.Flags(), "pub")
		if err := cmd.Flags().Parse(args); err != nil {
			t.Fatal(err)
		}
		return f.setup(cmd, "pub", cmd.Flags().Args())
	}
	s, err := setup("-D", "disconnect", "session-expiry-interval", "5", "-D", "disconnect", "reason-string", "bye",
		"-D", "disconnect", "user-property", "k", "v")
	if err != nil {
		t.Fatal(err)
	}
	if d := s.disc; d.SessionExpiry == nil || *d.SessionExpiry != 5 || d.ReasonString != "bye" || len(d.User) != 1 {
		t.Fatalf("disconnect options %+v", d)
	}
	if _, err := setup("-D", "disconnect", "server-reference", "other:1883"); !errors.Is(err, errPropNotAllowed) {
		t.Fatalf("-D disconnect server-reference = %v, want %v", err, errPropNotAllowed)
	}
}
