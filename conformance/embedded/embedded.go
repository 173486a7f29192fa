// Package embedded makes the reference broker a conformance target: Start runs it in process on
// a random loopback port and returns the target descriptor, with an enhanced-authentication
// method the cases can exercise.
package embedded

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reference/broker"
)

// AuthMethod is the name of the challenge-response method the embedded target offers.
const AuthMethod = "mqttspec-hmac-sha256"

// authSecret is the shared secret of the embedded target's auth method (a test fixture).
var authSecret = []byte("mqttspec conformance secret")

// The fixture credentials and ACL of the embedded target, so that the credential and ACL cases
// run (instead of being skipped) in the default run.
const (
	User        = "mqttspec"
	Password    = "mqttspec-secret"
	BadPassword = "not-the-password"
	// DeniedTopic is outside every topic the ACL lets User publish to.
	DeniedTopic = "denied/mqttspec"
)

// Options returns the broker options of the embedded target: every feature on, a user with a
// password, an ACL that lets the user read everything but write only below the suite's topic
// roots, and the challenge-response authentication method.
func Options() broker.Options {
	return broker.Options{
		AuthMethods: map[string]broker.AuthMethod{AuthMethod: hmacMethod{}},
		Users:       map[string]string{User: Password},
		ACL: broker.ACL{
			{Topic: "mqttspec/#", Access: broker.AccessReadWrite},
			{Topic: "/mqttspec/#", Access: broker.AccessReadWrite},
			{Topic: "$mqttspec/#", Access: broker.AccessReadWrite},
			{Topic: "$share/#", Access: broker.AccessReadWrite},
			{Topic: "#", Access: broker.AccessRead},
		},
	}
}

// Start starts the reference broker with o and returns a target for it and a stop function.
func Start(ctx context.Context, o broker.Options) (*conformance.Target, func(), error) {
	srv, err := broker.New(o)
	if err != nil {
		return nil, nil, err
	}
	addr, err := srv.ListenAndServe(ctx, "tcp://127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	ws, err := srv.ListenAndServe(ctx, "ws://127.0.0.1:0/mqtt")
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	tg := &conformance.Target{
		Name:         "mqttspec reference broker (embedded)",
		URL:          "tcp://" + addr.String(),
		WebSocketURL: "ws://" + ws.String() + "/mqtt",
		Info:         map[string]string{"broker": "reference/broker", "auth_method": AuthMethod},
	}
	if o.Users[User] == Password {
		tg.Username, tg.Password, tg.BadPassword = User, Password, BadPassword
		if len(o.ACL) > 0 {
			tg.DeniedTopic = DeniedTopic
		}
	}
	if _, ok := o.AuthMethods[AuthMethod]; ok {
		tg.AuthMethod = AuthMethod
		tg.AuthInitial = []byte("hello")
		tg.AuthStep = Answer
	}
	return tg, func() { srv.Close() }, nil
}

// Answer is the client side of the challenge-response method: HMAC-SHA256(secret, challenge).
func Answer(challenge []byte) ([]byte, error) {
	if len(challenge) != 32 {
		return nil, fmt.Errorf("challenge of %d bytes, want 32", len(challenge))
	}
	m := hmac.New(sha256.New, authSecret)
	m.Write(challenge)
	return m.Sum(nil), nil
}

// hmacMethod is a one-round challenge-response method: the client's first data is ignored, the
// broker answers AUTH 0x18 with a 32-byte random challenge, the client returns its HMAC.
type hmacMethod struct{}

func (hmacMethod) Begin(string) broker.AuthExchange { return &hmacExchange{} }

type hmacExchange struct {
	challenge []byte
}

func (x *hmacExchange) Step(data []byte) ([]byte, bool, error) {
	if x.challenge == nil {
		x.challenge = make([]byte, 32)
		if _, err := rand.Read(x.challenge); err != nil {
			return nil, false, err
		}
		return x.challenge, false, nil
	}
	want, _ := Answer(x.challenge)
	if !hmac.Equal(data, want) {
		return nil, false, &broker.AuthError{Reason: codec.ReasonNotAuthorized, Msg: "wrong challenge response"}
	}
	return nil, true, nil
}
