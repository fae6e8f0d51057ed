package replay

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
)

// Dialer makes connectors of sessions on an environment's database as its user
// (recording.Recorder: through the network policy, with the environment's TLS and password).
type Dialer interface {
	// Connector returns the connector; each network connection it dials is handed to track
	// with the context its Connect was given, and what track returns is used instead. With
	// server (the held server's key), a session that is not on that server is refused.
	Connector(ctx context.Context, env capture.Environment, server string, track func(context.Context, net.Conn) net.Conn) (driver.Connector, error)
}

// DefaultMaxConnections caps a replay's connections when it names no cap.
const DefaultMaxConnections = 200

// OutcomeFiles is where a run reads its shard and stores its outcomes: Files, and
// DeletePrefix to take back an outcome stored after its replay's delete deleted its files.
type OutcomeFiles interface {
	Files
	DeletePrefix(ctx context.Context, prefix string) error
}

// Runner runs one invocation of one shard (Run).
type Runner struct {
	Files    OutcomeFiles
	Dial     Dialer
	Baton    Baton
	Progress Progress
	Continue Continuer
	Now      func() time.Time // time.Now when nil
	Log      *slog.Logger     // slog.Default() when nil

	// Lead is how long before its deadline an invocation stops starting statements (its cut),
	// and how long before the cut it starts its successor; a fifth of the invocation, at most
	// 30 s, when zero.
	Lead time.Duration
	// SkipRate is how many steps a second a successor is taken to read of its shard before it
	// reaches its checkpoint (every invocation reads its shard from the start): the successor
	// is started that much earlier than a lead before the cut, so that a long shard's
	// re-reading does not make it late. DefaultSkipRate when zero.
	SkipRate float64
	TempDir  string // where outcomes are spooled; the system's when empty
	// Buffer bounds the bytes of steps read ahead of the sessions; 16 MiB when zero.
	Buffer int64

	// letThrough, in tests, names statements read-only mode sends though they may write.
	letThrough func(sql string) bool
}

// Run runs job's shard on target's database from where the invocation before it stopped
// (Baton.Await) until its last step, a stop, or its cut: one connection per session, as
// target's user; each session's steps in order, one at a time, each statement at the plan's
// epoch plus its offset divided by the speed but never before the session's previous one
// ended (back to back at speed 0). It writes every statement's outcome to the invocation's
// outcome file. At the cut no session starts a statement unless it is inside a transaction,
// which it finishes; Run then passes the baton to the successor it started (Continue) a lead
// earlier (and earlier by the time the successor takes to re-read the shard: SkipRate), and
// then stores the outcome file, so that the successor does not wait for the store. A stop (Progress.Record's ErrStopped) closes every session and ends the shard (Done);
// a replay deleted meanwhile (ErrGone) keeps no outcome file and passes no baton.
// Every connection is closed when Run returns, whatever failed; a cancelled ctx (a killed
// invocation) returns its error without outcomes or baton.
func (r *Runner) Run(ctx context.Context, target capture.Environment, job Job) (Result, error) {
	sr, closeShard, err := r.openShard(ctx, job)
	if err != nil {
		return Result{}, err
	}
	defer func() { closeShard() }()
	run, err := r.newRun(ctx, target, job, sr.head)
	if err != nil {
		return Result{}, err
	}
	defer run.cleanup()
	// A successor is started a lead before its predecessor's cut: it reads its shard up to a
	// little before that cut and opens the connections of the sessions open there while it
	// waits, so that it is ready when the baton comes.
	if job.Shard.Invocation > 0 {
		if err := run.prescan(ctx, sr); err != nil {
			return Result{}, err
		}
	}
	cp, err := r.Baton.Await(ctx, job.Shard)
	if err != nil {
		return Result{}, fmt.Errorf("await shard %d's baton: %w", job.Shard.Shard, err)
	}
	if run.hand, err = decodeCheckpoint(cp, len(sr.head.Sessions)); err != nil {
		return Result{}, err
	}
	if !run.prescanHolds() {
		// A session was further behind than the pre-scan guessed: read the shard again.
		closeShard()
		if sr, closeShard, err = r.openShard(ctx, job); err != nil {
			return Result{}, err
		}
		run.resetSessions()
	}
	// The replay may have been stopped while this invocation waited for its turn.
	if err := r.Progress.Record(ctx, job.Shard, run.hand.Statements, run.hand.Errors); errors.Is(err, ErrStopped) {
		run.stop()
	}
	return run.execute(ctx, sr)
}

func (r *Runner) openShard(ctx context.Context, job Job) (*shardReader, func(), error) {
	f, err := r.Files.Open(ctx, layout.ReplayShardKey(job.Replay.ID, job.Shard.Shard))
	if err != nil {
		return nil, nil, fmt.Errorf("read shard %d: %w", job.Shard.Shard, err)
	}
	sr, err := newShardReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read shard %d: %w", job.Shard.Shard, err)
	}
	return sr, func() { f.Close() }, nil
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// run is one invocation of a shard.
type run struct {
	r        *Runner
	job      Job
	target   capture.Environment
	head     shardHead
	hand     handoff
	epoch    time.Time
	speed    float64
	readOnly bool
	cut      time.Time // no session starts a statement after it unless inside a transaction
	lead     time.Duration
	pending  *step // read by the pre-scan, not yet handed on

	cutC, hardC, stopC chan struct{} // closed at the cut, at the deadline's margin, at a stop
	stopOnce, hardOnce sync.Once
	stopped            atomic.Bool
	sessCtx            context.Context // its connects' and waits'; cancelled at the deadline's margin or a kill
	cancelSess         context.CancelFunc
	slots              chan struct{} // one per open connection: the shard's share of the cap
	budget             *semaphore.Weighted
	budgetSize         int64

	mu         sync.Mutex
	connectors map[uint32]driver.Connector
	out        *outcomes
	sessions   []*live

	statements, errs, skipped    atomic.Int64
	restored, lostTemp, lostVars atomic.Int64
	split, active                atomic.Int64
}

func (r *Runner) newRun(ctx context.Context, target capture.Environment, job Job, head shardHead) (*run, error) {
	plan := job.Replay.Plan
	shards := max(plan.Shards, 1)
	limit := job.Replay.MaxConnections
	if limit <= 0 {
		limit = DefaultMaxConnections
	}
	share := max(1, limit/shards)
	if job.Shard.Shard < limit%shards {
		share++ // the remainder goes to the first shards
	}
	buf := r.Buffer
	if buf <= 0 {
		buf = 16 << 20
	}
	out, err := newOutcomes(r.TempDir)
	if err != nil {
		return nil, err
	}
	run := &run{r: r, job: job, target: target, head: head, epoch: plan.Epoch, speed: job.Replay.Speed,
		readOnly: job.Replay.Mode == capture.ReplayReadOnly, cut: farFuture,
		cutC: make(chan struct{}), hardC: make(chan struct{}), stopC: make(chan struct{}),
		slots: make(chan struct{}, share), budget: semaphore.NewWeighted(buf), budgetSize: buf,
		connectors: map[uint32]driver.Connector{}, out: out}
	if run.epoch.IsZero() {
		run.epoch = r.now()
	}
	run.sessCtx, run.cancelSess = context.WithCancel(ctx)
	run.resetSessions()
	if !job.Deadline.IsZero() {
		run.lead = r.Lead
		if run.lead <= 0 {
			run.lead = min(30*time.Second, job.Deadline.Sub(r.now())/5)
		}
		run.cut = job.Deadline.Add(-run.lead)
	}
	return run, nil
}

// resetSessions forgets what was read of the shard's sessions.
func (run *run) resetSessions() {
	for _, s := range run.sessions {
		if s != nil {
			s.close()
		}
	}
	run.sessions = make([]*live, len(run.head.Sessions))
	for i, s := range run.head.Sessions {
		run.sessions[i] = &live{run: run, idx: i, ordinal: s.Ordinal, notify: make(chan struct{}, 1)}
	}
	run.pending = nil
}

var farFuture = time.Unix(1<<40, 0)

// cleanup closes what is left once no session runs: the connections opened ahead for
// sessions that never started, and the spooled outcomes.
func (run *run) cleanup() {
	run.cancelSess()
	for _, s := range run.sessions {
		s.close()
	}
	run.out.discard()
}

// execute reads the shard into its sessions and waits for them to finish or stop.
func (run *run) execute(ctx context.Context, sr *shardReader) (Result, error) {
	r, job := run.r, run.job
	next := job.Shard
	next.Invocation++
	// Whether the successor was started, and whether it may still be (not once the run
	// ends): both decided under run.mu, so that it is started once.
	continued, final := false, false
	startNext := func() {
		run.mu.Lock()
		start := !final && !continued && !run.stopped.Load()
		continued = continued || start
		run.mu.Unlock()
		if !start {
			return
		}
		if err := r.Continue.Continue(ctx, next); err != nil {
			r.log().ErrorContext(ctx, "the shard's next invocation was not started", "shard", job.Shard.Shard, "error", err.Error())
		}
	}
	if !job.Deadline.IsZero() {
		lead := run.lead
		defer time.AfterFunc(max(0, run.cut.Add(-lead).Sub(r.now())), startNext).Stop()
		defer time.AfterFunc(max(0, run.cut.Sub(r.now())), func() { close(run.cutC) }).Stop()
		defer time.AfterFunc(max(0, job.Deadline.Add(-lead/4).Sub(r.now())), run.hardStop).Stop()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var ahead <-chan time.Time // when to look whether the successor is due, with a deadline
	if !job.Deadline.IsZero() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		ahead = t.C
	}
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	readDone := make(chan error, 1)
	var sessions sync.WaitGroup
	go func() { readDone <- run.read(readCtx, sr, &sessions) }()
	allDone := make(chan struct{})
	var readErr error
	go func() {
		readErr = <-readDone
		sessions.Wait()
		close(allDone)
	}()
	for waiting := true; waiting; {
		select {
		case <-allDone:
			waiting = false
		case <-tick.C:
			run.report(ctx)
		case <-ahead:
			if !r.now().Before(run.cut.Add(-run.lead - r.skipTime(sr.read.Load()))) {
				startNext() // the successor has this much of the shard to read again first
			}
		case <-ctx.Done():
			run.stop()
			run.hardStop()
			cancelRead()
			<-allDone
			return run.result(false), ctx.Err()
		}
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return run.result(false), fmt.Errorf("read shard %d: %w", job.Shard.Shard, readErr)
	}
	res := run.result(true)
	res.Done = res.Done || run.stopped.Load()
	key := layout.ReplayOutcomeKey(job.Replay.ID, job.Shard.Shard, job.Shard.Invocation)
	statements, errs := run.counts()
	switch err := r.Progress.Record(ctx, job.Shard, statements, errs); {
	case errors.Is(err, ErrGone):
		// Deleted while it ran, its files with it: nothing to store, and no successor (one
		// that started finds the shard gone and stops).
		res.Done = true
		return res, nil
	case errors.Is(err, ErrStopped):
		run.stop()
	case err != nil:
		r.log().WarnContext(ctx, "the replay's progress was not saved: recording it later", "error", err.Error())
	}
	run.mu.Lock()
	final = true
	started := continued
	run.mu.Unlock()
	// The baton goes before the outcomes are stored: the successor's sessions wait for it,
	// and storing a long invocation's outcomes (a PUT of many MB on AWS) must not make them
	// late. Should the store fail now, the statements ran and were counted but this
	// invocation's outcomes are missing from the report (the error says which).
	if started || !res.Done {
		h := handoff{Cut: run.cut, Positions: make([]int, len(run.sessions))}
		h.Statements, h.Errors = statements, errs
		for i, s := range run.sessions {
			h.Positions[i] = s.pos()
		}
		if err := r.Baton.Pass(ctx, job.Shard, h.encode()); err != nil {
			return res, fmt.Errorf("pass shard %d's baton: %w", job.Shard.Shard, err)
		}
		if !started && !res.Done {
			// The run ended before its successor was due to start: start it now.
			if err := r.Continue.Continue(ctx, next); err != nil {
				return res, fmt.Errorf("continue shard %d: %w", job.Shard.Shard, err)
			}
		}
	}
	// Past the baton this invocation is no longer the shard's current one, and the worker's
	// heartbeat then cancels ctx (fencing it off): the store must outlive that, within the
	// invocation's deadline.
	storeCtx := context.WithoutCancel(ctx)
	if !job.Deadline.IsZero() {
		var cancel context.CancelFunc
		storeCtx, cancel = context.WithDeadline(storeCtx, job.Deadline)
		defer cancel()
	}
	if err := run.out.store(storeCtx, r.Files, key); err != nil {
		return res, fmt.Errorf("the outcomes of shard %d's invocation %d: %w", job.Shard.Shard, job.Shard.Invocation, err)
	}
	if res.Done && job.Shard.Invocation > 0 {
		// The shard ends with this invocation, and its replay may end DONE now, its report
		// then kept: the predecessor, which passed its baton before storing its outcomes,
		// must have stored them first.
		run.awaitOutcome(storeCtx, layout.ReplayOutcomeKey(job.Replay.ID, job.Shard.Shard, job.Shard.Invocation-1))
	}
	// A delete since the progress above may have deleted the replay's files before this
	// one was stored: take it back.
	if err := r.Progress.Record(storeCtx, job.Shard, statements, errs); errors.Is(err, ErrGone) {
		if err := r.Files.DeletePrefix(storeCtx, key); err != nil {
			return res, fmt.Errorf("take back the outcome of a deleted replay: %w", err)
		}
	}
	return res, nil
}
