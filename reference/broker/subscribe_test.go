package broker_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func TestSubackCodes(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{
		MaximumQoS: broker.Ptr[byte](1),
		ACL: broker.ACL{
			{Topic: "open/#", Access: broker.AccessReadWrite},
			{Topic: "ro/#", Access: broker.AccessRead},
			{Topic: "clients/%c/#", Access: broker.AccessReadWrite},
		},
	})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			id := uniq("sc")
			c, _ := connect(t, addr, v, clientID(id))
			ack := c.subscribe(7,
				codec.Subscription{Filter: "open/a", QoS: 2},
				codec.Subscription{Filter: "closed/a", QoS: 0},
				codec.Subscription{Filter: "ro/+", QoS: 1},
				codec.Subscription{Filter: "#", QoS: 0},
				codec.Subscription{Filter: "clients/" + id + "/x", QoS: 0},
				codec.Subscription{Filter: "clients/other/x", QoS: 0},
			)
			deny := codec.SubackFailure
			if v == codec.V5 {
				deny = codec.ReasonNotAuthorized
			}
			want := []codec.ReasonCode{1, deny, 1, deny, 0, deny} // in filter order (MQTT-3.9.3-1)
			if !slices.Equal(ack.ReasonCodes, want) {
				t.Fatalf("SUBACK codes %v, want %v", ack.ReasonCodes, want)
			}
			// Publishing is checked too: a denied QoS 1 PUBLISH is refused in v5, acknowledged and
			// dropped in 3.1.1 (MQTT-3.3.5-2).
			c.send(&codec.Publish{Topic: "ro/a", QoS: 1, PacketID: 3})
			pa := expectP[*codec.Puback](c)
			wantRC := codec.ReasonCode(0)
			if v == codec.V5 {
				wantRC = codec.ReasonNotAuthorized
			}
			if pa.PacketID != 3 || pa.ReasonCode != wantRC {
				t.Fatalf("PUBACK %v, want reason 0x%02X", pa, byte(wantRC))
			}
			c.expectNothing(100 * time.Millisecond) // and the message went nowhere
		})
	}
}

func TestUnsubscribe(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			root := uniq("uns")
			c, _ := connect(t, addr, v)
			c.subscribe(1, codec.Subscription{Filter: root + "/+"}, codec.Subscription{Filter: root + "/a"})
			c.send(&codec.Unsubscribe{PacketID: 9, Filters: []string{root + "/a", root + "/#", root + "/+"}})
			ack := expectP[*codec.Unsuback](c)
			if ack.PacketID != 9 {
				t.Fatalf("UNSUBACK %v", ack)
			}
			if v == codec.V5 {
				want := []codec.ReasonCode{0, codec.ReasonNoSubscriptionExisted, 0}
				if !slices.Equal(ack.ReasonCodes, want) {
					t.Fatalf("UNSUBACK codes %v, want %v", ack.ReasonCodes, want)
				}
			}
			pub, _ := connect(t, addr, v)
			pub.publish(&codec.Publish{Topic: root + "/a", QoS: 1, PacketID: 1})
			c.expectNothing(150 * time.Millisecond)
		})
	}
}

func TestUnsubscribeCompletesInflight(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("unsq2/")
	c, _ := connect(t, addr, codec.V5)
	c.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
	pub, _ := connect(t, addr, codec.V5)
	pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 1})
	p := expectP[*codec.Publish](c)
	c.send(&codec.Unsubscribe{PacketID: 2, Filters: []string{topic}})
	expectP[*codec.Unsuback](c)
	c.send(&codec.Pubrec{PacketID: p.PacketID})
	if rel := expectP[*codec.Pubrel](c); rel.PacketID != p.PacketID || rel.ReasonCode != 0 { // MQTT-3.10.4-3
		t.Fatalf("PUBREL %v", rel)
	}
}

func TestSharedSubscriptions(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	topic := uniq("sh/")
	a, _ := connect(t, addr, codec.V5)
	b, _ := connect(t, addr, codec.V5)
	a.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic, QoS: 1})
	b.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic, QoS: 0})
	plain, _ := connect(t, addr, codec.V5)
	plain.subscribe(1, codec.Subscription{Filter: topic})
	pub, _ := connect(t, addr, codec.V5)
	for i := 0; i < 6; i++ {
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: uint16(i + 1), Payload: []byte{byte('0' + i)}})
	}
	pa, pb := a.publishes(3), b.publishes(3)
	a.expectNothing(100 * time.Millisecond)
	b.expectNothing(10 * time.Millisecond)
	for _, p := range pa {
		if p.QoS != 1 {
			t.Fatalf("member a: %v, want its granted QoS 1 (MQTT-4.8.2-3)", p)
		}
	}
	for _, p := range pb {
		if p.QoS != 0 {
			t.Fatalf("member b: %v, want its granted QoS 0", p)
		}
	}
	plain.publishes(6)
	// Unsubscribing a member leaves the group to the other.
	b.send(&codec.Unsubscribe{PacketID: 2, Filters: []string{"$share/g/" + topic}})
	if ack := expectP[*codec.Unsuback](b); ack.ReasonCodes[0] != 0 {
		t.Fatalf("UNSUBACK %v", ack)
	}
	pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 9})
	pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 10})
	a.publishes(2)
	// In 3.1.1, $share/... is an ordinary filter.
	v3, _ := connect(t, addr, codec.V311)
	v3.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic})
	pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 11})
	v3.expectNothing(100 * time.Millisecond)
}

func TestFeatureDisabled(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{WildcardAvailable: broker.Ptr(false), SubIDAvailable: broker.Ptr(false), SharedAvailable: broker.Ptr(false)})
	tests := []struct {
		name string
		s    *codec.Subscribe
		want codec.ReasonCode
	}{
		{"wildcard", &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "a/+"}}}, codec.ReasonWildcardSubsNotSupported},
		{"shared", &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "$share/g/a"}}}, codec.ReasonSharedSubsNotSupported},
		{"subscription identifier", func() *codec.Subscribe {
			s := &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "a"}}}
			s.Properties.SubscriptionIDs = []uint32{1}
			return s
		}(), codec.ReasonSubscriptionIDsNotSupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := connect(t, addr, codec.V5)
			c.send(tc.s)
			c.expectDisconnect(tc.want)
		})
	}
	c, _ := connect(t, addr, codec.V311)
	if ack := c.subscribe(1, codec.Subscription{Filter: "a/#"}, codec.Subscription{Filter: "a/b"}); !slices.Equal(ack.ReasonCodes, []codec.ReasonCode{0x80, 0}) {
		t.Fatalf("3.1.1 wildcard refused per filter: %v", ack)
	}
}

// TestSharedRerouteOnSessionEnd: QoS 1 messages of a shared subscription whose member's session
// ends unacknowledged go to another member (section 4.8.2); a QoS 2 message whose delivery had
// started does not (MQTT-4.8.2-5).
func TestSharedRerouteOnSessionEnd(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, qos := range []byte{1, 2} {
		topic := uniq("shr/")
		a, _ := connect(t, addr, codec.V5)
		a.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic, QoS: 2})
		b, _ := connect(t, addr, codec.V5)
		b.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic, QoS: 2})
		pub, _ := connect(t, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, QoS: qos, PacketID: 1, Payload: []byte("m")})
		holder, other := a, b
		if _, err := a.next(300 * time.Millisecond); err != nil {
			expectP[*codec.Publish](b) // a did not get it: b must have
			holder, other = b, a
		}
		holder.nc.Close() // session expiry 0: the session ends with the message unacknowledged
		if qos == 1 {
			p := expectP[*codec.Publish](other)
			checkPublish(t, p, topic, "m", 1, false)
		} else {
			other.expectNothing(300 * time.Millisecond)
		}
	}
}
