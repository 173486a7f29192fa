package broker_test

import (
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func TestWill(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			topic := uniq("will/")
			watch, _ := connect(t, addr, v)
			watch.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})

			// Abnormal close: published (MQTT-3.1.2-8).
			c, _ := connect(t, addr, v, withWill(topic, "gone", 1, false, nil))
			c.nc.Close()
			checkPublish(t, watch.publishes(1)[0], topic, "gone", 1, false)

			// Normal DISCONNECT: discarded (MQTT-3.14.4-3).
			c, _ = connect(t, addr, v, withWill(topic, "never", 1, false, nil))
			c.disconnect()
			watch.expectNothing(200 * time.Millisecond)

			// Protocol error: published.
			c, _ = connect(t, addr, v, withWill(topic, "err", 0, false, nil))
			c.send(&codec.Pubrel{PacketID: 0})
			checkPublish(t, watch.publishes(1)[0], topic, "err", 0, false)

			// Will Retain: published as retained (MQTT-3.1.2-15; 3.1.1 -17).
			c, _ = connect(t, addr, v, withWill(topic, "kept", 0, true, nil))
			c.nc.Close()
			watch.publishes(1)
			late, _ := connect(t, addr, v)
			late.subscribe(1, codec.Subscription{Filter: topic})
			checkPublish(t, late.publishes(1)[0], topic, "kept", 0, true)
		})
	}
}

func TestWillV5(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	se := func(s uint32) connOpt { return props(func(p *codec.Properties) { p.SetSessionExpiry(s) }) }
	delay := func(d uint32) func(*codec.Properties) {
		return func(p *codec.Properties) { p.SetWillDelay(d).SetContentType("text/plain").AddUser("k", "v") }
	}
	t.Run("DISCONNECT 0x04 publishes the will", func(t *testing.T) {
		t.Parallel()
		topic := uniq("w5/")
		watch, _ := connect(t, addr, codec.V5)
		watch.subscribe(1, codec.Subscription{Filter: topic})
		c, _ := connect(t, addr, codec.V5, withWill(topic, "x", 0, false, delay(0)))
		c.send(&codec.Disconnect{ReasonCode: codec.ReasonDisconnectWithWill})
		got := watch.publishes(1)[0]
		checkPublish(t, got, topic, "x", 0, false)
		if got.Properties.ContentType != "text/plain" || len(got.Properties.User) != 1 || got.Properties.Has(codec.PropWillDelay) {
			t.Fatalf("will properties %v", got.Properties.String())
		}
	})
	t.Run("delay", func(t *testing.T) {
		t.Parallel()
		topic := uniq("w5/")
		watch, _ := connect(t, addr, codec.V5)
		watch.subscribe(1, codec.Subscription{Filter: topic})
		c, _ := connect(t, addr, codec.V5, se(30), withWill(topic, "late", 0, false, delay(1)))
		start := time.Now()
		c.nc.Close()
		got := watch.publishes(1)[0]
		if el := time.Since(start); el < 900*time.Millisecond {
			t.Fatalf("will published after %v, before its 1 s delay", el)
		}
		checkPublish(t, got, topic, "late", 0, false)
	})
	t.Run("reconnect within the delay cancels the will", func(t *testing.T) {
		t.Parallel()
		topic := uniq("w5/")
		id := uniq("wd")
		watch, _ := connect(t, addr, codec.V5)
		watch.subscribe(1, codec.Subscription{Filter: topic})
		c, _ := connect(t, addr, codec.V5, clientID(id), se(30), withWill(topic, "no", 0, false, delay(1)))
		c.nc.Close()
		time.Sleep(100 * time.Millisecond)
		connect(t, addr, codec.V5, clientID(id), notClean(), se(30))
		watch.expectNothing(1500 * time.Millisecond) // MQTT-3.1.3-9
	})
	t.Run("session end before the delay publishes the will", func(t *testing.T) {
		t.Parallel()
		topic := uniq("w5/")
		watch, _ := connect(t, addr, codec.V5)
		watch.subscribe(1, codec.Subscription{Filter: topic})
		c, _ := connect(t, addr, codec.V5, se(1), withWill(topic, "expired", 0, false, delay(60)))
		start := time.Now()
		c.nc.Close()
		got := watch.publishes(1)[0]
		if el := time.Since(start); el < 900*time.Millisecond || el > 2600*time.Millisecond {
			t.Fatalf("will published after %v, want at the 1 s session expiry", el)
		}
		checkPublish(t, got, topic, "expired", 0, false)
	})
	t.Run("takeover with clean start publishes a delayed will", func(t *testing.T) {
		t.Parallel()
		topic := uniq("w5/")
		id := uniq("wt")
		watch, _ := connect(t, addr, codec.V5)
		watch.subscribe(1, codec.Subscription{Filter: topic})
		old, _ := connect(t, addr, codec.V5, clientID(id), se(30), withWill(topic, "taken", 0, false, delay(60)))
		connect(t, addr, codec.V5, clientID(id))
		old.expectDisconnect(codec.ReasonSessionTakenOver)
		checkPublish(t, watch.publishes(1)[0], topic, "taken", 0, false)
	})
	t.Run("takeover resuming the session keeps a delayed will back", func(t *testing.T) {
		t.Parallel()
		topic := uniq("w5/")
		id := uniq("wt")
		watch, _ := connect(t, addr, codec.V5)
		watch.subscribe(1, codec.Subscription{Filter: topic})
		old, _ := connect(t, addr, codec.V5, clientID(id), se(30), withWill(topic, "kept back", 0, false, delay(60)))
		connect(t, addr, codec.V5, clientID(id), notClean(), se(30))
		old.expectDisconnect(codec.ReasonSessionTakenOver)
		watch.expectNothing(300 * time.Millisecond)
	})
}

// TestWillDiscardedByDisconnectBeforeTakeover: a DISCONNECT already sent when another connection
// takes the client identifier over still discards the will (MQTT-3.1.2-10, MQTT-3.14.4-3).
func TestWillDiscardedByDisconnectBeforeTakeover(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			topic, id := uniq("wdt/"), uniq("wdt")
			watch, _ := connect(t, addr, v)
			watch.subscribe(1, codec.Subscription{Filter: topic})
			opts := []connOpt{clientID(id), notClean()}
			if v == codec.V5 {
				opts = append(opts, props(func(p *codec.Properties) { p.SetSessionExpiry(60) }))
			}
			first, _ := connect(t, addr, v, append(opts, withWill(topic, "stale", 0, false, nil))...)
			first.send(&codec.Disconnect{}) // no close: the next CONNECT races with it
			second, _ := connect(t, addr, v, opts...)
			second.nc.Close()
			watch.expectNothing(500 * time.Millisecond)
		})
	}
}
