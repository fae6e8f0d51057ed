package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/logctx"
	"github.com/mycrt/captures/pkg/store"
)

// Clock is the scheduler's time, injected so tests can run it at will.
type Clock interface {
	Now() time.Time
	// SleepUntil returns at t, or early with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

func (RealClock) SleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Scheduler fires due starts and stops and rescues stuck captures. One tick handles what falls
// due within its horizon, each at its own second, so lateness is far below the tick interval;
// ticks may overlap or repeat, since every move is conditional.
type Scheduler struct {
	Store      *store.Store
	Handoff    Handoff
	Clock      Clock
	StuckAfter time.Duration // how long a capture may stay STARTED, STARTING or STOPPING
	Replays    Handoff       // hands replays' shard runs to the replayer; Handoff when nil
	Log        *slog.Logger
	listKeyed  atomic.Bool // the captures written before lists kept places have theirs
}

// Tick handles every start and stop due before now+horizon, and every capture stuck in a
// transitional state, and returns when all of it is done.
func (s *Scheduler) Tick(ctx context.Context, horizon time.Duration) error {
	ctx = tickContext(ctx)
	now := s.Clock.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	collect := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	fire := func(c capture.Capture) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			collect(s.fire(ctx, c))
		}()
	}
	scheduled, err := s.Store.Due(ctx, capture.Scheduled, now.Add(horizon))
	collect(err)
	for _, c := range scheduled {
		fire(c)
	}
	// Every running capture is either due to stop within the horizon, and its stop collects,
	// or collects what it recorded since the last tick.
	// One collection per server collects for every capture recording it.
	running, err := s.Store.Due(ctx, capture.Running, capture.NoEnd)
	collect(err)
	servers := map[string]bool{}
	for _, c := range running {
		if due, _ := c.DueAt(); !due.After(now.Add(horizon)) {
			fire(c)
			continue
		}
		if c.Server != "" {
			if servers[c.Server] {
				continue
			}
			servers[c.Server] = true
		}
		collect(s.Handoff.HandOff(ctx, CaptureEvent(ActionCollect, c)))
	}
	// Done captures whose metrics are due to be read (again).
	done, err := s.Store.Due(ctx, capture.Done, now)
	collect(err)
	for _, c := range done {
		collect(s.Handoff.HandOff(ctx, CaptureEvent(ActionMetrics, c)))
	}
	// General log leases due for a sweep: holders that are gone, restores to try again.
	leases, err := s.Store.DueLeases(ctx, now)
	collect(err)
	for _, key := range leases {
		collect(s.Handoff.HandOff(ctx, Sweep(key)))
	}
	for _, status := range capture.Statuses {
		if !status.Transitional() {
			continue
		}
		stuck, err := s.Store.Due(ctx, status, now.Add(-s.StuckAfter))
		collect(err)
		for _, c := range stuck {
			collect(s.rescue(ctx, c))
		}
	}
	s.tickReplays(ctx, horizon, func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			collect(f())
		}()
	}, collect)
	// Until it is done, a few environments a tick: captures written before lists were
	// ordered by time get their place in them.
	if !s.listKeyed.Load() {
		done, err := s.Store.KeyListedCaptures(ctx, listKeysPerTick)
		collect(err)
		s.listKeyed.Store(done)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// listKeysPerTick is how many environments' old captures a tick keys for lists.
const listKeysPerTick = 50

// fire waits for c's due second, then starts a scheduled capture or stops a running one.
func (s *Scheduler) fire(ctx context.Context, c capture.Capture) error {
	due, ok := c.DueAt()
	if !ok {
		return nil
	}
	if err := s.Clock.SleepUntil(ctx, due); err != nil {
		return err
	}
	to, action, move := capture.Started, ActionStart, capture.Move
	if c.Status == capture.Running {
		to, action = capture.Stopping, ActionStop
		move = func(c capture.Capture, _ capture.Status, now time.Time) (capture.Capture, error) {
			return capture.DueStop(c, now)
		}
	}
	next, err := move(c, to, s.Clock.Now())
	if err != nil {
		return err
	}
	err = s.Store.Move(ctx, next, c.Status)
	if errors.Is(err, capture.ErrChanged) {
		return nil // another tick, a stop or a delete got there first
	}
	if err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "capture "+string(to), "capture_id", c.ID, "late_ms", s.Clock.Now().Sub(due).Milliseconds())
	return s.Handoff.HandOff(ctx, CaptureEvent(action, c))
}

// rescue retries the work of a capture stuck in a transitional state, or fails it once it
// has had its attempts.
func (s *Scheduler) rescue(ctx context.Context, c capture.Capture) error {
	if c.Attempts+1 >= capture.MaxAttempts {
		next, err := capture.Fail(c, capture.StuckReason(c.Status), s.Clock.Now())
		if err != nil {
			return err
		}
		err = s.Store.Move(ctx, next, c.Status)
		if errors.Is(err, capture.ErrChanged) {
			return nil
		}
		if err != nil {
			return err
		}
		s.Log.WarnContext(ctx, "capture stuck, failed", "capture_id", c.ID, "status", string(c.Status))
		// Its worker may have turned recording on before it died.
		return s.Handoff.HandOff(ctx, CaptureEvent(ActionRelease, c))
	}
	c, err := s.Store.Retry(ctx, c, s.Clock.Now())
	if errors.Is(err, capture.ErrChanged) {
		return nil
	}
	if err != nil {
		return err
	}
	action := ActionStart
	if c.Status == capture.Stopping {
		action = ActionStop
	}
	s.Log.WarnContext(ctx, "capture stuck, retrying", "capture_id", c.ID, "status", string(c.Status), "attempt", c.Attempts+1)
	if err := s.Handoff.HandOff(ctx, CaptureEvent(action, c)); err != nil {
		return fmt.Errorf("retry capture %d: %w", c.ID, err)
	}
	return nil
}

// Run ticks every interval until ctx ends: the local server's stand-in for the EventBridge rule.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx, interval); err != nil && ctx.Err() == nil {
			s.Log.ErrorContext(ctx, "scheduler tick", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tickContext gives a tick's log lines, and the work it hands over in process, one request
// id: the Lambda invocation's, or a fresh one.
func tickContext(ctx context.Context) context.Context {
	id := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		id = lc.AwsRequestID
	}
	if id == "" {
		b := make([]byte, 8)
		rand.Read(b)
		id = "tick-" + hex.EncodeToString(b)
	}
	return logctx.With(ctx, slog.String(logctx.RequestIDKey, id))
}
