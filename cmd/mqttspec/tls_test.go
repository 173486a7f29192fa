package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

func TestTLSConfig(t *testing.T) {
	good := brokertest.SelfSigned(t)
	other := brokertest.SelfSigned(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("just text\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	flags := func(s tlsSettings) tlsSettings {
		s.caFlag, s.certFlag, s.keyFlag = "--cafile", "--cert", "--key"
		return s
	}
	cases := []struct {
		name  string
		in    tlsSettings
		check func(*tls.Config) bool
		flag  string // flag the *tlsFlagError names
		err   error  // what it wraps (nil: only its type is checked)
	}{
		{name: "insecure alone", in: flags(tlsSettings{insecure: true}),
			check: func(c *tls.Config) bool {
				return c.InsecureSkipVerify && c.MinVersion == tls.VersionTLS12 && c.RootCAs == nil
			}},
		{name: "CA file", in: flags(tlsSettings{caFile: good.CertFile}),
			check: func(c *tls.Config) bool { return c.RootCAs != nil && !c.InsecureSkipVerify }},
		{name: "client certificate", in: flags(tlsSettings{certFile: good.CertFile, keyFile: good.KeyFile}),
			check: func(c *tls.Config) bool { return len(c.Certificates) == 1 }},
		{name: "server name and TLS 1.3", in: flags(tlsSettings{serverName: "broker.example", minVersion: tls.VersionTLS13}),
			check: func(c *tls.Config) bool { return c.ServerName == "broker.example" && c.MinVersion == tls.VersionTLS13 }},

		{name: "CA file missing", in: flags(tlsSettings{caFile: missing}), flag: "--cafile", err: fs.ErrNotExist},
		{name: "CA file without PEM", in: flags(tlsSettings{caFile: notPEM}), flag: "--cafile", err: errNoPEMCertificate},
		{name: "CA file is a key", in: flags(tlsSettings{caFile: good.KeyFile}), flag: "--cafile", err: errNoPEMCertificate},
		{name: "CA flag named by the command", in: tlsSettings{caFile: notPEM, caFlag: "--tls-ca"}, flag: "--tls-ca", err: errNoPEMCertificate},
		{name: "certificate without key", in: flags(tlsSettings{certFile: good.CertFile}), flag: "--cert", err: errCertKeyPair},
		{name: "key without certificate", in: flags(tlsSettings{keyFile: good.KeyFile}), flag: "--key", err: errCertKeyPair},
		{name: "certificate file missing", in: flags(tlsSettings{certFile: missing, keyFile: good.KeyFile}), flag: "--cert", err: fs.ErrNotExist},
		{name: "key file missing", in: flags(tlsSettings{certFile: good.CertFile, keyFile: missing}), flag: "--key", err: fs.ErrNotExist},
		{name: "key of another certificate", in: flags(tlsSettings{certFile: good.CertFile, keyFile: other.KeyFile}), flag: "--cert/--key"},
		{name: "certificate and key swapped", in: flags(tlsSettings{certFile: good.KeyFile, keyFile: good.CertFile}), flag: "--cert/--key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tlsConfig(tc.in)
			if tc.flag == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !tc.check(c) {
					t.Fatalf("config %+v", c)
				}
				return
			}
			var fe *tlsFlagError
			if !errors.As(err, &fe) || fe.Flag != tc.flag {
				t.Fatalf("tlsConfig = %v, want a *tlsFlagError for %s", err, tc.flag)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("tlsConfig = %v, want it to wrap %v", err, tc.err)
			}
		})
	}
}

// TestTLSFlags: pub reaches a tls:// listener with --cafile, and the test command's --tls-ca goes
// through the same builder.
func TestTLSFlags(t *testing.T) {
	cert := brokertest.SelfSigned(t)
	srv, _ := brokertest.StartServer(t, broker.Options{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	addr := brokertest.Listen(t, srv, "tls://127.0.0.1:0")
	url := "tls://" + addr
	if code, _, msg := execClient(t, newPubCmd, "", "--url", url, "--cafile", cert.CertFile, "-t", "tls/check", "-m", "x"); code != exitOK {
		t.Fatalf("pub over TLS: exit %d: %s", code, msg)
	}
	// Without the CA the server certificate does not verify.
	if code, _, _ := execClient(t, newPubCmd, "", "--url", url, "-t", "tls/check", "-m", "x", "--quiet"); code != exitUsage {
		t.Fatalf("pub over TLS without --cafile: exit %d, want %d", code, exitUsage)
	}
	cmd := newPubCmd()
	cmd.SetArgs([]string{"--url", url, "--cert", cert.CertFile, "-t", "a", "-m", "x"})
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	if err := cmd.Execute(); !errors.Is(err, errCertKeyPair) {
		t.Fatalf("pub --cert without --key = %v, want %v", err, errCertKeyPair)
	}

	_, _, err := buildTarget(context.Background(), &testFlags{target: url, tlsCA: filepath.Join(t.TempDir(), "missing.pem")})
	var fe *tlsFlagError
	if !errors.As(err, &fe) || fe.Flag != "--tls-ca" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("test --tls-ca missing = %v, want a --tls-ca error for a missing file", err)
	}
	tg, stop, err := buildTarget(context.Background(), &testFlags{target: url, tlsCA: cert.CertFile})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if tg.TLSConfig == nil || tg.TLSConfig.RootCAs == nil {
		t.Fatalf("test --tls-ca: target TLS config %+v", tg.TLSConfig)
	}
}
