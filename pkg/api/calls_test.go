package api_test

import (
	"testing"
	"time"
)

// TestDynamoDBCallsPerRequest holds each endpoint to the fewest DynamoDB round trips its
// access pattern needs, counted by an SDK middleware below guregu/dynamo.
func TestDynamoDBCallsPerRequest(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", map[string]bool{"bob": false})
	other := h.environment("alice", nil)
	h.capture("alice", other.ID, "elsewhere", nil)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	c := h.capture("alice", env.ID, "counted", map[string]any{"status": "SCHEDULED", "scheduledStart": future})
	tests := []struct {
		name         string
		method, path string
		body         any
		max          int
		why          string
	}{
		{"get capture", "GET", pathf("/api/captures/%d", c.ID), nil, 2, "capture, then membership of its environment"},
		{"get metrics", "GET", pathf("/api/captures/%d/metrics", c.ID), nil, 2, "as get"},
		{"get digest", "GET", pathf("/api/captures/%d/digest", c.ID), nil, 2, "as get"},
		{"list one environment", "GET", pathf("/api/captures?envId=%d", env.ID), nil, 2, "environment+membership batch, then the index query"},
		{"list all", "GET", "/api/captures", nil, 3, "memberships, then one query per environment (2 here)"},
		{"create capture", "POST", "/api/captures", map[string]any{"name": "new one", "envId": env.ID}, 3, "access batch, id counter, transaction"},
		{"edit capture", "PUT", pathf("/api/captures/%d", c.ID), map[string]any{"name": "renamed"}, 3, "capture, membership, transaction"},
		{"stop capture", "POST", pathf("/api/captures/%d/stop", c.ID), nil, 3, "capture, membership, conditional update"},
		{"delete capture", "DELETE", pathf("/api/captures/%d", c.ID), nil, 3, "capture, membership, transaction"},
		{"create environment", "POST", "/api/environments", map[string]any{"envName": "x", "host": "h", "dbName": "d", "user": "u"}, 2, "id counter, transaction"},
		{"list environments", "GET", "/api/environments", nil, 2, "memberships, then a batch get"},
		{"get environment", "GET", pathf("/api/environments/%d", env.ID), nil, 1, "environment+membership batch"},
		{"list members", "GET", pathf("/api/environments/%d/users", env.ID), nil, 2, "access batch, partition query"},
		{"add member", "POST", pathf("/api/environments/%d/users", env.ID), map[string]any{"user": "carol"}, 2, "access batch, transaction"},
		{"remove member", "DELETE", pathf("/api/environments/%d/users/carol", env.ID), nil, 3, "access batch, target membership, delete"},
	}
	for _, tt := range tests {
		h.calls.Reset()
		r := h.do("alice", tt.method, tt.path, tt.body)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", tt.name, r.Status, r.Body)
		}
		n, by := h.calls.Total()
		if n > tt.max {
			t.Errorf("%s: %d DynamoDB calls %v, want at most %d (%s)", tt.name, n, by, tt.max, tt.why)
		}
		t.Logf("%-20s %d calls %v", tt.name, n, by)
		if _, scanned := by["Scan"]; scanned {
			t.Errorf("%s scans the table", tt.name)
		}
	}
}
