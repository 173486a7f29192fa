package netfuzz

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// ParseTarget turns tcp://host:port (or mqtt://host:port) into host:port. Fuzzing sends
// malformed traffic on purpose, so only loopback targets are accepted unless allowRemote is set.
func ParseTarget(s string, allowRemote bool) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("target %q: %w", s, err)
	}
	if u.Scheme != "tcp" && u.Scheme != "mqtt" {
		return "", fmt.Errorf("target %q: the network fuzzer speaks tcp:// (or mqtt://), not %q", s, u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" || port == "" {
		return "", fmt.Errorf("target %q: want tcp://host:port", s)
	}
	if !allowRemote {
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", fmt.Errorf("target %q is not a loopback address; fuzzing another host needs --allow-remote", s)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// runner sends inputs to one target and probes it.
type runner struct {
	addr         string
	version      codec.Version // the probe's version
	probeTimeout time.Duration
	writeTimeout time.Duration
	settle       time.Duration // how long to keep listening after the last write
	probes       int
	// username and password, when username is set, go into the probe's CONNECT (a broker
	// such as ejabberd's mod_mqtt refuses a CONNECT without a user name).
	username, password string
}

// errDial means the input could not even be sent: the target refused the connection.
var errDial = errors.New("dial")

// exec sends in on a fresh connection, reading what comes back meanwhile, and returns a
// signature of the answers (packet types and reason codes, and whether the broker closed).
func (r *runner) exec(ctx context.Context, in Input) (uint64, error) {
	d := net.Dialer{Timeout: r.probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errDial, err)
	}
	var wg sync.WaitGroup
	var sig uint64
	closed := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(closed)
		sig = signature(conn)
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for _, s := range in {
		if s.Delay > 0 {
			t := time.NewTimer(s.Delay)
			select {
			case <-ctx.Done():
			case <-closed:
			case <-t.C:
			}
			t.Stop()
		}
		if ctx.Err() != nil {
			break
		}
		conn.SetWriteDeadline(time.Now().Add(r.writeTimeout))
		if _, err := conn.Write(s.Data); err != nil {
			break // the broker closed the connection or stopped reading: the probe decides
		}
	}
	t := time.NewTimer(r.settle)
	select {
	case <-closed:
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	conn.Close()
	wg.Wait()
	return sig, ctx.Err()
}

// signature reads the broker's answers (at most 1 MiB, 64 packets) and hashes their types, the
// reason codes of CONNACK, acknowledgements and DISCONNECT, and how the connection ended.
func signature(conn net.Conn) uint64 {
	h := fnv.New64a()
	rd := codec.NewReader(io.LimitReader(conn, 1<<20), codec.Options{MaxPacketSize: 1 << 20, Lenient: true})
	for i := 0; i < 64; i++ {
		raw, err := rd.ReadRaw()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				h.Write([]byte("eof"))
			} else if !errors.Is(err, net.ErrClosed) {
				h.Write([]byte("err"))
			}
			break
		}
		t := raw[0] >> 4
		var rc byte
		hdr := headerLen(raw)
		switch codec.PacketType(t) {
		case codec.CONNACK:
			if len(raw) > hdr+1 {
				rc = raw[hdr+1]
			}
		case codec.PUBACK, codec.PUBREC, codec.PUBREL, codec.PUBCOMP:
			if len(raw) > hdr+2 {
				rc = raw[hdr+2]
			}
		case codec.DISCONNECT, codec.AUTH:
			if len(raw) > hdr {
				rc = raw[hdr]
			}
		case codec.SUBACK:
			rc = raw[len(raw)-1]
		}
		h.Write([]byte{raw[0], rc})
	}
	// Drain the rest so that the broker is never blocked on us.
	io.Copy(io.Discard, io.LimitReader(conn, 16<<20))
	return h.Sum64()
}

func headerLen(b []byte) int {
	for i := 1; i < len(b) && i < 5; i++ {
		if b[i] < 0x80 {
			return i + 1
		}
	}
	return len(b)
}

// probe checks that the broker still serves: a fresh connection, CONNECT, CONNACK, PINGREQ,
// PINGRESP, each within probeTimeout. It returns "" when alive, else Crash or Hang and what
// happened.
func (r *runner) probe(ctx context.Context) (kind, detail string) {
	r.probes++
	d := net.Dialer{Timeout: r.probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return Hang, fmt.Sprintf("probe: connect timed out after %v", r.probeTimeout)
		}
		return Crash, fmt.Sprintf("probe: %v", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	v := r.version
	if !v.Valid() {
		v = codec.V311
	}
	conn.SetDeadline(time.Now().Add(r.probeTimeout))
	w := codec.NewWriter(conn, v)
	rd := codec.NewReader(conn, codec.Options{Version: v, MaxPacketSize: 1 << 20, Lenient: true})
	cp := &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), CleanStart: true,
		ClientID: fmt.Sprintf("mqttspec-probe-%d", r.probes)}
	if r.username != "" {
		cp.UsernameFlag, cp.Username = true, r.username
		cp.PasswordFlag, cp.Password = true, []byte(r.password)
	}
	if err := w.WritePacket(cp); err != nil {
		return classify(err, "probe: send CONNECT")
	}
	for {
		p, err := rd.ReadPacket()
		if err != nil {
			return classify(err, "probe: waiting for CONNACK")
		}
		if _, ok := p.(*codec.Connack); ok {
			break
		}
	}
	conn.SetDeadline(time.Now().Add(r.probeTimeout))
	if err := w.WritePacket(&codec.Pingreq{}); err != nil {
		return classify(err, "probe: send PINGREQ")
	}
	for {
		p, err := rd.ReadPacket()
		if err != nil {
			return classify(err, "probe: waiting for PINGRESP")
		}
		if _, ok := p.(*codec.Pingresp); ok {
			break
		}
	}
	w.WritePacket(&codec.Disconnect{})
	return "", ""
}

// classify names a probe failure: a timeout is a hang, a refused or reset connection a crash.
func classify(err error, what string) (string, string) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return Hang, fmt.Sprintf("%s: no answer within the probe timeout", what)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(err.Error(), "broken pipe"):
		return Crash, fmt.Sprintf("%s: %v", what, err)
	}
	return Crash, fmt.Sprintf("%s: %v", what, err)
}

// confirm probes again after a failure: a finding is reported only if the broker is still not
// serving after a second probe, so that a momentary stall is not called a hang.
func (r *runner) confirm(ctx context.Context, kind, detail string) (string, string) {
	if kind == "" {
		return "", ""
	}
	// A refused connection needs no grace period; a silent broker gets one to catch up.
	wait := r.probeTimeout / 2
	if kind == Crash {
		wait = 10 * time.Millisecond
	}
	select {
	case <-ctx.Done():
		return "", ""
	case <-time.After(wait):
	}
	k2, d2 := r.probe(ctx)
	if k2 == "" {
		return "", ""
	}
	if k2 == Crash {
		return Crash, d2
	}
	return kind, detail
}

// waitAlive probes until the broker serves again or max passes.
func (r *runner) waitAlive(ctx context.Context, max time.Duration) bool {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if k, _ := r.probe(ctx); k == "" {
			return true
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return false
}
