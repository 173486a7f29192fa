package broker

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// Options configure a Server. The zero value is a fully featured broker that follows the
// specification exactly: anonymous clients, every optional feature available, no packet size
// limit beyond the protocol's.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger

	// MaxConnections limits concurrent client connections (0 = unlimited). A client over the
	// limit gets CONNACK 0x97 Quota exceeded (v5) or 0x03 Server unavailable (3.1.1).
	MaxConnections int
	// MaxPacketSize is the largest packet the broker accepts, announced to v5 clients as Maximum
	// Packet Size (0 = the protocol maximum, not announced). Bigger packets get DISCONNECT 0x95.
	MaxPacketSize uint32
	// MaxInflight is the v5 Receive Maximum the broker announces: QoS 1 and 2 publications a
	// client may have unacknowledged towards the broker. It is also the outbound window for
	// 3.1/3.1.1 clients, which have no Receive Maximum of their own. 0 = 256.
	MaxInflight uint16
	// MaxQueued limits the QoS 1/2 messages waiting in one session (offline, or online beyond
	// the client's window) and the QoS 0 messages waiting to be written to one connection;
	// further messages are dropped. 0 = 1000.
	MaxQueued int
	// ConnectTimeout bounds the time from accepting a connection to a complete CONNECT (and any
	// enhanced authentication exchange). 0 = 10s.
	ConnectTimeout time.Duration
	// WriteTimeout bounds each write to a client; a client that does not read is disconnected.
	// 0 = 30s.
	WriteTimeout time.Duration
	// MaxKeepAlive caps the keep alive a client may ask for (0 = no cap). v5 clients asking for
	// more (or for 0) get Server Keep Alive = MaxKeepAlive; 3.1/3.1.1 clients are refused with
	// return code 0x02, as those versions cannot be told another value.
	MaxKeepAlive uint16
	// ServerKeepAlive, when non-zero, is announced to every v5 client and used instead of the
	// client's keep alive. 0 = use the client's value.
	ServerKeepAlive uint16
	// TopicAliasMaximum is the highest topic alias a v5 client may use towards the broker
	// (nil = 100; Ptr[uint16](0) = aliases not accepted).
	TopicAliasMaximum *uint16
	// MaximumQoS is the highest QoS the broker supports (nil = 2). v5 clients are told, and a
	// PUBLISH above it gets DISCONNECT 0x9B; subscriptions are granted at most this QoS.
	MaximumQoS *byte
	// RetainAvailable, WildcardAvailable, SubIDAvailable and SharedAvailable switch the optional
	// v5 features (nil = available). A client using a disabled feature gets the reason code the
	// specification names (0x9A, 0xA2, 0xA1, 0x9E).
	RetainAvailable   *bool
	WildcardAvailable *bool
	SubIDAvailable    *bool
	SharedAvailable   *bool

	// Users maps user names to passwords. Empty: anonymous clients are allowed and credentials
	// are ignored. Otherwise every client must present a listed user name and its password
	// (or pass enhanced authentication).
	Users map[string]string
	// ACL restricts publishing and subscribing (nil = everything allowed).
	ACL ACL
	// AuthMethods are the v5 enhanced authentication methods by name (section 4.12).
	AuthMethods map[string]AuthMethod

	// TLS configures tls:// and wss:// listeners. When nil, TLSCertFile and TLSKeyFile are loaded.
	TLS         *tls.Config
	TLSCertFile string
	TLSKeyFile  string

	// Faults switches on named deliberate specification violations (see Faults in faults.go),
	// so that a conformance suite can check that its cases fail when a behaviour breaks.
	Faults []string
}

// Ptr returns a pointer to v, for the optional Options fields: Options{MaximumQoS: broker.Ptr[byte](1)}.
func Ptr[T any](v T) *T { return &v }

// settings are Options with defaults applied, read on every packet.
type settings struct {
	maxConns        int
	maxPacket       int
	maxInflight     uint16
	maxQueued       int
	connectTimeout  time.Duration
	writeTimeout    time.Duration
	maxKeepAlive    uint16
	serverKeepAlive uint16
	aliasMax        uint16
	maxQoS          byte
	retain          bool
	wildcard        bool
	subID           bool
	shared          bool
}

func (o *Options) settings() (settings, error) {
	s := settings{
		maxConns:        o.MaxConnections,
		maxPacket:       int(o.MaxPacketSize),
		maxInflight:     o.MaxInflight,
		maxQueued:       o.MaxQueued,
		connectTimeout:  o.ConnectTimeout,
		writeTimeout:    o.WriteTimeout,
		maxKeepAlive:    o.MaxKeepAlive,
		serverKeepAlive: o.ServerKeepAlive,
		aliasMax:        100,
		maxQoS:          2,
		retain:          o.RetainAvailable == nil || *o.RetainAvailable,
		wildcard:        o.WildcardAvailable == nil || *o.WildcardAvailable,
		subID:           o.SubIDAvailable == nil || *o.SubIDAvailable,
		shared:          o.SharedAvailable == nil || *o.SharedAvailable,
	}
	if o.MaxConnections < 0 {
		return s, fmt.Errorf("MaxConnections %d is negative", o.MaxConnections)
	}
	if o.MaxQueued < 0 {
		return s, fmt.Errorf("MaxQueued %d is negative", o.MaxQueued)
	}
	if o.MaxPacketSize > codec.MaxPacketSize {
		return s, fmt.Errorf("MaxPacketSize %d exceeds the protocol maximum %d", o.MaxPacketSize, codec.MaxPacketSize)
	}
	if o.MaxPacketSize != 0 && o.MaxPacketSize < 16 {
		return s, fmt.Errorf("MaxPacketSize %d is too small to carry a CONNECT", o.MaxPacketSize)
	}
	if o.ConnectTimeout < 0 || o.WriteTimeout < 0 {
		return s, fmt.Errorf("negative timeout")
	}
	if s.maxInflight == 0 {
		s.maxInflight = 256
	}
	if s.maxQueued == 0 {
		s.maxQueued = 1000
	}
	if s.connectTimeout == 0 {
		s.connectTimeout = 10 * time.Second
	}
	if s.writeTimeout == 0 {
		s.writeTimeout = 30 * time.Second
	}
	if o.TopicAliasMaximum != nil {
		s.aliasMax = *o.TopicAliasMaximum
	}
	if o.MaximumQoS != nil {
		if *o.MaximumQoS > 2 {
			return s, fmt.Errorf("MaximumQoS %d is not 0, 1 or 2", *o.MaximumQoS)
		}
		s.maxQoS = *o.MaximumQoS
	}
	return s, nil
}
