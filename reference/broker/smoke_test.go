package broker_test

import (
	"testing"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func TestSmokePubSub(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5, codec.V31} {
		t.Run(v.String(), func(t *testing.T) {
			sub, _ := connect(t, addr, v)
			topic := uniq("smoke/")
			sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
			pub, _ := connect(t, addr, v)
			for q := byte(0); q <= 2; q++ {
				pub.publish(&codec.Publish{Topic: topic, QoS: q, PacketID: uint16(q) + 10, Payload: []byte{'x', '0' + q}})
				got := sub.publishes(1)[0]
				checkPublish(t, got, topic, string([]byte{'x', '0' + q}), q, false)
			}
		})
	}
}
