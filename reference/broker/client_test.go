package broker_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// wait is the default time a test waits for a packet that should arrive.
const wait = 3 * time.Second

// tconn is a raw MQTT client for tests: it sends exactly the packets a test builds and reads
// exactly what the broker answers, with no client logic in between.
type tconn struct {
	t  testing.TB
	nc net.Conn
	r  *codec.Reader
	v  codec.Version
}

var idSeq atomic.Int64

// uniq returns a name unique within the test binary, for client identifiers and topics.
func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, idSeq.Add(1)) }

func dial(t testing.TB, addr string, v codec.Version) *tconn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &tconn{t: t, nc: nc, r: codec.NewReader(nc, codec.Options{Version: v, Sender: codec.SideServer}), v: v}
}

func (c *tconn) send(p codec.Packet) {
	c.t.Helper()
	b, err := codec.Encode(p, c.v)
	if err != nil {
		c.t.Fatalf("encode %v: %v", p, err)
	}
	c.sendRaw(b)
}

func (c *tconn) sendRaw(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(wait))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads one packet within d; it returns the error instead of failing.
func (c *tconn) next(d time.Duration) (codec.Packet, error) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	return c.r.ReadPacket()
}

func (c *tconn) expect(d time.Duration) codec.Packet {
	c.t.Helper()
	p, err := c.next(d)
	if err != nil {
		c.t.Fatalf("expected a packet, got %v", err)
	}
	return p
}

// expectP reads the next packet and requires its type.
func expectP[T codec.Packet](c *tconn) T {
	c.t.Helper()
	p := c.expect(wait)
	x, ok := p.(T)
	if !ok {
		var zero T
		c.t.Fatalf("expected %T, got %v", zero, p)
	}
	return x
}

// expectClosed requires the broker to close the connection within d, allowing nothing before.
func (c *tconn) expectClosed(d time.Duration) {
	c.t.Helper()
	p, err := c.next(d)
	if err == nil {
		c.t.Fatalf("expected the connection to close, got %v", p)
	}
	if !isClosed(err) {
		c.t.Fatalf("expected the connection to close, got %v", err)
	}
}

// expectDisconnect requires (v5) a DISCONNECT with rc followed by the close, or (3.1.1) the close.
func (c *tconn) expectDisconnect(rc codec.ReasonCode) {
	c.t.Helper()
	if c.v == codec.V5 {
		d := expectP[*codec.Disconnect](c)
		if d.ReasonCode != rc {
			c.t.Fatalf("DISCONNECT reason %v, want %v (%s)", d.ReasonCode, rc, d.Properties.ReasonString)
		}
		if d.Properties.Has(codec.PropSessionExpiry) {
			c.t.Fatalf("server DISCONNECT carries Session Expiry (MQTT-3.14.2-2)")
		}
	}
	c.expectClosed(wait)
}

// expectNothing requires that no packet arrives within d.
func (c *tconn) expectNothing(d time.Duration) {
	c.t.Helper()
	p, err := c.next(d)
	if err == nil {
		c.t.Fatalf("expected nothing, got %v", p)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("expected nothing, got %v", err)
	}
	// A timed-out read leaves the reader usable: the codec reader keeps no partial state on a
	// deadline before the first byte.
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset")
}

// connOpt modifies the CONNECT a helper sends.
type connOpt func(*codec.Connect)

func clientID(id string) connOpt              { return func(c *codec.Connect) { c.ClientID = id } }
func keepAlive(s uint16) connOpt              { return func(c *codec.Connect) { c.KeepAlive = s } }
func notClean() connOpt                       { return func(c *codec.Connect) { c.CleanStart = false } }
func props(f func(*codec.Properties)) connOpt { return func(c *codec.Connect) { f(&c.Properties) } }
func creds(user, pass string) connOpt {
	return func(c *codec.Connect) {
		c.UsernameFlag, c.Username = true, user
		c.PasswordFlag, c.Password = true, []byte(pass)
	}
}
func withWill(topic, payload string, qos byte, retain bool, f func(*codec.Properties)) connOpt {
	return func(c *codec.Connect) {
		c.WillFlag = true
		c.Will = codec.Will{Topic: topic, Payload: []byte(payload), QoS: qos, Retain: retain}
		if f != nil {
			f(&c.Will.Properties)
		}
	}
}

func connectPacket(opts ...connOpt) *codec.Connect {
	cp := &codec.Connect{CleanStart: true, KeepAlive: 60, ClientID: uniq("c")}
	for _, o := range opts {
		o(cp)
	}
	return cp
}

// connect dials, sends CONNECT and requires a successful CONNACK.
func connect(t testing.TB, addr string, v codec.Version, opts ...connOpt) (*tconn, *codec.Connack) {
	t.Helper()
	c := dial(t, addr, v)
	c.send(connectPacket(opts...))
	ack := expectP[*codec.Connack](c)
	if ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v (%s)", ack.ReasonCode, ack.Properties.ReasonString)
	}
	return c, ack
}

func (c *tconn) subscribe(id uint16, subs ...codec.Subscription) *codec.Suback {
	c.t.Helper()
	c.send(&codec.Subscribe{PacketID: id, Subscriptions: subs})
	ack := expectP[*codec.Suback](c)
	if ack.PacketID != id {
		c.t.Fatalf("SUBACK id %d, want %d", ack.PacketID, id)
	}
	return ack
}

// publishes reads n PUBLISH packets, acknowledging QoS 1 and 2 ones completely.
func (c *tconn) publishes(n int) []*codec.Publish {
	c.t.Helper()
	var out []*codec.Publish
	for len(out) < n {
		p := c.expect(wait)
		switch x := p.(type) {
		case *codec.Publish:
			out = append(out, x)
			switch x.QoS {
			case 1:
				c.send(&codec.Puback{PacketID: x.PacketID})
			case 2:
				c.send(&codec.Pubrec{PacketID: x.PacketID})
				rel := expectP[*codec.Pubrel](c)
				if rel.PacketID != x.PacketID {
					c.t.Fatalf("PUBREL id %d, want %d", rel.PacketID, x.PacketID)
				}
				c.send(&codec.Pubcomp{PacketID: x.PacketID})
			}
		default:
			c.t.Fatalf("expected PUBLISH, got %v", p)
		}
	}
	return out
}

// publish sends a PUBLISH and completes its QoS flow as a client.
func (c *tconn) publish(p *codec.Publish) {
	c.t.Helper()
	c.send(p)
	switch p.QoS {
	case 1:
		ack := expectP[*codec.Puback](c)
		if ack.PacketID != p.PacketID || ack.ReasonCode.IsError() {
			c.t.Fatalf("PUBACK %v for id %d", ack, p.PacketID)
		}
	case 2:
		rec := expectP[*codec.Pubrec](c)
		if rec.PacketID != p.PacketID || rec.ReasonCode.IsError() {
			c.t.Fatalf("PUBREC %v for id %d", rec, p.PacketID)
		}
		c.send(&codec.Pubrel{PacketID: p.PacketID})
		comp := expectP[*codec.Pubcomp](c)
		if comp.PacketID != p.PacketID {
			c.t.Fatalf("PUBCOMP %v for id %d", comp, p.PacketID)
		}
	}
}

// ping round-trips a PINGREQ: everything the broker queued before it has been written.
func (c *tconn) ping() {
	c.t.Helper()
	c.send(&codec.Pingreq{})
	expectP[*codec.Pingresp](c)
}

func (c *tconn) disconnect() {
	c.t.Helper()
	c.send(&codec.Disconnect{})
	c.nc.Close()
}

// checkPublish compares the fields a subscriber sees.
func checkPublish(t testing.TB, got *codec.Publish, topic, payload string, qos byte, retain bool) {
	t.Helper()
	if got.Topic != topic || string(got.Payload) != payload || got.QoS != qos || got.Retain != retain {
		t.Fatalf("got %v, want topic=%q payload=%q qos=%d retain=%v", got, topic, payload, qos, retain)
	}
}
