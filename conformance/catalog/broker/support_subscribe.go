package broker

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// anyPacket matches every packet; the case inspects what arrived itself.
type anyPacket struct{}

func (anyPacket) Match(p codec.Packet) error {
	if p == nil {
		return errors.New("no packet")
	}
	return nil
}

func (anyPacket) String() string { return "any packet" }

// grant is the QoS a correct server grants for a request of q: the request, capped by the
// server's Maximum QoS.
func grant(t *c.T, q byte) byte { return min(q, t.Caps.MaximumQoS) }

// subscribeMany sends one SUBSCRIBE with every subscription and returns its packet identifier.
func subscribeMany(conn *c.Conn, props *codec.Properties, subs ...codec.Subscription) uint16 {
	id := conn.NextID()
	s := &codec.Subscribe{PacketID: id, Subscriptions: subs}
	if props != nil {
		s.Properties = *props
	}
	conn.Send(s)
	return id
}

// subID returns SUBSCRIBE properties carrying one Subscription Identifier.
func subID(id uint32) *codec.Properties {
	return &codec.Properties{SubscriptionIDs: []uint32{id}}
}

// subackIn expects a SUBACK for id with a single reason code out of codes.
func subackIn(id uint16, codes ...codec.ReasonCode) *c.M {
	return c.Type(codec.SUBACK).ID(id).Where(fmt.Sprintf("one code in %v", codes), func(p codec.Packet) error {
		got := p.(*codec.Suback).ReasonCodes
		if len(got) != 1 || !slices.Contains(codes, got[0]) {
			return fmt.Errorf("reason codes are %v, want exactly one of %v", got, codes)
		}
		return nil
	})
}

// publishOn expects a PUBLISH on topic with payload and QoS, DUP 0 and RETAIN 0.
func publishOn(topic, payload string, qos byte) *c.M {
	return c.Publish(topic, []byte(payload), qos)
}

// setRetained stores a retained message (QoS 0) and waits until the server has processed it:
// the PINGRESP that answers the following PINGREQ comes after the PUBLISH was handled.
func setRetained(pub *c.Conn, topic, payload string) {
	pub.PublishMsg(topic, payload, 0, true)
	pub.ExpectOpen()
}

// collectUntil reads PUBLISH packets on conn until one arrives on sentinel and returns the
// others in arrival order. onPublish answers each non-sentinel PUBLISH (nil: the normal
// acknowledgement). It is the way to take "everything that was delivered" from a connection
// without a silent period: the sentinel is published last by the same publisher, so whatever
// the server routed to conn before it arrives first. The specification orders messages per
// topic only (section 4.6), so a server may let the sentinel overtake a message on another topic
// (a cluster does, across nodes): after the sentinel, collectUntil keeps reading for one quiet
// window and collects what still arrives.
func collectUntil(t *c.T, conn *c.Conn, sentinel string, onPublish func(*codec.Publish)) []*codec.Publish {
	var got []*codec.Publish
	for range 1000 {
		p := conn.ExpectPublish(c.AnyPublish())
		switch {
		case p.Topic == sentinel:
			conn.Ack(p)
			return append(got, stragglers(t, conn, onPublish)...)
		case onPublish != nil:
			onPublish(p)
		default:
			conn.Ack(p)
		}
		got = append(got, p)
	}
	t.Fatalf("[%s] more than 1000 PUBLISH packets before the sentinel on %s", conn.Label, sentinel)
	return nil
}

// stragglers collects the PUBLISH packets that arrive within one quiet window (answered like
// collectUntil's); the first other packet or the close ends it.
func stragglers(t *c.T, conn *c.Conn, onPublish func(*codec.Publish)) []*codec.Publish {
	var got []*codec.Publish
	deadline := time.Now().Add(t.QuietWindow(0))
	for range 1000 {
		p, closed := conn.Next(max(time.Until(deadline), time.Millisecond))
		pub, ok := p.(*codec.Publish)
		if closed || !ok {
			if p != nil {
				t.Failf("PUBLISH packets or nothing", p.String(), "[%s] after the sentinel: expected PUBLISH packets or nothing, got %s", conn.Label, p)
			}
			return got
		}
		if onPublish != nil {
			onPublish(pub)
		} else {
			conn.Ack(pub)
		}
		got = append(got, pub)
	}
	return got
}

// reaction is what a server did with a packet: answered it, or closed the connection.
type reaction struct {
	packet codec.Packet // the first packet after the stimulus (nil when closed or silent)
	closed bool         // the server closed the connection (DISCONNECT first counts as closing)
}

// probe learns how the server reacts to pkts where the specification allows two reactions (an
// error SUBACK or closing the connection). It uses its own connection, not recorded in the
// transcript: CONNECT, then pkts, then the first answer. The case then repeats the exchange on a
// recorded connection and checks that reaction exactly, because Conn.Expect cannot accept
// "a packet or a close".
func probe(t *c.T, pkts ...codec.Packet) reaction { return probeWith(t, t.DefaultConnect(), pkts...) }

// probeWith is probe with a given CONNECT (a fresh client identifier is the caller's business).
func probeWith(t *c.T, connect *codec.Connect, pkts ...codec.Packet) reaction {
	nc, err := t.Target.Dial(t.Context())
	if err != nil {
		t.Errorf("probe: dial %s: %v", t.Target.URL, err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(t.Timeouts.Step))
	w := codec.NewWriter(nc, t.Version)
	r := codec.NewReader(nc, codec.Options{Version: t.Version, MaxPacketSize: 1 << 20, Sender: codec.SideServer, Lenient: true})
	if err := w.WritePacket(connect); err != nil {
		t.Errorf("probe: send CONNECT: %v", err)
	}
	ack, err := r.ReadPacket()
	if err != nil {
		t.Errorf("probe: no CONNACK: %v", err)
	}
	if ca, ok := ack.(*codec.Connack); !ok || ca.ReasonCode != 0 {
		t.Errorf("probe: connection refused: %v", ack)
	}
	for _, p := range pkts {
		if err := w.WritePacket(p); err != nil {
			t.Logf("probe: the server closed the connection while %v was sent: %v", p.Type(), err)
			return reaction{closed: true}
		}
	}
	p, err := r.ReadPacket()
	switch {
	case err != nil && isTimeout(err):
		t.Logf("probe: no answer to %v within %v", pkts[len(pkts)-1].Type(), t.Timeouts.Step)
		return reaction{}
	case err != nil:
		t.Logf("probe: the server closed the connection (%v)", err)
		return reaction{closed: true}
	case p.Type() == codec.DISCONNECT:
		t.Logf("probe: the server sent %v", p)
		return reaction{packet: p, closed: true}
	}
	t.Logf("probe: the server answered %v", p)
	return reaction{packet: p}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// rejectCodes are the SUBACK codes a server may use to refuse a filter it considers invalid:
// 0x80 in 3.1.1, 0x8F Topic Filter invalid in 5.0.
func rejectCodes(t *c.T) []codec.ReasonCode {
	if t.V5() {
		return []codec.ReasonCode{codec.ReasonTopicFilterInvalid}
	}
	return []codec.ReasonCode{codec.SubackFailure}
}

// expectRefusedOrClosed sends sub (a SUBSCRIBE the server must not accept) on conn and checks one
// of the two allowed reactions: a SUBACK whose single code is one of suback (and the connection
// stays usable), or a close, on 5.0 optionally after a DISCONNECT with one of disc.
func expectRefusedOrClosed(t *c.T, conn *c.Conn, sub *codec.Subscribe, suback, disc []codec.ReasonCode) {
	probeSub := *sub
	re := probe(t, &probeSub)
	conn.Send(sub)
	if re.closed {
		conn.ExpectClosed(c.OrDisconnect(disc...))
		return
	}
	conn.Expect(subackIn(sub.PacketID, suback...))
	conn.ExpectOpen()
}

// subscribeRetained subscribes conn to sub (its QoS capped by the target's maximum, as
// Conn.SubscribeOpts does) and expects the SUBACK granting it and one PUBLISH for each of ms, in
// any order: a server may send the messages a new subscription gets, its retained messages among
// them, before the SUBACK (section 3.8.4, the text after MQTT-3.8.4-1, in 3.1.1 and 5.0). Each
// PUBLISH is acknowledged as it is read, so a server that keeps one message in flight at a time
// sends the next. It returns the PUBLISH packets in arrival order.
func subscribeRetained(t *c.T, conn *c.Conn, sub codec.Subscription, props *codec.Properties, ms ...c.Matcher) []*codec.Publish {
	sub.QoS = grant(t, sub.QoS)
	id := subscribeMany(conn, props, sub)
	want := append([]c.Matcher{c.Suback(id, codec.ReasonCode(sub.QoS))}, ms...)
	var got []*codec.Publish
	for len(want) > 0 {
		p := conn.Expect(c.OneOf(want...))
		i := slices.IndexFunc(want, func(m c.Matcher) bool { return m.Match(p) == nil })
		want = slices.Delete(want, i, i+1)
		if pub, ok := p.(*codec.Publish); ok {
			conn.Ack(pub)
			got = append(got, pub)
		}
	}
	return got
}

// subRetained is T.Sub for a subscription that gets retained messages: it connects a fresh
// client labelled label, subscribes it to filter at qos and expects the retained messages ms,
// before or after the SUBACK (subscribeRetained).
func subRetained(t *c.T, label, filter string, qos byte, ms ...c.Matcher) *c.Conn {
	conn := t.ConnectLabel(label, t.DefaultConnect())
	subscribeRetained(t, conn, codec.Subscription{Filter: filter, QoS: qos}, nil, ms...)
	return conn
}
