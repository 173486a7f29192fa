package ginkgo

import (
	"fmt"

	"github.com/onsi/gomega/types"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

// packetMatcher adapts a conformance.Matcher to Gomega.
type packetMatcher struct {
	m      conformance.Matcher
	reason error
}

// MatchPacket succeeds when the actual codec.Packet satisfies m (any conformance matcher:
// conformance.Publish(…).Retain(true), conformance.Suback(id, codes…), …).
func MatchPacket(m conformance.Matcher) types.GomegaMatcher { return &packetMatcher{m: m} }

func (pm *packetMatcher) Match(actual any) (bool, error) {
	p, ok := actual.(codec.Packet)
	if !ok {
		return false, fmt.Errorf("MatchPacket expects a codec.Packet, got %T", actual)
	}
	pm.reason = pm.m.Match(p)
	return pm.reason == nil, nil
}

func (pm *packetMatcher) FailureMessage(actual any) string {
	return fmt.Sprintf("Expected\n\t%v\nto be %s\nbut: %v", actual, pm.m, pm.reason)
}

func (pm *packetMatcher) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("Expected\n\t%v\nnot to be %s", actual, pm.m)
}

// BeConnack matches a CONNACK with the reason code (any Session Present).
func BeConnack(rc codec.ReasonCode) types.GomegaMatcher {
	return MatchPacket(conformance.Type(codec.CONNACK).Reason(rc))
}

// HaveReasonCode matches any packet that carries this reason code (CONNACK, PUBACK…,
// DISCONNECT, AUTH).
func HaveReasonCode(rc codec.ReasonCode) types.GomegaMatcher {
	return &reasonMatcher{rc: rc}
}

type reasonMatcher struct{ rc codec.ReasonCode }

func (r *reasonMatcher) Match(actual any) (bool, error) {
	p, ok := actual.(codec.Packet)
	if !ok {
		return false, fmt.Errorf("HaveReasonCode expects a codec.Packet, got %T", actual)
	}
	switch p := p.(type) {
	case *codec.Suback:
		return len(p.ReasonCodes) == 1 && p.ReasonCodes[0] == r.rc, nil
	case *codec.Unsuback:
		return len(p.ReasonCodes) == 1 && p.ReasonCodes[0] == r.rc, nil
	}
	err := conformance.Type(p.Type()).Reason(r.rc).Match(p)
	return err == nil, nil
}

func (r *reasonMatcher) FailureMessage(actual any) string {
	return fmt.Sprintf("Expected\n\t%v\nto have reason code %s", actual, r.rc)
}

func (r *reasonMatcher) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("Expected\n\t%v\nnot to have reason code %s", actual, r.rc)
}

// BePublish matches a PUBLISH with this topic, payload and QoS (DUP and RETAIN 0).
func BePublish(topic string, payload []byte, qos byte) types.GomegaMatcher {
	return MatchPacket(conformance.Publish(topic, payload, qos))
}

// HavePacketType matches a packet of type t.
func HavePacketType(t codec.PacketType) types.GomegaMatcher { return MatchPacket(conformance.Type(t)) }

// HavePacketID matches a packet carrying identifier id.
func HavePacketID(id uint16) types.GomegaMatcher {
	return &idMatcher{id: id}
}

type idMatcher struct{ id uint16 }

func (m *idMatcher) Match(actual any) (bool, error) {
	p, ok := actual.(codec.Packet)
	if !ok {
		return false, fmt.Errorf("HavePacketID expects a codec.Packet, got %T", actual)
	}
	got, ok := conformance.PacketID(p)
	return ok && got == m.id, nil
}

func (m *idMatcher) FailureMessage(actual any) string {
	return fmt.Sprintf("Expected\n\t%v\nto carry packet identifier %d", actual, m.id)
}

func (m *idMatcher) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("Expected\n\t%v\nnot to carry packet identifier %d", actual, m.id)
}
