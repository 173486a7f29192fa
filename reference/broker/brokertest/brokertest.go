// Package brokertest starts in-process reference brokers for tests: on a random loopback port,
// stopped when the test ends, plus a self-signed certificate for TLS listeners.
package brokertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/reference/broker"
)

// Start starts a broker with options o on tcp://127.0.0.1:0 and returns its address
// ("127.0.0.1:port"). The broker is closed in t.Cleanup.
func Start(t testing.TB, o broker.Options) (addr string) {
	t.Helper()
	_, addr = StartServer(t, o)
	return addr
}

// StartServer is Start that also returns the Server, for tests that inspect it.
func StartServer(t testing.TB, o broker.Options) (*broker.Server, string) {
	t.Helper()
	srv, err := broker.New(o)
	if err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	a, err := srv.ListenAndServe(context.Background(), "tcp://127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatalf("brokertest: %v", err)
	}
	servers.Store(a.String(), srv)
	t.Cleanup(func() {
		servers.Delete(a.String())
		if err := srv.Close(); err != nil {
			t.Errorf("brokertest: close: %v", err)
		}
	})
	return srv, a.String()
}

// Run starts a broker like Start for code that is not on the test's goroutine (where
// t.Fatalf must not be called): it returns the error instead, and the caller stops the broker.
// ServerAt finds it while it runs.
func Run(o broker.Options) (addr string, stop func(), err error) {
	srv, err := broker.New(o)
	if err != nil {
		return "", nil, fmt.Errorf("brokertest: %w", err)
	}
	a, err := srv.ListenAndServe(context.Background(), "tcp://127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, fmt.Errorf("brokertest: %w", err)
	}
	servers.Store(a.String(), srv)
	return a.String(), func() { servers.Delete(a.String()); srv.Close() }, nil
}

// servers maps the address Start returned to its Server, for ServerAt.
var servers sync.Map

// ServerAt returns the Server that Start or StartServer started on addr and that is still
// running, or nil: for a test given only the address that needs another listener of the same
// broker (brokertest.Listen).
func ServerAt(addr string) *broker.Server {
	if s, ok := servers.Load(addr); ok {
		return s.(*broker.Server)
	}
	return nil
}

// Listen adds a listener (tls://, ws://, wss://…, port 0 for a free one) to a running server
// and returns its address.
func Listen(t testing.TB, srv *broker.Server, rawURL string) string {
	t.Helper()
	a, err := srv.ListenAndServe(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	return a.String()
}

// Cert is a self-signed certificate for 127.0.0.1, ::1 and localhost, written to files.
type Cert struct {
	CertFile, KeyFile string
	Pool              *x509.CertPool // trusts the certificate, for clients
}

// SelfSigned generates a fresh self-signed ECDSA certificate in t.TempDir().
func SelfSigned(t testing.TB) Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("brokertest: key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "mqttspec test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("brokertest: certificate: %v", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("brokertest: key: %v", err)
	}
	dir := t.TempDir()
	c := Cert{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"), Pool: x509.NewCertPool()}
	if err := os.WriteFile(c.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	if err := os.WriteFile(c.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	cert, _ := x509.ParseCertificate(der)
	c.Pool.AddCert(cert)
	return c
}
