package gen_test

import (
	"bytes"
	"errors"
	"math/rand"
	"sort"
	"strconv"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

// decode is the parser these tests hold the generator against: mqttspec's strict codec.
func decode(c *gen.Case) (codec.Packet, error) {
	p, n, err := codec.DecodeWith(codec.Options{Version: c.Version, Sender: c.Sender}, c.Bytes, nil)
	if err == nil && n != len(c.Bytes) {
		return nil, errors.New("decoder used only part of the bytes")
	}
	return p, err
}

// TestCasesAgreeWithCodec generates packets from random inputs for every version, sender and
// defect and checks each verdict against the strict codec: valid packets decode to exactly the
// generated fields, broken ones are rejected by the rule the generator names. It also checks
// that every defect reaches every rule it is meant to produce.
func TestCasesAgreeWithCodec(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	seen := map[string]int{}
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		for _, side := range []codec.Side{codec.SideUnknown, codec.SideClient, codec.SideServer} {
			for _, d := range append(gen.Defects(), gen.Any) {
				for i := 0; i < 600; i++ {
					data := make([]byte, r.Intn(400))
					r.Read(data)
					c := gen.Packet(data, gen.Options{Version: v, Sender: side, Defect: d, MaxField: 300})
					if c.Version != v || c.Sender != side {
						t.Fatalf("case has version %v side %v, asked for %v %v", c.Version, c.Sender, v, side)
					}
					// 3.1.1 has no properties: those defects fall back to valid packets.
					noProps := v == codec.V311 && (d == gen.DuplicateProperty || d == gen.BadProperty)
					if d != gen.Any && c.Defect != d && !(noProps && c.Defect == gen.Valid) {
						t.Fatalf("asked for %v, got %v", d, c.Defect)
					}
					p, err := decode(c)
					if err := c.Check(p, err); err != nil {
						t.Fatalf("%v\n%v", c, err)
					}
					if !c.Want.Accept {
						var e *codec.Error
						if !errors.As(err, &e) || e.Rule != c.Want.Rule {
							t.Fatalf("%v: codec says %v", c, err)
						}
						if e.Statement != c.Want.Statement || e.Reason != c.Want.Reason {
							t.Fatalf("%v: codec cites %s 0x%02X", c, e.Statement, byte(e.Reason))
						}
						seen[c.Want.Rule]++
					} else {
						seen["accept"]++
					}
				}
			}
		}
	}
	want := []string{"accept", "truncated", "trailing-bytes", "varint-too-long", "varint-non-minimal",
		"reserved-flags", "pubrel-flags", "subscribe-flags", "unsubscribe-flags", "disconnect-flags", "auth-flags",
		"publish-qos3", "publish-dup-qos0", "packet-id-zero", "packet-id-zero-server", "ack-packet-id-zero",
		"suback-packet-id-zero", "utf8-invalid", "utf8-null", "topic-name-wildcard", "will-topic-wildcard",
		"topic-empty", "topic-empty-no-alias", "filter-hash", "filter-plus", "shared-filter-invalid",
		"shared-name-empty", "shared-no-local", "subscribe-empty", "subscribe-options-reserved", "subscribe-qos3",
		"retain-handling-3", "unsubscribe-empty", "connect-protocol-name", "connect-protocol-level",
		"connect-reserved-flag", "will-qos-without-will", "will-qos3", "will-retain-without-will",
		"password-without-username", "connack-reserved-flags", "connack-session-present-on-error",
		"property-unknown", "property-not-allowed", "property-duplicate", "property-value", "property-length",
		"topic-alias-zero", "subscription-id-zero", "response-topic-wildcard", "publish-subscription-id-from-client",
		"disconnect-session-expiry-from-server", "auth-data-without-method", "connack-reason-code",
		"puback-reason-code", "pubrec-reason-code", "pubrel-reason-code", "pubcomp-reason-code",
		"suback-reason-code", "unsuback-reason-code", "disconnect-reason-code", "auth-reason-code"}
	var missing []string
	for _, w := range want {
		if seen[w] == 0 {
			missing = append(missing, w)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("rules never produced: %v", missing)
	}
}

func TestDiffKnowsEveryProperty(t *testing.T) {
	for _, id := range codec.PropIDs() {
		var a, b codec.Properties
		a.Set(id)
		b.Set(id)
		switch id {
		case codec.PropUserProperty:
			a.AddUser("k", "v")
			b.AddUser("k", "w")
		case codec.PropSubscriptionID:
			a.SubscriptionIDs, b.SubscriptionIDs = []uint32{1}, []uint32{2}
		default:
			// Present on both sides with equal values: equal (a property without a field
			// would show up as "cannot compare").
			if d := gen.Diff(&codec.Auth{Properties: a}, &codec.Auth{Properties: b}); d != "" {
				t.Errorf("%v: %s", id, d)
			}
			continue
		}
		if gen.Diff(&codec.Auth{Properties: a}, &codec.Auth{Properties: b}) == "" {
			t.Errorf("%v: values not compared", id)
		}
	}
	pa, pb := &codec.Publish{}, &codec.Publish{}
	pa.Properties.SetContentType("a")
	pb.Properties.SetContentType("b")
	if gen.Diff(pa, pb) == "" {
		t.Error("Content Type values not compared")
	}
}

func TestEmptyInputGivesValidPacket(t *testing.T) {
	for _, v := range []codec.Version{codec.VersionUnknown, codec.V311, codec.V5} {
		c := gen.Packet(nil, gen.Options{Version: v})
		if !c.Want.Accept || len(c.Bytes) < 2 {
			t.Fatalf("empty input: %v", c)
		}
		p, err := decode(c)
		if err := c.Check(p, err); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTypesRestrictsThePacketType(t *testing.T) {
	for i := 0; i < 200; i++ {
		c := gen.Packet([]byte{byte(i), byte(i * 7), 3, 9}, gen.Options{Version: codec.V5, Types: []codec.PacketType{codec.SUBACK}, Defect: gen.Any})
		if c.Type != codec.SUBACK {
			t.Fatalf("asked for SUBACK, got %v", c.Type)
		}
	}
	// A defect that no allowed type can carry falls back to a valid packet.
	c := gen.Packet([]byte{1, 2, 3}, gen.Options{Version: codec.V311, Types: []codec.PacketType{codec.PINGREQ}, Defect: gen.DuplicateProperty})
	if !c.Want.Accept || c.Defect != gen.Valid {
		t.Fatalf("PINGREQ cannot carry a duplicate property, got %v", c)
	}
}

func TestCheck(t *testing.T) {
	valid := gen.Packet([]byte{5, 5, 5}, gen.Options{Version: codec.V311, Types: []codec.PacketType{codec.PUBLISH}})
	broken := gen.Packet([]byte{5, 5, 5}, gen.Options{Version: codec.V311, Types: []codec.PacketType{codec.PUBLISH}, Defect: gen.EdgeValue})
	other := &codec.Publish{Topic: "not/what/was/encoded"}
	tests := []struct {
		name string
		c    *gen.Case
		got  codec.Packet
		err  error
		ok   bool
	}{
		{"valid accepted, same fields", valid, valid.Packet, nil, true},
		{"valid accepted, fields not compared", valid, nil, nil, true},
		{"valid rejected", valid, nil, errors.New("nope"), false},
		{"valid accepted, other fields", valid, other, nil, false},
		{"broken rejected", broken, nil, errors.New("bad"), true},
		{"broken accepted", broken, broken.Packet, nil, false},
	}
	for _, tc := range tests {
		if err := tc.c.Check(tc.got, tc.err); (err == nil) != tc.ok {
			t.Errorf("%s: Check = %v", tc.name, err)
		}
	}
}

func TestDiff(t *testing.T) {
	a := &codec.Publish{Topic: "a", QoS: 1, PacketID: 7, Payload: []byte{}}
	b := &codec.Publish{Topic: "a", QoS: 1, PacketID: 7}
	if d := gen.Diff(a, b); d != "" {
		t.Fatalf("empty and nil payload differ: %s", d)
	}
	b.PacketID = 8
	if d := gen.Diff(a, b); d != "Publish.PacketID: 7 != 8" {
		t.Fatalf("Diff = %q", d)
	}
	b.PacketID = 7
	b.Properties.SetMessageExpiry(0)
	if d := gen.Diff(a, b); d != "Publish.Properties: Message Expiry Interval present false != true" {
		t.Fatalf("Diff = %q", d)
	}
	if d := gen.Diff(a, &codec.Puback{}); d == "" {
		t.Fatal("PUBLISH and PUBACK compare equal")
	}
	if d := gen.Diff(nil, nil); d != "" {
		t.Fatal(d)
	}
}

func TestSessions(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	broken := 0
	for i := 0; i < 3000; i++ {
		data := make([]byte, r.Intn(600))
		r.Read(data)
		s := gen.NewSession(data, gen.SessionOptions{Defect: gen.Any})
		if s.Cases[0].Type != codec.CONNECT || !s.Cases[0].Want.Accept {
			t.Fatalf("session does not start with a valid CONNECT: %v", s.Cases[0])
		}
		dc := codec.NewDecoder(codec.VersionUnknown)
		dc.Sender = codec.SideClient
		b := s.Bytes()
		for _, c := range s.Cases {
			p, n, err := dc.Decode(b)
			if err := c.Check(p, err); err != nil {
				t.Fatalf("session packet: %v\n%v", c, err)
			}
			if !c.Want.Accept {
				broken++
				break
			}
			b = b[n:]
		}
		if s.Broken() == nil && len(b) != 0 {
			t.Fatalf("%d bytes left after the session's packets", len(b))
		}
	}
	if broken < 300 {
		t.Fatalf("only %d of 3000 sessions with Defect Any had a broken packet", broken)
	}
}

func TestParseDefect(t *testing.T) {
	for _, d := range append(gen.Defects(), gen.Any) {
		got, err := gen.ParseDefect(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDefect(%q) = %v, %v", d.String(), got, err)
		}
	}
	if _, err := gen.ParseDefect("broken"); err == nil {
		t.Error("ParseDefect accepted an unknown name")
	}
}

func TestCorpus(t *testing.T) {
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		seeds := gen.Corpus(v)
		names := map[string]bool{}
		types := map[codec.PacketType]bool{}
		rules := map[string]bool{}
		for _, s := range seeds {
			if names[s.Name] {
				t.Errorf("%v: duplicate seed name %s", v, s.Name)
			}
			names[s.Name] = true
			p, err := decode(s.Case)
			if err := s.Case.Check(p, err); err != nil {
				t.Errorf("%s: %v", s.Name, err)
			}
			if s.Case.Want.Accept {
				types[s.Case.Type] = true
			} else {
				rules[s.Case.Want.Rule] = true
			}
		}
		wantTypes := 14
		if v == codec.V5 {
			wantTypes = 15
		}
		if len(types) != wantTypes {
			t.Errorf("%v: valid seeds cover %d packet types, want %d", v, len(types), wantTypes)
		}
		if len(rules) < 30 {
			t.Errorf("%v: broken seeds cover only %d rules", v, len(rules))
		}
		again := gen.Corpus(v)
		for i := range seeds {
			if seeds[i].Name != again[i].Name || string(seeds[i].Case.Bytes) != string(again[i].Case.Bytes) {
				t.Fatalf("%v: corpus is not deterministic at %s", v, seeds[i].Name)
			}
		}
	}
}

func TestDictionaryText(t *testing.T) {
	toks := gen.Dictionary()
	byName := map[string][]byte{}
	for _, tk := range toks {
		if _, dup := byName[tk.Name]; dup {
			t.Errorf("duplicate token name %s", tk.Name)
		}
		byName[tk.Name] = tk.Value
	}
	lines := 0
	for _, line := range bytes.Split(gen.DictionaryText(), []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		lines++
		name, val, ok := bytes.Cut(line, []byte(`="`))
		if !ok || !bytes.HasSuffix(val, []byte(`"`)) {
			t.Fatalf("bad dictionary line %q", line)
		}
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				t.Fatalf("bad token name %q", name)
			}
		}
		got, err := strconv.Unquote(string(val[len(val)-1:]) + string(val[:len(val)-1]) + `"`)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if got != string(byName[string(name)]) {
			t.Fatalf("%s: line decodes to %x, token is %x", name, got, byName[string(name)])
		}
	}
	if lines != len(toks) || lines < 100 {
		t.Fatalf("%d lines for %d tokens", lines, len(toks))
	}
}
