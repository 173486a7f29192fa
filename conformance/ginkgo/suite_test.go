package ginkgo_test

import (
	"context"
	"testing"

	g "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	mg "github.com/mqttspec/mqttspec/conformance/ginkgo"
)

// The catalog as a Ginkgo suite against the embedded reference broker. Under plain `go test`
// it runs sections 3.9, 3.12 and 3.14 and the matcher specs (the whole catalog already runs in conformance/catalog/broker);
// with the ginkgo CLI, select with labels:
//
//	ginkgo --label-filter='MQTT-3.3.1-4' ./conformance/ginkgo
//	ginkgo --label-filter='v5.0 && MUST' --junit-report=junit.xml ./conformance/ginkgo
func TestCatalogSuite(t *testing.T) {
	RegisterFailHandler(g.Fail)
	suite, reporter := g.GinkgoConfiguration()
	if suite.LabelFilter == "" {
		suite.LabelFilter = "section-3.9 || section-3.12 || section-3.14 || matchers"
	}
	g.RunSpecs(t, "mqttspec broker catalog (embedded reference broker)", suite, reporter)
}

var target *conformance.Target

var _ = g.BeforeSuite(func() {
	tg, stop, err := embedded.Start(context.Background(), embedded.Options())
	Expect(err).NotTo(HaveOccurred())
	g.DeferCleanup(stop)
	target = tg
})

var _ = mg.DescribeCatalog(mg.Options{
	Target: func() *conformance.Target { return target },
	Cases:  catalog.BrokerCases(),
})

// The matchers in a Ginkgo spec, on a live exchange with the embedded broker.
var _ = g.Describe("packet matchers", g.Label("matchers"), func() {
	g.It("match a live CONNACK and PUBLISH", func(ctx g.SpecContext) {
		nc, err := target.Dial(ctx)
		Expect(err).NotTo(HaveOccurred())
		defer nc.Close()
		w := codec.NewWriter(nc, codec.V5)
		r := codec.NewReader(nc, codec.Options{Version: codec.V5})
		connect := &codec.Connect{ProtocolLevel: 5, CleanStart: true, KeepAlive: 10, ClientID: "ginkgomatchers"}
		if target.Username != "" {
			connect.UsernameFlag, connect.Username = true, target.Username
			connect.PasswordFlag, connect.Password = true, []byte(target.Password)
		}
		Expect(w.WritePacket(connect)).To(Succeed())
		ack, err := r.ReadPacket()
		Expect(err).NotTo(HaveOccurred())
		Expect(ack).To(mg.BeConnack(codec.ReasonSuccess))
		Expect(w.WritePacket(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "mqttspec/ginkgo/m", QoS: 1}}})).To(Succeed())
		Expect(r.ReadPacket()).To(mg.MatchPacket(conformance.Suback(1, 1)))
		Expect(w.WritePacket(&codec.Publish{Topic: "mqttspec/ginkgo/m", QoS: 1, PacketID: 2, Payload: []byte("x")})).To(Succeed())
		got := []codec.Packet{}
		for len(got) < 2 {
			p, err := r.ReadPacket()
			Expect(err).NotTo(HaveOccurred())
			got = append(got, p)
		}
		Expect(got).To(ContainElement(mg.HaveReasonCode(codec.ReasonSuccess)))
		Expect(got).To(ContainElement(mg.BePublish("mqttspec/ginkgo/m", []byte("x"), 1)))
	})
})
