package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/shard"
)

// Replayer checks a replay's target and prepares its workload: the engine (recording.Recorder's
// SameServer and Server, replay.Prepare over the bucket).
type Replayer interface {
	// SameServer reports whether target reaches the server source's capture recorded
	// (recorded is the capture's Server), by proof over a connection to each.
	SameServer(ctx context.Context, source, target capture.Environment, recorded string) (bool, error)
	// Server returns the key of the server target reaches: what one replay at a time holds.
	Server(ctx context.Context, target capture.Environment) (string, error)
	// Prepare stores r's shards from c's workload and returns the plan, without its epoch.
	Prepare(ctx context.Context, c capture.Capture, r capture.Replay) (capture.ReplayPlan, error)
}

// ShardRunner runs one invocation of one shard on target (replay.Runner.Run).
type ShardRunner interface {
	Run(ctx context.Context, target capture.Environment, job shard.Job) (shard.Result, error)
}

// EpochLead is how far ahead of the move to RUNNING a replay's shards share their start: room
// for every shard's invocation to begin and connect, so they begin together.
const EpochLead = 3 * time.Second

// HeartbeatEvery is how often a shard run tells the table it is alive (HeartbeatLimit is how
// long the scheduler lets one go without).
const HeartbeatEvery = 10 * time.Second

// Reasons a replay's worker fails it with.
const (
	targetFailPrefix  = capture.ReplayTargetFailPrefix
	prepareFailPrefix = "Could not prepare the capture's workload: "
)

// handleReplay runs ev on its replay. A replay deleted before its work ran needs none.
func (w *Worker) handleReplay(ctx context.Context, ev Event) error {
	var err error
	switch ev.Action {
	case ActionStart:
		err = w.StartReplay(ctx, ev.ReplayID)
	case ActionRun:
		if w.Shards == nil {
			return fmt.Errorf("worker: this function runs no shards (the replayer does): %s of replay %d", ev.Action, ev.ReplayID)
		}
		err = w.RunShard(ctx, ev.shard())
	case ActionStop:
		err = w.SettleReplay(ctx, ev.ReplayID)
	case ActionRelease:
		return w.ReleaseReplay(ctx, ev)
	default:
		return fmt.Errorf("worker: unknown replay action %q", ev.Action)
	}
	if errors.Is(err, capture.ErrReplayNotFound) {
		w.Log.InfoContext(ctx, "replay gone before its work ran")
		return nil
	}
	return err
}

// moveReplay writes r's move to next; losing the race to another is not an error. A replay
// lost because it was deleted meanwhile (its capture's or its target's delete, or its own)
// lets go of the server r holds: the delete's release may have come before this worker took
// the hold.
func (w *Worker) moveReplay(ctx context.Context, r, next capture.Replay) (bool, error) {
	err := w.Store.MoveReplay(ctx, next, r.Status)
	if errors.Is(err, capture.ErrChanged) {
		if _, err := w.Store.Replay(ctx, r.ID); errors.Is(err, capture.ErrReplayNotFound) {
			return false, w.release(ctx, r)
		}
		return false, nil
	}
	return err == nil, err
}

// failReplay fails r for reason and lets go of the target server it may hold.
func (w *Worker) failReplay(ctx context.Context, r capture.Replay, reason string) error {
	next, err := capture.FailReplay(r, reason, w.Now())
	if err != nil {
		return err
	}
	w.Log.WarnContext(ctx, "replay failed", "replay_id", r.ID, "reason", reason)
	if ok, err := w.moveReplay(ctx, r, next); !ok {
		return err
	}
	return w.release(ctx, next)
}

// release lets go of the target server r holds, if it holds one.
func (w *Worker) release(ctx context.Context, r capture.Replay) error {
	if r.Server == "" {
		return nil
	}
	return w.Store.ReleaseServer(ctx, r.Server, r.ID)
}

// StartReplay takes a STARTED (or resumes a STARTING) replay to RUNNING, or to FAILED with a
// reason: it proves the target is not the capture's server, holds the target's server,
// prepares the workload into shards, and hands each shard's first invocation to the replayer.
func (w *Worker) StartReplay(ctx context.Context, id int64) error {
	r, err := w.Store.Replay(ctx, id)
	if err != nil {
		return fmt.Errorf("start replay %d: %w", id, err)
	}
	if r.Status == capture.Started {
		next, err := capture.MoveReplay(r, capture.Starting, w.Now())
		if err != nil {
			return err
		}
		if ok, err := w.moveReplay(ctx, r, next); !ok {
			return err
		}
		r = next
	}
	if r.Status != capture.Starting {
		return nil // past starting: a repeated trigger
	}
	c, err := w.Store.Capture(ctx, r.CaptureID)
	if errors.Is(err, capture.ErrCaptureNotFound) {
		return w.failReplay(ctx, r, capture.ReplayCaptureGoneReason)
	}
	if err != nil {
		return fmt.Errorf("start replay %d: %w", id, err)
	}
	target, err := w.Store.Environment(ctx, r.EnvID)
	if errors.Is(err, capture.ErrEnvNotFound) {
		return w.failReplay(ctx, r, capture.ReplayTargetGoneReason)
	}
	if err != nil {
		return fmt.Errorf("start replay %d: %w", id, err)
	}
	// A capture's environment that is gone is proven apart by its recorded server's claim.
	source, err := w.Store.Environment(ctx, c.EnvID)
	if err != nil && !errors.Is(err, capture.ErrEnvNotFound) {
		return fmt.Errorf("start replay %d: %w", id, err)
	}
	same, err := w.Replayer.SameServer(ctx, source, target, c.Server)
	if err != nil {
		w.Log.WarnContext(ctx, "replay target unreachable", "replay_id", id, "error", awserr.Detail(err))
		return w.failReplay(ctx, r, targetFailPrefix+err.Error())
	}
	if same {
		return w.failReplay(ctx, r, capture.ErrSameServer.Message)
	}
	if r.Server == "" {
		server, err := w.Replayer.Server(ctx, target)
		if err != nil {
			return w.failReplay(ctx, r, targetFailPrefix+err.Error())
		}
		// Recorded before it is held, so that whatever ends the replay lets go of it.
		if r, err = w.Store.SetReplayServer(ctx, r, server); errors.Is(err, capture.ErrChanged) {
			return nil
		} else if err != nil {
			return err
		}
	}
	if err := w.Store.HoldServer(ctx, r.Server, r.ID, w.Now()); errors.Is(err, capture.ErrTargetBusy) {
		r.Server = "" // another replay's hold: not this one's to release
		return w.failReplay(ctx, r, capture.ErrTargetBusy.Message)
	} else if err != nil {
		return err
	}
	plan, err := w.Replayer.Prepare(ctx, c, r)
	if err != nil {
		w.Log.WarnContext(ctx, "replay not prepared", "replay_id", id, "error", awserr.Detail(err))
		return w.failReplay(ctx, r, prepareFailPrefix+err.Error())
	}
	now := w.Now()
	plan.Epoch = now.Add(EpochLead)
	if plan.Shards == 0 {
		plan.Epoch = now // nothing to start together: it starts and ends now, never ending before its start
	}
	if err := w.Store.CreateShards(ctx, r.ID, plan.Shards, now); err != nil {
		return err
	}
	next, err := capture.Run(r, plan, now)
	if err != nil {
		return err
	}
	if plan.Shards == 0 {
		next.Reason = capture.NothingToReplayReason
	}
	if ok, err := w.moveReplay(ctx, r, next); !ok {
		return err
	}
	w.Log.InfoContext(ctx, "replay RUNNING", "replay_id", id, "shards", plan.Shards, "statements", plan.Statements)
	if plan.Shards == 0 {
		return w.finish(ctx, next) // nothing the filters keep: done at once
	}
	var errs []error
	for n := range plan.Shards {
		errs = append(errs, w.Replays.HandOff(ctx, ShardEvent(shard.Shard{Replay: id, Shard: n})))
	}
	return errors.Join(errs...)
}

// finish ends a replay whose shards are all done: RUNNING or STOPPING → DONE, and lets go of
// its target server.
func (w *Worker) finish(ctx context.Context, r capture.Replay) error {
	if r.Status == capture.Running {
		next, err := capture.MoveReplay(r, capture.Stopping, w.Now())
		if err != nil {
			return err
		}
		if ok, err := w.moveReplay(ctx, r, next); !ok {
			return err
		}
		r = next
	}
	if r.Status != capture.Stopping {
		return nil
	}
	next, err := capture.MoveReplay(r, capture.Done, w.Now())
	if err != nil {
		return err
	}
	if ok, err := w.moveReplay(ctx, r, next); !ok {
		return err
	}
	w.Log.InfoContext(ctx, "replay DONE", "replay_id", r.ID)
	return w.release(ctx, next)
}

// RunShard runs shard run s (the replayer's action) while its replay runs, beating its heart;
// a run that is no longer its shard's current one (the scheduler ran it again) is stopped.
// When s runs its shard's last statement, and it is the last shard to, the replay is DONE; a
// shard run that fails fails the replay.
func (w *Worker) RunShard(ctx context.Context, s shard.Shard) error {
	r, err := w.Store.Replay(ctx, s.Replay)
	if err != nil {
		return fmt.Errorf("run shard %d of replay %d: %w", s.Shard, s.Replay, err)
	}
	if r.Status != capture.Running && r.Status != capture.Stopping {
		return nil
	}
	target, err := w.Store.Environment(ctx, r.EnvID)
	if errors.Is(err, capture.ErrEnvNotFound) {
		return w.failReplay(ctx, r, capture.ReplayTargetGoneReason)
	}
	if err != nil {
		return err
	}
	// The target was proven apart from the capture's server, and held, as it was at the
	// start: an environment edited since (or a name now resolving elsewhere) must not take
	// the replay to another server, the capture's own perhaps.
	if w.Replayer == nil {
		return fmt.Errorf("worker: no replayer to check shard %d's target of replay %d", s.Shard, s.Replay)
	}
	if server, err := w.Replayer.Server(ctx, target); err != nil {
		w.Log.WarnContext(ctx, "replay target unreachable", "replay_id", s.Replay, "shard", s.Shard, "error", awserr.Detail(err))
		return w.failReplay(ctx, r, targetFailPrefix+err.Error())
	} else if server != r.Server {
		return w.failReplay(ctx, r, capture.ReplayTargetMovedReason)
	}
	deadline, ok := ctx.Deadline()
	if !ok || w.InvocationLimit > 0 && time.Until(deadline) > w.InvocationLimit {
		deadline = w.Now().Add(w.invocationLimit())
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	beats := make(chan struct{})
	go func() {
		defer close(beats)
		w.beat(runCtx, s, cancel)
	}()
	res, err := w.Shards.Run(runCtx, target, shard.Job{Shard: s, Replay: r, Deadline: deadline})
	cancel(nil)
	<-beats
	// A run that ended well may have been fenced after its baton passed (it stores its
	// outcomes then): only a run cut short by the fence is one.
	if cause := context.Cause(runCtx); err != nil && errors.Is(cause, shard.ErrNotCurrent) {
		w.Log.WarnContext(ctx, "shard run fenced off: another runs in its place", "replay_id", s.Replay, "shard", s.Shard, "invocation", s.Invocation)
		return nil
	}
	if errors.Is(err, shard.ErrNotCurrent) || errors.Is(err, shard.ErrStopped) {
		return nil
	}
	if err != nil {
		w.Log.WarnContext(ctx, "shard run failed", "replay_id", s.Replay, "shard", s.Shard, "error", awserr.Detail(err))
		return w.failReplay(ctx, r, fmt.Sprintf("Shard %d failed: %s", s.Shard, err.Error()))
	}
	w.Log.InfoContext(ctx, "shard run ended", "replay_id", s.Replay, "shard", s.Shard, "invocation", s.Invocation,
		"statements", res.Statements, "errors", res.Errors, "done", res.Done)
	if !res.Done {
		return nil // its successor carries on
	}
	all, err := w.Store.FinishShard(ctx, s, w.Now())
	if errors.Is(err, shard.ErrNotCurrent) || err != nil || !all {
		return nil
	}
	if r, err = w.Store.Replay(ctx, s.Replay); err != nil {
		return err
	}
	return w.finish(ctx, r)
}

// beat tells the table every HeartbeatEvery that s is alive until ctx ends; once s is no
// longer its shard's current invocation it cancels the run with shard.ErrNotCurrent.
func (w *Worker) beat(ctx context.Context, s shard.Shard, cancel context.CancelCauseFunc) {
	every := w.HeartbeatEvery
	if every <= 0 {
		every = HeartbeatEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.Store.Beat(ctx, s, w.Now()); errors.Is(err, shard.ErrNotCurrent) {
			cancel(err)
			return
		} else if err != nil && ctx.Err() == nil {
			w.Log.WarnContext(ctx, "heartbeat not written", "replay_id", s.Replay, "shard", s.Shard, "error", awserr.Detail(err))
		}
	}
}

// DefaultInvocationLimit is how long a shard run lasts when its context has no deadline (in
// process): Lambda's 15 minutes less a margin.
const DefaultInvocationLimit = 14 * time.Minute

// ParseInvocationLimit reads REPLAY_INVOCATION_LIMIT's value, a Go duration: 0 (the default,
// DefaultInvocationLimit or the Lambda invocation's own deadline) when empty.
func ParseInvocationLimit(raw string) (time.Duration, error) {
	if raw == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive Go duration, such as 14m or 10s", lambdas.EnvInvocationLimit, raw)
	}
	return d, nil
}

func (w *Worker) invocationLimit() time.Duration {
	if w.InvocationLimit > 0 {
		return w.InvocationLimit
	}
	return DefaultInvocationLimit
}

// SettleReplay ends a STOPPING replay whose shards have all ended (done, or gone quiet for
// capture.HeartbeatLimit), as the stop's hand-off and the scheduler ask.
func (w *Worker) SettleReplay(ctx context.Context, id int64) error {
	r, err := w.Store.Replay(ctx, id)
	if err != nil {
		return fmt.Errorf("settle replay %d: %w", id, err)
	}
	if r.Status != capture.Stopping {
		return nil
	}
	shards, err := w.Store.Shards(ctx, id)
	if err != nil {
		return err
	}
	for _, st := range shards {
		if !st.Done && w.Now().Sub(st.Heartbeat) < capture.HeartbeatLimit {
			return nil // still stopping: the last shard to end finishes it
		}
	}
	return w.finish(ctx, r)
}

// ReleaseReplay lets go of the target server of a replay that ended without its end, or was
// deleted (ev names the server, since the replay may be gone). A live replay keeps it.
func (w *Worker) ReleaseReplay(ctx context.Context, ev Event) error {
	r, err := w.Store.Replay(ctx, ev.ReplayID)
	switch {
	case err == nil && r.Status.Live():
		return nil
	case errors.Is(err, capture.ErrReplayNotFound):
		r = capture.Replay{ID: ev.ReplayID, Server: ev.Server}
	case err != nil:
		return fmt.Errorf("release replay %d: %w", ev.ReplayID, err)
	}
	return w.release(ctx, r)
}

// Continuer starts a shard's next invocation by handing it to the replayer (shard.Continuer).
type Continuer struct{ Handoff Handoff }

// Continue implements shard.Continuer.
func (c Continuer) Continue(ctx context.Context, next shard.Shard) error {
	return c.Handoff.HandOff(ctx, ShardEvent(next))
}
