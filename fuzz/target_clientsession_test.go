package fuzz

import "testing"

// FuzzClientSession answers the reference client's CONNECT with the input as hostile broker
// bytes and checks that the client closes on what it must close on, acknowledges what it must
// acknowledge, sends only valid packets and leaves no goroutine behind (see checkClientSession).
func FuzzClientSession(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkClientSession(data); err != nil {
			if id := known(err); id != "" {
				t.Skipf("known issue %s (docs/findings.md): %v", id, err)
			}
			t.Fatal(err)
		}
	})
}
