package reports

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// compareSectionsSscanf is the first CompareSections, kept as the oracle of the
// allocation-free one: the order of sections in every report must not change.
func compareSectionsSscanf(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		var x, y int
		_, e1 := fmt.Sscanf(as[i], "%d", &x)
		_, e2 := fmt.Sscanf(bs[i], "%d", &y)
		if e1 == nil && e2 == nil && x != y {
			if x < y {
				return -1
			}
			return 1
		}
		if e1 != nil || e2 != nil {
			if c := strings.Compare(as[i], bs[i]); c != 0 {
				return c
			}
		}
	}
	return len(as) - len(bs)
}

func sign(n int) int { return min(max(n, -1), 1) }

func TestCompareSections(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"3.9", "3.10", -1},
		{"3.10", "3.9", 1},
		{"4.7", "4.7", 0},
		{"3", "3.1", -1},
		{"2.2.2", "2.2", 1},
		{"", "", 0},
		{"", "1", -1},
		{"A.1", "1.1", 1}, // a non-number after numbers, as strings
		{"3.01", "3.1", 0},
		{"3.", "3", 1},
		{"-1", "1", -1},
		{"10a", "9", 1},
		{"99999999999999999999", "1", 1}, // too big for %d: compared as strings
	} {
		if got := sign(CompareSections(tc.a, tc.b)); got != tc.want {
			t.Errorf("CompareSections(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	// Random sections over an alphabet with the edge cases: the same sign as the old function.
	r := rand.New(rand.NewPCG(1, 2))
	parts := []string{"", "0", "1", "2", "9", "10", "01", "-3", "+4", "a", "A", "3a", "x1", "99999999999999999999"}
	gen := func() string {
		n := 1 + r.IntN(4)
		p := make([]string, n)
		for i := range p {
			p[i] = parts[r.IntN(len(parts))]
		}
		return strings.Join(p, ".")
	}
	for range 20000 {
		a, b := gen(), gen()
		if got, want := sign(CompareSections(a, b)), sign(compareSectionsSscanf(a, b)); got != want {
			t.Fatalf("CompareSections(%q, %q) = %d, the Sscanf version %d", a, b, got, want)
		}
	}
}

func BenchmarkCompareSections(b *testing.B) {
	for _, tc := range []struct {
		name string
		f    func(a, b string) int
	}{{"cut", CompareSections}, {"sscanf", compareSectionsSscanf}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tc.f("3.10.4", "3.9.12")
			}
		})
	}
}
