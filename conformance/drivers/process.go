package drivers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
)

// maxOutput bounds what is kept of a client program's output (its end is kept).
const maxOutput = 16 << 10

// process is a client program started by a driver. It runs in its own process group, which Stop
// ends (SIGTERM, then SIGKILL after a grace period).
type process struct {
	cmd   *exec.Cmd
	out   *tailBuffer
	done  chan struct{}
	err   error
	stop  sync.Once
	stdin io.WriteCloser
	// refusal reads the exit status and output of a program that ended by itself: what it
	// reported when that is its documented refusal of the action, "" otherwise (nil: the driver
	// cannot tell, and the process is no conformance.Refuser).
	refusal func(code int, output string) string
}

// Refusal implements conformance.Refuser: a program killed by a signal, or one that exited 0,
// never refused; otherwise the driver reads its exit status and output.
func (p *process) Refusal() string {
	if !p.Exited() || p.refusal == nil {
		return ""
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		return ""
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ""
	}
	return p.refusal(ee.ExitCode(), p.out.String())
}

// clientProcess returns p as a conformance.ClientProcess that is a conformance.Refuser only when
// its driver can tell a refusal (p.refusal set).
func (p *process) clientProcess() conformance.ClientProcess {
	if p.refusal == nil {
		return struct{ conformance.ClientProcess }{p}
	}
	return p
}

// lineWithPrefix returns the first line of out that starts with one of the prefixes ("" when
// none does).
func lineWithPrefix(out string, prefixes ...string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		for _, pre := range prefixes {
			if strings.HasPrefix(l, pre) {
				return l
			}
		}
	}
	return ""
}

// startProcess starts argv with env added to the environment. stdin, when non-nil, is written to
// the program's standard input, which is closed hold later.
func startProcess(argv []string, env []string, stdin []byte, hold time.Duration) (*process, error) {
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &tailBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	var in io.WriteCloser
	if stdin != nil {
		var err error
		if in, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	if in != nil {
		go func() {
			_, _ = in.Write(stdin)
			if hold > 0 {
				select {
				case <-time.After(hold):
				case <-p.done:
				}
			}
			in.Close()
		}()
	}
	go func() {
		defer close(p.done)
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("%s: %w", argv[0], err)
		}
		p.err = err
	}()
	return p, nil
}

// Wait implements conformance.ClientProcess.
func (p *process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop implements conformance.ClientProcess: SIGTERM to the process group, SIGKILL after a second.
func (p *process) Stop() {
	p.stop.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	})
	<-p.done
}

// Output implements conformance.ClientProcess.
func (p *process) Output() string { return strings.TrimSpace(p.out.String()) }

// Exited reports whether the program has ended.
func (p *process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

var _ conformance.ClientProcess = (*process)(nil)

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu      sync.Mutex
	b       []byte
	max     int
	dropped int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
		t.dropped += over
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped > 0 {
		return fmt.Sprintf("[%d bytes dropped] %s", t.dropped, t.b)
	}
	return string(t.b)
}
