package drivers

import (
	"context"
	"sync"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

// Extra carries what a case asks of the client beyond the fields of conformance.Action: a Will,
// credentials, a zero-length client identifier, enhanced authentication, an UNSUBSCRIBE, …
//
// It is a stopgap until conformance.Action grows these fields: a case attaches an Extra to its
// Action with Attach, and the drivers of this package look it up by the action's client
// identifier (unique per case run). Third-party drivers built on conformance.Driver directly
// see none of it; for them a case that needs an Extra behaves as if the client ignored it.
type Extra struct {
	// NoClientID connects with a zero-length client identifier (the Action's ClientID then only
	// keys this Extra).
	NoClientID bool
	// Will is the Will Message of the CONNECT.
	Will *Will
	// Username and Password are sent in CONNECT when set (Password also when empty but non-nil).
	Username string
	Password []byte
	// SessionExpiry (5.0) replaces the driver's default Session Expiry Interval (0 with
	// CleanStart, DefaultSessionExpiry without).
	SessionExpiry *uint32
	// Unsubscribe makes OpSubscribe send an UNSUBSCRIBE for the topic before disconnecting.
	Unsubscribe bool
	// AuthMethod (5.0) starts enhanced authentication with this method; the client answers every
	// AUTH 0x18 challenge with AUTH 0x18 whose data echoes the challenge.
	AuthMethod string
	AuthData   []byte
	// TopicAliasMaximum (5.0) is announced in CONNECT: the server may use aliases up to it.
	TopicAliasMaximum uint16
	// ReceiveMaximum (5.0) is announced in CONNECT.
	ReceiveMaximum uint16
	// MaximumPacketSize (5.0) is announced in CONNECT.
	MaximumPacketSize uint32
	// PublishProps (5.0) are properties of each PUBLISH of OpPublish (Message Expiry Interval,
	// Content Type, Response Topic, Correlation Data, User Properties).
	PublishProps *codec.Properties
}

// Will is a Will Message.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
}

// DefaultSessionExpiry is the Session Expiry Interval (seconds) the drivers of this package send
// on MQTT 5.0 when the action asks for a session that outlives the connection (CleanStart false)
// and the Extra names none.
const DefaultSessionExpiry = 300

var (
	extraMu sync.Mutex
	extras  = map[string]Extra{}
)

// Attach gives the action an Extra. It sets a.ClientID (from t.ClientID) when empty, because the
// identifier is the key; the entry is dropped when the case ends.
func Attach(t *conformance.T, a *conformance.Action, e Extra) {
	if a.ClientID == "" {
		a.ClientID = t.ClientID()
	}
	id := a.ClientID
	extraMu.Lock()
	extras[id] = e
	extraMu.Unlock()
	context.AfterFunc(t.Context(), func() {
		extraMu.Lock()
		delete(extras, id)
		extraMu.Unlock()
	})
}

// ExtraFor returns the Extra attached to the action (the zero Extra when none).
func ExtraFor(a conformance.Action) Extra {
	extraMu.Lock()
	defer extraMu.Unlock()
	return extras[a.ClientID]
}

// clientID is the identifier the client should send.
func clientID(a conformance.Action, e Extra) string {
	if e.NoClientID {
		return ""
	}
	return a.ClientID
}

// sessionExpiry is the 5.0 Session Expiry Interval the client should send.
func sessionExpiry(a conformance.Action, e Extra) uint32 {
	if e.SessionExpiry != nil {
		return *e.SessionExpiry
	}
	if a.CleanStart {
		return 0
	}
	return DefaultSessionExpiry
}

// count is the number of messages of an OpPublish or OpSubscribe (at least 1).
func count(a conformance.Action) int { return max(a.Count, 1) }
