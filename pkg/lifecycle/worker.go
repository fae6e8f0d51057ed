// Package lifecycle moves captures through their states by themselves: the Worker does the
// slow work of starting and stopping a recording outside any API request, and the Scheduler
// fires scheduled starts and stops at their second and retries or fails captures whose worker
// never finished. Every move is a write conditional on the state it leaves, so repeated or
// concurrent triggers are harmless.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/logctx"
	"github.com/mycrt/captures/pkg/shard"
	"github.com/mycrt/captures/pkg/store"
)

// Recorder turns a database's recording on (Begin), collects what its server recorded so far,
// for every capture recording that server, while the capture runs (Collect, which returns
// those captures as it left them), and collects the rest and turns it off (End). Release turns it off
// for a capture that ended without End: failed while stuck, or deleted while live. Sweep looks
// after a general log lease the scheduler found due: holders gone, restores to retry.
type Recorder interface {
	Begin(ctx context.Context, env capture.Environment, c capture.Capture) error
	Collect(ctx context.Context, env capture.Environment, c capture.Capture) ([]capture.Capture, error)
	End(ctx context.Context, env capture.Environment, c capture.Capture) error
	Release(ctx context.Context, env capture.Environment, c capture.Capture) error
	Sweep(ctx context.Context, lease string) error
}

// MetricsKeeper keeps a copy of a capture's metrics beside its workload.
type MetricsKeeper interface {
	Keep(ctx context.Context, env capture.Environment, c capture.Capture) error
	KeepEmpty(ctx context.Context, env capture.Environment, c capture.Capture) error
}

// Worker does the work of the STARTED, STARTING and STOPPING states, collects running
// captures, and keeps done captures' metrics.
type Worker struct {
	Store    *store.Store
	Recorder Recorder
	Metrics  MetricsKeeper // nil: metrics are not kept
	Now      func() time.Time
	Log      *slog.Logger

	// Replayer starts replays; Shards runs their shards (the replayer function's worker);
	// Replays hands shard runs to the replayer.
	Replayer Replayer
	Shards   ShardRunner
	Replays  Handoff
	// InvocationLimit bounds a shard run (DefaultInvocationLimit when zero, or the Lambda
	// invocation's deadline if sooner); HeartbeatEvery is how often it beats (HeartbeatEvery).
	InvocationLimit time.Duration
	HeartbeatEvery  time.Duration
}

// Action is what a worker is asked to do.
type Action string

const (
	ActionStart   Action = "start"
	ActionStop    Action = "stop"
	ActionCollect Action = "collect"
	ActionMetrics Action = "metrics"
	ActionRelease Action = "release"
	ActionSweep   Action = "sweep"
)

// Event is the worker Lambda's payload, and the replayer's (ActionRun). An event with a
// ReplayID is about that replay, one with a CaptureID about that capture.
type Event struct {
	Action    Action `json:"action"`
	CaptureID int64  `json:"captureId,omitempty"`
	EnvID     int64  `json:"envId,omitempty"` // for release, whose capture may be gone
	Lease     string `json:"lease,omitempty"` // for release, the capture's lease; for sweep, the lease
	ReplayID  int64  `json:"replayId,omitempty"`
	// Shard and Invocation name the shard run of ActionRun (shard.Shard).
	Shard      int `json:"shard,omitempty"`
	Invocation int `json:"invocation,omitempty"`
	// Server is, for a replay's release, the target server it held (its replay may be gone).
	Server string `json:"server,omitempty"`
}

// ActionRun runs one invocation of one shard of a replay: the replayer function's one action.
const ActionRun Action = "run"

// ReplayEvent asks for action (start, stop or release) on replay r. A release names the
// server r held, since r may be gone when it runs.
func ReplayEvent(action Action, r capture.Replay) Event {
	ev := Event{Action: action, ReplayID: r.ID}
	if action == ActionRelease {
		ev.Server = r.Server
	}
	return ev
}

// ShardEvent asks the replayer to run shard run s.
func ShardEvent(s shard.Shard) Event {
	return Event{Action: ActionRun, ReplayID: s.Replay, Shard: s.Shard, Invocation: s.Invocation}
}

// shard is the shard run ev names.
func (ev Event) shard() shard.Shard {
	return shard.Shard{Replay: ev.ReplayID, Shard: ev.Shard, Invocation: ev.Invocation}
}

// Work asks for action on capture c: the one way the API and the scheduler build the worker's
// payload. A release names c's environment and lease too, since c may be gone when it runs.
func CaptureEvent(action Action, c capture.Capture) Event {
	ev := Event{Action: action, CaptureID: c.ID}
	if action == ActionRelease {
		ev.EnvID, ev.Lease = c.EnvID, c.Lease
	}
	return ev
}

// Sweep asks for a sweep of the general log lease key.
func Sweep(key string) Event { return Event{Action: ActionSweep, Lease: key} }

// Handle runs one event; it is the worker Lambda's handler. A capture deleted before its work
// ran needs none: that is not an error, which Lambda would only retry.
func (w *Worker) Handle(ctx context.Context, ev Event) error {
	ctx = workContext(ctx, ev)
	if ev.ReplayID != 0 {
		return w.handleReplay(ctx, ev)
	}
	var err error
	switch ev.Action {
	case ActionStart:
		err = w.Start(ctx, ev.CaptureID)
	case ActionStop:
		err = w.Stop(ctx, ev.CaptureID)
	case ActionCollect:
		err = w.Collect(ctx, ev.CaptureID)
	case ActionMetrics:
		err = w.KeepMetrics(ctx, ev.CaptureID)
	case ActionRelease:
		return w.Release(ctx, ev)
	case ActionSweep:
		return w.Recorder.Sweep(ctx, ev.Lease)
	default:
		return fmt.Errorf("worker: unknown action %q", ev.Action)
	}
	if errors.Is(err, capture.ErrCaptureNotFound) {
		w.Log.InfoContext(ctx, "capture gone before its work ran")
		return nil
	}
	return err
}

// move writes c's move to status to; losing the race to another worker is not an error, the
// other one carries on.
func (w *Worker) move(ctx context.Context, c capture.Capture, next capture.Capture) (bool, error) {
	err := w.Store.Move(ctx, next, c.Status)
	if errors.Is(err, capture.ErrChanged) {
		return false, nil
	}
	return err == nil, err
}

func (w *Worker) fail(ctx context.Context, c capture.Capture, reason string) error {
	next, err := capture.Fail(c, reason, w.Now())
	if err != nil {
		return err
	}
	w.Log.WarnContext(ctx, "capture failed", "capture_id", c.ID, "reason", reason)
	_, err = w.move(ctx, c, next)
	return err
}

// Start takes a STARTED (or resumes a STARTING) capture to RUNNING, or to FAILED with a reason.
func (w *Worker) Start(ctx context.Context, id int64) error {
	c, err := w.Store.Capture(ctx, id)
	if err != nil {
		return fmt.Errorf("start capture %d: %w", id, err)
	}
	if c.Status == capture.Started {
		next, err := capture.Move(c, capture.Starting, w.Now())
		if err != nil {
			return err
		}
		if ok, err := w.move(ctx, c, next); !ok {
			return err
		}
		c = next
	}
	if c.Status != capture.Starting {
		return nil // already past starting: a repeated trigger
	}
	return w.recordAndMove(ctx, c, w.Recorder.Begin, "Could not start recording: ", capture.Running)
}

// recordAndMove does the recording step of c's current status on its environment, then moves
// it on to status to; a failed step fails the capture with failPrefix and the error.
func (w *Worker) recordAndMove(ctx context.Context, c capture.Capture, step func(context.Context, capture.Environment, capture.Capture) error, failPrefix string, to capture.Status) error {
	env, err := w.Store.Environment(ctx, c.EnvID)
	if errors.Is(err, capture.ErrEnvNotFound) {
		return w.fail(ctx, c, "The capture's environment was deleted")
	}
	if err != nil {
		return fmt.Errorf("capture %d: %w", c.ID, err)
	}
	if to == capture.Running && env.Target {
		// Made a target while the capture was scheduled: nothing is recording yet.
		return w.fail(ctx, c, capture.ErrEnvTargetOnly.Message)
	}
	if err := step(ctx, env, c); err != nil {
		w.Log.WarnContext(ctx, "recording step failed", "capture_id", c.ID, "status", string(c.Status), "error", awserr.Detail(err))
		return w.fail(ctx, c, failPrefix+err.Error())
	}
	next, err := capture.Move(c, to, w.Now())
	if err != nil {
		return err
	}
	if _, err := w.move(ctx, c, next); err != nil {
		return fmt.Errorf("move capture %d to %s: %w", c.ID, to, err)
	}
	w.Log.InfoContext(ctx, "capture "+string(to), "capture_id", c.ID)
	return nil
}

// Stop takes a STOPPING capture to DONE once its recording is collected, or to FAILED.
func (w *Worker) Stop(ctx context.Context, id int64) error {
	c, err := w.Store.Capture(ctx, id)
	if err != nil {
		return fmt.Errorf("stop capture %d: %w", id, err)
	}
	if c.Status != capture.Stopping {
		return nil
	}
	if err := w.recordAndMove(ctx, c, w.Recorder.End, "Could not finish recording: ", capture.Done); err != nil {
		return err
	}
	return w.KeepMetrics(ctx, id)
}

// KeepMetrics stores a done capture's metrics: right after its stop, and again once the source
// has published the tail of its window. A source that fails never fails the capture; after
// capture.MaxMetricsAttempts it keeps an empty copy and says why in its reason.
func (w *Worker) KeepMetrics(ctx context.Context, id int64) error {
	c, err := w.Store.Capture(ctx, id)
	if err != nil {
		return fmt.Errorf("keep metrics of capture %d: %w", id, err)
	}
	if w.Metrics == nil || c.Status != capture.Done || c.Metrics.Final || c.Start == nil {
		return nil
	}
	env, err := w.Store.Environment(ctx, c.EnvID)
	if err != nil {
		return fmt.Errorf("keep metrics of capture %d: %w", id, err)
	}
	keepErr := w.Metrics.Keep(ctx, env, c)
	next := capture.KeptMetrics(c, env.OnRDS(), keepErr, w.Now())
	if keepErr != nil {
		w.Log.WarnContext(ctx, "metrics not kept", "capture_id", id, "attempt", next.Metrics.Attempts, "error", keepErr.Error())
		if next.Metrics.Final {
			if err := w.Metrics.KeepEmpty(ctx, env, c); err != nil {
				return fmt.Errorf("keep empty metrics of capture %d: %w", id, err)
			}
			next.Metrics.Stored = true
		}
	}
	err = w.Store.SaveMetrics(ctx, next, c.Metrics)
	if errors.Is(err, capture.ErrChanged) {
		return nil // another attempt got there first
	}
	if err == nil {
		w.Log.InfoContext(ctx, "metrics kept", "capture_id", id, "final", next.Metrics.Final)
	}
	return err
}

// Collect gathers what a RUNNING capture's server logged since its last collection, for every
// capture recording that server, and stops those that reached a limit. A failed collection
// leaves the captures running: the next tick, or a stop, collects the same rows.
func (w *Worker) Collect(ctx context.Context, id int64) error {
	c, err := w.Store.Capture(ctx, id)
	if err != nil {
		return fmt.Errorf("collect capture %d: %w", id, err)
	}
	if c.Status != capture.Running {
		return nil
	}
	env, err := w.Store.Environment(ctx, c.EnvID)
	if err != nil {
		return fmt.Errorf("collect capture %d: %w", id, err)
	}
	collected, err := w.Recorder.Collect(ctx, env, c)
	if err != nil {
		w.Log.WarnContext(ctx, "collection failed; the next one retries", "capture_id", id, "error", awserr.Detail(err))
		return nil
	}
	var errs []error
	for _, c := range collected {
		if _, reached := c.LimitReached(); reached {
			errs = append(errs, w.stopAtLimit(ctx, c.ID))
		}
	}
	return errors.Join(errs...)
}

// stopAtLimit stops a running capture whose workload has reached one of its limits, saying
// which in its reason.
func (w *Worker) stopAtLimit(ctx context.Context, id int64) error {
	c, err := w.Store.Capture(ctx, id)
	if err != nil {
		return fmt.Errorf("check the limits of capture %d: %w", id, err)
	}
	if _, reached := c.LimitReached(); !reached || c.Status != capture.Running {
		return nil
	}
	next, err := capture.LimitStop(c, w.Now())
	if err != nil {
		return err
	}
	if ok, err := w.move(ctx, c, next); !ok {
		return err // a stop got there first
	}
	w.Log.InfoContext(ctx, "capture at its limit", "capture_id", id, "reason", next.Reason)
	return w.Stop(ctx, id)
}

// Release turns recording off for a capture that will never reach its End: one the scheduler
// failed while it was stuck, or one deleted while live (ev names its environment and lease,
// since the capture may be gone). A capture that is still live keeps its recording.
func (w *Worker) Release(ctx context.Context, ev Event) error {
	c, err := w.Store.Capture(ctx, ev.CaptureID)
	switch {
	case err == nil && c.Status.Live():
		return nil
	case errors.Is(err, capture.ErrCaptureNotFound):
		c = capture.Capture{ID: ev.CaptureID, EnvID: ev.EnvID, Lease: ev.Lease}
	case err != nil:
		return fmt.Errorf("release capture %d: %w", ev.CaptureID, err)
	}
	// The environment only says which RDS parameter group a capture without a lease key
	// would have held; one that is gone leaves the lease to say the rest.
	env, err := w.Store.Environment(ctx, c.EnvID)
	if err != nil && !errors.Is(err, capture.ErrEnvNotFound) {
		return fmt.Errorf("release capture %d: %w", c.ID, err)
	}
	if err := w.Recorder.Release(ctx, env, c); err != nil {
		return fmt.Errorf("release capture %d: %w", c.ID, err)
	}
	w.Log.InfoContext(ctx, "recording released", "capture_id", c.ID)
	return nil
}

// workContext carries what ev is about onto every log line written for it: the Lambda
// invocation's request id (or, handed over in process, the request's that asked for the work),
// the action, and its capture, environment or lease.
func workContext(ctx context.Context, ev Event) context.Context {
	attrs := []slog.Attr{slog.String("action", string(ev.Action))}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		attrs = append(attrs, slog.String(logctx.RequestIDKey, lc.AwsRequestID))
	}
	if ev.CaptureID != 0 {
		attrs = append(attrs, slog.Int64(logctx.CaptureIDKey, ev.CaptureID))
	}
	if ev.EnvID != 0 {
		attrs = append(attrs, slog.Int64(logctx.EnvIDKey, ev.EnvID))
	}
	if ev.Lease != "" {
		attrs = append(attrs, slog.String("lease", ev.Lease))
	}
	if ev.ReplayID != 0 {
		attrs = append(attrs, slog.Int64("replay_id", ev.ReplayID))
		if ev.Action == ActionRun {
			attrs = append(attrs, slog.Int("shard", ev.Shard), slog.Int("invocation", ev.Invocation))
		}
	}
	return logctx.With(ctx, attrs...)
}
