package api_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/lambdas"
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
	granted := tableGrants(t)
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
		fn, actions := granted(tt.method, tt.path)
		for op := range by {
			for _, a := range tableActions(op) {
				if !slices.Contains(actions, a) {
					t.Errorf("%s: %s calls %s, which needs %s: the stack does not grant it (pkg/lambdas)", tt.name, fn, op, a)
				}
			}
		}
	}
}

// tableGrants returns, for a request, the function that serves it and the table actions the
// stack grants that function (lambdas.Spec.Grants).
func tableGrants(t *testing.T) func(method, path string) (string, []string) {
	mux := http.NewServeMux()
	serves := map[string]string{}
	for _, f := range api.Functions() {
		for _, p := range f.Patterns() {
			mux.Handle(p, http.NotFoundHandler())
			serves[p] = f.Name
		}
	}
	return func(method, path string) (string, []string) {
		_, pattern := mux.Handler(httptest.NewRequest(method, path, nil))
		spec, ok := lambdas.Named(serves[pattern])
		if !ok {
			t.Fatalf("%s %s: served by no function (%q)", method, path, pattern)
		}
		for _, g := range spec.Grants() {
			if g.On == lambdas.OnTable {
				return spec.Name, g.Actions
			}
		}
		return spec.Name, nil
	}
}

// tableActions are the IAM actions DynamoDB checks for operation op: a transaction is checked
// against each of its items' own actions, so a function that sends one needs them all.
func tableActions(op string) []string {
	switch op {
	case "TransactWriteItems":
		return []string{"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	case "TransactGetItems":
		return []string{"dynamodb:GetItem"}
	}
	return []string{"dynamodb:" + op}
}
