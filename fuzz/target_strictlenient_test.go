package fuzz

import "testing"

// FuzzStrictLenient decodes arbitrary bytes as 3.1, 3.1.1 or 5.0 from either side, strictly and
// leniently, and checks that errors agree with the codec's rule table and that both modes see
// the same first problem (see checkStrictLenient). codec has its own decode target for round
// trips of what it accepts; this one is about the rejections.
func FuzzStrictLenient(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkDecode(data); err != nil {
			if id := known(err); id != "" {
				t.Skipf("known issue %s (docs/findings.md): %v", id, err)
			}
			t.Fatal(err)
		}
	})
}
