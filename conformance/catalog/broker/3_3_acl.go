package broker

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Publications the server does not authorize (the target's ACL-denied topic).

var _ = catalog.Broker(c.Case{
	ID:         "3.3/unauthorized-publish-acknowledged-or-closed",
	Title:      "a QoS 1 PUBLISH to the ACL-denied topic is acknowledged as usual (PUBACK with its id) or the connection is closed, and a subscriber the server lets watch that topic receives nothing",
	Statements: []string{"MQTT-3.3.5-2"},
	Versions:   c.V311,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureDeniedTopic, c.FeatureQoS1},
	Run: func(t *c.T) {
		// A watcher on the denied topic tells a server that withholds the message from one that
		// ignores its ACL (or was given a topic it does not deny): delivery fails the case. A
		// server may refuse the watcher's subscription, or grant it and withhold the messages.
		watcher := t.ConnectLabel("watcher", t.DefaultConnect())
		id := subscribeMany(watcher, nil, codec.Subscription{Filter: t.Target.DeniedTopic, QoS: 1})
		// The server may also close the watcher's connection instead of answering (RabbitMQ does,
		// its ACL denying reads too): whether a SUBSCRIBE may be refused that way is another
		// statement's business; here it only means the delivery cannot be watched.
		watching := false
		switch ack, _ := watcher.ExpectOrClosed(c.Type(codec.SUBACK).ID(id)).(*codec.Suback); {
		case ack == nil:
			t.Logf("the server closed the watcher's connection when it subscribed to the denied topic: whether the PUBLISH is delivered cannot be observed")
		case len(ack.ReasonCodes) == 1 && !ack.ReasonCodes[0].IsError():
			watching = true
		default:
			t.Logf("the server refused the watcher's subscription to the denied topic (%v): whether the PUBLISH is delivered cannot be observed", ack.ReasonCodes)
		}
		pub := t.Pub("pub")
		pub.Send(&codec.Publish{Topic: t.Target.DeniedTopic, QoS: 1, PacketID: 11, Payload: []byte("not allowed")})
		if pub.ExpectOrClosed(c.Puback(11)) != nil {
			pub.ExpectOpen()
		}
		if watching {
			t.Logf("watching the denied topic: a delivery means the server authorized the PUBLISH (its ACL is not enforced, or --denied-topic names a topic it allows)")
			watcher.ExpectNothing(0)
		}
	},
})
