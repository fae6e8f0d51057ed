package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/shard"
)

// shardItem is one shard of a running replay: which invocation is its current one (the only
// one that may beat, pass or finish), the checkpoint that invocation begins from, its last
// heartbeat, how often it was run again after its heartbeat stopped, and whether it is done.
type shardItem struct {
	keys
	Shard      int       `dynamo:"shard"`
	Invocation int       `dynamo:"invocation"`
	Checkpoint []byte    `dynamo:"checkpoint,omitempty"`
	Heartbeat  time.Time `dynamo:"heartbeat"`
	Reruns     int       `dynamo:"reruns,omitempty"`
	Done       bool      `dynamo:"done,omitempty"`
}

const shardPfx = "SHARD#"

func shardSK(n int) string { return fmt.Sprintf("%s%06d", shardPfx, n) }

// ShardState is what the table knows of a shard: for the scheduler, which reruns a shard
// whose heartbeat stopped.
type ShardState struct {
	Replay     int64
	Shard      int
	Invocation int // the current one
	Heartbeat  time.Time
	Reruns     int
	Done       bool
}

// Current is the shard run that is the shard's current invocation.
func (st ShardState) Current() shard.Shard {
	return shard.Shard{Replay: st.Replay, Shard: st.Shard, Invocation: st.Invocation}
}

func (it shardItem) state(id int64) ShardState {
	return ShardState{Replay: id, Shard: it.Shard, Invocation: it.Invocation, Heartbeat: it.Heartbeat.UTC(), Reruns: it.Reruns, Done: it.Done}
}

// CreateShards makes replay id's n shards, each at invocation 0 with a heartbeat of now. A
// shard that exists already is left as it is: a repeated start must not rewind a shard that a
// first one set running.
func (s *Store) CreateShards(ctx context.Context, id int64, n int, now time.Time) error {
	for i := range n {
		it := shardItem{keys: keys{PK: replayPK(id), SK: shardSK(i)}, Shard: i, Heartbeat: now.UTC()}
		err := s.table.Put(it).If("attribute_not_exists(pk)").Run(ctx)
		if err != nil && !dynamo.IsCondCheckFailed(err) {
			return fmt.Errorf("create shard %d of replay %d: %w", i, id, err)
		}
	}
	return nil
}

// Shards lists replay id's shards, read consistently, in shard order.
func (s *Store) Shards(ctx context.Context, id int64) ([]ShardState, error) {
	var items []shardItem
	err := s.table.Get("pk", replayPK(id)).Range("sk", dynamo.BeginsWith, shardPfx).Consistent(true).All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list the shards of replay %d: %w", id, err)
	}
	out := make([]ShardState, len(items))
	for i, it := range items {
		out[i] = it.state(id)
	}
	return out, nil
}

func (s *Store) deleteShards(ctx context.Context, id int64) error {
	return s.deletePrefix(ctx, replayPK(id), shardPfx, fmt.Sprintf("the shards of replay %d", id))
}

func (s *Store) shardUpdate(sh shard.Shard) *dynamo.Update {
	return s.table.Update("pk", replayPK(sh.Replay)).Range("sk", shardSK(sh.Shard)).
		If("invocation = ? AND attribute_not_exists(done)", sh.Invocation)
}

// Pass records that sh has finished every statement before its cut: its next invocation is
// the shard's current one and begins from cp. shard.ErrNotCurrent if sh is not the shard's
// current invocation (passed already, run again by the scheduler, or done).
func (s *Store) Pass(ctx context.Context, sh shard.Shard, cp shard.Checkpoint, now time.Time) error {
	u := s.shardUpdate(sh).Set("invocation", sh.Invocation+1).Set("heartbeat", now.UTC())
	if len(cp) > 0 {
		u.Set("checkpoint", []byte(cp))
	} else {
		u.Remove("checkpoint")
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("pass shard %d of replay %d at invocation %d: %w", sh.Shard, sh.Replay, sh.Invocation, shard.ErrNotCurrent)
	}
	if err != nil {
		return fmt.Errorf("pass shard %d of replay %d at invocation %d: %w", sh.Shard, sh.Replay, sh.Invocation, err)
	}
	return nil
}

// Beat records that sh is alive at now: shard.ErrNotCurrent if it is not the shard's current
// invocation, which must then stop (another runs in its place).
func (s *Store) Beat(ctx context.Context, sh shard.Shard, now time.Time) error {
	err := s.shardUpdate(sh).Set("heartbeat", now.UTC()).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("shard %d of replay %d at invocation %d: %w", sh.Shard, sh.Replay, sh.Invocation, shard.ErrNotCurrent)
	}
	if err != nil {
		return fmt.Errorf("heartbeat of shard %d of replay %d: %w", sh.Shard, sh.Replay, err)
	}
	return nil
}

// FinishShard records that sh ran its last statement (or stopped) and reports whether every
// shard of its replay is done now. shard.ErrNotCurrent if sh is not the current invocation.
func (s *Store) FinishShard(ctx context.Context, sh shard.Shard, now time.Time) (all bool, err error) {
	err = s.shardUpdate(sh).Set("done", true).Set("heartbeat", now.UTC()).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return false, fmt.Errorf("finish shard %d of replay %d at invocation %d: %w", sh.Shard, sh.Replay, sh.Invocation, shard.ErrNotCurrent)
	}
	if err != nil {
		return false, fmt.Errorf("finish shard %d of replay %d: %w", sh.Shard, sh.Replay, err)
	}
	shards, err := s.Shards(ctx, sh.Replay)
	if err != nil {
		return false, err
	}
	return AllDone(shards), nil
}

// AllDone reports whether every shard listed is done (and there is at least one).
func AllDone(shards []ShardState) bool {
	for _, st := range shards {
		if !st.Done {
			return false
		}
	}
	return len(shards) > 0
}

// RerunShard makes a new invocation of st's shard its current one, beginning from the
// checkpoint st's current invocation began from (that one stopped beating: it is fenced off
// from beating, passing and finishing), on condition that nothing changed since st was read:
// capture.ErrChanged otherwise. It returns the new invocation to run.
func (s *Store) RerunShard(ctx context.Context, st ShardState, now time.Time) (shard.Shard, error) {
	next := st.Current()
	next.Invocation++
	err := s.shardUpdate(st.Current()).
		Set("invocation", next.Invocation).Set("heartbeat", now.UTC()).Set("reruns", st.Reruns+1).
		If("heartbeat = ?", st.Heartbeat).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return shard.Shard{}, fmt.Errorf("rerun shard %d of replay %d: %w", st.Shard, st.Replay, capture.ErrChanged)
	}
	if err != nil {
		return shard.Shard{}, fmt.Errorf("rerun shard %d of replay %d: %w", st.Shard, st.Replay, err)
	}
	return next, nil
}

// Baton passes shards from one invocation to the next through their shard items
// (shard.Baton).
type Baton struct {
	Store *Store
	Poll  time.Duration    // how often Await reads the shard; DefaultPoll when zero
	Now   func() time.Time // time.Now when nil
}

// DefaultPoll is how often Await reads a shard: what a successor may start late at a hand-off,
// a strongly consistent read (half a read unit) each time while it waits.
const DefaultPoll = 10 * time.Millisecond

// MaxAwait bounds an Await whose context has no deadline: a Lambda invocation's longest life.
const MaxAwait = 15 * time.Minute

func (b Baton) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Pass is Store.Pass.
func (b Baton) Pass(ctx context.Context, sh shard.Shard, cp shard.Checkpoint) error {
	return b.Store.Pass(ctx, sh, cp, b.now())
}

// Await returns sh's checkpoint once sh is its shard's current invocation (for invocation 0 at
// once, with a nil checkpoint, unless the shard went past it), polling every Poll: shard.ErrNotCurrent if the shard went
// past sh (it ran again, or is done), ctx's error, or after MaxAwait if ctx has no deadline.
func (b Baton) Await(ctx context.Context, sh shard.Shard) (shard.Checkpoint, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, MaxAwait)
		defer cancel()
	}
	poll := b.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		var it shardItem
		err := b.Store.table.Get("pk", replayPK(sh.Replay)).Range("sk", dynamo.Equal, shardSK(sh.Shard)).
			Consistent(true).One(ctx, &it)
		switch {
		case errors.Is(err, dynamo.ErrNotFound) && sh.Invocation == 0:
			return nil, nil // a shard not made yet has not gone past its first invocation
		case errors.Is(err, dynamo.ErrNotFound):
			return nil, fmt.Errorf("await shard %d of replay %d: %w", sh.Shard, sh.Replay, shard.ErrStopped)
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			return nil, fmt.Errorf("await shard %d of replay %d: %w", sh.Shard, sh.Replay, err)
		case it.Done || it.Invocation > sh.Invocation:
			return nil, fmt.Errorf("await shard %d of replay %d at invocation %d: %w", sh.Shard, sh.Replay, sh.Invocation, shard.ErrNotCurrent)
		case it.Invocation == sh.Invocation:
			return shard.Checkpoint(it.Checkpoint), nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// RecordProgress records that sh's shard has done statements in all, errs of them errors
// (shard.Progress), while its replay is RUNNING or STOPPING (so that the last counts of a
// stopping shard are kept): shard.ErrStopped once it is no longer RUNNING, shard.ErrGone
// once it is deleted. Neither count goes back: a rerun catching up from an earlier
// checkpoint changes nothing until it is past the shard's recorded statements, and then not
// its errors while it met fewer than the first run. One conditional update, and a consistent
// read when its condition fails (and a write of the statements alone when they are ahead but
// the errors behind).
func (s *Store) RecordProgress(ctx context.Context, sh shard.Shard, statements, errs int64) error {
	n := strconv.Itoa(sh.Shard)
	var out struct {
		State  string           `dynamo:"state"`
		Done   map[string]int64 `dynamo:"shardDone"`
		Errors map[string]int64 `dynamo:"shardErrors"`
	}
	running := func(u *dynamo.Update) *dynamo.Update {
		return u.If("$ IN (?, ?)", "state", string(capture.Running), string(capture.Stopping)).
			If("shardDone.$ <= ?", n, statements)
	}
	update := s.table.Update("pk", replayPK(sh.Replay)).Range("sk", skReplay)
	err := running(update.SetExpr("shardDone.$ = ?", n, statements).SetExpr("shardErrors.$ = ?", n, errs)).
		If("shardErrors.$ <= ?", n, errs).
		Value(ctx, &out)
	if dynamo.IsCondCheckFailed(err) {
		// Behind what the shard recorded, or no longer running: which, the replay says.
		err = s.table.Get("pk", replayPK(sh.Replay)).Range("sk", dynamo.Equal, skReplay).
			Project("state", "shardDone", "shardErrors").Consistent(true).One(ctx, &out)
		if errors.Is(err, dynamo.ErrNotFound) {
			return fmt.Errorf("progress of shard %d of replay %d: %w", sh.Shard, sh.Replay, shard.ErrGone)
		}
		if d, ok := out.Done[n]; err == nil && ok && d < statements && out.Errors[n] > errs {
			// Ahead in statements, behind in errors: the statements alone.
			err = running(s.table.Update("pk", replayPK(sh.Replay)).Range("sk", skReplay).
				SetExpr("shardDone.$ = ?", n, statements)).Value(ctx, &out)
			if dynamo.IsCondCheckFailed(err) {
				err = nil // moved on meanwhile: the next record says how
			}
		}
	}
	if err != nil {
		return fmt.Errorf("progress of shard %d of replay %d: %w", sh.Shard, sh.Replay, err)
	}
	if out.State != string(capture.Running) {
		return fmt.Errorf("progress of shard %d of replay %d: %w", sh.Shard, sh.Replay, shard.ErrStopped)
	}
	return nil
}

// Progress is shard.Progress on the table (RecordProgress).
type Progress struct{ Store *Store }

// Record implements shard.Progress.
func (p Progress) Record(ctx context.Context, sh shard.Shard, statements, errs int64) error {
	return p.Store.RecordProgress(ctx, sh, statements, errs)
}
