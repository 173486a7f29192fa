// Package scram implements SCRAM-SHA-256 (RFC 5802, RFC 7677) for MQTT 5.0 enhanced
// authentication: the server side the reference broker runs, and the client side that tests and
// clients use to drive the AUTH exchange.
//
// Over MQTT the client-first message travels as the CONNECT's Authentication Data, the
// server-first in AUTH 0x18, the client-final in AUTH 0x18, and the server-final in the CONNACK.
package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Method is the name used as the MQTT Authentication Method.
const Method = "SCRAM-SHA-256"

// DefaultIterations is the PBKDF2 iteration count for new credentials (RFC 7677's minimum).
const DefaultIterations = 4096

// ErrAuthFailed means the proof did not match: wrong user name or password.
var ErrAuthFailed = errors.New("scram: authentication failed")

// Credentials are what a server stores per user: never the password itself.
type Credentials struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// NewCredentials derives the stored credentials for a password with a fresh random salt.
func NewCredentials(password string, iterations int) (Credentials, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return Credentials{}, err
	}
	return DeriveCredentials(password, salt, iterations)
}

// DeriveCredentials derives the stored credentials for a password and salt.
func DeriveCredentials(password string, salt []byte, iterations int) (Credentials, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return Credentials{}, err
	}
	ck := mac(salted, "Client Key")
	sk := sha256.Sum256(ck)
	return Credentials{Salt: salt, Iterations: iterations, StoredKey: sk[:], ServerKey: mac(salted, "Server Key")}, nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func nonce() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic("scram: crypto/rand failed: " + err.Error()) // the runtime guarantees Read succeeds
	}
	return base64.RawStdEncoding.EncodeToString(b)
}

// attrs parses "k=v,k=v" into its values, in order.
func attrs(msg string) ([][2]string, error) {
	var out [][2]string
	for _, part := range strings.Split(msg, ",") {
		if len(part) < 2 || part[1] != '=' {
			return nil, fmt.Errorf("scram: malformed attribute %q", part)
		}
		out = append(out, [2]string{part[:1], part[2:]})
	}
	return out, nil
}

func escapeName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

func unescapeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		default:
			return "", fmt.Errorf("scram: bad escape in user name %q", s)
		}
		i += 2
	}
	return b.String(), nil
}

// Server is one server-side conversation. Lookup returns a user's credentials (ok false for an
// unknown user: the conversation then continues with made-up credentials and fails at the proof,
// so that a client cannot tell unknown users from wrong passwords).
type Server struct {
	Lookup func(user string) (Credentials, bool)

	step        int
	user        string
	known       bool
	cred        Credentials
	nonce       string
	clientBare  string
	serverFirst string
}

// Username returns the user name the client claimed (authenticated once Step reported done).
func (s *Server) Username() string { return s.user }

// Step consumes one client message and returns the server's answer. done is true after the
// client's proof has been verified; the answer is then the server-final message.
func (s *Server) Step(in []byte) (out []byte, done bool, err error) {
	msg := string(in)
	switch s.step {
	case 0:
		s.step++
		// gs2-header: no channel binding, no authzid.
		if !strings.HasPrefix(msg, "n,,") {
			return nil, false, fmt.Errorf("scram: client-first must start with \"n,,\" (no channel binding)")
		}
		s.clientBare = msg[3:]
		as, err := attrs(s.clientBare)
		if err != nil {
			return nil, false, err
		}
		if len(as) < 2 || as[0][0] != "n" || as[1][0] != "r" || as[1][1] == "" {
			return nil, false, fmt.Errorf("scram: client-first needs n= and r=")
		}
		if s.user, err = unescapeName(as[0][1]); err != nil {
			return nil, false, err
		}
		if s.Lookup != nil {
			s.cred, s.known = s.Lookup(s.user)
		}
		if !s.known {
			if s.cred, err = NewCredentials(nonce(), DefaultIterations); err != nil {
				return nil, false, err
			}
		}
		s.nonce = as[1][1] + nonce()
		s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(s.cred.Salt) + ",i=" + strconv.Itoa(s.cred.Iterations)
		return []byte(s.serverFirst), false, nil
	case 1:
		s.step++
		i := strings.LastIndex(msg, ",p=")
		if i < 0 {
			return nil, false, fmt.Errorf("scram: client-final has no proof")
		}
		without, proofB64 := msg[:i], msg[i+3:]
		as, err := attrs(without)
		if err != nil {
			return nil, false, err
		}
		if len(as) < 2 || as[0][0] != "c" || as[1][0] != "r" {
			return nil, false, fmt.Errorf("scram: client-final needs c= and r=")
		}
		if as[0][1] != base64.StdEncoding.EncodeToString([]byte("n,,")) {
			return nil, false, fmt.Errorf("scram: channel binding data does not match the gs2 header")
		}
		if as[1][1] != s.nonce {
			return nil, false, fmt.Errorf("scram: nonce mismatch")
		}
		proof, err := base64.StdEncoding.DecodeString(proofB64)
		if err != nil || len(proof) != sha256.Size {
			return nil, false, fmt.Errorf("scram: malformed proof")
		}
		authMsg := s.clientBare + "," + s.serverFirst + "," + without
		sig := mac(s.cred.StoredKey, authMsg)
		clientKey := make([]byte, len(proof))
		for j := range proof {
			clientKey[j] = proof[j] ^ sig[j]
		}
		stored := sha256.Sum256(clientKey)
		if !s.known || subtle.ConstantTimeCompare(stored[:], s.cred.StoredKey) != 1 {
			return nil, false, ErrAuthFailed
		}
		return []byte("v=" + base64.StdEncoding.EncodeToString(mac(s.cred.ServerKey, authMsg))), true, nil
	}
	return nil, false, fmt.Errorf("scram: conversation already finished")
}

// Client is the client side of one conversation.
type Client struct {
	User, Password string

	nonce      string
	clientBare string
	authMsg    string
	serverSig  []byte
}

// First returns the client-first message (the CONNECT's Authentication Data).
func (c *Client) First() []byte {
	c.nonce = nonce()
	c.clientBare = "n=" + escapeName(c.User) + ",r=" + c.nonce
	return []byte("n,," + c.clientBare)
}

// Final answers the server-first message with the client-final message.
func (c *Client) Final(serverFirst []byte) ([]byte, error) {
	as, err := attrs(string(serverFirst))
	if err != nil {
		return nil, err
	}
	if len(as) < 3 || as[0][0] != "r" || as[1][0] != "s" || as[2][0] != "i" {
		return nil, fmt.Errorf("scram: server-first needs r=, s= and i=")
	}
	if !strings.HasPrefix(as[0][1], c.nonce) || len(as[0][1]) == len(c.nonce) {
		return nil, fmt.Errorf("scram: server nonce does not extend the client nonce")
	}
	salt, err := base64.StdEncoding.DecodeString(as[1][1])
	if err != nil {
		return nil, fmt.Errorf("scram: bad salt: %w", err)
	}
	iter, err := strconv.Atoi(as[2][1])
	if err != nil || iter < 1 || iter > 1<<20 {
		return nil, fmt.Errorf("scram: bad iteration count %q", as[2][1])
	}
	salted, err := pbkdf2.Key(sha256.New, c.Password, salt, iter, sha256.Size)
	if err != nil {
		return nil, err
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	without := "c=" + base64.StdEncoding.EncodeToString([]byte("n,,")) + ",r=" + as[0][1]
	c.authMsg = c.clientBare + "," + string(serverFirst) + "," + without
	sig := mac(stored[:], c.authMsg)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	c.serverSig = mac(mac(salted, "Server Key"), c.authMsg)
	return []byte(without + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// Verify checks the server-final message: it proves the server knows the credentials too.
func (c *Client) Verify(serverFinal []byte) error {
	msg := string(serverFinal)
	if !strings.HasPrefix(msg, "v=") {
		return fmt.Errorf("scram: server-final %q has no verifier", msg)
	}
	sig, err := base64.StdEncoding.DecodeString(msg[2:])
	if err != nil || !hmac.Equal(sig, c.serverSig) {
		return fmt.Errorf("scram: server signature does not verify")
	}
	return nil
}
