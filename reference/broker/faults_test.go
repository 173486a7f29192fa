package broker_test

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

// probe is a testing.TB that records a failure instead of failing the real test, so that a
// scenario can be run against a broker that is expected to break it.
type probe struct {
	testing.TB
	mu       sync.Mutex
	failed   bool
	msg      string
	cleanups []func()
}

func (p *probe) record(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.failed {
		p.failed, p.msg = true, msg
	}
}
func (p *probe) Helper()                   {}
func (p *probe) Fail()                     { p.record("Fail") }
func (p *probe) FailNow()                  { p.record("FailNow"); runtime.Goexit() }
func (p *probe) Error(a ...any)            { p.record(fmt.Sprint(a...)) }
func (p *probe) Errorf(f string, a ...any) { p.record(fmt.Sprintf(f, a...)) }
func (p *probe) Fatal(a ...any)            { p.record(fmt.Sprint(a...)); runtime.Goexit() }
func (p *probe) Fatalf(f string, a ...any) { p.record(fmt.Sprintf(f, a...)); runtime.Goexit() }
func (p *probe) Failed() bool              { p.mu.Lock(); defer p.mu.Unlock(); return p.failed }
func (p *probe) Skip(...any)               { runtime.Goexit() }
func (p *probe) Skipf(string, ...any)      { runtime.Goexit() }
func (p *probe) SkipNow()                  { runtime.Goexit() }
func (p *probe) Log(...any)                {}
func (p *probe) Logf(string, ...any)       {}
func (p *probe) Setenv(string, string)     {}
func (p *probe) TempDir() string           { return p.TB.TempDir() }
func (p *probe) Cleanup(f func())          { p.mu.Lock(); p.cleanups = append(p.cleanups, f); p.mu.Unlock() }
func (p *probe) Name() string              { return p.TB.Name() }
func (p *probe) Skipped() bool             { return false }
func (p *probe) Chdir(string)              {}
func (p *probe) Attr(string, string)       {}
func (p *probe) Output() io.Writer         { return io.Discard }

func runProbe(t *testing.T, f func(tb testing.TB)) (bool, string) {
	p := &probe{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(p)
	}()
	<-done
	// The scenario's connections close when it ends, not with the whole test: the cross-check
	// runs thousands of scenarios in one test.
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	return p.failed, p.msg
}

// faultChecks are the conformance-style scenarios that each fault must break. Each passes on a
// correct broker and fails on a broker with its fault switched on.
var faultChecks = map[string]func(tb testing.TB, addr string){
	"no-second-connect-check": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V5)
		c.send(connectPacket())
		c.expectDisconnect(codec.ReasonProtocolError)
	},
	"session-present-always-0": func(tb testing.TB, addr string) {
		id := uniq("f")
		se := props(func(p *codec.Properties) { p.SetSessionExpiry(60) })
		c, _ := connect(tb, addr, codec.V5, clientID(id), se)
		c.disconnect()
		if _, ack := connect(tb, addr, codec.V5, clientID(id), notClean(), se); !ack.SessionPresent {
			tb.Fatal("Session Present 0 for a stored session")
		}
	},
	"clean-start-ignored": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		c, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
		c.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		c.disconnect()
		c, ack := connect(tb, addr, codec.V311, clientID(id))
		if ack.SessionPresent {
			tb.Fatal("Session Present 1 with Clean Session 1")
		}
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1})
		c.expectNothing(200 * time.Millisecond)
	},
	"assigned-client-id-missing": func(tb testing.TB, addr string) {
		if _, ack := connect(tb, addr, codec.V5, clientID("")); ack.Properties.AssignedClientID == "" {
			tb.Fatal("no Assigned Client Identifier")
		}
	},
	"retain-empty-not-deleted": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("x")})
		pub.publish(&codec.Publish{Topic: topic, Retain: true})
		pub.ping()
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		sub.expectNothing(150 * time.Millisecond)
	},
	"retain-flag-always-set": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("x")})
		checkPublish(tb, sub.publishes(1)[0], topic, "x", 0, false)
	},
	"retained-not-sent-on-subscribe": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, Retain: true, QoS: 1, PacketID: 1, Payload: []byte("x")})
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		checkPublish(tb, sub.publishes(1)[0], topic, "x", 1, true)
	},
	"dup-on-first-delivery": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1})
		if p := sub.publishes(1)[0]; p.Dup {
			tb.Fatalf("first delivery with DUP 1: %v", p)
		}
	},
	"no-dup-on-redelivery": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		se := props(func(p *codec.Properties) { p.SetSessionExpiry(60) })
		sub, _ := connect(tb, addr, codec.V5, clientID(id), se)
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1})
		first := expectP[*codec.Publish](sub)
		sub.nc.Close()
		time.Sleep(100 * time.Millisecond)
		sub, _ = connect(tb, addr, codec.V5, clientID(id), notClean(), se)
		if p := expectP[*codec.Publish](sub); !p.Dup || p.PacketID != first.PacketID {
			tb.Fatalf("re-delivery %v, want DUP 1 and id %d", p, first.PacketID)
		}
	},
	"qos-not-downgraded": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 0})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1})
		if p := sub.publishes(1)[0]; p.QoS != 0 {
			tb.Fatalf("delivered at QoS %d on a QoS 0 subscription", p.QoS)
		}
	},
	"suback-wrong-order": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		ack := c.subscribe(1, codec.Subscription{Filter: "a", QoS: 0}, codec.Subscription{Filter: "b", QoS: 1}, codec.Subscription{Filter: "c", QoS: 2})
		if !slices.Equal(ack.ReasonCodes, []codec.ReasonCode{0, 1, 2}) {
			tb.Fatalf("SUBACK codes %v", ack.ReasonCodes)
		}
	},
	"wrong-packet-id-in-puback": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		c.publish(&codec.Publish{Topic: uniq("f/"), QoS: 1, PacketID: 7})
	},
	"keepalive-not-enforced": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V5, keepAlive(1))
		c.expectDisconnect(codec.ReasonKeepAliveTimeout)
	},
	"keepalive-2x": func(tb testing.TB, addr string) {
		start := time.Now()
		c, _ := connect(tb, addr, codec.V5, keepAlive(1))
		c.expectDisconnect(codec.ReasonKeepAliveTimeout)
		if el := time.Since(start); el > 1800*time.Millisecond {
			tb.Fatalf("disconnected %v after the CONNECT; keep alive 1 s means 1.5 s", el)
		}
	},
	"will-delay-doubled": func(tb testing.TB, addr string) {
		if el := willAfter(tb, addr, 1); el > 1300*time.Millisecond {
			tb.Fatalf("will published %v after the close; Will Delay Interval 1 s", el)
		}
	},
	"will-delay-halved": func(tb testing.TB, addr string) {
		if el := willAfter(tb, addr, 2); el < 1950*time.Millisecond {
			tb.Fatalf("will published %v after the close; Will Delay Interval 2 s", el)
		}
	},
	"will-on-normal-disconnect": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		watch, _ := connect(tb, addr, codec.V311)
		watch.subscribe(1, codec.Subscription{Filter: topic})
		c, _ := connect(tb, addr, codec.V311, withWill(topic, "x", 0, false, nil))
		c.disconnect()
		watch.expectNothing(300 * time.Millisecond)
	},
	"will-delay-ignored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		watch, _ := connect(tb, addr, codec.V5)
		watch.subscribe(1, codec.Subscription{Filter: topic})
		c, _ := connect(tb, addr, codec.V5, props(func(p *codec.Properties) { p.SetSessionExpiry(30) }),
			withWill(topic, "x", 0, false, func(p *codec.Properties) { p.SetWillDelay(3) }))
		c.nc.Close()
		watch.expectNothing(time.Second)
	},
	"will-retain-ignored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		watch, _ := connect(tb, addr, codec.V311)
		watch.subscribe(1, codec.Subscription{Filter: topic})
		c, _ := connect(tb, addr, codec.V311, withWill(topic, "x", 0, true, nil))
		c.nc.Close()
		watch.publishes(1)
		late, _ := connect(tb, addr, codec.V311)
		late.subscribe(1, codec.Subscription{Filter: topic})
		checkPublish(tb, late.publishes(1)[0], topic, "x", 0, true)
	},
	"dollar-topics-match-wildcards": func(tb testing.TB, addr string) {
		u := uniq("f")
		c, _ := connect(tb, addr, codec.V311)
		c.subscribe(1, codec.Subscription{Filter: "+/" + u})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: "$f/" + u})
		pub.ping()
		c.expectNothing(150 * time.Millisecond)
	},
	"no-local-ignored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		c, _ := connect(tb, addr, codec.V5)
		c.subscribe(1, codec.Subscription{Filter: topic, NoLocal: true})
		c.publish(&codec.Publish{Topic: topic})
		c.ping()
		c.expectNothing(100 * time.Millisecond)
	},
	"topic-alias-not-resolved": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		pub, _ := connect(tb, addr, codec.V5)
		a := &codec.Publish{Topic: topic, Payload: []byte("1")}
		a.Properties.SetTopicAlias(1)
		pub.send(a)
		b := &codec.Publish{Payload: []byte("2")}
		b.Properties.SetTopicAlias(1)
		pub.send(b)
		got := sub.publishes(2)
		checkPublish(tb, got[1], topic, "2", 0, false)
	},
	"receive-max-ignored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V5, props(func(p *codec.Properties) { p.SetReceiveMaximum(1) }))
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1})
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 2})
		expectP[*codec.Publish](sub)
		sub.expectNothing(200 * time.Millisecond)
	},
	"max-packet-size-ignored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V5, props(func(p *codec.Properties) { p.SetMaximumPacketSize(60) }))
		sub.subscribe(1, codec.Subscription{Filter: topic})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, Payload: make([]byte, 80)})
		pub.publish(&codec.Publish{Topic: topic, Payload: []byte("small")})
		checkPublish(tb, sub.publishes(1)[0], topic, "small", 0, false)
	},
	"message-expiry-not-decremented": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V5)
		p := &codec.Publish{Topic: topic, Retain: true, QoS: 1, PacketID: 1, Payload: []byte("x")}
		p.Properties.SetMessageExpiry(10)
		pub.publish(p)
		time.Sleep(1100 * time.Millisecond)
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		if got := sub.publishes(1)[0]; got.Properties.MessageExpiry > 9 {
			tb.Fatalf("Message Expiry %d after waiting 1.1 s of 10", got.Properties.MessageExpiry)
		}
	},
	"message-expiry-doubled": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V5)
		p := &codec.Publish{Topic: topic, Retain: true, QoS: 1, PacketID: 1, Payload: []byte("x")}
		p.Properties.SetMessageExpiry(1)
		pub.publish(p)
		time.Sleep(1300 * time.Millisecond) // past the interval, well before twice it
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		sub.expectNothing(150 * time.Millisecond)
	},
	"expired-message-delivered": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V5)
		p := &codec.Publish{Topic: topic, Retain: true, QoS: 1, PacketID: 1, Payload: []byte("x")}
		p.Properties.SetMessageExpiry(1)
		pub.publish(p)
		time.Sleep(1100 * time.Millisecond)
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		sub.expectNothing(150 * time.Millisecond)
	},
	"user-properties-reordered": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		pub, _ := connect(tb, addr, codec.V5)
		p := &codec.Publish{Topic: topic}
		p.Properties.AddUser("a", "1").AddUser("b", "2")
		pub.publish(p)
		if got := sub.publishes(1)[0]; !slices.Equal(got.Properties.User, p.Properties.User) {
			tb.Fatalf("user properties %v", got.Properties.User)
		}
	},
	"subscription-id-dropped": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V5)
		s := &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: topic}}}
		s.Properties.SubscriptionIDs = []uint32{5}
		sub.send(s)
		expectP[*codec.Suback](sub)
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic})
		if got := sub.publishes(1)[0]; !slices.Equal(got.Properties.SubscriptionIDs, []uint32{5}) {
			tb.Fatalf("Subscription Identifiers %v", got.Properties.SubscriptionIDs)
		}
	},
	"shared-sub-delivers-to-all": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		a, _ := connect(tb, addr, codec.V5)
		b, _ := connect(tb, addr, codec.V5)
		a.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic})
		b.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1})
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 2})
		a.publishes(1)
		b.publishes(1)
		a.expectNothing(100 * time.Millisecond)
		b.expectNothing(10 * time.Millisecond)
	},
	"reserved-flags-accepted": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		c.sendRaw([]byte{0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}) // SUBSCRIBE with flags 0000
		c.expectClosed(wait)
	},
	"unsubscribe-no-unsuback": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		c.send(&codec.Unsubscribe{PacketID: 4, Filters: []string{"x"}})
		if ack := expectP[*codec.Unsuback](c); ack.PacketID != 4 {
			tb.Fatalf("UNSUBACK %v", ack)
		}
	},
	"pingreq-ignored": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		c.ping()
	},
	"qos2-duplicate-delivery": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
		pub, _ := connect(tb, addr, codec.V311)
		p := &codec.Publish{Topic: topic, QoS: 2, PacketID: 9}
		pub.send(p)
		expectP[*codec.Pubrec](pub)
		p.Dup = true
		pub.send(p)
		expectP[*codec.Pubrec](pub)
		sub.publishes(1)
		sub.expectNothing(200 * time.Millisecond)
	},
	"plus-matches-many-levels": func(tb testing.TB, addr string) {
		u := uniq("f")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: u + "/+"})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: u + "/a/b", Payload: []byte("deep")})
		pub.publish(&codec.Publish{Topic: u + "/a", Payload: []byte("one")})
		checkPublish(tb, sub.publishes(1)[0], u+"/a", "one", 0, false)
	},
	"hash-skips-parent-level": func(tb testing.TB, addr string) {
		u := uniq("f")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: u + "/#"})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: u, Payload: []byte("parent")})
		checkPublish(tb, sub.publishes(1)[0], u, "parent", 0, false)
	},
	"granted-qos-above-requested": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		if ack := c.subscribe(1, codec.Subscription{Filter: uniq("f/"), QoS: 0}); !slices.Equal(ack.ReasonCodes, []codec.ReasonCode{0}) {
			tb.Fatalf("SUBACK codes %v for a QoS 0 request", ack.ReasonCodes)
		}
	},
	"wrong-packet-id-in-pubrec": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		c.publish(&codec.Publish{Topic: uniq("f/"), QoS: 2, PacketID: 7})
	},
	"overlapping-lowest-qos": func(tb testing.TB, addr string) {
		u := uniq("f")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: u + "/#", QoS: 0}, codec.Subscription{Filter: u + "/x", QoS: 1})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: u + "/x", QoS: 1, PacketID: 1, Payload: []byte("m")})
		checkPublish(tb, sub.publishes(1)[0], u+"/x", "m", 1, false)
	},
	"unsubscribe-keeps-subscription": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		sub.send(&codec.Unsubscribe{PacketID: 2, Filters: []string{topic}})
		expectP[*codec.Unsuback](sub)
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic})
		pub.ping()
		sub.expectNothing(150 * time.Millisecond)
	},
	"retained-sent-without-retain": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("x")})
		pub.ping()
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		checkPublish(tb, sub.publishes(1)[0], topic, "x", 0, true)
	},
	"retained-exact-match-only": func(tb testing.TB, addr string) {
		u := uniq("f")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: u + "/a", Retain: true, Payload: []byte("x")})
		pub.ping()
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: u + "/+"})
		checkPublish(tb, sub.publishes(1)[0], u+"/a", "x", 0, true)
	},
	"retain-handling-ignored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("x")})
		pub.ping()
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic, RetainHandling: 2})
		sub.expectNothing(150 * time.Millisecond)
	},
	"session-expiry-doubled": func(tb testing.TB, addr string) {
		id := uniq("f")
		se := props(func(p *codec.Properties) { p.SetSessionExpiry(1) })
		c, _ := connect(tb, addr, codec.V5, clientID(id), se)
		c.disconnect()
		time.Sleep(1300 * time.Millisecond) // past the interval, well before twice it
		if _, ack := connect(tb, addr, codec.V5, clientID(id), notClean(), se); ack.SessionPresent {
			tb.Fatal("Session Present 1 0.3 s after the Session Expiry Interval of 1 s passed")
		}
	},
	"session-expiry-halved": func(tb testing.TB, addr string) {
		id := uniq("f")
		se := props(func(p *codec.Properties) { p.SetSessionExpiry(2) })
		c, _ := connect(tb, addr, codec.V5, clientID(id), se)
		c.disconnect()
		time.Sleep(1500 * time.Millisecond) // past half the interval, before the interval
		if _, ack := connect(tb, addr, codec.V5, clientID(id), notClean(), se); !ack.SessionPresent {
			tb.Fatal("Session Present 0 0.5 s before the Session Expiry Interval of 2 s passed")
		}
	},
	"session-expiry-ignored": func(tb testing.TB, addr string) {
		id := uniq("f")
		se := props(func(p *codec.Properties) { p.SetSessionExpiry(1) })
		c, _ := connect(tb, addr, codec.V5, clientID(id), se)
		c.disconnect()
		time.Sleep(1500 * time.Millisecond)
		if _, ack := connect(tb, addr, codec.V5, clientID(id), notClean(), se); ack.SessionPresent {
			tb.Fatal("Session Present 1 after the Session Expiry Interval passed")
		}
	},
	"no-local-drops-all": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic, NoLocal: true})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, Payload: []byte("x")})
		checkPublish(tb, sub.publishes(1)[0], topic, "x", 0, false)
	},
	"will-qos-ignored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		watch, _ := connect(tb, addr, codec.V311)
		watch.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		c, _ := connect(tb, addr, codec.V311, withWill(topic, "x", 1, false, nil))
		c.nc.Close()
		checkPublish(tb, watch.publishes(1)[0], topic, "x", 1, false)
	},
	"pubrel-not-resent": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		sub, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 1})
		p := expectP[*codec.Publish](sub)
		sub.send(&codec.Pubrec{PacketID: p.PacketID})
		expectP[*codec.Pubrel](sub)
		sub.nc.Close()
		time.Sleep(100 * time.Millisecond)
		sub, _ = connect(tb, addr, codec.V311, clientID(id), notClean())
		if rel := expectP[*codec.Pubrel](sub); rel.PacketID != p.PacketID {
			tb.Fatalf("PUBREL %v, want id %d", rel, p.PacketID)
		}
	},
	"inflight-not-resent": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		sub, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1})
		p := expectP[*codec.Publish](sub)
		sub.nc.Close()
		time.Sleep(100 * time.Millisecond)
		sub, _ = connect(tb, addr, codec.V311, clientID(id), notClean())
		if got := expectP[*codec.Publish](sub); got.PacketID != p.PacketID {
			tb.Fatalf("re-sent %v, want id %d", got, p.PacketID)
		}
	},
	"queue-lifo": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		sub, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		sub.disconnect()
		time.Sleep(50 * time.Millisecond)
		pub, _ := connect(tb, addr, codec.V311)
		for i := range 3 {
			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: uint16(i + 1), Payload: []byte{'0' + byte(i)}})
		}
		sub, _ = connect(tb, addr, codec.V311, clientID(id), notClean())
		for i, p := range sub.publishes(3) {
			checkPublish(tb, p, topic, string([]byte{'0' + byte(i)}), 1, false)
		}
	},
	"empty-id-persistent-accepted": func(tb testing.TB, addr string) {
		c := dial(tb, addr, codec.V311)
		c.send(connectPacket(clientID(""), notClean()))
		if ack := expectP[*codec.Connack](c); ack.ReasonCode != codec.ConnRefusedIdentifierRejected {
			tb.Fatalf("CONNACK %v, want 0x02", ack.ReasonCode)
		}
		c.expectClosed(wait)
	},
	"correlation-data-dropped": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		pub, _ := connect(tb, addr, codec.V5)
		p := &codec.Publish{Topic: topic}
		p.Properties.SetCorrelationData([]byte{1, 2, 3})
		pub.publish(p)
		if got := sub.publishes(1)[0]; !slices.Equal(got.Properties.CorrelationData, []byte{1, 2, 3}) {
			tb.Fatalf("Correlation Data %v", got.Properties.CorrelationData)
		}
	},
	"packet-ids-restart-per-connection": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		sub, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("a")})
		expectP[*codec.Publish](sub) // left unacknowledged
		sub.nc.Close()
		time.Sleep(100 * time.Millisecond)
		sub, _ = connect(tb, addr, codec.V311, clientID(id), notClean())
		old := expectP[*codec.Publish](sub)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 2, Payload: []byte("b")})
		if p := expectP[*codec.Publish](sub); p.PacketID == old.PacketID {
			tb.Fatalf("new PUBLISH %v re-uses the identifier of the unacknowledged %v", p, old)
		}
	},
	"session-kept-without-expiry": func(tb testing.TB, addr string) {
		id := uniq("f")
		c, _ := connect(tb, addr, codec.V311, clientID(id))
		c.disconnect()
		time.Sleep(50 * time.Millisecond)
		if _, ack := connect(tb, addr, codec.V311, clientID(id), notClean()); ack.SessionPresent {
			tb.Fatal("Session Present 1 for a Clean Session 1 session")
		}
	},
	"disconnect-session-expiry-ignored": func(tb testing.TB, addr string) {
		id := uniq("f")
		se := props(func(p *codec.Properties) { p.SetSessionExpiry(60) })
		c, _ := connect(tb, addr, codec.V5, clientID(id), se)
		d := &codec.Disconnect{}
		d.Properties.SetSessionExpiry(0)
		c.send(d)
		c.nc.Close()
		time.Sleep(50 * time.Millisecond)
		if _, ack := connect(tb, addr, codec.V5, clientID(id), notClean(), se); ack.SessionPresent {
			tb.Fatal("Session Present 1 after DISCONNECT set the Session Expiry Interval to 0")
		}
	},
	"topic-alias-kept-across-connections": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		se := props(func(p *codec.Properties) { p.SetSessionExpiry(60) })
		c, _ := connect(tb, addr, codec.V5, clientID(id), se)
		a := &codec.Publish{Topic: topic}
		a.Properties.SetTopicAlias(1)
		c.send(a)
		c.disconnect()
		time.Sleep(50 * time.Millisecond)
		c, _ = connect(tb, addr, codec.V5, clientID(id), notClean(), se)
		b := &codec.Publish{}
		b.Properties.SetTopicAlias(1)
		c.send(b)
		c.expectDisconnect(codec.ReasonProtocolError)
	},
	"utf8-unchecked": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x30, rawStr("a\xff"), []byte("x")))
	},
	"utf8-null-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x30, rawStr("a\x00b"), []byte("x")))
	},
	"wildcard-topic-name-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x30, rawStr("a/+"), []byte("x")))
	},
	"empty-topic-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x30, rawStr(""), []byte("x")))
	},
	"misplaced-hash-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x82, []byte{0, 1}, rawStr("a/#/b"), []byte{0}))
	},
	"partial-plus-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x82, []byte{0, 1}, rawStr("a+/b"), []byte{0}))
	},
	"subscribe-without-filters-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x82, []byte{0, 1}))
	},
	"unsubscribe-without-filters-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0xA2, []byte{0, 1}))
	},
	"subscription-options-unchecked": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x82, []byte{0, 1}, rawStr(uniq("f/")), []byte{0xC0}))
	},
	"no-local-on-shared-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V5, rawPacket(0x82, []byte{0, 1, 0}, rawStr("$share/g/"+uniq("f")), []byte{0x04}))
	},
	"publish-qos3-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x36, rawStr(uniq("f/")), []byte{0, 1}, []byte("x")))
	},
	"topic-alias-zero-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V5, rawPacket(0x30, rawStr(uniq("f/")), []byte{3, 0x23, 0, 0}, []byte("x")))
	},
	"response-topic-wildcard-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V5, rawPacket(0x30, rawStr(uniq("f/")), []byte{6, 0x08}, rawStr("r/+"), []byte("x")))
	},
	"share-name-unchecked": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V5, rawPacket(0x82, []byte{0, 1, 0}, rawStr("$share//"+uniq("f")), []byte{0}))
	},
	"disconnect-flags-unchecked": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		w := watcher(tb, addr, topic)
		c, _ := connect(tb, addr, codec.V311, withWill(topic, "w", 0, false, nil))
		c.sendRaw([]byte{0xE1, 0})
		checkPublish(tb, w.publishes(1)[0], topic, "w", 0, false)
	},
	"auth-flags-unchecked": func(tb testing.TB, addr string) {
		// Without enhanced authentication an AUTH is a Protocol Error; with its flags wrong it is
		// malformed before that.
		c, _ := connect(tb, addr, codec.V5)
		c.sendRaw([]byte{0xF1, 0})
		c.expectDisconnect(codec.ReasonMalformedPacket)
	},
	"will-not-stored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		w := watcher(tb, addr, topic)
		c, _ := connect(tb, addr, codec.V311, withWill(topic, "w", 0, false, nil))
		c.nc.Close()
		checkPublish(tb, w.publishes(1)[0], topic, "w", 0, false)
	},
	"will-retain-0-retained": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		w := watcher(tb, addr, topic)
		c, _ := connect(tb, addr, codec.V311, withWill(topic, "w", 0, false, nil))
		c.nc.Close()
		w.publishes(1)
		late := watcher(tb, addr, topic)
		late.expectNothing(200 * time.Millisecond)
	},
	"will-kept-for-next-connection": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		w := watcher(tb, addr, topic)
		c, _ := connect(tb, addr, codec.V311, clientID(id), withWill(topic, "w", 0, false, nil))
		c.disconnect()
		c, _ = connect(tb, addr, codec.V311, clientID(id))
		c.nc.Close()
		w.expectNothing(300 * time.Millisecond)
	},
	"retain-0-stored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, Payload: []byte("x")})
		pub.ping()
		watcher(tb, addr, topic).expectNothing(150 * time.Millisecond)
	},
	"retained-not-replaced": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("a")})
		pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("b")})
		pub.ping()
		checkPublish(tb, watcher(tb, addr, topic).publishes(1)[0], topic, "b", 0, true)
	},
	"retained-qos0-not-replacing": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, Retain: true, QoS: 1, PacketID: 1, Payload: []byte("a")})
		pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("b")})
		pub.ping()
		checkPublish(tb, watcher(tb, addr, topic).publishes(1)[0], topic, "b", 0, true)
	},
	"retain-as-published-ignored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic, RetainAsPublished: true})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("x")})
		checkPublish(tb, sub.publishes(1)[0], topic, "x", 0, true)
	},
	"payload-format-dropped": func(tb testing.TB, addr string) {
		if p := forwardedV5(tb, addr, func(p *codec.Properties) { p.SetPayloadFormat(1) }); !p.Properties.Has(codec.PropPayloadFormat) {
			tb.Fatalf("Payload Format Indicator not forwarded: %v", p)
		}
	},
	"content-type-dropped": func(tb testing.TB, addr string) {
		if p := forwardedV5(tb, addr, func(p *codec.Properties) { p.SetContentType("text/plain") }); p.Properties.ContentType != "text/plain" {
			tb.Fatalf("Content Type not forwarded: %v", p)
		}
	},
	"response-topic-dropped": func(tb testing.TB, addr string) {
		if p := forwardedV5(tb, addr, func(p *codec.Properties) { p.SetResponseTopic("r/1") }); p.Properties.ResponseTopic != "r/1" {
			tb.Fatalf("Response Topic not forwarded: %v", p)
		}
	},
	"wrong-packet-id-in-suback": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		c.subscribe(7, codec.Subscription{Filter: uniq("f/")})
	},
	"wrong-packet-id-in-unsuback": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		c.send(&codec.Unsubscribe{PacketID: 7, Filters: []string{uniq("f/")}})
		if ack := expectP[*codec.Unsuback](c); ack.PacketID != 7 {
			tb.Fatalf("UNSUBACK id %d, want 7", ack.PacketID)
		}
	},
	"subscribe-no-suback": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		c.subscribe(7, codec.Subscription{Filter: uniq("f/")})
	},
	"refused-connack-session-present": func(tb testing.TB, addr string) {
		// 3.1.1 refuses an empty Client Identifier with Clean Session 0 (MQTT-3.1.3-8).
		c := dial(tb, addr, codec.V311)
		c.send(connectPacket(clientID(""), notClean()))
		if ack := expectP[*codec.Connack](c); ack.ReasonCode == 0 || ack.SessionPresent {
			tb.Fatalf("want a refusal with Session Present 0, got %v", ack)
		}
	},
	"dup-set-when-downgraded-to-qos0": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		w := watcher(tb, addr, topic)
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("x")})
		if p := w.publishes(1)[0]; p.Dup {
			tb.Fatalf("QoS 0 delivery with DUP 1: %v", p)
		}
	},
	"subscription-ids-first-only": func(tb testing.TB, addr string) {
		base := uniq("f/")
		topic := base + "/x"
		sub, _ := connect(tb, addr, codec.V5)
		for i, f := range []string{topic, base + "/+"} {
			s := &codec.Subscribe{PacketID: uint16(i + 1), Subscriptions: []codec.Subscription{{Filter: f}}}
			s.Properties.SubscriptionIDs = []uint32{uint32(i + 1)}
			sub.send(s)
			expectP[*codec.Suback](sub)
		}
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, Payload: []byte("x")})
		if p := sub.publishes(1)[0]; len(p.Properties.SubscriptionIDs) != 2 {
			tb.Fatalf("want Subscription Identifiers 1 and 2, got %v", p)
		}
	},
	"response-information-unrequested": func(tb testing.TB, addr string) {
		if _, ack := connect(tb, addr, codec.V5); ack.Properties.Has(codec.PropResponseInfo) {
			tb.Fatalf("Response Information without a request: %v", ack)
		}
	},
	"topic-alias-maximum-exceeded": func(tb testing.TB, addr string) {
		if p := forwardedV5(tb, addr, func(*codec.Properties) {}); p.Properties.Has(codec.PropTopicAlias) {
			tb.Fatalf("Topic Alias sent to a client that allowed none: %v", p)
		}
	},
	"session-present-always-1": func(tb testing.TB, addr string) {
		if _, ack := connect(tb, addr, codec.V311); ack.SessionPresent {
			tb.Fatal("Session Present 1 for a new session")
		}
	},
	"empty-client-ids-share-one": func(tb testing.TB, addr string) {
		first, _ := connect(tb, addr, codec.V311, clientID(""))
		connect(tb, addr, codec.V311, clientID(""))
		first.ping() // still connected: the second client got an identifier of its own
	},
	"resubscribe-keeps-old-qos": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		topic := uniq("f/")
		c.subscribe(1, codec.Subscription{Filter: topic})
		if ack := c.subscribe(2, codec.Subscription{Filter: topic, QoS: 1}); ack.ReasonCodes[0] != 1 {
			tb.Fatalf("re-subscription granted %v, want QoS 1", ack.ReasonCodes)
		}
	},
	"resubscribe-no-retained": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, Retain: true, Payload: []byte("x")})
		pub.ping()
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic})
		sub.publishes(1)
		sub.subscribe(2, codec.Subscription{Filter: topic})
		if p := sub.publishes(1)[0]; string(p.Payload) != "x" {
			tb.Fatalf("want the retained message again, got %v", p)
		}
	},
	"topic-matching-case-insensitive": func(tb testing.TB, addr string) {
		base := uniq("f/")
		w := watcher(tb, addr, base+"/a")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: base + "/A", Payload: []byte("x")})
		w.expectNothing(150 * time.Millisecond)
	},
	"topic-bom-stripped": func(tb testing.TB, addr string) {
		base := uniq("f/")
		w := watcher(tb, addr, base+"/bom")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: base + "/\ufeffbom", Payload: []byte("x")})
		w.expectNothing(150 * time.Millisecond)
	},
	"long-topic-dropped": func(tb testing.TB, addr string) {
		base := uniq("f/")
		w := watcher(tb, addr, base+"/#")
		pub, _ := connect(tb, addr, codec.V311)
		topic := base + "/" + strings.Repeat("a", 40000)
		pub.publish(&codec.Publish{Topic: topic, Payload: []byte("x")})
		checkPublish(tb, w.publishes(1)[0], topic, "x", 0, false)
	},
	"offline-sessions-skipped": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		sub, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		sub.disconnect()
		// The broker must have seen the close before the publish, or the message goes to the
		// closing connection and comes back as a resend, fault or not (it passed so under load
		// in a CI dry run).
		time.Sleep(200 * time.Millisecond)
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("x")})
		sub, _ = connect(tb, addr, codec.V311, clientID(id), notClean())
		checkPublish(tb, sub.publishes(1)[0], topic, "x", 1, false)
	},
	"takeover-disconnect-normal": func(tb testing.TB, addr string) {
		id := uniq("f")
		old, _ := connect(tb, addr, codec.V5, clientID(id))
		connect(tb, addr, codec.V5, clientID(id))
		if d := expectP[*codec.Disconnect](old); d.ReasonCode != codec.ReasonSessionTakenOver {
			tb.Fatalf("taken-over connection got %v, want 0x8E", d)
		}
	},
	"takeover-disconnect-session-expiry": func(tb testing.TB, addr string) {
		id := uniq("f")
		old, _ := connect(tb, addr, codec.V5, clientID(id))
		connect(tb, addr, codec.V5, clientID(id))
		if d := expectP[*codec.Disconnect](old); d.Properties.Has(codec.PropSessionExpiry) {
			tb.Fatalf("server DISCONNECT with a Session Expiry Interval: %v", d)
		}
	},
	"unsuback-first-reason-only": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V5)
		a, b := uniq("f/"), uniq("f/")
		c.subscribe(1, codec.Subscription{Filter: a}, codec.Subscription{Filter: b})
		c.send(&codec.Unsubscribe{PacketID: 2, Filters: []string{a, b}})
		if ack := expectP[*codec.Unsuback](c); len(ack.ReasonCodes) != 2 {
			tb.Fatalf("UNSUBACK for two filters: %v", ack)
		}
	},
	"suback-first-reason-only": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		if ack := c.subscribe(1, codec.Subscription{Filter: uniq("f/")}, codec.Subscription{Filter: uniq("f/"), QoS: 1}); len(ack.ReasonCodes) != 2 {
			tb.Fatalf("SUBACK for two filters: %v", ack)
		}
	},
	"will-properties-dropped": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		w, _ := connect(tb, addr, codec.V5)
		w.subscribe(1, codec.Subscription{Filter: topic})
		c, _ := connect(tb, addr, codec.V5, withWill(topic, "w", 0, false, func(p *codec.Properties) { p.AddUser("k", "v") }))
		c.nc.Close()
		if p := w.publishes(1)[0]; len(p.Properties.User) != 1 {
			tb.Fatalf("will published without its User Property: %v", p)
		}
	},
	"qos1-not-acknowledged": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		c.publish(&codec.Publish{Topic: uniq("f/"), QoS: 1, PacketID: 3, Payload: []byte("x")})
	},
	"problem-info-0-ignored": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V5, props(func(p *codec.Properties) { p.SetRequestProblemInfo(0) }))
		c.send(&codec.Pubrel{PacketID: 5})
		if comp := expectP[*codec.Pubcomp](c); comp.Properties.Has(codec.PropReasonString) {
			tb.Fatalf("%v carries a Reason String although Request Problem Information is 0", comp)
		}
	},
	"diagnostics-exceed-maximum-packet-size": func(tb testing.TB, addr string) {
		const limit = 16
		c, _ := connect(tb, addr, codec.V5, props(func(p *codec.Properties) { p.SetMaximumPacketSize(limit) }))
		c.send(&codec.Pubrel{PacketID: 5})
		comp := expectP[*codec.Pubcomp](c)
		if b, err := codec.Encode(comp, codec.V5); err != nil || len(b) > limit {
			tb.Fatalf("%v is %d bytes, beyond the Maximum Packet Size %d (%v)", comp, len(b), limit, err)
		}
	},
	"session-not-resumed": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		c, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
		c.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		c.disconnect()
		c, _ = connect(tb, addr, codec.V311, clientID(id), notClean())
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("x")})
		checkPublish(tb, c.publishes(1)[0], topic, "x", 1, false) // the resumed subscription
	},
	"subscription-id-sticky": func(tb testing.TB, addr string) {
		a, b := uniq("f/"), uniq("f/")
		sub, _ := connect(tb, addr, codec.V5)
		s := &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: a}}}
		s.Properties.SubscriptionIDs = []uint32{5}
		sub.send(s)
		expectP[*codec.Suback](sub)
		sub.subscribe(2, codec.Subscription{Filter: b})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: b, Payload: []byte("x")})
		if p := sub.publishes(1)[0]; len(p.Properties.SubscriptionIDs) != 0 {
			tb.Fatalf("delivery for a subscription without identifier carries one: %v", p)
		}
	},
	"unsuback-no-subscription-0x10": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V5)
		c.send(&codec.Unsubscribe{PacketID: 2, Filters: []string{uniq("f/")}})
		if ack := expectP[*codec.Unsuback](c); len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] != codec.ReasonNoSubscriptionExisted {
			tb.Fatalf("UNSUBACK for a filter never subscribed: %v", ack)
		}
	},
	"takeover-disconnect-0x85": func(tb testing.TB, addr string) {
		id := uniq("f")
		old, _ := connect(tb, addr, codec.V5, clientID(id))
		connect(tb, addr, codec.V5, clientID(id))
		if d := expectP[*codec.Disconnect](old); d.ReasonCode != codec.ReasonSessionTakenOver {
			tb.Fatalf("taken-over connection got %v, want 0x8E", d)
		}
	},
	"pubcomp-unknown-id-0x80": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V5)
		c.send(&codec.Pubrel{PacketID: 9})
		if comp := expectP[*codec.Pubcomp](c); comp.PacketID != 9 || comp.ReasonCode != codec.ReasonPacketIDNotFound {
			tb.Fatalf("PUBREL for an unknown identifier answered with %v, want PUBCOMP 0x92", comp)
		}
	},
	"outbound-packet-id-always-1": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("a")})
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 2, Payload: []byte("b")})
		// Neither is acknowledged: both are in flight and need distinct identifiers.
		if a, b := expectP[*codec.Publish](sub), expectP[*codec.Publish](sub); a.PacketID == b.PacketID {
			tb.Fatalf("two PUBLISH packets in flight with identifier %d", a.PacketID)
		}
	},
	"retained-empty-stored": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, Retain: true})
		pub.ping()
		watcher(tb, addr, topic).expectNothing(150 * time.Millisecond)
	},
	"qos2-id-kept-after-pubcomp": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		w, _ := connect(tb, addr, codec.V311)
		w.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 7, Payload: []byte("a")})
		w.publishes(1)
		pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 7, Payload: []byte("b")})
		if got := w.publishes(1)[0]; string(got.Payload) != "b" {
			tb.Fatalf("second message with identifier 7: %v", got)
		}
	},
	"puback-error-ignored": func(tb testing.TB, addr string) {
		id, topic := uniq("f"), uniq("f/")
		se := props(func(p *codec.Properties) { p.SetSessionExpiry(60) })
		sub, _ := connect(tb, addr, codec.V5, clientID(id), se)
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("x")})
		p := expectP[*codec.Publish](sub)
		sub.send(&codec.Puback{PacketID: p.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
		sub.ping()
		sub.nc.Close()
		sub, _ = connect(tb, addr, codec.V5, clientID(id), notClean(), se)
		sub.expectNothing(200 * time.Millisecond) // refused, so acknowledged: not re-sent
	},
	"pubrec-error-taken-as-success": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V5)
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 1, Payload: []byte("x")})
		p := expectP[*codec.Publish](sub)
		sub.send(&codec.Pubrec{PacketID: p.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
		sub.expectNothing(200 * time.Millisecond) // the flow ends: no PUBREL
	},
	"qos1-dup-dropped": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		w, _ := connect(tb, addr, codec.V311)
		w.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 3, Payload: []byte("a")})
		w.publishes(1)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 3, Dup: true, Payload: []byte("b")})
		if got := w.publishes(1)[0]; string(got.Payload) != "b" {
			tb.Fatalf("second message with identifier 3: %v", got)
		}
	},
	"shared-qos-not-downgraded": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		m, _ := connect(tb, addr, codec.V5)
		m.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic})
		pub, _ := connect(tb, addr, codec.V5)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("x")})
		checkPublish(tb, m.publishes(1)[0], topic, "x", 0, false)
	},
	"qos0-sent-with-dup": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		w := watcher(tb, addr, topic)
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, Payload: []byte("x")})
		if p := w.publishes(1)[0]; p.Dup {
			tb.Fatalf("QoS 0 delivery with DUP 1: %v", p)
		}
	},
}

// TestFaults runs each fault's scenario against a correct broker (it must pass) and against the
// broker with the fault switched on (it must fail): every fault changes observable behaviour.
func TestFaults(t *testing.T) {
	if len(broker.Faults) < 15 {
		t.Fatalf("only %d faults", len(broker.Faults))
	}
	for _, f := range broker.Faults {
		check := faultChecks[f.Name]
		if check == nil {
			t.Errorf("fault %q has no scenario", f.Name)
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			var good, bad string
			{
				o := broker.Options{}
				broker.ConfigureFaults(&o, []string{f.Name})
				good = brokertest.Start(t, o)
				o.Faults = []string{f.Name}
				bad = brokertest.Start(t, o)
			}
			if failed, msg := runProbe(t, func(tb testing.TB) { check(tb, good) }); failed {
				t.Fatalf("scenario fails on the correct broker: %s", msg)
			}
			if failed, _ := runProbe(t, func(tb testing.TB) { check(tb, bad) }); !failed {
				t.Fatalf("scenario passes with fault %q on: it does not detect %s", f.Name, f.Summary)
			}
		})
	}
	if _, err := broker.New(broker.Options{Faults: []string{"no-such-fault"}}); err == nil {
		t.Error("unknown fault accepted")
	}
}

// TestFaultsChangeOneBehaviour runs the scenarios of all other faults against a broker with one
// fault on: they must all still pass, so each fault breaks only its own behaviour.
//
// Every scenario against every fault is quadratic (180 faults: over 30,000 scenario runs, about
// nine minutes on two cores), so by default each fault meets a sample of crossSample scenarios,
// a different one per fault (the scenarios whose hash with the fault's name is lowest), which
// spreads the pairs over the faults; MQTTSPEC_CROSSCHECK=all (make mutation) runs every pair.
func TestFaultsChangeOneBehaviour(t *testing.T) {
	if testing.Short() {
		t.Skip("long: every scenario against every fault")
	}
	all := os.Getenv("MQTTSPEC_CROSSCHECK") == "all"
	// The scenarios wait on the network and on timers, not on the CPU: six faults at a time
	// instead of t.Parallel's GOMAXPROCS (two here).
	sem := make(chan struct{}, 6)
	// Scenarios at once over all faults: each holds a few connections, and the all-pairs run would
	// otherwise open thousands of sockets at a time (past the usual limit of 1024 descriptors).
	scenarios := make(chan struct{}, 64)
	var faults sync.WaitGroup
	defer faults.Wait()
	for _, f := range broker.Faults {
		sem <- struct{}{}
		faults.Add(1)
		go func() {
			defer func() { <-sem; faults.Done() }()
			o := broker.Options{Faults: []string{f.Name}}
			broker.ConfigureFaults(&o, o.Faults)
			addr, stop, err := brokertest.Run(o)
			if err != nil {
				t.Errorf("fault %s: %v", f.Name, err)
				return
			}
			defer stop()
			var good string // the correct broker under the fault's configuration, if it has one
			if f.Configure != nil {
				o.Faults = nil
				g, stopGood, err := brokertest.Run(o)
				if err != nil {
					t.Errorf("fault %s, correct broker: %v", f.Name, err)
					return
				}
				defer stopGood()
				good = g
			}
			var wg sync.WaitGroup
			var names []string
			for name := range faultChecks {
				if name == f.Name || slowCheck[name] || slices.Contains(dependsOn[name], f.Name) || exemptFromCrossCheck[f.Name] {
					continue
				}
				// A scenario that needs its own configuration (Fault.Configure) runs in TestFaults
				// only: against another fault's configuration it would test something else.
				if configured[name] {
					continue
				}
				names = append(names, name)
			}
			if !all {
				names = crossSampleOf(f.Name, names)
			}
			for _, name := range names {
				check := faultChecks[name]
				// Scenarios use their own topics and client identifiers: they run side by side.
				wg.Add(1)
				scenarios <- struct{}{}
				go func() {
					defer func() { <-scenarios; wg.Done() }()
					// Under a fault's own configuration, a scenario that fails on the correct broker
					// so configured says nothing about the fault.
					if good != "" {
						if failed, _ := runProbe(t, func(tb testing.TB) { check(tb, good) }); failed {
							return
						}
					}
					if failed, msg := runProbe(t, func(tb testing.TB) { check(tb, addr) }); failed {
						t.Errorf("fault %q also breaks the scenario of %q: %s", f.Name, name, msg)
					}
				}()
			}
			wg.Wait()
		}()
	}
}

// crossSample is how many other scenarios each fault meets in the default cross-check.
const crossSample = 24

// crossSampleOf picks crossSample of names for fault: those whose FNV hash with the fault's name
// is lowest, so that the sample is fixed per fault (a failure reproduces) and differs between
// faults (over all faults, most pairs are met).
func crossSampleOf(fault string, names []string) []string {
	if len(names) <= crossSample {
		return names
	}
	key := func(n string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(fault + "\x00" + n))
		return h.Sum64()
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(key(a), key(b)) })
	return names[:crossSample]
}

// configured marks the scenarios of faults with a Configure: they need that configuration.
var configured = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range broker.Faults {
		if f.Configure != nil {
			m[f.Name] = true
		}
	}
	return m
}()

// dependsOn lists, per scenario, the other faulted behaviours it observes on purpose.
var dependsOn = map[string][]string{
	"will-retain-ignored":                    {"retained-not-sent-on-subscribe", "retained-sent-without-retain", "will-not-stored"},
	"retained-not-sent-on-subscribe":         {"retained-sent-without-retain"},
	"retained-sent-without-retain":           {"retained-not-sent-on-subscribe"},
	"retained-exact-match-only":              {"retained-not-sent-on-subscribe", "retained-sent-without-retain"},
	"disconnect-session-expiry-ignored":      {"session-kept-without-expiry", "session-present-always-1"},
	"no-dup-on-redelivery":                   {"inflight-not-resent"},
	"packet-ids-restart-per-connection":      {"inflight-not-resent", "outbound-packet-id-always-1"},
	"suback-wrong-order":                     {"granted-qos-above-requested", "suback-first-reason-only"},
	"qos-not-downgraded":                     {"granted-qos-above-requested", "dup-set-when-downgraded-to-qos0"},
	"unsubscribe-keeps-subscription":         {"unsubscribe-no-unsuback", "wrong-packet-id-in-unsuback"},
	"disconnect-flags-unchecked":             {"reserved-flags-accepted", "will-not-stored"},
	"auth-flags-unchecked":                   {"reserved-flags-accepted"},
	"will-qos-ignored":                       {"will-not-stored"},
	"will-retain-0-retained":                 {"will-not-stored"},
	"empty-id-persistent-accepted":           {"refused-connack-session-present"},
	"unsubscribe-no-unsuback":                {"wrong-packet-id-in-unsuback"},
	"topic-alias-not-resolved":               {"topic-alias-maximum-exceeded"},
	"shared-sub-delivers-to-all":             {"dup-set-when-downgraded-to-qos0"},
	"retained-qos0-not-replacing":            {"retained-not-replaced", "retained-sent-without-retain", "retained-not-sent-on-subscribe"},
	"retained-not-replaced":                  {"retained-sent-without-retain", "retained-not-sent-on-subscribe"},
	"refused-connack-session-present":        {"empty-id-persistent-accepted"},
	"subscription-ids-first-only":            {"subscription-id-dropped"},
	"wrong-packet-id-in-unsuback":            {"unsubscribe-no-unsuback"},
	"will-kept-for-next-connection":          {"will-on-normal-disconnect"},
	"clean-start-ignored":                    {"session-present-always-1"},
	"session-kept-without-expiry":            {"session-present-always-1"},
	"queue-lifo":                             {"offline-sessions-skipped"},
	"takeover-disconnect-normal":             {"takeover-disconnect-session-expiry", "takeover-disconnect-0x85"},
	"resubscribe-no-retained":                {"retained-not-sent-on-subscribe"},
	"will-properties-dropped":                {"will-not-stored"},
	"resubscribe-keeps-old-qos":              {"granted-qos-above-requested"},
	"unsuback-first-reason-only":             {"unsubscribe-no-unsuback"},
	"diagnostics-exceed-maximum-packet-size": {"max-packet-size-ignored", "response-information-unrequested", "pubcomp-unknown-id-0x80"},
	"problem-info-0-ignored":                 {"pubcomp-unknown-id-0x80"},
	"takeover-disconnect-session-expiry":     {"takeover-disconnect-0x85"},
	"takeover-disconnect-0x85":               {"takeover-disconnect-session-expiry", "takeover-disconnect-normal"},
	"unsuback-no-subscription-0x10":          {"unsubscribe-no-unsuback"},
	"retain-empty-not-deleted":               {"retained-empty-stored"},
	"shared-qos-not-downgraded":              {"granted-qos-above-requested", "qos-not-downgraded", "dup-set-when-downgraded-to-qos0"},
}

// exemptFromCrossCheck are faults in behaviours every scenario relies on: the QoS 1 and 2 publish
// helper checks the PUBACK and PUBREC identifiers, the subscribe helper the SUBACK, PINGREQ is how
// scenarios wait for the broker, every resumption scenario needs Clean Start 0 to resume, and most
// scenarios read QoS 0 deliveries (the test reader refuses DUP 1 on them).
var exemptFromCrossCheck = map[string]bool{"wrong-packet-id-in-puback": true, "wrong-packet-id-in-pubrec": true, "pingreq-ignored": true,
	"wrong-packet-id-in-suback": true, "subscribe-no-suback": true, "qos1-not-acknowledged": true,
	"session-not-resumed": true, "qos0-sent-with-dup": true}

// slowCheck marks scenarios that wait for timers; TestFaults covers them.
var slowCheck = map[string]bool{"keepalive-not-enforced": true, "will-delay-ignored": true,
	"message-expiry-not-decremented": true, "expired-message-delivered": true,
	"session-expiry-ignored": true, "keepalive-2x": true, "will-delay-doubled": true,
	"will-delay-halved": true, "message-expiry-doubled": true, "session-expiry-doubled": true,
	"session-expiry-halved": true}

// willAfter closes a v5 connection whose will has the given Will Delay Interval (in a session
// that outlasts it) and returns how long the will took to reach a watcher.
func willAfter(tb testing.TB, addr string, delay uint32) time.Duration {
	topic := uniq("f/")
	watch, _ := connect(tb, addr, codec.V5)
	watch.subscribe(1, codec.Subscription{Filter: topic})
	c, _ := connect(tb, addr, codec.V5, props(func(p *codec.Properties) { p.SetSessionExpiry(30) }),
		withWill(topic, "x", 0, false, func(p *codec.Properties) { p.SetWillDelay(delay) }))
	start := time.Now()
	c.nc.Close()
	expectP[*codec.Publish](watch)
	return time.Since(start)
}

// rawPacket builds a packet by hand, for the malformed ones codec.Encode refuses to write: the
// first byte of the fixed header, then the Remaining Length, then the parts.
func rawPacket(first byte, parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	out := []byte{first}
	n := len(body)
	for {
		b := byte(n % 128)
		if n /= 128; n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// rawStr is a length-prefixed string, written as given (ill-formed UTF-8 included).
func rawStr(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }

// closesOn connects with version v, sends raw and requires the broker to close the connection
// (after a DISCONNECT with an error reason code, on 5.0).
func closesOn(tb testing.TB, addr string, v codec.Version, raw []byte) {
	tb.Helper()
	c, _ := connect(tb, addr, v)
	c.sendRaw(raw)
	p, err := c.next(wait)
	if err == nil {
		d, ok := p.(*codec.Disconnect)
		if !ok || !d.ReasonCode.IsError() {
			tb.Fatalf("expected the connection to close, got %v", p)
		}
		c.expectClosed(wait)
		return
	}
	if !isClosed(err) {
		tb.Fatalf("expected the connection to close, got %v", err)
	}
}

// watcher connects a 3.1.1 client subscribed to topic at QoS 0.
func watcher(tb testing.TB, addr, topic string) *tconn {
	w, _ := connect(tb, addr, codec.V311)
	w.subscribe(1, codec.Subscription{Filter: topic})
	return w
}

// forwardedV5 subscribes a v5 client to a fresh topic, publishes a message with the properties
// set by f, and returns what the subscriber received.
func forwardedV5(tb testing.TB, addr string, f func(*codec.Properties)) *codec.Publish {
	topic := uniq("f/")
	sub, _ := connect(tb, addr, codec.V5)
	sub.subscribe(1, codec.Subscription{Filter: topic})
	pub, _ := connect(tb, addr, codec.V5)
	p := &codec.Publish{Topic: topic, Payload: []byte("x")}
	f(&p.Properties)
	pub.publish(p)
	return sub.publishes(1)[0]
}
