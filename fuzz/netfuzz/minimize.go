package netfuzz

import (
	"context"
	"errors"
	"time"
)

// minimize shrinks in by delta debugging while it still makes the target fail the same way:
// whole writes first, then the bytes of each write, then the pauses. back brings the target
// back between attempts (waiting out a hang, restarting after a crash). It returns false when
// the input does not reproduce at all.
func minimize(ctx context.Context, r *runner, kind string, in Input, budget time.Duration, back func() bool) (Input, bool) {
	deadline := time.Now().Add(budget)
	reproduces := func(c Input) bool {
		if len(c) == 0 || time.Now().After(deadline) || ctx.Err() != nil || !back() {
			return false
		}
		_, err := r.exec(ctx, c)
		if errors.Is(err, errDial) {
			return kind == Crash
		}
		k, d := r.probe(ctx)
		k, _ = r.confirm(ctx, k, d)
		return k == kind
	}
	if !reproduces(in) {
		return nil, false
	}
	cur := in.clone()
	// Whole writes.
	steps := ddmin(len(cur), func(keep []int) bool {
		c := make(Input, 0, len(keep))
		for _, i := range keep {
			c = append(c, cur[i])
		}
		return reproduces(c)
	})
	next := make(Input, 0, len(steps))
	for _, i := range steps {
		next = append(next, cur[i])
	}
	cur = next
	// Bytes of each write.
	for si := range cur {
		data := cur[si].Data
		keep := ddmin(len(data), func(keep []int) bool {
			c := cur.clone()
			c[si].Data = pickBytes(data, keep)
			return reproduces(c)
		})
		cur[si].Data = pickBytes(data, keep)
	}
	// Pauses: all at once, then one by one.
	if cur.Duration() > 0 {
		c := cur.clone()
		for i := range c {
			c[i].Delay = 0
		}
		if reproduces(c) {
			cur = c
		} else {
			for i := range cur {
				if cur[i].Delay == 0 {
					continue
				}
				c := cur.clone()
				c[i].Delay = 0
				if reproduces(c) {
					cur = c
				}
			}
		}
	}
	return cur, true
}

func pickBytes(b []byte, keep []int) []byte {
	out := make([]byte, 0, len(keep))
	for _, i := range keep {
		out = append(out, b[i])
	}
	return out
}

// ddmin is Zeller's delta debugging over the indices 0..n-1: it returns a subset (in order)
// for which test still holds, removing chunks of halving size while the test passes without
// them. test must hold for the full set.
func ddmin(n int, test func(keep []int) bool) []int {
	cur := make([]int, n)
	for i := range cur {
		cur[i] = i
	}
	chunks := 2
	for len(cur) >= 2 {
		size := (len(cur) + chunks - 1) / chunks
		reduced := false
		for start := 0; start < len(cur); start += size {
			end := min(start+size, len(cur))
			complement := append(append([]int(nil), cur[:start]...), cur[end:]...)
			if len(complement) > 0 && test(complement) {
				cur = complement
				chunks = max(chunks-1, 2)
				reduced = true
				break
			}
		}
		if !reduced {
			if chunks >= len(cur) {
				break
			}
			chunks = min(chunks*2, len(cur))
		}
	}
	return cur
}
