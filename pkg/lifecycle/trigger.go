package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
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

// Invoker invokes the worker Lambda asynchronously (InvocationType Event): the API answers at
// once, and Lambda retries a failed invocation by itself; the scheduler retries what is left.
type Invoker struct {
	Client   *lambda.Client
	Function string
}

// Trigger queues the work with Lambda.
func (i *Invoker) Trigger(ctx context.Context, ev Event) error {
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = i.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(i.Function),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return fmt.Errorf("invoke worker for capture %d: %w", ev.CaptureID, err)
	}
	return nil
}
