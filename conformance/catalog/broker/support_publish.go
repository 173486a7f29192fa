package broker

import (
	"fmt"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// receiveAll reads n PUBLISH packets on conn, acknowledging each as its QoS requires while the
// target may interleave further PUBLISHes with the PUBRELs of earlier ones, and returns them in
// arrival order once every QoS 2 flow is complete. Any other packet fails the case.
func receiveAll(t *c.T, conn *c.Conn, n int) []*codec.Publish {
	var got []*codec.Publish
	pendingRel := map[uint16]bool{}
	for len(got) < n || len(pendingRel) > 0 {
		p := conn.Expect(c.OneOf(c.Type(codec.PUBLISH), c.Type(codec.PUBREL)))
		switch p := p.(type) {
		case *codec.Publish:
			if len(got) == n {
				t.Failf(fmt.Sprintf("%d PUBLISH packets", n), p.String(), "[%s] an unexpected extra PUBLISH arrived", conn.Label)
			}
			got = append(got, p)
			switch p.QoS {
			case 1:
				conn.Send(&codec.Puback{PacketID: p.PacketID})
			case 2:
				conn.Send(&codec.Pubrec{PacketID: p.PacketID})
				pendingRel[p.PacketID] = true
			}
		case *codec.Pubrel:
			if !pendingRel[p.PacketID] {
				t.Failf("PUBREL for a PUBREC we sent", p.String(), "[%s] PUBREL for packet identifier %d, which has no outstanding PUBREC", conn.Label, p.PacketID)
			}
			if p.ReasonCode != 0 {
				t.Failf("PUBREL reason 0x00", p.String(), "[%s] PUBREL with reason %s for a known packet identifier", conn.Label, p.ReasonCode)
			}
			delete(pendingRel, p.PacketID)
			conn.Send(&codec.Pubcomp{PacketID: p.PacketID})
		}
	}
	return got
}

// publishPipelined sends every PUBLISH without waiting, then completes all their flows; the
// target's acknowledgements may come in any order.
func publishPipelined(conn *c.Conn, msgs []*codec.Publish) {
	var acks, recs []c.Matcher
	var rels []uint16
	for _, p := range msgs {
		if p.QoS > 0 && p.PacketID == 0 {
			p.PacketID = conn.NextID()
		}
		conn.Send(p)
		switch p.QoS {
		case 1:
			acks = append(acks, c.Puback(p.PacketID).ReasonIn(0, codec.ReasonNoMatchingSubscribers))
		case 2:
			recs = append(recs, c.Pubrec(p.PacketID).ReasonIn(0, codec.ReasonNoMatchingSubscribers))
			rels = append(rels, p.PacketID)
		}
	}
	conn.ExpectUnordered(append(acks, recs...)...)
	var comps []c.Matcher
	for _, id := range rels {
		conn.Send(&codec.Pubrel{PacketID: id})
		comps = append(comps, c.Pubcomp(id))
	}
	if len(comps) > 0 {
		conn.ExpectUnordered(comps...)
	}
}

// payloads renders the payloads of publishes for failure messages.
func payloads(ps []*codec.Publish) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprintf("%q(qos%d dup%t)", p.Payload, p.QoS, p.Dup)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// persistentSub connects client id with a session that outlives the connection and subscribes
// to filter at qos.
func persistentSub(t *c.T, label, id, filter string, qos byte) *c.Conn {
	conn := t.ConnectResume(label, t.PersistentConnect(id), false)
	conn.Subscribe(filter, qos)
	return conn
}

// settle is how long a case waits after closing a connection before publishing messages meant
// for the session it leaves behind: until the server has seen the close, it may still write
// them to the old connection, after which they are (correctly) re-sent with DUP 1. It is in
// units of the quiet window (T.SleepQuiet): a slower target gets longer.
const settle = 300 * time.Millisecond

// offline ends conn normally (DISCONNECT) and gives the server time to process it.
func offline(t *c.T, conn *c.Conn) {
	conn.Disconnect()
	t.SleepQuiet(settle)
}

// dropped closes conn without DISCONNECT and gives the server time to notice.
func dropped(t *c.T, conn *c.Conn) {
	conn.Close()
	t.SleepQuiet(settle)
}

// b is shorthand for a payload.
func b(s string) []byte { return []byte(s) }
