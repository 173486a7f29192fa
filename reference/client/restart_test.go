package client

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/client/store"
)

// cutProxy relays one or more client connections to a broker and lets a test end everything
// (the client process included) the moment a chosen packet would pass.
type cutProxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	v      codec.Version
	cut    func(fromClient bool, p codec.Packet) bool
	onCut  func()
	cutOff chan codec.Packet
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string, v codec.Version, cut func(fromClient bool, p codec.Packet) bool, onCut func()) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &cutProxy{t: t, ln: ln, target: target, v: v, cut: cut, onCut: onCut, cutOff: make(chan codec.Packet, 1)}
	px.wg.Add(1)
	go px.serve()
	t.Cleanup(func() {
		ln.Close()
		px.wg.Wait()
	})
	return px
}

func (px *cutProxy) URL() string { return "tcp://" + px.ln.Addr().String() }

func (px *cutProxy) serve() {
	defer px.wg.Done()
	for {
		c, err := px.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", px.target)
		if err != nil {
			c.Close()
			continue
		}
		var once sync.Once
		closeBoth := func() { once.Do(func() { c.Close(); b.Close() }) }
		px.wg.Add(2)
		go px.pipe(c, b, true, closeBoth)
		go px.pipe(b, c, false, closeBoth)
	}
}

func (px *cutProxy) pipe(src, dst net.Conn, fromClient bool, closeBoth func()) {
	defer px.wg.Done()
	defer closeBoth()
	r := codec.NewReader(src, codec.Options{Version: px.v})
	for {
		raw, err := r.ReadRaw()
		if err != nil {
			return
		}
		p, _, err := codec.Decode(px.v, raw)
		if err == nil && px.cut(fromClient, p) {
			if px.onCut != nil {
				px.onCut()
			}
			px.cutOff <- p
			return
		}
		if _, err := dst.Write(raw); err != nil {
			return
		}
	}
}

// Environment of the helper process that publishes and gets killed.
const (
	envHelperURL   = "MQTTSPEC_CLIENT_HELPER_URL"
	envHelperStore = "MQTTSPEC_CLIENT_HELPER_STORE"
	envHelperID    = "MQTTSPEC_CLIENT_HELPER_ID"
	envHelperTopic = "MQTTSPEC_CLIENT_HELPER_TOPIC"
	envHelperVer   = "MQTTSPEC_CLIENT_HELPER_VERSION"
)

// TestHelperProcessPublisher is not a test: TestFileStoreSurvivesKill runs the test binary with
// it as a child process that publishes one QoS 2 message and is killed in the middle of the flow.
func TestHelperProcessPublisher(t *testing.T) {
	url := os.Getenv(envHelperURL)
	if url == "" {
		t.Skip("helper process for TestFileStoreSurvivesKill")
	}
	v, _ := strconv.Atoi(os.Getenv(envHelperVer))
	st, err := store.OpenFile(os.Getenv(envHelperStore), store.FileOptions{Sync: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	o := Options{ClientID: os.Getenv(envHelperID), Version: codec.Version(v), Store: st}
	if o.Version == codec.V5 {
		o.CleanStart, o.SessionExpiry = true, 300
	}
	c, err := Dial(context.Background(), url, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = c.Publish(ctx, &Message{Topic: os.Getenv(envHelperTopic), QoS: 2, Payload: []byte("exactly once")})
	// Reaching this line means the parent did not kill us in the middle of the flow.
	fmt.Fprintln(os.Stderr, "helper: publish returned:", err)
	os.Exit(4)
}

// TestFileStoreSurvivesKill: a process publishing at QoS 2 is killed (SIGKILL) at three points
// of the flow. A new client with the same File store and client identifier finishes the flow —
// PUBLISH again with DUP 1 if no PUBREC had arrived, otherwise only PUBREL — and the subscriber
// receives the message exactly once.
func TestFileStoreSurvivesKill(t *testing.T) {
	if os.Getenv(envHelperURL) != "" {
		t.Skip("inside the helper process")
	}
	forEachBroker(t, func(t *testing.T, m testBroker) {
		cases := []struct {
			name        string
			cut         func(fromClient bool, p codec.Packet) bool
			wantResend  codec.PacketType // what the new client sends first for the stored flow
			wantDeliver bool             // the message reached the subscriber before the kill
		}{
			{"before-PUBREC", func(fromClient bool, p codec.Packet) bool { return !fromClient && p.Type() == codec.PUBREC }, codec.PUBLISH, false},
			{"before-PUBREL", func(fromClient bool, p codec.Packet) bool { return fromClient && p.Type() == codec.PUBREL }, codec.PUBREL, false},
			{"before-PUBCOMP", func(fromClient bool, p codec.Packet) bool { return !fromClient && p.Type() == codec.PUBCOMP }, codec.PUBREL, true},
		}
		for _, ver := range versions {
			for _, tc := range cases {
				t.Run(ver.name+"/"+tc.name, func(t *testing.T) {
					topic := uniq(t)
					id := "fs-" + strconv.FormatInt(time.Now().UnixNano(), 36)
					path := filepath.Join(t.TempDir(), "session.log")
					in := newInbox()
					sub := dial(t, m.URL(), Options{ClientID: "sub-" + id, Version: ver.v, CleanStart: true})
					if _, err := sub.Subscribe(ctxT(t, 5*time.Second), []codec.Subscription{{Filter: topic, QoS: 2}}, in.handler); err != nil {
						t.Fatal(err)
					}

					procCh := make(chan *os.Process, 1)
					killed := make(chan struct{})
					px := newCutProxy(t, m.Addr(), ver.v, tc.cut, func() {
						close(killed) // before the kill: the child's end must find it closed
						(<-procCh).Kill()
					})
					child := exec.Command(os.Args[0], "-test.run=^TestHelperProcessPublisher$")
					child.Env = append(os.Environ(), envHelperURL+"="+px.URL(), envHelperStore+"="+path, envHelperID+"="+id,
						envHelperTopic+"="+topic, envHelperVer+"="+strconv.Itoa(int(ver.v)))
					out := &lockedBuffer{}
					child.Stdout, child.Stderr = out, out
					if err := child.Start(); err != nil {
						t.Fatal(err)
					}
					procCh <- child.Process
					waited := make(chan error, 1)
					go func() { waited <- child.Wait() }()
					select {
					case <-killed:
						<-waited
					case err := <-waited:
						select {
						case <-killed:
						default:
							t.Fatalf("helper process ended on its own (%v): %s", err, out.String())
						}
					case <-time.After(20 * time.Second):
						child.Process.Kill()
						t.Fatalf("the flow never reached the cut point: %s", out.String())
					}
					if tc.wantDeliver {
						if got := in.next(t, 5*time.Second); string(got.Payload) != "exactly once" {
							t.Fatalf("got %q", got.Payload)
						}
					}

					// The restarted client.
					st, err := store.OpenFile(path, store.FileOptions{Sync: true})
					if err != nil {
						t.Fatal(err)
					}
					defer st.Close()
					entries, _ := st.Entries()
					if len(entries) != 1 || entries[0].Dir != store.Outgoing {
						t.Fatalf("store after the kill holds %v, want one outgoing entry", entries)
					}
					storedID := entries[0].ID
					var mu sync.Mutex
					var sent []codec.Packet
					o := Options{ClientID: id, Version: ver.v, Store: st, Trace: func(dir string, p codec.Packet) {
						if dir == TraceSend {
							mu.Lock()
							sent = append(sent, p)
							mu.Unlock()
						}
					}}
					if ver.v == codec.V5 {
						o.SessionExpiry = 300
					}
					c := dial(t, m.URL(), o)
					deadline := time.Now().Add(5 * time.Second)
					for {
						if e, _ := st.Entries(); len(e) == 0 {
							break
						}
						if time.Now().After(deadline) {
							e, _ := st.Entries()
							t.Fatalf("the stored flow did not complete: %v", e)
						}
						time.Sleep(10 * time.Millisecond)
					}
					if !tc.wantDeliver {
						if got := in.next(t, 5*time.Second); string(got.Payload) != "exactly once" {
							t.Fatalf("got %q", got.Payload)
						}
					}
					in.none(t, 300*time.Millisecond) // exactly once
					closeClient(t, c)
					mu.Lock()
					defer mu.Unlock()
					if len(sent) < 2 {
						t.Fatalf("the new client sent %v", sent)
					}
					switch p := sent[1].(type) { // sent[0] is CONNECT
					case *codec.Publish:
						if tc.wantResend != codec.PUBLISH || !p.Dup || p.PacketID != storedID || p.QoS != 2 {
							t.Fatalf("resent %v, want %v with DUP and id %d", p, tc.wantResend, storedID)
						}
					case *codec.Pubrel:
						if tc.wantResend != codec.PUBREL || p.PacketID != storedID {
							t.Fatalf("resent %v, want %v id %d", p, tc.wantResend, storedID)
						}
					default:
						t.Fatalf("first packet after CONNECT is %v, want %v", p, tc.wantResend)
					}
					for _, p := range sent[2:] {
						if pub, ok := p.(*codec.Publish); ok {
							t.Fatalf("PUBLISH sent again after the resend: %v (MQTT-4.3.3-6)", pub)
						}
					}
				})
			}
		}
	})
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
