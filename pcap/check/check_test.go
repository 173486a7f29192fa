package check

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance/spec"
	"github.com/mqttspec/mqttspec/pcap"
	"github.com/mqttspec/mqttspec/reports"
)

// A small language for synthetic streams: each event is a packet (or raw bytes) from one side at
// a time offset.

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

type ev struct {
	dir pcap.Direction
	at  time.Duration // 0: 10 ms after the previous event
	p   codec.Packet
	raw []byte
}

func C(p codec.Packet) ev         { return ev{dir: pcap.FromClient, p: p} }
func S(p codec.Packet) ev         { return ev{dir: pcap.FromServer, p: p} }
func CRaw(b ...byte) ev           { return ev{dir: pcap.FromClient, raw: b} }
func At(d time.Duration, e ev) ev { e.at = d; return e }

// stream options
type opt func(*pcap.Stream)

func serverFIN(at time.Duration) opt {
	return func(s *pcap.Stream) { s.ServerClose, s.ServerCloseTime = pcap.FIN, t0.Add(at) }
}
func endAt(at time.Duration) opt { return func(s *pcap.Stream) { s.End = t0.Add(at) } }
func ws(info pcap.WebSocketInfo) opt {
	return func(s *pcap.Stream) { s.WebSocket = &info }
}

// conv builds a stream captured from its SYN with the events; packets are encoded for v and
// decoded leniently, as the capture reader does.
func conv(v codec.Version, evs []ev, opts ...opt) *pcap.Conversation {
	s := &pcap.Stream{Handshake: true, Version: v, Start: t0}
	cv := &pcap.Conversation{Stream: s}
	at := time.Duration(0)
	for i, e := range evs {
		if e.at != 0 {
			at = e.at
		} else if i > 0 {
			at += 10 * time.Millisecond
		}
		raw := e.raw
		if raw == nil {
			var err error
			if raw, err = e.p.AppendTo(nil, v); err != nil {
				panic(err)
			}
		}
		dv := v
		if raw[0]>>4 == byte(codec.CONNECT) {
			dv = codec.VersionUnknown
		}
		var viol []codec.Error
		p, _, err := codec.DecodeWith(codec.Options{Version: dv, Lenient: true, Sender: e.dir.Side()}, raw, &viol)
		h, _ := codec.ParseHeader(raw, v)
		cv.Records = append(cv.Records, pcap.Record{Frame: i + 4, Time: t0.Add(at), Dir: e.dir, Type: h.Type, Flags: h.Flags,
			Size: len(raw), Raw: raw, Version: v, Packet: p, Err: err, Violations: viol})
		s.End = t0.Add(at)
	}
	for _, o := range opts {
		o(s)
	}
	return cv
}

func capture(convs ...*pcap.Conversation) *pcap.Capture {
	cp := &pcap.Capture{Summary: &pcap.Summary{}}
	for i, cv := range convs {
		cv.Stream.ID = i
		cp.Conversations = append(cp.Conversations, cv)
		cp.Summary.Streams = append(cp.Summary.Streams, cv.Stream)
		if cv.Stream.End.After(cp.Summary.Last) {
			cp.Summary.Last = cv.Stream.End
		}
	}
	cp.Summary.First = t0
	return cp
}

func connect(ka uint16) *codec.Connect {
	return &codec.Connect{ClientID: "c", CleanStart: true, KeepAlive: ka}
}

func pre(v codec.Version, more ...ev) []ev {
	return append([]ev{C(connect(60)), S(&codec.Connack{})}, more...)
}

func pub(qos byte, id uint16, topic, payload string) *codec.Publish {
	return &codec.Publish{QoS: qos, PacketID: id, Topic: topic, Payload: []byte(payload)}
}

func sub(id uint16, filter string, qos byte) *codec.Subscribe {
	return &codec.Subscribe{PacketID: id, Subscriptions: []codec.Subscription{{Filter: filter, QoS: qos}}}
}

func suback(id uint16, codes ...codec.ReasonCode) *codec.Suback {
	return &codec.Suback{PacketID: id, ReasonCodes: codes}
}

// with applies f to a packet and returns it (for properties).
func with[P codec.Packet](p P, f func(P)) P { f(p); return p }

// findCase returns the case with the ID for the version.
func findCase(t *testing.T, res *reports.Results, id string, v codec.Version) *reports.Case {
	t.Helper()
	for i := range res.Cases {
		if res.Cases[i].ID == id && res.Cases[i].Version == v.String() {
			return &res.Cases[i]
		}
	}
	var have []string
	for _, c := range res.Cases {
		have = append(have, c.ID+"@"+c.Version)
	}
	t.Fatalf("no case %s@%v among %v", id, v, have)
	return nil
}

type checkCase struct {
	name   string
	id     string // case ID, with the role suffix for two-sided checks
	v      codec.Version
	bad    []*pcap.Conversation
	status reports.Status // of bad: Fail, or Warn
	stmt   string         // statement the finding cites ("-" for a finding without one)
	good   []*pcap.Conversation
}

func one(cv *pcap.Conversation) []*pcap.Conversation { return []*pcap.Conversation{cv} }

const v3, v5 = codec.V311, codec.V5

func checkCases() []checkCase {
	s := time.Second
	ms := time.Millisecond
	wsOK := pcap.WebSocketInfo{Path: "/mqtt", Offered: []string{"mqtt"}, Selected: "mqtt", Status: 101, RequestFrame: 1, ResponseFrame: 2}
	wsText := wsOK
	wsText.TextFrames = [2]int{1, 0}
	wsNoOffer := wsOK
	wsNoOffer.Offered = []string{"mqttv3.1"}
	wsNoSelect := wsOK
	wsNoSelect.Selected = ""
	retainedPub := func(retain bool) *codec.Publish { p := pub(0, 0, "t/a", "m"); p.Retain = retain; return p }
	rapSub := &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "t/#", RetainAsPublished: true}}}
	return []checkCase{
		{name: "first packet not CONNECT", id: "3.1/first-packet-connect", v: v3,
			bad: one(conv(v3, []ev{C(pub(0, 0, "a", "x")), C(connect(60)), S(&codec.Connack{})})), status: reports.Fail, stmt: "MQTT-3.1.0-1",
			good: one(conv(v3, pre(v3)))},
		{name: "second CONNECT answered", id: "3.1/second-connect-closes", v: v5,
			bad: one(conv(v5, pre(v5, C(connect(60)), S(&codec.Connack{})))), status: reports.Fail, stmt: "MQTT-3.1.0-2",
			good: one(conv(v5, pre(v5, C(connect(60))), serverFIN(100*ms)))},
		{name: "PUBLISH before CONNACK", id: "3.2/connack-first", v: v3,
			bad: one(conv(v3, []ev{C(connect(60)), S(pub(0, 0, "a", "x")), S(&codec.Connack{})})), status: reports.Fail, stmt: "MQTT-3.2.0-1",
			good: one(conv(v3, pre(v3, S(pub(0, 0, "a", "x")))))},
		{name: "DISCONNECT before CONNACK", id: "3.2/connack-first", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(&codec.Disconnect{ReasonCode: 0x80})})), status: reports.Fail, stmt: "MQTT-3.14.0-1",
			good: one(conv(v5, []ev{C(connect(60)), S(&codec.Auth{ReasonCode: 0x18}), S(&codec.Connack{})}))},
		{name: "two CONNACKs", id: "3.2/single-connack", v: v5,
			bad: one(conv(v5, pre(v5, S(&codec.Connack{})))), status: reports.Fail, stmt: "MQTT-3.2.0-2",
			good: one(conv(v5, pre(v5)))},
		{name: "traffic after a refusal (3.1.1)", id: "3.2/refusal-closes", v: v3,
			bad: one(conv(v3, []ev{C(connect(60)), S(&codec.Connack{ReasonCode: 5}), C(sub(1, "a", 0)), S(suback(1, 0))})), status: reports.Fail, stmt: "MQTT-3.2.2-5",
			good: one(conv(v3, []ev{C(connect(60)), S(&codec.Connack{ReasonCode: 5}), C(sub(1, "a", 0))}, serverFIN(50*ms)))},
		{name: "traffic after a refusal (5.0)", id: "3.2/refusal-closes", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(&codec.Connack{ReasonCode: 0x87}), S(&codec.Disconnect{})})), status: reports.Fail, stmt: "MQTT-3.2.2-7",
			good: one(conv(v5, []ev{C(connect(60)), S(&codec.Connack{ReasonCode: 0x87})}, serverFIN(50*ms)))},
		{name: "client silent beyond Keep Alive", id: "3.1/keep-alive-client", v: v3,
			bad: one(conv(v3, []ev{C(connect(2)), S(&codec.Connack{}), At(4*s, C(&codec.Pingreq{})), S(&codec.Pingresp{})})), status: reports.Fail, stmt: "MQTT-3.1.2-23",
			good: one(conv(v3, []ev{C(connect(2)), S(&codec.Connack{}), At(2*s, C(&codec.Pingreq{})), S(&codec.Pingresp{}), At(4*s, C(&codec.Pingreq{})), S(&codec.Pingresp{})}))},
		{name: "client ignores Server Keep Alive", id: "3.1/keep-alive-client", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetServerKeepAlive(2) })),
				At(4*s, C(&codec.Pingreq{})), S(&codec.Pingresp{})})), status: reports.Fail, stmt: "MQTT-3.1.2-21",
			good: one(conv(v5, []ev{C(connect(2)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetServerKeepAlive(10) })),
				At(8*s, C(&codec.Pingreq{})), S(&codec.Pingresp{})}))},
		{name: "server keeps a silent client", id: "3.1/keep-alive-server", v: v3,
			bad: one(conv(v3, []ev{C(connect(2)), S(&codec.Connack{}), At(10*s, C(&codec.Pingreq{})), S(&codec.Pingresp{})})), status: reports.Fail, stmt: "MQTT-3.1.2-24",
			good: one(conv(v3, []ev{C(connect(2)), S(&codec.Connack{})}, serverFIN(4*s), endAt(10*s)))},
		{name: "server keeps a silent client (5.0, to the end)", id: "3.1/keep-alive-server", v: v5,
			bad: one(conv(v5, []ev{C(connect(2)), S(&codec.Connack{})}, endAt(20*s))), status: reports.Fail, stmt: "MQTT-3.1.2-22",
			good: one(conv(v5, []ev{C(connect(2)), S(&codec.Connack{}), At(1*s, C(&codec.Pingreq{})), S(&codec.Pingresp{})}, endAt(2*s)))},
		{name: "client packet after DISCONNECT", id: "3.14/nothing-after-disconnect/client", v: v3,
			bad: one(conv(v3, pre(v3, C(&codec.Disconnect{}), C(&codec.Pingreq{})))), status: reports.Fail, stmt: "MQTT-3.14.4-2",
			good: one(conv(v3, pre(v3, C(&codec.Disconnect{}))))},
		{name: "server packet after DISCONNECT", id: "3.14/nothing-after-disconnect/broker", v: v5,
			bad: one(conv(v5, pre(v5, S(&codec.Disconnect{ReasonCode: 0x8B}), S(pub(0, 0, "a", "x"))))), status: reports.Fail, stmt: "MQTT-3.14.4-1",
			good: one(conv(v5, pre(v5, S(&codec.Disconnect{ReasonCode: 0x8B}))))},
		{name: "client PUBLISH with id 0", id: "2.2/packet-id-nonzero/client", v: v3,
			bad: one(conv(v3, pre(v3, C(pub(1, 0, "a", "x"))))), status: reports.Fail, stmt: "MQTT-2.3.1-1",
			good: one(conv(v3, pre(v3, C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 1}))))},
		{name: "server PUBLISH with id 0", id: "2.2/packet-id-nonzero/broker", v: v5,
			bad: one(conv(v5, pre(v5, S(pub(2, 0, "a", "x"))))), status: reports.Fail, stmt: "MQTT-2.2.1-4",
			good: one(conv(v5, pre(v5, S(pub(2, 9, "a", "x")))))},
		{name: "identifier still in use", id: "2.2/packet-id-free/client", v: v3,
			bad: one(conv(v3, pre(v3, C(pub(1, 1, "a", "x")), C(pub(1, 1, "b", "y"))))), status: reports.Fail, stmt: "MQTT-2.3.1-2",
			good: one(conv(v3, pre(v3, C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 1}), C(pub(1, 1, "b", "y")),
				C(with(pub(1, 1, "b", "y"), func(p *codec.Publish) { p.Dup = true })))))},
		{name: "redelivery without DUP", id: "2.2/packet-id-free/broker", v: v5,
			bad: one(conv(v5, pre(v5, S(pub(1, 3, "a", "x")), S(pub(1, 3, "a", "x"))))), status: reports.Fail, stmt: "MQTT-3.3.1-1",
			good: one(conv(v5, pre(v5, S(pub(1, 3, "a", "x")), S(with(pub(1, 3, "a", "x"), func(p *codec.Publish) { p.Dup = true })))))},
		{name: "server acknowledges nothing", id: "2.2/ack-matches-request/broker", v: v3,
			bad: one(conv(v3, pre(v3, C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 5})))), status: reports.Fail, stmt: "MQTT-2.3.1-6",
			good: one(conv(v3, pre(v3, C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 1}))))},
		{name: "SUBACK for no SUBSCRIBE", id: "2.2/ack-matches-request/broker", v: v5,
			bad: one(conv(v5, pre(v5, C(sub(1, "a", 0)), S(suback(2, 0))))), status: reports.Fail, stmt: "MQTT-2.2.1-6",
			good: one(conv(v5, pre(v5, C(sub(1, "a", 0)), S(suback(1, 0)))))},
		{name: "client PUBREL without PUBREC", id: "2.2/ack-matches-request/client", v: v5,
			bad: one(conv(v5, pre(v5, C(pub(2, 4, "a", "x")), C(&codec.Pubrel{PacketID: 4})))), status: reports.Fail, stmt: "MQTT-2.2.1-5",
			good: one(conv(v5, pre(v5, C(pub(2, 4, "a", "x")), S(&codec.Pubrec{PacketID: 4}), C(&codec.Pubrel{PacketID: 4}), S(&codec.Pubcomp{PacketID: 4}))))},
		{name: "QoS 1 never acknowledged", id: "4.3/flows-complete/broker", v: v3,
			bad: one(conv(v3, pre(v3, C(pub(1, 1, "a", "x"))))), status: reports.Warn, stmt: "MQTT-4.3.2-2",
			good: one(conv(v3, pre(v3, C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 1}))))},
		{name: "QoS 2 never released", id: "4.3/flows-complete/client", v: v5,
			bad: one(conv(v5, pre(v5, C(pub(2, 2, "a", "x")), S(&codec.Pubrec{PacketID: 2})))), status: reports.Warn, stmt: "MQTT-4.3.3-4",
			good: one(conv(v5, pre(v5, C(pub(2, 2, "a", "x")), S(&codec.Pubrec{PacketID: 2}), C(&codec.Pubrel{PacketID: 2}), S(&codec.Pubcomp{PacketID: 2}))))},
		{name: "PINGREQ unanswered", id: "4.3/flows-complete/broker", v: v5,
			bad: one(conv(v5, pre(v5, C(&codec.Pingreq{})))), status: reports.Warn, stmt: "MQTT-3.12.4-1",
			good: one(conv(v5, pre(v5, C(&codec.Pingreq{}), S(&codec.Pingresp{}))))},
		{name: "PUBACKs out of order", id: "4.6/ack-order", v: v3,
			bad: one(conv(v3, pre(v3, S(pub(1, 1, "a", "x")), S(pub(1, 2, "a", "y")), C(&codec.Puback{PacketID: 2}), C(&codec.Puback{PacketID: 1})))), status: reports.Fail, stmt: "MQTT-4.6.0-2",
			good: one(conv(v3, pre(v3, S(pub(1, 1, "a", "x")), S(pub(1, 2, "a", "y")), C(&codec.Puback{PacketID: 1}), C(&codec.Puback{PacketID: 2}))))},
		{name: "DUP on QoS 0", id: "3.3/dup-qos0/client", v: v3,
			bad: one(conv(v3, pre(v3, C(with(pub(0, 0, "a", "x"), func(p *codec.Publish) { p.Dup = true }))))), status: reports.Fail, stmt: "MQTT-3.3.1-2",
			good: one(conv(v3, pre(v3, C(pub(0, 0, "a", "x")))))},
		{name: "QoS 3", id: "3.3/qos-not-3/broker", v: v5,
			bad: one(conv(v5, pre(v5, S(pub(3, 1, "a", "x"))))), status: reports.Fail, stmt: "MQTT-3.3.1-4",
			good: one(conv(v5, pre(v5, S(pub(2, 1, "a", "x")))))},
		{name: "reserved flags on PINGREQ", id: "2.1/reserved-flags/client", v: v3,
			bad: one(conv(v3, pre(v3, CRaw(0xC1, 0x00)))), status: reports.Fail, stmt: "MQTT-2.2.2-1",
			good: one(conv(v3, pre(v3, CRaw(0xC0, 0x00))))},
		{name: "PUBREL flags", id: "2.1/reserved-flags/client", v: v5,
			bad: one(conv(v5, pre(v5, C(pub(2, 1, "a", "x")), S(&codec.Pubrec{PacketID: 1}), CRaw(0x60, 0x02, 0x00, 0x01)))), status: reports.Fail, stmt: "MQTT-3.6.1-1",
			good: one(conv(v5, pre(v5, C(pub(2, 1, "a", "x")), S(&codec.Pubrec{PacketID: 1}), CRaw(0x62, 0x02, 0x00, 0x01))))},
		{name: "PUBACK reason code", id: "2.4/reason-codes/broker", v: v5,
			bad: one(conv(v5, pre(v5, C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 1, ReasonCode: 0x04})))), status: reports.Fail, stmt: "MQTT-3.4.2-1",
			good: one(conv(v5, pre(v5, C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 1, ReasonCode: 0x10}))))},
		{name: "client sends a server-only DISCONNECT code", id: "2.4/reason-codes/client", v: v5,
			bad: one(conv(v5, pre(v5, C(&codec.Disconnect{ReasonCode: 0x8B})))), status: reports.Fail, stmt: "MQTT-3.14.2-1",
			good: one(conv(v5, pre(v5, C(&codec.Disconnect{ReasonCode: 0x04}))))},
		{name: "3.1.1 SUBACK return code", id: "2.4/reason-codes/broker", v: v3,
			bad: one(conv(v3, pre(v3, C(sub(1, "a", 1)), S(suback(1, 3))))), status: reports.Fail, stmt: "MQTT-3.9.3-2",
			good: one(conv(v3, pre(v3, C(sub(1, "a", 1)), S(suback(1, 0x80)))))},
		{name: "DUP on a first delivery", id: "4.3/dup-first-delivery/client", v: v3,
			bad: one(conv(v3, pre(v3, C(with(pub(1, 1, "a", "x"), func(p *codec.Publish) { p.Dup = true }))))), status: reports.Fail, stmt: "MQTT-4.3.2-1",
			good: one(conv(v3, pre(v3, C(pub(1, 1, "a", "x")), C(with(pub(1, 1, "a", "x"), func(p *codec.Publish) { p.Dup = true })))))},
		{name: "forwarded message keeps RETAIN 1", id: "3.3/forwarded-retain-flag", v: v3,
			bad: []*pcap.Conversation{
				conv(v3, pre(v3, C(sub(1, "t/#", 0)), S(suback(1, 0)), At(1*s, S(retainedPub(true))))),
				conv(v3, pre(v3, At(500*ms, C(retainedPub(false))))),
			}, status: reports.Fail, stmt: "MQTT-3.3.1-9",
			good: []*pcap.Conversation{
				conv(v3, pre(v3, C(sub(1, "t/#", 0)), S(suback(1, 0)), At(1*s, S(retainedPub(false))))),
				conv(v3, pre(v3, At(500*ms, C(retainedPub(true))))),
			}},
		{name: "Retain As Published not honoured", id: "3.3/forwarded-retain-flag", v: v5,
			bad: []*pcap.Conversation{
				conv(v5, pre(v5, C(rapSub), S(suback(1, 0)), At(1*s, S(retainedPub(false))))),
				conv(v5, pre(v5, At(500*ms, C(retainedPub(true))))),
			}, status: reports.Fail, stmt: "MQTT-3.3.1-13",
			good: []*pcap.Conversation{
				conv(v5, pre(v5, C(rapSub), S(suback(1, 0)), At(1*s, S(retainedPub(true))))),
				conv(v5, pre(v5, At(500*ms, C(retainedPub(true))))),
			}},
		{name: "message outside the subscriptions", id: "3.3/topic-matches-subscription", v: v3,
			bad: one(conv(v3, pre(v3, C(sub(1, "a/#", 0)), S(suback(1, 0)), S(pub(0, 0, "b/c", "x"))))), status: reports.Fail, stmt: "MQTT-3.3.2-3",
			good: one(conv(v3, pre(v3, C(sub(1, "a/#", 0)), S(suback(1, 0)), S(pub(0, 0, "a/c", "x")))))},
		{name: "QoS above the grant", id: "3.8/granted-qos", v: v5,
			bad: one(conv(v5, pre(v5, C(sub(1, "a/#", 2)), S(suback(1, 0)), S(pub(1, 1, "a/c", "x"))))), status: reports.Fail, stmt: "MQTT-3.8.4-8",
			good: one(conv(v5, pre(v5, C(sub(1, "a/#", 2)), S(suback(1, 1)), S(pub(1, 1, "a/c", "x")))))},
		{name: "SUBACK code count", id: "3.9/one-code-per-filter", v: v3,
			bad: one(conv(v3, pre(v3, C(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "a"}, {Filter: "b"}}}), S(suback(1, 0))))), status: reports.Fail, stmt: "MQTT-3.8.4-5",
			good: one(conv(v3, pre(v3, C(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "a"}, {Filter: "b"}}}), S(suback(1, 0, 0)))))},
		{name: "UNSUBACK code count", id: "3.9/one-code-per-filter", v: v5,
			bad: one(conv(v5, pre(v5, C(&codec.Unsubscribe{PacketID: 1, Filters: []string{"a", "b"}}), S(&codec.Unsuback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0}})))), status: reports.Fail, stmt: "MQTT-3.11.3-1",
			good: one(conv(v5, pre(v5, C(&codec.Unsubscribe{PacketID: 1, Filters: []string{"a", "b"}}), S(&codec.Unsuback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0, 0x11}}))))},
		{name: "client alias above the maximum", id: "3.3/topic-alias/client", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetTopicAliasMaximum(2) })),
				C(with(pub(0, 0, "a", "x"), func(p *codec.Publish) { p.Properties.SetTopicAlias(3) }))})), status: reports.Fail, stmt: "MQTT-3.2.2-17",
			good: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetTopicAliasMaximum(2) })),
				C(with(pub(0, 0, "a", "x"), func(p *codec.Publish) { p.Properties.SetTopicAlias(2) })),
				C(with(pub(0, 0, "", "y"), func(p *codec.Publish) { p.Properties.SetTopicAlias(2) }))}))},
		{name: "client alias used before it was set", id: "3.3/topic-alias-set-before-use/client", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetTopicAliasMaximum(4) })),
				C(with(pub(0, 0, "", "x"), func(p *codec.Publish) { p.Properties.SetTopicAlias(2) }))})), status: reports.Fail, stmt: "MQTT-3.3.2-7",
			good: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetTopicAliasMaximum(4) })),
				C(with(pub(0, 0, "a", "x"), func(p *codec.Publish) { p.Properties.SetTopicAlias(2) })),
				C(with(pub(0, 0, "", "y"), func(p *codec.Publish) { p.Properties.SetTopicAlias(2) }))}))},
		{name: "server alias used before it was set", id: "3.3/topic-alias-set-before-use/broker", v: v5,
			// The client set alias 1 for its own messages: that mapping does not serve the server's.
			bad: one(conv(v5, []ev{C(with(connect(60), func(p *codec.Connect) { p.Properties.SetTopicAliasMaximum(2) })),
				S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetTopicAliasMaximum(2) })),
				C(with(pub(0, 0, "a", "x"), func(p *codec.Publish) { p.Properties.SetTopicAlias(1) })),
				S(with(pub(0, 0, "", "x"), func(p *codec.Publish) { p.Properties.SetTopicAlias(1) }))})), status: reports.Fail, stmt: "MQTT-3.3.2-7",
			good: one(conv(v5, []ev{C(with(connect(60), func(p *codec.Connect) { p.Properties.SetTopicAliasMaximum(2) })), S(&codec.Connack{}),
				S(with(pub(0, 0, "a", "x"), func(p *codec.Publish) { p.Properties.SetTopicAlias(1) })),
				S(with(pub(0, 0, "", "z"), func(p *codec.Publish) { p.Properties.SetTopicAlias(1) }))}))},
		{name: "server alias the client did not allow", id: "3.3/topic-alias/broker", v: v5,
			bad: one(conv(v5, pre(v5, S(with(pub(0, 0, "a", "x"), func(p *codec.Publish) { p.Properties.SetTopicAlias(1) }))))), status: reports.Fail, stmt: "MQTT-3.1.2-27",
			good: one(conv(v5, []ev{C(with(connect(60), func(p *codec.Connect) { p.Properties.SetTopicAliasMaximum(1) })), S(&codec.Connack{}),
				S(with(pub(0, 0, "a", "x"), func(p *codec.Publish) { p.Properties.SetTopicAlias(1) }))}))},
		{name: "server packet over the client's maximum", id: "3.1/maximum-packet-size/broker", v: v5,
			bad: one(conv(v5, []ev{C(with(connect(60), func(p *codec.Connect) { p.Properties.SetMaximumPacketSize(50) })), S(&codec.Connack{}),
				S(pub(0, 0, "a", strings.Repeat("x", 100)))})), status: reports.Fail, stmt: "MQTT-3.1.2-24",
			good: one(conv(v5, []ev{C(with(connect(60), func(p *codec.Connect) { p.Properties.SetMaximumPacketSize(50) })), S(&codec.Connack{}),
				S(pub(0, 0, "a", strings.Repeat("x", 40)))}))},
		{name: "client packet over the server's maximum", id: "3.1/maximum-packet-size/client", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetMaximumPacketSize(50) })),
				C(pub(0, 0, "a", strings.Repeat("x", 100)))})), status: reports.Fail, stmt: "MQTT-3.2.2-15",
			good: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetMaximumPacketSize(50) })),
				C(pub(0, 0, "a", "x"))}))},
		{name: "client over the Receive Maximum", id: "4.9/receive-maximum/client", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetReceiveMaximum(1) })),
				C(pub(1, 1, "a", "x")), C(pub(1, 2, "a", "y"))})), status: reports.Fail, stmt: "MQTT-3.3.4-7",
			good: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetReceiveMaximum(1) })),
				C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 1}), C(pub(1, 2, "a", "y"))}))},
		{name: "QoS above Maximum QoS", id: "3.2/maximum-qos", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetMaximumQoS(0) })),
				C(pub(1, 1, "a", "x"))})), status: reports.Fail, stmt: "MQTT-3.2.2-11",
			good: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetMaximumQoS(0) })),
				C(pub(0, 0, "a", "x"))}))},
		{name: "RETAIN without Retain Available", id: "3.2/retain-available", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetRetainAvailable(0) })),
				C(retainedPub(true))})), status: reports.Fail, stmt: "MQTT-3.2.2-14",
			good: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetRetainAvailable(0) })),
				C(retainedPub(false))}))},
		{name: "Reason String despite Request Problem Information 0", id: "3.1/request-problem-information", v: v5,
			bad: one(conv(v5, []ev{C(with(connect(60), func(p *codec.Connect) { p.Properties.SetRequestProblemInfo(0) })), S(&codec.Connack{}),
				C(pub(1, 1, "a", "x")), S(with(&codec.Puback{PacketID: 1, ReasonCode: 0x10}, func(p *codec.Puback) { p.Properties.SetReasonString("none") }))})), status: reports.Fail, stmt: "MQTT-3.1.2-29",
			good: one(conv(v5, []ev{C(with(connect(60), func(p *codec.Connect) { p.Properties.SetRequestProblemInfo(0) })), S(&codec.Connack{}),
				C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 1, ReasonCode: 0x10})}))},
		{name: "Response Information not requested", id: "3.1/request-response-information", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetResponseInfo("r/") }))})), status: reports.Fail, stmt: "MQTT-3.1.2-28",
			good: one(conv(v5, []ev{C(with(connect(60), func(p *codec.Connect) { p.Properties.SetRequestResponseInfo(1) })),
				S(with(&codec.Connack{}, func(p *codec.Connack) { p.Properties.SetResponseInfo("r/") }))}))},
		{name: "AUTH without a method", id: "4.12/auth-needs-method/client", v: v5,
			bad: one(conv(v5, pre(v5, C(&codec.Auth{ReasonCode: 0x19})))), status: reports.Fail, stmt: "MQTT-4.12.0-7",
			good: one(conv(v5, pre(v5)))},
		{name: "server AUTH without a method", id: "4.12/auth-needs-method/broker", v: v5,
			bad: one(conv(v5, []ev{C(connect(60)), S(&codec.Auth{ReasonCode: 0x18}), S(&codec.Connack{})})), status: reports.Fail, stmt: "MQTT-4.12.0-6",
			good: one(conv(v5, pre(v5)))},
		{name: "WebSocket text frame", id: "6.0/binary-frames/client", v: v3,
			bad: one(conv(v3, pre(v3), ws(wsText))), status: reports.Fail, stmt: "MQTT-6.0.0-1",
			good: one(conv(v3, pre(v3), ws(wsOK)))},
		{name: "mqtt subprotocol not offered", id: "6.0/subprotocol-mqtt/client", v: v3,
			bad: one(conv(v3, pre(v3), ws(wsNoOffer))), status: reports.Fail, stmt: "MQTT-6.0.0-3",
			good: one(conv(v3, pre(v3), ws(wsOK)))},
		{name: "mqtt subprotocol not selected", id: "6.0/subprotocol-mqtt/broker", v: v5,
			bad: one(conv(v5, pre(v5), ws(wsNoSelect))), status: reports.Fail, stmt: "MQTT-6.0.0-4",
			good: one(conv(v5, pre(v5), ws(wsOK)))},
		{name: "wildcard in a topic name", id: "2/well-formed/client", v: v5,
			bad: one(conv(v5, pre(v5, C(pub(0, 0, "a/+", "x"))))), status: reports.Fail, stmt: "MQTT-3.3.2-2",
			good: one(conv(v5, pre(v5, C(pub(0, 0, "a/b", "x")))))},
		{name: "undecodable packet", id: "2/well-formed/broker", v: v3,
			bad: one(conv(v3, pre(v3, ev{dir: pcap.FromServer, raw: []byte{0x90, 0x01, 0x00}}))), status: reports.Fail, stmt: "-",
			good: one(conv(v3, pre(v3, S(&codec.Pingresp{}))))},
	}
}

// TestChecks runs every check on a stream that breaks it and on one that does not.
func TestChecks(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range checkCases() {
		covered[strings.TrimSuffix(strings.TrimSuffix(tc.id, "/client"), "/broker")] = true
		t.Run(tc.name, func(t *testing.T) {
			res := Run(capture(tc.bad...), Options{File: "synthetic.pcap"})
			if err := res.Validate(); err != nil {
				t.Fatal(err)
			}
			c := findCase(t, res, tc.id, tc.v)
			if c.Status != tc.status {
				t.Fatalf("violating stream: status %s, want %s (%s)", c.Status, tc.status, c.Message)
			}
			want := "[" + tc.stmt + "]"
			if tc.stmt == "-" {
				want = "frame"
			}
			if !strings.Contains(c.Message, want) {
				t.Errorf("message does not cite %s:\n%s", tc.stmt, c.Message)
			}
			if len(c.Transcript) == 0 || c.Transcript[len(c.Transcript)-1].Dir != "note" {
				t.Errorf("transcript %+v, want the packets and a note", c.Transcript)
			}
			res = Run(capture(tc.good...), Options{File: "synthetic.pcap"})
			if c := findCase(t, res, tc.id, tc.v); c.Status != reports.Pass {
				t.Errorf("conforming stream: status %s, want pass (%s)", c.Status, c.Message)
			}
		})
	}
	for _, ch := range Checks() {
		if !covered[ch.ID] {
			t.Errorf("check %s has no test case", ch.ID)
		}
	}
}

// TestStatementsExist looks every cited statement up in the registry, and checks that a
// statement blamed on the client binds the client (or both sides), and one blamed on the broker
// binds the server. (The well-formed check cites whatever the codec's rules cite.)
func TestStatementsExist(t *testing.T) {
	for _, ch := range Checks() {
		for role, cite := range ch.Cites {
			for _, v := range []codec.Version{codec.V311, codec.V5} {
				for _, id := range cite.of(v) {
					st, ok := spec.Lookup(v.String(), id)
					if !ok {
						t.Errorf("%s (%s): %s is not a %v statement", ch.ID, role, id, v)
						continue
					}
					if ch.ID == "2/well-formed" {
						continue
					}
					want := map[Role]spec.Role{Client: spec.Client, Broker: spec.Server}[role]
					if st.Role != want && st.Role != spec.Both {
						t.Errorf("%s (%s): %s@%v binds the %v", ch.ID, role, id, v, st.Role)
					}
				}
			}
		}
	}
}

// findingLine matches the statement of a finding line: "stream 2 frame 17 [MQTT-2.2.1-3]: …".
var findingLine = regexp.MustCompile(`^stream \d+(?: frame \d+)? \[(MQTT-[0-9.]+-[0-9]+)\]: `)

// TestFindingsCiteTheCheck makes sure every statement a finding cites is among its case's
// statements, over all the violating streams.
func TestFindingsCiteTheCheck(t *testing.T) {
	for _, tc := range checkCases() {
		res := Run(capture(tc.bad...), Options{})
		for _, c := range res.Cases {
			if c.Status != reports.Fail && c.Status != reports.Warn {
				continue
			}
			for _, line := range strings.Split(c.Message, "\n")[1:] {
				m := findingLine.FindStringSubmatch(line)
				if m == nil {
					continue // a finding without a statement ID
				}
				if id := m[1]; !slices.Contains(c.Statements, id) {
					t.Errorf("%s: case %s@%s cites %s, not among %v", tc.name, c.ID, c.Version, id, c.Statements)
				}
			}
		}
	}
}

func TestSkipAndApplicability(t *testing.T) {
	// A stream captured mid-way: the stateful checks cannot judge it.
	cv := conv(v3, []ev{C(pub(1, 1, "a", "x")), S(&codec.Puback{PacketID: 7})})
	cv.Stream.Handshake = false
	res := Run(capture(cv), Options{})
	if c := findCase(t, res, "2.2/ack-matches-request/broker", v3); c.Status != reports.Skip {
		t.Errorf("ack check on a mid-stream capture: %s, want skip (%s)", c.Status, c.Message)
	}
	if c := findCase(t, res, "3.1/first-packet-connect", v3); c.Status != reports.Skip {
		t.Errorf("first-packet check on a mid-stream capture: %s, want skip", c.Status)
	}
	// Only versions present in the capture get cases.
	for _, c := range res.Cases {
		if c.Version != "3.1.1" {
			t.Fatalf("case %s for version %s, the capture has only 3.1.1", c.ID, c.Version)
		}
	}
	if res.Target.Role != "broker" || res.Target.Transport != "pcap" {
		t.Errorf("target %+v", res.Target)
	}
}

// TestCommittedCaptures runs the checks on the captures of mosquitto traffic: no violation is
// expected from mosquitto and its clients on these simple sessions.
func TestCommittedCaptures(t *testing.T) {
	ports := map[string][2]uint16{}
	m := loadManifest(t)
	for _, c := range m.Captures {
		var p [2]uint16
		if len(c.Ports) > 0 {
			p[0] = c.Ports[0]
		}
		if len(c.WSPorts) > 0 {
			p[1] = c.WSPorts[0]
		}
		ports[c.File] = p
	}
	for file, p := range ports {
		t.Run(file, func(t *testing.T) {
			o := pcap.Options{}
			if p[0] != 0 {
				o.Ports = []uint16{p[0]}
			}
			if p[1] != 0 {
				o.WebSocketPorts = []uint16{p[1]}
			}
			cp, err := pcap.CollectFile(filepath.Join("..", "testdata", file), o)
			if err != nil {
				t.Fatal(err)
			}
			res := Run(cp, Options{File: file})
			if err := res.Validate(); err != nil {
				t.Fatal(err)
			}
			if res.Summary.Fail != 0 || res.Summary.Pass == 0 {
				for _, c := range res.Cases {
					if c.Status == reports.Fail {
						t.Errorf("%s@%s: %s", c.ID, c.Version, c.Message)
					}
				}
				t.Errorf("summary %+v", res.Summary)
			}
			for _, c := range res.Cases {
				if c.Status == reports.Warn {
					t.Logf("%s@%s warns: %s", c.ID, c.Version, c.Message)
				}
			}
		})
	}
}

type manifest struct {
	Captures []struct {
		File    string   `json:"file"`
		Ports   []uint16 `json:"ports"`
		WSPorts []uint16 `json:"ws_ports"`
	} `json:"captures"`
}

func loadManifest(t testing.TB) *manifest {
	t.Helper()
	b, err := os.ReadFile("../testdata/captures.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// TestTooManyFilters: a stream subscribing to more filters than are followed is not judged by
// the subscription checks (rather than costing filters × messages).
func TestTooManyFilters(t *testing.T) {
	var subs []codec.Subscription
	for i := range maxSubscriptions + 1 {
		subs = append(subs, codec.Subscription{Filter: fmt.Sprintf("f/%d", i)})
	}
	cv := conv(v3, pre(v3, C(&codec.Subscribe{PacketID: 1, Subscriptions: subs}), S(pub(0, 0, "elsewhere", "x"))))
	res := Run(capture(cv), Options{})
	for _, id := range []string{"3.3/topic-matches-subscription", "3.8/granted-qos"} {
		if c := findCase(t, res, id, v3); c.Status != reports.Skip {
			t.Errorf("%s: %s, want skip (%s)", id, c.Status, c.Message)
		}
	}
}

// TestAliasCapture checks the synthetic Topic Alias capture of testdata: the alias-only PUBLISH
// packets that follow a mapping resolve (the delivery check sees the server's on "al/one"), and
// the two uses of an alias the connection never set are client violations citing MQTT-3.3.2-7;
// nothing else fails.
func TestAliasCapture(t *testing.T) {
	cp, err := pcap.CollectFile(filepath.Join("..", "testdata", "alias.pcap"), pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := Run(cp, Options{File: "alias.pcap"})
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		want := reports.Pass
		if c.ID == "3.3/topic-alias-set-before-use/client" {
			want = reports.Fail
		}
		if c.Status == reports.Fail && c.Status != want {
			t.Errorf("%s: %s (%s)", c.ID, c.Status, c.Message)
		}
	}
	c := findCase(t, res, "3.3/topic-alias-set-before-use/client", v5)
	if c.Status != reports.Fail || strings.Count(c.Message, "[MQTT-3.3.2-7]") != 2 || !strings.Contains(c.Message, "Topic Alias 3") {
		t.Errorf("alias used before set: %s\n%s", c.Status, c.Message)
	}
	if c := findCase(t, res, "3.3/topic-matches-subscription", v5); c.Status != reports.Pass {
		t.Errorf("deliveries on resolved aliases: %s (%s)", c.Status, c.Message)
	}
}
