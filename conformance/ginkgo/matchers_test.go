package ginkgo_test

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/mqttspec/mqttspec/codec"
	mg "github.com/mqttspec/mqttspec/conformance/ginkgo"
)

func TestMatchers(t *testing.T) {
	g := NewWithT(t)
	pub := &codec.Publish{Topic: "a/b", QoS: 1, PacketID: 7, Payload: []byte("hi")}
	g.Expect(pub).To(mg.BePublish("a/b", []byte("hi"), 1))
	g.Expect(pub).NotTo(mg.BePublish("a/b", []byte("hi"), 2))
	g.Expect(pub).To(mg.HavePacketID(7))
	g.Expect(pub).NotTo(mg.HavePacketID(8))
	g.Expect(pub).To(mg.HavePacketType(codec.PUBLISH))
	pub.Retain = true
	g.Expect(pub).NotTo(mg.BePublish("a/b", []byte("hi"), 1), "RETAIN 1 must not match the default RETAIN 0")

	ack := &codec.Connack{ReasonCode: codec.ReasonNotAuthorized}
	g.Expect(ack).To(mg.BeConnack(codec.ReasonNotAuthorized))
	g.Expect(ack).To(mg.HaveReasonCode(codec.ReasonNotAuthorized))
	g.Expect(ack).NotTo(mg.HaveReasonCode(codec.ReasonSuccess))
	g.Expect(&codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0x80}}).To(mg.HaveReasonCode(0x80))
	g.Expect(&codec.Pingresp{}).NotTo(mg.HaveReasonCode(0))

	_, err := mg.BeConnack(0).Match("not a packet")
	g.Expect(err).To(HaveOccurred())
}
