package broker_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

// TestHugeAnnouncedPacketTrickled: clients announce 256 MB packets (the protocol maximum) and
// trickle bytes. The broker must allocate in proportion to what arrives, not to what is
// announced, and must keep serving others.
func TestHugeAnnouncedPacketTrickled(t *testing.T) {
	srv, addr := brokertest.StartServer(t, broker.Options{})
	const conns = 8
	const sent = 64 << 10 // bytes trickled per connection
	// Remaining length 268,435,455: the largest a PUBLISH can announce.
	header := []byte{0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x01, 'a'}
	var cs []*tconn
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < conns; i++ {
		c, _ := connect(t, addr, []codec.Version{codec.V311, codec.V5}[i%2], keepAlive(0))
		c.sendRaw(header)
		cs = append(cs, c)
	}
	chunk := make([]byte, 1024)
	for n := 0; n < sent; n += len(chunk) {
		for _, c := range cs {
			c.sendRaw(chunk)
		}
		time.Sleep(time.Millisecond)
	}
	// Others are unaffected meanwhile.
	topic := uniq("calm/")
	sub, _ := connect(t, addr, codec.V5)
	sub.subscribe(1, codec.Subscription{Filter: topic})
	pub, _ := connect(t, addr, codec.V5)
	pub.publish(&codec.Publish{Topic: topic, Payload: []byte("ok")})
	checkPublish(t, sub.publishes(1)[0], topic, "ok", 0, false)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d connections announced %d MB each and sent %d KB: %.1f MB allocated in total", conns, 256, sent>>10, float64(alloc)/(1<<20))
	if alloc > 32<<20 {
		t.Fatalf("allocated %d MB for %d KB received: memory follows the announcement, not the bytes", alloc>>20, conns*sent>>10)
	}
	if st := srv.Stats(); st.Connections < conns {
		t.Fatalf("trickling connections dropped early: %+v", st)
	}
}

// TestHugeAnnouncedConnect: before CONNECT the same trick only lasts ConnectTimeout.
func TestHugeAnnouncedConnect(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{ConnectTimeout: 300 * time.Millisecond})
	c := dial(t, addr, codec.V311)
	c.sendRaw([]byte{0x10, 0xFF, 0xFF, 0xFF, 0x7F, 0x00})
	start := time.Now()
	c.expectClosed(wait)
	if el := time.Since(start); el > time.Second {
		t.Fatalf("closed after %v", el)
	}
}

// TestSlowConsumerDoesNotBlockPublishers: a subscriber that never reads must not slow a publisher
// down, even while the broker's write to it is blocked; its QoS 0 backlog is bounded and dropped.
func TestSlowConsumerDoesNotBlockPublishers(t *testing.T) {
	srv, addr := brokertest.StartServer(t, broker.Options{MaxQueued: 100})
	topic := uniq("slow/")
	stuck, _ := connect(t, addr, codec.V311)
	stuck.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
	pub, _ := connect(t, addr, codec.V311)
	payload := make([]byte, 16<<10)
	const n = 2000 // 32 MB: far more than socket buffers hold
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := 0; i < n; i++ {
		pub.send(&codec.Publish{Topic: topic, Payload: payload})
	}
	pub.ping()
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("publishing %d messages took %v with a stuck subscriber", n, el)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 16<<20 {
		t.Fatalf("heap grew by %d MB: the stuck subscriber's backlog is not bounded", grown>>20)
	}
	if st := srv.Stats(); st.Connected != 2 {
		t.Fatalf("stats %+v", st)
	}
}
