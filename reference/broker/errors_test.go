package broker_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

// TestProtocolViolations: each violation gets the documented reaction: v5 DISCONNECT with the
// codec's reason code, 3.1.1 a plain close.
func TestProtocolViolations(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	tests := []struct {
		name string
		raw  []byte // sent after a successful CONNECT
		p    codec.Packet
		want codec.ReasonCode
	}{
		{name: "PUBLISH QoS 3", raw: []byte{0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01}, want: codec.ReasonMalformedPacket},
		{name: "SUBSCRIBE flags 0000", raw: []byte{0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}, want: codec.ReasonMalformedPacket},
		{name: "PUBREL flags 0000", raw: []byte{0x60, 0x02, 0x00, 0x01}, want: codec.ReasonMalformedPacket},
		{name: "PINGREQ flags 0001", raw: []byte{0xC1, 0x00}, want: codec.ReasonMalformedPacket},
		{name: "reserved packet type 0", raw: []byte{0x00, 0x00}, want: codec.ReasonMalformedPacket},
		{name: "remaining length of five bytes", raw: []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, want: codec.ReasonMalformedPacket},
		{name: "topic with wildcard", p: &codec.Publish{Topic: "a/+"}, want: codec.ReasonMalformedPacket},
		{name: "QoS 1 packet id 0", p: &codec.Publish{Topic: "a", QoS: 1}, want: codec.ReasonProtocolError},
		{name: "SUBSCRIBE without filters", p: &codec.Subscribe{PacketID: 1}, want: codec.ReasonProtocolError},
		{name: "filter with # inside", p: &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "a/#/b"}}}, want: codec.ReasonProtocolError},
		{name: "UNSUBSCRIBE without filters", p: &codec.Unsubscribe{PacketID: 1}, want: codec.ReasonProtocolError},
		{name: "CONNACK from a client", p: &codec.Connack{}, want: codec.ReasonProtocolError},
		{name: "SUBACK from a client", p: &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{0}}, want: codec.ReasonProtocolError},
		{name: "PINGRESP from a client", p: &codec.Pingresp{}, want: codec.ReasonProtocolError},
		{name: "invalid UTF-8 topic", raw: []byte{0x30, 0x04, 0x00, 0x02, 0xC0, 0x80}, want: codec.ReasonMalformedPacket},
	}
	for _, tc := range tests {
		for _, v := range []codec.Version{codec.V311, codec.V5} {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				c, _ := connect(t, addr, v)
				if tc.raw != nil {
					c.sendRaw(tc.raw)
				} else {
					c.send(tc.p)
				}
				c.expectDisconnect(tc.want)
			})
		}
	}
	t.Run("5.0 subscription identifier in a client PUBLISH", func(t *testing.T) {
		c, _ := connect(t, addr, codec.V5)
		p := &codec.Publish{Topic: "a"}
		p.Properties.SubscriptionIDs = []uint32{1}
		c.send(p)
		c.expectDisconnect(codec.ReasonProtocolError) // MQTT-3.3.4-6
	})
	t.Run("3.1.1 AUTH", func(t *testing.T) {
		c, _ := connect(t, addr, codec.V311)
		c.sendRaw([]byte{0xF0, 0x00})
		c.expectClosed(wait)
	})
}

// TestGarbageDoesNotAffectOthers throws random bytes at the broker from many connections while a
// well-behaved client exchanges messages; that client must never notice.
func TestGarbageDoesNotAffectOthers(t *testing.T) {
	srv, addr := brokertest.StartServer(t, broker.Options{ConnectTimeout: 500 * time.Millisecond})
	topic := uniq("calm/")
	sub, _ := connect(t, addr, codec.V5)
	sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
	pub, _ := connect(t, addr, codec.V311)
	rng := rand.New(rand.NewPCG(1, 2))
	valid, _ := codec.Encode(connectPacket(), codec.V5)
	for i := 0; i < 200; i++ {
		c := dial(t, addr, codec.V5)
		var b []byte
		if i%2 == 0 {
			b = append(b, valid...) // get past CONNECT, then garbage
		}
		n := rng.IntN(64) + 1
		for j := 0; j < n; j++ {
			b = append(b, byte(rng.Uint32()))
		}
		c.sendRaw(b)
		c.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		c.nc.Close()
		if i%20 == 0 {
			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: uint16(i + 1), Payload: []byte("ok")})
			checkPublish(t, sub.publishes(1)[0], topic, "ok", 1, false)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for srv.Stats().Connections > 2 {
		if time.Now().After(deadline) {
			t.Fatalf("connections left open: %+v", srv.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
