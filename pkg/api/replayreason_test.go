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
// reader of the capture alone, no member of the target, reads only that it could not connect,
// even when the replay is theirs (its owner may rename and delete it: those answers too).
func TestTargetFailureReasonOnlyForTargetMembers(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.Environments = 100
	source := h.environment("alice", map[string]bool{"mallory": false})
	target := h.targetEnv("alice", nil)
	done := h.doneCapture("alice", source.ID, "recorded")
	r, err := capture.NewReplay(capture.ReplayRequest{Name: "unreachable", CaptureID: done.ID, EnvID: target.ID}, auth.LocalSub("mallory"), time.Now())
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
	one := pathf("/api/replays/%d", r.ID)
	for _, tt := range []struct {
		user, method, path string
		body               any
		want               string
	}{
		{"alice", "GET", one, nil, r.Reason},
		{"mallory", "GET", one, nil, brief},
		{"mallory", "GET", pathf("/api/replays?captureId=%d", done.ID), nil, brief},
		{"alice", "GET", pathf("/api/replays?captureId=%d", done.ID), nil, r.Reason},
		{"alice", "PUT", one, map[string]string{"name": "renamed by alice"}, r.Reason},
		{"mallory", "PUT", one, map[string]string{"name": "renamed by mallory"}, brief},
		{"mallory", "DELETE", one, nil, brief},
	} {
		var got replayView
		if strings.Contains(tt.path, "?") {
			var list []replayView
			h.must(tt.user, tt.method, tt.path, tt.body, &list)
			if len(list) != 1 {
				t.Fatalf("%s %s: %+v", tt.user, tt.path, list)
			}
			got = list[0]
		} else {
			h.must(tt.user, tt.method, tt.path, tt.body, &got)
		}
		if got.Reason == nil || *got.Reason != tt.want {
			t.Errorf("%s %s %s: reason %v, want %q", tt.user, tt.method, tt.path, got.Reason, tt.want)
		}
	}
}
