package broker_test

import (
	"maps"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// flowChecks are the scenarios of the faults in flowFaults (faults_flow.go); flowDependsOn
// adds to dependsOn for them.
var (
	flowChecks = map[string]func(tb testing.TB, addr string){
		"packet-id-zero-accepted": func(tb testing.TB, addr string) {
			closesOn(tb, addr, codec.V311, rawPacket(0x82, []byte{0, 0}, rawStr(uniq("f/")), []byte{0}))
		},
		"no-subscribers-0x11": func(tb testing.TB, addr string) {
			c, _ := connect(tb, addr, codec.V5)
			c.send(&codec.Publish{Topic: uniq("f/nobody/"), QoS: 1, PacketID: 5, Payload: []byte("x")})
			if ack := expectP[*codec.Puback](c); ack.PacketID != 5 || ack.ReasonCode != codec.ReasonSuccess && ack.ReasonCode != codec.ReasonNoMatchingSubscribers {
				tb.Fatalf("QoS 1 PUBLISH without subscribers answered with %v, want PUBACK 0x00 or 0x10", ack)
			}
		},
		"unsuback-per-filter": func(tb testing.TB, addr string) {
			a, b := uniq("f/"), uniq("f/")
			c, _ := connect(tb, addr, codec.V311)
			c.subscribe(1, codec.Subscription{Filter: a}, codec.Subscription{Filter: b})
			c.send(&codec.Unsubscribe{PacketID: 2, Filters: []string{a, b}})
			if ack := expectP[*codec.Unsuback](c); ack.PacketID != 2 {
				tb.Fatalf("UNSUBACK %v, want id 2", ack)
			}
			c.ping() // a second UNSUBACK would come first
		},
		"unsubscribe-drops-inflight": func(tb testing.TB, addr string) {
			id, topic := uniq("f"), uniq("f/")
			sub, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
			sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
			pub, _ := connect(tb, addr, codec.V311)
			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("x")})
			p := expectP[*codec.Publish](sub)
			sub.send(&codec.Unsubscribe{PacketID: 2, Filters: []string{topic}})
			expectP[*codec.Unsuback](sub)
			sub.nc.Close()
			time.Sleep(100 * time.Millisecond)
			sub, _ = connect(tb, addr, codec.V311, clientID(id), notClean())
			if got := expectP[*codec.Publish](sub); got.PacketID != p.PacketID {
				tb.Fatalf("re-sent %v, want id %d", got, p.PacketID)
			}
		},
		"pubrel-resent-as-publish": func(tb testing.TB, addr string) {
			id, topic := uniq("f"), uniq("f/")
			sub, _ := connect(tb, addr, codec.V311, clientID(id), notClean())
			sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
			pub, _ := connect(tb, addr, codec.V311)
			pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 1, Payload: []byte("x")})
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
		"inflight-expired-on-resume": func(tb testing.TB, addr string) {
			id, topic := uniq("f"), uniq("f/")
			se := props(func(p *codec.Properties) { p.SetSessionExpiry(60) })
			sub, _ := connect(tb, addr, codec.V5, clientID(id), se)
			sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
			pub, _ := connect(tb, addr, codec.V5)
			m := &codec.Publish{Topic: topic, QoS: 2, PacketID: 1, Payload: []byte("x")}
			m.Properties.SetMessageExpiry(1)
			pub.publish(m)
			p := expectP[*codec.Publish](sub)
			sub.nc.Close()
			time.Sleep(1200 * time.Millisecond)
			sub, _ = connect(tb, addr, codec.V5, clientID(id), notClean(), se)
			if got := expectP[*codec.Publish](sub); got.PacketID != p.PacketID {
				tb.Fatalf("re-sent %v, want id %d", got, p.PacketID)
			}
		},
		"refused-qos2-id-kept": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			w := watcher(tb, addr, topic)
			pub, _ := connect(tb, addr, codec.V5)
			pub.send(&codec.Publish{Topic: uniq("denied/"), QoS: 2, PacketID: 4, Payload: []byte("no")})
			if rec := expectP[*codec.Pubrec](pub); !rec.ReasonCode.IsError() {
				tb.Fatalf("PUBLISH to a denied topic answered with %v, want a refusing PUBREC", rec)
			}
			pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 4, Payload: []byte("new")})
			checkPublish(tb, w.publishes(1)[0], topic, "new", 0, false)
		},
		"qos2-state-expires-with-message": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			watcher(tb, addr, topic)
			pub, _ := connect(tb, addr, codec.V5)
			m := &codec.Publish{Topic: topic, QoS: 2, PacketID: 6, Payload: []byte("x")}
			m.Properties.SetMessageExpiry(1)
			pub.send(m)
			expectP[*codec.Pubrec](pub)
			time.Sleep(1100 * time.Millisecond)
			pub.send(&codec.Pubrel{PacketID: 6})
			if comp := expectP[*codec.Pubcomp](pub); comp.PacketID != 6 || comp.ReasonCode != codec.ReasonSuccess {
				tb.Fatalf("PUBREL after the message expired answered with %v, want PUBCOMP 0x00", comp)
			}
		},
		"repeated-pubrel-ignored": func(tb testing.TB, addr string) {
			pub, _ := connect(tb, addr, codec.V311)
			pub.publish(&codec.Publish{Topic: uniq("f/"), QoS: 2, PacketID: 8, Payload: []byte("x")})
			pub.send(&codec.Pubrel{PacketID: 8})
			if comp := expectP[*codec.Pubcomp](pub); comp.PacketID != 8 {
				tb.Fatalf("repeated PUBREL answered with %v, want PUBCOMP id 8", comp)
			}
		},
		"shared-refused-rerouted": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			var members []*tconn
			for range 2 {
				m, _ := connect(tb, addr, codec.V5)
				m.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic, QoS: 1})
				members = append(members, m)
			}
			pub, _ := connect(tb, addr, codec.V5)
			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("x")})
			refused := false
			for !refused {
				for _, m := range members {
					if p, err := m.next(100 * time.Millisecond); err == nil {
						x, ok := p.(*codec.Publish)
						if !ok {
							tb.Fatalf("expected PUBLISH, got %v", p)
						}
						m.send(&codec.Puback{PacketID: x.PacketID, ReasonCode: codec.ReasonUnspecifiedError})
						refused = true
						break
					}
				}
			}
			for _, m := range members {
				m.expectNothing(200 * time.Millisecond)
			}
		},
		"receive-maximum-off-by-one": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			sub, _ := connect(tb, addr, codec.V5, props(func(p *codec.Properties) { p.SetReceiveMaximum(1) }))
			sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
			pub, _ := connect(tb, addr, codec.V5)
			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("a")})
			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 2, Payload: []byte("b")})
			expectP[*codec.Publish](sub)
			sub.expectNothing(200 * time.Millisecond)
		},
		"control-packets-wait-for-quota": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			sub, _ := connect(tb, addr, codec.V5, props(func(p *codec.Properties) { p.SetReceiveMaximum(1) }))
			sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
			pub, _ := connect(tb, addr, codec.V5)
			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("held")})
			expectP[*codec.Publish](sub) // not acknowledged: the quota is zero
			sub.send(&codec.Pingreq{})
			if p, err := sub.next(500 * time.Millisecond); err != nil {
				tb.Fatalf("no PINGRESP at zero send quota: %v", err)
			} else if _, ok := p.(*codec.Pingresp); !ok {
				tb.Fatalf("expected PINGRESP, got %v", p)
			}
		},
		"unsuback-without-property-length": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			c, _ := connect(tb, addr, codec.V5)
			c.subscribe(1, codec.Subscription{Filter: topic})
			c.send(&codec.Unsubscribe{PacketID: 2, Filters: []string{topic}})
			if ack := expectP[*codec.Unsuback](c); ack.PacketID != 2 || len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] != codec.ReasonSuccess {
				tb.Fatalf("UNSUBACK %v, want id 2 with one code 0x00", ack)
			}
		},
		"downgraded-qos0-keeps-packet-id": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			w := watcher(tb, addr, topic)
			pub, _ := connect(tb, addr, codec.V311)
			pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 3, Payload: []byte("x")})
			checkPublish(tb, w.publishes(1)[0], topic, "x", 0, false)
		},
		"shared-inflight-rerouted-on-disconnect": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			var members []*tconn
			for range 2 {
				m, _ := connect(tb, addr, codec.V5, props(func(p *codec.Properties) { p.SetSessionExpiry(60) }))
				m.subscribe(1, codec.Subscription{Filter: "$share/g/" + topic, QoS: 2})
				members = append(members, m)
			}
			pub, _ := connect(tb, addr, codec.V5)
			pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 1, Payload: []byte("x")})
			for {
				for i, m := range members {
					if p, err := m.next(100 * time.Millisecond); err == nil {
						if _, ok := p.(*codec.Publish); !ok {
							tb.Fatalf("expected PUBLISH, got %v", p)
						}
						m.nc.Close() // before PUBREC: the delivery belongs to this member's session
						members[1-i].expectNothing(300 * time.Millisecond)
						return
					}
				}
			}
		},
		"pubrel-echoes-pubrec-reason": func(tb testing.TB, addr string) {
			topic := uniq("f/")
			sub, _ := connect(tb, addr, codec.V5)
			sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 2})
			pub, _ := connect(tb, addr, codec.V5)
			pub.publish(&codec.Publish{Topic: topic, QoS: 2, PacketID: 1, Payload: []byte("x")})
			p := expectP[*codec.Publish](sub)
			sub.send(&codec.Pubrec{PacketID: p.PacketID, ReasonCode: codec.ReasonNoMatchingSubscribers})
			if rel := expectP[*codec.Pubrel](sub); rel.PacketID != p.PacketID || rel.ReasonCode != codec.ReasonSuccess {
				tb.Fatalf("PUBREC 0x10 answered with %v, want PUBREL 0x00", rel)
			}
		},
	}
	// flowDependsOn: the scenarios below observe these flow faults' behaviour on purpose.
	flowDependsOn = map[string][]string{
		// Both see the PUBREL a resumed session must re-send; one fault drops it, the other
		// re-sends the PUBLISH instead.
		"pubrel-not-resent":        {"pubrel-resent-as-publish"},
		"pubrel-resent-as-publish": {"pubrel-not-resent"},
		// Both send a PUBREL for an identifier not awaiting release and read the PUBCOMP.
		"pubcomp-unknown-id-0x80": {"repeated-pubrel-ignored"},
		// Both read a v5 UNSUBACK.
		"unsuback-first-reason-only":       {"unsuback-without-property-length", "unsuback-per-filter"},
		"unsuback-no-subscription-0x10":    {"unsuback-without-property-length"},
		"unsuback-without-property-length": {"unsubscribe-no-unsuback", "wrong-packet-id-in-unsuback", "unsuback-first-reason-only"},
		"unsuback-per-filter":              {"unsubscribe-no-unsuback", "wrong-packet-id-in-unsuback"},
		// These elicit a Reason String with a PUBREL for an identifier not awaiting release.
		"problem-info-0-ignored":                 {"repeated-pubrel-ignored"},
		"diagnostics-exceed-maximum-packet-size": {"repeated-pubrel-ignored"},
		// These count the deliveries of one shared message.
		"shared-refused-rerouted":                {"shared-sub-delivers-to-all"},
		"shared-inflight-rerouted-on-disconnect": {"shared-sub-delivers-to-all"},
		// These read a message downgraded to QoS 0 by the subscription.
		"shared-qos-not-downgraded":       {"downgraded-qos0-keeps-packet-id"},
		"downgraded-qos0-keeps-packet-id": {"dup-set-when-downgraded-to-qos0", "granted-qos-above-requested", "qos-not-downgraded"},
		// Both count the PUBLISH packets a small Receive Maximum lets through.
		"receive-max-ignored":        {"receive-maximum-off-by-one"},
		"receive-maximum-off-by-one": {"receive-max-ignored"},
		// Both resume a v5 session and read the in-flight PUBLISH it re-sends.
		"inflight-expired-on-resume": {"inflight-not-resent", "connack-resumed-flag-bit-1"},
		"unsubscribe-drops-inflight": {"unsubscribe-no-unsuback", "wrong-packet-id-in-unsuback", "inflight-not-resent"},
	}
)

func init() {
	maps.Copy(faultChecks, flowChecks)
	// Appended, not copied: a scenario may already have dependencies in dependsOn.
	for name, deps := range flowDependsOn {
		dependsOn[name] = append(dependsOn[name], deps...)
	}
}
