package broker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/scram"
)

// capabilityFaults are the faults of the capabilities a server announces or is configured with (Maximum QoS, retain, wildcards, subscription identifiers, shared subscriptions, keep alive), authentication, authorization and the WebSocket transport.
var capabilityFaults = []Fault{
	{Name: "maximum-qos-not-announced", Statements: []string{"MQTT-3.2.2-9"},
		Summary:   "a broker supporting QoS 0 and 1 only sends no Maximum QoS in CONNACK, so clients take QoS 2 to be supported",
		Configure: maximumQoS1,
		alter: onSend(func(_ *conn, p *codec.Connack) codec.Packet {
			p.Properties.Clear(codec.PropMaximumQoS)
			return p
		})},
	{Name: "maximum-qos-subscribe-refused", Statements: []string{"MQTT-3.2.2-10", "MQTT-3.9.3-2"},
		Summary:   "a broker supporting QoS 0 and 1 only refuses a v5 subscription asking for QoS 2 with SUBACK 0x9B (QoS not supported, which is no SUBSCRIBE reason code) instead of granting QoS 1",
		Configure: maximumQoS1,
		alter:     refuseAboveMaximumQoS()},
	{Name: "will-qos-above-maximum-accepted", Statements: []string{"MQTT-3.2.2-12"},
		Summary:   "a CONNECT whose Will QoS exceeds the broker's Maximum QoS is accepted, the will downgraded to the maximum, instead of refused",
		Configure: maximumQoS1,
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if c.sess == nil && p.WillFlag {
				p.Will.QoS = min(p.Will.QoS, c.srv.cfg.maxQoS)
			}
			return p
		})},
	{Name: "will-retain-unavailable-accepted", Statements: []string{"MQTT-3.2.2-13"},
		Summary:   "a CONNECT with Will Retain 1 to a broker without retained messages is accepted, the will published unretained, instead of refused",
		Configure: func(o *Options) { o.RetainAvailable = Ptr(false) },
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if c.sess == nil && p.WillFlag && !c.srv.cfg.retain {
				p.Will.Retain = false
			}
			return p
		})},
	{Name: "server-keepalive-not-announced", Statements: []string{"MQTT-3.2.2-22"},
		Summary:   "a broker configured with a Server Keep Alive enforces it but leaves it out of CONNACK, so the client's own Keep Alive is not the one in force",
		Configure: func(o *Options) { o.ServerKeepAlive = 3 },
		alter: onSend(func(_ *conn, p *codec.Connack) codec.Packet {
			p.Properties.Clear(codec.PropServerKeepAlive)
			return p
		})},
	{Name: "unauthorized-publish-not-acknowledged", Statements: []string{"3.1.1:MQTT-3.3.5-2"},
		Summary:   "a 3.1.1 QoS 1/2 PUBLISH the ACL denies is dropped without its PUBACK/PUBREC, and the connection left open",
		Configure: withDeniedTopic,
		alter: onReceive(func(c *conn, p *codec.Publish) codec.Packet {
			if c.v != codec.V5 && p.QoS > 0 && !c.srv.opts.ACL.CanPublish(c.clientID, c.user, p.Topic) {
				return nil
			}
			return p
		})},
	{Name: "wildcard-unavailable-accepted", Statements: []string{"3.1.1:MQTT-3.8.3-2", "§3.2.2.3.11"},
		Summary:   "a broker configured without wildcard subscriptions (and announcing Wildcard Subscription Available 0) grants filters with + and #",
		Configure: func(o *Options) { o.WildcardAvailable = Ptr(false) },
		alter:     func(r *rules) { r.wildcardsAnyway = true }},
	{Name: "shared-unavailable-accepted", Statements: []string{"§3.2.2.3.13"},
		Summary:   "a broker configured without shared subscriptions (and announcing Shared Subscription Available 0) takes $share filters",
		Configure: func(o *Options) { o.SharedAvailable = Ptr(false) },
		alter:     func(r *rules) { r.sharedAnyway = true }},
	{Name: "subscription-ids-unavailable-accepted", Statements: []string{"§3.2.2.3.12"},
		Summary:   "a broker configured without Subscription Identifiers (and announcing Subscription Identifiers Available 0) takes a SUBSCRIBE carrying one",
		Configure: func(o *Options) { o.SubIDAvailable = Ptr(false) },
		alter:     func(r *rules) { r.subIDsAnyway = true }},
	{Name: "suback-failure-v5-code-on-v311", Statements: []string{"3.1.1:MQTT-3.9.3-2"},
		Summary:   "a 3.1.1 SUBACK refusing a filter carries the 5.0 reason code 0x87 (Not authorized) instead of the failure return code 0x80",
		Configure: onlyTopicRoots,
		alter: onSend(func(c *conn, p *codec.Suback) codec.Packet {
			if c.v != codec.V5 {
				for i, rc := range p.ReasonCodes {
					if rc == codec.SubackFailure {
						p.ReasonCodes[i] = codec.ReasonNotAuthorized
					}
				}
			}
			return p
		})},
	{Name: "unsupported-auth-method-ignored", Statements: []string{"MQTT-4.12.0-1"},
		Summary: "a CONNECT with an Authentication Method the broker does not support is handled as if it had none (credentials checked, client connected) instead of refused",
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if m := p.Properties.AuthMethod; c.sess == nil && c.v == codec.V5 && p.Properties.Has(codec.PropAuthMethod) && c.srv.opts.AuthMethods[m] == nil {
				p.Properties.Clear(codec.PropAuthMethod)
				p.Properties.Clear(codec.PropAuthData)
			}
			return p
		})},
	{Name: "auth-continue-reason-unset", Statements: []string{"MQTT-4.12.0-2"},
		Summary:   "the broker's AUTH asking for more authentication data carries reason code 0x00 (the field left unset) instead of 0x18 Continue authentication",
		Configure: withSCRAM,
		alter: onSend(func(_ *conn, p *codec.Auth) codec.Packet {
			if p.ReasonCode == codec.ReasonContinueAuthentication {
				p.ReasonCode = codec.ReasonSuccess
			}
			return p
		})},
	{Name: "auth-failure-admits-client", Statements: []string{"MQTT-4.12.0-4"},
		Summary:   "an enhanced authentication exchange the method fails (a wrong answer to its challenge) ends in CONNACK 0x00: the error is taken as the end of the exchange",
		Configure: withSCRAM,
		alter: func(r *rules) {
			r.authStep = func(reply []byte, done bool, err error) ([]byte, bool, error) {
				if err != nil {
					return nil, true, nil
				}
				return reply, done, nil
			}
		}},
	{Name: "auth-success-without-method", Statements: []string{"MQTT-4.12.0-5"},
		Summary:   "the CONNACK ending enhanced authentication, and the AUTH 0x00 ending re-authentication, carry no Authentication Method",
		Configure: withSCRAM,
		alter: both(onSend(func(_ *conn, p *codec.Connack) codec.Packet {
			p.Properties.Clear(codec.PropAuthMethod)
			return p
		}), onSend(func(_ *conn, p *codec.Auth) codec.Packet {
			if p.ReasonCode == codec.ReasonSuccess {
				p.Properties.Clear(codec.PropAuthMethod)
			}
			return p
		}))},
	{Name: "connack-advertises-auth-method", Statements: []string{"MQTT-4.12.0-6"},
		Summary:   "a v5 CONNACK to a client that asked for no enhanced authentication names the broker's authentication method, advertising it",
		Configure: withSCRAM,
		alter: onSend(func(c *conn, p *codec.Connack) codec.Packet {
			if c.v == codec.V5 && p.ReasonCode == codec.ReasonSuccess && !p.Properties.Has(codec.PropAuthMethod) {
				if names := authMethodNames(c.srv.opts.AuthMethods); len(names) > 0 {
					p.Properties.SetAuthMethod(names[0])
				}
			}
			return p
		})},
	{Name: "reauth-method-ignored", Statements: []string{"MQTT-4.12.1-2"},
		Summary:   "re-authentication (AUTH 0x19) naming another Authentication Method than the connection's is run with the connection's method instead of closing the connection",
		Configure: withSCRAM,
		alter: onReceive(func(c *conn, p *codec.Auth) codec.Packet {
			if c.authMethod != "" && p.ReasonCode == codec.ReasonReAuthenticate {
				p.Properties.SetAuthMethod(c.authMethod)
			}
			return p
		})},
	{Name: "auth-reason-code-unchecked", Statements: []string{"MQTT-3.15.2-1"},
		Summary:   "an AUTH with a reason code that is no Authenticate Reason Code is accepted, and taken as the start of re-authentication",
		Configure: withSCRAM,
		alter: both(unchecked("auth-reason-code"), onReceive(func(c *conn, p *codec.Auth) codec.Packet {
			if !p.ReasonCode.ValidFor(codec.AUTH) {
				p.ReasonCode = codec.ReasonReAuthenticate
			}
			return p
		}))},
	{Name: "websocket-text-frames-accepted", Statements: []string{"MQTT-6.0.0-1", "3.1.1:MQTT-6.0.0-1"},
		Summary: "the WebSocket listener reads MQTT packets from text frames as from binary ones instead of closing the connection",
		alter: func(r *rules) {
			r.wsStream = func(ctx context.Context, ws *websocket.Conn) net.Conn {
				return newMessageConn(ctx, ws, func(_ websocket.MessageType, msg []byte) ([]byte, error) { return msg, nil })
			}
		}},
	{Name: "websocket-packet-per-frame", Statements: []string{"MQTT-6.0.0-2", "3.1.1:MQTT-6.0.0-2"},
		Summary: "the WebSocket listener takes each binary frame to hold exactly one MQTT packet: a packet split across frames, or several packets in one frame, closes the connection",
		alter: func(r *rules) {
			r.wsStream = func(ctx context.Context, ws *websocket.Conn) net.Conn {
				return newMessageConn(ctx, ws, onePacket)
			}
		}},
	{Name: "websocket-subprotocol-not-returned", Statements: []string{"MQTT-6.0.0-4", "3.1.1:MQTT-6.0.0-4"},
		Summary: "the WebSocket handshake answer leaves out the Sec-WebSocket-Protocol header, so the mqtt subprotocol is not returned to the client",
		alter: func(r *rules) {
			r.wsHandshake = func(w http.ResponseWriter) http.ResponseWriter { return noSubprotocolWriter{w} }
		}},
}

// maximumQoS1 is the configuration of the Maximum QoS faults: a broker supporting QoS 0 and 1.
func maximumQoS1(o *Options) { o.MaximumQoS = Ptr[byte](1) }

// withDeniedTopic gives a broker without an ACL one that lets everyone write below f/, mqttspec/
// and /mqttspec/ (the fault scenarios' and the catalog's topic roots) and read everything, so that
// a PUBLISH to, say, denied/x is unauthorized. A broker with an ACL keeps its own.
func withDeniedTopic(o *Options) {
	if len(o.ACL) > 0 {
		return
	}
	o.ACL = ACL{
		{Topic: "f/#", Access: AccessReadWrite},
		{Topic: "mqttspec/#", Access: AccessReadWrite},
		{Topic: "/mqttspec/#", Access: AccessReadWrite},
		{Topic: "#", Access: AccessRead},
	}
}

// onlyTopicRoots replaces the ACL with one that lets everyone read and write below f/, mqttspec/,
// /mqttspec/ and $mqttspec/ (the fault scenarios' and the catalog's topic roots) and nowhere else,
// so that a subscription to, say, denied/x is refused.
func onlyTopicRoots(o *Options) {
	o.ACL = ACL{
		{Topic: "f/#", Access: AccessReadWrite},
		{Topic: "mqttspec/#", Access: AccessReadWrite},
		{Topic: "/mqttspec/#", Access: AccessReadWrite},
		{Topic: "$mqttspec/#", Access: AccessReadWrite},
	}
}

// FaultSCRAMUser and FaultSCRAMPassword are the SCRAM-SHA-256 user that the enhanced
// authentication faults configure on a broker offering no authentication method, so that their
// exchanges can be run against it.
const (
	FaultSCRAMUser     = "fault-user"
	FaultSCRAMPassword = "fault-password"
)

// withSCRAM gives a broker without an enhanced authentication method SCRAM-SHA-256 with the user
// FaultSCRAMUser; a broker with methods keeps its own.
func withSCRAM(o *Options) {
	if len(o.AuthMethods) > 0 {
		return
	}
	m, err := SCRAMSHA256(map[string]string{FaultSCRAMUser: FaultSCRAMPassword})
	if err != nil {
		// Only a failing random source gets here; a broker without the method would then
		// test something else, so there is no sensible way on.
		panic(fmt.Sprintf("SCRAM credentials for the fault configuration: %v", err))
	}
	o.AuthMethods = map[string]AuthMethod{scram.Method: m}
}

// authMethodNames returns the names of methods, sorted.
func authMethodNames(methods map[string]AuthMethod) []string {
	names := make([]string, 0, len(methods))
	for n := range methods {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// refuseAboveMaximumQoS is the alter of maximum-qos-subscribe-refused: a v5 subscription asking
// for more than the Maximum QoS is taken out of its SUBSCRIBE (so nothing is subscribed) and given
// 0x9B at its place in the SUBACK. (0x9B is a 5.0 reason code; 3.1.1 subscriptions are granted as
// they should be.)
func refuseAboveMaximumQoS() func(*rules) {
	type key struct {
		c  *conn
		id uint16
	}
	var mu sync.Mutex
	refused := map[key][]int{} // positions of the filters taken out, ascending
	return both(onReceive(func(c *conn, p *codec.Subscribe) codec.Packet {
		if c.v != codec.V5 {
			return p
		}
		var at []int
		kept := p.Subscriptions[:0]
		for i, s := range p.Subscriptions {
			if s.QoS > c.srv.cfg.maxQoS {
				at = append(at, i)
				continue
			}
			kept = append(kept, s)
		}
		if len(at) > 0 {
			p.Subscriptions = kept
			mu.Lock()
			refused[key{c, p.PacketID}] = at
			mu.Unlock()
		}
		return p
	}), onSend(func(c *conn, p *codec.Suback) codec.Packet {
		mu.Lock()
		at, ok := refused[key{c, p.PacketID}]
		delete(refused, key{c, p.PacketID})
		mu.Unlock()
		for _, i := range at {
			if ok && i <= len(p.ReasonCodes) {
				p.ReasonCodes = slices.Insert(p.ReasonCodes, i, codec.ReasonQoSNotSupported)
			}
		}
		return p
	}))
}

// noSubprotocolWriter is a WebSocket handshake's ResponseWriter that sends the answer without
// its Sec-WebSocket-Protocol header. The header map keeps it, as the WebSocket library reads the
// negotiated subprotocol back from there once the answer is written.
type noSubprotocolWriter struct{ http.ResponseWriter }

func (w noSubprotocolWriter) WriteHeader(code int) {
	h := w.Header()
	proto, had := h["Sec-Websocket-Protocol"]
	h.Del("Sec-WebSocket-Protocol")
	w.ResponseWriter.WriteHeader(code) // net/http takes its copy of the header here
	if had {
		h["Sec-Websocket-Protocol"] = proto
	}
}

// Unwrap lets the WebSocket library reach the http.Hijacker underneath.
func (w noSubprotocolWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection over, as the wrapped ResponseWriter does.
func (w noSubprotocolWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// messageConn is a WebSocket read one message at a time, each turned by take into the bytes the
// broker reads from it (an error closes the connection); writes go out as binary messages through
// websocket.NetConn. It is the stream of the WebSocket faults, which each read messages wrongly.
type messageConn struct {
	net.Conn // websocket.NetConn: binary writes, write deadlines, close, addresses
	ws       *websocket.Conn
	ctx      context.Context
	take     func(typ websocket.MessageType, msg []byte) ([]byte, error)

	mu       sync.Mutex
	deadline time.Time
	pending  []byte // what is left of the last message taken
}

func newMessageConn(ctx context.Context, ws *websocket.Conn, take func(websocket.MessageType, []byte) ([]byte, error)) *messageConn {
	return &messageConn{Conn: websocket.NetConn(ctx, ws, websocket.MessageBinary), ws: ws, ctx: ctx, take: take}
}

func (m *messageConn) Read(b []byte) (int, error) {
	for len(m.pending) == 0 {
		m.mu.Lock()
		dl := m.deadline
		m.mu.Unlock()
		ctx, cancel := m.ctx, context.CancelFunc(func() {})
		if !dl.IsZero() {
			ctx, cancel = context.WithDeadline(m.ctx, dl)
		}
		typ, msg, err := m.ws.Read(ctx)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("read a WebSocket message: %w", err)
		}
		if m.pending, err = m.take(typ, msg); err != nil {
			m.ws.Close(websocket.StatusUnsupportedData, err.Error())
			return 0, err
		}
	}
	n := copy(b, m.pending)
	m.pending = m.pending[n:]
	return n, nil
}

func (m *messageConn) SetReadDeadline(t time.Time) error {
	m.mu.Lock()
	m.deadline = t
	m.mu.Unlock()
	return nil
}

func (m *messageConn) SetDeadline(t time.Time) error {
	m.SetReadDeadline(t)
	return m.Conn.SetWriteDeadline(t)
}

// errNotOnePacket is how websocket-packet-per-frame refuses a message holding other than one
// whole MQTT packet.
var errNotOnePacket = errors.New("a WebSocket message must hold exactly one MQTT packet")

// onePacket takes a binary message holding exactly one whole MQTT packet (its fixed header's
// Remaining Length says where the packet ends).
func onePacket(typ websocket.MessageType, msg []byte) ([]byte, error) {
	if typ != websocket.MessageBinary {
		return nil, fmt.Errorf("a %v WebSocket message: MQTT travels in binary ones", typ)
	}
	n, mul := 0, 1
	for i := 1; i < len(msg) && i <= 4; i++ {
		n += int(msg[i]&0x7F) * mul
		if msg[i]&0x80 == 0 {
			if 1+i+n != len(msg) {
				return nil, fmt.Errorf("%w: %d bytes for a packet of %d", errNotOnePacket, len(msg), 1+i+n)
			}
			return msg, nil
		}
		mul *= 128
	}
	return nil, fmt.Errorf("%w: %d bytes, no whole fixed header", errNotOnePacket, len(msg))
}

// The seams of the WebSocket faults and of auth-failure-admits-client (fields of rules, in
// faults_rules.go), with the methods the handlers call at them.
type (
	wsHandshakeFunc = func(w http.ResponseWriter) http.ResponseWriter
	wsStreamFunc    = func(ctx context.Context, ws *websocket.Conn) net.Conn
)

// wsWriter returns the ResponseWriter a WebSocket handshake is answered through.
func (r *rules) wsWriter(w http.ResponseWriter) http.ResponseWriter {
	if r.wsHandshake == nil {
		return w
	}
	return r.wsHandshake(w)
}

// webSocket returns the byte stream of an accepted WebSocket: binary messages, read and written
// as one stream whatever their boundaries (MQTT-6.0.0-1/2).
func (r *rules) webSocket(ctx context.Context, ws *websocket.Conn) net.Conn {
	if r.wsStream == nil {
		return websocket.NetConn(ctx, ws, websocket.MessageBinary)
	}
	return r.wsStream(ctx, ws)
}

// authStepped returns the outcome of an enhanced authentication step as the broker takes it.
func (r *rules) authStepped(reply []byte, done bool, err error) ([]byte, bool, error) {
	if r.authStep == nil {
		return reply, done, err
	}
	return r.authStep(reply, done, err)
}
