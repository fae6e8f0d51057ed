package replay

import (
	"context"
	"sync"

	"github.com/mycrt/captures/pkg/capture"
)

// Local is a Baton, Progress and Continuer in memory, for one process: make run's in-process
// replays and tests. The zero value is ready to use.
type Local struct {
	// Start runs a shard's invocation when Continue asks for it, in its own goroutine; when
	// nil, Continue only records what it was asked.
	Start func(ctx context.Context, next Shard)

	mu        sync.Mutex
	changed   chan struct{} // closed, and replaced, at every pass
	current   map[shardKey]int
	batons    map[shardKey]Checkpoint
	progress  map[shardKey]capture.ReplayProgress
	stopped   map[int64]bool
	gone      map[int64]bool
	continued []Shard
}

type shardKey struct {
	replay int64
	shard  int
}

func (l *Local) init() {
	if l.changed == nil {
		l.changed = make(chan struct{})
		l.current = map[shardKey]int{}
		l.batons = map[shardKey]Checkpoint{}
		l.progress = map[shardKey]capture.ReplayProgress{}
		l.stopped = map[int64]bool{}
		l.gone = map[int64]bool{}
	}
}

// Pass passes s's baton to its next invocation; ErrNotCurrent unless s is the shard's current
// invocation.
func (l *Local) Pass(_ context.Context, s Shard, cp Checkpoint) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	k := shardKey{s.Replay, s.Shard}
	if l.current[k] != s.Invocation {
		return ErrNotCurrent
	}
	l.current[k] = s.Invocation + 1
	l.batons[k] = append(Checkpoint(nil), cp...)
	close(l.changed)
	l.changed = make(chan struct{})
	return nil
}

// Await waits until s is its shard's current invocation and returns the checkpoint passed to
// it (nil for invocation 0); ErrNotCurrent if s's turn has gone.
func (l *Local) Await(ctx context.Context, s Shard) (Checkpoint, error) {
	k := shardKey{s.Replay, s.Shard}
	for {
		l.mu.Lock()
		l.init()
		cur, changed := l.current[k], l.changed
		cp := l.batons[k]
		l.mu.Unlock()
		switch {
		case cur == s.Invocation && s.Invocation == 0:
			return nil, nil
		case cur == s.Invocation:
			return cp, nil
		case cur > s.Invocation:
			return nil, ErrNotCurrent
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Record records s's shard's counts, each unless it recorded more before (Progress);
// ErrStopped once Stop was called for the replay, ErrGone once Delete was.
func (l *Local) Record(_ context.Context, s Shard, statements, errors int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	k := shardKey{s.Replay, s.Shard}
	if p := l.progress[k]; statements >= p.Statements {
		l.progress[k] = capture.ReplayProgress{Statements: statements, Errors: max(p.Errors, errors)}
	}
	if l.gone[s.Replay] {
		return ErrGone
	}
	if l.stopped[s.Replay] {
		return ErrStopped
	}
	return nil
}

// Delete makes the replay's shards stop at their next Record, told it is gone (ErrGone), as a
// delete on the table does.
func (l *Local) Delete(replay int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	l.gone[replay] = true
}

// Stop makes the replay's shards stop at their next Add.
func (l *Local) Stop(replay int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	l.stopped[replay] = true
}

// Progress is the replay's progress so far (without its Of).
func (l *Local) Progress(replay int64) capture.ReplayProgress {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	var p capture.ReplayProgress
	for k, sp := range l.progress {
		if k.replay == replay {
			p.Statements += sp.Statements
			p.Errors += sp.Errors
		}
	}
	return p
}

// Continue records next and starts it through Start.
func (l *Local) Continue(ctx context.Context, next Shard) error {
	l.mu.Lock()
	l.continued = append(l.continued, next)
	start := l.Start
	l.mu.Unlock()
	if start != nil {
		go start(context.WithoutCancel(ctx), next)
	}
	return nil
}

// Continued lists the invocations Continue was asked for, in order.
func (l *Local) Continued() []Shard {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Shard(nil), l.continued...)
}
