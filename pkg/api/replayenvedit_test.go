package api_test

import (
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
)

// A target's connection cannot change while a replay into it may run (it was proven apart
// from the capture's server as it was): 409, as while a capture records. A scheduled replay,
// proven when it starts, does not hold the edit back.
func TestTargetEditRefusedWhileReplaying(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.Environments = 100
	source := h.environment("alice", nil)
	done := h.doneCapture("alice", source.ID, "recorded")
	running := h.targetEnv("alice", nil)
	scheduled := h.targetEnv("alice", nil)
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "right now", "captureId": done.ID, "envId": running.ID}, nil)
	future := h.server.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "in an hour", "captureId": done.ID, "envId": scheduled.ID,
		"status": "SCHEDULED", "scheduledStart": future}, nil)
	moved := map[string]any{"host": "elsewhere.example.com", "check": false}
	r := h.do("alice", "PUT", pathf("/api/environments/%d", running.ID), moved)
	if r.Status != 409 || r.errorMessage(t) != capture.ErrEnvEditReplaying.Message {
		t.Errorf("edit of a running replay's target: %d %s", r.Status, r.Body)
	}
	if r := h.do("alice", "PUT", pathf("/api/environments/%d", scheduled.ID), moved); r.Status != 200 {
		t.Errorf("edit of a scheduled replay's target: %d %s", r.Status, r.Body)
	}
}
