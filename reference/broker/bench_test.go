package broker_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reference/broker/loadgen"
)

// Benchmarks compare the reference broker with mochi-mqtt (in process) and mosquitto (a child
// process on a free port) under the same load generator as `mqttspec bench`. Each run lasts a few
// seconds; run them with -benchtime 1x:
//
//	go test -run '^$' -bench Compare -benchtime 1x ./reference/broker/

// peer is a broker under benchmark.
type peer struct {
	name  string
	start func(b *testing.B) string // returns host:port; stops in b.Cleanup
}

func freePort(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(tb testing.TB, addr string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not listening: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var peers = []peer{
	// The reference broker runs in a child process, as mosquitto does, so that it does not share
	// the Go scheduler with the load generator; "reference-inproc" shares it, as mochi does.
	{"reference", func(b *testing.B) string { addr, _ := childBroker(b); return addr }},
	{"reference-inproc", func(b *testing.B) string { return brokertest.Start(b, broker.Options{}) }},
	{"mochi", func(b *testing.B) string {
		addr := freePort(b)
		s := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
		if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
			b.Fatal(err)
		}
		if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "bench", Address: addr})); err != nil {
			b.Fatal(err)
		}
		go s.Serve()
		b.Cleanup(func() { s.Close() })
		waitListening(b, addr)
		return addr
	}},
	{"mosquitto", func(b *testing.B) string { return startMosquitto(b) }},
}

// startMosquitto runs mosquitto on a free loopback port (never 1883), skipping when absent.
func startMosquitto(tb testing.TB) string {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		tb.Skip("mosquitto not installed (apt-get install mosquitto)")
	}
	addr := freePort(tb)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(tb.TempDir(), "mosquitto.conf")
	os.WriteFile(conf, []byte("listener "+port+" 127.0.0.1\nallow_anonymous true\npersistence false\n"), 0o600)
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(tb, addr)
	return addr
}

// loadCases are the comparison loads. Unpaced publishers send as fast as the broker reads, so
// the received rate is the broker's forwarding capacity and brokers with bounded queues (the
// reference broker, mosquitto) drop what a slow subscriber cannot take, QoS 1 included, while
// mochi holds publishers back instead.
type loadCase struct {
	name string
	cfg  loadgen.Config
}

var loadCases = []loadCase{
	{"QoS0FanIn", loadgen.Config{Publishers: 8, Subscribers: 1, QoS: 0, Size: 64, Duration: 3 * time.Second}},
	{"QoS1FanIn", loadgen.Config{Publishers: 8, Subscribers: 1, QoS: 1, Size: 64, Duration: 3 * time.Second}},
	{"QoS0FanOut", loadgen.Config{Publishers: 1, Subscribers: 8, QoS: 0, Size: 64, Duration: 3 * time.Second}},
	// Paced below every broker's capacity: equal rates, the latency percentiles compare.
	{"QoS1Paced", loadgen.Config{Publishers: 8, Subscribers: 1, QoS: 1, Size: 64, Rate: 2000, Duration: 3 * time.Second}},
}

// BenchmarkCompare runs each load against every broker in one run and reports messages/s
// received per broker and the reference broker's ratio to each peer. The machine is shared, so
// the brokers take turns twice and each keeps its better round.
func BenchmarkCompare(b *testing.B) {
	for _, lc := range loadCases {
		b.Run(lc.name, func(b *testing.B) {
			addrs := map[string]string{}
			for _, p := range peers {
				if p.name == "mosquitto" {
					if _, err := exec.LookPath("mosquitto"); err != nil {
						b.Log("mosquitto not installed: no mosquitto ratio")
						continue
					}
				}
				addrs[p.name] = p.start(b)
			}
			rates := map[string]float64{}
			best := map[string]loadgen.Result{}
			for round := 0; round < 2; round++ {
				for _, p := range peers {
					addr, ok := addrs[p.name]
					if !ok {
						continue
					}
					cfg := lc.cfg
					cfg.Target = "tcp://" + addr
					res, err := loadgen.Run(context.Background(), cfg)
					if err != nil {
						b.Fatalf("%s: %v", p.name, err)
					}
					if res.RecvRate > rates[p.name] {
						rates[p.name], best[p.name] = res.RecvRate, res
					}
				}
			}
			for _, p := range peers {
				if res, ok := best[p.name]; ok {
					b.Logf("%s:\n%s", p.name, res)
					b.ReportMetric(res.RecvRate, p.name+"-msgs/s")
					b.ReportMetric(float64(res.Latency.P99.Microseconds()), p.name+"-p99-µs")
				}
			}
			for _, other := range []string{"mosquitto", "mochi"} {
				if rates[other] > 0 {
					b.ReportMetric(rates["reference"]/rates[other], "ratio-vs-"+other)
				}
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// childBroker runs the reference broker in a child process (this test binary in broker mode) so
// that its resident memory can be read on its own.
func childBroker(tb testing.TB) (addr string, pid int) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("child broker: %v", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}

// rssKB reads VmRSS of a process from /proc.
func rssKB(tb testing.TB, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// BenchmarkSoak holds 5,000 mostly idle connections (each subscribed to its own topic) on a
// broker in a child process while a QoS 1 stream flows, and reports the broker's RSS.
//
//	go test -run '^$' -bench Soak -benchtime 1x ./reference/broker/
func BenchmarkSoak(b *testing.B) {
	const idle = 5000
	addr, pid := childBroker(b)
	base := rssKB(b, pid)
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < idle; i++ {
		nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, nc)
		cp, _ := codec.Encode(&codec.Connect{ClientID: fmt.Sprintf("idle-%d", i), CleanStart: true, KeepAlive: 600}, codec.V311)
		sb, _ := codec.Encode(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: fmt.Sprintf("idle/%d", i), QoS: 1}}}, codec.V311)
		if _, err := nc.Write(append(cp, sb...)); err != nil {
			b.Fatal(err)
		}
		if i%500 == 499 {
			// Read CONNACK and SUBACK of the batch so that the listen backlog never overflows.
			for _, c := range conns[i-499:] {
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.ReadFull(c, make([]byte, 4+5)); err != nil {
					b.Fatalf("CONNACK/SUBACK: %v", err)
				}
			}
		}
	}
	idleRSS := rssKB(b, pid)
	res, err := loadgen.Run(context.Background(), loadgen.Config{Target: "tcp://" + addr, Publishers: 4, Subscribers: 4,
		QoS: 1, Size: 256, Rate: 2000, Duration: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	busyRSS := rssKB(b, pid)
	b.Logf("%d idle connections + QoS 1 stream:\n%s", idle, res)
	b.Logf("broker RSS: %d MB empty, %d MB with %d idle connections (%.1f KB each), %d MB during the stream",
		base>>10, idleRSS>>10, idle, float64(idleRSS-base)/idle, busyRSS>>10)
	b.ReportMetric(float64(idleRSS)/1024, "rss-idle-MB")
	b.ReportMetric(float64(busyRSS)/1024, "rss-busy-MB")
	b.ReportMetric(float64(idleRSS-base)/idle, "KB/conn")
	b.ReportMetric(res.RecvRate, "msgs/s")
	b.ReportMetric(float64(res.Latency.P99.Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op")
	if len(res.Errors) > 0 || res.Received < res.Sent*4*9/10 {
		b.Fatalf("stream lost messages: %+v", res)
	}
}
