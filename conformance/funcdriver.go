package conformance

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// FuncDriver runs the client under test in process: Run performs the action and returns when
// the client is done. The reference client's driver is one.
type FuncDriver struct {
	DriverName string
	// Description says what runs the client (see Describer); empty: none.
	Description string
	// Can reports whether Run can perform the action (nil: every action).
	Can func(a Action) bool
	// Explain returns why Run cannot perform the action, "" when it can (nil: no reason given).
	// When set, an action it objects to is not supported, whatever Can says.
	Explain func(a Action) string
	Run     func(ctx context.Context, a Action) error
	// Refusal tells, from the error Run returned, whether the client refused the action (see
	// Refuser): a description of the refusal, or "" for any other error. nil: the driver cannot
	// tell a refusal from another failure.
	Refusal func(err error) string
}

// Name implements Driver.
func (d *FuncDriver) Name() string { return d.DriverName }

// Supports implements Driver.
func (d *FuncDriver) Supports(a Action) bool {
	return (d.Can == nil || d.Can(a)) && (d.Explain == nil || d.Explain(a) == "")
}

// Why implements Explainer.
func (d *FuncDriver) Why(a Action) string {
	if d.Explain == nil {
		return ""
	}
	return d.Explain(a)
}

// Describe implements Describer.
func (d *FuncDriver) Describe() string { return d.Description }

// Start implements Driver: Run goes in its own goroutine, cancelled by Stop.
func (d *FuncDriver) Start(ctx context.Context, a Action) (ClientProcess, error) {
	ctx, cancel := context.WithCancel(ctx)
	p := &funcProcess{cancel: cancel, done: make(chan struct{}), refusal: d.Refusal}
	go func() {
		defer close(p.done)
		// A panicking client is a crash of the program under test, reported as its end (with
		// the stack's start), not a crash of the suite.
		defer func() {
			if r := recover(); r != nil {
				p.err = &panicError{value: r, stack: tail(string(debug.Stack()), 2048)}
			}
		}()
		p.err = d.Run(ctx, a)
	}()
	if d.Refusal == nil {
		return struct{ ClientProcess }{p}, nil // no Refuser: the driver cannot tell
	}
	return p, nil
}

// panicError is how an in-process client that panicked ended.
type panicError struct {
	value any
	stack string
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v\n%s", e.value, e.stack) }

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

type funcProcess struct {
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
	once    sync.Once
	refusal func(error) string
}

// Refusal implements Refuser: the driver's reading of the error Run returned; a panic or a
// clean return is never a refusal.
func (p *funcProcess) Refusal() string {
	select {
	case <-p.done:
	default:
		return ""
	}
	var pe *panicError
	if p.err == nil || errors.As(p.err, &pe) || p.refusal == nil {
		return ""
	}
	return p.refusal(p.err)
}

func (p *funcProcess) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		// Both may be ready: a finished client reports how it finished.
		select {
		case <-p.done:
			return p.err
		default:
		}
		return ctx.Err()
	}
}

func (p *funcProcess) Stop() {
	p.once.Do(p.cancel)
	<-p.done
}

func (p *funcProcess) Output() string {
	select {
	case <-p.done:
		if p.err != nil {
			return "error: " + p.err.Error()
		}
	default:
	}
	return ""
}
