package fuzz

import "testing"

// FuzzStream reads a stream through codec.Reader in arbitrary chunks and checks it yields what
// decoding the whole buffer yields, on every Reader path (see checkStream).
func FuzzStream(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkStream(data); err != nil {
			if id := known(err); id != "" {
				t.Skipf("known issue %s (docs/findings.md): %v", id, err)
			}
			t.Fatal(err)
		}
	})
}
