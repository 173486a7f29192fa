package fuzz

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

var update = flag.Bool("update", false, "rewrite the seed corpora under testdata/fuzz")

// seed is one corpus entry of a target.
type seed struct {
	name string
	data []byte
}

// targetSeeds maps a target's name without its "Fuzz" prefix to its seeds. The prefix is added
// when the directory name is built: OSS-Fuzz finds a target by grepping the package for its
// name and needs exactly one file to mention it (see doc.go).
var targetSeeds = map[string]func() []seed{
	"StrictLenient": decodeSeeds,
	"RoundTrip":     func() []seed { return generatorSeeds(false) },
	"Generator":     func() []seed { return generatorSeeds(true) },
	"Stream":        streamSeeds,
	"BrokerSession": brokerSeeds,
	"ClientSession": clientSeeds,
	"PcapSession":   pcapSeeds,
	"DiffPaho":      func() []seed { return diffSeeds(pahoPeer) },
	"DiffMochi":     func() []seed { return diffSeeds(mochiPeer) },
}

// diffSeeds are the corpus packets of the peer's versions.
func diffSeeds(pr *peer) []seed {
	var out []seed
	for i, v := range pr.versions {
		for _, s := range gen.Corpus(v) {
			if len(s.Case.Bytes) <= maxSeed {
				out = append(out, seed{s.Name, append([]byte{byte(i)}, s.Case.Bytes...)})
			}
		}
	}
	return out
}

// maxSeed bounds a seed's size: the engine mutates and minimizes whole inputs, and a few 64 KiB
// seeds slow every target down by orders of magnitude.
const maxSeed = 2048

// versionIndex is the decode selector's version part (decodeOptions).
func versionIndex(v codec.Version) byte {
	switch v {
	case codec.V31:
		return 0
	case codec.V311:
		return 1
	}
	return 2
}

func decodeSeeds() []seed {
	var out []seed
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		for _, s := range gen.Corpus(v) {
			if len(s.Case.Bytes) > maxSeed {
				continue // long fields are the generator targets' business; big seeds slow fuzzing
			}
			sel := versionIndex(v) + 3*byte(s.Case.Sender)
			out = append(out, seed{s.Name, append([]byte{sel}, s.Case.Bytes...)})
		}
	}
	// 3.1 ("MQIsdp"), whose CONNECT the codec also reads.
	for _, c := range []*codec.Connect{
		{ProtocolName: "MQIsdp", ProtocolLevel: 3, CleanStart: true, KeepAlive: 60, ClientID: "v31-client"},
		{ProtocolName: "MQIsdp", ProtocolLevel: 3, ClientID: "w", WillFlag: true,
			Will: codec.Will{QoS: 2, Topic: "w/t", Payload: []byte("gone")}, UsernameFlag: true, Username: "u",
			PasswordFlag: true, Password: []byte("p")},
	} {
		b, _ := c.AppendTo(nil, codec.V31)
		out = append(out, seed{"v31-connect-" + c.ClientID, append([]byte{versionIndex(codec.V31) + 3}, b...)})
	}
	pub, _ := (&codec.Pubrel{PacketID: 9}).AppendTo(nil, codec.V31)
	pub[0] |= 8 // 3.1 sets DUP on a re-sent PUBREL
	out = append(out, seed{"v31-pubrel-dup", append([]byte{versionIndex(codec.V31) + 3}, pub...)})
	return out
}

// generatorSeeds finds, for each version, sender and packet type (and with defects, each rule),
// a short input from which the generator builds such a packet.
func generatorSeeds(defects bool) []seed {
	var out []seed
	seen := map[string]bool{}
	for i := 0; i < 30000; i++ {
		in := seedInput(i, 24+i%64)
		side := codec.Side(in[0] % 3)
		o := gen.Options{Sender: side}
		if defects {
			o.Defect = gen.Any
		}
		c := gen.Packet(in[1:], o)
		key := fmt.Sprintf("%s-%s-%s", c.Version, strings.ToLower(c.Type.String()), sideName(side))
		if defects {
			key = fmt.Sprintf("%s-%s-%s", c.Version, strings.ToLower(c.Type.String()), c.Defect)
			if !c.Want.Accept {
				key += "-" + c.Want.Rule
			}
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, seed{"v" + strings.ReplaceAll(key, ".", ""), in})
	}
	out = append(out, seed{"empty", nil})
	return out
}

func sideName(s codec.Side) string {
	return [...]string{"any", "client", "server"}[s]
}

// seedInput is a deterministic pseudo-random input of n bytes.
func seedInput(i, n int) []byte {
	b := make([]byte, n)
	x := uint32(i)*2654435761 + 977
	for j := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[j] = byte(x >> 3)
	}
	return b
}

func streamSeeds() []seed {
	var out []seed
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		var valid, all []byte
		for _, s := range gen.Corpus(v) {
			if len(s.Case.Bytes) > maxSeed {
				continue
			}
			if s.Case.Want.Accept {
				valid = append(valid, s.Case.Bytes...)
			}
		}
		vi := versionIndex(v)
		out = append(out, seed{fmt.Sprintf("v%d-all-valid-bytewise", v), append([]byte{vi, 0}, valid...)})
		out = append(out, seed{fmt.Sprintf("v%d-all-valid-chunks", v), append([]byte{vi, 3, 7, 1, 63}, valid...)})
		for _, s := range gen.Corpus(v) {
			if !s.Case.Want.Accept && len(s.Case.Bytes) <= maxSeed {
				all = append(all[:0], valid[:min(len(valid), 300)]...)
				all = append(all, s.Case.Bytes...)
				out = append(out, seed{s.Name + "-after-valid", append([]byte{vi | 0x80, 2, 5, 11}, all...)})
				all = all[:0]
			}
		}
		for i := 0; i < 12; i++ {
			sess := gen.NewSession(seedInput(i, 200), gen.SessionOptions{Version: v})
			out = append(out, seed{fmt.Sprintf("v%d-session-%d-unknown-version", v, i), append([]byte{0x40 | vi, 1, byte(i)}, sess.Bytes()...)})
		}
	}
	// A header announcing 256 MB followed by a few bytes: memory must follow what arrives.
	out = append(out, seed{"huge-remaining-length", []byte{1, 0, 0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0, 1, 'a'}})
	out = append(out, seed{"five-byte-length", []byte{1, 0, 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}})
	return out
}

// clientSessionSeeds are hand-written sessions that reach every part of a broker.
func clientSessionSeeds(v codec.Version) [][]byte {
	enc := func(ps ...codec.Packet) []byte {
		var b []byte
		for _, p := range ps {
			b, _ = p.AppendTo(b, v)
		}
		return b
	}
	conn := &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), CleanStart: true, ClientID: "seed"}
	will := &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), ClientID: "seed-will", WillFlag: true,
		Will: codec.Will{QoS: 1, Retain: true, Topic: "a/will", Payload: []byte("gone")}}
	sub := &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "a/#", QoS: 2}, {Filter: "+/b", QoS: 1}}}
	pubs := []codec.Packet{
		&codec.Publish{Topic: "a/b", Payload: []byte("q0")},
		&codec.Publish{QoS: 1, PacketID: 2, Topic: "a/b", Payload: []byte("q1")},
		&codec.Publish{QoS: 2, PacketID: 3, Topic: "a/b", Payload: []byte("q2")},
		&codec.Pubrel{PacketID: 3},
		&codec.Publish{QoS: 1, Retain: true, PacketID: 4, Topic: "a/r", Payload: []byte("kept")},
		&codec.Pingreq{},
		&codec.Unsubscribe{PacketID: 5, Filters: []string{"a/#"}},
	}
	full := enc(append([]codec.Packet{conn, sub}, pubs...)...)
	seeds := [][]byte{
		enc(conn),
		full,
		append(full, enc(&codec.Disconnect{})...),
		enc(will, sub, &codec.Publish{QoS: 2, PacketID: 7, Topic: "a/x", Payload: []byte("x")}),
		enc(conn, conn), // a second CONNECT
		enc(conn, &codec.Puback{PacketID: 99}, &codec.Pubrec{PacketID: 98}, &codec.Pubcomp{PacketID: 97}),
	}
	if v == codec.V5 {
		alias := &codec.Publish{QoS: 1, PacketID: 8, Topic: "a/b", Payload: []byte("aliased")}
		alias.Properties.SetTopicAlias(1).SetMessageExpiry(30)
		reuse := &codec.Publish{QoS: 1, PacketID: 9, Payload: []byte("by alias")}
		reuse.Properties.SetTopicAlias(1)
		subID := &codec.Subscribe{PacketID: 10, Subscriptions: []codec.Subscription{{Filter: "$share/g/a/+", QoS: 1}, {Filter: "a/b", QoS: 1, NoLocal: true, RetainHandling: 2}}}
		subID.Properties.SubscriptionIDs = []uint32{5}
		auth := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
		auth.Properties.SetAuthMethod("SCRAM-SHA-1")
		disc := &codec.Disconnect{ReasonCode: codec.ReasonDisconnectWithWill}
		disc.Properties.SetSessionExpiry(0)
		seeds = append(seeds, enc(conn, subID, alias, reuse), enc(will, auth), enc(will, disc))
	}
	return seeds
}

func brokerSeeds() []seed {
	var out []seed
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		for i, b := range clientSessionSeeds(v) {
			out = append(out, seed{fmt.Sprintf("v%d-session-%d", v, i), b})
		}
		conn, _ := (&codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), CleanStart: true, ClientID: "seed"}).AppendTo(nil, v)
		for _, s := range gen.Corpus(v) {
			if s.Case.Sender == codec.SideServer || s.Case.Type == codec.CONNECT || len(s.Case.Bytes) > maxSeed {
				continue
			}
			out = append(out, seed{s.Name + "-after-connect", append(append([]byte(nil), conn...), s.Case.Bytes...)})
		}
		for _, s := range gen.Corpus(v) {
			if s.Case.Type == codec.CONNECT && len(s.Case.Bytes) < maxSeed {
				out = append(out, seed{s.Name, s.Case.Bytes})
			}
		}
		for i := 0; i < 16; i++ {
			sess := gen.NewSession(seedInput(i, 300), gen.SessionOptions{Version: v, Defect: gen.Any})
			out = append(out, seed{fmt.Sprintf("v%d-generated-%d", v, i), sess.Bytes()})
		}
	}
	return out
}

func clientSeeds() []seed {
	var out []seed
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		sel := byte(0)
		if v == codec.V5 {
			sel = 1
		}
		enc := func(ps ...codec.Packet) []byte {
			var b []byte
			for _, p := range ps {
				b, _ = p.AppendTo(b, v)
			}
			return b
		}
		ok := enc(&codec.Connack{})
		flows := [][]byte{
			ok,
			enc(&codec.Connack{ReasonCode: refusedCode(v)}),
			enc(&codec.Connack{SessionPresent: true}),
			enc(&codec.Connack{}, &codec.Publish{Topic: "a/b", Payload: []byte("q0")},
				&codec.Publish{QoS: 1, PacketID: 1, Topic: "a/b", Payload: []byte("q1")},
				&codec.Publish{QoS: 2, PacketID: 2, Topic: "a/c", Payload: []byte("q2")}, &codec.Pingresp{}),
			enc(&codec.Connack{}, &codec.Publish{QoS: 2, PacketID: 2, Topic: "a/c", Payload: []byte("q2")}, &codec.Pubrel{PacketID: 2}),
			enc(&codec.Connack{}, &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{1}}, &codec.Puback{PacketID: 1}),
			enc(&codec.Connack{}, &codec.Disconnect{}),
			enc(&codec.Connack{}, &codec.Unsuback{PacketID: 3}, &codec.Pubcomp{PacketID: 4}),
		}
		if v == codec.V5 {
			alias := &codec.Publish{QoS: 1, PacketID: 5, Topic: "a/b", Payload: []byte("x")}
			alias.Properties.SetTopicAlias(1)
			var props codec.Properties
			props.SetReceiveMaximum(1).SetMaximumQoS(1).SetTopicAliasMaximum(2).SetServerKeepAlive(1).SetAssignedClientID("x")
			flows = append(flows, enc(&codec.Connack{}, alias), enc(&codec.Connack{Properties: props}),
				enc(&codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}, &codec.Connack{}),
				enc(&codec.Connack{}, &codec.Disconnect{ReasonCode: codec.ReasonServerShuttingDown}))
		}
		for i, f := range flows {
			for _, act := range []byte{0, 6} {
				out = append(out, seed{fmt.Sprintf("v%d-flow-%d-act%d", v, i, act), append([]byte{sel | act}, f...)})
			}
		}
		for _, s := range gen.Corpus(v) {
			if s.Case.Sender == codec.SideClient || s.Case.Type == codec.CONNACK || len(s.Case.Bytes) > maxSeed {
				continue
			}
			out = append(out, seed{s.Name + "-after-connack", append(append([]byte{sel}, ok...), s.Case.Bytes...)})
		}
	}
	return out
}

// pcapSeeds are inputs whose captures cover both versions, IPv4 and IPv6, pcap and pcapng,
// segment sizes from one byte up, and the disorder the builder adds.
func pcapSeeds() []seed {
	var out []seed
	for i := 0; i < 48; i++ {
		in := seedInput(i+5000, 40+i*7)
		conv, _, err := buildCapture(in)
		if err != nil {
			continue
		}
		out = append(out, seed{fmt.Sprintf("%v-%d-client-%d-server-%d", conv.version, i, len(conv.client), len(conv.server)), in})
	}
	return out
}

func refusedCode(v codec.Version) codec.ReasonCode {
	if v == codec.V5 {
		return codec.ReasonNotAuthorized
	}
	return codec.ConnRefusedNotAuthorized
}

// marshalSeed renders data in the native corpus format ("go test fuzz v1").
func marshalSeed(data []byte) []byte {
	return []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data))
}

// TestWriteSeeds checks that the committed seed corpora are what the generator produces, and
// rewrites them with -update. Seeds are the files named seed-*; other files in the directories
// are crashers kept as regression inputs and are left alone.
func TestWriteSeeds(t *testing.T) {
	names := make([]string, 0, len(targetSeeds))
	for n := range targetSeeds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		dir := filepath.Join("testdata", "fuzz", "Fuzz"+n)
		want := map[string][]byte{}
		for _, s := range targetSeeds[n]() {
			file := "seed-" + sanitize(s.name)
			if _, dup := want[file]; dup {
				t.Fatalf("%s: two seeds named %s", n, file)
			}
			want[file] = marshalSeed(s.data)
		}
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
			for _, f := range old {
				os.Remove(f)
			}
			for f, b := range want {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%s: %d seeds", n, len(want))
			continue
		}
		have, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
		if len(have) != len(want) {
			t.Errorf("%s: %d seed files, the generator makes %d (run go test ./fuzz -run TestWriteSeeds -update)", dir, len(have), len(want))
			continue
		}
		for f, b := range want {
			got, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil || !bytes.Equal(got, b) {
				t.Errorf("%s/%s differs from the generator's (run go test ./fuzz -run TestWriteSeeds -update)", dir, f)
				break
			}
		}
	}
}

// sanitize keeps seed file names portable.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
