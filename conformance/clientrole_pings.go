package conformance

import (
	"net"
	"sync/atomic"

	"github.com/mqttspec/mqttspec/codec"
)

// pingAnswerer is the network connection under a Conn the scripted broker accepted. It answers the
// client's PINGREQ packets itself, so that a case checks what it is about with the ordinary
// Expect family while the client pings whenever its keep alive says so (many clients ping as
// soon as they are connected).
//
// It sits below the Conn's reader: Read hands the reader one whole packet at a time, and only
// when the reader asks for the next one, so each packet is recorded in the transcript in the
// order it arrived, the PINGREQ and PINGRESP it answers included. A PINGREQ is answered only
// where a real server answers it: after a CONNACK that accepted the connection (MQTT-3.1.2-30:
// nothing but AUTH or DISCONNECT before it) and before the client's DISCONNECT (MQTT-3.14.4-1:
// nothing after it), and while the case has not switched answering off (Conn.AnswerPings).
// Every other packet, a malformed PINGREQ included, goes to the case.
type pingAnswerer struct {
	net.Conn
	// c is the Conn on top, set once by acceptConn before ready is closed: the reader starts
	// before the Conn exists, so Read waits for it.
	c     *Conn
	ready chan struct{}
	rd    *codec.Reader

	on       atomic.Bool // the case lets the scripted broker answer
	accepted atomic.Bool // a CONNACK with reason 0x00 went out
	left     atomic.Bool // the client's DISCONNECT came in

	pending []byte // the packet Read is handing over
	err     error  // how the stream ended, returned once pending is empty
}

func newPingAnswerer(nc net.Conn) *pingAnswerer {
	a := &pingAnswerer{Conn: nc, ready: make(chan struct{}), rd: codec.NewReader(nc, codec.Options{MaxPacketSize: maxInbound})}
	a.on.Store(true)
	return a
}

// Read implements net.Conn: the client's packets, but for the PINGREQ packets answered here.
func (a *pingAnswerer) Read(b []byte) (int, error) {
	<-a.ready
	for len(a.pending) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		raw, err := a.rd.ReadRaw()
		if err != nil {
			// What arrived of a broken packet goes up first, so that the Conn's reader sees the
			// same bytes, and reports the same error, as without us.
			a.pending, a.err = append(a.pending[:0], a.rd.LastRaw()...), err
			continue
		}
		if !a.answer(raw) {
			a.pending = append(a.pending[:0], raw...)
		}
	}
	n := copy(b, a.pending)
	a.pending = a.pending[n:]
	return n, nil
}

// answer answers raw when it is a PINGREQ the scripted broker is to answer, recording both
// packets, and reports whether it did.
func (a *pingAnswerer) answer(raw []byte) bool {
	switch codec.PacketType(raw[0] >> 4) {
	case codec.DISCONNECT:
		a.left.Store(true)
		return false
	case codec.PINGREQ:
	default:
		return false
	}
	if !a.on.Load() || !a.accepted.Load() || a.left.Load() {
		return false
	}
	c := a.c
	p, _, err := codec.DecodeWith(codec.Options{Version: c.Version(), Sender: c.peer}, raw, nil)
	if err != nil {
		return false // a malformed PINGREQ is for the case to judge
	}
	resp, err := (&codec.Pingresp{}).AppendTo(nil, c.Version())
	if err != nil {
		return false // cannot happen (a PINGRESP is two fixed bytes); the case sees the PINGREQ
	}
	c.t.record(c.Label, "recv", raw, p.String())
	c.t.record(c.Label, "send", resp, "PINGRESP (answered by the scripted broker)")
	c.write(resp)
	return true
}

// Write implements net.Conn, noticing the CONNACK that accepts the connection.
func (a *pingAnswerer) Write(b []byte) (int, error) {
	if !a.accepted.Load() && acceptsConnection(b) {
		a.accepted.Store(true)
	}
	return a.Conn.Write(b)
}

// acceptsConnection reports whether b starts with a CONNACK whose reason code (3.1.1: return code)
// is 0x00. Nothing else of it is checked: a case that accepts the connection with a malformed
// CONNACK (reserved flags set) checks what the client makes of it, PINGREQs aside.
func acceptsConnection(b []byte) bool {
	if len(b) == 0 || codec.PacketType(b[0]>>4) != codec.CONNACK {
		return false
	}
	i := 1 // the last byte of the Remaining Length, then the acknowledge flags, then the code
	for i < len(b) && i < 4 && b[i]&0x80 != 0 {
		i++
	}
	return i+2 < len(b) && b[i+2] == 0x00
}

// acceptConn makes an accepted network connection a Conn of the case, on which the scripted
// broker answers PINGREQ (see pingAnswerer).
func (t *T) acceptConn(label string, nc net.Conn) *Conn {
	a := newPingAnswerer(nc)
	c := t.wrap(label, a, codec.SideServer, codec.SideClient)
	c.version.Store(uint32(codec.VersionUnknown))
	a.c = c
	close(a.ready)
	return c
}

// AnswerPings says whether the scripted broker answers the client's PINGREQ packets on this
// connection itself (the default, from the CONNACK that accepts the connection until the client's
// DISCONNECT) or leaves them to the case, which then sees each PINGREQ with Expect, Next and the
// rest, and answers it or not. Cases about keep alive switch it off, before the CONNACK so that no
// PINGREQ slips by. The switch applies to the packets that arrive from then on: one that arrived
// before it was handled as the switch stood then. It is only for connections the scripted broker
// accepted (T.Accept and its variants).
func (c *Conn) AnswerPings(on bool) {
	a, ok := c.nc.(*pingAnswerer)
	if !ok {
		c.t.Errorf("AnswerPings on [%s], a connection the scripted broker did not accept", c.Label)
	}
	a.on.Store(on)
	if on {
		c.t.note(c.Label, "PINGREQ answered by the scripted broker from now on")
	} else {
		c.t.note(c.Label, "PINGREQ left to the case from now on")
	}
}
