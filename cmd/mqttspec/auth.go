package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reference/broker/scram"
)

// authFlags describe the target's enhanced authentication (MQTT 5.0 section 4.12), which no
// discovery can find: without them the enhanced-authentication cases skip, naming these flags.
type authFlags struct {
	method        string // --auth-method
	data          string // --auth-data: "hex:…", "@file" or the text itself
	scramUser     string // --scram-user
	scramPassword string // --scram-password
}

// errAuthChallenged is returned to the engine when a one-step method (--auth-data) gets a
// challenge: the exchange needs a client that can answer, which these flags cannot describe.
var errAuthChallenged = errors.New("the server sent an authentication challenge; --auth-data describes only a method that needs none (use --scram-user for SCRAM-SHA-256)")

// apply sets the target's authentication from the flags, or says which flag is wrong.
func (a authFlags) apply(tg *conformance.Target) error {
	switch {
	case a.method == "" && (a.data != "" || a.scramUser != "" || a.scramPassword != ""):
		return errors.New("--auth-data, --scram-user and --scram-password need --auth-method")
	case a.method == "":
		return nil
	case a.scramUser != "" && a.data != "":
		return errors.New("--auth-data and --scram-user exclude each other: SCRAM computes its own data")
	case a.scramUser != "":
		if a.method != scram.Method {
			return fmt.Errorf("--scram-user needs --auth-method %s, not %q", scram.Method, a.method)
		}
		user, password := a.scramUser, a.scramPassword
		tg.AuthMethod = a.method
		// A fresh client per exchange: each has its own nonce, and cases run in parallel.
		tg.NewAuth = func() ([]byte, func([]byte) ([]byte, error), error) {
			cl := &scram.Client{User: user, Password: password}
			return cl.First(), cl.Final, nil
		}
		return nil
	case a.scramPassword != "":
		return errors.New("--scram-password needs --scram-user")
	}
	data, err := authData(a.data)
	if err != nil {
		return err
	}
	tg.AuthMethod, tg.AuthInitial = a.method, data
	tg.AuthStep = func([]byte) ([]byte, error) { return nil, errAuthChallenged }
	return nil
}

// authData reads --auth-data: "hex:0a0b…" as bytes, "@path" as the file's contents, anything
// else as the text itself.
func authData(s string) ([]byte, error) {
	switch {
	case strings.HasPrefix(s, "hex:"):
		b, err := hex.DecodeString(strings.TrimPrefix(s, "hex:"))
		if err != nil {
			return nil, fmt.Errorf("--auth-data %q: %w", s, err)
		}
		return b, nil
	case strings.HasPrefix(s, "@"):
		b, err := os.ReadFile(strings.TrimPrefix(s, "@"))
		if err != nil {
			return nil, fmt.Errorf("--auth-data: %w", err)
		}
		return b, nil
	}
	return []byte(s), nil
}
