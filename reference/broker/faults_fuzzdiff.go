package broker

import (
	"sync"

	"github.com/mqttspec/mqttspec/codec"
)

// fuzzdiffFaults are the faults behind the deviations the differential network fuzzer found in
// other brokers (docs/findings.md, "Live brokers: differential network fuzzing"), planted so that
// the conformance cases written for them are shown to fail on the behaviour.
var fuzzdiffFaults = []Fault{
	{Name: "publish-dup-qos0-accepted", Statements: []string{"MQTT-3.3.1-2", "3.1.1:MQTT-3.3.1-2"},
		Summary: "a QoS 0 PUBLISH with DUP 1 is delivered instead of closing the connection (mosquitto 2.0.11)",
		alter:   unchecked("publish-dup-qos0")},
	{Name: "suback-0x91-for-server-inflight-id", Statements: []string{"3.1.1:MQTT-3.9.3-2"},
		Summary: "a SUBSCRIBE whose identifier equals one the server uses for a QoS 1/2 delivery still in flight to that client is refused with 0x91 Packet Identifier in use for every filter, in 3.1.1 too (mochi-mqtt v2.7.9); the two directions' identifiers are independent",
		alter: onReceive(func(c *conn, p *codec.Subscribe) codec.Packet {
			s := c.sess
			if s == nil {
				return p
			}
			s.mu.Lock()
			_, clash := s.inflight[p.PacketID]
			s.mu.Unlock()
			if !clash {
				return p
			}
			ack := &codec.Suback{PacketID: p.PacketID}
			for range p.Subscriptions {
				ack.ReasonCodes = append(ack.ReasonCodes, codec.ReasonPacketIDInUse)
			}
			c.enqueue(outItem{pkt: ack})
			return nil
		})},
	{Name: "qos2-second-retransmission-closes", Statements: []string{"MQTT-4.3.3-10", "3.1.1:MQTT-4.3.3-2"},
		Summary: "a QoS 2 PUBLISH received a third time before its PUBREL (the second retransmission) closes the connection as a protocol error instead of getting another PUBREC (mosquitto 2.0.11)",
		alter: func(r *rules) {
			type key struct {
				s  *session
				id uint16
			}
			var mu sync.Mutex
			repeats := map[key]int{}
			onReceive(func(c *conn, p *codec.Publish) codec.Packet {
				if p.QoS != 2 || c.sess == nil {
					return p
				}
				c.sess.mu.Lock()
				_, pending := c.sess.inQoS2[p.PacketID]
				c.sess.mu.Unlock()
				k := key{c.sess, p.PacketID}
				mu.Lock()
				defer mu.Unlock()
				if !pending {
					delete(repeats, k) // a new message under this identifier
					return p
				}
				if repeats[k]++; repeats[k] < 2 {
					return p
				}
				delete(repeats, k)
				c.disconnect(causeProtocol, codec.ReasonProtocolError, "PUBLISH identifier re-used before PUBREL")
				return nil
			})(r)
		}},
	{Name: "retained-uses-subscribe-id", Statements: []string{"MQTT-2.2.1-4", "3.1.1:MQTT-2.3.1-4"},
		Summary: "a retained QoS 1/2 message sent because of a SUBSCRIBE carries that SUBSCRIBE's Packet Identifier, even when that identifier is already in flight (RabbitMQ 3.10.8 takes it from the SUBSCRIBE too, but moves on from one in flight)",
		alter: func(r *rules) {
			var mu sync.Mutex
			last := map[*conn]uint16{}
			onReceive(func(c *conn, p *codec.Subscribe) codec.Packet {
				mu.Lock()
				last[c] = p.PacketID
				mu.Unlock()
				return p
			})(r)
			onPublish(func(c *conn, d *delivery, p *codec.Publish) {
				if !d.retain || p.QoS == 0 {
					return
				}
				mu.Lock()
				if id, ok := last[c]; ok {
					p.PacketID = id
				}
				mu.Unlock()
			})(r)
		}},
}

// The area table joins Faults here rather than in faults.go's list, so that this file stays the
// fuzz diff helper's own; Faults is only read by name lookups after initialisation.
func init() { Faults = append(Faults, fuzzdiffFaults...) }
