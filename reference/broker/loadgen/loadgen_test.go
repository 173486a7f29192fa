package loadgen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reference/broker/loadgen"
)

func TestRunAgainstReferenceBroker(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, tc := range []struct {
		v   codec.Version
		qos byte
	}{{codec.V311, 0}, {codec.V311, 1}, {codec.V5, 2}} {
		t.Run(tc.v.String()+"/qos"+string(rune('0'+tc.qos)), func(t *testing.T) {
			res, err := loadgen.Run(context.Background(), loadgen.Config{
				Target: "tcp://" + addr, Version: tc.v, Publishers: 2, Subscribers: 2, QoS: tc.qos,
				Size: 64, Duration: 300 * time.Millisecond, Rate: 500, Drain: 300 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res.String())
			if len(res.Errors) > 0 {
				t.Fatalf("errors: %v", res.Errors)
			}
			// 2 publishers at 500/s for 0.3 s: about 300 sent, each received twice.
			if res.Sent < 200 || res.Sent > 400 {
				t.Fatalf("sent %d, want about 300", res.Sent)
			}
			if res.Received < 2*res.Sent*9/10 || res.Received > 2*res.Sent {
				t.Fatalf("received %d of %d x 2 (rate-limited runs lose nothing)", res.Received, res.Sent)
			}
			if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
				t.Fatalf("latency %+v", res.Latency)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []loadgen.Config{
		{Target: "tcp://127.0.0.1:1", Publishers: 0, Duration: time.Second},
		{Target: "tcp://127.0.0.1:1", Publishers: 1, QoS: 3, Duration: time.Second},
		{Target: "tcp://127.0.0.1:1", Publishers: 1},
		{Target: "ws://127.0.0.1:1/", Publishers: 1, Duration: time.Second},
		{Target: "tcp://127.0.0.1", Publishers: 1, Duration: time.Second},
		{Target: "tcp://127.0.0.1:1", Publishers: 1, Duration: time.Second}, // nothing listens
	} {
		if _, err := loadgen.Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if a, err := loadgen.Addr("127.0.0.1:1883"); err != nil || a != "127.0.0.1:1883" {
		t.Fatalf("Addr: %q %v", a, err)
	}
	if _, err := loadgen.Addr("ws://x:1"); err == nil || !strings.Contains(err.Error(), "tcp") {
		t.Fatalf("Addr(ws): %v", err)
	}
}
