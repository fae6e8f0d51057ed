package api_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
)

type replayView struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	CaptureID int64   `json:"captureId"`
	EnvID     int64   `json:"envId"`
	Status    string  `json:"status"`
	Type      string  `json:"type"`
	Reason    *string `json:"reason"`
	OwnerID   string  `json:"ownerId"`
	Speed     float64 `json:"speed"`
	Mode      string  `json:"mode"`
	Progress  struct {
		Statements, Of, Errors int64
	} `json:"progress"`
}

// doneCapture records a capture in env as the worker would have, to DONE with a workload.
func (h *harness) doneCapture(user string, envID int64, name string) captureView {
	h.t.Helper()
	c := h.capture(user, envID, name, nil)
	ctx := context.Background()
	st := h.server.Store
	got, err := st.Capture(ctx, c.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, to := range []capture.Status{capture.Starting, capture.Running, capture.Stopping, capture.Done} {
		next, err := capture.Move(got, to, time.Now())
		if err != nil {
			h.t.Fatal(err)
		}
		if err := st.Move(ctx, next, got.Status); err != nil {
			h.t.Fatal(err)
		}
		got = next
	}
	if err := st.SaveWorkload(ctx, c.ID, got.Workload, capture.Workload{Fragments: 1, Statements: 10, Bytes: 500}); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// targetEnv makes an environment on its own address, administered by admin.
func (h *harness) targetEnv(admin string, members map[string]bool) envView {
	h.t.Helper()
	var env envView
	h.must(admin, "POST", "/api/environments", map[string]any{
		"envName": pathf("target %d of %s", envNames.Add(1), admin), "host": "db.example.com", "port": 3306 + envNames.Load(),
		"dbName": "shop", "user": "app", "pass": "hunter2",
	}, &env)
	for user, isAdmin := range members {
		h.must(admin, "POST", pathf("/api/environments/%d/users", env.ID), map[string]any{"user": user, "isAdmin": isAdmin}, nil)
	}
	return env
}

func TestReplayCreateAndErrors(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.Environments = 100
	source := h.environment("alice", map[string]bool{"bob": false})
	target := h.targetEnv("alice", map[string]bool{"bob": false})
	done := h.doneCapture("alice", source.ID, "recorded")
	running := h.capture("alice", source.ID, "still running", nil)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var first replayView
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "mysql-8.4 candidate", "captureId": done.ID, "envId": target.ID}, &first)
	if first.Status != "STARTED" || first.Type != "REPLAY" || first.Speed != 1 || first.Mode != "all" || first.CaptureID != done.ID || first.EnvID != target.ID {
		t.Errorf("created %+v", first)
	}
	other := h.targetEnv("alice", nil)
	tests := []struct {
		name   string
		user   string
		body   map[string]any
		status int
		msg    string
	}{
		{"no capture", "alice", map[string]any{"name": "aaaa", "captureId": 999, "envId": target.ID}, 400, "Capture 999 does not exist"},
		{"unreadable capture", "carol", map[string]any{"name": "aaaa", "captureId": done.ID, "envId": target.ID}, 400, pathf("Capture %d does not exist", done.ID)},
		{"not finished", "alice", map[string]any{"name": "aaaa", "captureId": running.ID, "envId": target.ID}, 400, pathf("Capture %d has not finished", running.ID)},
		{"same environment", "alice", map[string]any{"name": "aaaa", "captureId": done.ID, "envId": source.ID}, 400, "Cannot replay into the server the capture recorded"},
		{"busy target", "alice", map[string]any{"name": "aaaa", "captureId": done.ID, "envId": target.ID}, 400, "There is already at least 1 replay running on that database. Either specify a different db, or wait for that replay to complete."},
		{"name taken", "alice", map[string]any{"name": "MYSQL-8.4 candidate", "captureId": done.ID, "envId": other.ID}, 400, "Replay with the same name already exists for this capture"},
		{"schedule without start", "alice", map[string]any{"name": "aaaa", "captureId": done.ID, "envId": other.ID, "status": "SCHEDULED"}, 400, "Cannot schedule without a schedule start time"},
		{"not target admin", "bob", map[string]any{"name": "aaaa", "captureId": done.ID, "envId": target.ID}, 403, "Only an admin of this environment can do this"},
		{"no target", "alice", map[string]any{"name": "aaaa", "captureId": done.ID, "envId": 999}, 404, "Environment does not exist"},
		{"bad speed", "alice", map[string]any{"name": "aaaa", "captureId": done.ID, "envId": other.ID, "speed": -1}, 400, capture.ErrSpeedInvalid.Message},
		{"bad mode", "alice", map[string]any{"name": "aaaa", "captureId": done.ID, "envId": other.ID, "mode": "writes"}, 400, capture.ErrModeInvalid.Message},
		{"bad connections", "alice", map[string]any{"name": "aaaa", "captureId": done.ID, "envId": other.ID, "maxConnections": 0}, 400, capture.ErrMaxConnectionsInvalid.Message},
		{"bad name", "alice", map[string]any{"name": "a/b", "captureId": done.ID, "envId": other.ID}, 400, capture.ErrReplayNameInvalid.Message},
		{"no captureId", "alice", map[string]any{"name": "aaaa", "envId": other.ID}, 400, capture.ErrCaptureIDRequired.Message},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.with(t).do(tt.user, "POST", "/api/replays", tt.body)
			if r.Status != tt.status || r.errorMessage(t) != tt.msg {
				t.Errorf("%d %s, want %d %q", r.Status, r.Body, tt.status, tt.msg)
			}
		})
	}
	// A scheduled replay onto the busy target is taken: it is checked when it starts.
	var sched replayView
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "later", "captureId": done.ID, "envId": target.ID, "scheduledStart": future, "speed": 0, "mode": "read-only"}, &sched)
	if sched.Status != "SCHEDULED" || sched.Speed != 0 || sched.Mode != "read-only" {
		t.Errorf("scheduled %+v", sched)
	}
}

func TestReplayReadEditStopDelete(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.Environments = 100
	source := h.environment("alice", map[string]bool{"reader": false})
	target := h.targetEnv("alice", map[string]bool{"watcher": false})
	done := h.doneCapture("alice", source.ID, "recorded")
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var rep replayView
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "nightly", "captureId": done.ID, "envId": target.ID, "scheduledStart": future}, &rep)
	// Read: a member of the capture's environment, or of the target.
	for _, user := range []string{"alice", "reader", "watcher"} {
		var got replayView
		h.must(user, "GET", pathf("/api/replays/%d", rep.ID), nil, &got)
		if got.ID != rep.ID {
			t.Errorf("%s read %+v", user, got)
		}
		var list []replayView
		h.must(user, "GET", "/api/replays", nil, &list)
		if len(list) != 1 || list[0].ID != rep.ID {
			t.Errorf("%s lists %+v", user, list)
		}
	}
	lists := []struct {
		user, query string
		status, n   int
		msg         string
	}{
		{"alice", pathf("captureId=%d", done.ID), 200, 1, ""},
		{"alice", pathf("captureId=%d&name=nightly", done.ID), 200, 1, ""},
		{"alice", pathf("captureId=%d&name=other", done.ID), 200, 0, ""},
		{"alice", pathf("envId=%d", target.ID), 200, 1, ""},
		{"alice", pathf("envId=%d", source.ID), 200, 0, ""}, // its target is not that
		{"watcher", pathf("captureId=%d", done.ID), 404, 0, pathf("Capture %d does not exist", done.ID)},
		{"alice", "captureId=999", 404, 0, "Capture 999 does not exist"},
		{"alice", "envId=999", 404, 0, "Environment does not exist"},
	}
	for _, tt := range lists {
		r := h.do(tt.user, "GET", "/api/replays?"+tt.query, nil)
		var got []replayView
		switch {
		case r.Status != tt.status:
			t.Errorf("%s ?%s: %d %s", tt.user, tt.query, r.Status, r.Body)
		case r.Status == 200:
			if r.decode(t, &got); len(got) != tt.n {
				t.Errorf("%s ?%s: %s, want %d", tt.user, tt.query, r.Body, tt.n)
			}
		case r.errorMessage(t) != tt.msg:
			t.Errorf("%s ?%s: %s, want %q", tt.user, tt.query, r.Body, tt.msg)
		}
	}
	if r := h.do("stranger", "GET", pathf("/api/replays/%d", rep.ID), nil); r.Status != 403 {
		t.Errorf("stranger reads: %d", r.Status)
	}
	if r := h.do("alice", "GET", "/api/replays/999", nil); r.Status != 404 || r.errorMessage(t) != "Replay not found" {
		t.Errorf("missing: %d %s", r.Status, r.Body)
	}
	// Edit: a rename, refused to a reader (neither owner nor target admin), and name clashes.
	if r := h.do("reader", "PUT", pathf("/api/replays/%d", rep.ID), map[string]any{"name": "mine now"}); r.Status != 403 {
		t.Errorf("reader renames: %d %s", r.Status, r.Body)
	}
	var second replayView
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "second", "captureId": done.ID, "envId": target.ID, "scheduledStart": future}, &second)
	if r := h.do("alice", "PUT", pathf("/api/replays/%d", second.ID), map[string]any{"name": "Nightly"}); r.Status != 400 || r.errorMessage(t) != "Replay with the same name already exists for this capture" {
		t.Errorf("rename onto a taken name: %d %s", r.Status, r.Body)
	}
	var renamed replayView
	h.must("alice", "PUT", pathf("/api/replays/%d", rep.ID), map[string]any{"name": "v2.0 nightly"}, &renamed)
	if renamed.Name != "v2.0 nightly" {
		t.Errorf("renamed %+v", renamed)
	}
	if r := h.do("alice", "PUT", "/api/replays/999", map[string]any{"name": "anything"}); r.Status != 404 || r.errorMessage(t) != "Replay not found" {
		t.Errorf("rename missing: %d %s", r.Status, r.Body)
	}
	// Stop: a scheduled replay is cancelled; stopping it again is a conflict.
	var stopped replayView
	h.must("alice", "POST", pathf("/api/replays/%d/stop", rep.ID), nil, &stopped)
	if stopped.Status != "DONE" || stopped.Reason == nil || *stopped.Reason != capture.CancelledReason {
		t.Errorf("cancelled %+v", stopped)
	}
	if r := h.do("alice", "POST", pathf("/api/replays/%d/stop", rep.ID), nil); r.Status != 409 || r.errorMessage(t) != "This replay has already been stopped" {
		t.Errorf("stop again: %d %s", r.Status, r.Body)
	}
	// Delete: gone from lists and reads.
	h.must("alice", "DELETE", pathf("/api/replays/%d?deleteLogs=true", rep.ID), nil, nil)
	if r := h.do("alice", "GET", pathf("/api/replays/%d", rep.ID), nil); r.Status != 404 {
		t.Errorf("after delete: %d", r.Status)
	}
	if r := h.do("alice", "DELETE", pathf("/api/replays/%d", second.ID), "x"); r.Status != 200 {
		t.Errorf("delete with a body: %d %s", r.Status, r.Body)
	}
	var metrics []map[string]any
	var third replayView
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "third", "captureId": done.ID, "envId": target.ID}, &third)
	h.must("watcher", "GET", pathf("/api/replays/%d/metrics", third.ID), nil, &metrics)
	if len(metrics) == 0 {
		t.Error("no metric series")
	}
}

// The stop conflicts of a replay in each status the API cannot stop, and a running one.
func TestReplayStopConflicts(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.Environments = 100
	source := h.environment("alice", nil)
	done := h.doneCapture("alice", source.ID, "recorded")
	ctx := context.Background()
	st := h.server.Store
	for _, tt := range []struct {
		path   []capture.Status
		status int
		msg    string
	}{
		{nil, 409, "Cannot stop a replay until it has started completely. Try again soon."},
		{[]capture.Status{capture.Starting}, 409, "Cannot stop a replay until it has started completely. Try again soon."},
		{[]capture.Status{capture.Failed}, 409, "This replay failed and is no longer running"},
		{[]capture.Status{capture.Starting, capture.Running}, 200, ""},
	} {
		target := h.targetEnv("alice", nil)
		var rep replayView
		h.must("alice", "POST", "/api/replays", map[string]any{"name": pathf("to %d", target.ID), "captureId": done.ID, "envId": target.ID}, &rep)
		got, err := st.Replay(ctx, rep.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range tt.path {
			next, err := capture.MoveReplay(got, to, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := st.MoveReplay(ctx, next, got.Status); err != nil {
				t.Fatal(err)
			}
			got = next
		}
		r := h.do("alice", "POST", pathf("/api/replays/%d/stop", rep.ID), nil)
		if r.Status != tt.status || tt.msg != "" && r.errorMessage(t) != tt.msg {
			t.Errorf("stop from %s: %d %s, want %d %q", got.Status, r.Status, r.Body, tt.status, tt.msg)
		}
		if tt.status == 200 {
			var v replayView
			r.decode(t, &v)
			if v.Status != "STOPPING" {
				t.Errorf("stopped running replay: %+v", v)
			}
		}
	}
}

// handed records what the API hands the worker.
type handed struct {
	mu     sync.Mutex
	events []lifecycle.Event
}

func (h *handed) HandOff(_ context.Context, ev lifecycle.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
	return nil
}

// What the API hands the worker for replays: a start for one that starts now (none for a
// scheduled one), and for a running one deleted, its stop and the release of its target
// server; the target's address is free again at once.
func TestReplayHandOffs(t *testing.T) {
	h := newHarness(t)
	hand := &handed{}
	h.server.Handoff = hand
	source := h.environment("alice", nil)
	target := h.targetEnv("alice", nil)
	done := h.doneCapture("alice", source.ID, "recorded")
	var rep replayView
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "runs", "captureId": done.ID, "envId": target.ID}, &rep)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "later", "captureId": done.ID, "envId": target.ID, "scheduledStart": future}, nil)
	ctx := context.Background()
	st := h.server.Store
	got, err := st.Replay(ctx, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []capture.Status{capture.Starting, capture.Running} {
		next, _ := capture.MoveReplay(got, to, time.Now())
		if err := st.MoveReplay(ctx, next, got.Status); err != nil {
			t.Fatal(err)
		}
		if got = next; to == capture.Starting { // the worker names the server it holds
			if got, err = st.SetReplayServer(ctx, got, "server/target"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := st.SetReplayServer(ctx, got, "server/other"); err == nil {
		t.Error("the server set on a running replay")
	}
	h.must("alice", "DELETE", pathf("/api/replays/%d", rep.ID), nil, nil)
	hand.mu.Lock()
	var seen []string
	for _, ev := range hand.events {
		if ev.ReplayID != 0 { // not the capture's own start
			seen = append(seen, pathf("%s %d %s", ev.Action, ev.ReplayID, ev.Server))
		}
	}
	hand.mu.Unlock()
	want := []string{pathf("start %d ", rep.ID), pathf("stop %d ", rep.ID), pathf("release %d server/target", rep.ID)}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("handed %q, want %q", seen, want)
	}
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "after", "captureId": done.ID, "envId": target.ID}, nil)
}
