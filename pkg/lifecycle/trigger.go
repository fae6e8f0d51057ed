package lifecycle

import (
	"context"
	"sync"
)

// InProcess runs the worker in a goroutine of this process: the local server's trigger.
type InProcess struct {
	Worker *Worker
	wg     sync.WaitGroup
}

// Trigger starts the work and returns at once; the work outlives the request that asked for it.
func (p *InProcess) Trigger(ctx context.Context, ev Event) error {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := p.Worker.Handle(context.WithoutCancel(ctx), ev); err != nil {
			p.Worker.Log.ErrorContext(ctx, "worker failed", "capture_id", ev.CaptureID, "action", string(ev.Action), "error", err.Error())
		}
	}()
	return nil
}

// Wait returns once every triggered piece of work has finished.
func (p *InProcess) Wait() { p.wg.Wait() }
