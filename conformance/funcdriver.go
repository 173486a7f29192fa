package conformance

import (
	"context"
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
	p := &funcProcess{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = d.Run(ctx, a)
	}()
	return p, nil
}

type funcProcess struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	once   sync.Once
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
