package drivers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

// PahoC drives Eclipse Paho C (the MQTTAsync library) through the sample programs Debian ships
// in paho.mqtt.c-examples: paho_c_pub for OpPublish and OpConnect, paho_c_sub for OpSubscribe.
//
// What the programs do, read from their source (src/samples/paho_c_pub.c, paho_c_sub.c,
// pubsub_opts.c of Paho C 1.3.12), shapes the driver:
//   - Both always connect with Clean Session / Clean Start 1, no Session Expiry Interval, and
//     automatic reconnection on; there is no option to change either, so a persistent session is
//     declined, and a reconnection (without one) is what they do anyway.
//   - paho_c_pub -m publishes one message when connected, then disconnects. Its other mode
//     publishes each delimited chunk of standard input until it ends, and once it ends keeps
//     publishing what it reads past the end (EOF bytes): several messages are declined.
//   - OpConnect has no program of its own: paho_c_pub runs in that standard-input mode with a
//     topic the library refuses to publish to (ill-formed UTF-8, MQTTAsync_send returns
//     MQTTASYNC_BAD_UTF8_STRING without sending anything) and standard input held open; after
//     the action's Duration the driver sends SIGTERM (the program's way to stop: it then
//     disconnects normally) and closes standard input, so that the read the signal may not have
//     interrupted ends; the one chunk read then is refused by the library like every other.
//   - paho_c_sub has no message count: it prints each message followed by the --delimiter
//     string, and runs until SIGTERM. The driver gives it a delimiter no case payload contains,
//     counts those in its output and sends SIGTERM after Count of them.
//   - No option for Will properties, enhanced authentication, the client's Receive Maximum,
//     Topic Alias Maximum or Maximum Packet Size, an UNSUBSCRIBE, or PUBLISH properties other
//     than a Message Expiry Interval above 0 (--message-expiry) and one User Property
//     (--user-property). Command-line arguments cannot carry a NUL byte; a payload with one goes
//     in a file (-f), which the program reads whole.
//   - --will-retain consumes the argument after it (pubsub_opts.c advances past it), so the
//     driver follows it with a placeholder.
type PahoC struct {
	// Pub and Sub are the programs (default: paho_c_pub and paho_c_sub from PATH).
	Pub, Sub string

	once  sync.Once
	tmp   string // holds the payload files of -f
	err   error
	files atomic.Int64
}

// pahoCDelimiter ends every message paho_c_sub prints: the driver counts them.
const pahoCDelimiter = "\n<mqttspec: end of message>\n"

// pahoCConnectTopic is the topic of OpConnect's paho_c_pub: ill-formed UTF-8 (a lone 0xFF),
// which MQTTAsync_send refuses, so that the program never publishes.
const pahoCConnectTopic = "mqttspec/\xff"

// Name implements conformance.Driver.
func (p *PahoC) Name() string { return "pahoc" }

func (p *PahoC) programs() (pub, sub string) {
	pub, sub = p.Pub, p.Sub
	if pub == "" {
		pub = "paho_c_pub"
	}
	if sub == "" {
		sub = "paho_c_sub"
	}
	return pub, sub
}

// Available reports whether both programs are installed.
func (p *PahoC) Available() error {
	pub, sub := p.programs()
	for _, prog := range []string{pub, sub} {
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Errorf("pahoc driver: %s not found (apt-get install paho.mqtt.c-examples): %w", prog, err)
		}
	}
	if _, err := exec.LookPath("stdbuf"); err != nil {
		return fmt.Errorf("pahoc driver: stdbuf not found (apt-get install coreutils): %w", err)
	}
	return nil
}

// Supports implements conformance.Driver.
func (p *PahoC) Supports(a conformance.Action) bool { return p.Why(a) == "" }

// Why implements conformance.Explainer: why the programs cannot perform the action ("" when they
// can).
func (p *PahoC) Why(a conformance.Action) string {
	hasNUL := func(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }
	switch {
	case a.Version != codec.V311 && a.Version != codec.V5:
		return "only MQTT 3.1.1 and 5.0"
	case a.KeepSession || a.SessionExpiry != 0:
		return "paho_c_pub/paho_c_sub always connect with a clean session (Clean Session / Clean Start 1, no Session Expiry Interval) and have no option to keep one"
	case a.Op == conformance.OpPublish && a.EffectiveCount() > 1:
		return "paho_c_pub -m publishes one message; its standard-input mode cannot end without publishing bytes read past the end of the input"
	case a.AuthMethod != "":
		return "paho_c_pub/paho_c_sub have no option for enhanced authentication"
	case a.Unsubscribe != nil:
		return "paho_c_sub never unsubscribes"
	case a.ReceiveMaximum != 0 || a.TopicAliasMaximum != 0 || a.MaximumPacketSize != 0:
		return "paho_c_pub/paho_c_sub have no option for the client's Receive Maximum, Topic Alias Maximum or Maximum Packet Size"
	case a.Will != nil && a.Will.Properties != nil && !a.Will.Properties.Empty():
		return "paho_c_pub/paho_c_sub have no option for Will properties"
	case a.Version != codec.V5 && a.PublishProps != nil && !a.PublishProps.Empty():
		return "5.0 properties on a 3.1.1 connection"
	case a.Op == conformance.OpPublish && a.PublishProps != nil && !pahoCProps(a.PublishProps):
		return "paho_c_pub takes only a Message Expiry Interval above 0 (--message-expiry) and one User Property (--user-property) for a PUBLISH"
	case strings.ContainsRune(a.Topic, 0) || strings.ContainsRune(a.ClientID, 0) || strings.ContainsRune(a.Username, 0) || hasNUL(a.Password):
		return "a command-line argument cannot carry a NUL byte"
	case a.Will != nil && (strings.ContainsRune(a.Will.Topic, 0) || hasNUL(a.Will.Payload)):
		return "a command-line argument cannot carry a NUL byte"
	}
	return ""
}

// pahoCProps reports whether paho_c_pub's options can carry the PUBLISH properties: a Message
// Expiry Interval above 0 (the program sets none for 0) and at most one User Property, without
// NUL bytes.
func pahoCProps(p *codec.Properties) bool {
	for _, id := range p.IDs() {
		switch id {
		case codec.PropMessageExpiry:
			if p.MessageExpiry == 0 || p.MessageExpiry > 1<<31-1 {
				return false
			}
		case codec.PropUserProperty:
		default:
			return false
		}
	}
	if len(p.User) > 1 {
		return false
	}
	for _, u := range p.User {
		if strings.ContainsRune(u.Key, 0) || strings.ContainsRune(u.Value, 0) {
			return false
		}
	}
	return true
}

// Describe implements conformance.Describer: the programs, the library version they report and
// the Debian package's version.
func (p *PahoC) Describe() string {
	pub, sub := p.programs()
	d := pub + ", " + sub
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// An unknown option prints the usage with the library information and exits 1.
	out, _ := exec.CommandContext(ctx, pub, "--version").CombinedOutput()
	var parts []string
	if v := lineWithPrefix(string(out), "Version: "); v != "" {
		parts = append(parts, "Eclipse Paho C (MQTTAsync) "+strings.TrimPrefix(v, "Version: "))
	}
	if deb, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Version}", "paho.mqtt.c-examples").Output(); err == nil && len(deb) > 0 {
		parts = append(parts, "Debian paho.mqtt.c-examples "+strings.TrimSpace(string(deb)))
	}
	if len(parts) == 0 {
		return d
	}
	return d + " (" + strings.Join(parts, ", ") + ")"
}

// pahoCRefusal reads how paho_c_pub or paho_c_sub ended: they exit 1 after "Failed to create
// client, return code: …" (the library refused the client identifier or address) or "Failed to
// start connect, return code …" (MQTTAsync_connect refused the options: a will topic, a user
// name or password that is not UTF-8, …), before connecting. Exit 1 with the usage text (an
// option the driver got wrong) or any other end is no refusal.
func pahoCRefusal(code int, output string) string {
	if code != 1 {
		return ""
	}
	if l := lineWithPrefix(output, "Failed to create client", "Failed to start connect"); l != "" {
		return "exit status 1: " + l
	}
	return ""
}

// pahoCRun is how the driver runs one program: its arguments, and when it stops it.
type pahoCRun struct {
	argv []string
	// stdin, when true, gives the program a standard input the driver holds open (OpConnect).
	stdin bool
	// After the program printed marker count times (count > 0), the driver waits then, sends
	// SIGTERM — the programs' way to stop, after which they disconnect normally — and closes
	// standard input.
	marker string
	count  int
	then   time.Duration
}

// command builds the run of an action.
func (p *PahoC) command(a conformance.Action) pahoCRun {
	pub, sub := p.programs()
	v := "311"
	if a.Version == codec.V5 {
		v = "5"
	}
	// A zero-length identifier (EmptyClientID) goes in as -i "": the library decides.
	common := []string{"-h", a.Host, "-p", strconv.Itoa(a.Port), "-V", v, "-i", a.ClientID,
		"-k", strconv.Itoa(int(a.EffectiveKeepAlive())), "-q", strconv.Itoa(int(a.QoS))}
	if a.Username != "" {
		common = append(common, "-u", a.Username)
	}
	if a.Password != nil {
		// Given without -u too: whether a password without a user name is sent is the
		// library's answer.
		common = append(common, "-P", string(a.Password))
	}
	if w := a.Will; w != nil {
		common = append(common, "--will-topic", w.Topic, "--will-payload", string(w.Payload), "--will-qos", strconv.Itoa(int(w.QoS)))
		if w.Retain {
			// pubsub_opts.c skips the argument after --will-retain.
			common = append(common, "--will-retain", "1")
		}
	}
	switch a.Op {
	case conformance.OpPublish:
		argv := append([]string{pub}, common...)
		argv = append(argv, "-t", a.Topic)
		switch {
		case len(a.Message) == 0:
			argv = append(argv, "-n")
		case bytes.IndexByte(a.Message, 0) >= 0:
			// Start writes the payload to this file; -m would end it at the NUL.
			argv = append(argv, "-f", pahoCPayloadFile)
		default:
			argv = append(argv, "-m", string(a.Message))
		}
		if a.Retain {
			argv = append(argv, "-r")
		}
		if pp := a.PublishProps; pp != nil && a.Version == codec.V5 {
			if pp.Has(codec.PropMessageExpiry) {
				argv = append(argv, "--message-expiry", strconv.FormatUint(uint64(pp.MessageExpiry), 10))
			}
			for _, u := range pp.User {
				argv = append(argv, "--user-property", u.Key, u.Value)
			}
		}
		return pahoCRun{argv: argv}
	case conformance.OpSubscribe:
		argv := append([]string{sub}, common...)
		return pahoCRun{argv: append(argv, "-t", a.Topic, "--delimiter", pahoCDelimiter), marker: pahoCDelimiter, count: a.EffectiveCount()}
	default: // OpConnect
		argv := append([]string{pub}, common...)
		// --verbose prints "Connected" when the connection is accepted: the Duration counts
		// from there. paho_c_pub never flushes that line, and standard output is a pipe, so it
		// runs under stdbuf -oL (line-buffered standard output).
		argv = append([]string{"stdbuf", "-oL"}, append(argv, "-t", pahoCConnectTopic, "--maxdatalen", "1", "--verbose")...)
		return pahoCRun{argv: argv, stdin: true, marker: "Connected\n", count: 1, then: a.Duration}
	}
}

// Start implements conformance.Driver.
func (p *PahoC) Start(ctx context.Context, a conformance.Action) (conformance.ClientProcess, error) {
	if why := p.Why(a); why != "" {
		return nil, errors.New("pahoc driver: " + why)
	}
	if err := p.Available(); err != nil {
		return nil, err
	}
	run := p.command(a)
	var payload string
	if i := slices.Index(run.argv, pahoCPayloadFile); i >= 0 {
		var err error
		if payload, err = p.payloadFile(a.Message); err != nil {
			return nil, err
		}
		run.argv[i] = payload
	}
	proc, err := startPahoC(run)
	if err != nil {
		if payload != "" {
			os.Remove(payload)
		}
		return nil, err
	}
	if payload != "" {
		go func() {
			<-proc.done
			os.Remove(payload)
		}()
	}
	proc.refusal = pahoCRefusal
	context.AfterFunc(ctx, proc.Stop)
	return proc.clientProcess(), nil
}

// pahoCPayloadFile stands, in the arguments command builds, for the file Start writes the payload
// to.
const pahoCPayloadFile = "{payload file}"

// payloadFile writes a payload to a new file under the driver's temporary directory.
func (p *PahoC) payloadFile(payload []byte) (string, error) {
	p.once.Do(func() { p.tmp, p.err = os.MkdirTemp("", "mqttspec-pahoc-") })
	if p.err != nil {
		return "", fmt.Errorf("pahoc driver: %w", p.err)
	}
	name := filepath.Join(p.tmp, "payload-"+strconv.FormatInt(p.files.Add(1), 10))
	if err := os.WriteFile(name, payload, 0o600); err != nil {
		return "", fmt.Errorf("pahoc driver: %w", err)
	}
	return name, nil
}

// Close removes the payload files.
func (p *PahoC) Close() error {
	if p.tmp == "" {
		return nil
	}
	return os.RemoveAll(p.tmp)
}

// startPahoC starts a run. It is startProcess with what paho_c_pub and paho_c_sub need besides:
// the output also goes to a counter of the run's marker, and the driver sends SIGTERM to the
// program itself (not its group) when the run says.
func startPahoC(run pahoCRun) (*process, error) {
	cmd := exec.Command(run.argv[0], run.argv[1:]...)
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &tailBuffer{max: maxOutput}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	var in io.WriteCloser
	if run.stdin {
		var err error
		if in, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	stop := func() {
		select {
		case <-time.After(run.then):
		case <-p.done:
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if in == nil {
			return
		}
		// The signal may reach one of the library's threads rather than interrupt the read of
		// standard input: closing it ends that read.
		select {
		case <-time.After(100 * time.Millisecond):
		case <-p.done:
		}
		in.Close()
	}
	var w io.Writer = out
	if run.count > 0 {
		w = io.MultiWriter(out, &markerCounter{marker: []byte(run.marker), want: run.count, reached: func() { go stop() }})
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", run.argv[0], err)
	}
	go func() {
		defer close(p.done)
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("%s: %w", run.argv[0], err)
		}
		p.err = err
	}()
	return p, nil
}

// markerCounter counts the occurrences of marker in what is written to it and calls reached once
// when there are want of them.
type markerCounter struct {
	marker  []byte
	want    int
	reached func()

	mu   sync.Mutex
	tail []byte // the end of what was written, shorter than marker
	n    int
}

func (m *markerCounter) Write(b []byte) (int, error) {
	m.mu.Lock()
	buf := append(m.tail, b...)
	before := m.n
	for {
		i := bytes.Index(buf, m.marker)
		if i < 0 {
			break
		}
		m.n++
		buf = buf[i+len(m.marker):]
	}
	if keep := len(m.marker) - 1; len(buf) > keep {
		buf = buf[len(buf)-keep:]
	}
	m.tail = append([]byte(nil), buf...)
	fire := before < m.want && m.n >= m.want && m.reached != nil
	m.mu.Unlock()
	if fire {
		m.reached()
	}
	return len(b), nil
}
