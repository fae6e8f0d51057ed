// Package withreplay wires the replay engine (package replay, and the recorder's connections
// to targets) into the worker, which starts replays, and the replayer, which runs their shards,
// on AWS and under make run. It links no AWS client.
package withreplay

import (
	"context"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/replay"
	"github.com/mycrt/captures/pkg/store"
)

// Engine is the replay engine as the worker uses it (lifecycle.Replayer): the recorder proves
// targets apart and finds their servers, Prepare writes shards into Files.
type Engine struct {
	*recording.Recorder
	Files replay.Files
}

// Prepare implements lifecycle.Replayer.
func (e Engine) Prepare(ctx context.Context, c capture.Capture, r capture.Replay) (capture.ReplayPlan, error) {
	return replay.Prepare(ctx, e.Files, c, r)
}

// Runner is the engine's shard runner over the table (baton, progress), files and the
// recorder's connections, continuing shards through next.
func Runner(st *store.Store, files replay.OutcomeFiles, rec *recording.Recorder, next lifecycle.Handoff) *replay.Runner {
	return &replay.Runner{
		Files: files, Dial: rec, Baton: store.Baton{Store: st}, Progress: store.Progress{Store: st},
		Continue: lifecycle.Continuer{Handoff: next}, Now: time.Now, Log: rec.Log,
	}
}
