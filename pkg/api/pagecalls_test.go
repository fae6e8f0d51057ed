package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestDynamoDBCallsPerPage holds a list's later pages to what its first costs: the cursor is a
// place in the index, so a page is the same queries from there, never a read of what came
// before it.
func TestDynamoDBCallsPerPage(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	other := h.environment("alice", nil)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, name := range []string{"first one", "second one", "third one"} {
		h.capture("alice", env.ID, name, map[string]any{"status": "SCHEDULED", "scheduledStart": future})
		h.capture("alice", other.ID, name, map[string]any{"status": "SCHEDULED", "scheduledStart": future})
	}
	next := func(path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", h.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+h.token("alice"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		m := linkNext.FindStringSubmatch(resp.Header.Get("Link"))
		if m == nil {
			t.Fatalf("%s: no next page (Link %q)", path, resp.Header.Get("Link"))
		}
		return m[1]
	}
	granted := tableGrants(t)
	for _, tt := range []struct {
		name, first string
		max         int
		why         string
	}{
		{"list one environment, page 2", pathf("/api/captures?envId=%d&limit=2", env.ID), 2, "environment+membership batch, then the index query from the cursor"},
		{"list all, page 2", "/api/captures?limit=2", 3, "memberships, then one query per environment from the cursor (2 here)"},
		{"list environments, page 2", "/api/environments?limit=1", 2, "memberships from the cursor, then a batch get"},
	} {
		path := next(tt.first)
		h.calls.Reset()
		r := h.do("alice", "GET", path, nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", tt.name, r.Status, r.Body)
		}
		n, by := h.calls.Total()
		if n > tt.max {
			t.Errorf("%s: %d DynamoDB calls %v, want at most %d (%s)", tt.name, n, by, tt.max, tt.why)
		}
		if _, scanned := by["Scan"]; scanned {
			t.Errorf("%s scans the table", tt.name)
		}
		fn, actions := granted("GET", path)
		for op := range by {
			for _, a := range tableActions(op) {
				if !slices.Contains(actions, a) {
					t.Errorf("%s: %s calls %s, which needs %s: the stack does not grant it", tt.name, fn, op, a)
				}
			}
		}
	}
}

// TestDynamoDBCallsPerEnvironmentEdit holds an edit of an environment's connection to its
// reads and its one conditional write.
func TestDynamoDBCallsPerEnvironmentEdit(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	h.capture("alice", env.ID, "planned", map[string]any{"status": "SCHEDULED", "scheduledStart": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	h.calls.Reset()
	path := pathf("/api/environments/%d", env.ID)
	if r := h.do("alice", "PUT", path, map[string]any{"port": 3307, "check": false}); r.Status != 200 {
		t.Fatalf("edit: %d %s", r.Status, r.Body)
	}
	n, by := h.calls.Total()
	if n > 5 {
		t.Errorf("edit environment: %d DynamoDB calls %v, want at most 5 (access batch, name claims, their captures, their replays, the update)", n, by)
	}
	fn, actions := tableGrants(t)("PUT", path)
	for op := range by {
		for _, a := range tableActions(op) {
			if !slices.Contains(actions, a) {
				t.Errorf("%s calls %s, which needs %s: the stack does not grant it", fn, op, a)
			}
		}
	}
}
