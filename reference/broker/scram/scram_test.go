package scram

import (
	"errors"
	"strings"
	"testing"
)

func lookup(users map[string]string) func(string) (Credentials, bool) {
	creds := map[string]Credentials{}
	for u, p := range users {
		c, err := NewCredentials(p, DefaultIterations)
		if err != nil {
			panic(err)
		}
		creds[u] = c
	}
	return func(u string) (Credentials, bool) { c, ok := creds[u]; return c, ok }
}

func TestExchange(t *testing.T) {
	lk := lookup(map[string]string{"alice": "wonderland", "a,b=c": "pw"})
	tests := []struct {
		name, user, pass string
		wantErr          error
	}{
		{"good", "alice", "wonderland", nil},
		{"escaped user name", "a,b=c", "pw", nil},
		{"wrong password", "alice", "nope", ErrAuthFailed},
		{"unknown user", "bob", "wonderland", ErrAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &Server{Lookup: lk}
			cl := &Client{User: tc.user, Password: tc.pass}
			sf, done, err := srv.Step(cl.First())
			if err != nil || done {
				t.Fatalf("server-first: done=%v err=%v", done, err)
			}
			cf, err := cl.Final(sf)
			if err != nil {
				t.Fatalf("client-final: %v", err)
			}
			fin, done, err := srv.Step(cf)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("final step error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			if !done || srv.Username() != tc.user {
				t.Fatalf("done=%v user=%q", done, srv.Username())
			}
			if err := cl.Verify(fin); err != nil {
				t.Fatalf("client could not verify the server: %v", err)
			}
			if err := cl.Verify([]byte("v=AAAA")); err == nil {
				t.Fatal("a forged server signature verified")
			}
		})
	}
}

func TestServerRejectsBadMessages(t *testing.T) {
	for _, in := range []string{"", "y,,n=a,r=b", "n,,n=a", "n,,r=x,n=a", "n,,n=a=5,r=x"} {
		srv := &Server{Lookup: lookup(nil)}
		if _, _, err := srv.Step([]byte(in)); err == nil {
			t.Errorf("client-first %q accepted", in)
		}
	}
	srv := &Server{Lookup: lookup(map[string]string{"u": "p"})}
	cl := &Client{User: "u", Password: "p"}
	sf, _, _ := srv.Step(cl.First())
	cf, _ := cl.Final(sf)
	tampered := strings.Replace(string(cf), "r=", "r=X", 1)
	if _, _, err := srv.Step([]byte(tampered)); err == nil {
		t.Fatal("tampered nonce accepted")
	}
	if _, _, err := srv.Step(cf); err == nil {
		t.Fatal("a finished conversation accepted another step")
	}
}
