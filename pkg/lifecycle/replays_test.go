package lifecycle_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/shard"
)

// TestReplayStartFaults: each fault of a replay's start, and what the replay ends as.
func TestReplayStartFaults(t *testing.T) {
	cells := []struct {
		name     string
		replayer fakeReplayer
		before   func(t *testing.T, f replayFixture)
		status   capture.Status
		reason   string
		held     int64 // who holds the target's server at the end: 0 none, -1 this replay
	}{
		{"runs", fakeReplayer{shards: 3}, nil, capture.Done, "", 0},
		{"target down", fakeReplayer{sameErr: errors.New("cannot connect to 127.0.0.2:1 as app (tls PREFERRED): connection refused")}, nil,
			capture.Failed, "Could not connect to the target: cannot connect to 127.0.0.2:1", 0},
		{"target is the capture's server", fakeReplayer{same: true}, nil, capture.Failed, "Cannot replay into the server the capture recorded", 0},
		{"prepare fails", fakeReplayer{prepErr: errors.New("read the workload: unexpected EOF")}, nil,
			capture.Failed, "Could not prepare the capture's workload: read the workload: unexpected EOF", 0},
		{"server held by another replay", fakeReplayer{shards: 1}, func(t *testing.T, f replayFixture) {
			if err := f.store.HoldServer(context.Background(), "server/target-127.0.0.2", 999, t0); err != nil {
				t.Fatal(err)
			}
		}, capture.Failed, capture.ErrTargetBusy.Message, 999},
		{"capture deleted", fakeReplayer{shards: 1}, func(t *testing.T, f replayFixture) {
			// Under the replay, as a delete before deletes took their replays did: the
			// capture as it is now, its replay counted.
			c, err := f.store.Capture(context.Background(), f.done.ID)
			if err == nil {
				err = f.store.DeleteCapture(context.Background(), c)
			}
			if err != nil {
				t.Fatal(err)
			}
		}, capture.Failed, capture.ReplayCaptureGoneReason, 0},
		{"nothing to replay", fakeReplayer{shards: 0}, nil, capture.Done, capture.NothingToReplayReason, 0},
	}
	for _, tt := range cells {
		t.Run(tt.name, func(t *testing.T) {
			f := newReplayFixture(t)
			ctx := context.Background()
			r := f.replay(t, "cell")
			if tt.before != nil {
				tt.before(t, f)
			}
			w, h := f.worker(tt.replayer, &fakeRunner{st: f.store})
			if err := w.Handle(ctx, lifecycle.ReplayEvent(lifecycle.ActionStart, r)); err != nil {
				t.Fatal(err)
			}
			h.wait(t)
			got := f.getReplay(t, r.ID)
			if got.Status != tt.status || !strings.HasPrefix(got.Reason, tt.reason) {
				t.Fatalf("ended %s %q, want %s %q", got.Status, got.Reason, tt.status, tt.reason)
			}
			holder, err := f.store.ServerHolder(ctx, "server/target-127.0.0.2")
			if err != nil || holder != tt.held {
				t.Errorf("server held by %d (%v), want %d", holder, err, tt.held)
			}
			if tt.status == capture.Done && got.Progress != (capture.ReplayProgress{Statements: int64(5 * tt.replayer.shards), Of: int64(5 * tt.replayer.shards), Errors: int64(tt.replayer.shards)}) {
				t.Errorf("progress %+v", got.Progress)
			}
			if tt.status == capture.Done && tt.replayer.shards > 0 && (got.Start == nil || !got.Start.Equal(t0.Add(lifecycle.EpochLead))) {
				t.Errorf("start %v, want the epoch", got.Start)
			}
			// (The fake clock stands still, so only a replay with nothing to run is held to it.)
			if tt.status == capture.Done && tt.replayer.shards == 0 && (got.Start == nil || got.End == nil || got.End.Before(*got.Start)) {
				t.Errorf("replayed %v → %v: a done replay ends at or after its start", got.Start, got.End)
			}
			if tt.reason == "" && got.Reason != "" {
				t.Errorf("reason %q, want none", got.Reason)
			}
			// A replay that ended lets another onto the target's address (none is made of a
			// capture that is gone).
			_, err = f.store.CreateReplay(ctx, f.replayRequest(t, "next"))
			if gone := capture.CaptureMissing(f.done.ID, capture.Invalid); tt.reason == capture.ReplayCaptureGoneReason && (err == nil || err.Error() != gone.Error()) {
				t.Errorf("next replay of the deleted capture: %v, want %v", err, gone)
			} else if tt.reason != capture.ReplayCaptureGoneReason && err != nil {
				t.Errorf("next replay on the target: %v", err)
			}
		})
	}
}

// A shard whose invocation was killed (its heartbeat stops) is run again from its checkpoint
// by the scheduler, and the replay ends DONE; killed MaxAttempts times, the replay FAILS.
func TestKilledShardIsRunAgain(t *testing.T) {
	for _, tt := range []struct {
		name   string
		kills  int
		status capture.Status
		reason string
	}{
		{"once", 1, capture.Done, ""},
		{"every time", capture.MaxAttempts, capture.Failed, capture.ShardLostReason(1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newReplayFixture(t)
			ctx := context.Background()
			r := f.replay(t, "killed")
			w, h := f.worker(fakeReplayer{shards: 2}, &fakeRunner{st: f.store})
			killed := 0
			var mu sync.Mutex
			h.drop = func(ev lifecycle.Event) bool {
				mu.Lock()
				defer mu.Unlock()
				if ev.Action == lifecycle.ActionRun && ev.Shard == 1 && killed < tt.kills {
					killed++
					return true
				}
				return false
			}
			if err := w.Handle(ctx, lifecycle.ReplayEvent(lifecycle.ActionStart, r)); err != nil {
				t.Fatal(err)
			}
			h.wait(t)
			if got := f.getReplay(t, r.ID); got.Status != capture.Running {
				t.Fatalf("with shard 1 killed: %s", got.Status)
			}
			s := &lifecycle.Scheduler{Store: f.store, Handoff: h, Clock: f.clock, StuckAfter: time.Minute, Log: quiet}
			for i := 0; i < capture.MaxAttempts+1; i++ {
				// A tick within the heartbeat limit leaves it; one past it runs shard 1 again.
				if err := s.Tick(ctx, time.Second); err != nil {
					t.Fatal(err)
				}
				h.wait(t)
				f.clock.SleepUntil(ctx, f.clock.Now().Add(capture.HeartbeatLimit+time.Second))
				if f.getReplay(t, r.ID).Status.Live() {
					continue
				}
				break
			}
			got := f.getReplay(t, r.ID)
			if got.Status != tt.status || got.Reason != tt.reason {
				t.Fatalf("ended %s %q, want %s %q", got.Status, got.Reason, tt.status, tt.reason)
			}
			if holder, _ := f.store.ServerHolder(ctx, "server/target-127.0.0.2"); holder != 0 && tt.status == capture.Done {
				t.Errorf("server still held by %d", holder)
			}
			if tt.status == capture.Done && got.Progress.Statements != 10 {
				t.Errorf("progress %+v, want both shards' 10 statements", got.Progress)
			}
		})
	}
}

// A stop while the shards run: they see ErrStopped, end, and the replay is DONE, its target's
// server free.
func TestStopWhileRunning(t *testing.T) {
	f := newReplayFixture(t)
	ctx := context.Background()
	r := f.replay(t, "stopped")
	rn := &fakeRunner{st: f.store, gate: make(chan struct{})}
	w, h := f.worker(fakeReplayer{shards: 3}, rn)
	if err := w.Handle(ctx, lifecycle.ReplayEvent(lifecycle.ActionStart, r)); err != nil {
		t.Fatal(err)
	}
	running := f.getReplay(t, r.ID)
	if running.Status != capture.Running {
		t.Fatalf("status %s", running.Status)
	}
	next, err := capture.StopReplay(running, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.MoveReplay(ctx, next, running.Status); err != nil {
		t.Fatal(err)
	}
	close(rn.gate)
	h.wait(t)
	got := f.getReplay(t, r.ID)
	if got.Status != capture.Done || got.End == nil {
		t.Fatalf("after stop: %+v", got)
	}
	if holder, _ := f.store.ServerHolder(ctx, "server/target-127.0.0.2"); holder != 0 {
		t.Errorf("server still held by %d", holder)
	}
	if got.Progress.Statements != 15 {
		t.Errorf("a stopping shard's last counts: %+v", got.Progress)
	}
}

// A shard run that is no longer its shard's current one (it went quiet and was run again)
// is stopped by its own heartbeat: it neither finishes the shard nor the replay.
func TestFencedShardRunStops(t *testing.T) {
	f := newReplayFixture(t)
	ctx := context.Background()
	r := f.replay(t, "fenced")
	hung := make(chan struct{}, 1)
	rn := &fakeRunner{st: f.store, hang: func(s shard.Shard) bool {
		if s.Invocation == 0 {
			hung <- struct{}{}
			return true
		}
		return false
	}}
	w, h := f.worker(fakeReplayer{shards: 1}, rn)
	if err := w.Handle(ctx, lifecycle.ReplayEvent(lifecycle.ActionStart, r)); err != nil {
		t.Fatal(err)
	}
	<-hung
	shards, err := f.store.Shards(ctx, r.ID)
	if err != nil || len(shards) != 1 {
		t.Fatalf("shards %v %v", shards, err)
	}
	// Run it again by hand, as the scheduler would, without handing the new run on.
	for {
		if _, err = f.store.RerunShard(ctx, shards[0], f.clock.Now()); !errors.Is(err, capture.ErrChanged) {
			break
		}
		shards, _ = f.store.Shards(ctx, r.ID) // a heartbeat moved it meanwhile
	}
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t) // the hung run returns once its heartbeat finds it fenced off
	if got := f.getReplay(t, r.ID); got.Status != capture.Running {
		t.Errorf("a fenced run ended its replay: %s", got.Status)
	}
	if st, _ := f.store.Shards(ctx, r.ID); st[0].Done || st[0].Invocation != 1 {
		t.Errorf("shard %+v", st[0])
	}
}

// A scheduled replay starts at its second; one stuck STARTING is retried, then failed.
func TestSchedulerStartsAndRescuesReplays(t *testing.T) {
	f := newReplayFixture(t)
	ctx := context.Background()
	at := t0.Add(30 * time.Second)
	req := f.replayRequest(t, "scheduled")
	req.Status, req.ScheduledStart = capture.Scheduled, &at
	sched, err := f.store.CreateReplay(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	trig := &handoffs{}
	s := &lifecycle.Scheduler{Store: f.store, Handoff: trig, Clock: f.clock, StuckAfter: time.Minute, Log: quiet}
	if err := s.Tick(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	got := f.getReplay(t, sched.ID)
	if got.Status != capture.Started || f.clock.Now().Before(at) {
		t.Fatalf("scheduled replay %s at %v", got.Status, f.clock.Now())
	}
	starts := func() int {
		trig.mu.Lock()
		defer trig.mu.Unlock()
		n := 0
		for _, ev := range trig.events {
			if ev.ReplayID == sched.ID && ev.Action == lifecycle.ActionStart {
				n++
			}
		}
		return n
	}
	if starts() != 1 {
		t.Fatalf("start handed %d times", starts())
	}
	// Nobody starts it: retried MaxAttempts-1 times, then failed.
	for i := range capture.MaxAttempts {
		f.clock.SleepUntil(ctx, f.clock.Now().Add(2*time.Minute))
		if err := s.Tick(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		if i < capture.MaxAttempts-1 && starts() != i+2 {
			t.Fatalf("tick %d: %d starts", i, starts())
		}
	}
	got = f.getReplay(t, sched.ID)
	if got.Status != capture.Failed || got.Reason != capture.ReplayStuckReason(capture.Started) {
		t.Errorf("stuck replay %s %q", got.Status, got.Reason)
	}
}

// A replay deleted while its worker starts it, after the delete's release of its server ran
// and before the worker's move to RUNNING (or to FAILED): the worker lets go of the server it
// took, so the next replay there is not refused forever.
func TestReplayDeletedWhileStarting(t *testing.T) {
	for _, tt := range []struct {
		name     string
		replayer fakeReplayer
	}{
		{"prepared", fakeReplayer{shards: 1}},
		{"prepare fails", fakeReplayer{prepErr: errors.New("read the workload: unexpected EOF")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newReplayFixture(t)
			ctx := context.Background()
			r := f.replay(t, "deleted")
			tt.replayer.during = func(holding capture.Replay) {
				if err := f.store.DeleteReplay(ctx, holding); err != nil {
					t.Error(err)
				}
			}
			w, h := f.worker(tt.replayer, &fakeRunner{st: f.store})
			if err := w.Handle(ctx, lifecycle.ReplayEvent(lifecycle.ActionStart, r)); err != nil {
				t.Fatal(err)
			}
			h.wait(t)
			if holder, err := f.store.ServerHolder(ctx, "server/target-127.0.0.2"); err != nil || holder != 0 {
				t.Errorf("server held by %d (%v), want none", holder, err)
			}
		})
	}
}
