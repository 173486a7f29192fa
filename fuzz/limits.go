package fuzz

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"time"
)

// heapAllocated returns the bytes allocated on the heap since the program started. It reads
// runtime/metrics, which does not stop the world, so a target can afford it on every input; the
// count lags by what per-P caches have not flushed yet, which the bounds leave room for.
func heapAllocated() uint64 {
	s := [1]metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s[:])
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// allocBound is what a session of n input bytes may allocate: a fixed allowance for setting up
// a broker or client and per byte a generous multiple (decoded copies, queues, transcripts).
// Exceeding it means memory follows something other than the bytes that arrived, such as a
// length a packet merely announced.
func allocBound(n int) uint64 { return 8<<20 + 512*uint64(n) }

// goroutines is runtime.NumGoroutine read until two reads in a row agree (at most five, then the
// highest). The runtime counts without a lock, and a read taken while exited goroutines move
// between its free lists comes out low, clamped to 1: a campaign of the broker-session target once took
// such a 1 as its base and failed an input for five goroutines that were no leak.
func goroutines() int {
	n := runtime.NumGoroutine()
	for range 4 {
		runtime.Gosched()
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = max(n, m)
	}
	return n
}

// waitGoroutines waits until no more than base goroutines run, for at most d, and otherwise
// returns an error with the stacks of all goroutines.
func waitGoroutines(base int, d time.Duration) error {
	if waitFor(d, func() bool { return goroutines() <= base }) {
		return nil
	}
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, true)]
	return fmt.Errorf("goroutine leak: %d goroutines %v after the session, %d before\n%s", runtime.NumGoroutine(), d, base, buf)
}

// waitFor polls cond until it holds or d has passed, and reports whether it held. Session
// targets wait like this after every input, so the wait is cheap when cond is about to hold:
// goroutines that are ending usually only need to be scheduled, so it first yields, then
// sleeps from 10µs doubling to 1ms (a fixed 1ms sleep made it the most expensive part of an
// input).
func waitFor(d time.Duration, cond func() bool) bool {
	for range 100 {
		if cond() {
			return true
		}
		runtime.Gosched()
	}
	deadline := time.Now().Add(d)
	sleep := 10 * time.Microsecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, time.Millisecond)
	}
}
