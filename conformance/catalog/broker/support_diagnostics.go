package broker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// The size rules for Reason String and User Property (a server leaves them out of a packet that
// would otherwise exceed the client's Maximum Packet Size) and the Request Problem Information
// rule (with 0, they stay out of most packets) only bind a server that puts them in. A case
// about them first makes the server show that it does: it asks, without a size limit and with
// Request Problem Information 1, the questions servers like to explain (a denied topic, nobody
// subscribed, an unknown filter), and skips when no answer carries either property — a pass
// there would say nothing about the server.

// stimulus is one exchange after the CONNACK: the packets the client sends (fresh each call),
// the type of the server's answer, and a description for the transcript and the skip message.
type stimulus struct {
	what string
	want codec.PacketType
	pkts func() []codec.Packet
}

// hasDiagnostics reports whether p carries a Reason String or a User Property.
func hasDiagnostics(p codec.Packet) bool {
	pr := codec.PropertiesOf(p)
	return pr != nil && (pr.Has(codec.PropReasonString) || pr.Has(codec.PropUserProperty))
}

// bareSize is the encoded size of p without its Reason String and User Properties. It changes p.
func bareSize(t *c.T, p codec.Packet) uint32 {
	if pr := codec.PropertiesOf(p); pr != nil {
		pr.Clear(codec.PropReasonString)
		pr.Clear(codec.PropUserProperty)
	}
	return packetSize(t, p)
}

// explained is a stimulus whose answer carried a Reason String or User Property, and the
// Maximum Packet Size that answer exceeds with them and fits without them (and that still admits
// the server's CONNACK).
type explained struct {
	stimulus
	limit uint32
}

// connackSize is the size of the server's CONNACK to a plain CONNECT (a limit below it would
// leave the server nothing it could answer the CONNECT with).
func connackSize(t *c.T) uint32 {
	m := t.ConnectLabel("measure", t.DefaultConnect())
	defer m.Disconnect()
	return packetSize(t, m.Connack)
}

// findExplained tries each stimulus on a probe connection with Request Problem Information 1 and
// no size limit and returns those whose first answer, of the stimulus's type, carries a Reason
// String or User Property. It skips the case when none does, naming what was tried and, when the
// target descriptor names no denied topic, the flag that would add the usual source of
// explanations.
func findExplained(t *c.T, stimuli ...stimulus) []explained {
	floor := connackSize(t)
	var found []explained
	var tried []string
	for _, s := range stimuli {
		want := s.want
		p := t.DefaultConnect()
		p.Properties.SetRequestProblemInfo(1)
		re := probeWith(t, p, s.pkts()...)
		switch {
		case re.packet == nil || re.packet.Type() != want:
			tried = append(tried, fmt.Sprintf("%s: no %v (%v)", s.what, want, re.packet))
			continue
		case !hasDiagnostics(re.packet):
			tried = append(tried, fmt.Sprintf("%s: %v without them", s.what, want))
			continue
		}
		full := packetSize(t, re.packet)
		limit := max(full-1, bareSize(t, re.packet), floor)
		if limit >= full {
			tried = append(tried, fmt.Sprintf("%s: %v of %d bytes, no larger than the CONNACK", s.what, want, full))
			continue
		}
		t.Logf("%s: the server's %v is %d bytes with its Reason String/User Property; Maximum Packet Size %d leaves them no room", s.what, want, full, limit)
		found = append(found, explained{s, limit})
	}
	if len(found) == 0 {
		hint := ""
		// A denied topic adds a refusal only to the answers that can refuse it.
		refusable := slices.ContainsFunc(stimuli, func(s stimulus) bool {
			return s.want == codec.PUBACK || s.want == codec.PUBREC || s.want == codec.SUBACK
		})
		if refusable && !t.Caps.Has(c.FeatureDeniedTopic) {
			hint = "; a denied topic (--denied-topic) would add a refusal, where servers usually explain"
		}
		t.Skipf("no answer from the server carried a Reason String or User Property (Request Problem Information 1, no size limit), so the rule about them cannot be exercised: %s%s", strings.Join(tried, "; "), hint)
	}
	return found
}

// limitedConnect connects with Request Problem Information 1 and Maximum Packet Size limit.
func limitedConnect(t *c.T, label string, limit uint32) *c.Conn {
	p := t.DefaultConnect()
	p.Properties.SetMaximumPacketSize(limit).SetRequestProblemInfo(1)
	return t.ConnectLabel(label, p)
}

// deniedPublish is a stimulus publishing at qos to the target's denied topic (nil when the
// descriptor names none).
func deniedPublish(t *c.T, qos byte) []stimulus {
	if !t.Caps.Has(c.FeatureDeniedTopic) {
		return nil
	}
	want := codec.PUBACK
	if qos == 2 {
		want = codec.PUBREC
	}
	return []stimulus{{what: fmt.Sprintf("QoS %d PUBLISH to the denied topic", qos), want: want, pkts: func() []codec.Packet {
		return []codec.Packet{&codec.Publish{Topic: t.Target.DeniedTopic, QoS: qos, PacketID: 9, Payload: []byte("x")}}
	}}}
}

// publishNobody is a stimulus publishing at qos (1 or 2) to a topic nobody subscribed to.
func publishNobody(t *c.T, qos byte) stimulus {
	want := codec.PUBACK
	if qos == 2 {
		want = codec.PUBREC
	}
	return stimulus{what: fmt.Sprintf("QoS %d PUBLISH nobody subscribed to", qos), want: want, pkts: func() []codec.Packet {
		return []codec.Packet{&codec.Publish{Topic: t.Topic("nobody"), QoS: qos, PacketID: 9, Payload: []byte("x")}}
	}}
}

// unsubscribeNever is a stimulus unsubscribing (with a User Property) from a filter that was
// never subscribed: 0x11 No subscription existed is where servers explain.
func unsubscribeNever(t *c.T) stimulus {
	return stimulus{what: "UNSUBSCRIBE from a filter never subscribed", want: codec.UNSUBACK, pkts: func() []codec.Packet {
		u := &codec.Unsubscribe{PacketID: 9, Filters: []string{t.Topic("never")}}
		u.Properties.AddUser("mqttspec", "echo-me")
		return []codec.Packet{u}
	}}
}

// send sends the stimulus's packets on conn.
func (s stimulus) send(conn *c.Conn) {
	for _, p := range s.pkts() {
		conn.Send(p)
	}
}
