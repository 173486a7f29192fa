package broker_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/scram"
)

func TestParseConfig(t *testing.T) {
	cfg := `# test configuration
max_connections: 10
max_packet_size: 4096
max_inflight: 20
max_queued: 50
connect_timeout: 2s
max_keepalive: 120
topic_alias_maximum: 0
maximum_qos: 1
retain_available: false
tls_cert: cert.pem
tls_key: /abs/key.pem
users:
  alice: secret
  bob: hunter2
acl:
  - user: alice
    topic: sensors/#
    access: readwrite
  - topic: clients/%c/#
    access: read
auth_methods: [SCRAM-SHA-256]
faults: [pingreq-ignored]
`
	o, err := broker.ParseConfig([]byte(cfg), "/etc/mqttspec/broker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxConnections != 10 || o.MaxPacketSize != 4096 || o.MaxInflight != 20 || o.MaxQueued != 50 ||
		o.ConnectTimeout != 2*time.Second || o.MaxKeepAlive != 120 || *o.TopicAliasMaximum != 0 ||
		*o.MaximumQoS != 1 || *o.RetainAvailable || o.WildcardAvailable != nil {
		t.Fatalf("limits: %+v", o)
	}
	if o.TLSCertFile != "/etc/mqttspec/cert.pem" || o.TLSKeyFile != "/abs/key.pem" {
		t.Fatalf("TLS paths %q %q", o.TLSCertFile, o.TLSKeyFile)
	}
	if len(o.Users) != 2 || o.Users["bob"] != "hunter2" {
		t.Fatalf("users %v", o.Users)
	}
	want := broker.ACL{{User: "alice", Topic: "sensors/#", Access: broker.AccessReadWrite}, {Topic: "clients/%c/#", Access: broker.AccessRead}}
	if len(o.ACL) != 2 || o.ACL[0] != want[0] || o.ACL[1] != want[1] {
		t.Fatalf("acl %+v", o.ACL)
	}
	if o.AuthMethods[scram.Method] == nil || len(o.Faults) != 1 {
		t.Fatalf("auth methods %v, faults %v", o.AuthMethods, o.Faults)
	}
	if _, err := broker.New(o); err != nil {
		t.Fatalf("parsed options rejected: %v", err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ cfg, want string }{
		{"max_conections: 3", "c.yaml:1: unknown setting \"max_conections\""},
		{"max_connections: 3\nmax_packet_size: -1", "c.yaml:2: \"-1\" is not a whole number"},
		{"maximum_qos: 3", "c.yaml:1: \"3\" is not a whole number from 0 to 2"},
		{"connect_timeout: 10", "c.yaml:1: \"10\" is not a duration"},
		{"retain_available: maybe", "c.yaml:1: \"maybe\" is not true or false"},
		{"acl:\n  - topic: a/#/b\n    access: read", "c.yaml:2: \"a/#/b\" is not a valid topic filter"},
		{"acl:\n  - topic: a\n    access: all", "c.yaml:3: access \"all\" must be read, write or readwrite"},
		{"acl:\n  - topic: a", "c.yaml:2: an ACL rule needs topic and access"},
		{"acl:\n  - topic: a\n    acess: read", "c.yaml:3: unknown ACL field \"acess\""},
		{"auth_methods: [SCRAM-SHA-256]", "c.yaml:1: SCRAM-SHA-256 takes its credentials from users"},
		{"users: {a: b}\nauth_methods: [PLAIN]", "c.yaml:2: unknown authentication method \"PLAIN\""},
		{"faults: [nope]", "c.yaml:1: unknown fault \"nope\""},
		{"users: [a, b]", "c.yaml:1: users must map user names to passwords"},
		{"- a\n- b", "c.yaml:1: the configuration must be a mapping"},
		{"a: [", "c.yaml: yaml:"},
		{"max_packet_size: 5", "c.yaml:1: max_packet_size 5 is too small"},
	}
	for _, tc := range tests {
		_, err := broker.ParseConfig([]byte(tc.cfg), "c.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to contain %q", tc.cfg, err, tc.want)
		}
	}
	if o, err := broker.ParseConfig(nil, "empty.yaml"); err != nil || o.MaxConnections != 0 {
		t.Fatalf("empty config: %+v %v", o, err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "b.yaml")
	os.WriteFile(p, []byte("max_queued: 7\n"), 0o600)
	if o, err := broker.LoadConfig(p); err != nil || o.MaxQueued != 7 {
		t.Fatalf("LoadConfig: %+v %v", o, err)
	}
	if _, err := broker.LoadConfig(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("missing file accepted")
	}
}
