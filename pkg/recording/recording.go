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
	"slices"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/netguard"
)

// Secrets opens a sealed database password (secret.Local, secret.KMS).
type Secrets interface {
	Open(ctx context.Context, envID int64, sealed string) (string, error)
}

// Blobs keeps fragments and workload files (blob.Dir, s3blob.Bucket).
type Blobs interface {
	Put(ctx context.Context, key string, body io.ReadSeeker) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	DeletePrefix(ctx context.Context, prefix string) error
	Concat(ctx context.Context, dst string, srcs []string) (int64, error)
}

// Store is where the recorder keeps what it has done, each step conditional on the last
// (store.Store): the parts below, one concern each.
type Store interface {
	Captures
	Environments
	Leases
	Collectors
	Sessions
	Servers
}

// Captures are the captures the recorder records: read, and their progress saved.
type Captures interface {
	Capture(ctx context.Context, id int64) (capture.Capture, error)
	Captures(ctx context.Context, ids []int64) ([]capture.Capture, error)
	// SaveWorkload moves a capture's progress on from from to to; capture.ErrChanged if it
	// is no longer from.
	SaveWorkload(ctx context.Context, id int64, from, to capture.Workload) error
	// SaveWorkloads moves every capture of one collection on at once, with the server's
	// counter sample (or nil).
	SaveWorkloads(ctx context.Context, moves []capture.WorkloadMove, sample *metrics.Sample) error
	// SetCaptureLease records the lease a capture holds and the server it records.
	SetCaptureLease(ctx context.Context, id int64, key, server string) error
	AddSample(ctx context.Context, id int64, s metrics.Sample) error
}

// Environments are the databases captures record.
type Environments interface {
	Environment(ctx context.Context, id int64) (capture.Environment, error)
	SetEnvironmentLease(ctx context.Context, id int64, key string) error
	// PinTLS pins an environment's server certificate unless one is pinned, and returns
	// the pin in force.
	PinTLS(ctx context.Context, id int64, fingerprint string) (string, error)
}

// Leases are the general log leases (lease.Lease), as store.Store documents each step.
type Leases interface {
	HoldLog(ctx context.Context, key string, id, envID int64, before map[string]string, restores int, now, sweepAt time.Time) error
	ReleaseLog(ctx context.Context, key string, id int64, now time.Time) (last bool, err error)
	ClaimRestore(ctx context.Context, key string, now, until time.Time) (lease.Lease, error)
	RestoreDone(ctx context.Context, key string, until, now time.Time) error
	RestoreFailed(ctx context.Context, key string, until time.Time, why string, now, next time.Time) error
	SweepLater(ctx context.Context, key string, now, at time.Time) error
	Lease(ctx context.Context, key string) (lease.Lease, error)
}

// Collectors are servers' collections (lease.Collector): their lock, readers and numbered
// rotations.
type Collectors interface {
	LockCollector(ctx context.Context, server string, now, until time.Time) (lease.Collector, error)
	UnlockCollector(ctx context.Context, server string, until time.Time) error
	JoinCollector(ctx context.Context, server string, id int64, now, until time.Time) error
	LeaveCollector(ctx context.Context, server string, id int64, now time.Time) error
	ClaimCollection(ctx context.Context, server string, until time.Time, rot lease.Collection, now time.Time) error
	CollectionDone(ctx context.Context, server string, until time.Time, n int, now time.Time) error
}

// Sessions are the recorder's own sessions on each server, whose rows no workload holds.
type Sessions interface {
	RegisterSession(ctx context.Context, server string, thread uint64, at time.Time) error
	OwnSessions(ctx context.Context, server string, from, to time.Time) ([]uint64, error)
}

// Servers are the groups of environments proven to reach one server (lease.ServerGroup).
type Servers interface {
	ServerGroups(ctx context.Context, claim, owner string) ([]lease.ServerGroup, error)
	FoundServerGroup(ctx context.Context, g lease.ServerGroup, now time.Time) error
	JoinServerGroup(ctx context.Context, g lease.ServerGroup, env int64, now time.Time) error
	LeaveServerGroup(ctx context.Context, g lease.ServerGroup, env int64, now time.Time) error
}

// Recorder records MySQL and MariaDB databases.
type Recorder struct {
	Secrets Secrets
	Store   Store
	Blobs   Blobs
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

	// afterSwap, when set, runs right after a collection's swap: tests fail it there.
	afterSwap func(lease.Collection) error
}

// lockFor is how long a collector may hold a server's collection before another may take
// over: longer than the worker function's timeout, so only a collector that died loses it.
const lockFor = 5 * time.Minute

// Begin turns the environment's general log on for c, makes c a reader of its server's
// collection and sets c's watermark to the server's clock, so the workload starts with the
// first statement after it. The first capture on a server sets aside the rows the log table
// already held (see keep), which are not its own. If anything fails once the log is on, c lets
// go of it before Begin returns.
func (r *Recorder) Begin(ctx context.Context, env capture.Environment, c capture.Capture) (err error) {
	conn, err := r.connect(ctx, env)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.canRead(ctx, r.logTable()); err != nil {
		return err
	}
	server := conn.server
	return r.withCollector(ctx, server, true, func(st lease.Collector, until time.Time) (err error) {
		// Before the log is on, what its table holds is nobody's recording.
		first := false
		if c.Workload.Watermark.IsZero() {
			if first, err = r.keepFirst(ctx, conn, st); err != nil {
				return err
			}
		}
		if c.Lease, err = r.turnOn(ctx, conn, env, c); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				err = errors.Join(err, r.Release(context.WithoutCancel(ctx), env, c))
			}
		}()
		if err := r.Store.JoinCollector(ctx, server, c.ID, r.now(), until); err != nil {
			return err
		}
		if !c.Workload.Watermark.IsZero() {
			return nil // a repeated start: recording began at the first one
		}
		// The clock is read after joining: every row after it is in a collection c reads.
		now, err := conn.now(ctx)
		if err != nil {
			return err
		}
		r.sample(ctx, conn, env, c, now)
		// The first capture on a server lists its open sessions' databases; later ones find
		// them followed since by every collection.
		if first {
			if err := r.seedSessions(ctx, conn, server, st.Finished); err != nil {
				// Sessions already open keep an unknown database until they name one in the log.
				r.logger().WarnContext(ctx, "open sessions' databases not read", "capture_id", c.ID, "error", err.Error())
			}
		}
		err = r.Store.SaveWorkload(ctx, c.ID, c.Workload, capture.Workload{Watermark: now, Begin: now, LastCollection: st.Finished})
		if errors.Is(err, capture.ErrChanged) {
			return nil // a concurrent start set it
		}
		return err
	})
}

// keepFirst sets aside what the log table holds when the first capture begins on a server
// (see conn.keep): rows the DBA logged, which are theirs. What the log wrote after the last
// collection of earlier captures was discarded when they turned it off (see Restore).
// It reports whether the capture is the first.
func (r *Recorder) keepFirst(ctx context.Context, conn *conn, st lease.Collector) (bool, error) {
	if st.Pending != nil {
		return false, nil // a collection to finish holds rows of captures that were recording
	}
	readers, err := r.Store.Captures(ctx, st.Readers)
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(readers, func(c capture.Capture) bool { return c.Status.MayRecord() }) {
		return false, nil
	}
	// A server this one could not be told apart from may be this one, its rows its captures'.
	if peer, err := r.peerHolding(ctx, conn.server); err != nil || peer != "" {
		return false, err
	}
	src, err := r.logSource(ctx, conn)
	if err != nil {
		return false, err
	}
	return true, conn.keep(ctx, src)
}

// Collect copies the rows its server logged since its last collection to every capture
// recording that server, c among them, and returns those captures as that left them. A
// collection of the server already under way makes this one a no-op.
func (r *Recorder) Collect(ctx context.Context, env capture.Environment, c capture.Capture) ([]capture.Capture, error) {
	var out []capture.Capture
	err := r.onServer(ctx, env, c, false, func(conn *conn, st lease.Collector, until time.Time) error {
		var err error
		out, err = r.collectServer(ctx, conn, env, st, until, nil)
		return err
	})
	if errors.Is(err, errBusy) {
		return nil, nil // another collection is running: it collects these rows
	}
	return out, err
}

// onServer connects to env and runs fn holding the collection of c's server. It connects
// after taking the lock when c knows its server, so that a tick finding a collection under way
// costs the database nothing.
func (r *Recorder) onServer(ctx context.Context, env capture.Environment, c capture.Capture, wait bool, fn func(conn *conn, st lease.Collector, until time.Time) error) error {
	if c.Server == "" {
		// Recording began before captures knew their server: ask the server.
		conn, err := r.connect(ctx, env)
		if err != nil {
			return err
		}
		defer conn.Close()
		return r.withCollector(ctx, conn.server, wait, func(st lease.Collector, until time.Time) error {
			return fn(conn, st, until)
		})
	}
	return r.withCollector(ctx, c.Server, wait, func(st lease.Collector, until time.Time) error {
		conn, err := r.connect(ctx, env)
		if err != nil {
			return err
		}
		defer conn.Close()
		if !conn.reaches(c.Server) {
			return fmt.Errorf("the environment no longer reaches the server the capture records (%s)", c.Server)
		}
		return fn(conn, st, until)
	})
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

// finish collects c's window up to now, waiting for a collection under way rather than
// skipping its rows, and writes c's workload file. It holds the server's collection
// throughout, so no collection can hand c rows stamped after its end.
func (r *Recorder) finish(ctx context.Context, env capture.Environment, c capture.Capture) error {
	if c.Workload.Recorded() {
		return nil // a stop before this one wrote it
	}
	if c.Workload.Watermark.IsZero() {
		return fmt.Errorf("capture %d has no watermark: its recording never began", c.ID)
	}
	return r.onServer(ctx, env, c, true, func(conn *conn, st lease.Collector, until time.Time) error {
		end, err := conn.now(ctx)
		if err != nil {
			return err
		}
		// Rows are stamped as the server receives a statement and written straight after;
		// waiting a moment lets every statement stamped before the end reach the table.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.settle()):
		}
		if _, err := r.collectServer(ctx, conn, env, st, until, map[int64]time.Time{c.ID: end}); err != nil {
			return err
		}
		if c, err = r.Store.Capture(ctx, c.ID); err != nil {
			return err
		}
		if !c.Workload.Recorded() {
			if err := r.assemble(ctx, c); err != nil {
				return err
			}
		}
		return r.Store.LeaveCollector(ctx, st.Server, c.ID, r.now())
	})
}

// errBusy is the error of a step that found another collector holding the server.
var errBusy = errors.New("another collection of this server is under way")

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
