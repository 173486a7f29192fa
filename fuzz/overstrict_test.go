package fuzz

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

var reviewExecs = flag.Int("diff.review", 0, "search this many inputs for packets both peers accept and the codec rejects (0: skip)")

// overStrict is the review list of docs/findings.md: per codec rule, a minimized 5.0 client
// packet that paho.golang and mochi-mqtt both accept and the codec rejects by that rule. An
// over-strict codec becomes false failures against real brokers, so each row names the
// statement that justifies the rejection; TestOverStrictReviewList keeps the rows true.
var overStrict = []struct {
	rule string
	hex  string
}{
	{"ack-packet-id-zero", "40 02 00 00"},
	{"auth-data-without-method", "F0 05 00 03 16 00 00"},
	{"connack-reason-code", "20 03 00 21 00"},
	{"connack-reserved-flags", "20 03 54 A8 00"},
	{"connack-session-present-on-error", "20 03 01 80 00"},
	{"disconnect-reason-code", "E0 01 C5"},
	{"filter-hash", "A2 07 FF FF 00 00 02 61 23"},
	{"filter-plus", "A2 07 77 B3 00 00 02 61 2B"},
	{"property-duplicate", "E0 0F 00 0D 1F 00 00 1F 00 00 26 00 00 00 02 70 70"},
	{"property-length", "E0 02 81 5E"},
	{"property-value", "20 05 00 00 02 25 6D"},
	{"puback-reason-code", "40 03 D2 54 7B"},
	{"pubcomp-reason-code", "70 03 9E BA 83"},
	{"pubrec-reason-code", "50 03 1F 00 62"},
	{"pubrel-reason-code", "62 03 C0 56 C0"},
	{"response-topic-wildcard", "3B 0D 00 00 00 02 08 08 00 02 2B 30 23 FF FE"},
	{"retain-handling-3", "82 07 00 01 00 00 01 23 35"},
	{"shared-filter-invalid", "A2 0D 61 90 00 00 08 24 73 68 61 72 65 2F 67"},
	{"shared-name-empty", "A2 0E FF FE 00 00 09 24 73 68 61 72 65 2F 2F 61"},
	{"shared-no-local", "82 10 B3 0D 00 00 0A 24 73 68 61 72 65 2F 67 2F 74 2C"},
	{"suback-packet-id-zero", "90 03 00 00 00"},
	{"suback-reason-code", "90 04 18 1F 00 0E"},
	{"subscribe-options-reserved", "82 07 00 01 00 00 01 23 A8"},
	{"subscription-id-zero", "82 09 FF FF 02 0B 00 00 01 23 2C"},
	{"topic-empty", "A2 05 00 02 00 00 00"},
	{"trailing-bytes", "C0 01 87"},
	{"truncated", "82 0C 00 02 02 0B CC 00 04 7A 2F 23 61 29"},
	{"unsuback-reason-code", "B0 04 04 00 00 10"},
	{"utf8-invalid", "10 10 00 04 4D 51 54 54 05 82 53 B6 00 00 00 00 01 FF"},
	{"utf8-null", "10 10 00 04 4D 51 54 54 05 80 00 01 00 00 00 00 01 00"},
	{"varint-non-minimal", "C0 80 00"},
	{"varint-too-long", "C0 80 80 80 80 00"},
	{"will-qos-without-will", "10 0D 00 04 4D 51 54 54 05 10 FF FE 00 00 00"},
	{"will-topic-wildcard", "10 17 00 04 4D 51 54 54 05 34 D7 B9 00 00 01 2E 00 00 02 2B 30 00 02 43 E2"},
}

// bothAccept reports the codec's rule when it rejects b (a 5.0 client packet) and both peers
// take the whole of b without an error.
func bothAccept(b []byte) (*codec.Error, bool) {
	_, _, err := codec.DecodeWith(codec.Options{Version: codec.V5, Sender: codec.SideClient}, b, nil)
	var ce *codec.Error
	if !errors.As(err, &ce) {
		return nil, false
	}
	for _, pr := range []*peer{pahoPeer, mochiPeer} {
		if pr.skip != nil && pr.skip(codec.V5, b) {
			return nil, false
		}
		_, n, complete, perr, panicked := safeParse(pr, codec.V5, b)
		if panicked || !complete || perr != nil || n != len(b) {
			return nil, false
		}
	}
	return ce, true
}

func TestOverStrictReviewList(t *testing.T) {
	for _, r := range overStrict {
		b, err := hex.DecodeString(strings.ReplaceAll(r.hex, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		ce, ok := bothAccept(b)
		if !ok || ce.Rule != r.rule {
			t.Errorf("% X: listed for %s, now %v (both peers accept: %v)", b, r.rule, ce, ok)
		}
	}
}

// TestOverStrictSearch builds the review list (go test ./fuzz -run TestOverStrictSearch
// -diff.review 1000000): inputs as in TestDiffCampaign, 5.0 client packets, minimized per rule.
func TestOverStrictSearch(t *testing.T) {
	if *reviewExecs == 0 {
		t.Skip("search not requested (-diff.review N)")
	}
	r := rand.New(rand.NewSource(1))
	seeds := gen.Corpus(codec.V5)
	type hit struct {
		count int
		min   []byte
		err   *codec.Error
	}
	hits := map[string]*hit{}
	consider := func(b []byte, counted bool) {
		ce, ok := bothAccept(b)
		if !ok {
			return
		}
		h := hits[ce.Rule]
		if h == nil {
			h = &hit{}
			hits[ce.Rule] = h
		}
		if counted {
			h.count++
		}
		if h.min != nil && len(b) >= len(h.min) {
			return
		}
		rule := ce.Rule
		h.min = minimizePacket(b, func(c []byte) bool {
			ce2, ok := bothAccept(c)
			return ok && ce2.Rule == rule
		})
		h.err, _ = bothAccept(h.min)
	}
	for i := 0; i < *reviewExecs; i++ {
		consider(diffInput(r, codec.V5, codec.SideClient, seeds), true)
	}
	for i := 0; i < 200000; i++ { // shorter reproducers, as in TestDiffCampaign
		in := make([]byte, 8+r.Intn(64))
		r.Read(in)
		consider(gen.Packet(in, gen.Options{Version: codec.V5, Sender: codec.SideClient, Defect: gen.Any, MaxField: 3}).Bytes, false)
	}
	rules := make([]string, 0, len(hits))
	for k := range hits {
		rules = append(rules, k)
	}
	sort.Strings(rules)
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%d inputs; %d rules where both peers accept what the codec rejects\n", *reviewExecs, len(rules))
	for _, k := range rules {
		h := hits[k]
		fmt.Fprintf(&sb, "| `%s` | %d | %s | `% X` | %s |\n", k, h.count, h.err.Cite(), h.min, h.err)
	}
	t.Log(sb.String())
}
