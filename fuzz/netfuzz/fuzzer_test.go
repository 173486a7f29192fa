package netfuzz

import (
	"context"
	"testing"
	"time"
)

// expiredCtx has a deadline in the past but, like a context whose timer has not fired yet,
// reports no error.
type expiredCtx struct{ context.Context }

func (expiredCtx) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

func TestOverSeesAPassedDeadline(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"background", context.Background(), false},
		{"deadline passed, timer not fired", expiredCtx{context.Background()}, true},
		{"deadline ahead", func() context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			t.Cleanup(cancel)
			return ctx
		}(), false},
		{"cancelled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}(), true},
	} {
		if got := over(tc.ctx); got != tc.want {
			t.Errorf("%s: over = %t, want %t", tc.name, got, tc.want)
		}
	}
}
