package broker_test

import (
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

// TestSessionResume: queued messages while offline, unacknowledged ones re-sent with DUP and
// their original identifiers, PUBREL re-sent, all in order (MQTT-4.4.0-1, MQTT-4.6.0-1).
func TestSessionResume(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			id := uniq("res")
			topic := uniq("res/")
			opts := []connOpt{clientID(id), notClean()}
			if v == codec.V5 {
				opts = append(opts, props(func(p *codec.Properties) { p.SetSessionExpiry(300) }))
			}
			sub, _ := connect(t, addr, v, opts...)
			sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
			pub, _ := connect(t, addr, v)
			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("1")})
			pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 2, Payload: []byte("2")})
			pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 3, Payload: []byte("3")})
			p1 := expectP[*codec.Publish](sub)
			p2 := expectP[*codec.Publish](sub)
			p3 := expectP[*codec.Publish](sub)
			// Acknowledge nothing of 1, PUBREC of 2 (so PUBREL is outstanding), nothing of 3.
			sub.send(&codec.Pubrec{PacketID: p2.PacketID})
			expectP[*codec.Pubrel](sub)
			sub.nc.Close()                     // network failure
			time.Sleep(100 * time.Millisecond) // let the broker notice before publishing more

			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 4, Payload: []byte("4")})
			pub.publish(&codec.Publish{Topic: topic, QoS: 0, Payload: []byte("q0 dropped while offline")})
			time.Sleep(50 * time.Millisecond)

			sub, ack := connect(t, addr, v, opts...)
			if !ack.SessionPresent {
				t.Fatal("session not present")
			}
			r1 := expectP[*codec.Publish](sub)
			if !r1.Dup || r1.PacketID != p1.PacketID || string(r1.Payload) != "1" || r1.QoS != 1 {
				t.Fatalf("re-sent %v, want %v with DUP 1 (MQTT-3.3.1-1)", r1, p1)
			}
			rel := expectP[*codec.Pubrel](sub)
			if rel.PacketID != p2.PacketID {
				t.Fatalf("re-sent PUBREL %v, want id %d", rel, p2.PacketID)
			}
			r3 := expectP[*codec.Publish](sub)
			if !r3.Dup || r3.PacketID != p3.PacketID || string(r3.Payload) != "3" {
				t.Fatalf("re-sent %v, want %v with DUP 1", r3, p3)
			}
			q := expectP[*codec.Publish](sub)
			if q.Dup || string(q.Payload) != "4" || q.QoS != 1 {
				t.Fatalf("queued message %v, want message 4 with DUP 0", q)
			}
			sub.send(&codec.Puback{PacketID: r1.PacketID})
			sub.send(&codec.Pubcomp{PacketID: rel.PacketID})
			sub.send(&codec.Pubrec{PacketID: r3.PacketID})
			expectP[*codec.Pubrel](sub)
			sub.send(&codec.Pubcomp{PacketID: r3.PacketID})
			sub.send(&codec.Puback{PacketID: q.PacketID})
			sub.expectNothing(150 * time.Millisecond)
			sub.disconnect()
			// Everything acknowledged: a further resume re-sends nothing.
			sub, _ = connect(t, addr, v, opts...)
			sub.expectNothing(150 * time.Millisecond)
		})
	}
}

func TestSessionExpiry(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	id := uniq("exp")
	c, _ := connect(t, addr, codec.V5, clientID(id), props(func(p *codec.Properties) { p.SetSessionExpiry(1) }))
	c.disconnect()
	_, ack := connect(t, addr, codec.V5, clientID(id), notClean())
	if !ack.SessionPresent {
		t.Fatal("session gone before its expiry")
	}
	// That connection had expiry 0 and replaced nothing else; reconnect with 1 s and wait it out.
	c, _ = connect(t, addr, codec.V5, clientID(id), props(func(p *codec.Properties) { p.SetSessionExpiry(1) }))
	c.disconnect()
	time.Sleep(1300 * time.Millisecond)
	_, ack = connect(t, addr, codec.V5, clientID(id), notClean())
	if ack.SessionPresent {
		t.Fatal("session present after its expiry (MQTT-4.1.0-2)")
	}
	// DISCONNECT may change the expiry: to 0 ends the session now.
	c, _ = connect(t, addr, codec.V5, clientID(id), props(func(p *codec.Properties) { p.SetSessionExpiry(60) }))
	d := &codec.Disconnect{}
	d.Properties.SetSessionExpiry(0)
	c.send(d)
	c.expectClosed(wait)
	_, ack = connect(t, addr, codec.V5, clientID(id), notClean())
	if ack.SessionPresent {
		t.Fatal("session present after DISCONNECT set its expiry to 0")
	}
	// But not from 0 to non-zero.
	c, _ = connect(t, addr, codec.V5)
	d.Properties.SetSessionExpiry(10)
	c.send(d)
	c.expectDisconnect(codec.ReasonProtocolError)
}

func TestCleanStartDiscardsSession(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	id := uniq("cs")
	topic := uniq("cs/")
	c, _ := connect(t, addr, codec.V311, clientID(id), notClean())
	c.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
	c.disconnect()
	c, ack := connect(t, addr, codec.V311, clientID(id))
	if ack.SessionPresent {
		t.Fatal("Session Present with Clean Session 1")
	}
	pub, _ := connect(t, addr, codec.V311)
	pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1})
	c.expectNothing(200 * time.Millisecond) // the old subscription is gone (MQTT-3.1.2-6)
}

func TestOfflineQueueLimit(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{MaxQueued: 5})
	id := uniq("q")
	topic := uniq("q/")
	c, _ := connect(t, addr, codec.V311, clientID(id), notClean())
	c.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
	c.disconnect()
	time.Sleep(50 * time.Millisecond)
	pub, _ := connect(t, addr, codec.V311)
	for i := 0; i < 10; i++ {
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: uint16(i + 1), Payload: []byte{byte('0' + i)}})
	}
	c, _ = connect(t, addr, codec.V311, clientID(id), notClean())
	for i, p := range c.publishes(5) {
		if p.Payload[0] != byte('0'+i) {
			t.Fatalf("queued message %d is %q", i, p.Payload)
		}
	}
	c.expectNothing(200 * time.Millisecond)
}
