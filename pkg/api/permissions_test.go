package api_test

import (
	"strings"
	"testing"
	"time"
)

// TestPermissionMatrix sends every endpoint as each kind of caller: anonymous, a logged-in
// non-member, a plain member, the capture's owner (a plain member too) and an environment admin.
func TestPermissionMatrix(t *testing.T) {
	h := newHarness(t)
	// Each cell has an environment of its own, more than one user may have (TestQuotas).
	h.server.Store.Quotas.Environments = 1000
	callers := []string{"", "stranger", "member", "owner", "admin"}
	type endpoint struct {
		name   string
		method string
		path   func(envID, capID int64) string
		body   func(i int) any
		want   map[string]int // by caller
	}
	read := map[string]int{"": 401, "stranger": 403, "member": 200, "owner": 200, "admin": 200}
	change := map[string]int{"": 401, "stranger": 403, "member": 403, "owner": 200, "admin": 200}
	adminOnly := map[string]int{"": 401, "stranger": 403, "member": 403, "owner": 403, "admin": 200}
	// A scheduled capture has no workload yet: members learn that (404), others not even that.
	readNothingYet := map[string]int{"": 401, "stranger": 403, "member": 404, "owner": 404, "admin": 404}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	endpoints := []endpoint{
		{"list captures", "GET", func(e, _ int64) string { return pathf("/api/captures?envId=%d", e) }, nil, read},
		{"get capture", "GET", func(_, c int64) string { return pathf("/api/captures/%d", c) }, nil, read},
		{"get metrics", "GET", func(_, c int64) string { return pathf("/api/captures/%d/metrics", c) }, nil, read},
		{"get workload", "GET", func(_, c int64) string { return pathf("/api/captures/%d/workload", c) }, nil, readNothingYet},
		{"get digest", "GET", func(_, c int64) string { return pathf("/api/captures/%d/digest", c) }, nil, read},
		{"create capture", "POST", func(int64, int64) string { return "/api/captures" }, nil, read},
		{"edit capture", "PUT", func(_, c int64) string { return pathf("/api/captures/%d", c) }, func(i int) any { return map[string]any{"name": pathf("renamed %d", i)} }, change},
		{"stop capture", "POST", func(_, c int64) string { return pathf("/api/captures/%d/stop", c) }, nil, change},
		{"delete capture", "DELETE", func(_, c int64) string { return pathf("/api/captures/%d", c) }, nil, change},
		{"get environment", "GET", func(e, _ int64) string { return pathf("/api/environments/%d", e) }, nil, read},
		{"list members", "GET", func(e, _ int64) string { return pathf("/api/environments/%d/users", e) }, nil, read},
		{"add member", "POST", func(e, _ int64) string { return pathf("/api/environments/%d/users", e) }, func(i int) any { return map[string]any{"user": pathf("new%d", i)} }, adminOnly},
		{"remove member", "DELETE", func(e, _ int64) string { return pathf("/api/environments/%d/users/extra", e) }, nil, adminOnly},
		{"delete environment", "DELETE", func(e, _ int64) string { return pathf("/api/environments/%d", e) }, nil, adminOnly},
	}
	n := 0
	for _, ep := range endpoints {
		for _, caller := range callers {
			t.Run(ep.name+"/"+caller, func(t *testing.T) {
				h := h.with(t)
				n++
				// A fresh environment and a scheduled capture (stoppable) for each cell.
				env := h.environment("admin", map[string]bool{"member": false, "owner": false, "extra": false})
				c := h.capture("owner", env.ID, pathf("cell %d", n), map[string]any{"status": "SCHEDULED", "scheduledStart": future})
				var body any
				if ep.body != nil {
					body = ep.body(n)
				}
				if ep.name == "create capture" {
					body = map[string]any{"name": pathf("created %d", n), "envId": env.ID}
				}
				r := h.do(caller, ep.method, ep.path(env.ID, c.ID), body)
				if want := ep.want[caller]; r.Status != want {
					t.Fatalf("%d %s, want %d", r.Status, r.Body, want)
				}
				if r.Status != 200 {
					r.errorMessage(t)
				}
			})
		}
	}
}

func TestUnknownRoutesAndIDs(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		method, path string
		status       int
		msg          string
	}{
		{"GET", "/api/nothing", 404, "No such route"},
		{"GET", "/", 404, "No such route"},
		{"PATCH", "/api/captures/1", 405, "Method not allowed; use DELETE, GET, PUT"},
		{"GET", "/api/captures/1/stop", 405, "Method not allowed; use POST"},
		{"GET", "/api/captures/abc", 400, "Capture id must be a positive integer"},
		{"GET", "/api/captures/0", 400, "Capture id must be a positive integer"},
		{"GET", "/api/captures/99999999999999999999999", 400, "Capture id must be a positive integer"},
		{"POST", "/api/captures/-3/stop", 400, "Capture id must be a positive integer"},
		{"GET", "/api/captures/77", 404, "Capture not found"},
		{"GET", "/api/captures/77/metrics", 404, "Capture not found"},
		{"GET", "/api/captures/77/workload", 404, "Capture not found"},
		{"GET", "/api/captures/77/digest", 404, "Capture not found"},
		{"GET", "/api/captures/1/metrics?type=disk", 400, `Unknown metric type "disk": use one of CPU UTILIZATION, READ IOPS, WRITE IOPS, FREEABLE MEMORY`},
		{"GET", "/api/environments/x", 400, "Environment id must be a positive integer"},
		{"GET", "/api/environments/77", 404, "Environment does not exist"},
	}
	for _, tt := range tests {
		r := h.do("alice", tt.method, tt.path, nil)
		if r.Status != tt.status || r.errorMessage(t) != tt.msg {
			t.Errorf("%s %s: %d %s, want %d %q", tt.method, tt.path, r.Status, r.Body, tt.status, tt.msg)
		}
	}
}

func TestBadTokens(t *testing.T) {
	h := newHarness(t)
	other := newHarness(t) // signs with another key
	good := h.token("alice")
	forged := other.token("alice")
	tamper := good[:len(good)-2] + "xx"
	for name, header := range map[string]string{
		"none":       "",
		"not bearer": "Basic " + good,
		"garbage":    "Bearer abc.def.ghi",
		"other key":  "Bearer " + forged,
		"tampered":   "Bearer " + tamper,
		"alg none":   "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImlzcyI6Im15Y3J0LWxvY2FsIiwiZXhwIjo5OTk5OTk5OTk5fQ.",
	} {
		req := mustRequest(t, "GET", h.url+"/api/captures", header)
		if req.StatusCode != 401 || !strings.Contains(req.Body, `"code":401`) {
			t.Errorf("%s: %d %s", name, req.StatusCode, req.Body)
		}
	}
}
