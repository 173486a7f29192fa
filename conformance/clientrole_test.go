package conformance

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// toyClient is a minimal client for testing the scripted-broker side: it publishes at QoS 1 and
// (when broken) uses packet id 0.
func toyClient(brokenID bool) *FuncDriver {
	return &FuncDriver{DriverName: "toy", Can: func(a Action) bool { return a.Op == OpPublish }, Run: func(ctx context.Context, a Action) error {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", a.Addr())
		if err != nil {
			return err
		}
		defer nc.Close()
		w := codec.NewWriter(nc, a.Version)
		r := codec.NewReader(nc, codec.Options{Version: a.Version})
		_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
		if err := w.WritePacket(&codec.Connect{ProtocolLevel: byte(a.Version), CleanStart: true, KeepAlive: 30, ClientID: a.ClientID}); err != nil {
			return err
		}
		if _, err := r.ReadPacket(); err != nil {
			return err
		}
		id := uint16(1)
		if brokenID {
			id = 0
		}
		if err := w.WritePacket(&codec.Publish{Topic: a.Topic, QoS: a.QoS, PacketID: id, Payload: a.Message}); err != nil {
			return err
		}
		if _, err := r.ReadPacket(); err != nil {
			return err
		}
		return w.WritePacket(&codec.Disconnect{})
	}}
}

func TestClientRole(t *testing.T) {
	c := Case{ID: "4.3/client-qos1", Title: "client publishes QoS 1 with a non-zero packet id", Level: Must, Versions: Both,
		Statements: []string{"MQTT-2.3.1-1", "MQTT-2.2.1-3"}, Role: RoleClient,
		Run: func(t *T) {
			topic := t.Topic("q1")
			t.StartClient(Action{Op: OpPublish, Topic: topic, QoS: 1, Message: []byte("m")})
			conn, _ := t.AcceptConnect("")
			conn.Send(&codec.Connack{})
			pub := conn.ExpectPublish(Publish(topic, []byte("m"), 1))
			conn.Send(&codec.Puback{PacketID: pub.PacketID})
			conn.Expect(Disconnect(0))
			conn.ExpectClosed()
		}}
	for _, tc := range []struct {
		broken bool
		want   reports.Status
	}{{false, reports.Pass}, {true, reports.Fail}} {
		for _, v := range []codec.Version{codec.V311, codec.V5} {
			res := RunClientCase(context.Background(), toyClient(tc.broken), &c, v, Timeouts{Step: time.Second}, "run12345")
			if res.Status != tc.want {
				t.Fatalf("broken=%v %v: status %s (%s), want %s", tc.broken, v, res.Status, res.Message, tc.want)
			}
			if tc.broken && !strings.Contains(res.Message, "packet identifier") {
				t.Errorf("failure should name the packet identifier: %s", res.Message)
			}
		}
	}
	// An action the driver cannot do is a skip.
	c2 := c
	c2.Run = func(t *T) { t.StartClient(Action{Op: OpSubscribe, Topic: "x"}) }
	if res := RunClientCase(context.Background(), toyClient(false), &c2, codec.V5, Timeouts{Step: time.Second}, "run12345"); res.Status != reports.Skip {
		t.Fatalf("unsupported action: %s", res.Status)
	}
	// A client that never connects is an error, not a pass.
	c3 := c
	c3.Run = func(t *T) { t.Accept("") }
	if res := RunClientCase(context.Background(), toyClient(false), &c3, codec.V5, Timeouts{Step: 100 * time.Millisecond}, "run12345"); res.Status != reports.Error {
		t.Fatalf("no connection: %s", res.Status)
	}
}
