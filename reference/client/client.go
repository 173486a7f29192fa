package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/client/store"
)

// Client is a connection to an MQTT server that survives reconnections. It is safe for
// concurrent use.
type Client struct {
	opts  Options
	url   *url.URL
	log   *slog.Logger
	store store.Store

	ctx    context.Context // canceled by Disconnect or when the client gives up
	cancel context.CancelFunc
	wg     sync.WaitGroup // manager, delivery, and the current connection's goroutines
	done   chan struct{}

	mu       sync.Mutex
	cn       *conn // nil while disconnected
	gen      uint64
	closed   bool
	closeErr error
	clientID string
	limits   serverLimits // of the last CONNACK, for checks while disconnected
	connects int

	flows   map[uint16]*flow // outgoing packet identifiers in use
	nextID  uint16
	idWait  chan struct{} // closed when an identifier is released and someone waits
	pending []*flow       // QoS 1/2 PUBLISH waiting for send quota, in order
	quota   int
	seq     uint64
	inQoS2  map[uint16]bool // incoming QoS 2 identifiers awaiting PUBREL (mirrors the store)

	subsMu   sync.RWMutex
	subs     map[string]*subscription
	subOrder []string

	dq *deliveryQueue
}

type subscription struct {
	sub     codec.Subscription
	props   *codec.Properties // shared by the subscriptions of one Subscribe; nil when none
	match   string            // the filter without a $share/group/ prefix
	handler Handler
}

// Dial connects to the server at rawURL and returns once the server accepted the connection. A
// refusing CONNACK comes back as a *ConnackError. AutoReconnect applies only after this first
// connection succeeded. Options the client refuses, because they would make it break the
// protocol, fail before any connection with an error that is ErrInvalidOptions.
func Dial(ctx context.Context, rawURL string, o Options) (*Client, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if u.User != nil && o.Username == "" {
		o.Username = u.User.Username()
		if pw, ok := u.User.Password(); ok && o.Password == nil {
			o.Password = []byte(pw)
		}
	}
	o, err = o.normalize()
	if err != nil {
		return nil, optionsError{err}
	}
	c := &Client{
		opts: o, url: u, log: o.Logger, store: o.Store, clientID: o.ClientID,
		done: make(chan struct{}), flows: make(map[uint16]*flow), inQoS2: make(map[uint16]bool),
		subs: make(map[string]*subscription),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := c.loadSession(); err != nil {
		c.cancel()
		return nil, err
	}
	c.dq = newDeliveryQueue()
	cn, err := c.connect(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.wg.Add(2)
	go c.deliver()
	go c.manage(cn)
	go func() {
		c.wg.Wait()
		close(c.done)
	}()
	return c, nil
}

// loadSession reads the store: with CleanStart it is emptied (MQTT-3.1.2-4), otherwise its
// flows become the client's in-flight state.
func (c *Client) loadSession() error {
	if c.opts.CleanStart {
		return c.store.Reset()
	}
	entries, err := c.store.Entries()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Version != c.opts.Version {
			return fmt.Errorf("client: the store holds a session of MQTT %v, the client speaks %v (use CleanStart or another store)", e.Version, c.opts.Version)
		}
		p, _, err := codec.Decode(e.Version, e.Packet)
		if err != nil {
			return fmt.Errorf("client: store entry %v %d: %w", e.Dir, e.ID, err)
		}
		if e.Dir == store.Incoming {
			c.inQoS2[e.ID] = true
			continue
		}
		c.seq++
		f := &flow{id: e.ID, kind: kindPublish, raw: e.Packet, seq: c.seq, done: make(chan struct{})}
		switch p := p.(type) {
		case *codec.Publish:
			if p.QoS == 0 || p.PacketID != e.ID {
				return fmt.Errorf("client: store entry %v %d holds %v", e.Dir, e.ID, p)
			}
			f.pub, f.qos, f.state = p, p.QoS, stQueued
			// It may have been sent before the process ended: a resend carries DUP.
			f.sent = true
		case *codec.Pubrel:
			f.qos, f.state = 2, stWaitComp
		default:
			return fmt.Errorf("client: store entry %v %d holds %v, not PUBLISH or PUBREL", e.Dir, e.ID, p)
		}
		c.flows[e.ID] = f
	}
	return nil
}

// cleanStart is the Clean Start flag of the next CONNECT.
func (c *Client) cleanStart() bool {
	if c.connects == 0 || c.opts.Version != codec.V5 {
		return c.opts.CleanStart
	}
	return c.opts.SessionExpiry == 0 && c.opts.CleanStart
}

func (c *Client) connectPacket(clean bool) *codec.Connect {
	o := &c.opts
	cp := &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(o.Version), CleanStart: clean, KeepAlive: o.KeepAlive, ClientID: c.clientID}
	if o.Version == codec.V31 {
		cp.ProtocolName = "MQIsdp"
	}
	if o.Version == codec.V5 {
		cp.Properties = o.ConnectProperties
		cp.Properties.User = append([]codec.UserProperty(nil), o.ConnectProperties.User...)
		if o.SessionExpiry != 0 {
			cp.Properties.SetSessionExpiry(o.SessionExpiry)
		}
		if o.ReceiveMaximum != 0 {
			cp.Properties.SetReceiveMaximum(o.ReceiveMaximum)
		}
		if o.MaxPacketSize != 0 {
			cp.Properties.SetMaximumPacketSize(o.MaxPacketSize)
		}
		if o.TopicAliasMaximum != 0 {
			cp.Properties.SetTopicAliasMaximum(o.TopicAliasMaximum)
		}
		if o.Auth != nil {
			cp.Properties.SetAuthMethod(o.Auth.Method)
			if o.Auth.Data != nil {
				cp.Properties.SetAuthData(o.Auth.Data)
			}
		}
	}
	if w := o.Will; w != nil {
		cp.WillFlag = true
		cp.Will = codec.Will{QoS: w.QoS, Retain: w.Retain, Topic: w.Topic, Payload: w.Payload}
		if o.Version == codec.V5 {
			cp.Will.Properties = w.Properties
		}
	}
	if o.Username != "" {
		cp.UsernameFlag, cp.Username = true, o.Username
	}
	if o.Password != nil {
		cp.PasswordFlag, cp.Password = true, o.Password
	}
	return cp
}

// connect dials, runs the CONNECT/CONNACK exchange, and installs the connection.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel) // Disconnect interrupts a connection attempt
	defer stop()

	c.mu.Lock()
	clean := c.cleanStart()
	cp := c.connectPacket(clean)
	c.mu.Unlock()

	var nc net.Conn
	var err error
	if c.opts.Dialer != nil {
		nc, err = c.opts.Dialer(ctx, c.url)
	} else {
		nc, err = dialTransport(ctx, c.url, c.opts.TLSConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("client: connect to %s: %w", c.url.Redacted(), err)
	}
	ack, r, err := c.handshake(ctx, nc, cp)
	if err != nil {
		nc.Close()
		return nil, err
	}
	lim := limitsFrom(ack, c.opts.Version, c.opts.KeepAlive)
	cn := &conn{c: c, nc: nc, version: c.opts.Version, limits: lim, r: r, dead: make(chan struct{}),
		stopped: make(chan struct{}), inAliases: make(map[uint16]string), inUnacked: make(map[uint16]struct{})}
	cn.w = newWriter(nc, c.opts.Version, c.opts.WriteTimeout, c.opts.Trace, &cn.lastSent)
	aliasMax := uint16(0)
	if c.opts.UseTopicAliases {
		aliasMax = lim.aliasMax // MQTT-3.2.2-17/18: never above what the server allows
	}
	cn.w.setLimits(lim.maxPacket, aliasMax)

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		nc.Close()
		return nil, ErrClosed
	}
	if clean && lim.sessionLeft {
		c.mu.Unlock()
		// MQTT-3.2.2-4: a client without session state must close on Session Present 1.
		pe := protocolErrorf(codec.ReasonProtocolError, "CONNACK has Session Present 1 after a CONNECT with Clean Start 1 [MQTT-3.2.2-4]")
		if c.opts.Version == codec.V5 {
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			d := &codec.Disconnect{ReasonCode: disconnectCode(pe.Reason)}
			if c.opts.Trace != nil {
				c.opts.Trace(TraceSend, d)
			}
			b, _ := d.AppendTo(nil, codec.V5)
			nc.Write(b)
		}
		nc.Close()
		return nil, fmt.Errorf("client: connect to %s: %w", c.url.Redacted(), pe)
	}
	c.connects++
	c.gen++
	cn.gen = c.gen
	c.cn = cn
	c.limits = lim
	if lim.assignedID != "" {
		c.clientID = lim.assignedID // used to resume the session on reconnection
	}
	cn.start()
	c.resumeSession(cn, lim.sessionLeft)
	c.mu.Unlock()

	c.log.Info("connected", "url", c.url.Redacted(), "client_id", c.ClientID(), "session_present", ack.SessionPresent,
		"keep_alive", lim.keepAlive)
	if c.opts.OnConnect != nil {
		c.opts.OnConnect(c, ack)
	}
	return cn, nil
}

// handshake sends CONNECT and reads until CONNACK, answering AUTH challenges on the way.
func (c *Client) handshake(ctx context.Context, nc net.Conn, cp *codec.Connect) (*codec.Connack, *codec.Reader, error) {
	v := c.opts.Version
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	// Cancelling ctx interrupts the exchange; once it is over, a late cancel must not touch the
	// connection that is handed on.
	var mu sync.Mutex
	over := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		if !over {
			nc.SetDeadline(time.Unix(1, 0))
		}
		mu.Unlock()
	})
	defer func() {
		stop()
		mu.Lock()
		over = true
		mu.Unlock()
		nc.SetDeadline(time.Time{})
	}()
	fail := func(err error) error {
		if ctx.Err() == nil {
			// The connection's deadline is the context's: it may fire a moment before the
			// context reports it.
			var ne net.Error
			if dl, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Add(10*time.Millisecond).Before(dl) {
				return fmt.Errorf("client: connect to %s: %w", c.url.Redacted(), context.DeadlineExceeded)
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("client: connect to %s: %w", c.url.Redacted(), ctx.Err())
		}
		return fmt.Errorf("client: connect to %s: %w", c.url.Redacted(), err)
	}
	send := func(p codec.Packet) error {
		b, err := p.AppendTo(nil, v)
		if err != nil {
			return err
		}
		if c.opts.Trace != nil {
			c.opts.Trace(TraceSend, p)
		}
		_, err = nc.Write(b)
		return err
	}
	if err := send(cp); err != nil { // MQTT-3.1.0-1: CONNECT is the first packet
		return nil, nil, fail(fmt.Errorf("send CONNECT: %w", err))
	}
	r := codec.NewReader(nc, codec.Options{Version: v, MaxPacketSize: int(c.opts.MaxPacketSize), Sender: codec.SideServer})
	for {
		p, err := r.ReadPacket()
		if err != nil {
			var ce *codec.Error
			if errors.As(err, &ce) && v == codec.V5 {
				send(&codec.Disconnect{ReasonCode: disconnectCode(ce.Reason)})
				return nil, nil, fail(&ProtocolError{Reason: ce.Reason, Err: err})
			}
			return nil, nil, fail(fmt.Errorf("waiting for CONNACK: %w", err))
		}
		if c.opts.Trace != nil {
			c.opts.Trace(TraceRecv, p)
		}
		var pe *ProtocolError
		switch p := p.(type) {
		case *codec.Connack:
			if p.ReasonCode != 0 {
				// MQTT-4.13.2-1: the connection closes after a refusing CONNACK.
				return nil, nil, &ConnackError{Version: v, Code: p.ReasonCode, ReasonString: p.Properties.ReasonString,
					ServerReference: p.Properties.ServerReference}
			}
			if c.opts.Auth != nil && p.Properties.Has(codec.PropAuthMethod) && p.Properties.AuthMethod != c.opts.Auth.Method {
				pe = protocolErrorf(codec.ReasonProtocolError, "CONNACK Authentication Method %q differs from %q [MQTT-4.12.0-5]",
					p.Properties.AuthMethod, c.opts.Auth.Method)
				break
			}
			if c.opts.Auth == nil && p.Properties.Has(codec.PropAuthMethod) {
				pe = protocolErrorf(codec.ReasonProtocolError, "CONNACK has an Authentication Method but CONNECT had none")
				break
			}
			return p, r, nil
		case *codec.Auth:
			if pe = c.answerAuth(p, send); pe == nil {
				continue
			}
		default:
			pe = protocolErrorf(codec.ReasonProtocolError, "%v before CONNACK", p.Type())
		}
		if v == codec.V5 {
			send(&codec.Disconnect{ReasonCode: disconnectCode(pe.Reason)})
		}
		return nil, nil, fail(pe)
	}
}

// answerAuth handles an AUTH from the server during CONNECT or re-authentication.
func (c *Client) answerAuth(p *codec.Auth, send func(codec.Packet) error) *ProtocolError {
	a := c.opts.Auth
	switch {
	case a == nil:
		return protocolErrorf(codec.ReasonProtocolError, "AUTH from the server, but CONNECT had no Authentication Method")
	case p.Properties.AuthMethod != a.Method:
		return protocolErrorf(codec.ReasonProtocolError, "AUTH Authentication Method %q differs from %q [MQTT-4.12.0-5]",
			p.Properties.AuthMethod, a.Method)
	case p.ReasonCode != codec.ReasonContinueAuthentication:
		return protocolErrorf(codec.ReasonProtocolError, "AUTH with reason 0x%02X where 0x18 Continue authentication was expected", byte(p.ReasonCode))
	case a.Respond == nil:
		return protocolErrorf(codec.ReasonNotAuthorized, "the server sent an authentication challenge and Auth.Respond is nil")
	}
	resp, err := a.Respond(p.Properties.AuthData)
	if err != nil {
		return &ProtocolError{Reason: codec.ReasonNotAuthorized, Err: fmt.Errorf("authentication: %w", err)}
	}
	out := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication} // MQTT-4.12.0-3
	out.Properties.SetAuthMethod(a.Method)
	if resp != nil {
		out.Properties.SetAuthData(resp)
	}
	if err := send(out); err != nil {
		return &ProtocolError{Reason: codec.ReasonUnspecifiedError, Err: err}
	}
	return nil
}

// manage waits for each connection to end and reconnects, until Disconnect or giving up.
func (c *Client) manage(cn *conn) {
	defer c.wg.Done()
	for {
		<-cn.dead
		cn.wg.Wait()
		close(cn.stopped)
		err := cn.err
		c.mu.Lock()
		if c.cn == cn {
			c.cn = nil
		}
		closing := c.closed
		c.connectionEnded(lost(err))
		c.mu.Unlock()
		if closing {
			return
		}
		c.log.Warn("connection lost", "err", err)
		if c.opts.OnConnectionLost != nil {
			c.opts.OnConnectionLost(c, err)
		}
		if !c.opts.AutoReconnect {
			c.shutdown(lost(err))
			return
		}
		if cn = c.reconnect(); cn == nil {
			c.shutdown(ErrClosed)
			return
		}
	}
}

// reconnect dials with exponential backoff until it succeeds or the client is closed.
func (c *Client) reconnect() *conn {
	delay := c.opts.ReconnectMin
	for attempt := 1; ; attempt++ {
		jitter := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		t := time.NewTimer(jitter)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		cn, err := c.connect(c.ctx)
		if err == nil {
			return cn
		}
		if c.ctx.Err() != nil {
			return nil
		}
		c.log.Warn("reconnect failed", "attempt", attempt, "err", err)
		delay = min(delay*2, c.opts.ReconnectMax)
	}
}

// shutdown ends the client after its connection is gone for good.
func (c *Client) shutdown(err error) {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.closeErr = err
	}
	c.failAll(c.closeErr)
	c.mu.Unlock()
	c.cancel()
}

// Disconnect ends the session's connection normally: the server discards the Will. It waits for
// queued packets to be written (bounded by ctx) and for the network goroutines to end; message
// handlers may still be running (see Done).
func (c *Client) Disconnect(ctx context.Context) error {
	return c.DisconnectWith(ctx, DisconnectOptions{})
}

// DisconnectWith is Disconnect with a reason code, Will handling and 5.0 properties.
func (c *Client) DisconnectWith(ctx context.Context, o DisconnectOptions) error {
	v5 := c.opts.Version == codec.V5
	d := &codec.Disconnect{ReasonCode: o.Reason}
	if v5 {
		if o.KeepWill {
			d.ReasonCode = codec.ReasonDisconnectWithWill
		}
		if !d.ReasonCode.ValidFor(codec.DISCONNECT) {
			return fmt.Errorf("client: 0x%02X is not a DISCONNECT reason code", byte(d.ReasonCode))
		}
		if o.SessionExpiry != nil {
			if c.opts.SessionExpiry == 0 && *o.SessionExpiry != 0 {
				return errors.New("client: a session that had Session Expiry 0 in CONNECT cannot be given one on DISCONNECT (MQTT-3.14.2-2)")
			}
			d.Properties.SetSessionExpiry(*o.SessionExpiry)
		}
		if o.ReasonString != "" {
			d.Properties.SetReasonString(o.ReasonString)
		}
		d.Properties.User = o.User
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	c.closeErr = ErrClosed
	cn := c.cn
	c.mu.Unlock()
	c.cancel() // stops reconnection attempts and the delivery goroutine

	var err error
	if cn != nil {
		if v5 || !o.KeepWill {
			if err = cn.w.send(d); err == nil {
				err = cn.w.drain(ctx)
			}
		}
		cn.fail(ErrClosed) // MQTT-3.14.4-2: close the connection after DISCONNECT
		select {
		case <-cn.stopped:
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
		}
	}
	c.mu.Lock()
	c.failAll(ErrClosed)
	c.mu.Unlock()
	return err
}

// Done is closed when every goroutine of the client has ended, after Disconnect or after the
// client gave up reconnecting.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client stopped (ErrClosed after Disconnect), or nil while it runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		return nil
	}
	return c.closeErr
}

// ClientID returns the client identifier in use: the one given in Options, or the one the
// server assigned (5.0 Assigned Client Identifier).
func (c *Client) ClientID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clientID
}

// Connected reports whether a connection is established right now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cn != nil
}

// Version returns the protocol version the client speaks.
func (c *Client) Version() codec.Version { return c.opts.Version }
