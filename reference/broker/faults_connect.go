package broker

import (
	"io"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// connectFaults are the faults of the CONNECT handshake: validating the CONNECT, refusing it, the
// CONNACK, and closing a connection on an error.
var connectFaults = []Fault{
	{Name: "connect-protocol-name-unchecked", Statements: []string{"MQTT-3.1.2-1", "3.1.1:MQTT-3.1.2-1"},
		Summary: "a CONNECT whose protocol name is not MQTT (MQIsdp for 3.1) is accepted as if it were",
		alter:   uncheckedConnect("connect-protocol-name")},
	{Name: "connect-reserved-flag-accepted", Statements: []string{"MQTT-3.1.2-3", "3.1.1:MQTT-3.1.2-3"},
		Summary: "a CONNECT whose reserved connect flag (bit 0) is 1 is accepted instead of closed as malformed",
		alter:   uncheckedConnect("connect-reserved-flag")},
	{Name: "connect-trailing-bytes-accepted", Statements: []string{"MQTT-3.1.4-1", "3.1.1:MQTT-3.1.4-1", "3.1.1:MQTT-3.1.2-18"},
		Summary: "a CONNECT with bytes after its last payload field (a user name although User Name Flag is 0) is accepted, the bytes ignored",
		alter:   uncheckedConnect("trailing-bytes")},
	{Name: "unknown-protocol-level-as-311", Statements: []string{"3.1.1:MQTT-3.1.2-2"},
		Summary: "a CONNECT with an unknown protocol level is read and accepted as MQTT 3.1.1 instead of refused with return code 0x01",
		alter: onUndecodableConnect(func(raw []byte, err error) (codec.Packet, error) {
			p, rerr := decodeIgnoring(map[string]bool{"connect-protocol-level": true}, codec.Options{Version: codec.V311, Sender: codec.SideClient}, raw, err)
			if rerr != nil {
				return nil, err
			}
			p.(*codec.Connect).ProtocolLevel = byte(codec.V311) // "anything but 5 is 3.1.1"
			return p, nil
		})},
	{Name: "unknown-protocol-level-as-5", Statements: []string{"MQTT-3.1.2-2"},
		Summary: "a CONNECT with a protocol level above 5 is read and accepted as MQTT 5.0 instead of refused (CONNACK 0x84 or the close)",
		alter: onUndecodableConnect(func(raw []byte, err error) (codec.Packet, error) {
			p, rerr := decodeIgnoring(map[string]bool{"connect-protocol-level": true}, codec.Options{Version: codec.V5, Sender: codec.SideClient}, raw, err)
			if rerr != nil || p.(*codec.Connect).ProtocolLevel < byte(codec.V5) {
				return nil, err
			}
			p.(*codec.Connect).ProtocolLevel = byte(codec.V5) // "5 or later"
			return p, nil
		})},
	{Name: "refused-connection-left-open", Statements: []string{"3.1.1:MQTT-3.2.2-5", "MQTT-3.2.2-7", "MQTT-4.13.2-1", "MQTT-3.1.4-2"},
		Summary: "after a refusing CONNACK the broker leaves the connection open, waiting for the client to close it",
		alter: onRefused(func(c *conn, ack *codec.Connack) {
			if ack == nil {
				return // a refusal without CONNACK still closes at once
			}
			// The connect timeout bounds the wait; whatever the client sends meanwhile is ignored.
			c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.connectTimeout))
			io.Copy(io.Discard, io.LimitReader(c.nc, 1<<20))
		})},
	{Name: "refused-connect-keeps-processing", Statements: []string{"3.1.1:MQTT-3.1.4-5", "MQTT-3.1.4-6"},
		Summary: "packets that arrived behind a refused CONNECT are still handled before the close: a PUBLISH sent with it is delivered",
		alter: onRefused(func(c *conn, _ *codec.Connack) {
			// What is already on the wire is read for a moment, the PUBLISHes routed.
			c.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			for {
				raw, err := c.r.ReadRaw()
				if err != nil {
					return
				}
				p, _, err := codec.DecodeWith(codec.Options{Version: c.v, Sender: codec.SideClient}, raw, nil)
				if pub, ok := p.(*codec.Publish); ok && err == nil {
					c.srv.route(newMessage(pub, pub.Topic, c.clientID, c.v == codec.V5))
				}
			}
		})},
	{Name: "malformed-connect-answered-with-disconnect", Statements: []string{"MQTT-3.14.0-1"},
		Summary: "a v5 CONNECT the broker finds malformed or a protocol error is answered with DISCONNECT instead of CONNACK before the close",
		alter: onSend(func(c *conn, p *codec.Connack) codec.Packet {
			if c.v == codec.V5 && (p.ReasonCode == codec.ReasonMalformedPacket || p.ReasonCode == codec.ReasonProtocolError) {
				// The error path of every other packet, reused for the CONNECT.
				return &codec.Disconnect{ReasonCode: p.ReasonCode, Properties: p.Properties}
			}
			return p
		})},
	{Name: "v5-refusal-with-v311-return-code", Statements: []string{"MQTT-3.2.2-8"},
		Summary:   "a v5 CONNACK refusing a bad user name or password carries the 3.1.1 return code 0x04, which is no v5 Connect Reason Code",
		Configure: addFaultUser,
		alter: onSend(func(c *conn, p *codec.Connack) codec.Packet {
			if c.v == codec.V5 && p.ReasonCode == codec.ReasonBadUsernameOrPassword {
				p.ReasonCode = codec.ConnRefusedBadUsernamePassword
			}
			return p
		})},
	{Name: "password-not-checked", Statements: []string{"MQTT-3.1.4-2"},
		Summary:   "a CONNECT naming a known user is admitted whatever its password: only the user name is checked",
		Configure: addFaultUser,
		alter: onReceive(func(c *conn, p *codec.Connect) codec.Packet {
			if pw, known := c.srv.opts.Users[p.Username]; c.sess == nil && p.UsernameFlag && known {
				p.PasswordFlag, p.Password = true, []byte(pw) // as if it had matched
			}
			return p
		})},
	{Name: "connack-after-pipelined-packets", Statements: []string{"MQTT-3.2.0-1", "3.1.1:MQTT-3.2.0-1"},
		Summary: "the CONNACK of a new session goes out only once the session is stored, asynchronously: packets sent behind the CONNECT are answered first",
		alter: func(r *rules) {
			var held, late sync.Map // conn → its CONNACK waiting; CONNACKs released, to be sent as they are
			release := func(c *conn) {
				if p, ok := held.LoadAndDelete(c); ok {
					late.Store(p, true)
					if !c.enqueue(outItem{pkt: p.(*codec.Connack)}) {
						late.Delete(p)
					}
				}
			}
			onSend(func(c *conn, p codec.Packet) codec.Packet {
				ack, ok := p.(*codec.Connack)
				if !ok {
					release(c) // the "store" answers after whatever the broker answered meanwhile
					return p
				}
				if _, again := late.LoadAndDelete(ack); again || ack.ReasonCode != 0 || ack.SessionPresent {
					return p
				}
				held.Store(c, ack)
				time.AfterFunc(100*time.Millisecond, func() { release(c) })
				return nil
			})(r)
		}},
	{Name: "connack-resumed-flag-bit-1", Statements: []string{"MQTT-3.2.2-1"},
		Summary: "a v5 CONNACK resuming a session also sets acknowledge flag bit 1, which is reserved, beside Session Present",
		alter: onSend(func(c *conn, p *codec.Connack) codec.Packet {
			if c.v == codec.V5 && p.SessionPresent {
				p.ReservedFlags |= 1 // a "session restored from the store" mark of the broker's own
			}
			return p
		})},
	{Name: "will-with-user-name-refused", Statements: []string{"3.1.1:MQTT-3.1.4-4", "MQTT-3.1.4-5"},
		Summary: "a valid CONNECT carrying both a Will Message and a user name is refused as malformed: the payload parser expects the user name and password before the will fields",
		alter: onCheckConnect(func(_ *conn, cp *codec.Connect) (refusal, bool) {
			if cp.WillFlag && cp.UsernameFlag {
				return refusal{v5: codec.ReasonMalformedPacket, why: "CONNECT payload: will topic expected after the password"}, false
			}
			return refusal{}, true
		})},
	{Name: "publish-length-four-bytes", Statements: []string{"MQTT-1.5.5-1"},
		Summary: "a v5 PUBLISH whose Remaining Length needs more than one byte has it written in four, as a header reserved before the size was known",
		alter: onEncoded(func(c *conn, pkt []byte) []byte {
			if c.v != codec.V5 {
				return pkt
			}
			h, err := codec.ParseHeader(pkt, c.v)
			if err != nil || h.Len == 2 || h.Len == 5 {
				return pkt // one byte is minimal; four is what the bug writes anyway
			}
			n := h.Remaining
			out := append([]byte{pkt[0]}, byte(n)|0x80, byte(n>>7)|0x80, byte(n>>14)|0x80, byte(n>>21))
			return append(out, pkt[h.Len:]...)
		})},
}

// addFaultUser is the Configure of the credential faults: a user whose wrong password their
// scenarios send. The users already configured (the embedded target's) stay.
func addFaultUser(o *Options) {
	if o.Users == nil {
		o.Users = map[string]string{}
	}
	o.Users["fault-user"] = "fault-password"
}

// uncheckedConnect is the alter of a fault that leaves the named codec rules unchecked on the
// handshake's CONNECT: one breaking only those is handled as if it were well formed.
func uncheckedConnect(names ...string) func(*rules) {
	ignored := map[string]bool{}
	for _, n := range names {
		ignored[n] = true
	}
	return onUndecodableConnect(func(raw []byte, err error) (codec.Packet, error) {
		return decodeIgnoring(ignored, codec.Options{Sender: codec.SideClient}, raw, err)
	})
}

// onUndecodableConnect makes rescue what the broker handles for a handshake CONNECT the codec
// rejected (it returns the error to refuse it still). It chains with a rescue set before it, so
// that such faults combine.
func onUndecodableConnect(rescue func(raw []byte, err error) (codec.Packet, error)) func(*rules) {
	return func(r *rules) {
		prev := r.connectUndecodable
		r.connectUndecodable = func(raw []byte, err error) (codec.Packet, error) {
			if p, rerr := rescue(raw, err); rerr == nil {
				return p, nil
			}
			if prev != nil {
				return prev(raw, err)
			}
			return nil, err
		}
	}
}

// onRefused adds a hook run after a CONNECT is refused.
func onRefused(h func(c *conn, ack *codec.Connack)) func(*rules) {
	return func(r *rules) { r.refusedHooks = append(r.refusedHooks, h) }
}

// onCheckConnect adds a check of a well-formed CONNECT, which refuses it when it fails.
func onCheckConnect(h func(c *conn, cp *codec.Connect) (refusal, bool)) func(*rules) {
	return func(r *rules) { r.connectChecks = append(r.connectChecks, h) }
}

// onEncoded adds a hook that rewrites the bytes of an encoded PUBLISH delivery.
func onEncoded(h func(c *conn, pkt []byte) []byte) func(*rules) {
	return func(r *rules) { r.encodedHooks = append(r.encodedHooks, h) }
}
