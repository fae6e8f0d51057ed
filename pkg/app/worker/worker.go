// Package worker builds the worker function: it records databases (over SQL, and through RDS
// parameter groups), keeps files in the workload bucket and metrics from CloudWatch, and starts
// replays (proving their targets apart, preparing their shards).
package worker

import (
	"context"
	"time"

	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withcloudwatch"
	"github.com/mycrt/captures/pkg/app/withkms"
	"github.com/mycrt/captures/pkg/app/withreplay"
	"github.com/mycrt/captures/pkg/app/withs3"
	"github.com/mycrt/captures/pkg/awsrds"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/lifecycle/lambdainvoke"
	"github.com/mycrt/captures/pkg/recording"
)

// New builds the worker function's worker from its environment.
func New(ctx context.Context) (*lifecycle.Worker, error) {
	a, err := app.LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	network, err := app.Network()
	if err != nil {
		return nil, err
	}
	log := app.Logger()
	rec := &recording.Recorder{
		Secrets: withkms.Passwords(a), Store: a.Store, Blobs: withs3.Files(a), RDS: awsrds.New(a.Config, app.Endpoint("RDS")),
		Network: network, Now: time.Now, Log: log,
	}
	return &lifecycle.Worker{Store: a.Store, Recorder: rec, Metrics: withcloudwatch.Metrics(a), Now: time.Now, Log: log,
		Replayer: withreplay.Engine{Recorder: rec, Files: rec.Blobs}, Replays: lambdainvoke.Replayer(a.Config, app.Endpoint("LAMBDA"))}, nil
}
