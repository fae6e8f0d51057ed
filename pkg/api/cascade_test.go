package api_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/shard"
)

// replayIn stores a replay of done (of environment sourceEnv) into target as owner, taken to
// status st the way the worker takes it (a RUNNING one holds the server "server/<name>" and
// has one shard), with a file under replays/<id>/.
func (h *harness) replayIn(done captureView, sourceEnv, target int64, owner, name string, st capture.Status) capture.Replay {
	h.t.Helper()
	ctx := context.Background()
	store := h.server.Store
	req := capture.ReplayRequest{Name: name, CaptureID: done.ID, EnvID: target}
	if st == capture.Scheduled {
		at := time.Now().Add(time.Hour)
		req.ScheduledStart = &at
	}
	r, err := capture.NewReplay(req, auth.LocalSub(owner), time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	r.CaptureEnvID, r.Target = sourceEnv, pathf("target-of-%s:1", name)
	if r, err = store.CreateReplay(ctx, r); err != nil {
		h.t.Fatal(err)
	}
	move := func(to capture.Status) {
		next, err := capture.MoveReplay(r, to, time.Now())
		if err == nil && to == capture.Running {
			next, err = capture.Run(r, capture.ReplayPlan{Shards: 1, Statements: 10, Captured: 10, Epoch: time.Now()}, time.Now())
		}
		if err == nil {
			err = store.MoveReplay(ctx, next, r.Status)
		}
		if err != nil {
			h.t.Fatal(err)
		}
		r = next
	}
	switch st {
	case capture.Running:
		move(capture.Starting)
		if r, err = store.SetReplayServer(ctx, r, "server/"+name); err != nil {
			h.t.Fatal(err)
		}
		if err := store.HoldServer(ctx, r.Server, r.ID, time.Now()); err != nil {
			h.t.Fatal(err)
		}
		if err := store.CreateShards(ctx, r.ID, 1, time.Now()); err != nil {
			h.t.Fatal(err)
		}
		move(capture.Running)
	case capture.Done:
		move(capture.Failed) // ended without running: the test needs only its end
	}
	if err := h.server.Files.(blob.Dir).Put(ctx, layout.ReplayOutcomeKey(r.ID, 0, 0), bytes.NewReader([]byte("x"))); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// gone checks that replay r is gone: its record (a shard adding progress is told it is gone),
// its shards, and its files when files.
func (h *harness) gone(r capture.Replay, files bool) {
	h.t.Helper()
	ctx := context.Background()
	st := h.server.Store
	if got := h.do("alice", "GET", pathf("/api/replays/%d", r.ID), nil); got.Status != 404 {
		h.t.Errorf("replay %d (%s): %d %s, want 404", r.ID, r.Status, got.Status, got.Body)
	}
	if err := st.RecordProgress(ctx, shard.Shard{Replay: r.ID}, 1, 0); !errors.Is(err, shard.ErrGone) {
		h.t.Errorf("replay %d: a shard adding progress is told %v, want ErrGone", r.ID, err)
	}
	if shards, err := st.Shards(ctx, r.ID); err != nil || len(shards) != 0 {
		h.t.Errorf("replay %d's shards: %v %v", r.ID, shards, err)
	}
	_, err := h.server.Files.(blob.Dir).Open(ctx, layout.ReplayOutcomeKey(r.ID, 0, 0))
	if found := err == nil; found == files {
		h.t.Errorf("replay %d's file there: %v, want %v", r.ID, found, !files)
	}
}

// Deleting a capture or an environment deletes its replays, whoever owns them, each as a
// replay's own delete does: a RUNNING one is stopped first (its shard is told it stopped),
// then deleted and its server let go of; a SCHEDULED one never starts; a DONE one goes. The
// capture of another environment whose replay targeted a deleted environment stays.
func TestDeleteTakesItsReplays(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.Environments = 100
	hand := &handed{}
	h.server.Handoff = hand
	worker := &lifecycle.Worker{Store: h.server.Store, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	for _, tt := range []struct {
		name string
		user string // who deletes
		// make stores the replays the delete must take, and returns the delete's path and
		// whether it deletes their files.
		make func(h *harness, source envView, done captureView) (path string, files bool, reps []capture.Replay)
	}{
		{"capture, its DONE, RUNNING and SCHEDULED replays", "alice", func(h *harness, source envView, done captureView) (string, bool, []capture.Replay) {
			t1, t2 := h.targetEnv("alice", map[string]bool{"bob": true}), h.targetEnv("alice", map[string]bool{"bob": true})
			return pathf("/api/captures/%d?deleteLogs=true", done.ID), true, []capture.Replay{
				h.replayIn(done, source.ID, t1.ID, "alice", pathf("done %d", done.ID), capture.Done),
				h.replayIn(done, source.ID, t1.ID, "bob", pathf("running %d", done.ID), capture.Running),
				h.replayIn(done, source.ID, t2.ID, "bob", pathf("later %d", done.ID), capture.Scheduled),
			}
		}},
		{"capture, its files kept", "alice", func(h *harness, source envView, done captureView) (string, bool, []capture.Replay) {
			t1 := h.targetEnv("alice", nil)
			return pathf("/api/captures/%d", done.ID), false, []capture.Replay{
				h.replayIn(done, source.ID, t1.ID, "alice", pathf("running %d", done.ID), capture.Running),
			}
		}},
		{"environment, target of a running replay of another's capture, and source of one", "bob", func(h *harness, source envView, done captureView) (string, bool, []capture.Replay) {
			// The environment deleted: bob administers it; carol's capture elsewhere runs into it.
			doomed := h.targetEnv("bob", map[string]bool{"alice": false})
			other := h.environment("carol", nil)
			theirs := h.doneCapture("carol", other.ID, pathf("theirs %d", doomed.ID))
			own := h.doneCapture("bob", doomed.ID, pathf("own %d", doomed.ID))
			elsewhere := h.targetEnv("bob", nil)
			reps := []capture.Replay{
				h.replayIn(theirs, other.ID, doomed.ID, "carol", pathf("into %d", doomed.ID), capture.Running),
				h.replayIn(own, doomed.ID, elsewhere.ID, "bob", pathf("from %d", doomed.ID), capture.Running),
			}
			h.t.Cleanup(func() {
				// carol's capture stays, and deletes, its replay gone.
				h.must("carol", "GET", pathf("/api/captures/%d", theirs.ID), nil, nil)
				h.must("carol", "DELETE", pathf("/api/captures/%d", theirs.ID), nil, nil)
			})
			return pathf("/api/environments/%d", doomed.ID), true, reps
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			source := h.environment("alice", map[string]bool{"bob": false})
			done := h.doneCapture("alice", source.ID, "replayed")
			spare := h.doneCapture("alice", source.ID, "spare")
			path, files, reps := tt.make(h, source, done)
			hand.mu.Lock()
			hand.events = nil
			hand.mu.Unlock()
			h.must(tt.user, "DELETE", path, nil, nil)
			var want []string
			for _, r := range reps {
				h.gone(r, files)
				if r.Status != capture.Running {
					continue
				}
				want = append(want, pathf("stop %d ", r.ID), pathf("release %d %s", r.ID, r.Server))
				// Its target's address is free: another replay may start there now.
				again, err := capture.NewReplay(capture.ReplayRequest{Name: "after " + r.Name, CaptureID: spare.ID, EnvID: source.ID}, "alice", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				again.CaptureEnvID, again.Target = source.ID, r.Target
				if _, err := h.server.Store.CreateReplay(context.Background(), again); err != nil {
					t.Errorf("a replay onto %s after the delete: %v", r.Target, err)
				}
			}
			hand.mu.Lock()
			var seen []string
			for _, ev := range hand.events {
				seen = append(seen, pathf("%s %d %s", ev.Action, ev.ReplayID, ev.Server))
				if ev.Action == lifecycle.ActionRelease {
					// The worker lets go of the server the event names.
					if err := worker.ReleaseReplay(context.Background(), ev); err != nil {
						t.Error(err)
					}
				}
			}
			hand.mu.Unlock()
			slices.Sort(seen)
			slices.Sort(want)
			if !slices.Equal(seen, want) {
				t.Errorf("handed %q, want %q", seen, want)
			}
			for _, r := range reps {
				if holder, err := h.server.Store.ServerHolder(context.Background(), r.Server); r.Server != "" && (err != nil || holder != 0) {
					t.Errorf("replay %d's server still held by %d (%v)", r.ID, holder, err)
				}
			}
		})
	}
}
