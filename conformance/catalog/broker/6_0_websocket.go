package broker

import (
	"context"
	"errors"
	"time"

	"github.com/coder/websocket"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Chapter 6: MQTT over WebSocket. These cases need the target's ws:// URL (FeatureWebSocket).

// wsDial opens the raw WebSocket; a failure to open it is an infrastructure error.
func wsDial(t *c.T) *websocket.Conn {
	ws, err := t.Target.DialWebSocket(t.Context())
	if err != nil {
		t.Errorf("open the WebSocket: %v", err)
	}
	return ws
}

var _ = catalog.Broker(c.Case{
	ID:         "6.0/websocket-subprotocol-mqtt",
	Title:      "the WebSocket handshake offering subprotocol \"mqtt\" is answered with \"mqtt\"",
	Statements: []string{"MQTT-6.0.0-4"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWebSocket},
	Run: func(t *c.T) {
		ws := wsDial(t)
		defer ws.CloseNow()
		t.Logf("WebSocket handshake answered with subprotocol %q", ws.Subprotocol())
		c.Equal(t, "negotiated subprotocol", ws.Subprotocol(), "mqtt")
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "6.0/websocket-packets-not-aligned-with-frames",
	Title:      "MQTT packets split across WebSocket frames, and several packets in one frame, are read as a byte stream",
	Statements: []string{"MQTT-6.0.0-2"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWebSocket},
	Run: func(t *c.T) {
		ws := wsDial(t)
		// Each SendRaw below is one binary WebSocket message (one frame).
		conn := t.WrapConn("ws", websocket.NetConn(context.Background(), ws, websocket.MessageBinary))
		connect := t.Encode(t.DefaultConnect(), t.Version)
		half := len(connect) / 2
		conn.SendRaw(connect[:half], "first half of CONNECT (frame 1)")
		t.Sleep(50 * time.Millisecond)
		conn.SendRaw(connect[half:], "second half of CONNECT (frame 2)")
		conn.Expect(c.Connack(0))
		sub := t.Encode(&codec.Subscribe{PacketID: 7, Subscriptions: []codec.Subscription{{Filter: t.Topic("ws")}}}, t.Version)
		ping := t.Encode(&codec.Pingreq{}, t.Version)
		conn.SendRaw(append(sub, ping...), "SUBSCRIBE and PINGREQ in one frame")
		conn.Expect(c.Suback(7, 0))
		conn.Expect(c.Pingresp())
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "6.0/websocket-text-frame-closes",
	Title:      "a WebSocket text frame carrying a CONNECT is refused: the connection is closed without CONNACK",
	Statements: []string{"MQTT-6.0.0-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWebSocket},
	Run: func(t *c.T) {
		ws := wsDial(t)
		defer ws.CloseNow()
		connect := t.Encode(t.DefaultConnect(), t.Version)
		ctx, cancel := context.WithTimeout(t.Context(), t.Timeouts.Step)
		defer cancel()
		t.Logf("send: CONNECT as a WebSocket text frame (%x)", connect)
		if err := ws.Write(ctx, websocket.MessageText, connect); err != nil {
			t.Logf("write failed: %v", err)
		}
		typ, data, err := ws.Read(ctx)
		switch {
		case err == nil:
			t.Failf("the connection closed", "a "+typ.String()+" message", "the server answered a text frame with %x instead of closing", data)
		case errors.Is(err, context.DeadlineExceeded):
			t.Failf("the connection closed", "still open after "+t.Timeouts.Step.String(), "the server neither answered nor closed the connection after a text frame")
		default:
			t.Logf("closed: %v", err)
		}
	},
})
