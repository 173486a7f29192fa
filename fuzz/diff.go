package fuzz

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

// A peer is another Go MQTT parser decoding the same bytes as mqttspec's strict codec.
type peer struct {
	name     string
	target   string // the differential target's name without "FuzzDiff"
	versions []codec.Version
	// sender is the side whose packets the peer's receive path handles (mochi is a broker and
	// validates client packets; paho's packets package reads either), for our direction rules.
	sender codec.Side
	// parse decodes the packet at the front of b as the peer's receive path does and converts
	// it to codec's structs. complete is false when the peer would need more bytes than b holds
	// (it would wait for them); n is what it took.
	parse func(v codec.Version, b []byte) (p codec.Packet, n int, complete bool, err error)
	// view reduces our decoded packet to what the peer's structs can express (a property
	// present with its zero value, where the peer has no presence flag, is absent; reserved
	// bits the peer does not keep are zero). It may modify p.
	view func(p codec.Packet)
	// skip reports bytes the peer does not claim to handle (paho.golang speaks only 5.0).
	skip func(v codec.Version, b []byte) bool
}

// Disagreement classes.
const (
	peerAcceptsInvalid = "peer-accepts-invalid" // the codec rejects by a rule, the peer accepts
	peerRejectsValid   = "peer-rejects-valid"   // the codec accepts, the peer rejects
	fieldsDiffer       = "fields-differ"        // both accept, with different fields (or lengths)
	peerPanics         = "peer-panics"          // the peer's parser panics
)

// disagreement is one difference between the codec and a peer on one input.
type disagreement struct {
	class string
	// key groups disagreements that are the same difference: the class and our rule, the
	// packet type and the peer's error, or the first differing field.
	key    string
	detail string
}

func (d *disagreement) Error() string { return d.key + ": " + d.detail }

var digits = regexp.MustCompile(`0x[0-9a-fA-F]+|[0-9]+`)

// errKey normalizes a peer's error message into a grouping key (numbers removed).
func errKey(err error) string {
	s := digits.ReplaceAllString(err.Error(), "N")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// safeParse calls the peer, turning a panic into an error that says so.
func safeParse(pr *peer, v codec.Version, b []byte) (p codec.Packet, n int, complete bool, err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			p, n, complete, err, panicked = nil, 0, true, fmt.Errorf("panic: %v", r), true
		}
	}()
	p, n, complete, err = pr.parse(v, b)
	return
}

// compare decodes b with the codec and with pr, and returns their disagreement, or nil when they
// agree (both reject count as agreeing: the reasons are not compared).
func compare(pr *peer, v codec.Version, b []byte) *disagreement {
	if pr.skip != nil && pr.skip(v, b) {
		return nil
	}
	ours, n, err := codec.DecodeWith(codec.Options{Version: v, Sender: pr.sender}, b, nil)
	if errors.Is(err, codec.ErrShort) {
		return nil // incomplete for us too: nothing to compare
	}
	var rule string
	var ce *codec.Error
	if errors.As(err, &ce) {
		rule = ce.Rule
	} else if err != nil {
		return &disagreement{class: "codec-error", key: "codec-error", detail: err.Error()}
	}
	theirs, pn, complete, perr, panicked := safeParse(pr, v, b)
	typ := "TYPE?"
	if len(b) > 0 {
		typ = codec.PacketType(b[0] >> 4).String()
	}
	switch {
	case panicked:
		return &disagreement{class: peerPanics, key: peerPanics + ":" + typ + ":" + errKey(perr),
			detail: fmt.Sprintf("%s panics on % X: %v", pr.name, b, perr)}
	case !complete && err != nil:
		return &disagreement{class: peerAcceptsInvalid, key: peerAcceptsInvalid + ":" + rule + " (waits for more bytes)",
			detail: fmt.Sprintf("the codec rejects % X by %s [%s]; %s waits for more bytes", b, rule, ce.Cite(), pr.name)}
	case !complete:
		return &disagreement{class: fieldsDiffer, key: fieldsDiffer + ":" + typ + ":length",
			detail: fmt.Sprintf("the codec takes %d bytes of % X, %s needs more", n, b, pr.name)}
	case err != nil && perr == nil:
		return &disagreement{class: peerAcceptsInvalid, key: peerAcceptsInvalid + ":" + rule,
			detail: fmt.Sprintf("the codec rejects % X by %s [%s] (%v); %s accepts it", b, rule, ce.Cite(), ce, pr.name)}
	case err == nil && perr != nil:
		return &disagreement{class: peerRejectsValid, key: peerRejectsValid + ":" + typ + ":" + errKey(perr),
			detail: fmt.Sprintf("the codec accepts % X as %v; %s rejects it: %v", b, ours, pr.name, perr)}
	case err != nil:
		return nil // both reject
	}
	if pn != n {
		return &disagreement{class: fieldsDiffer, key: fieldsDiffer + ":" + typ + ":length",
			detail: fmt.Sprintf("the codec takes %d bytes of % X, %s %d", n, b, pr.name, pn)}
	}
	pr.view(ours)
	if d := gen.Diff(ours, theirs); d != "" {
		field := d
		if i := strings.IndexAny(field, ":[ "); i > 0 {
			field = field[:i]
		}
		return &disagreement{class: fieldsDiffer, key: fieldsDiffer + ":" + field,
			detail: fmt.Sprintf("% X: %s (codec != %s)", b, d, pr.name)}
	}
	return nil
}

// checkDiff compares the codec with pr on data[1:] (data[0] picks the version among the peer's)
// and returns an error for a disagreement that is not a known, documented one.
func checkDiff(pr *peer, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	v := pr.versions[int(data[0])%len(pr.versions)]
	d := compare(pr, v, data[1:])
	if d == nil || knownDiff(pr.name, d.key) != nil {
		return nil
	}
	return fmt.Errorf("new disagreement with %s (%v): %w", pr.name, v, d)
}

// peerIssue is a documented disagreement: what the peer does, and the statement it breaks.
type peerIssue struct {
	key       string // the disagreement key, or a prefix of it ending in "*"
	statement string
	note      string
}

func knownDiff(peerName, key string) *peerIssue {
	for i := range peerIssues[peerName] {
		k := peerIssues[peerName][i].key
		if k == key || (strings.HasSuffix(k, "*") && strings.HasPrefix(key, strings.TrimSuffix(k, "*"))) {
			return &peerIssues[peerName][i]
		}
	}
	return nil
}

// peerIssues are the documented disagreements per peer; docs/findings.md lists them with
// minimized reproducers and the campaign counts. A disagreement not covered here fails the
// differential targets.
var peerIssues = map[string][]peerIssue{
	"paho.golang": {
		{key: peerAcceptsInvalid + ":*", statement: "(one per codec rule)",
			note: "packets.ReadPacket checks framing only: every rule the codec enforces is accepted when broken"},
		{key: fieldsDiffer + ":Publish.Properties.SubscriptionIDs", statement: "MQTT-3.3.4-4",
			note: "Properties keeps one Subscription Identifier: a PUBLISH carrying several loses all but the last"},
		{key: peerRejectsValid + ":DISCONNECT:EOF", statement: "MQTT 5.0 §3.14.2.1",
			note: "a DISCONNECT with Remaining Length 0 (reason 0x00, no properties, allowed) fails with EOF"},
	},
	"mochi-mqtt": {
		{key: peerAcceptsInvalid + ":*", statement: "(one per codec rule)",
			note: "the decoders and validators check some rules; the campaign lists the ones they accept broken"},
		{key: fieldsDiffer + ":Disconnect.ReasonCode", statement: "MQTT 5.0 §3.14.2.2.1",
			note: "DisconnectDecode reads the reason code only when Remaining Length > 1: E0 01 04 becomes a normal disconnection"},
		{key: peerRejectsValid + ":AUTH:malformed packet: offset byte out of range: malformed packet: reason code", statement: "MQTT 5.0 §3.15.2.1",
			note: "an AUTH with Remaining Length 0 (reason 0x00, no properties, allowed) is rejected"},
		{key: peerRejectsValid + ":CONNECT:protocol violation: password flag set but no value", statement: "MQTT 5.0 §3.1.3.5",
			note: "ConnectValidate refuses a zero-length password, which is valid binary data"},
		{key: peerRejectsValid + ":CONNECT:protocol violation: will flag no payload", statement: "MQTT 5.0 §3.1.3.4",
			note: "ConnectValidate refuses a zero-length Will Payload, which is valid binary data"},
		{key: peerPanics + ":SUBSCRIBE:*", statement: "MQTT-4.13.1-1",
			note: "SubscribeDecode (5.0) indexes past the buffer when a topic filter has no options byte; the broker has no recover and exits"},
	},
}

// minimizePacket shrinks the packet b while keep holds: its body with the remaining length
// rewritten to match (so that removing bytes keeps the framing), then the raw bytes, whichever
// ends smaller.
func minimizePacket(b []byte, keep func([]byte) bool) []byte {
	best := minimizeBytes(b, keep)
	if len(b) < 2 {
		return best
	}
	x, n, ok := vbi(b[1:])
	if !ok || int(x) != len(b)-1-n {
		return best
	}
	frame := func(body []byte) []byte {
		out := []byte{b[0]}
		for v := len(body); ; {
			c := byte(v & 0x7F)
			v >>= 7
			if v > 0 {
				out = append(out, c|0x80)
				continue
			}
			out = append(out, c)
			break
		}
		return append(out, body...)
	}
	body := b[1+n:]
	if !keep(frame(body)) {
		return best // the original header form matters (non-minimal or too long)
	}
	body = minimizeBytes(body, func(c []byte) bool { return keep(frame(c)) })
	if len(body) == 0 || keep(frame(nil)) {
		body = nil
	}
	if f := frame(body); len(f) < len(best) {
		return f
	}
	return best
}

// minimizeBytes shrinks b by delta debugging (chunks, then single bytes) while keep holds.
func minimizeBytes(b []byte, keep func([]byte) bool) []byte {
	cur := append([]byte(nil), b...)
	for chunk := max(len(cur)/2, 1); chunk >= 1 && len(cur) > 0; {
		reduced := false
		for i := 0; i+chunk <= len(cur); {
			c := append(append([]byte(nil), cur[:i]...), cur[i+chunk:]...)
			if keep(c) {
				cur, reduced = c, true
				continue
			}
			i += chunk
		}
		if !reduced {
			chunk /= 2
		}
	}
	return cur
}
