package fuzz

import "testing"

// FuzzDiffMochi decodes the same bytes with the strict codec and with the mochi peer (see
// peers.go) and fails on a disagreement that is not documented in peerIssues: a peer accepting
// what the codec rejects, rejecting what it accepts, decoding other fields, or panicking.
func FuzzDiffMochi(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkDiff(mochiPeer, data); err != nil {
			t.Fatal(err)
		}
	})
}
