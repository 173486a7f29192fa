// Package loadgen is the MQTT load generator behind `mqttspec bench`: publishers and subscribers
// on their own connections, a fixed measuring window, messages/s and end-to-end latency
// percentiles. It speaks MQTT through the codec package only, so the same tool measures any
// broker: the reference broker, mosquitto, mochi-mqtt.
package loadgen

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// Config describes one load run.
type Config struct {
	Target      string        // tcp://host:port (mqtt:// and a bare host:port work too)
	Version     codec.Version // MQTT version of every client; 0 = 3.1.1
	Publishers  int           // publishing connections
	Subscribers int           // subscribing connections; each receives every message
	QoS         byte          // QoS of publications and subscriptions
	Size        int           // payload size in bytes (at least 16: timestamp and sequence)
	Duration    time.Duration // measuring window
	Rate        int           // messages/s per publisher; 0 = as fast as the broker takes them
	Inflight    int           // unacknowledged QoS 1/2 messages per publisher; 0 = 64
	Topic       string        // topic prefix; "" = a random one under mqttspec/bench/
	Drain       time.Duration // wait after the window for messages still in flight; 0 = 1s
}

// Percentiles of end-to-end latency: publisher write to subscriber read.
type Percentiles struct {
	P50, P90, P99, Max time.Duration
}

// Result is what a run measured. Rates count only messages sent and received inside the window.
type Result struct {
	Config
	Elapsed  time.Duration
	Sent     uint64
	Received uint64
	SendRate float64 // messages/s written by all publishers
	RecvRate float64 // messages/s read by all subscribers
	Latency  Percentiles
	Errors   []string // connection failures during the run (the run still reports)
}

// String renders the result for people.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "target %s, MQTT %v, %d publishers, %d subscribers, QoS %d, %d-byte payloads, %v\n",
		r.Target, r.Version, r.Publishers, r.Subscribers, r.QoS, r.Size, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "sent     %10d msgs  %12.0f msgs/s\n", r.Sent, r.SendRate)
	fmt.Fprintf(&b, "received %10d msgs  %12.0f msgs/s\n", r.Received, r.RecvRate)
	fmt.Fprintf(&b, "latency  p50 %v  p90 %v  p99 %v  max %v\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error    %s\n", e)
	}
	return b.String()
}

func (c *Config) normalize() error {
	if c.Version == 0 {
		c.Version = codec.V311
	}
	if !c.Version.Valid() {
		return fmt.Errorf("loadgen: version %v", c.Version)
	}
	if c.Publishers < 1 || c.Subscribers < 0 {
		return fmt.Errorf("loadgen: need at least one publisher and no negative subscriber count")
	}
	if c.QoS > 2 {
		return fmt.Errorf("loadgen: QoS %d", c.QoS)
	}
	if c.Size < 16 {
		c.Size = 16
	}
	if c.Size > 1<<24 {
		return fmt.Errorf("loadgen: payload size %d is over 16 MB", c.Size)
	}
	if c.Duration <= 0 {
		return fmt.Errorf("loadgen: duration must be positive")
	}
	if c.Rate < 0 {
		return fmt.Errorf("loadgen: negative rate")
	}
	if c.Inflight <= 0 {
		c.Inflight = 64
	}
	if c.Inflight > 32768 {
		c.Inflight = 32768
	}
	if c.Drain <= 0 {
		c.Drain = time.Second
	}
	if c.Topic == "" {
		var r [4]byte
		rand.Read(r[:])
		c.Topic = "mqttspec/bench/" + hex.EncodeToString(r[:])
	}
	return nil
}

// Addr turns a target URL into host:port.
func Addr(target string) (string, error) {
	if !strings.Contains(target, "://") {
		target = "tcp://" + target
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("target %q: %w", target, err)
	}
	if u.Scheme != "tcp" && u.Scheme != "mqtt" {
		return "", fmt.Errorf("target %q: only tcp:// is supported by the load generator", target)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return "", fmt.Errorf("target %q: %w", target, err)
	}
	return u.Host, nil
}

// run is the shared state of one run.
type run struct {
	cfg      Config
	addr     string
	base     time.Time // timestamps in payloads are nanoseconds since base
	start    atomic.Int64
	end      atomic.Int64
	stop     chan struct{}
	sent     atomic.Uint64
	received atomic.Uint64
	mu       sync.Mutex
	hist     histogram
	errs     []string
}

func (r *run) fail(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) < 20 {
		r.errs = append(r.errs, fmt.Sprintf(format, a...))
	}
}

func (r *run) now() int64 { return int64(time.Since(r.base)) }

func (r *run) inWindow(t int64) bool {
	s := r.start.Load()
	return s != 0 && t >= s && t < r.end.Load()
}

// Run performs one load run. It returns an error only when the run could not start (bad
// configuration, no connection); failures during the run are listed in Result.Errors.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.normalize(); err != nil {
		return Result{}, err
	}
	addr, err := Addr(cfg.Target)
	if err != nil {
		return Result{}, err
	}
	r := &run{cfg: cfg, addr: addr, base: time.Now(), stop: make(chan struct{})}
	r.end.Store(1<<63 - 1)
	var subs, pubs []*client
	defer func() {
		for _, c := range append(subs, pubs...) {
			c.close()
		}
	}()
	for i := 0; i < cfg.Subscribers; i++ {
		c, err := dialClient(ctx, addr, cfg.Version, fmt.Sprintf("bench-sub-%d-%s", i, cfg.Topic[len(cfg.Topic)-8:]))
		if err != nil {
			return Result{}, err
		}
		subs = append(subs, c)
		if err := c.subscribe(cfg.Topic+"/#", cfg.QoS); err != nil {
			return Result{}, err
		}
	}
	for i := 0; i < cfg.Publishers; i++ {
		c, err := dialClient(ctx, addr, cfg.Version, fmt.Sprintf("bench-pub-%d-%s", i, cfg.Topic[len(cfg.Topic)-8:]))
		if err != nil {
			return Result{}, err
		}
		pubs = append(pubs, c)
	}
	var wg sync.WaitGroup
	for _, c := range subs {
		wg.Add(1)
		go func() { defer wg.Done(); r.subscriber(c) }()
	}
	var pwg sync.WaitGroup
	for i, c := range pubs {
		pwg.Add(1)
		go func() { defer pwg.Done(); r.publisher(c, fmt.Sprintf("%s/%d", cfg.Topic, i)) }()
	}
	start := r.now()
	r.end.Store(start + int64(cfg.Duration))
	r.start.Store(start)
	t := time.NewTimer(cfg.Duration)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	close(r.stop)
	pwg.Wait()
	// Let messages sent inside the window arrive, then close the subscribers.
	drain := time.NewTimer(cfg.Drain)
	select {
	case <-drain.C:
	case <-ctx.Done():
	}
	for _, c := range subs {
		c.close()
	}
	wg.Wait()
	elapsed := time.Duration(r.end.Load() - start)
	res := Result{Config: cfg, Elapsed: elapsed, Sent: r.sent.Load(), Received: r.received.Load(), Errors: r.errs}
	res.SendRate = float64(res.Sent) / elapsed.Seconds()
	res.RecvRate = float64(res.Received) / elapsed.Seconds()
	res.Latency = r.hist.percentiles()
	return res, ctx.Err()
}

// client is a minimal MQTT client: just what load generation needs.
type client struct {
	nc  net.Conn
	r   *codec.Reader
	v   codec.Version
	wmu sync.Mutex
	bw  *bufio.Writer
}

func dialClient(ctx context.Context, addr string, v codec.Version, id string) (*client, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: connect to %s: %w", addr, err)
	}
	c := &client{nc: nc, v: v, r: codec.NewReader(nc, codec.Options{Version: v, Sender: codec.SideServer}), bw: bufio.NewWriterSize(nc, 64<<10)}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if err := c.write(&codec.Connect{ClientID: id, CleanStart: true, KeepAlive: 600}, true); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	p, err := c.r.ReadPacket()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("loadgen: CONNACK from %s: %w", addr, err)
	}
	if ack, ok := p.(*codec.Connack); !ok || ack.ReasonCode != 0 {
		nc.Close()
		return nil, fmt.Errorf("loadgen: %s refused the connection: %v", addr, p)
	}
	nc.SetReadDeadline(time.Time{})
	return c, nil
}

func (c *client) write(p codec.Packet, flush bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, err := p.AppendTo(c.bw.AvailableBuffer(), c.v)
	if err != nil {
		return err
	}
	if _, err := c.bw.Write(b); err != nil {
		return err
	}
	if flush {
		return c.bw.Flush()
	}
	return nil
}

func (c *client) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.bw.Flush()
}

func (c *client) close() {
	c.wmu.Lock()
	d, _ := codec.Encode(&codec.Disconnect{}, c.v)
	c.bw.Write(d)
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.bw.Flush()
	c.wmu.Unlock()
	c.nc.Close()
}

func (c *client) subscribe(filter string, qos byte) error {
	if err := c.write(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: filter, QoS: qos}}}, true); err != nil {
		return err
	}
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.nc.SetReadDeadline(time.Time{})
	for {
		p, err := c.r.ReadPacket()
		if err != nil {
			return fmt.Errorf("loadgen: SUBACK: %w", err)
		}
		if ack, ok := p.(*codec.Suback); ok {
			if len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] >= 0x80 {
				return fmt.Errorf("loadgen: subscription to %s refused: %v", filter, ack)
			}
			return nil
		}
	}
}

func closedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF)
}

// subscriber reads messages, records latency and acknowledges QoS 1/2 through a writer goroutine.
func (r *run) subscriber(c *client) {
	acks := make(chan uint32, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 0, 16<<10)
		for a := range acks {
			buf = append(buf[:0], byte(a>>16), 2, byte(a>>8), byte(a))
		more:
			for len(buf) < cap(buf)-4 {
				select {
				case a, ok := <-acks:
					if !ok {
						break more
					}
					buf = append(buf, byte(a>>16), 2, byte(a>>8), byte(a))
				default:
					break more
				}
			}
			c.wmu.Lock()
			c.bw.Write(buf)
			err := c.bw.Flush()
			c.wmu.Unlock()
			if err != nil {
				for range acks {
				}
				return
			}
		}
	}()
	defer func() {
		close(acks)
		<-done
	}()
	var local histogram
	var n uint64
	defer func() {
		r.received.Add(n)
		r.mu.Lock()
		r.hist.merge(&local)
		r.mu.Unlock()
	}()
	for {
		p, err := c.r.Next()
		if err != nil {
			if !closedErr(err) {
				select {
				case <-r.stop:
				default:
					r.fail("subscriber: %v", err)
				}
			}
			return
		}
		switch p := p.(type) {
		case *codec.Publish:
			now := r.now()
			if len(p.Payload) >= 8 {
				sentAt := int64(binary.BigEndian.Uint64(p.Payload))
				if r.inWindow(now) && r.inWindow(sentAt) {
					n++
					local.record(now - sentAt)
				}
			}
			switch p.QoS {
			case 1:
				acks <- uint32(codec.PUBACK)<<20 | uint32(p.PacketID) // first byte: type<<4
			case 2:
				acks <- uint32(codec.PUBREC)<<20 | uint32(p.PacketID)
			}
		case *codec.Pubrel:
			acks <- uint32(codec.PUBCOMP)<<20 | uint32(p.PacketID)
		}
	}
}

// publisher sends messages until the run stops: QoS 0 as a stream flushed every millisecond,
// QoS 1/2 within a window of Inflight unacknowledged messages.
func (r *run) publisher(c *client, topic string) {
	cfg := &r.cfg
	payload := make([]byte, cfg.Size)
	var slots chan struct{}
	var readerDone chan struct{}
	if cfg.QoS > 0 {
		slots = make(chan struct{}, cfg.Inflight)
		for i := 0; i < cfg.Inflight; i++ {
			slots <- struct{}{}
		}
		readerDone = make(chan struct{})
		go func() {
			defer close(readerDone)
			for {
				p, err := c.r.Next()
				if err != nil {
					return
				}
				switch p := p.(type) {
				case *codec.Puback:
					slots <- struct{}{}
				case *codec.Pubrec:
					if p.ReasonCode >= 0x80 {
						slots <- struct{}{}
						continue
					}
					if c.write(&codec.Pubrel{PacketID: p.PacketID}, true) != nil {
						return
					}
				case *codec.Pubcomp:
					slots <- struct{}{}
				}
			}
		}()
	}
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Second / time.Duration(cfg.Rate)
	}
	next := time.Now()
	lastFlush := time.Now()
	var id uint16
	var seq uint64
	pub := &codec.Publish{Topic: topic, QoS: cfg.QoS, Payload: payload}
	var sent uint64
	defer func() { r.sent.Add(sent) }()
	for {
		select {
		case <-r.stop:
			c.flush()
			return
		default:
		}
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(interval)
		}
		if slots != nil {
			select {
			case <-slots:
			default:
				if c.flush() != nil {
					return
				}
				select {
				case <-slots:
				case <-r.stop:
					return
				case <-readerDone:
					r.fail("publisher %s: connection lost", topic)
					return
				}
			}
			id++
			if id == 0 {
				id = 1
			}
			pub.PacketID = id
		}
		seq++
		now := r.now()
		binary.BigEndian.PutUint64(payload[0:8], uint64(now))
		binary.BigEndian.PutUint64(payload[8:16], seq)
		flush := interval > 0 || time.Since(lastFlush) > time.Millisecond
		if err := c.write(pub, flush); err != nil {
			if !closedErr(err) {
				r.fail("publisher %s: %v", topic, err)
			}
			return
		}
		if flush {
			lastFlush = time.Now()
		}
		if r.inWindow(now) {
			sent++
		}
	}
}

// histogram is a log-linear latency histogram: 32 sub-buckets per power of two (about 3%
// resolution) over nanoseconds.
type histogram struct {
	counts [64 * 32]uint64
	n      uint64
	max    int64
}

func bucket(v int64) int {
	if v < 32 {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 6 // v>>e lands in [32, 63]
	return (e+1)*32 + int(uint64(v)>>e) - 32
}

func bucketValue(i int) int64 {
	if i < 32 {
		return int64(i)
	}
	e := i/32 - 1
	m := int64(i%32 + 32)
	return m << e
}

func (h *histogram) record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucket(v)]++
	h.n++
	h.max = max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	target := uint64(q * float64(h.n))
	var acc uint64
	for i, c := range h.counts {
		acc += c
		if acc > target {
			return time.Duration(bucketValue(i))
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) percentiles() Percentiles {
	return Percentiles{P50: h.quantile(0.50), P90: h.quantile(0.90), P99: h.quantile(0.99), Max: time.Duration(h.max)}
}
