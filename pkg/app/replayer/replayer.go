// Package replayer builds the replayer function: it runs one invocation of one shard of a
// replay on its target (the engine's Runner), and hands each shard's next invocation to itself.
package replayer

import (
	"context"
	"os"

	"github.com/mycrt/captures/pkg/app/withreplay"
	"github.com/mycrt/captures/pkg/app/workerbase"
	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/lifecycle"
)

// New builds the replayer function's worker from its environment: the base (workerbase), whose
// engine each shard run checks its target's server with, and the shard runner, bounded by
// REPLAY_INVOCATION_LIMIT, continuing shards through the base's hand-off to the replayer.
func New(ctx context.Context) (*lifecycle.Worker, error) {
	limit, err := lifecycle.ParseInvocationLimit(os.Getenv(lambdas.EnvInvocationLimit))
	if err != nil {
		return nil, err
	}
	return workerbase.New(ctx, func(b workerbase.Base) {
		b.Worker.InvocationLimit = limit
		b.Worker.Shards = withreplay.Runner(b.AWS.Store, b.Files, b.Recorder, b.Worker.Replays)
	})
}
