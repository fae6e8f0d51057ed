package replay_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/replay"
)

// startedAt records when each shard run was asked for.
type startedAt struct {
	replay.Continuer
	mu sync.Mutex
	at map[int]time.Time // by invocation
}

func (s *startedAt) Continue(ctx context.Context, next replay.Shard) error {
	s.mu.Lock()
	s.at[next.Invocation] = time.Now()
	s.mu.Unlock()
	return s.Continuer.Continue(ctx, next)
}

// TestLongShardStartsItsSuccessorEarly: every invocation reads its shard from the start, so an
// invocation starts its successor earlier than a lead before its cut by the time reading the
// shard that far takes (here, at a SkipRate of 400 steps a second against 250 statements a second, most of a second more), and
// the successor guesses the cut the same way: the replay still runs every statement once, in
// order, across the hand-offs.
func TestLongShardStartsItsSuccessorEarly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 1500
	events := doSession(n, 4) // one every 4 ms: 6 s
	c := capture.Capture{ID: 4545, EnvID: f.env.ID}
	storeEvents(t, f, c, events)
	_, env := f.target(t, nil)

	const limit, lead = 3 * time.Second, 600 * time.Millisecond
	local := &replay.Local{}
	starts := &startedAt{Continuer: local, at: map[int]time.Time{0: time.Now()}}
	out := f.replay(t, c, env, options{limit: limit, local: local, hook: func(r *replay.Runner) {
		r.Lead, r.SkipRate = lead, 400
		r.Buffer = 4 << 10 // a few dozen steps read ahead of the session, so reading keeps pace with the schedule
		r.Continue = starts
	}})
	if out.err != nil {
		t.Fatal(out.err)
	}
	if len(out.outcomes) != n {
		t.Fatalf("%d outcomes of %d statements", len(out.outcomes), n)
	}
	for i, r := range out.outcomes {
		if r.Seq != uint32(i) || r.Errno != 0 {
			t.Fatalf("outcome %d: statement %d, error %d %s", i, r.Seq, r.Errno, r.Message)
		}
	}
	starts.mu.Lock()
	defer starts.mu.Unlock()
	if len(starts.at) < 2 {
		t.Fatalf("%d invocations: the limit forced no hand-off", len(starts.at))
	}
	// Without the reading time, a successor is asked for a lead before its predecessor's
	// cut: limit - 2 leads (1.8 s) into the predecessor.
	for k := 1; k < len(starts.at); k++ {
		if into := starts.at[k].Sub(starts.at[k-1]); into > limit-2*lead-300*time.Millisecond {
			t.Errorf("invocation %d asked for %s into its predecessor: not earlier than a lead before the cut", k, into)
		}
	}
}
