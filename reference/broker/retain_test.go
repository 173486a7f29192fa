package broker_test

import (
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func TestRetainedMessages(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			root := uniq("ret")
			pub, _ := connect(t, addr, v)
			pub.publish(&codec.Publish{Topic: root + "/a", Retain: true, QoS: 1, PacketID: 1, Payload: []byte("A")})
			pub.publish(&codec.Publish{Topic: root + "/b", Retain: true, QoS: 2, PacketID: 2, Payload: []byte("B")})
			pub.publish(&codec.Publish{Topic: root + "/c", Retain: false, Payload: []byte("C")})
			pub.publish(&codec.Publish{Topic: root + "/b", Retain: true, Payload: []byte("B2")}) // replaces (MQTT-3.3.1-5)
			pub.ping()                                                                           // QoS 0 has no acknowledgement: sync

			sub, _ := connect(t, addr, v)
			sub.subscribe(1, codec.Subscription{Filter: root + "/#", QoS: 1})
			got := sub.publishes(2)
			checkPublish(t, got[0], root+"/a", "A", 1, true) // MQTT-3.3.1-8 (3.1.1)
			checkPublish(t, got[1], root+"/b", "B2", 0, true)
			sub.expectNothing(100 * time.Millisecond)

			// Live messages reach existing subscriptions with RETAIN 0.
			pub.publish(&codec.Publish{Topic: root + "/a", Retain: true, Payload: []byte("A2")})
			checkPublish(t, sub.publishes(1)[0], root+"/a", "A2", 0, false)

			// An empty retained payload is forwarded, then deletes the retained message (MQTT-3.3.1-6/7).
			pub.publish(&codec.Publish{Topic: root + "/a", Retain: true})
			checkPublish(t, sub.publishes(1)[0], root+"/a", "", 0, false)
			pub.ping()
			late, _ := connect(t, addr, v)
			late.subscribe(1, codec.Subscription{Filter: root + "/+", QoS: 2})
			checkPublish(t, late.publishes(1)[0], root+"/b", "B2", 0, true)
			late.expectNothing(100 * time.Millisecond)

			// Re-subscribing to an identical filter re-sends retained messages (MQTT-3.8.4-3/4).
			late.subscribe(2, codec.Subscription{Filter: root + "/+", QoS: 0})
			checkPublish(t, late.publishes(1)[0], root+"/b", "B2", 0, true)
		})
	}
}

func TestRetainHandling(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("rh/")
	pub, _ := connect(t, addr, codec.V5)
	pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("r")})
	pub.ping()
	c, _ := connect(t, addr, codec.V5)
	// 2: never.
	c.subscribe(1, codec.Subscription{Filter: topic, RetainHandling: 2})
	c.expectNothing(100 * time.Millisecond)
	// 1: only when the subscription is new — it exists now.
	c.subscribe(2, codec.Subscription{Filter: topic, RetainHandling: 1})
	c.expectNothing(100 * time.Millisecond)
	// 0: always.
	c.subscribe(3, codec.Subscription{Filter: topic, RetainHandling: 0})
	checkPublish(t, c.publishes(1)[0], topic, "r", 0, true)
	// 1 on a new subscription: sent.
	d, _ := connect(t, addr, codec.V5)
	d.subscribe(1, codec.Subscription{Filter: topic, RetainHandling: 1})
	checkPublish(t, d.publishes(1)[0], topic, "r", 0, true)
	// Shared subscriptions never get retained messages (section 4.8.2).
	d.subscribe(2, codec.Subscription{Filter: "$share/g/" + topic})
	d.expectNothing(100 * time.Millisecond)
}

func TestDollarTopics(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	root := uniq("dollar")
	c, _ := connect(t, addr, codec.V311)
	c.subscribe(1, codec.Subscription{Filter: "#"}, codec.Subscription{Filter: "+/" + root})
	d, _ := connect(t, addr, codec.V311)
	d.subscribe(1, codec.Subscription{Filter: "$" + root + "/#"})
	pub, _ := connect(t, addr, codec.V311)
	pub.publish(&codec.Publish{Topic: "$" + root + "/x", Retain: true, Payload: []byte("d")})
	checkPublish(t, d.publishes(1)[0], "$"+root+"/x", "d", 0, false)
	c.ping()
	c.expectNothing(100 * time.Millisecond) // MQTT-4.7.2-1
	late, _ := connect(t, addr, codec.V311)
	late.subscribe(1, codec.Subscription{Filter: "#"})
	late.expectNothing(100 * time.Millisecond) // nor retained $ messages
	late.subscribe(2, codec.Subscription{Filter: "$" + root + "/+"})
	checkPublish(t, late.publishes(1)[0], "$"+root+"/x", "d", 0, true)
}
