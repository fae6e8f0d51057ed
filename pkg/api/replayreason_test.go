package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
)

// A replay that could not reach its target says why with the target's address and user: a
// reader of the capture alone, no member of the target, reads only that it could not connect.
func TestTargetFailureReasonOnlyForTargetMembers(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.Environments = 100
	source := h.environment("alice", map[string]bool{"mallory": false})
	target := h.targetEnv("alice", nil)
	done := h.doneCapture("alice", source.ID, "recorded")
	r, err := capture.NewReplay(capture.ReplayRequest{Name: "unreachable", CaptureID: done.ID, EnvID: target.ID}, auth.LocalSub("alice"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	detail := "cannot connect to db.example.com:3307 as app (tls PREFERRED): connection refused"
	r.CaptureEnvID, r.Target, r.Status = source.ID, "db.example.com:3307", capture.Failed
	r.Reason = capture.ReplayTargetFailPrefix + detail
	if r, err = h.server.Store.CreateReplay(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	brief := strings.TrimSuffix(capture.ReplayTargetFailPrefix, ": ")
	for _, tt := range []struct {
		user, path, want string
	}{
		{"alice", pathf("/api/replays/%d", r.ID), r.Reason},
		{"mallory", pathf("/api/replays/%d", r.ID), brief},
		{"mallory", pathf("/api/replays?captureId=%d", done.ID), brief},
		{"alice", pathf("/api/replays?captureId=%d", done.ID), r.Reason},
	} {
		var got replayView
		if strings.Contains(tt.path, "?") {
			var list []replayView
			h.must(tt.user, "GET", tt.path, nil, &list)
			if len(list) != 1 {
				t.Fatalf("%s %s: %+v", tt.user, tt.path, list)
			}
			got = list[0]
		} else {
			h.must(tt.user, "GET", tt.path, nil, &got)
		}
		if got.Reason == nil || *got.Reason != tt.want {
			t.Errorf("%s %s: reason %v, want %q", tt.user, tt.path, got.Reason, tt.want)
		}
	}
}
