package replay_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/outcome"
	"github.com/mycrt/captures/pkg/replay"
	"github.com/mycrt/captures/pkg/workload"
)

// TestRerunCountsOnce: an invocation killed after its progress was recorded, then run again
// from the checkpoint it began from (as the scheduler does when a heartbeat stops), counts
// each of the shard's statements once: the progress ends at the plan's total, not above it.
func TestRerunCountsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := appEvent
	events := []workload.Event{ev(0, "Connect", "app@h on shop using TCP/IP")}
	for i := range 40 {
		events = append(events, ev(1+i, "Query", "SELECT 1"))
		if i%20 == 19 {
			// Long enough that the shard records its progress (every second) while in it.
			events = append(events, ev(1+i, "Query", "SELECT SLEEP(1.5)"))
		}
	}
	events = append(events, ev(100, "Quit", ""))
	c := capture.Capture{ID: 4343, EnvID: f.env.ID}
	storeEvents(t, f, c, events)
	_, env := f.target(t, nil)

	job, runner, local := f.oneShard(t, c, env, 4343)
	r, plan := job.Replay, job.Replay.Plan

	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	go func() {
		poll(20*time.Second, func() bool { return local.Progress(r.ID).Statements > 0 })
		kill()
	}()
	if _, err := runner.Run(ctx, env, job); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed invocation: %v, want the context's error", err)
	}
	killed := local.Progress(r.ID).Statements
	if killed == 0 || killed >= plan.Statements {
		t.Fatalf("the killed invocation recorded %d of %d statements: want some, not all", killed, plan.Statements)
	}
	res, err := runner.Run(context.Background(), env, job)
	if err != nil || !res.Done {
		t.Fatalf("rerun: %+v, %v", res, err)
	}
	if got := local.Progress(r.ID); got.Statements != plan.Statements || got.Errors != 0 {
		t.Errorf("progress %+v after a rerun, want %d statements (the killed invocation recorded %d), no errors", got, plan.Statements, killed)
	}
}

// Local keeps a shard's counts as the table does (store.TestShardProgressNeverBack): neither
// goes back.
func TestLocalProgressNeverBack(t *testing.T) {
	t.Parallel()
	type counts struct{ statements, errors int64 }
	for i, tt := range []struct {
		name    string
		records []counts
		want    counts
	}{
		{"ahead", []counts{{10, 2}, {20, 3}}, counts{20, 3}},
		{"fewer statements", []counts{{20, 3}, {10, 5}}, counts{20, 3}},
		{"as many statements, fewer errors", []counts{{20, 3}, {20, 1}}, counts{20, 3}},
		{"as many statements, more errors", []counts{{20, 3}, {20, 4}}, counts{20, 4}},
		{"more statements, fewer errors", []counts{{20, 3}, {25, 1}}, counts{25, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var l replay.Local
			sh := replay.Shard{Replay: int64(i + 1)}
			for _, c := range tt.records {
				if err := l.Record(context.Background(), sh, c.statements, c.errors); err != nil {
					t.Fatal(err)
				}
			}
			if p := l.Progress(sh.Replay); (counts{p.Statements, p.Errors}) != tt.want {
				t.Errorf("after %v: %+v, want %+v", tt.records, p, tt.want)
			}
		})
	}
}

// A shard of a replay deleted while it runs (its files deleted with it) stops and leaves no
// outcome file behind: the one it stores as it stops came after the delete's, and is removed
// once its progress says the replay is gone. One only stopped keeps its outcome.
func TestDeletedReplayLeavesNoOutcome(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := appEvent
	events := []workload.Event{ev(0, "Connect", "app@h on shop using TCP/IP")}
	for i := range 20 {
		events = append(events, ev(1+i, "Query", "SELECT SLEEP(0.2)"))
	}
	events = append(events, ev(100, "Quit", ""))
	c := capture.Capture{ID: 4344, EnvID: f.env.ID}
	storeEvents(t, f, c, events)
	_, env := f.target(t, nil)
	for i, tt := range []struct {
		name    string
		deleted bool
	}{
		{"stopped", false},
		{"deleted", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			job, runner, local := f.oneShard(t, c, env, int64(4344+i))
			r := job.Replay
			go func() {
				poll(20*time.Second, func() bool { return local.Progress(r.ID).Statements > 0 })
				if !tt.deleted {
					local.Stop(r.ID)
					return
				}
				// As the API's delete: the replay goes, then its files.
				local.Delete(r.ID)
				if err := f.files.DeletePrefix(context.Background(), layout.ReplayPrefix(r.ID)); err != nil {
					t.Error(err)
				}
			}()
			res, err := runner.Run(context.Background(), env, job)
			if err != nil || !res.Done {
				t.Fatalf("run: %+v, %v", res, err)
			}
			_, err = f.files.Open(context.Background(), layout.ReplayOutcomeKey(r.ID, 0, 0))
			if kept := err == nil; kept == tt.deleted {
				t.Errorf("outcome file kept: %v (%v), want %v", kept, err, !tt.deleted)
			}
		})
	}
}

// oneShard prepares replay id of c onto env at speed 0, all of it, and returns the job of its
// first invocation of shard 0 (it has one), with a runner over an in-memory baton, progress
// and continuer.
func (f *fixture) oneShard(t testing.TB, c capture.Capture, env capture.Environment, id int64) (replay.Job, *replay.Runner, *replay.Local) {
	t.Helper()
	r := capture.Replay{ID: id, CaptureID: c.ID, EnvID: env.ID, Speed: 0, Mode: capture.ReplayAll}
	plan, err := replay.Prepare(context.Background(), f.files, c, r)
	if err != nil {
		t.Fatal(err)
	}
	plan.Epoch, r.Plan = time.Now(), plan
	local := &replay.Local{}
	runner := &replay.Runner{Files: f.files, Dial: f.rec, Baton: local, Progress: local, Continue: local, Log: quiet, TempDir: t.TempDir()}
	return replay.Job{Shard: replay.Shard{Replay: r.ID}, Replay: r}, runner, local
}

// cancelOnPass cancels the invocation's context as its baton passes, as the worker's heartbeat
// does once the shard's current invocation is the successor.
type cancelOnPass struct {
	replay.Baton
	cancel context.CancelFunc
}

func (b cancelOnPass) Pass(ctx context.Context, s replay.Shard, cp replay.Checkpoint) error {
	err := b.Baton.Pass(ctx, s, cp)
	b.cancel()
	return err
}

// watchfulPuts fails a put whose context is done, as a request to S3 would.
type watchfulPuts struct{ blob.Dir }

func (f watchfulPuts) Put(ctx context.Context, key string, body io.ReadSeeker) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.Dir.Put(ctx, key, body)
}

// TestOutcomesStoredPastTheBaton: an invocation stores its outcome file after it passes the
// baton, and then it is fenced off (its context cancelled by the heartbeat that finds the
// successor current): the file is stored all the same.
func TestOutcomesStoredPastTheBaton(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	events := doSession(300, 10) // 3 s of them
	c := capture.Capture{ID: 4346, EnvID: f.env.ID}
	storeEvents(t, f, c, events)
	_, env := f.target(t, nil)
	job, runner, local := f.oneShard(t, c, env, 4346)
	job.Replay.Speed = 1
	job.Deadline = time.Now().Add(1500 * time.Millisecond)
	runner.Lead = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runner.Baton = cancelOnPass{Baton: local, cancel: cancel}
	runner.Files = watchfulPuts{f.files}
	res, err := runner.Run(ctx, env, job)
	if err != nil || res.Done {
		t.Fatalf("the first invocation: %+v, %v; want it to hand over", res, err)
	}
	rd, err := f.files.Open(context.Background(), layout.ReplayOutcomeKey(job.Replay.ID, 0, 0))
	if err != nil {
		t.Fatalf("its outcomes: %v", err)
	}
	n := 0
	err = outcome.Each(rd, func(*outcome.Record) error { n++; return nil })
	rd.Close()
	if err != nil || n == 0 || int64(n) != res.Statements {
		t.Errorf("%d outcomes stored (%v), the invocation did %d statements", n, err, res.Statements)
	}
}

// heldPuts holds the put of one key until release is closed, says when it was stored, and
// says (awaited) when someone first looked for that key before then.
type heldPuts struct {
	blob.Dir
	key      string
	release  chan struct{}
	awaited  chan struct{}
	once     sync.Once
	mu       sync.Mutex
	storedAt time.Time
}

func (h *heldPuts) Put(ctx context.Context, key string, body io.ReadSeeker) error {
	if key == h.key {
		<-h.release
		defer func() {
			h.mu.Lock()
			h.storedAt = time.Now()
			h.mu.Unlock()
		}()
	}
	return h.Dir.Put(ctx, key, body)
}

func (h *heldPuts) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	f, err := h.Dir.Open(ctx, key)
	if key == h.key && err != nil {
		h.once.Do(func() { close(h.awaited) })
	}
	return f, err
}

// TestLastInvocationAwaitsItsPredecessorsOutcomes: a shard's last invocation does not end (and
// so its replay does not end DONE, its report then kept) before the invocation before it,
// which passed its baton before storing its outcomes, has stored them.
func TestLastInvocationAwaitsItsPredecessorsOutcomes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	events := doSession(150, 10) // 1.5 s of them
	c := capture.Capture{ID: 4347, EnvID: f.env.ID}
	storeEvents(t, f, c, events)
	_, env := f.target(t, nil)
	job, runner, local := f.oneShard(t, c, env, 4347)
	job.Replay.Speed = 1
	held := &heldPuts{Dir: f.files, key: layout.ReplayOutcomeKey(job.Replay.ID, 0, 0), release: make(chan struct{}), awaited: make(chan struct{})}
	runner.Files, runner.Lead = held, 200*time.Millisecond

	first := job
	first.Deadline = time.Now().Add(1 * time.Second) // its cut at 0.8 s, half the workload
	firstDone := make(chan error, 1)
	go func() {
		res, err := runner.Run(context.Background(), env, first)
		if err == nil && res.Done {
			err = errors.New("the first invocation did it all: no hand-off")
		}
		firstDone <- err
	}()
	last := job
	last.Shard.Invocation = 1
	var lastEnded time.Time
	lastDone := make(chan error, 1)
	go func() {
		res, err := runner.Run(context.Background(), env, last)
		lastEnded = time.Now()
		if err == nil && !res.Done {
			err = errors.New("the last invocation did not finish the shard")
		}
		lastDone <- err
	}()
	// The predecessor's outcomes stay unstored until the last invocation has ended, or has
	// looked for them: whichever comes first.
	var lastErr error
	select {
	case lastErr = <-lastDone:
		close(held.release)
	case <-held.awaited:
		close(held.release)
		lastErr = <-lastDone
	}
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if lastErr != nil {
		t.Fatal(lastErr)
	}
	held.mu.Lock()
	stored := held.storedAt
	held.mu.Unlock()
	if stored.IsZero() || !lastEnded.After(stored) {
		t.Errorf("the last invocation ended at %s, its predecessor's outcomes stored at %s: want them stored first", lastEnded.Format(time.StampMicro), stored.Format(time.StampMicro))
	}
	if p := local.Progress(job.Replay.ID); p.Statements != 150 {
		t.Errorf("progress %+v, want the 150 statements", p)
	}
}
