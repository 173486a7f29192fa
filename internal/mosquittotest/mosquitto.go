// Package mosquittotest starts a real mosquitto broker on a free loopback port for tests.
package mosquittotest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary returns the path of the mosquitto binary, or "" when it is not installed.
func Binary() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Broker is a running mosquitto.
type Broker struct {
	Addr    string // 127.0.0.1:port
	Version string // "2.0.11"
	cmd     *exec.Cmd
	log     *syncBuffer
	conf    string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Log returns what mosquitto printed so far.
func (b *Broker) Log() string { return b.log.String() }

// Start starts mosquitto with the extra configuration lines (anonymous access is allowed unless
// extra says otherwise) and stops it when the test ends. It skips the test when mosquitto is not
// installed.
func Start(tb testing.TB, extra ...string) *Broker {
	tb.Helper()
	bin := Binary()
	if bin == "" {
		tb.Skip("mosquitto is not installed (apt-get install mosquitto); .ci/run installs it")
	}
	b, err := StartBinary(bin, tb.TempDir(), extra...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Stop)
	return b
}

// StartBinary starts mosquitto outside a test (the CLI's comparison runs use it).
func StartBinary(bin, dir string, extra ...string) (*Broker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	lines := []string{fmt.Sprintf("listener %d 127.0.0.1", port), "persistence false", "log_dest stderr", "log_type error", "log_type warning"}
	hasAnon := false
	for _, l := range extra {
		if strings.HasPrefix(strings.TrimSpace(l), "allow_anonymous") {
			hasAnon = true
		}
	}
	if !hasAnon {
		lines = append(lines, "allow_anonymous true")
	}
	lines = append(lines, extra...)
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	b := &Broker{Addr: fmt.Sprintf("127.0.0.1:%d", port), log: &syncBuffer{}, conf: conf}
	if out, err := exec.Command(bin, "-h").CombinedOutput(); err == nil || len(out) > 0 {
		if f := strings.Fields(string(out)); len(f) >= 3 && f[0] == "mosquitto" && f[1] == "version" {
			b.Version = f[2]
		}
	}
	b.cmd = exec.Command(bin, "-c", conf)
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mosquitto: %w", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return b, nil
		}
		if time.Now().After(deadline) {
			b.Stop()
			return nil, fmt.Errorf("mosquitto did not listen on %s within 5s: %s", b.Addr, b.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the broker and waits for it.
func (b *Broker) Stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		_ = b.cmd.Process.Kill()
		_ = b.cmd.Wait()
		b.cmd = nil
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
