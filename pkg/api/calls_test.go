package api_test

import (
	"cmp"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/capture"
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
	done := h.doneCapture("alice", env.ID, "replayed")
	target := h.targetEnv("alice", nil)
	var rep struct {
		ID int64 `json:"id"`
	}
	h.must("alice", "POST", "/api/replays", map[string]any{"name": "counted", "captureId": done.ID, "envId": target.ID, "scheduledStart": future}, &rep)
	// A capture with two replays, and an environment one replays into, for their deletes.
	replayed := h.doneCapture("alice", env.ID, "replayed twice")
	for _, name := range []string{"first of two", "second of two"} {
		h.must("alice", "POST", "/api/replays", map[string]any{"name": name, "captureId": replayed.ID, "envId": target.ID, "scheduledStart": future}, nil)
	}
	// dave's, so that alice's lists above count no more environments.
	empty := h.environment("dave", nil)
	into := h.targetEnv("dave", nil)
	h.replayIn(done, env.ID, into.ID, "alice", "into it", capture.Scheduled)
	tests := []struct {
		name         string
		method, path string
		body         any
		max          int
		why          string
		user         string // "" for alice
	}{
		{"get capture", "GET", pathf("/api/captures/%d", c.ID), nil, 2, "capture, then membership of its environment", ""},
		{"get metrics", "GET", pathf("/api/captures/%d/metrics", c.ID), nil, 2, "as get", ""},
		{"get digest", "GET", pathf("/api/captures/%d/digest", c.ID), nil, 2, "as get", ""},
		{"list one environment", "GET", pathf("/api/captures?envId=%d", env.ID), nil, 2, "environment+membership batch, then the index query", ""},
		{"list all", "GET", "/api/captures", nil, 4, "memberships, then one query per environment (3 here)", ""},
		{"create capture", "POST", "/api/captures", map[string]any{"name": "new one", "envId": env.ID}, 3, "access batch, id counter, transaction", ""},
		{"edit capture", "PUT", pathf("/api/captures/%d", c.ID), map[string]any{"name": "renamed"}, 3, "capture, membership, transaction", ""},
		{"stop capture", "POST", pathf("/api/captures/%d/stop", c.ID), nil, 3, "capture, membership, conditional update", ""},
		{"delete capture", "DELETE", pathf("/api/captures/%d", c.ID), nil, 3, "capture, membership, transaction", ""},
		{"get replay", "GET", pathf("/api/replays/%d", rep.ID), nil, 2, "replay, then its environments with memberships in one batch", ""},
		{"get replay metrics", "GET", pathf("/api/replays/%d/metrics", rep.ID), nil, 2, "as get", ""},
		{"get replay report", "GET", pathf("/api/replays/%d/report", rep.ID), nil, 3, "as get, then its capture (for the digest)", ""},
		{"compare replays", "GET", pathf("/api/replays/compare?base=%d&candidate=%d", rep.ID, rep.ID), nil, 4, "both replays, their environments with memberships in one batch, the capture", ""},
		{"list a capture's replays", "GET", pathf("/api/replays?captureId=%d", done.ID), nil, 4, "capture, membership, its name claims, a batch get", ""},
		{"list a target's replays", "GET", pathf("/api/replays?envId=%d", target.ID), nil, 3, "access batch, the partition's replays, a batch get", ""},
		{"list all replays", "GET", "/api/replays", nil, 5, "memberships, one query per environment (3 here), a batch get", ""},
		{"create replay", "POST", "/api/replays", map[string]any{"name": "created", "captureId": done.ID, "envId": target.ID}, 4, "capture, its and the target's environments with memberships, id counter, transaction", ""},
		{"edit replay", "PUT", pathf("/api/replays/%d", rep.ID), map[string]any{"name": "renamed"}, 3, "replay, environments with memberships, transaction", ""},
		{"stop replay", "POST", pathf("/api/replays/%d/stop", rep.ID), nil, 3, "replay, environments with memberships, conditional update", ""},
		{"delete replay", "DELETE", pathf("/api/replays/%d", rep.ID), nil, 3, "replay, environments with memberships, transaction", ""},
		{"create environment", "POST", "/api/environments", map[string]any{"envName": "x", "host": "h", "dbName": "d", "user": "u"}, 2, "id counter, transaction", ""},
		{"list environments", "GET", "/api/environments", nil, 2, "memberships, then a batch get", ""},
		{"get environment", "GET", pathf("/api/environments/%d", env.ID), nil, 1, "environment+membership batch", ""},
		{"list members", "GET", pathf("/api/environments/%d/users", env.ID), nil, 2, "access batch, partition query", ""},
		{"add member", "POST", pathf("/api/environments/%d/users", env.ID), map[string]any{"user": "carol"}, 2, "access batch, transaction", ""},
		{"remove member", "DELETE", pathf("/api/environments/%d/users/carol", env.ID), nil, 3, "access batch, target membership, delete", ""},
		{"delete a replayed capture", "DELETE", pathf("/api/captures/%d", replayed.ID), nil, 7, "as delete capture, with a query of its name claims, a batch get and a transaction per replay (2 here)", ""},
		{"delete environment", "DELETE", pathf("/api/environments/%d", empty.ID), nil, 7, "access, mark, its captures' claims, its replays' entries, its items, a batch write of its members, a transaction", "dave"},
		{"delete a replayed-into environment", "DELETE", pathf("/api/environments/%d", into.ID), nil, 9, "as delete environment, with a batch get and a transaction per replay (1 here)", "dave"},
	}
	granted := tableGrants(t)
	for _, tt := range tests {
		h.calls.Reset()
		r := h.do(cmp.Or(tt.user, "alice"), tt.method, tt.path, tt.body)
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
