package broker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// heldOpts configures receiveHeld.
type heldOpts struct {
	// ordered: the PUBLISH packets must match ms in their order (one topic and QoS, section 4.6);
	// otherwise in any order.
	ordered bool
	// limit > 0: a PUBLISH arriving while limit QoS 1/2 PUBLISH packets are unacknowledged (QoS 2:
	// until the PUBCOMP) fails the case — the client's Receive Maximum (MQTT-3.3.4-9).
	limit int
	// onArrive, when set, checks each PUBLISH as it arrives against those still unacknowledged
	// (the packet identifiers in use) before it joins them.
	onArrive func(p *codec.Publish, unacked []*codec.Publish)
}

// receiveHeld reads one PUBLISH for each of ms on conn and leaves each unacknowledged as long as
// the server keeps sending, so that as many messages are in flight at once as the server is
// willing to send. Nothing obliges a server to send a message before the previous one is
// acknowledged (Receive Maximum is an upper bound; ejabberd keeps one in flight), so when nothing
// arrives for a quiet window the oldest unacknowledged PUBLISH is acknowledged (QoS 2: PUBREC,
// and PUBCOMP when its PUBREL comes) and the reading goes on. It returns the PUBLISH packets in
// arrival order, every flow completed, and the most QoS 1/2 PUBLISH packets unacknowledged at
// once. Any other packet, a close, or a message missing for a whole step fails the case.
func receiveHeld(t *c.T, conn *c.Conn, o heldOpts, ms ...c.Matcher) ([]*codec.Publish, int) {
	type held struct {
		p      *codec.Publish
		pubrec bool // PUBREC sent, PUBREL awaited
	}
	var hs []*held // oldest first
	var got []*codec.Publish
	want := slices.Clone(ms)
	most := 0
	unacked := func() []*codec.Publish {
		out := make([]*codec.Publish, len(hs))
		for i, h := range hs {
			out[i] = h.p
		}
		return out
	}
	ackOldest := func() bool {
		for i, h := range hs {
			if h.pubrec {
				continue
			}
			if h.p.QoS == 1 {
				conn.Send(&codec.Puback{PacketID: h.p.PacketID})
				hs = slices.Delete(hs, i, i+1)
			} else {
				conn.Send(&codec.Pubrec{PacketID: h.p.PacketID})
				h.pubrec = true
			}
			return true
		}
		return false
	}
	wanted := func() string {
		names := make([]string, len(want))
		for i, m := range want {
			names[i] = m.String()
		}
		return strings.Join(names, "; ")
	}
	for len(want) > 0 || len(hs) > 0 {
		if len(want) == 0 {
			for ackOldest() {
			}
			if len(hs) == 0 {
				break
			}
		}
		p, closed := conn.Next(t.QuietWindow(0))
		if p == nil && !closed {
			if ackOldest() {
				continue
			}
			p, closed = conn.Next(t.Timeouts.Step)
		}
		switch {
		case closed:
			t.Failf(wanted(), "the connection closed", "[%s] the connection closed while %d message(s) were still due (%s) and %d flow(s) open", conn.Label, len(want), wanted(), len(hs))
		case p == nil:
			t.Failf(wanted(), "nothing within "+t.Timeouts.Step.String(), "[%s] nothing arrived within %v (nothing left unacknowledged); still due: %s", conn.Label, t.Timeouts.Step, wanted())
		}
		switch p := p.(type) {
		case *codec.Pubrel:
			i := slices.IndexFunc(hs, func(h *held) bool { return h.pubrec && h.p.PacketID == p.PacketID })
			if i < 0 {
				t.Failf("a PUBREL for a PUBREC sent", p.String(), "[%s] PUBREL %d answers no PUBREC of ours", conn.Label, p.PacketID)
			}
			conn.Send(&codec.Pubcomp{PacketID: p.PacketID})
			hs = slices.Delete(hs, i, i+1)
		case *codec.Publish:
			i := -1
			if o.ordered {
				if len(want) > 0 && want[0].Match(p) == nil {
					i = 0
				}
			} else {
				i = slices.IndexFunc(want, func(m c.Matcher) bool { return m.Match(p) == nil })
			}
			if i < 0 {
				t.Failf(wanted(), p.String(), "[%s] %s is not the message due next (%s)", conn.Label, p, wanted())
			}
			want = slices.Delete(want, i, i+1)
			if o.onArrive != nil {
				o.onArrive(p, unacked())
			}
			if p.QoS > 0 {
				if o.limit > 0 && len(hs) >= o.limit {
					t.Failf(fmt.Sprintf("at most %d unacknowledged QoS 1/2 PUBLISH packets", o.limit), fmt.Sprintf("%d", len(hs)+1),
						"[%s] %s arrived while %d PUBLISH packets were unacknowledged (%s): Receive Maximum is %d", conn.Label, p, len(hs), payloads(unacked()), o.limit)
				}
				hs = append(hs, &held{p: p})
				most = max(most, len(hs))
			}
			got = append(got, p)
		default:
			t.Failf(wanted(), p.String(), "[%s] expected PUBLISH (or PUBREL) packets, got %s", conn.Label, p)
		}
	}
	t.Logf("[%s] at most %d QoS 1/2 PUBLISH packets were unacknowledged at once", conn.Label, most)
	return got, most
}

// distinctFromUnacked is a heldOpts.onArrive check: a QoS 1/2 PUBLISH carries a non-zero Packet
// Identifier that no unacknowledged PUBLISH to the same client holds (MQTT-2.3.1-1, MQTT-2.3.1-4
// in 5.0 / MQTT-2.3.1-2 in 3.1.1: an identifier is in use until its flow completes).
func distinctFromUnacked(t *c.T) func(p *codec.Publish, unacked []*codec.Publish) {
	return func(p *codec.Publish, unacked []*codec.Publish) {
		if p.QoS == 0 {
			return
		}
		if p.PacketID == 0 {
			t.Failf("a non-zero Packet Identifier", "0", "QoS %d PUBLISH %q has Packet Identifier 0", p.QoS, p.Payload)
		}
		for _, u := range unacked {
			if u.PacketID == p.PacketID {
				t.Failf("a Packet Identifier not in use", fmt.Sprintf("identifier %d again", p.PacketID),
					"messages %q and %q, the first still unacknowledged, carry the same Packet Identifier %d", u.Payload, p.Payload, p.PacketID)
			}
		}
	}
}

// skipUnlessConcurrent ends a case whose statement is about messages in flight at the same time
// as a skip when the server never had two in flight: allowed, but then nothing was observed.
func skipUnlessConcurrent(t *c.T, most int) {
	if most < 2 {
		t.Skipf("the server kept at most %d QoS 1/2 message in flight at a time (allowed: it need not send the next before the previous is acknowledged), so identifiers of messages in flight together cannot be compared", most)
	}
}
