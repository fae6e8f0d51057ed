package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/shard"
	"github.com/mycrt/captures/pkg/store"
)

// tickReplays handles the replays due: scheduled starts at their second, replays stuck
// between states (retried, then failed), running replays' shards whose heartbeat stopped (run
// again from their last checkpoint, then the replay failed), and stopping replays whose
// shards have all ended. fire runs a scheduled start in the tick's own goroutines.
func (s *Scheduler) tickReplays(ctx context.Context, horizon time.Duration, fire func(func() error), collect func(error)) {
	now := s.Clock.Now()
	due, err := s.Store.ReplaysDue(ctx, now.Add(horizon))
	collect(err)
	for _, r := range due {
		switch {
		case r.Status == capture.Scheduled:
			fire(func() error { return s.fireReplay(ctx, r) })
		case r.Status == capture.Running:
			collect(s.watchShards(ctx, r))
		case r.Status == capture.Stopping:
			// Its shards end it; one that went quiet leaves it to the worker to settle.
			if r.Updated.Before(now.Add(-s.StuckAfter)) {
				collect(s.Handoff.HandOff(ctx, ReplayEvent(ActionStop, r)))
			}
		case r.Status.Transitional() && r.Updated.Before(now.Add(-s.StuckAfter)):
			collect(s.rescueReplay(ctx, r))
		}
	}
}

// fireReplay waits for r's scheduled second, then starts it: STARTED, handed to the worker. A
// target whose address another replay runs on fails it.
func (s *Scheduler) fireReplay(ctx context.Context, r capture.Replay) error {
	due, ok := r.DueAt()
	if !ok {
		return nil
	}
	if err := s.Clock.SleepUntil(ctx, due); err != nil {
		return err
	}
	next, err := capture.MoveReplay(r, capture.Started, s.Clock.Now())
	if err != nil {
		return err
	}
	err = s.Store.MoveReplay(ctx, next, r.Status)
	if errors.Is(err, capture.ErrTargetBusy) {
		failed, ferr := capture.FailReplay(r, capture.ErrTargetBusy.Message, s.Clock.Now())
		if ferr != nil {
			return ferr
		}
		if err := s.Store.MoveReplay(ctx, failed, r.Status); err != nil && !errors.Is(err, capture.ErrChanged) {
			return err
		}
		return nil
	}
	if errors.Is(err, capture.ErrChanged) {
		return nil // a stop or a delete got there first
	}
	if err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "replay STARTED", "replay_id", r.ID, "late_ms", s.Clock.Now().Sub(due).Milliseconds())
	return s.Handoff.HandOff(ctx, ReplayEvent(ActionStart, r))
}

// rescueReplay retries the work of a replay stuck STARTED or STARTING, or fails it (and lets
// go of its target server) once it has had its attempts.
func (s *Scheduler) rescueReplay(ctx context.Context, r capture.Replay) error {
	if r.Attempts+1 >= capture.MaxAttempts {
		next, err := capture.FailReplay(r, capture.ReplayStuckReason(r.Status), s.Clock.Now())
		if err != nil {
			return err
		}
		if err := s.Store.MoveReplay(ctx, next, r.Status); errors.Is(err, capture.ErrChanged) {
			return nil
		} else if err != nil {
			return err
		}
		s.Log.WarnContext(ctx, "replay stuck, failed", "replay_id", r.ID, "status", string(r.Status))
		return s.Handoff.HandOff(ctx, ReplayEvent(ActionRelease, next))
	}
	r, err := s.Store.RetryReplay(ctx, r, s.Clock.Now())
	if errors.Is(err, capture.ErrChanged) {
		return nil
	}
	if err != nil {
		return err
	}
	s.Log.WarnContext(ctx, "replay stuck, retrying", "replay_id", r.ID, "status", string(r.Status), "attempt", r.Attempts+1)
	if err := s.Handoff.HandOff(ctx, ReplayEvent(ActionStart, r)); err != nil {
		return fmt.Errorf("retry replay %d: %w", r.ID, err)
	}
	return nil
}

// watchShards runs again, from its last checkpoint, each shard of running replay r whose
// heartbeat is older than capture.HeartbeatLimit (its invocation was killed), or fails r once
// a shard has been run again capture.MaxAttempts times; a replay whose shards are all done
// (its last one died finishing it) is settled.
func (s *Scheduler) watchShards(ctx context.Context, r capture.Replay) error {
	shards, err := s.Store.Shards(ctx, r.ID)
	if err != nil {
		return err
	}
	if store.AllDone(shards) {
		next, err := capture.MoveReplay(r, capture.Stopping, s.Clock.Now())
		if err != nil {
			return err
		}
		if err := s.Store.MoveReplay(ctx, next, r.Status); err != nil {
			return nil // moved meanwhile: whoever did carries on
		}
		return s.Handoff.HandOff(ctx, ReplayEvent(ActionStop, next))
	}
	now := s.Clock.Now()
	var errs []error
	for _, st := range shards {
		if st.Done || now.Sub(st.Heartbeat) < capture.HeartbeatLimit {
			continue
		}
		if st.Reruns+1 >= capture.MaxAttempts {
			next, err := capture.FailReplay(r, capture.ShardLostReason(st.Shard), now)
			if err != nil {
				return err
			}
			if err := s.Store.MoveReplay(ctx, next, r.Status); errors.Is(err, capture.ErrChanged) {
				return nil
			} else if err != nil {
				return err
			}
			s.Log.WarnContext(ctx, "replay shard lost, failed", "replay_id", r.ID, "shard", st.Shard)
			return s.Handoff.HandOff(ctx, ReplayEvent(ActionRelease, next))
		}
		next, err := s.Store.RerunShard(ctx, st, now)
		if errors.Is(err, capture.ErrChanged) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Log.WarnContext(ctx, "replay shard quiet, run again", "replay_id", r.ID, "shard", st.Shard, "invocation", next.Invocation)
		errs = append(errs, s.replays().HandOff(ctx, ShardEvent(next)))
	}
	return errors.Join(errs...)
}

// replays is where the scheduler hands shard runs: the replayer (the worker's Handoff when
// Replays is nil, in process).
func (s *Scheduler) replays() Handoff {
	if s.Replays != nil {
		return s.Replays
	}
	return s.Handoff
}

var _ shard.Continuer = Continuer{}
