// Package workerbase builds what the worker function and the replayer function both are, from
// their environment: a lifecycle.Worker on the table that dials databases (the recorder, its
// passwords unsealed with KMS, under the network policy), keeps files in the workload bucket,
// starts replays with the engine and hands their shard runs to the replayer. Each function's
// package adds what only it uses, so that neither links the other's AWS callers.
package workerbase

import (
	"context"
	"time"

	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withkms"
	"github.com/mycrt/captures/pkg/app/withreplay"
	"github.com/mycrt/captures/pkg/app/withs3"
	"github.com/mycrt/captures/pkg/blob/s3blob"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/lifecycle/lambdainvoke"
	"github.com/mycrt/captures/pkg/recording"
)

// Base is what New builds, for the function to complete.
type Base struct {
	AWS app.AWS
	// Worker has its Store, Now, Log, Replayer (the engine, on Recorder and Files) and Replays
	// (the hand-off to the replayer) set; no Recorder, so it starts no recording until given one.
	Worker *lifecycle.Worker
	// Recorder has its Secrets, Store, Network, Now and Log set: it dials databases (the
	// engine's connections to targets), and records only once given Blobs and RDS.
	Recorder *recording.Recorder
	Files    s3blob.Bucket // the workload bucket
}

// New builds the base from the environment (the table, the AWS configuration, the network
// policy, the key, the bucket and the replayer's name: lambdas.EnvTable and the rest), lets
// complete add what only its function uses, and returns the worker.
func New(ctx context.Context, complete func(Base)) (*lifecycle.Worker, error) {
	a, err := app.LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	network, err := app.Network()
	if err != nil {
		return nil, err
	}
	log := app.Logger()
	files := withs3.Files(a)
	rec := &recording.Recorder{Secrets: withkms.Passwords(a), Store: a.Store, Network: network, Now: time.Now, Log: log}
	w := &lifecycle.Worker{
		Store: a.Store, Now: time.Now, Log: log,
		Replayer: withreplay.Engine{Recorder: rec, Files: files},
		Replays:  lambdainvoke.Replayer(a.Config, app.Endpoint("LAMBDA")),
	}
	complete(Base{AWS: a, Worker: w, Recorder: rec, Files: files})
	return w, nil
}
