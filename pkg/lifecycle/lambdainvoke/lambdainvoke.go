// Package lambdainvoke hands work to the worker Lambda function with asynchronous invokes. It
// is apart from package lifecycle so that only the functions that hand work on link the Lambda
// client.
package lambdainvoke

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/lifecycle"
)

// Invoker invokes the worker Lambda asynchronously (InvocationType Event): the API answers at
// once, Lambda retries a failed invocation by itself (then sends it to the stack's
// WorkerFailures queue), and the scheduler retries what is left.
type Invoker struct {
	Client   *lambda.Client
	Function string
}

// Trigger queues the work with Lambda.
func (i *Invoker) Trigger(ctx context.Context, ev lifecycle.Event) error {
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = i.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(i.Function),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	})
	return awserr.Wrap(fmt.Sprintf("hand %s of capture %d to the worker", ev.Action, ev.CaptureID), err)
}
