package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/logctx"
)

// TestWorkerLinesCarryTheInvocation: every line the worker logs for an event names the Lambda
// invocation's request id and what the event is about, without the call site saying so.
func TestWorkerLinesCarryTheInvocation(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	w := &lifecycle.Worker{Store: f.store, Recorder: fakeRecorder{}, Now: time.Now, Log: logctx.JSON(&buf)}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "inv-42"})
	if err := w.Handle(ctx, lifecycle.Event{Action: lifecycle.ActionStart, CaptureID: 999}); err != nil {
		t.Fatal(err) // a capture that is gone is no error
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("%q: %v", buf.Bytes(), err)
	}
	if line["request_id"] != "inv-42" || line["capture_id"] != 999.0 || line["action"] != "start" {
		t.Errorf("worker line %s, want the invocation's request id, the capture and the action", buf.Bytes())
	}
}
