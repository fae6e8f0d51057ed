// Package lambdainvoke hands work to the worker Lambda function with asynchronous invokes. It
// is apart from package lifecycle so that only the functions that hand work on link it.
package lambdainvoke

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/awsreq"
	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/lifecycle"
)

// Handoff invokes the worker Lambda asynchronously (InvocationType Event): the API answers at
// once, Lambda retries a failed invocation by itself (then sends it to the stack's
// WorkerFailures queue), and the scheduler retries what is left.
type Handoff struct {
	lambda   awsreq.Client
	function string
}

// New invokes function with cfg's credentials, at endpoint (Lambda's in cfg's region when
// empty).
func New(cfg aws.Config, endpoint, function string) *Handoff {
	return &Handoff{lambda: awsreq.New(cfg, "lambda", endpoint), function: function}
}

// Replayer invokes the replayer function, REPLAYER_FUNCTION, with cfg's credentials at
// endpoint: where replays' shard runs are handed.
func Replayer(cfg aws.Config, endpoint string) *Handoff {
	return New(cfg, endpoint, os.Getenv(lambdas.EnvReplayer))
}

// HandOff queues the work with Lambda: the Invoke API, answered 202 once Lambda holds the
// event.
func (i *Handoff) HandOff(ctx context.Context, ev lifecycle.Event) error {
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, _, err = i.lambda.Do(ctx, awsreq.Request{
		Method: http.MethodPost,
		Path:   "/2015-03-31/functions/" + i.function + "/invocations",
		Header: http.Header{"X-Amz-Invocation-Type": {"Event"}, "Content-Type": {"application/json"}},
		Body:   payload,
	})
	what := fmt.Sprintf("capture %d", ev.CaptureID)
	if ev.ReplayID != 0 {
		what = fmt.Sprintf("replay %d", ev.ReplayID)
	}
	return awserr.Wrap(fmt.Sprintf("hand %s of %s to %s", ev.Action, what, i.function), err)
}
