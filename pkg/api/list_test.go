package api_test

import (
	"testing"
)

func TestListCaptures(t *testing.T) {
	h := newHarness(t)
	e1 := h.environment("alice", map[string]bool{"bob": false})
	e2 := h.environment("alice", nil)
	e3 := h.environment("carol", nil)
	a := h.capture("alice", e1.ID, "first one", nil)
	b := h.capture("alice", e2.ID, "second two", nil)
	c := h.capture("bob", e1.ID, "third three", nil)
	h.capture("carol", e3.ID, "fourth four", nil)

	ids := func(list []captureView) []int64 {
		var out []int64
		for _, c := range list {
			out = append(out, c.ID)
		}
		return out
	}
	tests := []struct {
		user, query string
		want        []int64
	}{
		{"alice", "", []int64{c.ID, b.ID, a.ID}},
		{"bob", "", []int64{c.ID, a.ID}},
		{"dave", "", nil},
		{"alice", pathf("?envId=%d", e1.ID), []int64{c.ID, a.ID}},
		{"alice", "?name=second%20two", []int64{b.ID}},
		{"alice", pathf("?envId=%d&name=first+one", e1.ID), []int64{a.ID}},
		{"alice", "?name=nothing", nil},
	}
	for _, tt := range tests {
		var list []captureView
		h.must(tt.user, "GET", "/api/captures"+tt.query, nil, &list)
		if got := ids(list); !equalIDs(got, tt.want) {
			t.Errorf("%s %q: %v, want %v", tt.user, tt.query, got, tt.want)
		}
	}
	errs := []struct {
		user, query string
		status      int
		msg         string
	}{
		{"alice", "?envId=999", 404, "Environment does not exist"},
		{"alice", pathf("?envId=%d", e3.ID), 403, "You are not a member of this environment"},
		{"alice", "?envId=abc", 400, "envId must be a positive integer"},
		{"alice", "?envId=", 400, "envId must be a positive integer"},
		{"alice", "?envId=-1", 400, "envId must be a positive integer"},
		{"", "", 401, "Missing or invalid bearer token"},
	}
	for _, tt := range errs {
		r := h.do(tt.user, "GET", "/api/captures"+tt.query, nil)
		if r.Status != tt.status || r.errorMessage(t) != tt.msg {
			t.Errorf("%s %q: %d %s, want %d %q", tt.user, tt.query, r.Status, r.Body, tt.status, tt.msg)
		}
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
