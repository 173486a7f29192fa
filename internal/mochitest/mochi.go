// Package mochitest runs a mochi-mqtt broker (github.com/mochi-mqtt/server/v2) as a third-party
// peer for comparisons. mochi runs in a child process built from ./mochibroker, supervised:
// mochi v2.7.9 panics on some malformed packets, which would kill an in-process test, and a
// crash is itself a finding — the supervisor restarts it on the same port and counts crashes.
package mochitest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Version is the mochi-mqtt module version this package builds against (see go.mod).
const Version = "v2.7.9"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// build compiles the mochibroker command once per process.
func build() (string, error) {
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		dir, err := os.MkdirTemp("", "mochibroker")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mochibroker")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = filepath.Join(filepath.Dir(file), "mochibroker")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build mochibroker: %v\n%s", err, out)
		}
	})
	return binPath, buildErr
}

// Broker is a supervised mochi process.
type Broker struct {
	Addr string

	mu      sync.Mutex
	cmd     *exec.Cmd
	crashes []string // the tail of the output of each crash
	stopped bool
	done    chan struct{}
}

// Crashes returns the panic output of each crash so far.
func (b *Broker) Crashes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.crashes...)
}

// Start builds and starts mochi on a free loopback port.
func Start() (*Broker, error) {
	bin, err := build()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	b := &Broker{Addr: addr, done: make(chan struct{})}
	if err := b.spawn(bin); err != nil {
		return nil, err
	}
	go b.supervise(bin)
	return b, nil
}

// lockedBuffer collects a child's output; the child writes while the supervisor reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil // bounded: keep the start, where a panic's message is
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (b *Broker) spawn(bin string) error {
	out := &lockedBuffer{}
	cmd := exec.Command(bin, "-addr", b.Addr)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	b.mu.Lock()
	b.cmd = cmd
	b.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("mochi did not listen on %s: %s", b.Addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// supervise restarts mochi after each crash until Stop.
func (b *Broker) supervise(bin string) {
	defer close(b.done)
	for {
		b.mu.Lock()
		cmd := b.cmd
		b.mu.Unlock()
		err := cmd.Wait()
		b.mu.Lock()
		if b.stopped {
			b.mu.Unlock()
			return
		}
		out := cmd.Stdout.(*lockedBuffer).String()
		if len(out) > 2000 {
			out = out[:2000]
		}
		b.crashes = append(b.crashes, fmt.Sprintf("%v: %s", err, out))
		b.mu.Unlock()
		if b.spawn(bin) != nil {
			return
		}
	}
}

// Stop ends mochi.
func (b *Broker) Stop() {
	b.mu.Lock()
	b.stopped = true
	cmd := b.cmd
	b.mu.Unlock()
	_ = cmd.Process.Kill()
	<-b.done
}
