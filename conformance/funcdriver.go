package conformance

import (
	"context"
	"sync"
)

// FuncDriver runs the client under test in process: Run performs the action and returns when
// the client is done. The reference client's driver is one.
type FuncDriver struct {
	DriverName string
	Can        func(a Action) bool // nil: every action
	Run        func(ctx context.Context, a Action) error
}

// Name implements Driver.
func (d *FuncDriver) Name() string { return d.DriverName }

// Supports implements Driver.
func (d *FuncDriver) Supports(a Action) bool { return d.Can == nil || d.Can(a) }

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
