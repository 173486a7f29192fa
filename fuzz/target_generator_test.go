package fuzz

import "testing"

// FuzzGenerator builds packets that are valid or broken in one way and checks that the strict
// codec reaches the generator's verdict, rule and statement included (see checkGenerator).
func FuzzGenerator(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkGenerator(data); err != nil {
			if id := known(err); id != "" {
				t.Skipf("known issue %s (docs/findings.md): %v", id, err)
			}
			t.Fatal(err)
		}
	})
}
