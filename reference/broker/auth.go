package broker

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/scram"
)

// AuthMethod is an MQTT 5.0 enhanced authentication method (section 4.12), registered in
// Options.AuthMethods under the name clients put in the Authentication Method property.
type AuthMethod interface {
	// Begin starts an exchange for a client, at CONNECT or at re-authentication (AUTH 0x19).
	Begin(clientID string) AuthExchange
}

// AuthExchange is one authentication conversation.
type AuthExchange interface {
	// Step consumes the client's Authentication Data and returns the data for the broker's
	// answer. While done is false the broker sends AUTH 0x18 (Continue authentication) with
	// reply; once done it sends CONNACK 0x00 (or AUTH 0x00 after re-authentication) carrying
	// reply. An error refuses the client with the reason code of a wrapped *AuthError, else 0x87.
	Step(data []byte) (reply []byte, done bool, err error)
}

// AuthIdentity is implemented by exchanges that establish a user name (used by the ACL in place
// of the CONNECT's User Name).
type AuthIdentity interface {
	Username() string
}

// AuthError refuses authentication with a specific reason code.
type AuthError struct {
	Reason codec.ReasonCode
	Msg    string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("authentication failed (%v): %s", e.Reason, e.Msg)
}

// maxAuthSteps bounds one exchange so that a method cannot loop forever.
const maxAuthSteps = 16

// SCRAMSHA256 returns the SCRAM-SHA-256 method (scram.Method) over a user/password table. The
// passwords are turned into salted credentials once, here.
func SCRAMSHA256(users map[string]string) (AuthMethod, error) {
	creds := make(map[string]scram.Credentials, len(users))
	for u, p := range users {
		c, err := scram.NewCredentials(p, scram.DefaultIterations)
		if err != nil {
			return nil, fmt.Errorf("SCRAM credentials for %q: %w", u, err)
		}
		creds[u] = c
	}
	return scramMethod(creds), nil
}

type scramMethod map[string]scram.Credentials

func (m scramMethod) Begin(string) AuthExchange {
	return &scramExchange{s: scram.Server{Lookup: func(u string) (scram.Credentials, bool) {
		c, ok := m[u]
		return c, ok
	}}}
}

type scramExchange struct{ s scram.Server }

func (x *scramExchange) Step(data []byte) ([]byte, bool, error) {
	out, done, err := x.s.Step(data)
	if errors.Is(err, scram.ErrAuthFailed) {
		return nil, false, &AuthError{Reason: codec.ReasonBadUsernameOrPassword, Msg: err.Error()}
	}
	return out, done, err
}

func (x *scramExchange) Username() string { return x.s.Username() }

// checkPassword compares in constant time.
func checkPassword(users map[string]string, user string, pass []byte) bool {
	want, ok := users[user]
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), pass) == 1
}
