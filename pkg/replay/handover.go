package replay

import (
	"context"
	"errors"
	"time"
)

// DefaultSkipRate is a third of what BenchmarkShardRead reads on one core (1.5 million
// steps a second), for a Lambda's slower and shared one.
const DefaultSkipRate = 500_000

// maxSkipAhead bounds how much earlier than a lead before its cut an invocation starts its
// successor: past it, the shard is too long to re-read within an invocation's margin.
const maxSkipAhead = 5 * time.Minute

// maxOutcomeWait bounds how long a shard's last invocation waits for its predecessor's outcome
// file: longer than storing any invocation's takes.
const maxOutcomeWait = 2 * time.Minute

// awaitOutcome returns once key can be opened, ctx is done, or maxOutcomeWait has passed (the
// predecessor's store failed: it said so, and the report goes without those outcomes).
func (run *run) awaitOutcome(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(ctx, maxOutcomeWait)
	defer cancel()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		if f, err := run.r.Files.Open(ctx, key); err == nil {
			f.Close()
			return
		}
		select {
		case <-ctx.Done():
			run.r.log().WarnContext(ctx, "the shard's last invocation ends without its predecessor's outcomes", "key", key)
			return
		case <-poll.C:
		}
	}
}

// skipTime is how long a successor takes to read steps steps of its shard, at the runner's
// SkipRate, at most maxSkipAhead: how much earlier than a lead before its cut an invocation
// starts it, and what the successor adds to its guess of that cut (prescan).
func (r *Runner) skipTime(steps int64) time.Duration {
	rate := r.SkipRate
	if rate <= 0 {
		rate = DefaultSkipRate
	}
	return min(maxSkipAhead, time.Duration(float64(steps)/rate*float64(time.Second)))
}

// report records the shard's counts so far (from its checkpoint's, plus this invocation's) in
// the replay's progress, every second; ErrStopped stops. It is sent even when nothing was done
// since: it is how a shard busy with one long statement learns of a stop.
func (run *run) report(ctx context.Context) {
	statements, errs := run.counts()
	err := run.r.Progress.Record(ctx, run.job.Shard, statements, errs)
	switch {
	case errors.Is(err, ErrStopped):
		run.stop()
	case err != nil:
		run.r.log().WarnContext(ctx, "the replay's progress was not saved: recording it later", "error", err.Error())
	}
}

// counts are the shard's statements done and errors, over its invocations so far.
func (run *run) counts() (statements, errs int64) {
	return run.hand.Statements + run.statements.Load(), run.hand.Errors + run.errs.Load()
}

// result sums the invocation up; complete when every session has done all its steps.
func (run *run) result(finished bool) Result {
	res := Result{Statements: run.statements.Load(), Errors: run.errs.Load(), Skipped: run.skipped.Load(),
		Restored: int(run.restored.Load()), Split: int(run.split.Load()),
		Lost: Lost{TempTables: int(run.lostTemp.Load()), UserVariables: int(run.lostVars.Load())}}
	if finished {
		res.Done = true
		for i, s := range run.sessions {
			if s.pos() < run.head.Sessions[i].Steps {
				res.Done = false
			}
		}
	}
	return res
}
