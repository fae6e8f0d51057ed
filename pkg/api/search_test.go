package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCapturesSearch: search keeps names containing the text in any case, from and to keep a
// window of the list's order, they combine with the exact name and with paging, and bad values
// are 400s that say which.
func TestCapturesSearch(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", map[string]bool{"bob": false})
	other := h.environment("carol", nil)
	now := time.Now().UTC().Truncate(time.Second)
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	for i, name := range []string{"Nightly load", "nightly batch", "upgrade check", "NIGHTLY report", "weekly"} {
		h.capture("alice", env.ID, name, map[string]any{"status": "SCHEDULED", "scheduledStart": at(time.Duration(i+1) * time.Hour)})
	}
	h.capture("carol", other.ID, "nightly elsewhere", map[string]any{"status": "SCHEDULED", "scheduledStart": at(time.Hour)})
	names := func(t *testing.T, user, query string, per int) []string {
		var out []string
		for _, b := range h.with(t).pages(user, "/api/captures?"+query, per) {
			var page []captureView
			if err := json.Unmarshal(b, &page); err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				out = append(out, c.Name)
			}
		}
		return out
	}
	for _, tt := range []struct {
		name, user, query string
		per               int
		want              []string
	}{
		{"search in any case", "bob", "search=NIGHTLY", 100, []string{"NIGHTLY report", "nightly batch", "Nightly load"}},
		{"search paged", "alice", "search=night&limit=1", 1, []string{"NIGHTLY report", "nightly batch", "Nightly load"}},
		{"window", "alice", "from=" + url.QueryEscape(at(2*time.Hour)) + "&to=" + url.QueryEscape(at(4*time.Hour)), 100, []string{"upgrade check", "nightly batch"}},
		{"search in a window", "alice", "search=nightly&from=" + url.QueryEscape(at(90*time.Minute)), 100, []string{"NIGHTLY report", "nightly batch"}},
		{"name and search", "alice", "name=weekly&search=week", 100, []string{"weekly"}},
		{"no match", "alice", "search=monthly", 100, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(t, tt.user, tt.query, tt.per); !slices.Equal(got, tt.want) {
				t.Errorf("%s: %q, want %q", tt.query, got, tt.want)
			}
		})
	}
	for _, tt := range []struct{ query, message string }{
		{"from=yesterday", "from: times must look like 2018-05-19T12:00:00Z or 2018-05-19 12:00:00 (UTC)"},
		{"to=2026-13-01T00:00:00Z", "to: times must look like 2018-05-19T12:00:00Z or 2018-05-19 12:00:00 (UTC)"},
		{"from=" + url.QueryEscape(at(time.Hour)) + "&to=" + url.QueryEscape(at(time.Hour)), "from must be before to"},
		{"search=" + strings.Repeat("x", 129), "search must be at most 128 characters"},
	} {
		t.Run(tt.message, func(t *testing.T) {
			h := h.with(t)
			r := h.do("alice", "GET", "/api/captures?"+tt.query, nil)
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != http.StatusBadRequest || e.Code != 400 || e.Message != tt.message {
				t.Errorf("%s: %d %s, want 400 %q", tt.query, r.Status, r.Body, tt.message)
			}
		})
	}
}
