package drivers

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

// TestPahoCCommand checks the arguments each action becomes for paho_c_pub / paho_c_sub, and
// when the driver stops the program.
func TestPahoCCommand(t *testing.T) {
	p := &PahoC{}
	var props codec.Properties
	props.SetMessageExpiry(30).AddUser("k", "v")
	base := conformance.Action{Host: "127.0.0.1", Port: 1884, ClientID: "c1", Topic: "a/b", Version: codec.V5}
	for _, tc := range []struct {
		name string
		mod  func(a *conformance.Action)
		// want are sequences that must appear in argv (each joined by spaces); not must not.
		want, not []string
		marker    string
		count     int
		then      time.Duration
		stdin     bool
	}{
		{name: "publish 5.0", mod: func(a *conformance.Action) {
			a.Op, a.QoS, a.Message, a.Retain, a.KeepAlive, a.PublishProps = conformance.OpPublish, 1, []byte("hi"), true, 7, &props
		}, want: []string{"paho_c_pub -h 127.0.0.1 -p 1884 -V 5 -i c1 -k 7 -q 1", "-t a/b -m hi -r", "--message-expiry 30", "--user-property k v"},
			not: []string{"-n", "-u", "-P", "--will-topic", "--verbose", "--delimiter"}},
		{name: "publish 3.1.1, empty payload, default keep alive", mod: func(a *conformance.Action) {
			a.Op, a.Version = conformance.OpPublish, codec.V311
		}, want: []string{"-V 311", "-k 60", "-q 0", "-t a/b -n"}, not: []string{"-m", "-r"}},
		{name: "subscribe counts delimiters", mod: func(a *conformance.Action) {
			a.Op, a.QoS, a.Count = conformance.OpSubscribe, 2, 3
		}, want: []string{"paho_c_sub", "-q 2", "-t a/b --delimiter " + pahoCDelimiter}, not: []string{"--message-expiry", "-m"},
			marker: pahoCDelimiter, count: 3},
		{name: "connect idles on an unpublishable topic", mod: func(a *conformance.Action) {
			a.Op, a.Duration = conformance.OpConnect, 2*time.Second
		}, want: []string{"stdbuf -oL paho_c_pub -h", "-t " + pahoCConnectTopic + " --maxdatalen 1 --verbose"}, not: []string{"-m", "-n"},
			marker: "Connected\n", count: 1, then: 2 * time.Second, stdin: true},
		{name: "credentials and will, retained (with --will-retain's placeholder)", mod: func(a *conformance.Action) {
			a.Op, a.Username, a.Password = conformance.OpConnect, "u", []byte("pw")
			a.Will = &conformance.Will{Topic: "w", Payload: []byte("bye"), QoS: 1, Retain: true}
		}, want: []string{"-u u -P pw", "--will-topic w --will-payload bye --will-qos 1 --will-retain 1"},
			marker: "Connected\n", count: 1, stdin: true},
		{name: "password without user name goes alone", mod: func(a *conformance.Action) {
			a.Op, a.Password = conformance.OpPublish, []byte{}
		}, want: []string{"-P "}, not: []string{"-u"}},
		{name: "a payload with a NUL goes in a file", mod: func(a *conformance.Action) {
			a.Op, a.Message = conformance.OpPublish, []byte("a\x00b")
		}, want: []string{"-t a/b -f " + pahoCPayloadFile}, not: []string{"-m", "-n"}},
		{name: "empty client identifier", mod: func(a *conformance.Action) {
			a.Op, a.ClientID, a.EmptyClientID = conformance.OpPublish, "", true
		}, want: []string{"-i  -k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			tc.mod(&a)
			if why := p.Why(a); why != "" {
				t.Fatalf("declined: %s", why)
			}
			run := p.command(a)
			line := strings.Join(run.argv, " ")
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("%q lacks %q", line, w)
				}
			}
			for _, n := range tc.not {
				if slices.Contains(run.argv, strings.TrimSpace(n)) || (strings.HasSuffix(n, " ") && strings.Contains(line, n)) {
					t.Errorf("%q has %q", line, n)
				}
			}
			if run.marker != tc.marker || run.count != tc.count || run.then != tc.then || run.stdin != tc.stdin {
				t.Errorf("stop: marker %q ×%d then %v stdin %v; want %q ×%d then %v stdin %v",
					run.marker, run.count, run.then, run.stdin, tc.marker, tc.count, tc.then, tc.stdin)
			}
		})
	}
}

// TestPahoCDeclines checks that the driver declines, with the reason, what the programs cannot do.
func TestPahoCDeclines(t *testing.T) {
	p := &PahoC{}
	var expiry0, two, ctype, will codec.Properties
	expiry0.SetMessageExpiry(0)
	two.AddUser("a", "1").AddUser("b", "2")
	ctype.SetContentType("text/plain")
	will.SetWillDelay(5)
	pub := func(mod func(a *conformance.Action)) conformance.Action {
		a := conformance.Action{Op: conformance.OpPublish, Version: codec.V5, Topic: "t", ClientID: "c"}
		mod(&a)
		return a
	}
	for _, tc := range []struct {
		name string
		a    conformance.Action
		why  string // a word of the reason; "" = supported
	}{
		{"3.1", pub(func(a *conformance.Action) { a.Version = codec.V31 }), "3.1.1 and 5.0"},
		{"plain", pub(func(*conformance.Action) {}), ""},
		{"persistent session", pub(func(a *conformance.Action) { a.KeepSession = true }), "clean session"},
		{"session expiry", pub(func(a *conformance.Action) { a.SessionExpiry = 10 }), "clean session"},
		{"reconnect without a session", pub(func(a *conformance.Action) { a.Reconnect = true }), ""},
		{"several messages", pub(func(a *conformance.Action) { a.Count = 2 }), "one message"},
		{"subscriber counts", pub(func(a *conformance.Action) { a.Op, a.Count = conformance.OpSubscribe, 5 }), ""},
		{"enhanced authentication", pub(func(a *conformance.Action) { a.AuthMethod = "m" }), "enhanced authentication"},
		{"unsubscribe", pub(func(a *conformance.Action) { a.Op, a.Unsubscribe = conformance.OpSubscribe, []string{"t"} }), "never unsubscribes"},
		{"topic alias maximum", pub(func(a *conformance.Action) { a.TopicAliasMaximum = 2 }), "Topic Alias Maximum"},
		{"will properties", pub(func(a *conformance.Action) { a.Will = &conformance.Will{Topic: "w", Properties: &will} }), "Will properties"},
		{"will without properties", pub(func(a *conformance.Action) { a.Will = &conformance.Will{Topic: "w", QoS: 2} }), ""},
		{"message expiry 0", pub(func(a *conformance.Action) { a.PublishProps = &expiry0 }), "--message-expiry"},
		{"two user properties", pub(func(a *conformance.Action) { a.PublishProps = &two }), "one User Property"},
		{"content type", pub(func(a *conformance.Action) { a.PublishProps = &ctype }), "--message-expiry"},
		{"publish properties on 3.1.1", pub(func(a *conformance.Action) { a.Version, a.PublishProps = codec.V311, &ctype }), "3.1.1 connection"},
		{"NUL in the topic", pub(func(a *conformance.Action) { a.Topic = "t\x00" }), "NUL"},
		{"NUL in the payload (goes in a file)", pub(func(a *conformance.Action) { a.Message = []byte{0} }), ""},
		{"NUL in the will", pub(func(a *conformance.Action) { a.Will = &conformance.Will{Topic: "w", Payload: []byte{1, 0}} }), "NUL"},
		{"ill-formed UTF-8 topic", pub(func(a *conformance.Action) { a.Topic = "t\xff" }), ""},
	} {
		why := p.Why(tc.a)
		if got := p.Supports(tc.a); got != (tc.why == "") || !strings.Contains(why, tc.why) || (tc.why != "" && why == "") {
			t.Errorf("%s: Supports = %v, Why = %q; want a reason containing %q", tc.name, got, why, tc.why)
		}
	}
}

func TestPahoCRefusal(t *testing.T) {
	for _, tc := range []struct {
		code int
		out  string
		want bool
	}{
		{1, "Failed to start connect, return code Invalid UTF-8 string\n", true},
		{1, "Failed to create client, return code: Invalid (NULL) parameter\n", true},
		{1, "Unknown option --nope\nEclipse Paho MQTT C publisher\n", false},
		{1, "Connect failed, rc Socket error\n", false},
		{2, "Failed to start connect, return code x\n", false},
	} {
		if got := pahoCRefusal(tc.code, tc.out); (got != "") != tc.want {
			t.Errorf("pahoCRefusal(%d, %q) = %q, want a refusal: %v", tc.code, tc.out, got, tc.want)
		}
	}
}

func TestMarkerCounter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		want   int
		fires  bool
	}{
		{"split across writes", []string{"a<E", "ND>b<EN", "D>"}, 2, true},
		{"one short", []string{"<END><EN"}, 1, false},
		{"past the count fires once", []string{"<END><END><END>"}, 3, true},
	} {
		fired := 0
		m := &markerCounter{marker: []byte("<END>"), want: 2, reached: func() { fired++ }}
		for _, c := range tc.chunks {
			if n, err := m.Write([]byte(c)); n != len(c) || err != nil {
				t.Fatalf("%s: Write = %d, %v", tc.name, n, err)
			}
		}
		if m.n != tc.want || (fired == 1) != tc.fires || fired > 1 {
			t.Errorf("%s: counted %d (want %d), fired %d times (want once: %v)", tc.name, m.n, tc.want, fired, tc.fires)
		}
	}
}

// TestPahoCBinaryPayload publishes a payload with NUL bytes through paho_c_pub -f against a
// loopback listener that accepts the connection, and checks the PUBLISH carries it whole and the
// payload file is gone once the program ended.
func TestPahoCBinaryPayload(t *testing.T) {
	p := &PahoC{}
	if err := p.Available(); err != nil {
		t.Skip(err)
	}
	defer p.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	payload := []byte("a\x00b\x00")
	a := conformance.Action{Op: conformance.OpPublish, Version: codec.V311, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		ClientID: "bin", Topic: "t/bin", QoS: 0, Message: payload}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	proc, err := p.Start(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Stop()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	o := codec.Options{Version: codec.V311, Sender: codec.SideClient, MaxPacketSize: 1 << 16}
	if pk, _, err := codec.ReadPacket(conn, o); err != nil || pk.Type() != codec.CONNECT {
		t.Fatalf("first packet %v, %v; want CONNECT", pk, err)
	}
	if _, err := conn.Write([]byte{0x20, 0x02, 0x00, 0x00}); err != nil { // CONNACK accepted
		t.Fatal(err)
	}
	pk, _, err := codec.ReadPacket(conn, o)
	if err != nil {
		t.Fatalf("after CONNACK: %v (output %q)", err, proc.Output())
	}
	pub, ok := pk.(*codec.Publish)
	if !ok || pub.Topic != "t/bin" || !bytes.Equal(pub.Payload, payload) {
		t.Fatalf("got %v, want PUBLISH t/bin %q", pk, payload)
	}
	if err := proc.Wait(ctx); err != nil {
		t.Fatalf("paho_c_pub: %v (output %q)", err, proc.Output())
	}
	// The file is removed once the end is noticed, by a goroutine of its own.
	var files []string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if files, _ = filepath.Glob(filepath.Join(p.tmp, "payload-*")); len(files) == 0 {
			break
		}
	}
	if len(files) != 0 {
		t.Errorf("payload files left: %v", files)
	}
}
