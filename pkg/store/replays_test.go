package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/store"
)

// newReplay stores a replay of capture 7 (of environment captureEnv) into target, in status
// STARTED unless scheduled.
func newReplay(t *testing.T, st *store.Store, target, captureEnv int64, name string, scheduled bool) capture.Replay {
	t.Helper()
	now := time.Now().UTC()
	req := capture.ReplayRequest{Name: name, CaptureID: 7, EnvID: target}
	if scheduled {
		at := now.Add(time.Hour)
		req.ScheduledStart = &at
	}
	r, err := capture.NewReplay(req, "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	r.CaptureEnvID, r.Target = captureEnv, fmt.Sprintf("db-%d:3306", target)
	store.EnsureCapture(t, st, r.CaptureID, captureEnv, 0)
	if r, err = st.CreateReplay(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReplayRoundTrip(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	r := newReplay(t, st, envID, 99, "round trip", true)
	got, err := st.Replay(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != r.Name || got.Status != capture.Scheduled || got.EnvID != envID || got.CaptureEnvID != 99 ||
		got.Speed != 1 || got.Mode != capture.ReplayAll || got.MaxConnections != capture.DefaultMaxConnections ||
		!got.ScheduledStart.Equal(*r.ScheduledStart) || got.Target != r.Target {
		t.Errorf("stored %+v, want %+v", got, r)
	}
	if _, err := st.Replay(ctx, r.ID+100); !errors.Is(err, capture.ErrReplayNotFound) {
		t.Errorf("missing replay: %v", err)
	}
	// Names are unique per capture, without regard to case, and renames move the claim.
	dup := r
	if _, err := st.CreateReplay(ctx, dup); !errors.Is(err, capture.ErrReplayNameTaken) {
		t.Errorf("same name: %v", err)
	}
	other := newReplay(t, st, envID, 99, "another", true)
	if _, err := st.RenameReplay(ctx, other, "ROUND TRIP"); !errors.Is(err, capture.ErrReplayNameTaken) {
		t.Errorf("rename onto a taken name: %v", err)
	}
	if _, err := st.RenameReplay(ctx, r, "renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RenameReplay(ctx, other, "round trip"); err != nil {
		t.Errorf("the old name is free again: %v", err)
	}
	if _, err := st.RenameReplay(ctx, r, "stale"); !errors.Is(err, capture.ErrChanged) {
		t.Errorf("rename of a stale copy: %v", err)
	}
}

func TestReplayLists(t *testing.T) {
	st, envA := newStoreWithEnv(t)
	ctx := context.Background()
	envB, _ := st.NewEnvironmentID(ctx)
	if _, err := st.CreateEnvironment(ctx, capture.Environment{ID: envB, Name: "b", OwnerID: "a", Host: "h", Port: 1, DBName: "d", User: "u"}); err != nil {
		t.Fatal(err)
	}
	r1 := newReplay(t, st, envA, envB, "first", true)  // capture in B, target A
	r2 := newReplay(t, st, envB, envB, "second", true) // both B
	ids := func(rs []capture.Replay, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, r := range rs {
			out += fmt.Sprintf("%d ", r.ID)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		got  string
		want string
	}{
		{"capture", ids(st.CaptureReplays(ctx, 7)), fmt.Sprintf("%d %d ", r2.ID, r1.ID)},
		{"env A", ids(st.EnvReplays(ctx, []int64{envA})), fmt.Sprintf("%d ", r1.ID)},
		{"env B", ids(st.EnvReplays(ctx, []int64{envB})), fmt.Sprintf("%d %d ", r2.ID, r1.ID)},
		{"both, once each", ids(st.EnvReplays(ctx, []int64{envA, envB})), fmt.Sprintf("%d %d ", r2.ID, r1.ID)},
		{"none", ids(st.EnvReplays(ctx, nil)), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if err := st.DeleteReplay(ctx, r1); err != nil {
		t.Fatal(err)
	}
	if got := ids(st.EnvReplays(ctx, []int64{envA, envB})); got != fmt.Sprintf("%d ", r2.ID) {
		t.Errorf("after delete: %q", got)
	}
	if got := ids(st.CaptureReplays(ctx, 7)); got != fmt.Sprintf("%d ", r2.ID) {
		t.Errorf("capture after delete: %q", got)
	}
	if err := st.DeleteReplay(ctx, r1); !errors.Is(err, capture.ErrChanged) {
		t.Errorf("second delete: %v", err)
	}
}

// One replay that may run per target address: a second that starts now is refused, one
// scheduled is taken but refused when it starts, and the address is free once the first ends.
func TestTargetAddressIsHeld(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	first := newReplay(t, st, envID, 99, "first", false)
	r, _ := capture.NewReplay(capture.ReplayRequest{Name: "second", CaptureID: 7, EnvID: envID}, "bob", now)
	r.Target = first.Target
	if _, err := st.CreateReplay(ctx, r); !errors.Is(err, capture.ErrTargetBusy) {
		t.Fatalf("second on a busy target: %v", err)
	}
	later := newReplay(t, st, envID, 99, "later", true)
	started, _ := capture.MoveReplay(later, capture.Started, now)
	if err := st.MoveReplay(ctx, started, capture.Scheduled); !errors.Is(err, capture.ErrTargetBusy) {
		t.Fatalf("scheduled start on a busy target: %v", err)
	}
	failed, _ := capture.FailReplay(first, "gone", now)
	if err := st.MoveReplay(ctx, failed, capture.Started); err != nil {
		t.Fatal(err)
	}
	if err := st.MoveReplay(ctx, started, capture.Scheduled); err != nil {
		t.Fatalf("scheduled start once the target is free: %v", err)
	}
	// Deleting a replay that may run frees the address too.
	if err := st.DeleteReplay(ctx, started); err != nil {
		t.Fatal(err)
	}
	newReplay(t, st, envID, 99, "third", false)
}

// Every move of the table lands only from the status it expects.
func TestMoveReplayIsConditional(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	r := newReplay(t, st, envID, 99, "moves", false)
	for _, step := range []capture.Status{capture.Starting, capture.Running, capture.Stopping, capture.Done} {
		next, err := capture.MoveReplay(r, step, now)
		if err != nil {
			t.Fatal(err)
		}
		stale := next
		if err := st.MoveReplay(ctx, next, r.Status); err != nil {
			t.Fatalf("%s → %s: %v", r.Status, step, err)
		}
		if err := st.MoveReplay(ctx, stale, r.Status); !errors.Is(err, capture.ErrChanged) {
			t.Errorf("%s → %s again: %v, want ErrChanged", r.Status, step, err)
		}
		r = next
	}
	got, _ := st.Replay(ctx, r.ID)
	if got.Status != capture.Done || got.End == nil {
		t.Errorf("stored %+v", got)
	}
}

// The due index lists due replays earliest first and never an ended one, nor a capture.
func TestReplaysDue(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	sched := newReplay(t, st, envID, 99, "scheduled", true) // due in an hour
	started := newReplay(t, st, envID, 99, "started", false)
	failed, _ := capture.FailReplay(started, "x", now)
	if err := st.MoveReplay(ctx, failed, capture.Started); err != nil {
		t.Fatal(err)
	}
	started = newReplay(t, st, envID, 99, "started again", false)
	list := func(before time.Time) []int64 {
		rs, err := st.ReplaysDue(ctx, before)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if got := list(now.Add(time.Minute)); len(got) != 1 || got[0] != started.ID {
		t.Errorf("due now: %v, want [%d]", got, started.ID)
	}
	if got := list(now.Add(2 * time.Hour)); len(got) != 2 || got[0] != started.ID || got[1] != sched.ID {
		t.Errorf("due in 2h: %v", got)
	}
	retried, err := st.RetryReplay(ctx, started, now.Add(time.Second))
	if err != nil || retried.Attempts != 1 {
		t.Fatalf("retry: %v %+v", err, retried)
	}
	if _, err := st.RetryReplay(ctx, started, now.Add(2*time.Second)); !errors.Is(err, capture.ErrChanged) {
		t.Errorf("retry of a stale copy: %v", err)
	}
	caps, err := st.Due(ctx, capture.Started, now.Add(time.Hour))
	if err != nil || len(caps) != 0 {
		t.Errorf("captures due: %v %v, want none (replays are not captures)", caps, err)
	}
}

func TestServerHold(t *testing.T) {
	st, _ := newStoreWithEnv(t)
	ctx := context.Background()
	now := time.Now()
	if err := st.HoldServer(ctx, "server/x", 1, now); err != nil {
		t.Fatal(err)
	}
	if err := st.HoldServer(ctx, "server/x", 1, now); err != nil {
		t.Errorf("holding again: %v", err)
	}
	if err := st.HoldServer(ctx, "server/x", 2, now); !errors.Is(err, capture.ErrTargetBusy) {
		t.Errorf("second holder: %v", err)
	}
	if err := st.ReleaseServer(ctx, "server/x", 2); err != nil {
		t.Fatal(err)
	}
	if h, _ := st.ServerHolder(ctx, "server/x"); h != 1 {
		t.Errorf("a non-holder released it: holder %d", h)
	}
	if err := st.ReleaseServer(ctx, "server/x", 1); err != nil {
		t.Fatal(err)
	}
	if err := st.HoldServer(ctx, "server/x", 2, now); err != nil {
		t.Errorf("after release: %v", err)
	}
}

// running stores a replay and takes it to RUNNING with n shards.
func running(t *testing.T, st *store.Store, envID int64, name string, n int) capture.Replay {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	r := newReplay(t, st, envID, 99, name, false)
	next, _ := capture.MoveReplay(r, capture.Starting, now)
	if err := st.MoveReplay(ctx, next, r.Status); err != nil {
		t.Fatal(err)
	}
	run, err := capture.Run(next, capture.ReplayPlan{Shards: n, Sessions: n, Statements: 100, Captured: 120, First: now, Epoch: now}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateShards(ctx, r.ID, n, now); err != nil {
		t.Fatal(err)
	}
	if err := st.MoveReplay(ctx, run, next.Status); err != nil {
		t.Fatal(err)
	}
	return run
}
