package fuzz

import "testing"

// FuzzDiffPaho decodes the same bytes with the strict codec and with the paho peer (see
// peers.go) and fails on a disagreement that is not documented in peerIssues: a peer accepting
// what the codec rejects, rejecting what it accepts, decoding other fields, or panicking.
func FuzzDiffPaho(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkDiff(pahoPeer, data); err != nil {
			t.Fatal(err)
		}
	})
}
