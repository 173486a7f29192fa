package replay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/internal/mosquittotest"
	"github.com/mqttspec/mqttspec/pcap"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func dialer(addr string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// committed loads a capture of pcap/testdata with its ports.
func committed(t *testing.T, file string) *pcap.Capture {
	t.Helper()
	b, err := os.ReadFile("../testdata/captures.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Captures []struct {
			File  string   `json:"file"`
			Ports []uint16 `json:"ports"`
		} `json:"captures"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Captures {
		if c.File == file {
			cp, err := pcap.CollectFile(filepath.Join("..", "testdata", file), pcap.Options{Ports: c.Ports})
			if err != nil {
				t.Fatal(err)
			}
			return cp
		}
	}
	t.Fatalf("%s not in captures.json", file)
	return nil
}

func showDiff(t *testing.T, r *Result) {
	t.Helper()
	for _, s := range r.Streams {
		if s.Skipped != "" || s.Equal() {
			continue
		}
		t.Logf("stream %d (%s → %s) err=%v", s.Stream, s.ClientID, s.ReplayID, s.Err)
		for _, l := range s.Diff {
			t.Logf("  %s", l)
		}
	}
}

// TestReplaySameBroker replays captures of mosquitto against a fresh mosquitto: every answer
// must be the same.
func TestReplaySameBroker(t *testing.T) {
	b := mosquittotest.Start(t)
	for _, file := range []string{"v311-qos.pcap", "v5-qos.pcapng", "burst.pcapng", "ipv6.pcapng"} {
		t.Run(file, func(t *testing.T) {
			cp := committed(t, file)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			r, err := Run(ctx, cp, Options{Dial: dialer(b.Addr), AsFast: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Streams) != len(cp.Conversations) {
				t.Fatalf("%d stream results for %d streams", len(r.Streams), len(cp.Conversations))
			}
			if n := r.Differences(); n != 0 {
				showDiff(t, r)
				t.Fatalf("%d streams answered differently", n)
			}
			for _, s := range r.Streams {
				if s.Skipped != "" || len(s.Replayed) == 0 || !strings.HasSuffix(s.ReplayID, "") || s.ReplayID == s.ClientID {
					t.Errorf("stream %d: skipped %q, %d answers, client id %q → %q", s.Stream, s.Skipped, len(s.Replayed), s.ClientID, s.ReplayID)
				}
			}
		})
	}
}

// TestReplayReferenceBroker replays the 3.1.1 capture against the in-process reference broker:
// first as it is, then with the broker limited to QoS 1, where the differences must show.
func TestReplayReferenceBroker(t *testing.T) {
	cp := committed(t, "v311-qos.pcap")
	addr := brokertest.Start(t, broker.Options{})
	r, err := Run(context.Background(), cp, Options{Dial: dialer(addr), AsFast: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Differences(); n != 0 {
		showDiff(t, r)
		t.Fatalf("%d streams answered differently from mosquitto", n)
	}

	limited := brokertest.Start(t, broker.Options{MaximumQoS: broker.Ptr[byte](1)})
	r, err = Run(context.Background(), cp, Options{Dial: dialer(limited), AsFast: true, StepTimeout: 2 * time.Second}) // generous: CI machines are loaded
	if err != nil {
		t.Fatal(err)
	}
	sub := r.Streams[0] // sub311 subscribed at QoS 2 and received QoS 0, 1 and 2 messages
	// What follows the downgraded message depends on how the target takes the client's PUBREC
	// for a QoS 1 message, so only the lines that must differ are pinned down.
	for _, l := range []Line{
		{' ', "CONNACK session_present=false rc=0x00"},
		{'-', "SUBACK id=1 rc=[0x02]"},
		{'+', "SUBACK id=1 rc=[0x01]"},
		{' ', `PUBLISH topic="test/q1" qos=1 id=#1 payload="one"`},
		{'-', `PUBLISH topic="test/q2" qos=2 id=#2 payload="two"`},
		{'+', `PUBLISH topic="test/q2" qos=1 id=#2 payload="two"`},
	} {
		if !slices.Contains(sub.Diff, l) {
			t.Errorf("subscriber diff lacks %q:\n%s", l, lines(sub.Diff))
		}
	}
	if r.Differences() == 0 {
		t.Error("no differences reported against a broker limited to QoS 1")
	}
}

func lines(ls []Line) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString("  " + l.String() + "\n")
	}
	return b.String()
}

// synthetic builds a capture directly: one stream, records from packets.
func synthetic(v codec.Version, recs ...pcap.Record) *pcap.Capture {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s := &pcap.Stream{Handshake: true, Version: v, Start: t0}
	cv := &pcap.Conversation{Stream: s}
	for i := range recs {
		r := &recs[i]
		r.Time = t0.Add(time.Duration(i) * 10 * time.Millisecond)
		r.Raw, _ = r.Packet.AppendTo(nil, v)
		r.Type = r.Packet.Type()
		r.Version = v
		cv.Records = append(cv.Records, *r)
	}
	s.End = recs[len(recs)-1].Time
	return &pcap.Capture{Summary: &pcap.Summary{Stats: pcap.Stats{First: t0, Last: s.End}, Streams: []*pcap.Stream{s}}, Conversations: []*pcap.Conversation{cv}}
}

// refConnack is the CONNACK the reference broker (default options) answers a v5 clean start
// with: the properties are compared, so a synthetic capture replayed against it carries them.
func refConnack() *codec.Connack {
	ca := &codec.Connack{}
	ca.Properties.SetReceiveMaximum(256).SetTopicAliasMaximum(100).SetReasonString("captured text")
	return ca
}

func c(p codec.Packet) pcap.Record { return pcap.Record{Dir: pcap.FromClient, Packet: p} }
func s(p codec.Packet) pcap.Record { return pcap.Record{Dir: pcap.FromServer, Packet: p} }

// TestReplayIdentifiers replays a session in which the captured server numbered its message 77:
// the target numbers its own, the client's PUBACK must follow the target's number, and the
// normalised answers compare equal.
func TestReplayIdentifiers(t *testing.T) {
	v := codec.V5
	cp := synthetic(v,
		c(&codec.Connect{ClientID: "ids", CleanStart: true, KeepAlive: 30}),
		s(refConnack()),
		c(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "ids/t", QoS: 1}}}),
		s(&codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{1}}),
		c(&codec.Publish{QoS: 1, PacketID: 2, Topic: "ids/t", Payload: []byte("x")}),
		s(&codec.Publish{QoS: 1, PacketID: 77, Topic: "ids/t", Payload: []byte("x")}),
		s(&codec.Puback{PacketID: 2}),
		c(&codec.Puback{PacketID: 77}),
		c(&codec.Pingreq{}),
		s(&codec.Pingresp{}),
	)
	addr := brokertest.Start(t, broker.Options{})
	r, err := Run(context.Background(), cp, Options{Dial: dialer(addr), AsFast: true, Suffix: "-t"})
	if err != nil {
		t.Fatal(err)
	}
	st := r.Streams[0]
	if !st.Equal() {
		t.Fatalf("diff:\n%s", lines(st.Diff))
	}
	if st.ReplayID != "ids-t" {
		t.Errorf("replayed client id %q, want ids-t", st.ReplayID)
	}
	// The target's id for its message, and the PUBACK the client sent.
	var targetID string
	for _, l := range st.Replayed {
		if strings.HasPrefix(l, "PUBLISH") {
			targetID = l
		}
	}
	if !strings.Contains(targetID, "id=#1") {
		t.Errorf("target PUBLISH %q", targetID)
	}
	var acks []string
	for _, x := range st.Sent {
		if strings.HasPrefix(x, "PUBACK") {
			acks = append(acks, x)
		}
	}
	if len(acks) != 1 || acks[0] == "PUBACK id=77 rc=0x00" {
		t.Errorf("client PUBACKs sent %v: the captured id 77 was not mapped to the target's", acks)
	}
}

// TestReplayDifferentAnswer: the captured server refused a subscription the target grants.
func TestReplayDifferentAnswer(t *testing.T) {
	cp := synthetic(codec.V311,
		c(&codec.Connect{ClientID: "diff", CleanStart: true, KeepAlive: 30}),
		s(&codec.Connack{}),
		c(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "d/t", QoS: 1}}}),
		s(&codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0x80}}),
		c(&codec.Disconnect{}),
	)
	addr := brokertest.Start(t, broker.Options{})
	r, err := Run(context.Background(), cp, Options{Dial: dialer(addr), AsFast: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Line{{' ', "CONNACK session_present=false rc=0x00"}, {'-', "SUBACK id=1 rc=[0x80]"}, {'+', "SUBACK id=1 rc=[0x01]"}}
	if st := r.Streams[0]; !slices.Equal(st.Diff, want) || r.Differences() != 1 {
		t.Errorf("diff:\n%s\nwant:\n%s", lines(st.Diff), lines(want))
	}
}

func TestReplaySkipsAndFailures(t *testing.T) {
	// A stream captured mid-way is skipped with a reason.
	cp := synthetic(codec.V311, c(&codec.Pingreq{}), s(&codec.Pingresp{}))
	before := runtime.NumGoroutine()
	r, err := Run(context.Background(), cp, Options{Dial: func(context.Context) (net.Conn, error) {
		t.Fatal("dialled for a skipped stream")
		return nil, nil
	}})
	if err != nil || len(r.Streams) != 1 || !strings.Contains(r.Streams[0].Skipped, "not a decodable CONNECT") {
		t.Fatalf("err %v streams %+v", err, r.Streams)
	}
	// A target that refuses connections: an error per stream, no hang, no goroutine left.
	cp = synthetic(codec.V311, c(&codec.Connect{ClientID: "x"}), s(&codec.Connack{}))
	refused := errors.New("connection refused (test)")
	r, err = Run(context.Background(), cp, Options{Dial: func(context.Context) (net.Conn, error) { return nil, refused }})
	if err != nil || !errors.Is(r.Streams[0].Err, refused) || r.Differences() != 1 {
		t.Fatalf("err %v stream err %v", err, r.Streams[0].Err)
	}
	// Goroutines of the runs may still be on their way out (and the runtime starts its own now
	// and then): wait a little before calling one left behind.
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); n > before && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if n > before {
		t.Errorf("%d goroutines after the runs, %d before", n, before)
	}
	if _, err := Run(context.Background(), cp, Options{}); err == nil {
		t.Error("no error without a target")
	}
}

// TestReplayTiming replays at 10× speed: the capture's 0.37 s must take at least a tenth of it,
// and cancelling the context stops a slow replay.
func TestReplayTiming(t *testing.T) {
	cp := committed(t, "v311-qos.pcap")
	addr := brokertest.Start(t, broker.Options{})
	span := cp.Summary.Last.Sub(cp.Summary.First)
	start := time.Now()
	r, err := Run(context.Background(), cp, Options{Dial: dialer(addr), Speed: 10})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < span/10 {
		t.Errorf("replay took %v, the capture spans %v: at 10× it cannot be shorter than %v", el, span, span/10)
	}
	if r.Differences() != 0 {
		showDiff(t, r)
		t.Error("differences at 10× speed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = Run(ctx, cp, Options{Dial: dialer(addr), Speed: 0.01}) // would take 37 s
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled replay: err %v after %v", err, time.Since(start))
	}
}

// aliasSession is a v5 client subscribed to its own topic that publishes with Topic Alias 1
// (set, then alias-only); the captured server delivered both messages with alias 7 of its own
// choosing. deliveries changes what the captured server delivered.
func aliasSession(deliveries ...*codec.Publish) *pcap.Capture {
	v := codec.V5
	connect := &codec.Connect{ClientID: "alias", CleanStart: true, KeepAlive: 30}
	connect.Properties.SetTopicAliasMaximum(10)
	set := &codec.Publish{Topic: "al/x", Payload: []byte("one")}
	set.Properties.SetTopicAlias(1)
	use := &codec.Publish{Payload: []byte("two")}
	use.Properties.SetTopicAlias(1)
	if deliveries == nil {
		d1 := &codec.Publish{Topic: "al/x", Payload: []byte("one")}
		d1.Properties.SetTopicAlias(7)
		d2 := &codec.Publish{Payload: []byte("two")}
		d2.Properties.SetTopicAlias(7)
		deliveries = []*codec.Publish{d1, d2}
	}
	recs := []pcap.Record{
		c(connect), s(refConnack()),
		c(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "al/#"}}}),
		s(&codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0}}),
		c(set), s(deliveries[0]), c(use), s(deliveries[1]),
		c(&codec.Pingreq{}), s(&codec.Pingresp{}),
	}
	cp := synthetic(v, recs...)
	// Collect would have resolved the client's aliases; synthetic records need it done here.
	var tab pcap.AliasTable
	for i := range cp.Conversations[0].Records {
		r := &cp.Conversations[0].Records[i]
		if p, ok := r.Packet.(*codec.Publish); ok && r.Dir == pcap.FromClient {
			if a, ok := tab.Apply(p); ok {
				r.Alias = &a
			}
		}
	}
	return cp
}

// TestReplayTopicAliases: the server's aliases are its own choice (resolved on both sides, the
// answers compare equal), and a client alias the target does not allow is sent as its topic.
func TestReplayTopicAliases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		max      *uint16
		rewrites int // client PUBLISH packets sent with the topic instead of the alias
	}{
		{"target allows aliases", nil, 0},
		{"target allows none", broker.Ptr[uint16](0), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := brokertest.Start(t, broker.Options{TopicAliasMaximum: tc.max})
			r, err := Run(context.Background(), aliasSession(), Options{Dial: dialer(addr), AsFast: true, Suffix: "-a"})
			if err != nil {
				t.Fatal(err)
			}
			st := r.Streams[0]
			if st.Err != nil {
				t.Fatal(st.Err)
			}
			pubs := 0
			for _, l := range st.Diff {
				if strings.HasPrefix(l.Text, "PUBLISH") || strings.HasPrefix(l.Text, "CONNACK") && l.Op == '~' {
					if strings.HasPrefix(l.Text, "PUBLISH") {
						pubs++
					}
					if l.Op != ' ' && !strings.HasPrefix(l.Text, "CONNACK") {
						t.Errorf("delivery differs: %s\n%s", l, lines(st.Diff))
					}
				}
			}
			if pubs != 2 {
				t.Errorf("%d deliveries compared, want 2:\n%s", pubs, lines(st.Diff))
			}
			n := 0
			for _, x := range st.Sent {
				if strings.Contains(x, "sent as its topic") {
					n++
					if !strings.Contains(x, `topic="al/x"`) {
						t.Errorf("rewritten PUBLISH %q lacks the topic", x)
					}
				}
			}
			if n != tc.rewrites {
				t.Errorf("%d PUBLISH sent with the topic instead of the alias, want %d: %q", n, tc.rewrites, st.Sent)
			}
		})
	}
}

// TestReplayContentDifferences plants a payload and a property difference in the captured
// deliveries of a v5 session and replays it against the reference broker: the skeletons align,
// and the two packets are reported as '~' changes with both sides and what differs.
func TestReplayContentDifferences(t *testing.T) {
	d1 := &codec.Publish{Topic: "al/x", Payload: []byte("planted")} // the client sent "one"
	d1.Properties.SetTopicAlias(7)
	d2 := &codec.Publish{Payload: []byte("two")}
	d2.Properties.SetTopicAlias(7)
	d2.Properties.AddUser("planted", "yes") // the client sent no User Property
	addr := brokertest.Start(t, broker.Options{})
	r, err := Run(context.Background(), aliasSession(d1, d2), Options{Dial: dialer(addr), AsFast: true})
	if err != nil {
		t.Fatal(err)
	}
	st := r.Streams[0]
	if st.Equal() || r.Differences() != 1 {
		t.Fatalf("planted differences not reported:\n%s", lines(st.Diff))
	}
	var tilde []Line
	for _, l := range st.Diff {
		switch l.Op {
		case '~':
			tilde = append(tilde, l)
		case '-', '+':
			t.Errorf("unaligned line %s: the skeletons should match\n%s", l, lines(st.Diff))
		}
	}
	if len(tilde) != 2 || len(st.Changes) != 2 {
		t.Fatalf("%d '~' lines, %d changes, want 2 of each:\n%s", len(tilde), len(st.Changes), lines(st.Diff))
	}
	want := []struct{ captured, replayed, differs string }{
		{`payload="planted"`, `payload="one"`, `payload: captured "planted", replayed "one"`},
		{`User Property="planted":"yes"`, `payload="two"`, `User Property: captured "planted":"yes", replayed absent`},
	}
	for i, w := range want {
		ch := st.Changes[i]
		if !strings.Contains(ch.Captured, w.captured) || !strings.Contains(ch.Replayed, w.replayed) ||
			!slices.Contains(ch.Differs, w.differs) || len(ch.Differs) != 1 {
			t.Errorf("change %d: %+v, want captured with %q, replayed with %q, differs %q", i, ch, w.captured, w.replayed, w.differs)
		}
		if !strings.Contains(tilde[i].Text, w.differs) {
			t.Errorf("line %q does not say %q", tilde[i], w.differs)
		}
	}
	js, err := json.Marshal(st)
	if err != nil || !strings.Contains(string(js), `"changes":[{"captured":`) {
		t.Errorf("JSON %s (%v) lacks the changes", js, err)
	}
}

// TestCompareDetailsRules covers the per-property rules one by one.
func TestCompareDetailsRules(t *testing.T) {
	pub := func(f func(p *codec.Properties)) *codec.Publish {
		p := &codec.Publish{Topic: "t", Payload: []byte("x")}
		f(&p.Properties)
		return p
	}
	none := func(*codec.Properties) {}
	for _, tc := range []struct {
		name   string
		a, b   codec.Packet
		differ bool
	}{
		{"expiry decremented within the slack", pub(func(p *codec.Properties) { p.SetMessageExpiry(100) }), pub(func(p *codec.Properties) { p.SetMessageExpiry(97) }), false},
		{"expiry beyond the slack", pub(func(p *codec.Properties) { p.SetMessageExpiry(100) }), pub(func(p *codec.Properties) { p.SetMessageExpiry(80) }), true},
		{"expiry on one side only", pub(func(p *codec.Properties) { p.SetMessageExpiry(100) }), pub(none), true},
		{"topic alias ignored", pub(func(p *codec.Properties) { p.SetTopicAlias(3) }), pub(func(p *codec.Properties) { p.SetTopicAlias(9) }), false},
		{"subscription identifier", pub(func(p *codec.Properties) { p.SubscriptionIDs = []uint32{1} }), pub(func(p *codec.Properties) { p.SubscriptionIDs = []uint32{2} }), true},
		{"user property order", pub(func(p *codec.Properties) { p.AddUser("a", "1").AddUser("b", "2") }), pub(func(p *codec.Properties) { p.AddUser("b", "2").AddUser("a", "1") }), true},
		{"correlation data", pub(func(p *codec.Properties) { p.SetCorrelationData([]byte{1}) }), pub(func(p *codec.Properties) { p.SetCorrelationData([]byte{2}) }), true},
		{"assigned client id is the broker's", &codec.Connack{Properties: *new(codec.Properties).SetAssignedClientID("auto-1")}, &codec.Connack{Properties: *new(codec.Properties).SetAssignedClientID("auto-2")}, false},
		{"assigned client id missing", &codec.Connack{Properties: *new(codec.Properties).SetAssignedClientID("auto-1")}, &codec.Connack{}, true},
		{"reason string text is the broker's", &codec.Puback{Properties: *new(codec.Properties).SetReasonString("a")}, &codec.Puback{Properties: *new(codec.Properties).SetReasonString("b")}, false},
		{"reason string presence is the broker's", &codec.Puback{Properties: *new(codec.Properties).SetReasonString("a")}, &codec.Puback{}, false},
		{"receive maximum", &codec.Connack{Properties: *new(codec.Properties).SetReceiveMaximum(10)}, &codec.Connack{Properties: *new(codec.Properties).SetReceiveMaximum(20)}, true},
		{"payload", &codec.Publish{Topic: "t", Payload: []byte("a")}, &codec.Publish{Topic: "t", Payload: []byte("b")}, true},
		{"same", pub(func(p *codec.Properties) { p.SetContentType("c") }), pub(func(p *codec.Properties) { p.SetContentType("c") }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := compareDetails(tc.a, tc.b, rules{expirySlack: 5})
			if (len(d) > 0) != tc.differ {
				t.Errorf("differences %q, want differ=%v", d, tc.differ)
			}
		})
	}
}

// TestReplayAliasCapture replays the committed Topic Alias capture against the reference broker
// (Topic Alias Maximum 5, as the captured server announced): the deliveries, whose aliases each
// server picks itself, and the Protocol Error DISCONNECT for the alias used before it was set
// compare equal; only the CONNACK's other properties differ.
func TestReplayAliasCapture(t *testing.T) {
	cp, err := pcap.CollectFile(filepath.Join("..", "testdata", "alias.pcap"), pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, broker.Options{TopicAliasMaximum: broker.Ptr[uint16](5)})
	r, err := Run(context.Background(), cp, Options{Dial: dialer(addr), AsFast: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Streams) != 2 {
		t.Fatalf("%d streams", len(r.Streams))
	}
	pubs := 0
	for _, st := range r.Streams {
		for _, l := range st.Diff {
			if strings.HasPrefix(l.Text, "CONNACK") {
				if l.Op != '~' || strings.Contains(l.Text, "Topic Alias Maximum") {
					t.Errorf("stream %d: %s, want only the CONNACK's other properties to differ", st.Stream, l)
				}
				continue
			}
			if l.Op != ' ' {
				t.Errorf("stream %d: %s\n%s", st.Stream, l, lines(st.Diff))
			}
			if strings.HasPrefix(l.Text, "PUBLISH") {
				pubs++
			}
		}
	}
	if pubs != 4 {
		t.Errorf("%d deliveries compared, want 4", pubs)
	}
}

// TestReplayRetainedDelivery: a retained message delivered on SUBSCRIBE is compared like any
// delivery — flags in the skeleton, payload and properties in full. The capture says the
// retained message carried "old"; the target delivers what the client retained, "new".
func TestReplayRetainedDelivery(t *testing.T) {
	retained := &codec.Publish{Topic: "ret/t", Retain: true, Payload: []byte("new")}
	captured := &codec.Publish{Topic: "ret/t", Retain: true, Payload: []byte("old")}
	cp := synthetic(codec.V5,
		c(&codec.Connect{ClientID: "ret", CleanStart: true, KeepAlive: 30}), s(refConnack()),
		c(retained),
		c(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "ret/#"}}}),
		s(&codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0}}),
		s(captured),
		c(&codec.Publish{Topic: "ret/t", Retain: true}), // clear it again
		c(&codec.Pingreq{}), s(&codec.Pingresp{}),
	)
	addr := brokertest.Start(t, broker.Options{})
	r, err := Run(context.Background(), cp, Options{Dial: dialer(addr), AsFast: true})
	if err != nil {
		t.Fatal(err)
	}
	st := r.Streams[0]
	want := Line{'~', `PUBLISH topic="ret/t" qos=0 retain: payload: captured "old", replayed "new"`}
	if !slices.Contains(st.Diff, want) || len(st.Changes) != 1 || !strings.Contains(st.Changes[0].Replayed, `payload="new"`) {
		t.Errorf("diff:\n%s\nwant %s", lines(st.Diff), want)
	}
}

// multiStream builds a capture of several streams; each record's time is given in milliseconds
// from the start.
func multiStream(v codec.Version, streams ...[]timedRec) *pcap.Capture {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	cp := &pcap.Capture{Summary: &pcap.Summary{Stats: pcap.Stats{First: t0}}}
	for id, recs := range streams {
		s := &pcap.Stream{ID: id, Handshake: true, Version: v, Start: t0.Add(time.Duration(recs[0].ms) * time.Millisecond)}
		cv := &pcap.Conversation{Stream: s}
		for _, tr := range recs {
			r := tr.rec
			r.Time = t0.Add(time.Duration(tr.ms) * time.Millisecond)
			r.Raw, _ = r.Packet.AppendTo(nil, v)
			r.Type, r.Version = r.Packet.Type(), v
			cv.Records = append(cv.Records, r)
			s.End = r.Time
		}
		cp.Summary.Streams = append(cp.Summary.Streams, s)
		cp.Conversations = append(cp.Conversations, cv)
		if s.End.After(cp.Summary.Last) {
			cp.Summary.Last = s.End
		}
	}
	return cp
}

type timedRec struct {
	ms  int
	rec pcap.Record
}

// TestReplayReconnect replays a client that subscribes on a persistent session, goes away, and
// comes back to the message published meanwhile: the second connection must not open before the
// first is closed on the target (or it would be a takeover), and the offline delivery is
// compared like any other (payload included).
func TestReplayReconnect(t *testing.T) {
	v := codec.V5
	connect := &codec.Connect{ClientID: "re", KeepAlive: 30}
	connect.Properties.SetSessionExpiry(300)
	first := *connect
	first.CleanStart = true
	resumed := &codec.Connack{SessionPresent: true}
	resumed.Properties = refConnack().Properties
	cp := multiStream(v,
		[]timedRec{
			{0, c(&first)}, {1, s(refConnack())},
			{2, c(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "re/t", QoS: 1}}})},
			{3, s(&codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{1}})},
			{4, c(&codec.Disconnect{})},
		},
		[]timedRec{
			{10, c(&codec.Connect{ClientID: "re-pub", CleanStart: true, KeepAlive: 30})}, {11, s(refConnack())},
			{12, c(&codec.Publish{Topic: "re/t", QoS: 1, PacketID: 1, Payload: []byte("while away")})},
			{13, s(&codec.Puback{PacketID: 1})},
			{14, c(&codec.Disconnect{})},
		},
		[]timedRec{
			{20, c(connect)}, {21, s(resumed)},
			{22, s(&codec.Publish{Topic: "re/t", QoS: 1, PacketID: 9, Payload: []byte("while away")})},
			{23, c(&codec.Puback{PacketID: 9})},
			{24, c(&codec.Disconnect{})},
		},
	)
	addr := brokertest.Start(t, broker.Options{})
	for run := range 3 { // the ordering must hold every time, not by luck
		r, err := Run(context.Background(), cp, Options{Dial: dialer(addr), AsFast: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := r.Differences(); n != 0 {
			showDiff(t, r)
			t.Fatalf("run %d: %d streams differ", run, n)
		}
		if got := r.Streams[2].Replayed; len(got) != 2 || !strings.Contains(got[0], "session_present=true") || !strings.Contains(got[1], `payload="while away"`) {
			t.Fatalf("run %d: the reconnected client got %q", run, got)
		}
	}
}

// TestReplayReconnectAfterServerClose: the server closed the first connection (a Protocol
// Error) and the client reconnected at once. Without waiting for the first replay to end, the
// second CONNECT can reach the target first and take the session over: the first connection
// would then see DISCONNECT 0x8E instead of the captured 0x82.
func TestReplayReconnectAfterServerClose(t *testing.T) {
	v := codec.V5
	bad := &codec.Publish{Payload: []byte("x")}
	bad.Properties.SetTopicAlias(3) // never set
	connect := &codec.Connect{ClientID: "again", CleanStart: true, KeepAlive: 30}
	cp := multiStream(v,
		[]timedRec{{0, c(connect)}, {1, s(refConnack())}, {2, c(bad)}, {3, s(&codec.Disconnect{ReasonCode: 0x82})}},
		[]timedRec{{4, c(connect)}, {5, s(refConnack())}, {6, c(&codec.Disconnect{})}},
	)
	addr := brokertest.Start(t, broker.Options{})
	for run := range 5 {
		r, err := Run(context.Background(), cp, Options{Dial: dialer(addr), AsFast: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := r.Differences(); n != 0 {
			showDiff(t, r)
			t.Fatalf("run %d: %d streams differ", run, n)
		}
	}
}

// slowUpstream is a proxy to addr that holds each chunk a client sends on its first connection
// for delay before passing it on: the target then takes that client's packets late, as a loaded
// broker may.
func slowUpstream(t *testing.T, addr string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(c, up); c.Close() }()
			go func(slow bool) {
				defer up.Close()
				buf := make([]byte, 4096)
				for {
					_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
					k, err := c.Read(buf)
					if k > 0 {
						if slow {
							time.Sleep(delay)
						}
						if _, werr := up.Write(buf[:k]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}(n == 0)
		}
	}()
	return ln.Addr().String()
}

// TestReplayAwaitsAnswersBeforeOtherStreams: a subscriber's SUBACK was captured before another
// client published. If the publisher went ahead once the SUBSCRIBE was written, a target slow
// to read it would route the QoS 0 message before the subscription existed, and the replay
// would report a lost message the target never lost.
func TestReplayAwaitsAnswersBeforeOtherStreams(t *testing.T) {
	v := codec.V311
	msg := &codec.Publish{Topic: "order/t", Payload: []byte("after suback")}
	cp := multiStream(v,
		[]timedRec{
			{0, c(&codec.Connect{ClientID: "order-sub", CleanStart: true, KeepAlive: 30})}, {1, s(&codec.Connack{})},
			{2, c(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "order/t"}}})},
			{3, s(&codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0}})},
			{12, s(msg)},
			{20, c(&codec.Disconnect{})},
		},
		[]timedRec{
			{10, c(&codec.Connect{ClientID: "order-pub", CleanStart: true, KeepAlive: 30})}, {11, s(&codec.Connack{})},
			{11, c(msg)},
			{12, c(&codec.Disconnect{})},
		},
	)
	addr := slowUpstream(t, brokertest.Start(t, broker.Options{}), 150*time.Millisecond)
	r, err := Run(context.Background(), cp, Options{Dial: dialer(addr), AsFast: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Differences(); n != 0 {
		showDiff(t, r)
		t.Fatalf("%d streams differ", n)
	}
}

// TestServerAtCapturesSteppingBack checks serverAt's count of captured server packets before a
// time on a stream whose capture clock steps back: plan sorts the times once so serverAt can
// search them, and a count must still include every earlier packet wherever it sits in the
// capture.
func TestServerAtCapturesSteppingBack(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	cv := &pcap.Conversation{
		Stream: &pcap.Stream{Version: codec.V311},
		Records: []pcap.Record{
			{Time: at(0), Dir: pcap.FromClient, Type: codec.CONNECT, Packet: &codec.Connect{ClientID: "c"}},
			{Time: at(30), Dir: pcap.FromServer, Type: codec.CONNACK, Packet: &codec.Connack{}},
			{Time: at(10), Dir: pcap.FromServer, Type: codec.PINGRESP, Packet: &codec.Pingresp{}}, // the clock stepped back
			{Time: at(50), Dir: pcap.FromServer, Type: codec.PINGRESP, Packet: &codec.Pingresp{}},
			{Time: at(20), Dir: pcap.FromServer, Type: codec.PINGRESP, Packet: &codec.Pingresp{}},
		},
	}
	p := plan(cv, &Options{})
	for _, tc := range []struct {
		ms, want int
	}{
		{0, 0}, {10, 0}, {11, 1}, {20, 1}, {25, 2}, {30, 2}, {31, 3}, {50, 3}, {51, 4}, {1000, 4},
	} {
		if got := p.serverAt(at(tc.ms)); got != tc.want {
			t.Errorf("serverAt(+%d ms) = %d, want %d (packets strictly before)", tc.ms, got, tc.want)
		}
	}
}
