package client

import (
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.12 (with 3.1.2.10): keep alive — the client sends PINGREQ in time when it has nothing
// else to send, using the server's Server Keep Alive when the CONNACK carries one.

func init() {
	catalog.Client(c.Case{
		ID:         "3.12/pingreq-within-keep-alive",
		Title:      "an idle client sends PINGREQ within each keep alive period (1 s, or 5 s for clients that refuse less)",
		Versions:   c.Both,
		Level:      c.Must,
		Statements: []string{"3.1.1:MQTT-3.1.2-23", "5.0:MQTT-3.1.2-20"},
		Run: func(t *c.T) {
			ka := uint16(1)
			a := c.Action{Op: c.OpConnect, KeepAlive: ka, Version: t.Version}
			if d := t.ClientDriver(); d != nil && !d.Supports(a) {
				ka = 5
				a.KeepAlive = ka
			}
			// Long enough for three PINGREQs even from a client that pings a little late
			// (paho.mqtt.golang: every 1.25 s with keep alive 1); the scripted broker answers
			// later ones while the case waits for the DISCONNECT.
			a.Duration = 3*pingWindow(t, ka) + secs(ka)/2
			started := time.Now()
			t.StartClient(a)
			conn, cp := accept(t, "")
			c.Equal(t, "CONNECT Keep Alive", cp.KeepAlive, ka)
			conn.AnswerPings(false)
			connack(t, conn, false, nil)
			pings(conn, 3, ka)
			leavesAfter(t, conn, a.Duration-time.Since(started))
		},
	})

	catalog.Client(c.Case{
		ID:         "3.12/server-keep-alive",
		Title:      "a client given Server Keep Alive 1 in CONNACK sends PINGREQ every second, whatever keep alive it asked for",
		Versions:   c.V5,
		Level:      c.Must,
		Statements: []string{"MQTT-3.1.2-21", "MQTT-3.2.2-21"},
		Run: func(t *c.T) {
			a := c.Action{Op: c.OpConnect, Duration: 3*pingWindow(t, 1) + 500*millis}
			started := time.Now()
			t.StartClient(a)
			conn, cp := accept(t, "")
			t.Check(cp.KeepAlive != 1, "a Keep Alive other than 1", "Keep Alive 1", "the client asked for 1 s itself: the case would prove nothing")
			conn.AnswerPings(false)
			connack(t, conn, false, func(p *codec.Properties) { p.SetServerKeepAlive(1) })
			pings(conn, 3, 1)
			leavesAfter(t, conn, a.Duration-time.Since(started))
		},
	})

	catalog.Client(c.Case{
		ID:         "3.12/no-pingresp-closes",
		Title:      "a client whose PINGREQ gets no PINGRESP closes the connection within a reasonable time (here: 3 keep alive periods)",
		Versions:   c.Both,
		Level:      c.Should,
		Statements: []string{"3.1.1:mqttspec-3.1.1-3.1.2-should-1", "5.0:mqttspec-5.0-3.1.2-should-1"},
		Run: func(t *c.T) {
			ka := uint16(1)
			a := c.Action{Op: c.OpConnect, KeepAlive: ka, Duration: 20 * time.Second, Version: t.Version}
			if d := t.ClientDriver(); d != nil && !d.Supports(a) {
				ka = 5
				a.KeepAlive = ka
			}
			t.StartClient(a)
			conn, _ := accept(t, "")
			conn.AnswerPings(false) // the case is about the missing PINGRESP
			connack(t, conn, false, nil)
			conn.ExpectDue("PINGREQ", conn.LastReceived(), secs(ka), c.Type(codec.PINGREQ))
			sent := time.Now()
			limit := 3 * secs(ka)
			for {
				p, closed := conn.Next(max(time.Until(sent.Add(limit)), time.Millisecond))
				switch {
				case closed:
					t.Logf("closed %v after the unanswered PINGREQ", time.Since(sent).Round(10*time.Millisecond))
					return
				case p == nil:
					t.Failf("the connection closed within "+limit.String(), "still open", "the client kept the connection %v after a PINGREQ without PINGRESP", limit)
				case p.Type() == codec.PINGREQ:
					// Asking again is fine; the case answers nothing.
				case p.Type() == codec.DISCONNECT:
					conn.ExpectClosed()
					return
				default:
					t.Failf("PINGREQ, DISCONNECT or the close", p.String(), "unexpected %s while the PINGRESP is missing", p)
				}
			}
		},
	})
}
