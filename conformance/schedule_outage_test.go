package conformance

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// crashyBroker is a loopback broker that answers every CONNECT with CONNACK 0 and "crashes" on a
// SUBSCRIBE: it closes its listener and every connection, and listens again on the same port
// after restartAfter (never, when restartAfter is 0) — a broker under a supervisor.
type crashyBroker struct {
	t            *testing.T
	addr         string
	restartAfter time.Duration
	mu           sync.Mutex
	l            net.Listener
	conns        []net.Conn
	crashes      int
}

func newCrashyBroker(t *testing.T, restartAfter time.Duration) *crashyBroker {
	b := &crashyBroker{t: t, restartAfter: restartAfter}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = l.Addr().String()
	b.serve(l)
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.l != nil {
			b.l.Close()
		}
		b.restartAfter = 0
	})
	return b
}

func (b *crashyBroker) serve(l net.Listener) {
	b.mu.Lock()
	b.l = l
	b.mu.Unlock()
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, nc)
			b.mu.Unlock()
			go b.session(nc)
		}
	}()
}

func (b *crashyBroker) session(nc net.Conn) {
	defer nc.Close()
	if readPacket(nc, codec.VersionUnknown) == nil {
		return
	}
	write(nc, codec.V311, &codec.Connack{})
	for {
		p := readPacket(nc, codec.V311)
		if p == nil {
			return
		}
		if _, ok := p.(*codec.Subscribe); ok {
			b.crash()
			return
		}
		if _, ok := p.(*codec.Pingreq); ok {
			write(nc, codec.V311, &codec.Pingresp{})
		}
	}
}

func (b *crashyBroker) crash() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.crashes++
	b.l.Close()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
	if b.restartAfter == 0 {
		return
	}
	time.AfterFunc(b.restartAfter, func() {
		b.mu.Lock()
		stopped := b.restartAfter == 0
		b.mu.Unlock()
		if stopped {
			return
		}
		l, err := net.Listen("tcp", b.addr)
		if err != nil {
			b.t.Errorf("restart on %s: %v", b.addr, err)
			return
		}
		b.serve(l)
	})
}

// outageCases: one case whose SUBSCRIBE crashes the broker (declared long, so it starts first),
// then n cases that connect, wait hold and ping.
func outageCases(n int, hold time.Duration) []Case {
	cases := []Case{{ID: "9.9/crasher", Title: "crasher", Statements: []string{"MQTT-3.1.0-2"}, Versions: V311, Level: Must,
		Timeout: 5 * time.Second, Run: func(t *T) {
			c := t.Connect(t.DefaultConnect())
			c.Send(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "a"}}})
			c.ExpectClosed()
		}}}
	for i := range n {
		cases = append(cases, Case{ID: fmt.Sprintf("9.9/other-%02d", i), Title: "other", Statements: []string{"MQTT-3.1.0-2"},
			Versions: V311, Level: Must, Run: func(t *T) {
				c := t.Connect(t.DefaultConnect())
				t.Sleep(hold)
				c.Send(&codec.Pingreq{})
				c.Expect(Pingresp())
			}})
	}
	return cases
}

// TestOutageRerun: a broker that crashes on one case and is back 300 ms later costs no verdict.
// The crashing case fails (the liveness probe after it is refused), every case that met the
// outage is run again once the broker is back and passes, and the outage is in the results. A
// broker that never comes back ends the remaining cases at once, each naming the outage.
func TestOutageRerun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		restart  time.Duration
		wait     time.Duration
		parallel int
		hold     time.Duration // how long each other case keeps its connection open
		others   reports.Status
		message  string // in the others' messages
	}{
		{"restarted", 300 * time.Millisecond, 5 * time.Second, 1, 0, reports.Pass, ""},
		{"never back", 0, 400 * time.Millisecond, 1, 0, reports.Error, "did not accept one within 400ms: it crashed or was stopped"},
		{"no waiting", 300 * time.Millisecond, -1, 1, 0, reports.Error, "connection refused"},
		// Cases open when the broker crashes see their connection cut: run again after the run.
		{"collateral", 300 * time.Millisecond, 5 * time.Second, 4, 300 * time.Millisecond, reports.Pass, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newCrashyBroker(t, tc.restart)
			r := &Runner{Target: &Target{Name: "crashy", URL: "tcp://" + b.addr}, Versions: []codec.Version{codec.V311},
				Parallel: tc.parallel, Caps: allCaps(), OutageWait: tc.wait,
				Timeouts: Timeouts{Step: 300 * time.Millisecond, Quiet: 100 * time.Millisecond, Case: 3 * time.Second}}
			start := time.Now()
			res, err := r.Run(context.Background(), outageCases(20, tc.hold))
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			var rerun, collateral int
			for _, c := range res.Cases {
				for _, e := range c.Transcript {
					if e.Dir == "note" && strings.HasPrefix(e.Packet, "run again (attempt 2): the target refused") {
						rerun++
					}
					if e.Dir == "note" && strings.HasPrefix(e.Packet, "run again after the run: this case was open when the target went down") {
						collateral++
					}
				}
				if c.ID == "9.9/crasher" {
					if c.Status != reports.Fail || !strings.Contains(c.Message, "crashed") {
						t.Errorf("crasher: %s %q, want a fail naming the crash", c.Status, c.Message)
					}
					continue
				}
				if c.Status != tc.others || !strings.Contains(c.Message, tc.message) {
					t.Errorf("%s: %s %q, want %s with %q", c.ID, c.Status, c.Message, tc.others, tc.message)
				}
			}
			info := res.Target.Info
			switch tc.name {
			case "restarted":
				if rerun == 0 || !strings.HasPrefix(info["target_outages"], "1: ") || info["reruns_after_outage"] != fmt.Sprint(rerun) {
					t.Errorf("reruns noted %d, info %q / %q", rerun, info["target_outages"], info["reruns_after_outage"])
				}
			case "never back":
				if !strings.Contains(info["target_outages"], "not back within 400ms") {
					t.Errorf("target_outages %q", info["target_outages"])
				}
				// One wait for the whole run, not one per case.
				if elapsed > 4*time.Second {
					t.Errorf("the run took %v: the wait was repeated per case", elapsed)
				}
			case "collateral":
				if collateral == 0 || info["reruns_after_outage"] != fmt.Sprint(rerun+collateral) {
					t.Errorf("collateral reruns %d, reruns %d, info %q", collateral, rerun, info["reruns_after_outage"])
				}
			case "no waiting":
				if _, ok := info["target_outages"]; ok || rerun != 0 {
					t.Errorf("no waiting, yet outages %q and %d reruns", info["target_outages"], rerun)
				}
			}
			b.mu.Lock()
			crashes := b.crashes
			b.mu.Unlock()
			// A serial run names the crashing case at once; a parallel one confirms it in the
			// serial rerun of the suspects, which crashes the broker once more.
			if want := map[int]int{1: 1, 4: 2}[tc.parallel]; crashes != want {
				t.Errorf("the broker crashed %d times, want %d", crashes, want)
			}
		})
	}
}
