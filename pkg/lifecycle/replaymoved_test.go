package lifecycle_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
)

// A target environment pointed elsewhere while its replay runs (at the capture's own server,
// say) was proven apart only as it was at the start: no later shard run may send a statement
// there. The replay fails instead, and lets go of its server.
func TestTargetMovedWhileReplaying(t *testing.T) {
	f := newReplayFixture(t)
	ctx := context.Background()
	r := f.replay(t, "moved")
	rn := &fakeRunner{st: f.store}
	w, h := f.worker(fakeReplayer{shards: 2}, rn)
	var mu sync.Mutex
	killed := false
	h.drop = func(ev lifecycle.Event) bool { // shard 1's first invocation is killed
		mu.Lock()
		defer mu.Unlock()
		if ev.Action == lifecycle.ActionRun && ev.Shard == 1 && !killed {
			killed = true
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
	moved := f.target
	moved.Host = f.env.Host // the capture's own server
	if _, err := f.store.UpdateEnvironment(ctx, f.target, moved); err != nil {
		t.Fatal(err)
	}
	f.clock.SleepUntil(ctx, f.clock.Now().Add(capture.HeartbeatLimit+time.Second))
	s := &lifecycle.Scheduler{Store: f.store, Handoff: h, Clock: f.clock, StuckAfter: time.Minute, Log: quiet}
	if err := s.Tick(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	rn.mu.Lock()
	targets := slices.Clone(rn.targets)
	rn.mu.Unlock()
	if slices.Contains(targets, moved.Host) {
		t.Errorf("a shard ran on the moved target %s (runs' targets %v)", moved.Host, targets)
	}
	got := f.getReplay(t, r.ID)
	if got.Status != capture.Failed || got.Reason != capture.ReplayTargetMovedReason {
		t.Errorf("ended %s %q, want FAILED %q", got.Status, got.Reason, capture.ReplayTargetMovedReason)
	}
	if holder, _ := f.store.ServerHolder(ctx, got.Server); holder != 0 {
		t.Errorf("server %s still held by %d", got.Server, holder)
	}
}
