package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/client/store"
)

// Options configure a Client. The zero value connects with MQTT 5.0, Clean Start 0, no keep
// alive and an in-memory store.
type Options struct {
	// ClientID identifies the session. Empty lets a 5.0 server assign one (see Client.ClientID);
	// 3.1.1 allows an empty identifier only with CleanStart (MQTT-3.1.3-7).
	ClientID string
	// Version is codec.V5 (the default), codec.V311 or codec.V31.
	Version codec.Version
	// CleanStart discards any session on both sides when the first connection is made (Clean
	// Session in 3.1.1). Reconnections resume the session: 5.0 sends Clean Start 0 when
	// SessionExpiry is above 0; 3.1.1 repeats CleanStart, since a session there outlives the
	// connection only without it.
	CleanStart bool
	// KeepAlive in seconds; 0 disables keep alive. A Server Keep Alive in CONNACK replaces it.
	KeepAlive uint16
	// SessionExpiry (5.0) in seconds: how long the server keeps the session after the connection
	// closes. 0xFFFFFFFF never expires.
	SessionExpiry uint32
	// Username and Password; Password is sent when non-nil.
	Username string
	Password []byte
	// Will is published by the server when the connection ends without a normal DISCONNECT.
	Will *Will
	// Store keeps the session state; nil means store.NewMemory(). The client does not close it.
	Store store.Store

	// AutoReconnect redials after a lost connection, waiting ReconnectMin, doubling up to
	// ReconnectMax (defaults 1s and 30s, with ±20% jitter).
	AutoReconnect bool
	ReconnectMin  time.Duration
	ReconnectMax  time.Duration

	// ReceiveMaximum (5.0) is how many QoS 1/2 messages the server may have unacknowledged with
	// this client; 0 sends nothing (the server assumes 65535).
	ReceiveMaximum uint16
	// MaxPacketSize is the largest packet the client accepts; 0 means the protocol maximum. In 5.0
	// it is announced to the server.
	MaxPacketSize uint32
	// TopicAliasMaximum (5.0) is the highest Topic Alias the server may use towards the client.
	TopicAliasMaximum uint16
	// UseTopicAliases (5.0) replaces repeated topic names with Topic Aliases, up to the server's
	// Topic Alias Maximum.
	UseTopicAliases bool
	// ConnectProperties are further 5.0 CONNECT properties: User Properties, Request Response
	// Information, Request Problem Information. The fields above take precedence.
	ConnectProperties codec.Properties

	// TLSConfig is used for tls:// and wss://; nil means the system roots and the URL's host.
	TLSConfig *tls.Config
	// Auth enables 5.0 enhanced authentication.
	Auth *Auth
	// Dialer replaces the transport dial (for tests and custom transports); it returns a
	// connection to the server named by the URL.
	Dialer func(ctx context.Context, u *url.URL) (net.Conn, error)

	// OnConnect runs after every successful CONNACK, on the goroutine that connected.
	OnConnect func(c *Client, ack *codec.Connack)
	// OnConnectionLost runs when an established connection ends other than by Disconnect.
	OnConnectionLost func(c *Client, err error)
	// OnMessage receives messages that match no subscription of this Client (for example those
	// a persistent session delivers before Subscribe is called again).
	OnMessage Handler

	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// DialTimeout bounds the transport dial plus the CONNECT/CONNACK exchange (default 10s).
	DialTimeout time.Duration
	// WriteTimeout bounds each write to the connection (default 30s).
	WriteTimeout time.Duration
	// Trace, when set, sees every packet in the order it is written ("send") or read ("recv").
	// It is called from the client's reading and writing goroutines, possibly at the same time,
	// and must not block or call the Client.
	Trace func(dir string, p codec.Packet)
}

// Trace directions.
const (
	TraceSend = "send"
	TraceRecv = "recv"
)

// Will is the message the server publishes when the connection ends abnormally.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// Properties are the 5.0 Will Properties (Will Delay Interval, Message Expiry, Content Type,
	// Response Topic, Correlation Data, User Properties).
	Properties codec.Properties
}

// Auth is a 5.0 enhanced authentication method.
type Auth struct {
	// Method is the Authentication Method, e.g. "SCRAM-SHA-256".
	Method string
	// Data is the Authentication Data sent in CONNECT (and in AUTH when re-authenticating).
	Data []byte
	// Respond answers the server's challenge (the Authentication Data of an AUTH with reason
	// 0x18) with the data for the client's next AUTH. An error ends the exchange.
	Respond func(challenge []byte) ([]byte, error)
}

// Handler receives a message. Handlers run one at a time on the client's delivery goroutine; the
// message's acknowledgement is sent when the handler returns.
type Handler func(m *Message)

// Message is an application message, published or received.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// Properties are the 5.0 PUBLISH properties. On Publish the client manages Topic Alias
	// itself and a Subscription Identifier is refused (MQTT-3.3.4-6).
	Properties codec.Properties
	// Dup and PacketID are set on received messages.
	Dup      bool
	PacketID uint16
}

const (
	defaultDialTimeout  = 10 * time.Second
	defaultWriteTimeout = 30 * time.Second
	defaultReconnectMin = time.Second
	defaultReconnectMax = 30 * time.Second
)

// normalize fills defaults and rejects options that would make the client break the protocol.
func (o Options) normalize() (Options, error) {
	if o.Version == codec.VersionUnknown {
		o.Version = codec.V5
	}
	if !o.Version.Valid() {
		return o, fmt.Errorf("client: unsupported MQTT version %d", byte(o.Version))
	}
	v5 := o.Version == codec.V5
	if o.ClientID == "" && !o.CleanStart && !v5 {
		return o, errors.New("client: MQTT 3.1.1 needs a client identifier unless CleanStart is set (MQTT-3.1.3-7)")
	}
	if !codec.ValidUTF8(o.ClientID) || len(o.ClientID) > 65535 {
		return o, errors.New("client: the client identifier is not a valid MQTT UTF-8 string (MQTT-3.1.3-4)")
	}
	if !codec.ValidUTF8(o.Username) || len(o.Username) > 65535 {
		return o, errors.New("client: the user name is not a valid MQTT UTF-8 string (MQTT-3.1.3-12)")
	}
	if len(o.Password) > 65535 {
		return o, errors.New("client: the password is longer than 65535 bytes")
	}
	if !v5 && o.Password != nil && o.Username == "" {
		return o, errors.New("client: MQTT 3.1.1 sends a password only together with a user name (MQTT-3.1.2-22)")
	}
	if w := o.Will; w != nil {
		if !codec.ValidTopicName(w.Topic) {
			return o, fmt.Errorf("client: will topic %q is not a valid topic name", w.Topic)
		}
		if w.QoS > 2 {
			return o, fmt.Errorf("client: will QoS %d (must be 0, 1 or 2; MQTT-3.1.2-12)", w.QoS)
		}
		if len(w.Payload) > 65535 {
			return o, errors.New("client: the will payload is longer than 65535 bytes")
		}
	}
	if !v5 {
		switch {
		case o.SessionExpiry != 0:
			return o, errors.New("client: SessionExpiry needs MQTT 5.0")
		case o.Auth != nil:
			return o, errors.New("client: enhanced authentication needs MQTT 5.0")
		case o.ReceiveMaximum != 0, o.TopicAliasMaximum != 0, o.UseTopicAliases:
			return o, errors.New("client: ReceiveMaximum and topic aliases need MQTT 5.0")
		}
	}
	if o.Auth != nil && o.Auth.Method == "" {
		return o, errors.New("client: Auth needs a Method")
	}
	if o.MaxPacketSize > codec.MaxPacketSize {
		o.MaxPacketSize = codec.MaxPacketSize
	}
	if o.Store == nil {
		o.Store = store.NewMemory()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = defaultDialTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = defaultReconnectMin
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = defaultReconnectMax
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = o.ReconnectMin
	}
	return o, nil
}

// DisconnectOptions shape a Disconnect.
type DisconnectOptions struct {
	// Reason is the 5.0 DISCONNECT reason code (0 Normal disconnection).
	Reason codec.ReasonCode
	// KeepWill asks the server to publish the Will anyway: 5.0 sends reason 0x04 (Disconnect with
	// Will Message); 3.1.1, where any DISCONNECT discards the Will, closes without DISCONNECT.
	KeepWill bool
	// SessionExpiry (5.0) replaces the session expiry interval when non-nil. It cannot turn a
	// session that had 0 in CONNECT into one that persists (MQTT-3.14.2-2 makes that a Protocol Error).
	SessionExpiry *uint32
	// ReasonString and User are 5.0 DISCONNECT properties.
	ReasonString string
	User         []codec.UserProperty
}

// RequestOption adds a 5.0 property to a SUBSCRIBE or UNSUBSCRIBE.
type RequestOption func(p *codec.Properties)

// WithUserProperty adds a User Property to the request.
func WithUserProperty(key, value string) RequestOption {
	return func(p *codec.Properties) { p.AddUser(key, value) }
}

// WithSubscriptionID sets the Subscription Identifier of a SUBSCRIBE (1 to 268,435,455).
func WithSubscriptionID(id uint32) RequestOption {
	return func(p *codec.Properties) { p.SubscriptionIDs = []uint32{id} }
}
