// Package recording records a MySQL or MariaDB database's workload from its general log: it
// turns the log on when a capture starts (over SQL, or through the RDS parameter group), copies
// the log's new rows into numbered fragments while the capture runs, and at the stop writes the
// capture's workload file and turns the log back off when no other capture needs it. Outside
// RDS it also samples the server's status counters at each step, for the capture's metrics.
package recording

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/netguard"
)

// opener opens a sealed database password.
type opener interface {
	Open(ctx context.Context, envID int64, sealed string) (string, error)
}

// progress is where the recorder keeps what it has done, each step conditional on the last.
type progress interface {
	Capture(ctx context.Context, id int64) (capture.Capture, error)
	SaveWorkload(ctx context.Context, id int64, from, to capture.Workload) error
	Environment(ctx context.Context, id int64) (capture.Environment, error)
	SetCaptureLease(ctx context.Context, id int64, key string) error
	SetEnvironmentLease(ctx context.Context, id int64, key string) error
	HoldLog(ctx context.Context, key string, id, envID int64, before map[string]string, restores int, now, sweepAt time.Time) error
	ReleaseLog(ctx context.Context, key string, id int64, now time.Time) (last bool, err error)
	ClaimRestore(ctx context.Context, key string, now, until time.Time) (capture.Lease, error)
	RestoreDone(ctx context.Context, key string, until, now time.Time) error
	RestoreFailed(ctx context.Context, key string, until time.Time, why string, now, next time.Time) error
	SweepLater(ctx context.Context, key string, now, at time.Time) error
	Lease(ctx context.Context, key string) (capture.Lease, error)
	RegisterSession(ctx context.Context, server string, thread uint64, at time.Time) error
	OwnSessions(ctx context.Context, server string, from, to time.Time) ([]uint64, error)
	LockCollection(ctx context.Context, id int64, now, until time.Time) error
	UnlockCollection(ctx context.Context, id int64, until time.Time) error
	AddSample(ctx context.Context, id int64, s metrics.Sample) error
}

// blobs keeps fragments and workload files.
type blobs interface {
	Put(ctx context.Context, key string, body io.ReadSeeker) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	DeletePrefix(ctx context.Context, prefix string) error
	Concat(ctx context.Context, dst string, srcs []string) (int64, error)
}

// Recorder records MySQL and MariaDB databases.
type Recorder struct {
	Secrets opener
	Store   progress
	Blobs   blobs
	RDS     ParameterGroups // for environments with a parameter group; nil fails them with a reason
	Network netguard.Policy // which database addresses may be reached
	Now     func() time.Time
	Log     *slog.Logger

	Timeout  time.Duration // for connecting; 5 s when zero
	Settle   time.Duration // how old a log row must be to be collected; 250 ms when zero
	LogTable string        // the general log table; mysql.general_log when empty
	TempDir  string        // where fragments are spooled before upload; the system's when empty

	// SweepEvery is how often a held lease is checked for holders that are gone; a minute
	// when zero.
	SweepEvery time.Duration
	// RestoreRetry is how long to wait before trying a failed restore again, by attempt; when
	// nil, 1, 2 and 4 minutes, then every 5.
	RestoreRetry func(attempt int) time.Duration
}

// lockFor is how long a collection may hold its capture before another may take over: longer
// than the worker function's timeout, so only a collector that died loses it.
const lockFor = 5 * time.Minute

// Begin turns the environment's general log on for c and sets c's watermark to the database
// server's clock, so the workload starts with the first statement after it. If anything fails
// once the log is on, c lets go of it before Begin returns.
func (r *Recorder) Begin(ctx context.Context, env capture.Environment, c capture.Capture) (err error) {
	conn, err := r.connect(ctx, env)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.canRead(ctx, r.logTable()); err != nil {
		return err
	}
	if c.Lease, err = r.turnOn(ctx, conn, env, c); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.Release(context.WithoutCancel(ctx), env, c))
		}
	}()
	if !c.Workload.Watermark.IsZero() {
		return nil // a repeated start: recording began at the first one
	}
	now, err := conn.now(ctx)
	if err != nil {
		return err
	}
	r.sample(ctx, conn, env, c, now)
	if err := r.seedSessions(ctx, conn, c); err != nil {
		// Sessions already open keep an unknown database until they name one in the log.
		r.logger().WarnContext(ctx, "open sessions' databases not read", "capture_id", c.ID, "error", err.Error())
	}
	err = r.Store.SaveWorkload(ctx, c.ID, c.Workload, capture.Workload{Watermark: now})
	if errors.Is(err, capture.ErrChanged) {
		return nil // a concurrent start set it
	}
	return err
}

// Collect copies the general log's rows that arrived since c's watermark into c's next
// fragment. A collection already under way for c makes this one a no-op.
func (r *Recorder) Collect(ctx context.Context, env capture.Environment, c capture.Capture) error {
	err := r.locked(ctx, c.ID, func(c capture.Capture) error {
		if c.Workload.Recorded() {
			return nil // the stop got there first
		}
		conn, now, err := r.session(ctx, env, c)
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = r.collect(ctx, conn, c, now.Add(-r.settle()))
		return err
	})
	if errors.Is(err, errBusy) {
		return nil // another collection is running: it collects these rows
	}
	return err
}

// End collects the last of c's window, writes its workload file and turns the general log off
// unless another capture still records through it. Repeating End after a crash redoes only what
// was not recorded. Its error is the recording's: a restore that fails stays pending on the
// lease, which the scheduler's sweeps retry, and does not undo a workload that was recorded.
func (r *Recorder) End(ctx context.Context, env capture.Environment, c capture.Capture) error {
	err := r.finish(ctx, env, c)
	if rerr := r.Release(context.WithoutCancel(ctx), env, c); rerr != nil {
		r.logger().WarnContext(ctx, "general log not released at the stop; the sweep retries", "capture_id", c.ID, "error", rerr.Error())
	}
	return err
}

func (r *Recorder) finish(ctx context.Context, env capture.Environment, c capture.Capture) error {
	// The stop waits for a collection under way to end rather than skip the last rows.
	deadline := r.now().Add(lockFor)
	for {
		err := r.locked(ctx, c.ID, func(c capture.Capture) error { return r.finishLocked(ctx, env, c) })
		if !errors.Is(err, errBusy) || r.now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *Recorder) finishLocked(ctx context.Context, env capture.Environment, c capture.Capture) error {
	if c.Workload.Recorded() {
		return nil // a stop before this one wrote it
	}
	if c.Workload.Watermark.IsZero() {
		return fmt.Errorf("capture %d has no watermark: its recording never began", c.ID)
	}
	conn, end, err := r.session(ctx, env, c)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Rows are stamped as the server receives a statement and written straight after; waiting
	// a moment lets every statement stamped before the end reach the table.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(r.settle()):
	}
	w, err := r.collect(ctx, conn, c, end)
	if err != nil {
		return err
	}
	c.Workload = w
	return r.assemble(ctx, c)
}

// session connects to env for a running capture's step, samples the server's counters and
// reads its clock.
func (r *Recorder) session(ctx context.Context, env capture.Environment, c capture.Capture) (*conn, time.Time, error) {
	conn, err := r.connect(ctx, env)
	if err != nil {
		return nil, time.Time{}, err
	}
	now, err := conn.now(ctx)
	if err != nil {
		conn.Close()
		return nil, time.Time{}, err
	}
	r.sample(ctx, conn, env, c, now)
	return conn, now, nil
}

// errBusy is the error of a step that found another collector holding the capture.
var errBusy = errors.New("another collection of this capture is under way")

// locked runs fn holding capture id's collection lock, with the capture as it is once the lock
// is held: a caller's copy may predate another collector's progress, and writing from it would
// redo a fragment that already counts. errBusy if another collector holds the lock.
func (r *Recorder) locked(ctx context.Context, id int64, fn func(capture.Capture) error) error {
	now := r.now()
	until := now.Add(lockFor)
	err := r.Store.LockCollection(ctx, id, now, until)
	if errors.Is(err, capture.ErrChanged) {
		return errBusy
	}
	if err != nil {
		return err
	}
	c, err := r.Store.Capture(ctx, id)
	if err == nil {
		err = fn(c)
	}
	// Unlocked even when fn failed or ctx ended, so the next tick need not wait out the lock.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return errors.Join(err, r.Store.UnlockCollection(uctx, id, until))
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Recorder) settle() time.Duration {
	if r.Settle > 0 {
		return r.Settle
	}
	return 250 * time.Millisecond
}

func (r *Recorder) sweepEvery() time.Duration {
	if r.SweepEvery > 0 {
		return r.SweepEvery
	}
	return time.Minute
}

func (r *Recorder) restoreRetry(attempt int) time.Duration {
	if r.RestoreRetry != nil {
		return r.RestoreRetry(attempt)
	}
	return min(time.Minute<<min(attempt-1, 3), 5*time.Minute)
}

func (r *Recorder) logTable() string {
	if r.LogTable != "" {
		return r.LogTable
	}
	return "mysql.general_log"
}

func (r *Recorder) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
