package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reports"
)

func TestAuthFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, []byte("from a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		flags    authFlags
		wantErr  string // a flag the message must name; "" = valid
		initial  string
		exchange bool // NewAuth set (SCRAM)
	}{
		{"none", authFlags{}, "", "", false},
		{"text data", authFlags{method: "TOKEN", data: "secret"}, "", "secret", false},
		{"hex data", authFlags{method: "TOKEN", data: "hex:6869"}, "", "hi", false},
		{"file data", authFlags{method: "TOKEN", data: "@" + file}, "", "from a file", false},
		{"scram", authFlags{method: "SCRAM-SHA-256", scramUser: "u", scramPassword: "p"}, "", "", true},
		{"data without method", authFlags{data: "x"}, "--auth-method", "", false},
		{"scram user without method", authFlags{scramUser: "u"}, "--auth-method", "", false},
		{"scram with another method", authFlags{method: "TOKEN", scramUser: "u"}, "--scram-user", "", false},
		{"scram and data", authFlags{method: "SCRAM-SHA-256", scramUser: "u", data: "x"}, "--auth-data", "", false},
		{"password without user", authFlags{method: "SCRAM-SHA-256", scramPassword: "p"}, "--scram-user", "", false},
		{"bad hex", authFlags{method: "TOKEN", data: "hex:zz"}, "--auth-data", "", false},
		{"missing file", authFlags{method: "TOKEN", data: "@" + file + ".missing"}, "--auth-data", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := &conformance.Target{}
			err := tt.flags.apply(tg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tg.AuthMethod != tt.flags.method || string(tg.AuthInitial) != tt.initial || (tg.NewAuth != nil) != tt.exchange {
				t.Fatalf("target auth %q %q newAuth=%t", tg.AuthMethod, tg.AuthInitial, tg.NewAuth != nil)
			}
			if tt.exchange {
				first, _, err := tg.NewAuth()
				if err != nil || !strings.HasPrefix(string(first), "n,,n=u,r=") {
					t.Fatalf("SCRAM client-first %q, %v", first, err)
				}
			}
		})
	}
}

// TestEnhancedAuthAgainstARealTarget runs the enhanced-authentication cases through the CLI
// against a tcp:// reference broker with SCRAM-SHA-256, as a user would against their broker:
// with the flags they run (no skip) and pass; without them they skip, naming the flag.
func TestEnhancedAuthAgainstARealTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	users := map[string]string{"mqttspec": "right-password"}
	method, err := broker.SCRAMSHA256(users)
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, broker.Options{Users: users, AuthMethods: map[string]broker.AuthMethod{"SCRAM-SHA-256": method}})
	base := []string{"test", "broker", "--target", "tcp://" + addr, "--version", "5", "--case", "4.12/", "--json",
		"-u", "mqttspec", "-P", "right-password"}
	run := func(extra ...string) *reports.Results {
		code, out := runCLI(t, append(base, extra...)...)
		i := strings.Index(out, "{")
		if i < 0 {
			t.Fatalf("exit %d, no JSON:\n%s", code, out)
		}
		var res reports.Results
		if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&res); err != nil {
			t.Fatalf("exit %d: %v\n%s", code, err, out)
		}
		return &res
	}
	with := run("--auth-method", "SCRAM-SHA-256", "--scram-user", "mqttspec", "--scram-password", "right-password")
	ran := 0
	for _, c := range with.Cases {
		switch c.Status {
		case reports.Pass:
			ran++
		case reports.Skip:
			if strings.Contains(c.Message, "authentication method") {
				t.Errorf("%s skipped although the flags name the method: %s", c.ID, c.Message)
			}
		default:
			t.Errorf("%s: %s: %s", c.ID, c.Status, c.Message)
		}
	}
	if ran < 5 {
		t.Errorf("only %d enhanced-authentication cases passed with the flags", ran)
	}
	without := run()
	skipped := 0
	for _, c := range without.Cases {
		if c.Status == reports.Skip && strings.Contains(c.Message, "authentication method") {
			skipped++
		}
	}
	if skipped == 0 {
		t.Error("without --auth-method no case skipped for the missing method")
	}
}
