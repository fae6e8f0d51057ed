package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
)

// TestWhatANeverRecordedCaptureShows: a scheduled capture cancelled before it began is DONE
// with no start and its end the cancellation (its scheduled window kept as planned), and the
// download of its workload, or of a failed capture's, says why there is none.
func TestWhatANeverRecordedCaptureShows(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	planned := h.capture("alice", env.ID, "nightly", map[string]any{"status": "SCHEDULED", "scheduledStart": at.Format(time.RFC3339), "duration": 3600})
	before := time.Now().Add(-time.Second)
	var c captureView
	h.must("alice", "POST", pathf("/api/captures/%d/stop", planned.ID), nil, &c)
	end, err := time.Parse(time.RFC3339, deref(c.End))
	if c.Status != "DONE" || c.Start != nil || err != nil || end.Before(before) || end.After(time.Now()) ||
		deref(c.ScheduledStart) != at.Format("2006-01-02T15:04:05.000Z") || c.Reason == nil || *c.Reason != capture.CancelledReason {
		t.Errorf("a cancelled capture: %+v, want DONE, start null, end now, its plan kept", c)
	}
	failed := h.capture("alice", env.ID, "doomed", nil)
	forceStatus(t, h.server.Store, failed.ID, capture.Failed)
	for _, tt := range []struct {
		id   int64
		want *capture.Error
	}{{planned.ID, capture.ErrCancelledNoWorkload}, {failed.ID, capture.ErrFailedNoWorkload}} {
		r := h.do("alice", "GET", pathf("/api/captures/%d/workload", tt.id), nil)
		var e struct{ Message string }
		if r.Status != 404 || json.Unmarshal(r.Body, &e) != nil || e.Message != tt.want.Message {
			t.Errorf("workload of capture %d: %d %s, want 404 %q", tt.id, r.Status, r.Body, tt.want.Message)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
