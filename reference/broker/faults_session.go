package broker

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// sessionFaults are the faults of client identifiers, session state and its lifetime, and
// session takeover.
var sessionFaults = []Fault{
	{Name: "client-id-over-22-refused", Statements: []string{"MQTT-3.1.3-5", "3.1.1:MQTT-3.1.3-5"},
		Summary: "a Client Identifier of 23 characters is refused as not valid: the broker's length limit is off by one, at 22",
		alter: onCheckConnect(func(c *conn, cp *codec.Connect) (refusal, bool) {
			if len(cp.ClientID) > 22 {
				return refusal{v5: codec.ReasonClientIDNotValid, v3: codec.ConnRefusedIdentifierRejected, why: "client identifiers are at most 22 characters"}, false
			}
			return refusal{}, true
		})},
	{Name: "session-expired-while-connected", Statements: []string{"MQTT-4.1.0-1", "3.1.1:MQTT-4.1.0-2"},
		Summary: "the session expiry sweep, 2 s after CONNECT, discards the subscriptions and queue of every session whose Session Expiry Interval has passed since the CONNECT (3.1.1 Clean Session 1 counts as 0), though its connection is still open",
		alter: onConnect(func(c *conn, _ *codec.Connect) {
			if c.sessExpiry == 0xFFFFFFFF {
				return // never expires
			}
			srv := c.srv
			srv.afterFunc(max(time.Duration(c.sessExpiry)*time.Second, 2*time.Second), func() {
				srv.mu.Lock()
				defer srv.mu.Unlock()
				sess := c.sess // set by attach under srv.mu
				if sess == nil {
					return
				}
				sess.mu.Lock()
				defer sess.mu.Unlock()
				if sess.conn != c || sess.ended {
					return // closed meanwhile: the correct expiry rules apply
				}
				// The state goes, the connection stays attached to the emptied session.
				for filter := range sess.subs {
					srv.unsubscribeTree(sess, filter)
				}
				clear(sess.subs)
				sess.pending = nil
			})
		})},
	{Name: "disconnect-sent-twice", Statements: []string{"MQTT-3.14.4-1"},
		Summary: "a v5 connection the broker ends for a second CONNECT or a takeover gets its DISCONNECT twice: the error path queues one and the close sends another",
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if c.sess != nil {
				if c.v == codec.V5 {
					c.enqueue(outItem{pkt: &codec.Disconnect{ReasonCode: codec.ReasonProtocolError}})
				}
				return p // the handler sends the second
			}
			if oc := liveConn(c.srv, p.ClientID); oc != nil && oc.v == codec.V5 && oc.connacked.Load() {
				oc.enqueue(outItem{pkt: &codec.Disconnect{ReasonCode: codec.ReasonSessionTakenOver}})
			}
			return p // the takeover sends the second
		})},
	{Name: "disconnect-without-close", Statements: []string{"MQTT-3.14.4-2", "MQTT-3.1.4-3"},
		Summary: "after sending a v5 client DISCONNECT for a second CONNECT or a takeover, the broker leaves the connection open for the client to close",
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if c.sess != nil {
				if c.v != codec.V5 {
					return p
				}
				// The DISCONNECT goes out, but neither it nor the CONNECT ends the connection.
				c.enqueue(outItem{pkt: &codec.Disconnect{ReasonCode: codec.ReasonProtocolError}})
				return nil
			}
			if oc := liveConn(c.srv, p.ClientID); oc != nil && oc.v == codec.V5 && oc.connacked.Load() {
				oc.enqueue(outItem{pkt: &codec.Disconnect{ReasonCode: codec.ReasonSessionTakenOver}})
				release(oc)
			}
			return p
		})},
	{Name: "takeover-keeps-old-connection", Statements: []string{"3.1.1:MQTT-3.1.4-2"},
		Summary: "a 3.1.1 CONNECT with the Client Identifier of a connected client moves the session to the new connection but leaves the existing one open",
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if oc := liveConn(c.srv, p.ClientID); c.sess == nil && oc != nil && oc.v == codec.V311 {
				release(oc)
			}
			return p
		})},
	{Name: "empty-client-id-refusal-left-open", Statements: []string{"MQTT-3.1.3-8", "3.1.1:MQTT-3.1.3-9"},
		Summary: "an empty Client Identifier is refused (3.1.1: return code 0x02, v5: 0x85), as the broker may, but the connection is then left open for the client to close",
		alter: func(r *rules) {
			var refused sync.Map // connections this fault refused
			onCheckConnect(func(c *conn, cp *codec.Connect) (refusal, bool) {
				if cp.ClientID != "" || !cp.CleanStart {
					return refusal{}, true
				}
				refused.Store(c, true)
				return refusal{v5: codec.ReasonClientIDNotValid, v3: codec.ConnRefusedIdentifierRejected, why: "empty client identifiers are not accepted"}, false
			})(r)
			onRefused(func(c *conn, ack *codec.Connack) {
				if _, ok := refused.LoadAndDelete(c); !ok || ack == nil {
					return
				}
				// The connect timeout bounds the wait; whatever the client sends is ignored.
				c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.connectTimeout))
				io.Copy(io.Discard, io.LimitReader(c.nc, 1<<20))
			})(r)
		}},
	{Name: "assigned-client-id-per-host", Statements: []string{"MQTT-3.1.3-6", "MQTT-3.2.2-16"},
		Summary: "the Client Identifier assigned to a v5 client with an empty one is derived from its IP address, so two such clients on one host get the same one and the second takes the first over",
		alter: func(r *rules) {
			var assigned sync.Map // connections given a host identifier, until their CONNACK
			onReceive(func(c *conn, p *codec.Connect) codec.Packet {
				if c.sess == nil && c.v == codec.V5 && p.ClientID == "" {
					host, _, err := net.SplitHostPort(c.nc.RemoteAddr().String())
					if err != nil {
						host = c.nc.RemoteAddr().String()
					}
					p.ClientID = "auto-" + host
					assigned.Store(c, true)
				}
				return p
			})(r)
			onSend(func(c *conn, p *codec.Connack) codec.Packet {
				if _, ok := assigned.LoadAndDelete(c); ok && p.ReasonCode == 0 {
					p.Properties.SetAssignedClientID(c.clientID)
				}
				return p
			})(r)
		}},
	{Name: "clean-start-0-unknown-session-refused", Statements: []string{"MQTT-3.1.2-6"},
		Summary: "a v5 CONNECT with Clean Start 0 for a Client Identifier that has no stored session is refused (0x80) instead of given a new session",
		alter: onCheckConnect(func(c *conn, cp *codec.Connect) (refusal, bool) {
			if c.v != codec.V5 || cp.CleanStart {
				return refusal{}, true
			}
			c.srv.mu.Lock()
			_, stored := c.srv.sessions[cp.ClientID]
			c.srv.mu.Unlock()
			if !stored {
				return refusal{v5: codec.ReasonUnspecifiedError, why: "no session to resume"}, false
			}
			return refusal{}, true
		})},
	{Name: "retained-deleted-with-session", Statements: []string{"3.1.1:MQTT-3.1.2-7"},
		Summary: "the retained messages a client published are deleted when its session ends at its DISCONNECT, as if they were session state",
		alter: onReceive(func(c *conn, p *codec.Disconnect) codec.Packet {
			expiry := c.sessExpiry
			if p.Properties.Has(codec.PropSessionExpiry) {
				expiry = p.Properties.SessionExpiry
			}
			if expiry != 0 {
				return p
			}
			for _, m := range c.srv.retained.find(func(string) bool { return true }) {
				if m.from == c.clientID {
					c.srv.retained.put(newMessage(&codec.Publish{Topic: m.topic, Retain: true}, m.topic, c.clientID, c.v == codec.V5))
				}
			}
			return p
		})},
	{Name: "session-keyed-by-connection", Statements: []string{"MQTT-3.1.3-2", "3.1.1:MQTT-3.1.3-2", "3.1.1:MQTT-3.1.4-2", "MQTT-3.1.4-3", "3.1.1:MQTT-3.1.2-4", "MQTT-3.1.2-5"},
		Summary: "sessions are keyed on the Client Identifier and the client's address and port, not the Client Identifier alone: a new network connection never finds its client's session, nor takes over its connection",
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if c.sess == nil && p.ClientID != "" {
				p.ClientID += "@" + c.nc.RemoteAddr().String()
			}
			return p
		})},
}

// liveConn returns the connection attached to the session of client identifier id, if any.
func liveConn(srv *Server, id string) *conn {
	srv.mu.Lock()
	sess := srv.sessions[id]
	srv.mu.Unlock()
	if sess == nil {
		return nil
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.conn
}

// release detaches connection oc from its session without closing it, so that a takeover finds
// no connection to end: oc stays open, bound to a session that is no longer its own.
func release(oc *conn) {
	srv := oc.srv
	srv.mu.Lock()
	sess := oc.sess
	srv.mu.Unlock()
	if sess == nil {
		return
	}
	sess.mu.Lock()
	if sess.conn == oc {
		sess.conn = nil
		sess.online.Store(false)
	}
	sess.mu.Unlock()
}
