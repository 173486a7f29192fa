package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/mqttspec/mqttspec/codec"
)

// Target is a broker under test: where it listens and what cannot be discovered on the wire.
type Target struct {
	Name string // label in reports ("mosquitto", "embedded")
	URL  string // tcp://host:port, tls://host:port, ws://host:port/path, wss://…

	TLSConfig *tls.Config // for tls:// and wss:// (nil: system roots; set InsecureSkipVerify for tests)

	// Credentials a case may use. With Username empty the target must accept anonymous clients.
	Username, Password string
	// BadPassword is a password the target refuses for Username (enables credential cases).
	BadPassword string
	// DeniedTopic is a topic the target's ACL denies to the credentials above (enables ACL cases).
	DeniedTopic string
	// AuthMethod is an enhanced-authentication method the target supports, with the client's
	// side of the exchange (enables AUTH cases).
	AuthMethod string
	AuthStep   func(challenge []byte) ([]byte, error)
	// AuthInitial is the Authentication Data sent in CONNECT for AuthMethod.
	AuthInitial []byte
	// NewAuth, when set, starts one client-side exchange of AuthMethod (for stateful methods
	// such as SCRAM): the initial data and the step function for that exchange only. Use
	// T.AuthExchange rather than reading the fields above directly.
	NewAuth func() (initial []byte, step func(challenge []byte) ([]byte, error), err error)
	// Restart restarts the broker, keeping persistent sessions (enables restart cases).
	Restart func(ctx context.Context) error
	// WebSocketURL is a ws:// or wss:// URL of the same broker, for the WebSocket transport cases
	// (chapter 6). When URL itself is ws(s):// it is used. Empty: those cases are skipped.
	WebSocketURL string
	// Disable lists features to treat as missing even if discovery finds them.
	Disable []Feature
	// Info carries free-form facts for the report (version strings, command lines).
	Info map[string]string
	// Nodes are the other nodes of the same cluster (--node), each a full Target with the same
	// credentials; this Target is node A. Only the cluster cases use them (cluster.go).
	Nodes []*Target
}

// transport returns the URL scheme, host:port and path.
func (tg *Target) parse() (scheme, host, path string, err error) {
	u, err := url.Parse(tg.URL)
	if err != nil {
		return "", "", "", fmt.Errorf("target %q: %w", tg.URL, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "tls", "ssl", "mqtts", "ws", "wss":
	default:
		return "", "", "", fmt.Errorf("target %q: scheme must be tcp, tls, ws or wss", tg.URL)
	}
	if u.Host == "" {
		return "", "", "", fmt.Errorf("target %q: no host:port", tg.URL)
	}
	host = u.Host
	if u.Port() == "" {
		def := map[string]string{"tcp": "1883", "mqtt": "1883", "tls": "8883", "ssl": "8883", "mqtts": "8883", "ws": "80", "wss": "443"}
		host = net.JoinHostPort(u.Hostname(), def[u.Scheme])
	}
	return u.Scheme, host, u.Path, nil
}

// Transport returns "tcp", "tls", "ws" or "wss".
func (tg *Target) Transport() string {
	s, _, _, err := tg.parse()
	if err != nil {
		return ""
	}
	switch s {
	case "mqtt":
		return "tcp"
	case "ssl", "mqtts":
		return "tls"
	}
	return s
}

// CheckURL validates the target URL without connecting.
func (tg *Target) CheckURL() error {
	_, _, _, err := tg.parse()
	return err
}

// Dial opens a new network connection to the target.
func (tg *Target) Dial(ctx context.Context) (net.Conn, error) {
	nc, err := tg.dial(ctx)
	if err != nil {
		noteRefusal(ctx, tg, err) // a target that went down (schedule_outage.go)
	}
	return nc, err
}

func (tg *Target) dial(ctx context.Context) (net.Conn, error) {
	scheme, host, path, err := tg.parse()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	switch scheme {
	case "tcp", "mqtt":
		return d.DialContext(ctx, "tcp", host)
	case "tls", "ssl", "mqtts":
		cfg := tg.tlsConfig(host)
		td := tls.Dialer{NetDialer: &d, Config: cfg}
		return td.DialContext(ctx, "tcp", host)
	case "ws", "wss":
		if path == "" {
			path = "/mqtt"
		}
		u := scheme + "://" + host + path
		opts := &websocket.DialOptions{Subprotocols: []string{"mqtt"}}
		if scheme == "wss" {
			opts.HTTPClient = wsHTTPClient(tg.tlsConfig(host))
		}
		c, resp, err := websocket.Dial(ctx, u, opts)
		if err != nil {
			return nil, fmt.Errorf("websocket %s: %w", u, err)
		}
		if resp != nil && resp.Header.Get("Sec-WebSocket-Protocol") != "mqtt" {
			c.Close(websocket.StatusProtocolError, "no mqtt subprotocol")
			return nil, fmt.Errorf("websocket %s: server did not agree to the mqtt subprotocol", u)
		}
		c.SetReadLimit(int64(codec.MaxPacketSize))
		// The connection outlives the dial context: give NetConn its own background context.
		return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
	}
	return nil, errors.New("unreachable")
}

func (tg *Target) tlsConfig(host string) *tls.Config {
	cfg := tg.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		h, _, _ := net.SplitHostPort(host)
		cfg.ServerName = h
	}
	return cfg
}

// Capabilities is what the target supports, discovered from a v5 CONNACK and the descriptor.
type Capabilities struct {
	V311, V5          bool   // the target accepts a plain CONNECT of this version
	MaximumQoS        byte   // 2 when absent
	RetainAvailable   bool   // true when absent
	WildcardAvailable bool   // true when absent
	SubIDAvailable    bool   // true when absent
	SharedAvailable   bool   // true when absent
	TopicAliasMaximum uint16 // 0 when absent
	ReceiveMaximum    uint16 // 65535 when absent
	MaximumPacketSize uint32 // 0 = no limit announced
	ServerKeepAlive   int    // -1 when absent
	// GrantedQoS is the QoS the target granted to a QoS 2 subscription of the discovery probe,
	// per version ("3.1.1", "5.0"); absent when the probe got no grant (refused, no SUBACK). A
	// 3.1.1 CONNACK announces no Maximum QoS, so this is the only way to learn that a 3.1.1
	// broker delivers at most QoS 1; MaximumQoS is lowered to the smallest grant.
	GrantedQoS map[string]byte
	// Notes are facts discovery found worth reporting that are no verdict (a v5 broker granting
	// less than the Maximum QoS its CONNACK announces).
	Notes   []string
	Missing map[Feature]string
	// Nodes are the capabilities of Target.Nodes, discovered on each node (cluster.go).
	Nodes []*Capabilities
	// lowered holds the features whose value above is lower than the target announced, because
	// the descriptor disables them or the target grants less: cases about the announced value
	// skip on them.
	lowered map[Feature]bool
}

// LoweredByDescriptor reports whether the value for f (Maximum QoS for qos1/qos2, Retain
// Available, …) is lower than the target announced, because the descriptor disables f (or, for
// Maximum QoS, because the target grants a QoS 2 subscription less than its CONNACK announces). A case
// that checks how the target enforces its own announced limit cannot run then: the target does
// not have the limit the case would assume.
func (c *Capabilities) LoweredByDescriptor(f Feature) bool { return c.lowered[f] }

// Has reports whether the feature is available.
func (c *Capabilities) Has(f Feature) bool { _, missing := c.Missing[f]; return !missing }

// Discover connects once per version to learn what the target supports.
func Discover(ctx context.Context, tg *Target, timeout time.Duration) (*Capabilities, error) {
	caps := &Capabilities{MaximumQoS: 2, RetainAvailable: true, WildcardAvailable: true, SubIDAvailable: true,
		SharedAvailable: true, ReceiveMaximum: 65535, ServerKeepAlive: -1, Missing: map[Feature]string{}}
	var firstErr error
	announcedQoS := byte(2)
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		ack, granted, err := probeConnect(ctx, tg, v, timeout, true)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("MQTT %s: %w", v, err)
			}
			continue
		}
		if ack.ReasonCode != 0 {
			if firstErr == nil {
				firstErr = fmt.Errorf("MQTT %s: CONNACK refused the probe: %s", v, ack.ReasonCode.NameFor(codec.CONNACK, v))
			}
			continue
		}
		if granted >= 0 {
			if caps.GrantedQoS == nil {
				caps.GrantedQoS = map[string]byte{}
			}
			caps.GrantedQoS[v.String()] = byte(granted)
		}
		if v == codec.V311 {
			caps.V311 = true
			continue
		}
		caps.V5 = true
		p := &ack.Properties
		if p.Has(codec.PropMaximumQoS) {
			caps.MaximumQoS = p.MaximumQoS
			announcedQoS = p.MaximumQoS
		}
		if p.Has(codec.PropRetainAvailable) {
			caps.RetainAvailable = p.RetainAvailable == 1
		}
		if p.Has(codec.PropWildcardSubAvailable) {
			caps.WildcardAvailable = p.WildcardSubAvailable == 1
		}
		if p.Has(codec.PropSubIDAvailable) {
			caps.SubIDAvailable = p.SubIDAvailable == 1
		}
		if p.Has(codec.PropSharedSubAvailable) {
			caps.SharedAvailable = p.SharedSubAvailable == 1
		}
		caps.TopicAliasMaximum = p.TopicAliasMaximum
		if p.Has(codec.PropReceiveMaximum) {
			caps.ReceiveMaximum = p.ReceiveMaximum
		}
		caps.MaximumPacketSize = p.MaximumPacketSize
		if p.Has(codec.PropServerKeepAlive) {
			caps.ServerKeepAlive = int(p.ServerKeepAlive)
		}
	}
	if !caps.V311 && !caps.V5 {
		return nil, fmt.Errorf("target %s accepts neither MQTT 3.1.1 nor 5.0: %w", tg.URL, firstErr)
	}
	miss := func(f Feature, why string) { caps.Missing[f] = why }
	qosWhy := fmt.Sprintf("CONNACK Maximum QoS is %d", caps.MaximumQoS)
	// A server may grant less than a subscription asks (MQTT-3.8.4-6 / 5.0 MQTT-3.8.4-7); a case
	// whose set-up needs a QoS 2 subscription cannot run on a target that never grants one, and
	// only the cases about grants judge the grant itself.
	for _, v := range []string{"3.1.1", "5.0"} {
		if g, ok := caps.GrantedQoS[v]; ok && g < caps.MaximumQoS {
			caps.MaximumQoS = g
			qosWhy = fmt.Sprintf("the target grants QoS %d to a QoS 2 subscription (MQTT %s SUBACK)", g, v)
		}
	}
	// Below what a v5 CONNACK announced, the lowered value is not the target's announced limit:
	// the cases about enforcing that limit must not assume it (as with a disabled feature).
	if caps.V5 && caps.MaximumQoS < announcedQoS {
		caps.lowered = map[Feature]bool{FeatureQoS2: true}
		if caps.MaximumQoS == 0 && announcedQoS > 0 {
			caps.lowered[FeatureQoS1] = true
		}
	}
	if g, ok := caps.GrantedQoS["5.0"]; ok && caps.V5 && g < announcedQoS {
		caps.Notes = append(caps.Notes, fmt.Sprintf("the CONNACK announces Maximum QoS %d but a QoS 2 subscription is granted QoS %d", announcedQoS, g))
	}
	if caps.MaximumQoS < 1 {
		miss(FeatureQoS1, qosWhy)
	}
	if caps.MaximumQoS < 2 {
		miss(FeatureQoS2, qosWhy)
	}
	if !caps.RetainAvailable {
		miss(FeatureRetain, "CONNACK Retain Available is 0")
	}
	if !caps.WildcardAvailable {
		miss(FeatureWildcard, "CONNACK Wildcard Subscription Available is 0")
	}
	if !caps.SubIDAvailable {
		miss(FeatureSubID, "CONNACK Subscription Identifier Available is 0")
	}
	if !caps.SharedAvailable {
		miss(FeatureShared, "CONNACK Shared Subscription Available is 0")
	}
	if caps.TopicAliasMaximum == 0 {
		miss(FeatureTopicAlias, "CONNACK Topic Alias Maximum is 0 or absent")
	}
	if tg.AuthMethod == "" {
		miss(FeatureEnhancedAuth, "the target descriptor names no authentication method")
	}
	if tg.Username == "" || tg.BadPassword == "" {
		miss(FeatureCredentials, "the target descriptor gives no user with a good and a bad password")
	}
	if tg.Username != "" {
		miss(FeatureAnonymous, "the target needs credentials")
	}
	if tg.DeniedTopic == "" {
		miss(FeatureDeniedTopic, "the target descriptor names no ACL-denied topic")
	}
	if tg.Restart == nil {
		miss(FeatureRestart, "the runner cannot restart this target")
	}
	if tg.WebSocketTarget() == "" {
		miss(FeatureWebSocket, "the target has no ws:// or wss:// URL (--websocket-url)")
	}
	for _, f := range tg.Disable {
		miss(f, "disabled in the target descriptor")
	}
	caps.lower(tg.Disable, caps.V5)
	return caps, nil
}

// lower makes the discovered values agree with the disabled features, so a case that reads a
// value (the QoS a subscription gets, whether a retained message is kept) assumes no more than
// the target is said to support: a disabled feature is treated exactly as if the CONNACK had
// announced its absence.
//
// announced is whether the values came from a v5 CONNACK (a property or its absence, which
// announces the default): only then can the descriptor contradict the target. A 3.1.1-only
// target announces nothing, so the descriptor is the only source and nothing counts as lowered.
func (c *Capabilities) lower(disabled []Feature, announced bool) {
	if c.lowered == nil {
		c.lowered = map[Feature]bool{}
	}
	mark := func(f Feature, changed bool) {
		if changed && announced {
			c.lowered[f] = true
		}
	}
	for _, f := range disabled {
		switch f {
		case FeatureQoS1:
			mark(FeatureQoS1, c.MaximumQoS > 0)
			mark(FeatureQoS2, c.MaximumQoS > 1)
			c.MaximumQoS = 0
			if _, ok := c.Missing[FeatureQoS2]; !ok {
				c.Missing[FeatureQoS2] = "qos1 disabled in the target descriptor"
			}
		case FeatureQoS2:
			mark(FeatureQoS2, c.MaximumQoS > 1)
			c.MaximumQoS = min(c.MaximumQoS, 1)
		case FeatureRetain:
			mark(f, c.RetainAvailable)
			c.RetainAvailable = false
		case FeatureWildcard:
			mark(f, c.WildcardAvailable)
			c.WildcardAvailable = false
		case FeatureSubID:
			mark(f, c.SubIDAvailable)
			c.SubIDAvailable = false
		case FeatureShared:
			mark(f, c.SharedAvailable)
			c.SharedAvailable = false
		case FeatureTopicAlias:
			mark(f, c.TopicAliasMaximum > 0)
			c.TopicAliasMaximum = 0
		}
	}
}

// probeConnect connects with a plain CONNECT of version v and, with grant and a CONNACK that
// accepts the connection, subscribes at QoS 2 to a topic of its own to learn the QoS the target
// grants (granted is -1 when not asked, or the SUBSCRIBE got a failure code or no SUBACK in time).
func probeConnect(ctx context.Context, tg *Target, v codec.Version, timeout time.Duration, grant bool) (ack *codec.Connack, granted int, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := tg.Dial(ctx)
	if err != nil {
		return nil, -1, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(timeout))
	id := "mqttspecprobe" + shortID()
	c := &codec.Connect{ProtocolLevel: byte(v), CleanStart: true, KeepAlive: 30, ClientID: id}
	if tg.Username != "" {
		c.UsernameFlag, c.Username = true, tg.Username
		c.PasswordFlag, c.Password = true, []byte(tg.Password)
	}
	w := codec.NewWriter(nc, v)
	r := codec.NewReader(nc, codec.Options{Version: v, MaxPacketSize: 1 << 20})
	if err := w.WritePacket(c); err != nil {
		return nil, -1, err
	}
	p, err := r.ReadPacket()
	if err != nil {
		return nil, -1, fmt.Errorf("no CONNACK: %w", err)
	}
	ack, ok := p.(*codec.Connack)
	if !ok {
		return nil, -1, fmt.Errorf("expected CONNACK, got %v", p.Type())
	}
	if ack.ReasonCode != 0 {
		return ack, -1, nil
	}
	defer func() { _ = w.WritePacket(&codec.Disconnect{}) }()
	if !grant {
		return ack, -1, nil
	}
	return ack, probeGrant(w, r, "mqttspec/probe/"+id), nil
}

// probeGrant subscribes to filter at QoS 2 and returns the granted QoS from the SUBACK, or -1.
// Packets before the SUBACK (a retained message, a v5 AUTH…) are passed over; the connection's
// deadline bounds the wait.
func probeGrant(w *codec.Writer, r *codec.Reader, filter string) int {
	if err := w.WritePacket(&codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: filter, QoS: 2}}}); err != nil {
		return -1
	}
	for range 16 {
		p, err := r.ReadPacket()
		if err != nil {
			return -1
		}
		if sa, ok := p.(*codec.Suback); ok && sa.PacketID == 1 {
			if len(sa.ReasonCodes) != 1 || sa.ReasonCodes[0] > 2 {
				return -1
			}
			return int(sa.ReasonCodes[0])
		}
	}
	return -1
}

// shortID returns 8 random alphanumeric characters (client identifiers must stay within the
// 23 characters [0-9a-zA-Z] every server accepts, MQTT-3.1.3-5).
func shortID() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b strings.Builder
	r := randUint64()
	for i := 0; i < 8; i++ {
		b.WriteByte(alphabet[r%uint64(len(alphabet))])
		r /= uint64(len(alphabet))
	}
	return b.String()
}

// WebSocketTarget returns the ws(s):// URL of the target, or "".
func (tg *Target) WebSocketTarget() string {
	if s := tg.Transport(); s == "ws" || s == "wss" {
		return tg.URL
	}
	return tg.WebSocketURL
}

// DialWebSocket opens a WebSocket to the target's ws(s):// URL offering the mqtt subprotocol and
// returns the raw WebSocket (for cases about framing); it does not check the answer.
func (tg *Target) DialWebSocket(ctx context.Context) (*websocket.Conn, error) {
	raw := tg.WebSocketTarget()
	if raw == "" {
		return nil, errors.New("the target has no WebSocket URL")
	}
	opts := &websocket.DialOptions{Subprotocols: []string{"mqtt"}}
	if strings.HasPrefix(raw, "wss:") {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, err
		}
		opts.HTTPClient = wsHTTPClient(tg.tlsConfig(u.Host))
	}
	c, _, err := websocket.Dial(ctx, raw, opts)
	if err != nil {
		noteRefusal(ctx, tg, err) // the broker behind the WebSocket URL went down
		return nil, fmt.Errorf("websocket %s: %w", raw, err)
	}
	c.SetReadLimit(int64(codec.MaxPacketSize))
	return c, nil
}
