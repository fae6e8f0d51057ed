package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/lease"
)

func TestCreateEnvironment(t *testing.T) {
	h := newHarness(t)
	var env envView
	h.must("alice", "POST", "/api/environments", map[string]any{
		"envName": "prod", "host": "db.example.com", "dbName": "shop", "user": "capture",
		"pass": "correct horse battery", "instance": "prod-db-1", "parameterGroup": "prod-params",
	}, &env)
	if env.ID <= 0 || env.Name != "prod" || env.OwnerID != auth.LocalSub("alice") || env.Port != 3306 ||
		env.Instance == nil || *env.Instance != "prod-db-1" || env.ParameterGroup == nil || *env.ParameterGroup != "prod-params" {
		t.Fatalf("created %+v", env)
	}
	// The password is stored sealed, bound to the environment, and opens again.
	stored, err := h.server.Store.Environment(context.Background(), env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored.SealedPassword, "correct horse") {
		t.Fatal("password stored in the clear")
	}
	if pass, err := h.secrets.Open(context.Background(), env.ID, stored.SealedPassword); err != nil || pass != "correct horse battery" {
		t.Fatalf("open sealed password: %q, %v", pass, err)
	}
	if _, err := h.secrets.Open(context.Background(), env.ID+1, stored.SealedPassword); err == nil {
		t.Fatal("a sealed password opened for another environment")
	}
	// Never in a response or a log line.
	for _, path := range []string{"/api/environments", pathf("/api/environments/%d", env.ID)} {
		r := h.do("alice", "GET", path, nil)
		if strings.Contains(string(r.Body), "correct horse") || strings.Contains(string(r.Body), "pass") {
			t.Errorf("GET %s shows the password: %s", path, r.Body)
		}
	}
	if strings.Contains(h.logs.String(), "correct horse") {
		t.Error("the password was logged")
	}
	var members []struct {
		User    string `json:"user"`
		IsAdmin bool   `json:"isAdmin"`
	}
	h.must("alice", "GET", pathf("/api/environments/%d/users", env.ID), nil, &members)
	if len(members) != 1 || members[0].User != auth.LocalSub("alice") || !members[0].IsAdmin {
		t.Fatalf("members %+v, want alice as admin", members)
	}
}

func TestCreateEnvironmentErrors(t *testing.T) {
	h := newHarness(t)
	base := func(k string, v any) map[string]any {
		b := map[string]any{"envName": "dev", "host": "localhost", "dbName": "shop", "user": "root"}
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	tests := []struct {
		name string
		body any
		msg  string
	}{
		{"no name", base("envName", nil), capture.ErrEnvNameRequired.Message},
		{"blank name", base("envName", "   "), capture.ErrEnvNameRequired.Message},
		{"no host", base("host", nil), capture.ErrHostRequired.Message},
		{"no dbName", base("dbName", nil), capture.ErrDBNameRequired.Message},
		{"no user", base("user", nil), capture.ErrUserRequired.Message},
		{"port zero", base("port", 0), capture.ErrPortInvalid.Message},
		{"port too big", base("port", 70000), capture.ErrPortInvalid.Message},
		{"port a string", base("port", "3306"), "port must be an integer"},
		{"pass a number", base("pass", 5), "pass must be a string"},
		{"not JSON", "nope", "Request body is not valid JSON"},
	}
	for _, tt := range tests {
		r := h.do("alice", "POST", "/api/environments", tt.body)
		if r.Status != 400 || r.errorMessage(t) != tt.msg {
			t.Errorf("%s: %d %s, want 400 %q", tt.name, r.Status, r.Body, tt.msg)
		}
	}
}

func TestMembers(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	users := pathf("/api/environments/%d/users", env.ID)
	h.must("alice", "POST", users, map[string]any{"user": "bob"}, nil)
	if r := h.do("alice", "POST", users, map[string]any{"user": "bob", "isAdmin": true}); r.Status != 409 || r.errorMessage(t) != capture.ErrMemberTaken.Message {
		t.Errorf("add twice: %d %s", r.Status, r.Body)
	}
	if r := h.do("alice", "POST", users, map[string]any{"user": ""}); r.Status != 400 {
		t.Errorf("add empty user: %d %s", r.Status, r.Body)
	}
	// bob sees the environment now, and can leave it himself.
	var envs []envView
	h.must("bob", "GET", "/api/environments", nil, &envs)
	if len(envs) != 1 || envs[0].ID != env.ID {
		t.Fatalf("bob's environments %+v", envs)
	}
	h.must("bob", "DELETE", pathf("/api/environments/%d/users/bob", env.ID), nil, nil)
	if r := h.do("bob", "GET", pathf("/api/environments/%d", env.ID), nil); r.Status != 403 {
		t.Errorf("bob after leaving: %d", r.Status)
	}
	if r := h.do("alice", "DELETE", pathf("/api/environments/%d/users/bob", env.ID), nil); r.Status != 404 || r.errorMessage(t) != capture.ErrNoMember.Message {
		t.Errorf("remove a non-member: %d %s", r.Status, r.Body)
	}
	// The last admin cannot leave.
	if r := h.do("alice", "DELETE", pathf("/api/environments/%d/users/alice", env.ID), nil); r.Status != 409 || r.errorMessage(t) != capture.ErrLastAdmin.Message {
		t.Errorf("last admin leaves: %d %s", r.Status, r.Body)
	}
}

// Two admins leaving at once must not leave the environment with no admin.
func TestConcurrentAdminsLeaving(t *testing.T) {
	h := newHarness(t)
	for round := range 5 {
		env := h.environment("alice", map[string]bool{"bob": true})
		var wg sync.WaitGroup
		status := map[string]int{}
		var mu sync.Mutex
		for _, user := range []string{"alice", "bob"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := h.do(user, "DELETE", pathf("/api/environments/%d/users/%s", env.ID, user), nil)
				mu.Lock()
				status[user] = r.Status
				mu.Unlock()
			}()
		}
		wg.Wait()
		mems, err := h.server.Store.Members(context.Background(), env.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(mems) != 1 || !mems[0].IsAdmin {
			t.Fatalf("round %d: statuses %v left members %+v, want exactly one admin", round, status, mems)
		}
	}
}

func TestDeleteEnvironmentLeavesNothing(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", map[string]bool{"bob": false})
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var last captureView
	for i := range 30 { // more than one batch write of 25
		last = h.capture("alice", env.ID, pathf("capture %02d", i), map[string]any{"status": "SCHEDULED", "scheduledStart": future})
	}
	ctx := context.Background()
	files := h.server.Files.(blob.Dir)
	c, err := h.server.Store.Capture(ctx, last.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.Put(ctx, layout.MetricsKey(c), strings.NewReader("[]")); err != nil {
		t.Fatal(err)
	}
	h.must("alice", "DELETE", pathf("/api/environments/%d", env.ID), nil, nil)
	if _, err := os.Stat(filepath.Join(files.Root, layout.EnvFilesPrefix(env.ID))); !os.IsNotExist(err) {
		t.Errorf("the environment's files after it was deleted: %v", err)
	}
	if caps, err := h.server.Store.EnvCaptures(ctx, env.ID, ""); err != nil || len(caps) != 0 {
		t.Errorf("captures left: %d, %v", len(caps), err)
	}
	if mems, err := h.server.Store.Members(ctx, env.ID); err != nil || len(mems) != 0 {
		t.Errorf("members left: %+v, %v", mems, err)
	}
	var envs []envView
	h.must("bob", "GET", "/api/environments", nil, &envs)
	if len(envs) != 0 {
		t.Errorf("bob still sees %+v", envs)
	}
	if r := h.do("alice", "POST", "/api/captures", map[string]any{"name": "too late", "envId": env.ID}); r.Status != 404 {
		t.Errorf("create in a deleted environment: %d %s", r.Status, r.Body)
	}
}

func TestDeleteEnvironmentWhileRecording(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	c := h.capture("alice", env.ID, "recording", nil)
	forceStatus(t, h.server.Store, c.ID, capture.Running)
	path := pathf("/api/environments/%d", env.ID)
	if r := h.do("alice", "DELETE", path, nil); r.Status != 409 || r.errorMessage(t) != capture.ErrEnvRecording.Message {
		t.Fatalf("delete while a capture records: %d %s", r.Status, r.Body)
	}
	h.must("alice", "POST", pathf("/api/captures/%d/stop", c.ID), nil, nil) // → STOPPING: still recording
	if r := h.do("alice", "DELETE", path, nil); r.Status != 409 {
		t.Fatalf("delete while a capture stops: %d %s", r.Status, r.Body)
	}
	forceStatus(t, h.server.Store, c.ID, capture.Done)

	// A capture the worker is about to start (STARTED) may turn the log on any moment.
	starting := h.capture("alice", env.ID, "about to start", nil)
	if r := h.do("alice", "DELETE", path, nil); r.Status != 409 || r.errorMessage(t) != capture.ErrEnvRecording.Message {
		t.Fatalf("delete while a capture is about to start: %d %s", r.Status, r.Body)
	}
	forceStatus(t, h.server.Store, starting.ID, capture.Failed)

	// The server's settings are still to be restored, through this environment.
	ctx := context.Background()
	key := lease.ServerKey("mariadb/db:3306/1")
	if err := h.server.Store.SetEnvironmentLease(ctx, env.ID, key); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := h.server.Store.HoldLog(ctx, key, c.ID, env.ID, map[string]string{"general_log": "0"}, 0, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := h.server.Store.ReleaseLog(ctx, key, c.ID, now); err != nil {
		t.Fatal(err)
	}
	if r := h.do("alice", "DELETE", path, nil); r.Status != 409 || r.errorMessage(t) != capture.ErrEnvRestoring.Message {
		t.Fatalf("delete while a restore is pending: %d %s", r.Status, r.Body)
	}
	until := now.Add(time.Minute)
	if _, err := h.server.Store.ClaimRestore(ctx, key, now, until); err != nil {
		t.Fatal(err)
	}
	if err := h.server.Store.RestoreDone(ctx, key, until, now); err != nil {
		t.Fatal(err)
	}
	h.must("alice", "DELETE", path, nil, nil)
	// A refused deletion left the environment as it was: captures could be created in it.
}

// TestRefusedDeleteLeavesTheEnvironmentUsable: a deletion refused because a capture records
// unmarks the environment, so captures can still be created in it.
func TestRefusedDeleteLeavesTheEnvironmentUsable(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	c := h.capture("alice", env.ID, "recording", nil)
	forceStatus(t, h.server.Store, c.ID, capture.Running)
	if r := h.do("alice", "DELETE", pathf("/api/environments/%d", env.ID), nil); r.Status != 409 {
		t.Fatalf("delete while recording: %d %s", r.Status, r.Body)
	}
	if r := h.do("alice", "POST", "/api/captures", map[string]any{"name": "after refusal", "envId": env.ID}); r.Status != 200 {
		t.Errorf("create after a refused delete: %d %s", r.Status, r.Body)
	}
}

// createEnvironment asks, as alice, for an environment called name with the fields in extra
// over a minimal valid body.
func (h *harness) createEnvironment(name string, extra map[string]any) response {
	h.t.Helper()
	body := map[string]any{"envName": name, "dbName": "d", "user": "u"}
	for k, v := range extra {
		body[k] = v
	}
	return h.do("alice", "POST", "/api/environments", body)
}
