package client

import (
	"context"
	"sync"
	"testing"

	"github.com/mqttspec/mqttspec/reference/broker"
)

// testBroker is a broker the scenario tests run against: mosquitto, or mqttspec's reference
// broker in process. Stop and Start restart it on the same address, losing every session.
type testBroker interface {
	URL() string
	Addr() string
	Stop()
	Start()
}

var brokerKinds = []struct {
	name  string
	start func(t *testing.T) testBroker
}{
	{"mosquitto", func(t *testing.T) testBroker { return startMosquitto(t) }},
	{"reference", func(t *testing.T) testBroker { return startReference(t, broker.Options{}) }},
}

// forEachBroker runs f against every broker kind (mosquitto skips where it is not installed).
func forEachBroker(t *testing.T, f func(t *testing.T, b testBroker)) {
	for _, bk := range brokerKinds {
		t.Run(bk.name, func(t *testing.T) { f(t, bk.start(t)) })
	}
}

// refBroker is the reference broker on a fixed loopback address, so that it can be restarted.
type refBroker struct {
	t    *testing.T
	opts broker.Options
	addr string
	mu   sync.Mutex
	srv  *broker.Server
}

func startReference(t *testing.T, o broker.Options) *refBroker {
	t.Helper()
	rb := &refBroker{t: t, opts: o, addr: "127.0.0.1:0"}
	rb.Start()
	t.Cleanup(rb.Stop)
	return rb
}

func (rb *refBroker) URL() string  { return "tcp://" + rb.addr }
func (rb *refBroker) Addr() string { return rb.addr }

func (rb *refBroker) Start() {
	rb.t.Helper()
	rb.mu.Lock()
	defer rb.mu.Unlock()
	srv, err := broker.New(rb.opts)
	if err != nil {
		rb.t.Fatalf("reference broker: %v", err)
	}
	a, err := srv.ListenAndServe(context.Background(), "tcp://"+rb.addr)
	if err != nil {
		srv.Close()
		rb.t.Fatalf("reference broker: %v", err)
	}
	rb.addr = a.String()
	rb.srv = srv
}

func (rb *refBroker) Stop() {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.srv != nil {
		rb.srv.Close()
		rb.srv = nil
	}
}
