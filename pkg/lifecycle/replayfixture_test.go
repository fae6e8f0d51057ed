package lifecycle_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/shard"
	"github.com/mycrt/captures/pkg/store"
)

// fakeReplayer stands in for the engine's target checks and Prepare.
type fakeReplayer struct {
	sameErr, prepErr error
	same             bool
	shards           int
	during           func(capture.Replay) // what happens while it prepares, if anything
}

// fakeRunner runs a shard as the engine does through the table: it awaits its baton, counts
// 5 statements and 1 error, and is done. gate, when set, holds every run until it is closed;
// hang makes the named runs wait for their context instead (a process that stopped answering).
type fakeRunner struct {
	st   *store.Store
	gate chan struct{}
	hang func(shard.Shard) bool

	mu      sync.Mutex
	runs    []shard.Shard
	targets []string // the host of each run's target
}

// runs hands shard runs to the worker in goroutines, as the replayer function would be
// invoked, except those drop names (an invocation killed before it did anything).
type runs struct {
	w    *lifecycle.Worker
	drop func(lifecycle.Event) bool
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// replayFixture is a done capture of f's environment and a target environment of its own.
type replayFixture struct {
	fixture
	clock  *fakeClock
	target capture.Environment
	done   capture.Capture
}

func newReplayFixture(t *testing.T) replayFixture {
	f := newFixture(t)
	ctx := context.Background()
	c := f.create(t, "recorded", t0.Add(time.Hour), 0, t0)
	for _, to := range []capture.Status{capture.Started, capture.Starting, capture.Running, capture.Stopping, capture.Done} {
		next, err := capture.Move(c, to, t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.Move(ctx, next, c.Status); err != nil {
			t.Fatal(err)
		}
		c = next
	}
	if err := f.store.SaveWorkload(ctx, c.ID, c.Workload, capture.Workload{Fragments: 1, Statements: 10, Bytes: 500}); err != nil {
		t.Fatal(err)
	}
	id, _ := f.store.NewEnvironmentID(ctx)
	target, err := f.store.CreateEnvironment(ctx, capture.Environment{ID: id, Name: "candidate", OwnerID: "alice", Host: "127.0.0.2", Port: 1, DBName: "shop", User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	return replayFixture{fixture: f, clock: &fakeClock{now: t0}, target: target, done: c}
}

func (f fakeReplayer) SameServer(context.Context, capture.Environment, capture.Environment, string) (bool, error) {
	return f.same, f.sameErr
}

func (f fakeReplayer) Server(_ context.Context, target capture.Environment) (string, error) {
	return "server/target-" + target.Host, nil
}

func (f fakeReplayer) Prepare(_ context.Context, _ capture.Capture, r capture.Replay) (capture.ReplayPlan, error) {
	if f.during != nil {
		f.during(r)
	}
	if f.prepErr != nil {
		return capture.ReplayPlan{}, f.prepErr
	}
	return capture.ReplayPlan{Shards: f.shards, Sessions: f.shards, Statements: int64(5 * f.shards), Captured: int64(6 * f.shards), First: t0}, nil
}

func (r *fakeRunner) Run(ctx context.Context, target capture.Environment, job shard.Job) (shard.Result, error) {
	r.mu.Lock()
	r.runs = append(r.runs, job.Shard)
	r.targets = append(r.targets, target.Host)
	r.mu.Unlock()
	if r.hang != nil && r.hang(job.Shard) {
		<-ctx.Done()
		return shard.Result{}, ctx.Err()
	}
	if _, err := (store.Baton{Store: r.st, Poll: 2 * time.Millisecond}).Await(ctx, job.Shard); err != nil {
		return shard.Result{}, err
	}
	if r.gate != nil {
		<-r.gate
	}
	if err := r.st.RecordProgress(ctx, job.Shard, 5, 1); errors.Is(err, shard.ErrStopped) {
		return shard.Result{Done: true}, nil // a stop: close sessions, done
	} else if err != nil {
		return shard.Result{}, err
	}
	return shard.Result{Done: true, Statements: 5, Errors: 1}, nil
}

func (h *runs) HandOff(ctx context.Context, ev lifecycle.Event) error {
	if h.drop != nil && h.drop(ev) {
		return nil
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := h.w.Handle(context.WithoutCancel(ctx), ev); err != nil {
			h.mu.Lock()
			h.errs = append(h.errs, err)
			h.mu.Unlock()
		}
	}()
	return nil
}

func (h *runs) wait(t *testing.T) {
	t.Helper()
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := errors.Join(h.errs...); err != nil {
		t.Fatal(err)
	}
}

// replay stores a replay of the done capture into the target, STARTED.
func (f replayFixture) replay(t *testing.T, name string) capture.Replay {
	t.Helper()
	r, err := capture.NewReplay(capture.ReplayRequest{Name: name, CaptureID: f.done.ID, EnvID: f.target.ID}, "alice", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.CaptureEnvID, r.Target = f.env.ID, capture.TargetKey(f.target)
	if r, err = f.store.CreateReplay(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (f replayFixture) worker(rp lifecycle.Replayer, rn lifecycle.ShardRunner) (*lifecycle.Worker, *runs) {
	w := &lifecycle.Worker{Store: f.store, Now: f.clock.Now, Log: quiet, Replayer: rp, Shards: rn, HeartbeatEvery: 5 * time.Millisecond}
	h := &runs{w: w}
	w.Replays = h
	return w, h
}

func (f replayFixture) getReplay(t *testing.T, id int64) capture.Replay {
	t.Helper()
	r, err := f.store.Replay(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f replayFixture) replayRequest(t *testing.T, name string) capture.Replay {
	r, err := capture.NewReplay(capture.ReplayRequest{Name: name, CaptureID: f.done.ID, EnvID: f.target.ID}, "alice", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.CaptureEnvID, r.Target = f.env.ID, capture.TargetKey(f.target)
	return r
}
