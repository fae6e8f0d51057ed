package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/shard"
	"github.com/mycrt/captures/pkg/store"
)

func TestBaton(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	r := running(t, st, envID, "baton", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := store.Baton{Store: st, Poll: 5 * time.Millisecond}
	s0 := shard.Shard{Replay: r.ID, Shard: 0}
	if cp, err := b.Await(ctx, s0); err != nil || cp != nil {
		t.Fatalf("invocation 0: %v %v", cp, err)
	}
	s1 := s0
	s1.Invocation = 1
	got := make(chan error, 1)
	var cp shard.Checkpoint
	go func() {
		var err error
		cp, err = b.Await(ctx, s1)
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("invocation 1 began before 0 passed: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := b.Pass(ctx, s0, shard.Checkpoint("at 42")); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil || string(cp) != "at 42" {
		t.Fatalf("invocation 1: %q %v", cp, err)
	}
	if err := b.Pass(ctx, s0, nil); !errors.Is(err, shard.ErrNotCurrent) {
		t.Errorf("passing twice: %v", err)
	}
	if _, err := b.Await(ctx, s0); !errors.Is(err, shard.ErrNotCurrent) {
		t.Errorf("awaiting an invocation the shard went past: %v", err)
	}
	short, stop := context.WithTimeout(ctx, 30*time.Millisecond)
	defer stop()
	if _, err := b.Await(short, shard.Shard{Replay: r.ID, Shard: 1, Invocation: 3}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("await past its deadline: %v", err)
	}
	// Shard 1's invocation 0 stopped beating: a rerun fences it off and begins from its checkpoint.
	shards, err := st.Shards(ctx, r.ID)
	if err != nil || len(shards) != 2 {
		t.Fatalf("shards %v %v", shards, err)
	}
	next, err := st.RerunShard(ctx, shards[1], time.Now())
	if err != nil || next.Invocation != 1 {
		t.Fatalf("rerun: %v %v", next, err)
	}
	if _, err := st.RerunShard(ctx, shards[1], time.Now()); !errors.Is(err, capture.ErrChanged) {
		t.Errorf("second rerun of the same state: %v", err)
	}
	old := shard.Shard{Replay: r.ID, Shard: 1}
	if err := st.Beat(ctx, old, time.Now()); !errors.Is(err, shard.ErrNotCurrent) {
		t.Errorf("fenced invocation beats: %v", err)
	}
	if cp, err := b.Await(ctx, next); err != nil || cp != nil {
		t.Errorf("rerun awaits: %q %v", cp, err)
	}
	// Done when both are.
	if all, err := st.FinishShard(ctx, s1, time.Now()); err != nil || all {
		t.Errorf("finish shard 0: %v %v", all, err)
	}
	if _, err := st.FinishShard(ctx, old, time.Now()); !errors.Is(err, shard.ErrNotCurrent) {
		t.Errorf("fenced invocation finishes: %v", err)
	}
	if all, err := st.FinishShard(ctx, next, time.Now()); err != nil || !all {
		t.Errorf("finish shard 1: %v %v", all, err)
	}
}

// Progress is kept by shard: shards record concurrently, a rerun catching up from an earlier
// checkpoint counts nothing twice, and a stop says ErrStopped.
func TestShardProgress(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	r := running(t, st, envID, "progress", 4)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := store.Progress{Store: st}
			for n := range int64(10) {
				errs <- p.Record(ctx, shard.Shard{Replay: r.ID, Shard: i}, 3*(n+1), n+1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := st.Replay(ctx, r.ID)
	if got.Progress != (capture.ReplayProgress{Statements: 120, Of: 100, Errors: 40}) {
		t.Errorf("progress %+v", got.Progress)
	}
	// Shard 2 is run again from a checkpoint at 12 statements: until it is past its 30 it
	// changes nothing.
	rerun := shard.Shard{Replay: r.ID, Shard: 2, Invocation: 1}
	p := store.Progress{Store: st}
	for _, n := range []int64{12, 20, 30, 33} {
		if err := p.Record(ctx, rerun, n, 10); err != nil {
			t.Fatal(err)
		}
		want := max(120, 90+n)
		if got, _ := st.Replay(ctx, r.ID); got.Progress.Statements != want {
			t.Errorf("rerun at %d: %d statements, want %d", n, got.Progress.Statements, want)
		}
	}
	stop, _ := capture.StopReplay(got, time.Now())
	if err := st.MoveReplay(ctx, stop, got.Status); err != nil {
		t.Fatal(err)
	}
	if err := p.Record(ctx, rerun, 35, 10); !errors.Is(err, shard.ErrStopped) {
		t.Errorf("after stop: %v", err)
	}
	if got, _ := st.Replay(ctx, r.ID); got.Progress.Statements != 125 {
		t.Errorf("a stopping shard's last counts are kept: %+v", got.Progress)
	}
	if err := p.Record(ctx, rerun, 34, 10); !errors.Is(err, shard.ErrStopped) {
		t.Errorf("after stop, behind: %v", err)
	}
	done, _ := capture.MoveReplay(stop, capture.Done, time.Now())
	if err := st.MoveReplay(ctx, done, stop.Status); err != nil {
		t.Fatal(err)
	}
	if err := p.Record(ctx, rerun, 40, 10); !errors.Is(err, shard.ErrStopped) {
		t.Errorf("after done: %v", err)
	}
	if got, _ := st.Replay(ctx, r.ID); got.Progress != (capture.ReplayProgress{Statements: 125, Of: 100, Errors: 40}) {
		t.Errorf("progress after the moves %+v: the moves keep it", got.Progress)
	}
}

// A shard's counts never go back, its errors no more than its statements: a record behind
// what the shard recorded (a rerun catching up, with other errors than the first run met)
// changes neither.
func TestShardProgressNeverBack(t *testing.T) {
	ctx := context.Background()
	type counts struct{ statements, errors int64 }
	for _, tt := range []struct {
		name    string
		records []counts
		want    counts
	}{
		{"ahead", []counts{{10, 2}, {20, 3}}, counts{20, 3}},
		{"fewer statements", []counts{{20, 3}, {10, 5}}, counts{20, 3}},
		{"as many statements, fewer errors", []counts{{20, 3}, {20, 1}}, counts{20, 3}},
		{"as many statements, more errors", []counts{{20, 3}, {20, 4}}, counts{20, 4}},
		{"more statements, fewer errors", []counts{{20, 3}, {25, 1}}, counts{25, 3}},
		{"as recorded again", []counts{{20, 3}, {20, 3}}, counts{20, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, envID := newStoreWithEnv(t) // a target of its own: one replay runs there at a time
			r := running(t, st, envID, "never back", 1)
			p := store.Progress{Store: st}
			for _, c := range tt.records {
				if err := p.Record(ctx, shard.Shard{Replay: r.ID}, c.statements, c.errors); err != nil {
					t.Fatal(err)
				}
			}
			got, err := st.Replay(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c := (counts{got.Progress.Statements, got.Progress.Errors}); c != tt.want {
				t.Errorf("after %v: %+v, want %+v", tt.records, c, tt.want)
			}
		})
	}
}
