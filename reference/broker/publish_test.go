package broker_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func TestQoSDowngradeAndOverlap(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			root := uniq("ov")
			sub, _ := connect(t, addr, v)
			sub.subscribe(1, codec.Subscription{Filter: root + "/q0", QoS: 0}, codec.Subscription{Filter: root + "/q1", QoS: 1})
			pub, _ := connect(t, addr, v)
			pub.publish(&codec.Publish{Topic: root + "/q0", QoS: 2, PacketID: 1, Payload: []byte("a")})
			checkPublish(t, sub.publishes(1)[0], root+"/q0", "a", 0, false) // MQTT-3.8.4-8
			pub.publish(&codec.Publish{Topic: root + "/q1", QoS: 2, PacketID: 2, Payload: []byte("b")})
			checkPublish(t, sub.publishes(1)[0], root+"/q1", "b", 1, false)
			pub.publish(&codec.Publish{Topic: root + "/q1", QoS: 0, Payload: []byte("c")})
			checkPublish(t, sub.publishes(1)[0], root+"/q1", "c", 0, false)
			// Overlapping subscriptions: one copy at the highest granted QoS (MQTT-3.3.4-2).
			sub.subscribe(2, codec.Subscription{Filter: root + "/#", QoS: 2})
			pub.publish(&codec.Publish{Topic: root + "/q0", QoS: 2, PacketID: 3, Payload: []byte("d")})
			checkPublish(t, sub.publishes(1)[0], root+"/q0", "d", 2, false)
			sub.expectNothing(200 * time.Millisecond)
		})
	}
}

func TestSubscriptionIdentifiers(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	root := uniq("sid")
	sub, _ := connect(t, addr, codec.V5)
	s1 := &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: root + "/+", QoS: 1}}}
	s1.Properties.SubscriptionIDs = []uint32{7}
	sub.send(s1)
	expectP[*codec.Suback](sub)
	s2 := &codec.Subscribe{PacketID: 2, Subscriptions: []codec.Subscription{{Filter: root + "/#"}}}
	s2.Properties.SubscriptionIDs = []uint32{268435455}
	sub.send(s2)
	expectP[*codec.Suback](sub)
	sub.subscribe(3, codec.Subscription{Filter: root + "/a/b"}) // no identifier
	pub, _ := connect(t, addr, codec.V5)
	pub.publish(&codec.Publish{Topic: root + "/a", QoS: 1, PacketID: 1})
	got := sub.publishes(1)[0]
	ids := slices.Sorted(slices.Values(got.Properties.SubscriptionIDs))
	if !slices.Equal(ids, []uint32{7, 268435455}) || got.QoS != 1 {
		t.Fatalf("PUBLISH %v: want both identifiers (MQTT-3.3.4-3/4) at QoS 1", got)
	}
	pub.publish(&codec.Publish{Topic: root + "/a/b"})
	got = sub.publishes(1)[0]
	if !slices.Equal(got.Properties.SubscriptionIDs, []uint32{268435455}) {
		t.Fatalf("PUBLISH %v: want only the # subscription's identifier", got)
	}
	// Re-subscribing without an identifier removes it.
	sub.subscribe(4, codec.Subscription{Filter: root + "/#"})
	pub.publish(&codec.Publish{Topic: root + "/x/y"})
	if got := sub.publishes(1)[0]; len(got.Properties.SubscriptionIDs) != 0 {
		t.Fatalf("identifier survived a replacing SUBSCRIBE: %v", got)
	}
}

func TestNoLocalAndRetainAsPublished(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("nl/")
	c, _ := connect(t, addr, codec.V5)
	c.subscribe(1, codec.Subscription{Filter: topic, QoS: 1, NoLocal: true})
	c.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 9})
	c.ping()
	c.expectNothing(100 * time.Millisecond) // MQTT-3.8.3-3
	other, _ := connect(t, addr, codec.V5)
	other.publish(&codec.Publish{Topic: topic, Payload: []byte("x")})
	checkPublish(t, c.publishes(1)[0], topic, "x", 0, false)

	// Retain As Published.
	rt := uniq("rap/")
	c.subscribe(2, codec.Subscription{Filter: rt + "/keep", RetainAsPublished: true}, codec.Subscription{Filter: rt + "/clear"})
	other.publish(&codec.Publish{Topic: rt + "/keep", Retain: true, Payload: []byte("k")})
	checkPublish(t, c.publishes(1)[0], rt+"/keep", "k", 0, true) // MQTT-3.3.1-13
	other.publish(&codec.Publish{Topic: rt + "/clear", Retain: true, Payload: []byte("c")})
	checkPublish(t, c.publishes(1)[0], rt+"/clear", "c", 0, false) // MQTT-3.3.1-12
}

func TestQoS2ExactlyOnce(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			topic := uniq("q2/")
			sub, _ := connect(t, addr, v)
			sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
			pub, _ := connect(t, addr, v)
			p := &codec.Publish{Topic: topic, QoS: 2, PacketID: 5, Payload: []byte("once")}
			pub.send(p)
			if rec := expectP[*codec.Pubrec](pub); rec.PacketID != 5 {
				t.Fatalf("PUBREC %v", rec)
			}
			dup := *p
			dup.Dup = true
			pub.send(&dup)
			if rec := expectP[*codec.Pubrec](pub); rec.PacketID != 5 { // MQTT-4.3.3-10
				t.Fatalf("PUBREC %v", rec)
			}
			pub.send(&codec.Pubrel{PacketID: 5})
			if comp := expectP[*codec.Pubcomp](pub); comp.PacketID != 5 || comp.ReasonCode != 0 {
				t.Fatalf("PUBCOMP %v", comp)
			}
			checkPublish(t, sub.publishes(1)[0], topic, "once", 2, false)
			sub.expectNothing(200 * time.Millisecond)
			// After PUBCOMP the identifier starts a new message (MQTT-4.3.3-12).
			pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 5, Payload: []byte("again")})
			checkPublish(t, sub.publishes(1)[0], topic, "again", 2, false)
			// A PUBREL for an unknown identifier still gets a PUBCOMP; v5 says 0x92.
			pub.send(&codec.Pubrel{PacketID: 77})
			comp := expectP[*codec.Pubcomp](pub)
			want := codec.ReasonCode(0)
			if v == codec.V5 {
				want = codec.ReasonPacketIDNotFound
			}
			if comp.PacketID != 77 || comp.ReasonCode != want {
				t.Fatalf("PUBCOMP %v for an unknown identifier", comp)
			}
		})
	}
}

func TestPubrecForUnknownID(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	c, _ := connect(t, addr, codec.V5)
	c.send(&codec.Pubrec{PacketID: 3})
	if rel := expectP[*codec.Pubrel](c); rel.PacketID != 3 || rel.ReasonCode != codec.ReasonPacketIDNotFound {
		t.Fatalf("PUBREL %v, want id 3 with 0x92", rel)
	}
}

func TestPropertiesForwardedUnaltered(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("props/")
	sub, _ := connect(t, addr, codec.V5)
	sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
	v3, _ := connect(t, addr, codec.V311)
	v3.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
	pub, _ := connect(t, addr, codec.V5)
	p := &codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("{}")}
	p.Properties.SetPayloadFormat(1).SetContentType("application/json").SetResponseTopic("reply/here").
		SetCorrelationData([]byte{1, 2, 3}).AddUser("b", "2").AddUser("a", "1").AddUser("b", "3")
	pub.publish(p)
	got := sub.publishes(1)[0]
	gp := &got.Properties
	if gp.PayloadFormat != 1 || !gp.Has(codec.PropPayloadFormat) || gp.ContentType != "application/json" ||
		gp.ResponseTopic != "reply/here" || !bytes.Equal(gp.CorrelationData, []byte{1, 2, 3}) ||
		!slices.Equal(gp.User, p.Properties.User) || gp.Has(codec.PropMessageExpiry) || gp.Has(codec.PropTopicAlias) {
		t.Fatalf("forwarded properties %v, want %v unaltered and in order (MQTT-3.3.2-4, -15..-18, -20)", gp.String(), p.Properties.String())
	}
	// A 3.1.1 subscriber gets the message without properties.
	checkPublish(t, v3.publishes(1)[0], topic, "{}", 1, false)
}

func TestMessageExpiry(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("exp/")
	id := uniq("exps")
	se := props(func(p *codec.Properties) { p.SetSessionExpiry(60) })
	sub, _ := connect(t, addr, codec.V5, clientID(id), se)
	sub.subscribe(1, codec.Subscription{Filter: topic + "/#", QoS: 1})
	sub.disconnect()
	pub, _ := connect(t, addr, codec.V5)
	long := &codec.Publish{Topic: topic + "/long", QoS: 1, PacketID: 1, Payload: []byte("l")}
	long.Properties.SetMessageExpiry(30)
	pub.publish(long)
	short := &codec.Publish{Topic: topic + "/short", QoS: 1, PacketID: 2, Payload: []byte("s")}
	short.Properties.SetMessageExpiry(1)
	pub.publish(short)
	time.Sleep(1100 * time.Millisecond)
	sub, _ = connect(t, addr, codec.V5, clientID(id), notClean(), se)
	got := sub.publishes(1)[0]
	checkPublish(t, got, topic+"/long", "l", 1, false)
	if e := got.Properties.MessageExpiry; !got.Properties.Has(codec.PropMessageExpiry) || e > 29 || e < 27 {
		t.Fatalf("Message Expiry %d after waiting 1.1s of 30, want 29 (MQTT-3.3.2-6)", e)
	}
	sub.expectNothing(200 * time.Millisecond) // the short one expired while queued (MQTT-3.3.2-5)
}

func TestTopicAliasFromClient(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{TopicAliasMaximum: broker.Ptr[uint16](2)})
	topic := uniq("alias/")
	sub, _ := connect(t, addr, codec.V5)
	sub.subscribe(1, codec.Subscription{Filter: topic + "/#"})
	pub, _ := connect(t, addr, codec.V5)
	set := &codec.Publish{Topic: topic + "/a", Payload: []byte("1")}
	set.Properties.SetTopicAlias(1)
	pub.send(set)
	use := &codec.Publish{Payload: []byte("2")}
	use.Properties.SetTopicAlias(1)
	pub.send(use)
	re := &codec.Publish{Topic: topic + "/b", Payload: []byte("3")}
	re.Properties.SetTopicAlias(1)
	pub.send(re)
	pub.send(use)
	for i, want := range []struct{ topic, payload string }{{"/a", "1"}, {"/a", "2"}, {"/b", "3"}, {"/b", "2"}} {
		got := sub.publishes(1)[0]
		if got.Topic != topic+want.topic || string(got.Payload) != want.payload || got.Properties.Has(codec.PropTopicAlias) {
			t.Fatalf("message %d: %v, want %s%s %q without an alias", i, got, topic, want.topic, want.payload)
		}
	}
	t.Run("alias above the maximum", func(t *testing.T) {
		c, _ := connect(t, addr, codec.V5)
		p := &codec.Publish{Topic: "x"}
		p.Properties.SetTopicAlias(3)
		c.send(p)
		c.expectDisconnect(codec.ReasonTopicAliasInvalid)
	})
	t.Run("alias 0", func(t *testing.T) {
		c, _ := connect(t, addr, codec.V5)
		p := &codec.Publish{Topic: "x"}
		p.Properties.SetTopicAlias(0)
		c.send(p)
		c.expectDisconnect(codec.ReasonTopicAliasInvalid) // section 3.3.4
	})
	t.Run("alias without a mapping", func(t *testing.T) {
		c, _ := connect(t, addr, codec.V5)
		p := &codec.Publish{}
		p.Properties.SetTopicAlias(2)
		c.send(p)
		c.expectDisconnect(codec.ReasonProtocolError)
	})
	t.Run("mappings do not carry over to a new connection", func(t *testing.T) {
		id := uniq("al")
		c, _ := connect(t, addr, codec.V5, clientID(id))
		c.send(set)
		c.disconnect()
		c, _ = connect(t, addr, codec.V5, clientID(id))
		c.send(use)
		c.expectDisconnect(codec.ReasonProtocolError) // MQTT-3.3.2-7
	})
}

func TestTopicAliasToClient(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("outalias/")
	sub, _ := connect(t, addr, codec.V5, props(func(p *codec.Properties) { p.SetTopicAliasMaximum(1) }))
	sub.subscribe(1, codec.Subscription{Filter: topic + "/#"})
	pub, _ := connect(t, addr, codec.V5)
	for _, s := range []string{"/a", "/a", "/b", "/a"} {
		pub.publish(&codec.Publish{Topic: topic + s, Payload: []byte(s)})
	}
	got := sub.publishes(4)
	if got[0].Topic != topic+"/a" || got[0].Properties.TopicAlias != 1 {
		t.Fatalf("first: %v, want the topic with alias 1", got[0])
	}
	if got[1].Topic != "" || got[1].Properties.TopicAlias != 1 {
		t.Fatalf("second: %v, want alias 1 and an empty topic", got[1])
	}
	if got[2].Topic != topic+"/b" || got[2].Properties.Has(codec.PropTopicAlias) {
		t.Fatalf("third: %v, want the full topic without alias (maximum 1 reached, MQTT-3.3.2-11)", got[2])
	}
	if got[3].Topic != "" || got[3].Properties.TopicAlias != 1 {
		t.Fatalf("fourth: %v", got[3])
	}
	// Without a Topic Alias Maximum no alias is ever sent (MQTT-3.1.2-27).
	plain, _ := connect(t, addr, codec.V5)
	plain.subscribe(1, codec.Subscription{Filter: topic + "/#"})
	pub.publish(&codec.Publish{Topic: topic + "/a"})
	pub.publish(&codec.Publish{Topic: topic + "/a"})
	for _, p := range plain.publishes(2) {
		if p.Properties.Has(codec.PropTopicAlias) || p.Topic != topic+"/a" {
			t.Fatalf("alias sent to a client that accepts none: %v", p)
		}
	}
}

func TestReceiveMaximumFromClient(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("rm/")
	sub, _ := connect(t, addr, codec.V5, props(func(p *codec.Properties) { p.SetReceiveMaximum(2) }))
	sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
	pub, _ := connect(t, addr, codec.V5)
	for i := 0; i < 5; i++ {
		pub.publish(&codec.Publish{Topic: topic, QoS: byte(1 + i%2), PacketID: uint16(i + 1), Payload: []byte{byte('0' + i)}})
	}
	var ids []uint16
	for i := 0; i < 2; i++ {
		p := expectP[*codec.Publish](sub)
		if p.Payload[0] != byte('0'+i) {
			t.Fatalf("order: got %q at %d", p.Payload, i)
		}
		ids = append(ids, p.PacketID)
	}
	sub.expectNothing(200 * time.Millisecond) // MQTT-3.3.4-9: the window is full
	sub.send(&codec.Puback{PacketID: ids[0]})
	p := expectP[*codec.Publish](sub)
	if p.Payload[0] != '2' {
		t.Fatalf("after PUBACK got %v, want message 2", p)
	}
	sub.expectNothing(200 * time.Millisecond)
	// QoS 2: PUBREC frees nothing, PUBCOMP does.
	sub.send(&codec.Pubrec{PacketID: ids[1]})
	expectP[*codec.Pubrel](sub)
	sub.expectNothing(200 * time.Millisecond)
	sub.send(&codec.Pubcomp{PacketID: ids[1]})
	if p := expectP[*codec.Publish](sub); p.Payload[0] != '3' {
		t.Fatalf("after PUBCOMP got %v, want message 3", p)
	}
}

func TestReceiveMaximumExceededByClient(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{MaxInflight: 2})
	c, ack := connect(t, addr, codec.V5)
	if ack.Properties.ReceiveMaximum != 2 {
		t.Fatalf("CONNACK %v", ack)
	}
	for id := uint16(1); id <= 2; id++ {
		c.send(&codec.Publish{Topic: "rmx", QoS: 2, PacketID: id})
		expectP[*codec.Pubrec](c)
	}
	c.send(&codec.Publish{Topic: "rmx", QoS: 1, PacketID: 3})
	c.expectDisconnect(codec.ReasonReceiveMaximumExceeded)
}

func TestMaximumPacketSize(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{MaxPacketSize: 128})
	t.Run("from client", func(t *testing.T) {
		c, _ := connect(t, addr, codec.V5)
		c.send(&codec.Publish{Topic: "big", Payload: make([]byte, 200)})
		c.expectDisconnect(codec.ReasonPacketTooLarge)
		c3, _ := connect(t, addr, codec.V311)
		c3.send(&codec.Publish{Topic: "big", Payload: make([]byte, 200)})
		c3.expectClosed(wait)
	})
	t.Run("to client", func(t *testing.T) {
		topic := uniq("mps/")
		sub, _ := connect(t, addr, codec.V5, props(func(p *codec.Properties) { p.SetMaximumPacketSize(60).SetReceiveMaximum(1) }))
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		pub, _ := connect(t, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: make([]byte, 80)})
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 2, Payload: []byte("small")})
		// The large one is discarded as if sent (MQTT-3.1.2-24/25): the window of 1 is free again.
		checkPublish(t, sub.publishes(1)[0], topic, "small", 1, false)
	})
}

func TestMaximumQoSAndRetainAvailable(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{MaximumQoS: broker.Ptr[byte](1), RetainAvailable: broker.Ptr(false)})
	c, _ := connect(t, addr, codec.V5)
	if ack := c.subscribe(1, codec.Subscription{Filter: "mq", QoS: 2}); ack.ReasonCodes[0] != 1 {
		t.Fatalf("SUBACK %v, want QoS 1 granted (MQTT-3.2.2-10)", ack)
	}
	c.send(&codec.Publish{Topic: "mq", QoS: 2, PacketID: 1})
	c.expectDisconnect(codec.ReasonQoSNotSupported)
	c, _ = connect(t, addr, codec.V5)
	c.send(&codec.Publish{Topic: "mq", Retain: true})
	c.expectDisconnect(codec.ReasonRetainNotSupported)
	w := dial(t, addr, codec.V5)
	w.send(connectPacket(withWill("w", "x", 2, false, nil)))
	if ack := expectP[*codec.Connack](w); ack.ReasonCode != codec.ReasonQoSNotSupported {
		t.Fatalf("will QoS 2: %v (MQTT-3.2.2-12)", ack)
	}
	w = dial(t, addr, codec.V5)
	w.send(connectPacket(withWill("w", "x", 0, true, nil)))
	if ack := expectP[*codec.Connack](w); ack.ReasonCode != codec.ReasonRetainNotSupported {
		t.Fatalf("will retain: %v (MQTT-3.2.2-13)", ack)
	}
}

func TestPublishOrder(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("order/")
	sub, _ := connect(t, addr, codec.V311)
	sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
	pub, _ := connect(t, addr, codec.V311)
	const n = 300
	for i := 0; i < n; i++ {
		pub.send(&codec.Publish{Topic: topic, QoS: 1, PacketID: uint16(i + 1), Payload: []byte{byte(i >> 8), byte(i)}})
	}
	for i := 0; i < n; i++ {
		if ack := expectP[*codec.Puback](pub); ack.PacketID != uint16(i+1) {
			t.Fatalf("PUBACK %d out of order: %v (MQTT-4.6.0-2)", i, ack)
		}
	}
	for i, p := range sub.publishes(n) {
		if int(p.Payload[0])<<8|int(p.Payload[1]) != i {
			t.Fatalf("message %d arrived as %d (MQTT-4.6.0-5)", i, int(p.Payload[0])<<8|int(p.Payload[1]))
		}
	}
}

// TestStoredMessagesOwnTheirBytes: PUBLISH packets are decoded in place, so stored copies
// (retained, queued) must not change when the connection reads further packets.
func TestStoredMessagesOwnTheirBytes(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("own/")
	pub, _ := connect(t, addr, codec.V5)
	first := &codec.Publish{Topic: topic, Retain: true, QoS: 1, PacketID: 1, Payload: []byte("AAAAAAAA")}
	first.Properties.SetContentType("type/a").SetCorrelationData([]byte("corr-a")).AddUser("ka", "va")
	pub.publish(first)
	for i := 0; i < 20; i++ {
		other := &codec.Publish{Topic: uniq("own-other/"), QoS: 1, PacketID: uint16(i + 2), Payload: []byte("BBBBBBBB")}
		other.Properties.SetContentType("type/b").SetCorrelationData([]byte("corr-b")).AddUser("kb", "vb")
		pub.publish(other)
	}
	sub, _ := connect(t, addr, codec.V5)
	sub.subscribe(1, codec.Subscription{Filter: topic})
	got := sub.publishes(1)[0]
	checkPublish(t, got, topic, "AAAAAAAA", 0, true)
	if got.Properties.ContentType != "type/a" || string(got.Properties.CorrelationData) != "corr-a" ||
		!slices.Equal(got.Properties.User, []codec.UserProperty{{Key: "ka", Value: "va"}}) {
		t.Fatalf("stored properties changed: %v", got.Properties.String())
	}
}
