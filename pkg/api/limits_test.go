package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
)

type limitsView struct {
	Status        string
	MaxStatements *int64
	MaxBytes      *int64
	Filters       *struct {
		Users, Databases *struct{ Include, Exclude []string }
	}
}

func TestCaptureLimitsAndFilters(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{"envId": env.ID, "status": "SCHEDULED", "scheduledStart": future}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	// Created, and shown.
	r := h.do("alice", "POST", "/api/captures", body(map[string]any{"name": "limited", "maxStatements": 1000, "maxBytes": 5 << 20,
		"filters": map[string]any{"users": map[string]any{"include": []string{"app"}}, "databases": map[string]any{"exclude": []string{"mysql"}}}}))
	var c struct {
		ID int64
		limitsView
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &c) != nil || c.MaxStatements == nil || *c.MaxStatements != 1000 ||
		c.Filters == nil || c.Filters.Users == nil || c.Filters.Users.Include[0] != "app" || c.Filters.Databases.Exclude[0] != "mysql" {
		t.Fatalf("create with limits: %d %s", r.Status, r.Body)
	}
	// A capture without them shows nulls.
	plain := h.capture("alice", env.ID, "plain one", map[string]any{"status": "SCHEDULED", "scheduledStart": future})
	if r := h.do("alice", "GET", pathf("/api/captures/%d", plain.ID), nil); !strings.Contains(string(r.Body), `"maxStatements":null,"maxBytes":null,"filters":null`) {
		t.Errorf("no limits: %s", r.Body)
	}

	// Bad ones are 400s that say what is wrong.
	for _, tt := range []struct {
		extra map[string]any
		msg   string
	}{
		{map[string]any{"maxStatements": 0}, capture.ErrMaxStatements.Message},
		{map[string]any{"maxBytes": -5}, capture.ErrMaxBytes.Message},
		{map[string]any{"maxStatements": "ten"}, "maxStatements must be an integer"},
		{map[string]any{"filters": map[string]any{"user": map[string]any{"include": []string{"app"}}}}, `filters: unknown key "user"`},
		{map[string]any{"filters": map[string]any{"users": map[string]any{"only": []string{"app"}}}}, `filters: unknown key "only"`},
		{map[string]any{"filters": map[string]any{"users": map[string]any{"include": "app"}}}, "filters must look like"},
		{map[string]any{"filters": map[string]any{"users": map[string]any{"include": []string{""}}}}, capture.ErrFilterNames.Message},
	} {
		b := body(tt.extra)
		b["name"] = "bad one"
		r := h.do("alice", "POST", "/api/captures", b)
		if r.Status != 400 || !strings.HasPrefix(r.errorMessage(t), tt.msg) {
			t.Errorf("%v: %d %s, want 400 %q", tt.extra, r.Status, r.Body, tt.msg)
		}
	}

	// Editable while scheduled (a PUT replaces them all), not after.
	path := pathf("/api/captures/%d", c.ID)
	var edited limitsView
	if r := h.do("alice", "PUT", path, map[string]any{"maxBytes": 1 << 20}); r.Status != 200 || json.Unmarshal(r.Body, &edited) != nil ||
		edited.MaxStatements != nil || edited.MaxBytes == nil || *edited.MaxBytes != 1<<20 || edited.Filters != nil {
		t.Fatalf("edit limits: %d %s", r.Status, r.Body)
	}
	if r := h.do("alice", "PUT", path, map[string]any{"name": "renamed too", "maxStatements": 10}); r.Status != 200 ||
		!strings.Contains(string(r.Body), `"name":"renamed too"`) || !strings.Contains(string(r.Body), `"maxStatements":10`) {
		t.Fatalf("rename and limit: %d %s", r.Status, r.Body)
	}
	forceStatus(t, h.server.Store, c.ID, capture.Started)
	forceStatus(t, h.server.Store, c.ID, capture.Running)
	if r := h.do("alice", "PUT", path, map[string]any{"maxStatements": 5}); r.Status != 409 || r.errorMessage(t) != capture.ErrNotScheduled.Message {
		t.Errorf("edit limits while running: %d %s", r.Status, r.Body)
	}
	if r := h.do("alice", "PUT", path, map[string]any{"name": "still renamable"}); r.Status != 200 {
		t.Errorf("rename while running: %d %s", r.Status, r.Body)
	}
}
