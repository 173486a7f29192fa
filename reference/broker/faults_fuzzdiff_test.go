package broker_test

import (
	"maps"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// fuzzdiffChecks are the scenarios of the faults in fuzzdiffFaults (faults_fuzzdiff.go).
var fuzzdiffChecks = map[string]func(tb testing.TB, addr string){
	"publish-dup-qos0-accepted": func(tb testing.TB, addr string) {
		closesOn(tb, addr, codec.V311, rawPacket(0x38, rawStr(uniq("f/")), []byte("x")))
	},
	"suback-0x91-for-server-inflight-id": func(tb testing.TB, addr string) {
		topic := uniq("f/")
		sub, _ := connect(tb, addr, codec.V311)
		sub.subscribe(1, codec.Subscription{Filter: topic, QoS: 1})
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("x")})
		d := expectP[*codec.Publish](sub) // left unacknowledged: its identifier stays in flight
		sub.send(&codec.Subscribe{PacketID: d.PacketID, Subscriptions: []codec.Subscription{{Filter: uniq("f/"), QoS: 1}}})
		ack := expectP[*codec.Suback](sub)
		// Any 3.1.1 return code will do: what the grant is, other scenarios check.
		if rc := ack.ReasonCodes; ack.PacketID != d.PacketID || len(rc) != 1 || rc[0] > 2 && rc[0] != codec.SubackFailure {
			tb.Fatalf("SUBSCRIBE id %d (the server's in-flight delivery's) answered with %v, want SUBACK with a 3.1.1 return code", d.PacketID, ack)
		}
	},
	"qos2-second-retransmission-closes": func(tb testing.TB, addr string) {
		c, _ := connect(tb, addr, codec.V311)
		msg := &codec.Publish{Topic: uniq("f/"), QoS: 2, PacketID: 7, Payload: []byte("x")}
		for i := 0; i < 3; i++ {
			c.send(msg)
			if rec := expectP[*codec.Pubrec](c); rec.PacketID != 7 {
				tb.Fatalf("copy %d of the QoS 2 PUBLISH answered with %v, want PUBREC 7", i+1, rec)
			}
			msg.Dup = true
		}
		c.send(&codec.Pubrel{PacketID: 7})
		if comp := expectP[*codec.Pubcomp](c); comp.PacketID != 7 {
			tb.Fatalf("PUBREL answered with %v, want PUBCOMP 7", comp)
		}
	},
	"retained-uses-subscribe-id": func(tb testing.TB, addr string) {
		ta, tbb := uniq("f/"), uniq("f/")
		pub, _ := connect(tb, addr, codec.V311)
		pub.publish(&codec.Publish{Topic: ta, QoS: 1, Retain: true, PacketID: 1, Payload: []byte("a")})
		pub.publish(&codec.Publish{Topic: tbb, QoS: 1, Retain: true, PacketID: 2, Payload: []byte("b")})
		sub, _ := connect(tb, addr, codec.V311)
		var ids []uint16
		for _, topic := range []string{ta, tbb} {
			sub.send(&codec.Subscribe{PacketID: 8, Subscriptions: []codec.Subscription{{Filter: topic, QoS: 1}}})
			for got := 0; got < 2; got++ { // the SUBACK and the retained delivery, in either order
				switch p := sub.expect(wait).(type) {
				case *codec.Suback:
				case *codec.Publish:
					ids = append(ids, p.PacketID) // not acknowledged: it stays in flight
				default:
					tb.Fatalf("got %v, want SUBACK or PUBLISH", p)
				}
			}
		}
		if len(ids) != 2 || ids[0] == ids[1] {
			tb.Fatalf("retained deliveries in flight together carry identifiers %v, want two distinct", ids)
		}
	},
}

// fuzzdiffDependsOn: the scenarios above observe these other faults' behaviour on purpose.
var fuzzdiffDependsOn = map[string][]string{
	// It reads two retained deliveries and compares their identifiers.
	"retained-uses-subscribe-id": {"outbound-packet-id-always-1", "retained-not-sent-on-subscribe"},
}

func init() {
	maps.Copy(faultChecks, fuzzdiffChecks)
	for name, deps := range fuzzdiffDependsOn {
		dependsOn[name] = append(dependsOn[name], deps...)
	}
}
