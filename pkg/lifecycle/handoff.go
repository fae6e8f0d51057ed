package lifecycle

import (
	"context"
	"sync"
)

// Handoff hands work to the worker without waiting for it: lambdainvoke.Handoff (an
// asynchronous Lambda invoke) on AWS, InProcess under make run. The API hands off a capture's
// start, stop and release; the scheduler its due starts and stops, collections, sweeps and
// rescues. A hand-off that is lost is made good by the scheduler's sweeps.
type Handoff interface {
	HandOff(ctx context.Context, ev Event) error
}

// InProcess runs the worker in goroutines of this process: the local server's Handoff. At
// most Limit pieces of work run at once (as Lambda's reserved concurrency bounds the worker on
// AWS); the rest wait their turn, and once Close is called, waiting work is dropped: the
// scheduler's sweeps redo whatever it was, as they redo a lost asynchronous invoke.
type InProcess struct {
	Worker *Worker
	Limit  int // pieces of work run at once; 16 when zero

	once   sync.Once
	slots  chan struct{}
	closed chan struct{}
	wg     sync.WaitGroup
}

func (p *InProcess) init() {
	p.once.Do(func() {
		limit := p.Limit
		if limit <= 0 {
			limit = 16
		}
		p.slots = make(chan struct{}, limit)
		p.closed = make(chan struct{})
	})
}

// HandOff queues the work and returns at once; the work outlives the request that asked for it.
func (p *InProcess) HandOff(ctx context.Context, ev Event) error {
	p.init()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case p.slots <- struct{}{}:
		case <-p.closed:
			return
		}
		defer func() { <-p.slots }()
		select {
		case <-p.closed: // it had to wait past the close
			return
		default:
		}
		if err := p.Worker.Handle(context.WithoutCancel(ctx), ev); err != nil {
			p.Worker.Log.ErrorContext(ctx, "worker failed", "capture_id", ev.CaptureID, "action", string(ev.Action), "error", err.Error())
		}
	}()
	return nil
}

// Close drops the work still waiting for its turn; work running goes on to its end (Wait).
func (p *InProcess) Close() {
	p.init()
	select {
	case <-p.closed:
	default:
		close(p.closed)
	}
}

// Wait returns once every triggered piece of work has finished or been dropped.
func (p *InProcess) Wait() { p.wg.Wait() }
