package api_test

import (
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
)

// TestQuotas: a user's environments and an environment's live captures are bounded, and
// concurrent creates cannot pass the bound: of many at once, exactly as many as there is room
// for succeed, the rest are 409 with a message saying what to do. Deleting an environment, or
// ending or deleting a capture, makes room again.
func TestQuotas(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas = capture.Quotas{Environments: 3, LiveCaptures: 4}
	const envFull = "You have created 3 environments, the most one user may have: delete one before creating another"
	const capFull = "The environment has 4 captures scheduled or under way, the most it may have: stop or delete one before creating another"

	newEnv := func(user string, i int) response {
		return h.do(user, "POST", "/api/environments", map[string]any{
			"envName": pathf("env %d", i), "host": "db.internal", "dbName": "shop", "user": "app", "pass": "pw"})
	}
	made := make([]envView, 0, 3)
	results := make([]response, 10)
	count := concurrently(10, func(i int) int {
		results[i] = newEnv("alice", i)
		return results[i].Status
	})
	if count[200] != 3 || count[409] != 7 {
		t.Fatalf("10 environments at once with room for 3: %v, want three 200s and seven 409s", count)
	}
	for _, r := range results {
		if r.Status == 409 {
			if msg := r.errorMessage(t); msg != envFull {
				t.Errorf("full: %q, want %q", msg, envFull)
			}
			continue
		}
		var e envView
		r.decode(t, &e)
		made = append(made, e)
	}
	if r := newEnv("bob", 0); r.Status != 200 {
		t.Errorf("bob's first environment: %d %s", r.Status, r.Body)
	}
	h.must("alice", "DELETE", pathf("/api/environments/%d", made[0].ID), nil, nil)
	if r := newEnv("alice", 100); r.Status != 200 {
		t.Errorf("after a deletion: %d %s, want room for one", r.Status, r.Body)
	}
	if r := newEnv("alice", 101); r.Status != 409 {
		t.Errorf("then: %d %s, want 409", r.Status, r.Body)
	}

	// Captures: scheduled ones, so that stopping one ends it at once.
	env := made[1]
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	newCapture := func(i int) response {
		return h.do("alice", "POST", "/api/captures", map[string]any{
			"name": pathf("capture %d", i), "envId": env.ID, "status": "SCHEDULED", "scheduledStart": later})
	}
	results = make([]response, 12)
	count = concurrently(12, func(i int) int {
		results[i] = newCapture(i)
		return results[i].Status
	})
	if count[200] != 4 || count[409] != 8 {
		t.Fatalf("12 captures at once with room for 4: %v, want four 200s and eight 409s", count)
	}
	var live []captureView
	for _, r := range results {
		if r.Status == 409 {
			if msg := r.errorMessage(t); msg != capFull {
				t.Errorf("full: %q, want %q", msg, capFull)
			}
			continue
		}
		var c captureView
		r.decode(t, &c)
		live = append(live, c)
	}
	// Another environment has room of its own.
	if r := h.do("alice", "POST", "/api/captures", map[string]any{"name": "elsewhere", "envId": made[2].ID}); r.Status != 200 {
		t.Errorf("a capture in another environment: %d %s", r.Status, r.Body)
	}
	for i, free := range []struct {
		how          string
		method, path string
	}{
		{"stopped before it started", "POST", pathf("/api/captures/%d/stop", live[0].ID)},
		{"deleted", "DELETE", pathf("/api/captures/%d", live[1].ID)},
	} {
		h.must("alice", free.method, free.path, nil, nil)
		if r := newCapture(100 + i); r.Status != 200 {
			t.Errorf("after one was %s: %d %s, want room for one", free.how, r.Status, r.Body)
		}
		if r := newCapture(200 + i); r.Status != 409 {
			t.Errorf("then: %d %s, want 409", r.Status, r.Body)
		}
	}
	// The one stopped is DONE and still listed, but no longer counts.
	var list []captureView
	h.must("alice", "GET", pathf("/api/captures?envId=%d", env.ID), nil, &list)
	if len(list) != 5 {
		t.Errorf("%d captures listed, want 5 (4 live, 1 done)", len(list))
	}
}
