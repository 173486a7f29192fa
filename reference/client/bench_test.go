package client

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/mqttspec/mqttspec/codec"
)

// sinkBroker is the cheapest possible MQTT 5.0 server for benchmarks: it answers CONNECT with
// CONNACK, every QoS 1 PUBLISH with PUBACK (all acks of one read in one write), and counts
// PUBLISH packets. Both clients under comparison talk to the same sink.
type sinkBroker struct {
	ln        net.Listener
	published atomic.Int64
	wg        sync.WaitGroup
}

func newSinkBroker(b testing.TB) *sinkBroker {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &sinkBroker{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *sinkBroker) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 0, 256<<10)
	var out []byte
	connected := false
	for {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return
		}
		buf = buf[:len(buf)+n]
		off := 0
		out = out[:0]
		for {
			h, err := codec.ParseHeader(buf[off:], codec.V5)
			if err != nil || len(buf)-off < h.PacketLen() {
				break
			}
			pkt := buf[off : off+h.PacketLen()]
			switch h.Type {
			case codec.CONNECT:
				if !connected {
					out = append(out, 0x20, 0x03, 0x00, 0x00, 0x00) // CONNACK, no properties
					connected = true
				}
			case codec.PUBLISH:
				s.published.Add(1)
				if qos := (h.Flags >> 1) & 3; qos == 1 {
					body := pkt[h.Len:]
					tl := int(body[0])<<8 | int(body[1])
					out = append(out, 0x40, 0x02, body[2+tl], body[3+tl]) // PUBACK with the id
				}
			case codec.PINGREQ:
				out = append(out, 0xD0, 0x00)
			case codec.DISCONNECT:
				return
			}
			off += h.PacketLen()
		}
		buf = buf[:copy(buf, buf[off:])]
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// waitPublished waits until the sink counted n PUBLISH packets, so that a QoS 0 benchmark
// measures delivery to the server and not just queueing.
func (s *sinkBroker) waitPublished(b *testing.B, n int64) {
	deadline := time.Now().Add(30 * time.Second)
	for s.published.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("sink received %d of %d PUBLISH packets", s.published.Load(), n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

type benchPublisher interface {
	publish(ctx context.Context, qos byte, payload []byte) error
	close()
}

type refPublisher struct{ c *Client }

func (p refPublisher) publish(ctx context.Context, qos byte, payload []byte) error {
	return p.c.Publish(ctx, &Message{Topic: "bench/topic", QoS: qos, Payload: payload})
}
func (p refPublisher) close() { p.c.Disconnect(context.Background()); <-p.c.Done() }

type pahoPublisher struct{ c *paho.Client }

func (p pahoPublisher) publish(ctx context.Context, qos byte, payload []byte) error {
	_, err := p.c.Publish(ctx, &paho.Publish{Topic: "bench/topic", QoS: qos, Payload: payload})
	return err
}
func (p pahoPublisher) close() { p.c.Disconnect(&paho.Disconnect{}) }

var benchClients = []struct {
	name string
	dial func(b *testing.B, addr string) benchPublisher
}{
	{"reference", func(b *testing.B, addr string) benchPublisher {
		c, err := Dial(context.Background(), "tcp://"+addr, Options{ClientID: "bench", CleanStart: true})
		if err != nil {
			b.Fatal(err)
		}
		return refPublisher{c}
	}},
	{"paho.golang", func(b *testing.B, addr string) benchPublisher {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn})
		if _, err := c.Connect(context.Background(), &paho.Connect{ClientID: "bench", CleanStart: true}); err != nil {
			b.Fatal(err)
		}
		return pahoPublisher{c}
	}},
}

// BenchmarkPublish compares publish throughput of this client and paho.golang (MQTT 5.0, 64-byte
// payload) against the same in-process sink: one publishing goroutine ("serial") and 16
// ("parallel"). Ratios: compare ns/op of reference vs paho.golang in one run.
func BenchmarkPublish(b *testing.B) {
	payload := make([]byte, 64)
	for _, qos := range []byte{0, 1} {
		for _, mode := range []string{"serial", "parallel"} {
			for _, bc := range benchClients {
				b.Run(fmt.Sprintf("qos%d/%s/%s", qos, mode, bc.name), func(b *testing.B) {
					s := newSinkBroker(b)
					p := bc.dial(b, s.ln.Addr().String())
					defer p.close()
					runPublishBench(b, p, qos, mode, payload)
					s.waitPublished(b, int64(b.N))
				})
			}
		}
	}
}

func runPublishBench(b *testing.B, p benchPublisher, qos byte, mode string, payload []byte) {
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	if mode == "serial" {
		for i := 0; i < b.N; i++ {
			if err := p.publish(ctx, qos, payload); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism(8) // 8 × GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.publish(ctx, qos, payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPublishMosquitto is BenchmarkPublish against a real broker (skipped without
// mosquitto). A final QoS 1 message is the barrier: mosquitto handles one connection's packets
// in order, so its PUBACK means every QoS 0 message before it was read.
func BenchmarkPublishMosquitto(b *testing.B) {
	payload := make([]byte, 64)
	for _, qos := range []byte{0, 1} {
		for _, mode := range []string{"serial", "parallel"} {
			for _, bc := range benchClients {
				b.Run(fmt.Sprintf("qos%d/%s/%s", qos, mode, bc.name), func(b *testing.B) {
					m := startMosquitto(b)
					p := bc.dial(b, m.Addr())
					defer p.close()
					runPublishBench(b, p, qos, mode, payload)
					if err := p.publish(context.Background(), 1, payload); err != nil {
						b.Fatal(err)
					}
				})
			}
		}
	}
}
