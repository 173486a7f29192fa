package conformance

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// fakeBroker accepts connections on loopback and hands each to script.
func fakeBroker(t *testing.T, script func(t *testing.T, nc net.Conn)) *Target {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				script(t, nc)
			}()
		}
	}()
	return &Target{Name: "fake", URL: "tcp://" + l.Addr().String()}
}

func allCaps() *Capabilities {
	return &Capabilities{V311: true, V5: true, MaximumQoS: 2, ReceiveMaximum: 65535, ServerKeepAlive: -1, Missing: map[Feature]string{}}
}

// readPacket reads one packet from the test's side of a fake connection.
func readPacket(nc net.Conn, v codec.Version) codec.Packet {
	_ = nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	p, err := codec.NewReader(nc, codec.Options{Version: v}).ReadPacket()
	if err != nil {
		return nil
	}
	return p
}

func write(nc net.Conn, v codec.Version, p codec.Packet) {
	b, _ := codec.Encode(p, v)
	_, _ = nc.Write(b)
}

// connackThen answers the CONNECT with CONNACK 0 and then runs rest.
func connackThen(rest func(nc net.Conn)) func(*testing.T, net.Conn) {
	return func(_ *testing.T, nc net.Conn) {
		if readPacket(nc, codec.VersionUnknown) == nil {
			return
		}
		write(nc, codec.V311, &codec.Connack{})
		rest(nc)
	}
}

func runOne(t *testing.T, tg *Target, c Case) reports.Case {
	t.Helper()
	if c.ID == "" {
		c.ID = "9.9/test"
	}
	if c.Title == "" {
		c.Title = "test case"
	}
	if c.Level == 0 {
		c.Level = Must
	}
	c.Versions, c.Statements = V311, []string{"MQTT-3.1.0-2"}
	return RunCase(context.Background(), tg, allCaps(), &c, codec.V311,
		Timeouts{Step: 300 * time.Millisecond, Quiet: 200 * time.Millisecond, Case: 2 * time.Second}, "run12345")
}

func TestExpectations(t *testing.T) {
	pingresp := func(nc net.Conn) {
		for readPacket(nc, codec.V311) != nil {
			write(nc, codec.V311, &codec.Pingresp{})
		}
	}
	silent := func(nc net.Conn) { time.Sleep(3 * time.Second) }
	closeNow := func(nc net.Conn) {}
	sendThenClose := func(p codec.Packet) func(nc net.Conn) {
		return func(nc net.Conn) { write(nc, codec.V311, p); time.Sleep(50 * time.Millisecond) }
	}
	tests := []struct {
		name    string
		broker  func(nc net.Conn)
		run     func(t *T)
		level   Level
		want    reports.Status
		message string // substring of the result message
	}{
		{"ping answered", pingresp, func(t *T) { t.Connect(t.DefaultConnect()).ExpectOpen() }, Must, reports.Pass, ""},
		{"expect times out", silent, func(t *T) { t.Connect(t.DefaultConnect()).ExpectOpen() }, Must, reports.Fail, "nothing arrived"},
		{"wrong packet", sendThenClose(&codec.Puback{PacketID: 3}), func(t *T) {
			t.Connect(t.DefaultConnect()).Expect(Puback(4))
		}, Must, reports.Fail, "packet identifier is 3, want 4"},
		{"closed instead of packet", closeNow, func(t *T) { t.Connect(t.DefaultConnect()).Expect(Pingresp()) }, Must, reports.Fail, "connection closed"},
		{"expect closed passes", closeNow, func(t *T) { t.Connect(t.DefaultConnect()).ExpectClosed() }, Must, reports.Pass, ""},
		{"still open fails", silent, func(t *T) { t.Connect(t.DefaultConnect()).ExpectClosed() }, Must, reports.Fail, "still open"},
		{"packet before close fails", sendThenClose(&codec.Pingresp{}), func(t *T) { t.Connect(t.DefaultConnect()).ExpectClosed() }, Must, reports.Fail, "got PINGRESP"},
		{"nothing passes on silence", silent, func(t *T) { t.Connect(t.DefaultConnect()).ExpectNothing(0) }, Must, reports.Pass, ""},
		{"nothing fails on packet", sendThenClose(&codec.Pingresp{}), func(t *T) { t.Connect(t.DefaultConnect()).ExpectNothing(0) }, Must, reports.Fail, "expected no packet"},
		{"malformed from target", func(nc net.Conn) { nc.Write([]byte{0x36, 0x03, 0x00, 0x01, 'a'}); time.Sleep(50 * time.Millisecond) },
			func(t *T) { t.Connect(t.DefaultConnect()).Expect(AnyPublish()) }, Must, reports.Fail, "MQTT-3.3.1-4"},
		{"should failure warns", silent, func(t *T) { t.Connect(t.DefaultConnect()).ExpectClosed() }, Should, reports.Warn, "still open"},
		{"warnf warns", pingresp, func(t *T) { t.Connect(t.DefaultConnect()); t.Warnf("not great") }, Should, reports.Warn, "not great"},
		{"warnf in a must case is a harness defect", pingresp, func(t *T) { t.Connect(t.DefaultConnect()); t.Warnf("not great") }, Must, reports.Error, "harness defect"},
		{"warnf in a failed must case keeps the failure", silent, func(t *T) { c := t.Connect(t.DefaultConnect()); t.Warnf("not great"); c.ExpectClosed() }, Must, reports.Fail, "still open"},
		{"skip", pingresp, func(t *T) { t.Skipf("no reason") }, Must, reports.Skip, "no reason"},
		{"panic is error", pingresp, func(t *T) { panic("boom") }, Must, reports.Error, "boom"},
		{"hard deadline", silent, func(t *T) { t.Connect(t.DefaultConnect()); select {} }, Must, reports.Error, "hard deadline"},
		{"unordered", func(nc net.Conn) {
			write(nc, codec.V311, &codec.Puback{PacketID: 2})
			write(nc, codec.V311, &codec.Puback{PacketID: 1})
			time.Sleep(100 * time.Millisecond)
		}, func(t *T) { t.Connect(t.DefaultConnect()).ExpectUnordered(Puback(1), Puback(2)) }, Must, reports.Pass, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := fakeBroker(t, connackThen(tc.broker))
			res := runOne(t, tg, Case{Run: tc.run, Level: tc.level})
			if res.Status != tc.want || !strings.Contains(res.Message, tc.message) {
				t.Fatalf("status %s message %q; want %s containing %q\ntranscript: %+v", res.Status, res.Message, tc.want, tc.message, res.Transcript)
			}
			if tc.want == reports.Fail && res.Expected == "" {
				t.Errorf("failure without an expected description: %+v", res)
			}
			if len(res.Transcript) == 0 {
				t.Errorf("empty transcript")
			}
		})
	}
}

func TestCloseOptions(t *testing.T) {
	disc := func(rc codec.ReasonCode) func(nc net.Conn) {
		return func(nc net.Conn) {
			write(nc, codec.V5, &codec.Disconnect{ReasonCode: rc})
			time.Sleep(20 * time.Millisecond)
		}
	}
	tests := []struct {
		name   string
		broker func(nc net.Conn)
		opts   []CloseOption
		want   reports.Status
	}{
		{"allowed disconnect", disc(codec.ReasonProtocolError), []CloseOption{OrDisconnect(codec.ReasonProtocolError)}, reports.Pass},
		{"wrong disconnect code", disc(codec.ReasonUnspecifiedError), []CloseOption{OrDisconnect(codec.ReasonProtocolError)}, reports.Fail},
		{"disconnect not allowed", disc(codec.ReasonProtocolError), nil, reports.Fail},
		{"required disconnect missing", func(nc net.Conn) {}, []CloseOption{WithDisconnect(codec.ReasonProtocolError)}, reports.Fail},
		{"plain close with optional disconnect", func(nc net.Conn) {}, []CloseOption{OrDisconnect(codec.ReasonProtocolError)}, reports.Pass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := fakeBroker(t, func(_ *testing.T, nc net.Conn) {
				if readPacket(nc, codec.VersionUnknown) == nil {
					return
				}
				write(nc, codec.V5, &codec.Connack{})
				tc.broker(nc)
			})
			c := Case{ID: "9.9/close", Title: "close", Level: Must, Versions: V5, Statements: []string{"MQTT-3.1.0-2"},
				Run: func(t *T) { t.Connect(t.DefaultConnect()).ExpectClosed(tc.opts...) }}
			res := RunCase(context.Background(), tg, allCaps(), &c, codec.V5, Timeouts{Step: 300 * time.Millisecond}, "run12345")
			if res.Status != tc.want {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Message, tc.want)
			}
		})
	}
}

func TestRunnerSkipsMissingFeatures(t *testing.T) {
	tg := fakeBroker(t, connackThen(func(nc net.Conn) {}))
	caps := allCaps()
	caps.Missing[FeatureShared] = "CONNACK Shared Subscription Available is 0"
	caps.V5 = false
	r := &Runner{Target: tg, Caps: caps, Parallel: 2, Timeouts: Timeouts{Step: 300 * time.Millisecond}}
	cases := []Case{
		{ID: "4.8/needs-shared", Title: "t", Level: Must, Versions: V311, Statements: []string{"MQTT-3.1.0-2"}, Requires: []Feature{FeatureShared}, Run: func(t *T) { t.Fatalf("must not run") }},
		{ID: "3.1/v5-only", Title: "t", Level: Must, Versions: V5, Statements: []string{"MQTT-3.1.0-2"}, Run: func(t *T) { t.Fatalf("must not run") }},
		{ID: "3.1/runs", Title: "t", Level: Must, Versions: V311, Statements: []string{"MQTT-3.1.0-2"}, Run: func(t *T) { t.Connect(t.DefaultConnect()).ExpectClosed() }},
	}
	res, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary != (reports.Counts{Pass: 1, Skip: 2}) {
		t.Fatalf("summary %+v, want 1 pass 2 skip: %+v", res.Summary, res.Cases)
	}
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	cov := res.Coverage["3.1.1"]
	if cov.Tested != 1 || cov.Testable < 100 {
		t.Fatalf("coverage %+v: want MQTT-3.1.0-2 counted once out of the 3.1.1 server statements", cov)
	}
}

func TestRunDeadlineMarksUnfinished(t *testing.T) {
	tg := fakeBroker(t, connackThen(func(nc net.Conn) { time.Sleep(5 * time.Second) }))
	var cases []Case
	for _, id := range []string{"a", "b", "c", "d"} {
		cases = append(cases, Case{ID: "3.1/" + id, Title: "t", Level: Must, Versions: V311, Statements: []string{"MQTT-3.1.0-1"},
			Run: func(t *T) { t.Connect(t.DefaultConnect()); t.Sleep(time.Hour) }})
	}
	r := &Runner{Target: tg, Caps: allCaps(), Parallel: 1, RunTimeout: 400 * time.Millisecond, Timeouts: Timeouts{Step: 300 * time.Millisecond}}
	res, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Incomplete || res.Summary.Error != 4 || len(res.Cases) != 4 {
		t.Fatalf("want 4 errors and incomplete, got %+v incomplete=%v", res.Summary, res.Incomplete)
	}
}

func TestSelect(t *testing.T) {
	cases := []Case{
		{ID: "3.1/a", Level: Must, Versions: Both, Statements: []string{"MQTT-3.1.0-1"}},
		{ID: "3.3/b", Level: Should, Versions: V5, Statements: []string{"MQTT-3.3.1-4"}},
		{ID: "3.10/c", Level: Must, Versions: V311, Statements: []string{"MQTT-3.10.1-1"}},
	}
	tests := []struct {
		globs, labels []string
		want          string
	}{
		{nil, nil, "3.1/a 3.3/b 3.10/c"},
		{[]string{"3.1/*"}, nil, "3.1/a"},
		{[]string{"3.1"}, nil, "3.1/a"},   // a section, not a string prefix
		{[]string{"3.1/"}, nil, "3.1/a"},  // prefix ending in /
		{[]string{"3.1/a"}, nil, "3.1/a"}, // exact ID
		{[]string{"3"}, nil, ""},          // no case in section 3
		{nil, []string{"MQTT-3.3.1-4"}, "3.3/b"},
		{nil, []string{"SHOULD"}, "3.3/b"},
		{nil, []string{"3.1.1"}, "3.1/a 3.10/c"},
		{nil, []string{"3.10"}, "3.10/c"},
	}
	for _, tc := range tests {
		got, err := Select(cases, tc.globs, tc.labels)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if strings.Join(ids, " ") != tc.want {
			t.Errorf("Select(%v, %v) = %v, want %s", tc.globs, tc.labels, ids, tc.want)
		}
	}
	if _, err := Select(cases, []string{"["}, nil); err == nil {
		t.Error("bad glob accepted")
	}
}

func TestClientIDShape(t *testing.T) {
	tt := newT(context.Background(), &Case{ID: "3.1/x"}, codec.V311, &Target{}, allCaps(), Timeouts{}, shortID())
	for i := 0; i < 20; i++ {
		id := tt.ClientID()
		if len(id) > 23 || !codec.ValidTopicName(id) || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Fatalf("client id %q is not 1-23 alphanumerics", id)
		}
	}
}

func TestNextAndAlternatives(t *testing.T) {
	tests := []struct {
		name   string
		broker func(nc net.Conn)
		run    func(t *T)
		want   reports.Status
	}{
		{"or-closed accepts the packet", func(nc net.Conn) {
			write(nc, codec.V311, &codec.Puback{PacketID: 1})
			time.Sleep(50 * time.Millisecond)
		},
			func(t *T) {
				t.Check(t.Connect(t.DefaultConnect()).ExpectOrClosed(Puback(1)) != nil, "packet", "nil", "no packet")
			}, reports.Pass},
		{"or-closed accepts the close", func(nc net.Conn) {},
			func(t *T) {
				t.Check(t.Connect(t.DefaultConnect()).ExpectOrClosed(Puback(1)) == nil, "nil", "packet", "packet")
			}, reports.Pass},
		{"or-closed rejects another packet", func(nc net.Conn) {
			write(nc, codec.V311, &codec.Puback{PacketID: 2})
			time.Sleep(50 * time.Millisecond)
		},
			func(t *T) { t.Connect(t.DefaultConnect()).ExpectOrClosed(Puback(1)) }, reports.Fail},
		{"one of", func(nc net.Conn) {
			write(nc, codec.V311, &codec.Puback{PacketID: 2})
			time.Sleep(50 * time.Millisecond)
		},
			func(t *T) { t.Connect(t.DefaultConnect()).Expect(OneOf(Puback(1), Puback(2))) }, reports.Pass},
		{"one of mismatch", func(nc net.Conn) {
			write(nc, codec.V311, &codec.Puback{PacketID: 3})
			time.Sleep(50 * time.Millisecond)
		},
			func(t *T) { t.Connect(t.DefaultConnect()).Expect(OneOf(Puback(1), Puback(2))) }, reports.Fail},
		{"next times out", func(nc net.Conn) { time.Sleep(time.Second) },
			func(t *T) {
				p, closed := t.Connect(t.DefaultConnect()).Next(100 * time.Millisecond)
				t.Check(p == nil && !closed, "timeout", fmt.Sprint(p, closed), "Next")
			}, reports.Pass},
		{"wait closed", func(nc net.Conn) { write(nc, codec.V311, &codec.Pingresp{}) },
			func(t *T) {
				t.Check(t.Connect(t.DefaultConnect()).WaitClosed(time.Second), "closed", "open", "WaitClosed")
			}, reports.Pass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := fakeBroker(t, connackThen(tc.broker))
			if res := runOne(t, tg, Case{Run: tc.run}); res.Status != tc.want {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Message, tc.want)
			}
		})
	}
}

func TestQualifiedStatements(t *testing.T) {
	c := Case{ID: "3.1/k", Title: "t", Level: Must, Versions: Both, Run: func(*T) {},
		Statements: []string{"3.1.1:MQTT-3.1.2-24", "5.0:MQTT-3.1.2-22", "MQTT-3.1.0-2"}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.StatementsFor(codec.V311), " "); got != "MQTT-3.1.2-24 MQTT-3.1.0-2" {
		t.Errorf("3.1.1 statements %q", got)
	}
	if got := strings.Join(c.StatementsFor(codec.V5), " "); got != "MQTT-3.1.2-22 MQTT-3.1.0-2" {
		t.Errorf("5.0 statements %q", got)
	}
	bad := c
	bad.Versions = V311
	if bad.Validate() == nil {
		t.Error("a 5.0-qualified statement on a 3.1.1-only case was accepted")
	}
	bad.Statements = []string{"3.1.1:MQTT-9.9.9-9"}
	if bad.Validate() == nil {
		t.Error("an unknown qualified statement was accepted")
	}
}

// A target that dies on the case's input must not turn "the connection closed" into a pass.
func TestCrashIsNotAPass(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		nc, err := l.Accept()
		if err != nil {
			return
		}
		readPacket(nc, codec.VersionUnknown)
		write(nc, codec.V311, &codec.Connack{})
		readPacket(nc, codec.V311) // the hostile packet: "crash"
		l.Close()
		nc.Close()
	}()
	tg := &Target{Name: "crashy", URL: "tcp://" + l.Addr().String()}
	res := runOne(t, tg, Case{Run: func(t *T) {
		c := t.Connect(t.DefaultConnect())
		c.SendRaw([]byte{0x82, 0x00}, "hostile SUBSCRIBE")
		c.ExpectClosed()
	}})
	if res.Status != reports.Fail || !strings.Contains(res.Message, "crashed") {
		t.Fatalf("status %s (%s), want fail naming the crash", res.Status, res.Message)
	}
}
