package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
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

// TestReplayPermissionMatrix sends every replay endpoint as each kind of caller: anonymous, a
// stranger, a member of the capture's environment only (source), an admin of it only
// (sourceAdmin), a plain member of the target (member), the replay's owner (a plain member of
// the target too), an admin of the target only (admin), and one both a member of the capture's
// environment and an admin of the target (creator), the one who may create.
func TestReplayPermissionMatrix(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.Environments = 1000
	callers := []string{"", "stranger", "source", "sourceAdmin", "member", "owner", "admin", "creator"}
	source := h.environment("sourceAdmin", map[string]bool{"source": false, "creator": false})
	done := h.doneCapture("sourceAdmin", source.ID, "recorded")
	read := map[string]int{"": 401, "stranger": 403, "source": 200, "sourceAdmin": 200, "member": 200, "owner": 200, "admin": 200, "creator": 200}
	readTarget := map[string]int{"": 401, "stranger": 403, "source": 403, "sourceAdmin": 403, "member": 200, "owner": 200, "admin": 200, "creator": 200}
	readCapture := map[string]int{"": 401, "stranger": 404, "source": 200, "sourceAdmin": 200, "member": 404, "owner": 404, "admin": 404, "creator": 200}
	change := map[string]int{"": 401, "stranger": 403, "source": 403, "sourceAdmin": 403, "member": 403, "owner": 200, "admin": 200, "creator": 200}
	create := map[string]int{"": 401, "stranger": 400, "source": 403, "sourceAdmin": 403, "member": 400, "owner": 400, "admin": 400, "creator": 200}
	future := time.Now().Add(time.Hour).UTC()
	endpoints := []struct {
		name   string
		method string
		path   func(envID, repID int64) string
		want   map[string]int
	}{
		{"list replays", "GET", func(int64, int64) string { return "/api/replays" }, map[string]int{"": 401, "stranger": 200, "source": 200, "sourceAdmin": 200, "member": 200, "owner": 200, "admin": 200, "creator": 200}},
		{"list a target's", "GET", func(e, _ int64) string { return pathf("/api/replays?envId=%d", e) }, readTarget},
		{"list a capture's", "GET", func(int64, int64) string { return pathf("/api/replays?captureId=%d", done.ID) }, readCapture},
		{"get replay", "GET", func(_, r int64) string { return pathf("/api/replays/%d", r) }, read},
		{"get metrics", "GET", func(_, r int64) string { return pathf("/api/replays/%d/metrics", r) }, read},
		{"get report", "GET", func(_, r int64) string { return pathf("/api/replays/%d/report", r) }, read},
		{"compare", "GET", func(_, r int64) string { return pathf("/api/replays/compare?base=%d&candidate=%d", r, r) }, read},
		{"create replay", "POST", func(int64, int64) string { return "/api/replays" }, create},
		{"edit replay", "PUT", func(_, r int64) string { return pathf("/api/replays/%d", r) }, change},
		{"stop replay", "POST", func(_, r int64) string { return pathf("/api/replays/%d/stop", r) }, change},
		{"delete replay", "DELETE", func(_, r int64) string { return pathf("/api/replays/%d", r) }, change},
	}
	n := 0
	for _, ep := range endpoints {
		for _, caller := range callers {
			t.Run(ep.name+"/"+caller, func(t *testing.T) {
				h := h.with(t)
				n++
				target := h.targetEnv("admin", map[string]bool{"member": false, "owner": false, "creator": true})
				// The owner made it as an admin of the target, and is a plain member now.
				r, err := capture.NewReplay(capture.ReplayRequest{Name: pathf("cell %d", n), CaptureID: done.ID, EnvID: target.ID, ScheduledStart: &future}, auth.LocalSub("owner"), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				r.CaptureEnvID, r.Target = source.ID, pathf("cell-%d:1", n)
				if r, err = h.server.Store.CreateReplay(context.Background(), r); err != nil {
					t.Fatal(err)
				}
				var body any
				switch ep.name {
				case "create replay":
					body = map[string]any{"name": pathf("created %d", n), "captureId": done.ID, "envId": target.ID}
				case "edit replay":
					body = map[string]any{"name": pathf("renamed %d", n)}
				}
				resp := h.do(caller, ep.method, ep.path(target.ID, r.ID), body)
				if want := ep.want[caller]; resp.Status != want {
					t.Fatalf("%d %s, want %d", resp.Status, resp.Body, want)
				}
				if resp.Status != 200 {
					resp.errorMessage(t)
				}
			})
		}
	}
}
