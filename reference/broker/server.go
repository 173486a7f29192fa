package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/topics"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Close.
var ErrServerClosed = errors.New("broker: server closed")

// subscriptionTree is the subscription tree as the server uses it: a *topics.Tree, reached through
// an interface so that rules can wrap it and alter its answers (rules.wrapTree).
type subscriptionTree interface {
	Subscribe(k *session, filter string, o topics.Options) (existed bool)
	SubscribeShared(k *session, share, filter string, o topics.Options) (existed bool)
	Unsubscribe(k *session, filter string) bool
	UnsubscribeShared(k *session, share, filter string) bool
	Match(topic string, prefer func(*session) bool, out []topics.Match[*session]) []topics.Match[*session]
	PickShared(share, filter string, prefer func(*session) bool) (topics.Match[*session], bool)
	All(out []topics.Match[*session]) []topics.Match[*session]
	Len() int
}

// Server is an MQTT broker. Its methods are safe for concurrent use.
type Server struct {
	opts  Options
	cfg   settings
	rules rules // where this server departs from the specification: nowhere by default
	log   *slog.Logger

	tree     subscriptionTree
	retained retainedStore

	mu        sync.Mutex
	sessions  map[string]*session
	conns     map[*conn]struct{}
	listeners map[io.Closer]struct{}
	closed    bool
	wg        sync.WaitGroup // accept loops, connections, timer callbacks

	connected atomic.Int64 // connections past CONNACK, for MaxConnections
	nextConn  atomic.Uint64
}

// New returns a Server configured by o, or an error naming the first bad option.
func New(o Options) (*Server, error) {
	cfg, err := o.settings()
	if err != nil {
		return nil, fmt.Errorf("broker options: %w", err)
	}
	rules, err := newRules(o.Faults)
	if err != nil {
		return nil, fmt.Errorf("broker options: %w", err)
	}
	for name, m := range o.AuthMethods {
		if name == "" || m == nil {
			return nil, fmt.Errorf("broker options: auth method %q is empty", name)
		}
	}
	for i, r := range o.ACL {
		if r.Access == 0 || r.Access > AccessReadWrite {
			return nil, fmt.Errorf("broker options: ACL rule %d (%q) has no valid access", i+1, r.Topic)
		}
		if !codec.ValidTopicFilter(r.Topic, codec.V311) {
			return nil, fmt.Errorf("broker options: ACL rule %d: %q is not a valid topic filter", i+1, r.Topic)
		}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:      o,
		cfg:       cfg,
		rules:     rules,
		log:       log,
		tree:      rules.wrapTree(topics.New[*session]()),
		retained:  rules.wrapRetained(&retainStore{m: make(map[string]*message)}),
		sessions:  make(map[string]*session),
		conns:     make(map[*conn]struct{}),
		listeners: make(map[io.Closer]struct{}),
	}
	if len(o.Faults) > 0 {
		log.Warn("broker running with deliberate specification violations", "faults", o.Faults)
	}
	return s, nil
}

// Serve accepts connections on l until Close is called or l fails. It returns ErrServerClosed
// after Close.
func (s *Server) Serve(l net.Listener) error {
	if !s.addListener(l) {
		l.Close()
		return ErrServerClosed
	}
	defer s.removeListener(l)
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if retryableAccept(err) {
				// Out of file descriptors or similar: wait and retry rather than spin or give up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed, retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("broker: accept on %v: %w", l.Addr(), err)
		}
		backoff = 0
		if !s.goTracked(func() { s.serve(nc) }) {
			nc.Close()
			return ErrServerClosed
		}
	}
}

// retryableAccept reports whether an Accept error is transient: the listener stays usable.
func retryableAccept(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// ServeConn serves one connection (any net.Conn: a net.Pipe end from a fuzzer, a WebSocket) and
// returns when it has been closed.
func (s *Server) ServeConn(nc net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	s.serve(nc)
}

// Close stops the listeners, disconnects every client (v5 clients get DISCONNECT 0x8B Server
// shutting down), cancels pending wills and session expiries, and waits for every goroutine the
// server started. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	ls := make([]io.Closer, 0, len(s.listeners))
	for l := range s.listeners {
		ls = append(ls, l)
	}
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	var errs []error
	for _, l := range ls {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	var kicks sync.WaitGroup
	for _, c := range cs {
		kicks.Add(1)
		go func() {
			defer kicks.Done()
			c.kick(codec.ReasonServerShuttingDown, causeShutdown)
		}()
	}
	kicks.Wait()
	s.wg.Wait()
	s.mu.Lock()
	for _, ss := range s.sessions {
		ss.stopTimers()
	}
	s.mu.Unlock()
	return errors.Join(errs...)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) addListener(l io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) removeListener(l io.Closer) {
	s.mu.Lock()
	delete(s.listeners, l)
	s.mu.Unlock()
}

// goTracked runs f in a goroutine Close waits for; it returns false once the server is closed.
func (s *Server) goTracked(f func()) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// afterFunc is time.AfterFunc whose callback Close waits for and which never runs after Close.
func (s *Server) afterFunc(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, func() {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		defer s.recoverPanic("timer")
		f()
	})
}

// recoverPanic turns a panic in a broker goroutine into an error log: a bug costs at most the
// work at hand, never the broker.
func (s *Server) recoverPanic(where string) {
	if r := recover(); r != nil {
		s.log.Error("panic recovered", "in", where, "panic", r, "stack", string(debug.Stack()))
	}
}

func (s *Server) trackConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrackConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// assignClientID returns an identifier no session uses (MQTT-3.2.2-16).
func (s *Server) assignClientID() string {
	for {
		var b [12]byte
		rand.Read(b[:])
		id := "mqttspec-" + hex.EncodeToString(b[:])
		s.mu.Lock()
		_, used := s.sessions[id]
		s.mu.Unlock()
		if !used {
			return id
		}
	}
}

// Stats is a snapshot of the broker's state, for tests and benchmarks.
type Stats struct {
	Connections   int // open network connections
	Connected     int // connections whose CONNECT passed validation (counted for MaxConnections)
	Sessions      int // sessions, online and offline
	Subscriptions int
	Retained      int
}

// Stats returns a snapshot of the broker's state.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Connections: len(s.conns), Sessions: len(s.sessions)}
	s.mu.Unlock()
	st.Connected = int(s.connected.Load())
	st.Subscriptions = s.tree.Len()
	st.Retained = s.retained.size()
	return st
}

// ListenAndServe listens on rawURL — tcp://host:port (also mqtt://), tls://host:port (also
// mqtts://, ssl://), ws://host:port/path or wss://host:port/path — and serves it in the
// background until ctx is cancelled or the server is closed. It returns the bound address, so
// port 0 picks a free port.
func (s *Server) ListenAndServe(ctx context.Context, rawURL string) (net.Addr, error) {
	return s.listen(ctx, rawURL)
}
