package client

import (
	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// Section 3.12 (with 3.1.2.10): keep alive — the client sends PINGREQ in time when it has nothing
// else to send, using the server's Server Keep Alive when the CONNACK carries one.

func init() {
	register(c.Case{
		ID:       "3.12/pingreq-within-keep-alive",
		Title:    "an idle client sends PINGREQ within each keep alive period (1 s, or 5 s for clients that refuse less)",
		Versions: c.Both,
		Level:    c.Must,
		Run: func(t *c.T) {
			ka := uint16(1)
			a := c.Action{Op: c.OpConnect, KeepAlive: ka, CleanStart: true, Version: t.Version}
			if d := t.ClientDriver(); d != nil && !d.Supports(a) {
				ka = 5
				a.KeepAlive = ka
			}
			a.Duration = secs(ka) * 7 / 2
			t.StartClient(a)
			conn, cp := connected(t, "")
			c.Equal(t, "CONNECT Keep Alive", cp.KeepAlive, ka)
			for range 3 {
				conn.ExpectWithin(pingWindow(ka), c.Type(codec.PINGREQ))
				conn.Send(&codec.Pingresp{})
			}
			leaves(conn)
		},
	}, ids("MQTT-3.1.2-23"), ids("MQTT-3.1.2-20"))

	register(c.Case{
		ID:       "3.12/server-keep-alive",
		Title:    "a client given Server Keep Alive 1 in CONNACK sends PINGREQ every second, whatever keep alive it asked for",
		Versions: c.V5,
		Level:    c.Must,
		Run: func(t *c.T) {
			t.StartClient(c.Action{Op: c.OpConnect, Duration: 3500 * millis, CleanStart: true})
			conn, cp := accept(t, "")
			t.Check(cp.KeepAlive != 1, "a Keep Alive other than 1", "Keep Alive 1", "the client asked for 1 s itself: the case would prove nothing")
			connack(t, conn, false, func(p *codec.Properties) { p.SetServerKeepAlive(1) })
			for range 3 {
				conn.ExpectWithin(pingWindow(1), c.Type(codec.PINGREQ))
				conn.Send(&codec.Pingresp{})
			}
			leaves(conn)
		},
	}, nil, ids("MQTT-3.1.2-21", "MQTT-3.2.2-21"))
}
