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
	// One packet: any complete packet found at any offset of a write, on its own. Fuzzed
	// writes often carry the trigger behind bytes that frame the stream differently, which no
	// amount of removing chunks undoes.
	for si := range cur {
		data := cur[si].Data
		tried := 0
		for i := 0; i < len(data) && tried < 1024; i++ {
			n, ok := frameAt(data[i:])
			if !ok || n == len(data) {
				continue
			}
			tried++
			c := cur.clone()
			c[si].Data = data[i : i+n]
			if reproduces(c) {
				cur[si].Data = data[i : i+n]
				break
			}
		}
	}
	// MQTT packets within each write (framed by their remaining lengths), then bytes; again
	// while that helps, since removing bytes can make the rest frame differently.
	for round := 0; round < 4; round++ {
		before := cur.Size()
		for si := range cur {
			frames := splitFrames(cur[si].Data)
			if len(frames) < 2 {
				continue
			}
			keep := ddmin(len(frames), func(keep []int) bool {
				c := cur.clone()
				c[si].Data = joinFrames(frames, keep)
				return reproduces(c)
			})
			cur[si].Data = joinFrames(frames, keep)
		}
		// Trim: the shortest suffix, then the shortest prefix of each write that still
		// reproduces. Byte removal alone gets stuck where every byte before the trigger decides
		// how the rest is framed.
		for si := range cur {
			data := cur[si].Data
			for i := 1; i < len(data) && i <= 512; i++ { // keep the shortest reproducing suffix
				c := cur.clone()
				c[si].Data = data[i:]
				if reproduces(c) {
					cur[si].Data = data[i:]
				}
			}
			data = cur[si].Data
			for j := 1; j < len(data) && j <= 512; j++ {
				c := cur.clone()
				c[si].Data = data[:j]
				if reproduces(c) {
					cur[si].Data = data[:j]
					break
				}
			}
		}
		for si := range cur {
			data := cur[si].Data
			keep := ddmin(len(data), func(keep []int) bool {
				c := cur.clone()
				c[si].Data = pickBytes(data, keep)
				return reproduces(c)
			})
			cur[si].Data = pickBytes(data, keep)
		}
		if cur.Size() == before {
			break
		}
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

// frameAt returns the length of the complete packet at the front of b, if its header parses
// and the bytes it announces are there.
func frameAt(b []byte) (int, bool) {
	x := 0
	for i := 1; i < len(b) && i <= 4; i++ {
		x |= int(b[i]&0x7F) << (7 * (i - 1))
		if b[i] < 0x80 {
			return i + 1 + x, i+1+x <= len(b)
		}
	}
	return 0, false
}

// splitFrames cuts b into MQTT packets by their fixed headers; what does not frame (a header
// that runs past the end, or a length beyond the bytes) is the last piece.
func splitFrames(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		x, n, ok := 0, 0, false
		for i := 1; i < len(b) && i <= 4; i++ {
			x |= int(b[i]&0x7F) << (7 * (i - 1))
			if b[i] < 0x80 {
				n, ok = i+1, true
				break
			}
		}
		if !ok || n+x > len(b) {
			return append(out, b)
		}
		out = append(out, b[:n+x])
		b = b[n+x:]
	}
	return out
}

func joinFrames(frames [][]byte, keep []int) []byte {
	var out []byte
	for _, i := range keep {
		out = append(out, frames[i]...)
	}
	return out
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
