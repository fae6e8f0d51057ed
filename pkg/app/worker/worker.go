// Package worker builds the worker function: it records databases (over SQL, and through RDS
// parameter groups), keeps files in the workload bucket and metrics from CloudWatch, and starts
// replays (proving their targets apart, preparing their shards).
package worker

import (
	"context"

	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withcloudwatch"
	"github.com/mycrt/captures/pkg/app/workerbase"
	"github.com/mycrt/captures/pkg/awsrds"
	"github.com/mycrt/captures/pkg/lifecycle"
)

// New builds the worker function's worker from its environment: the base (workerbase) with
// its recorder recording, into the bucket and through RDS, and metrics kept from CloudWatch.
func New(ctx context.Context) (*lifecycle.Worker, error) {
	return workerbase.New(ctx, func(b workerbase.Base) {
		b.Recorder.Blobs, b.Recorder.RDS = b.Files, awsrds.New(b.AWS.Config, app.Endpoint("RDS"))
		b.Worker.Recorder, b.Worker.Metrics = b.Recorder, withcloudwatch.Metrics(b.AWS)
	})
}
