package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// tlsSettings is what a command's TLS flags say. Commands name their flags differently (pub and
// sub follow mosquitto: --cafile, --cert, --key; test has --tls-ca), so the flag names travel with
// the values and an error names the flag the user typed.
type tlsSettings struct {
	caFile, certFile, keyFile string
	caFlag, certFlag, keyFlag string
	insecure                  bool   // skip verifying the server's certificate
	serverName                string // "" lets the dialer take it from the URL
	minVersion                uint16 // 0 means TLS 1.2
}

// maxPEM bounds a PEM file read for TLS: a bundle of every public root CA is well under 1 MiB.
const maxPEM = 16 << 20

// Reasons a tlsFlagError gives beyond the file system's and crypto/tls's own.
var (
	errNoPEMCertificate = errors.New("no PEM certificate in the file")
	errCertKeyPair      = errors.New("a client certificate and its key go together")
)

// tlsFlagError is a TLS flag whose file does not give a usable setting.
type tlsFlagError struct {
	Flag string // e.g. "--cafile"
	File string
	Err  error
}

func (e *tlsFlagError) Error() string { return fmt.Sprintf("%s %s: %v", e.Flag, e.File, e.Err) }

func (e *tlsFlagError) Unwrap() error { return e.Err }

// tlsConfig builds the client TLS configuration of every command that dials a broker.
func tlsConfig(s tlsSettings) (*tls.Config, error) {
	c := &tls.Config{ServerName: s.serverName, MinVersion: s.minVersion,
		InsecureSkipVerify: s.insecure} //nolint:gosec // the user asked for it with the insecure flag
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	if s.caFile != "" {
		pem, err := readFlagFile(s.caFlag, s.caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &tlsFlagError{Flag: s.caFlag, File: s.caFile, Err: errNoPEMCertificate}
		}
		c.RootCAs = pool
	}
	switch {
	case s.certFile == "" && s.keyFile == "":
		return c, nil
	case s.keyFile == "":
		return nil, &tlsFlagError{Flag: s.certFlag, File: s.certFile, Err: fmt.Errorf("%w: %s is missing", errCertKeyPair, s.keyFlag)}
	case s.certFile == "":
		return nil, &tlsFlagError{Flag: s.keyFlag, File: s.keyFile, Err: fmt.Errorf("%w: %s is missing", errCertKeyPair, s.certFlag)}
	}
	// Read the two files here rather than with tls.LoadX509KeyPair, so a missing or unreadable
	// file is reported under its own flag.
	certPEM, err := readFlagFile(s.certFlag, s.certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readFlagFile(s.keyFlag, s.keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &tlsFlagError{Flag: s.certFlag + "/" + s.keyFlag, File: s.certFile + ", " + s.keyFile, Err: err}
	}
	c.Certificates = []tls.Certificate{cert}
	return c, nil
}

// readFlagFile reads the PEM file a flag names.
func readFlagFile(flag, path string) ([]byte, error) {
	b, err := readLimited(path, maxPEM)
	if err != nil {
		return nil, &tlsFlagError{Flag: flag, File: path, Err: err}
	}
	return b, nil
}
