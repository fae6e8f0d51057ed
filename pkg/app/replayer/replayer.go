// Package replayer builds the replayer function: it runs one invocation of one shard of a
// replay on its target (the engine's Runner), and hands each shard's next invocation to itself.
package replayer

import (
	"context"
	"os"
	"time"

	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withkms"
	"github.com/mycrt/captures/pkg/app/withreplay"
	"github.com/mycrt/captures/pkg/app/withs3"
	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/lifecycle/lambdainvoke"
	"github.com/mycrt/captures/pkg/recording"
)

// New builds the replayer function's worker from its environment.
func New(ctx context.Context) (*lifecycle.Worker, error) {
	a, err := app.LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	network, err := app.Network()
	if err != nil {
		return nil, err
	}
	limit, err := lifecycle.ParseInvocationLimit(os.Getenv(lambdas.EnvInvocationLimit))
	if err != nil {
		return nil, err
	}
	log := app.Logger()
	files := withs3.Files(a)
	rec := &recording.Recorder{Secrets: withkms.Passwords(a), Store: a.Store, Network: network, Now: time.Now, Log: log}
	next := lambdainvoke.Replayer(a.Config, app.Endpoint("LAMBDA"))
	return &lifecycle.Worker{
		Store: a.Store, Now: time.Now, Log: log, Replays: next, InvocationLimit: limit,
		Shards:   withreplay.Runner(a.Store, files, rec, next),
		Replayer: withreplay.Engine{Recorder: rec, Files: files}, // each shard run checks its target's server
	}, nil
}
