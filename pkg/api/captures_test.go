package api_test

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
)

func TestContractSampleCreateBody(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	before := time.Now().UTC().Truncate(time.Millisecond)
	var c captureView
	h.must("alice", "POST", "/api/captures", pathf(`{
 "name" : "myCapture",
 "start" : "2018-05-19 12:00:00",
 "end" : null,
 "envId" : %d,
 "scheduledStart": null
}`, env.ID), &c)
	if c.ID <= 0 || c.Name != "myCapture" || c.Status != "STARTED" || c.Type != "CAPTURE" || c.EnvID != env.ID {
		t.Fatalf("created %+v", c)
	}
	if c.End != nil || c.ScheduledStart != nil || c.ScheduledEnd != nil || c.Reason != nil || c.OwnerID != auth.LocalSub("alice") {
		t.Errorf("created %+v: want only start set", c)
	}
	start, err := time.Parse("2006-01-02T15:04:05.000Z", *c.Start)
	if err != nil || start.Before(before) || start.After(time.Now().Add(time.Second)) {
		t.Errorf("start %q: want now, in the contract's format (%v)", *c.Start, err)
	}
	var got captureView
	h.must("alice", "GET", pathf("/api/captures/%d", c.ID), nil, &got)
	if !reflect.DeepEqual(got, c) {
		t.Errorf("get returned %+v, create returned %+v", got, c)
	}
}

func TestCreateCapture(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	future := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	tests := []struct {
		name       string
		body       map[string]any
		wantStatus string
		wantSched  *time.Time
		wantEnd    time.Duration // after the start (scheduled or actual); 0 = no end
	}{
		{"no status starts now", map[string]any{}, "STARTED", nil, 0},
		{"STARTED starts now", map[string]any{"status": "STARTED"}, "STARTED", nil, 0},
		{"STARTING starts now", map[string]any{"status": "STARTING"}, "STARTED", nil, 0},
		{"duration sets the end", map[string]any{"duration": 90}, "STARTED", nil, 90 * time.Second},
		{"SCHEDULED with a start", map[string]any{"status": "SCHEDULED", "scheduledStart": future.Format(time.RFC3339)}, "SCHEDULED", &future, 0},
		{"contract time form", map[string]any{"status": "SCHEDULED", "scheduledStart": future.Format("2006-01-02 15:04:05"), "duration": 3600}, "SCHEDULED", &future, time.Hour},
		{"a start time alone schedules", map[string]any{"scheduledStart": future.Format(time.RFC3339)}, "SCHEDULED", &future, 0},
		{"zone converted to UTC", map[string]any{"status": "SCHEDULED", "scheduledStart": future.In(time.FixedZone("X", -7*3600)).Format(time.RFC3339)}, "SCHEDULED", &future, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			c := h.capture("alice", env.ID, pathf("capture %d", i), tt.body)
			if c.Status != tt.wantStatus {
				t.Fatalf("status %s, want %s", c.Status, tt.wantStatus)
			}
			var base time.Time
			if tt.wantSched != nil {
				if c.ScheduledStart == nil || *c.ScheduledStart != tt.wantSched.Format("2006-01-02T15:04:05.000Z") {
					t.Fatalf("scheduledStart %v, want %v", c.ScheduledStart, tt.wantSched)
				}
				if c.Start != nil {
					t.Errorf("a scheduled capture has start %v", *c.Start)
				}
				base = *tt.wantSched
			} else {
				base, _ = time.Parse("2006-01-02T15:04:05.000Z", *c.Start)
			}
			switch {
			case tt.wantEnd == 0 && c.ScheduledEnd != nil:
				t.Errorf("scheduledEnd %v, want none", *c.ScheduledEnd)
			case tt.wantEnd != 0 && (c.ScheduledEnd == nil || *c.ScheduledEnd != base.Add(tt.wantEnd).Format("2006-01-02T15:04:05.000Z")):
				t.Errorf("scheduledEnd %v, want %v", c.ScheduledEnd, base.Add(tt.wantEnd))
			}
		})
	}
}

func TestCreateCaptureErrors(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	h.capture("alice", env.ID, "taken", nil)
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	tests := []struct {
		name   string
		user   string
		body   any
		status int
		msg    string
	}{
		{"duplicate name", "alice", map[string]any{"name": "taken", "envId": env.ID}, 400, "Capture with the same name already exists in this environment"},
		{"duplicate name, other case", "alice", map[string]any{"name": "TAKEN", "envId": env.ID}, 400, "Capture with the same name already exists in this environment"},
		{"short duration", "alice", map[string]any{"name": "short", "envId": env.ID, "duration": 59}, 400, "Duration must be at least 60 seconds"},
		{"negative duration", "alice", map[string]any{"name": "short", "envId": env.ID, "duration": -5}, 400, "Duration must be at least 60 seconds"},
		{"huge duration", "alice", map[string]any{"name": "long", "envId": env.ID, "duration": 1e300}, 400, "Duration must be at most 31 days"},
		{"schedule without start", "alice", map[string]any{"name": "sched", "envId": env.ID, "status": "SCHEDULED"}, 400, "Cannot schedule without a schedule start time"},
		{"schedule with null start", "alice", map[string]any{"name": "sched", "envId": env.ID, "status": "SCHEDULED", "scheduledStart": nil}, 400, "Cannot schedule without a schedule start time"},
		{"schedule in the past", "alice", map[string]any{"name": "sched", "envId": env.ID, "status": "SCHEDULED", "scheduledStart": past}, 400, "Scheduled start must be in the future"},
		{"other status", "alice", map[string]any{"name": "sched", "envId": env.ID, "status": "RUNNING"}, 400, "Status must be 'SCHEDULED', 'STARTED', or 'STARTING'"},
		{"empty status", "alice", map[string]any{"name": "sched", "envId": env.ID, "status": ""}, 400, "Status must be 'SCHEDULED', 'STARTED', or 'STARTING'"},
		{"unknown environment", "alice", map[string]any{"name": "nowhere", "envId": 999}, 404, "Environment does not exist"},
		{"non-member", "mallory", map[string]any{"name": "intrude", "envId": env.ID}, 403, "You are not a member of this environment"},
		{"anonymous", "", map[string]any{"name": "anon", "envId": env.ID}, 401, "Missing or invalid bearer token"},
		{"no name", "alice", map[string]any{"envId": env.ID}, 400, "Name is required"},
		{"name too short", "alice", map[string]any{"name": "abc", "envId": env.ID}, 400, capture.ErrNameInvalid.Message},
		{"name too long", "alice", map[string]any{"name": strings.Repeat("a", 26), "envId": env.ID}, 400, capture.ErrNameInvalid.Message},
		{"name with bad characters", "alice", map[string]any{"name": "drop;table", "envId": env.ID}, 400, capture.ErrNameInvalid.Message},
		{"no envId", "alice", map[string]any{"name": "noenv"}, 400, "envId must be a positive integer"},
		{"envId a string", "alice", map[string]any{"name": "noenv", "envId": "1"}, 400, "envId must be an integer"},
		{"envId fractional", "alice", map[string]any{"name": "noenv", "envId": 1.5}, 400, "envId must be an integer"},
		{"name a number", "alice", map[string]any{"name": 12345, "envId": env.ID}, 400, "name must be a string"},
		{"bad time", "alice", map[string]any{"name": "badtime", "envId": env.ID, "scheduledStart": "tomorrow"}, 400, "Times must look like 2018-05-19T12:00:00Z or 2018-05-19 12:00:00 (UTC)"},
		{"time a number", "alice", map[string]any{"name": "badtime", "envId": env.ID, "scheduledStart": 5}, 400, "Times must look like 2018-05-19T12:00:00Z or 2018-05-19 12:00:00 (UTC)"},
		{"malformed JSON", "alice", `{"name": "x",`, 400, "Request body is not valid JSON"},
		{"empty body", "alice", ``, 400, "Request body is required"},
		{"array body", "alice", `[1,2]`, 400, "Request body must be a JSON object"},
		{"two objects", "alice", `{"name":"twice","envId":1} {}`, 400, "Request body must be a single JSON object"},
		{"too large", "alice", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "Request body is too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			r := h.do(tt.user, "POST", "/api/captures", tt.body)
			if r.Status != tt.status || r.errorMessage(t) != tt.msg {
				t.Errorf("got %d %s, want %d %q", r.Status, r.Body, tt.status, tt.msg)
			}
		})
	}
}

func TestStopByStatus(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	st := h.server.Store
	tests := []struct {
		from   capture.Status
		status int
		msg    string
		want   capture.Status
	}{
		{capture.Running, 200, "", capture.Stopping},
		{capture.Scheduled, 200, "", capture.Done},
		{capture.Started, 409, "Cannot stop a capture until it has started completely. Try again soon.", capture.Started},
		{capture.Starting, 409, "Cannot stop a capture until it has started completely. Try again soon.", capture.Starting},
		{capture.Stopping, 409, "This capture has already been stopped", capture.Stopping},
		{capture.Done, 409, "This capture has already been stopped", capture.Done},
		{capture.Failed, 409, "This capture failed and is no longer running", capture.Failed},
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tt := range tests {
		t.Run(string(tt.from), func(t *testing.T) {
			h := h.with(t)
			extra := map[string]any{}
			if tt.from == capture.Scheduled {
				extra = map[string]any{"status": "SCHEDULED", "scheduledStart": future}
			}
			c := h.capture("alice", env.ID, "stop "+strings.ToLower(string(tt.from)), extra)
			forceStatus(t, st, c.ID, tt.from)
			r := h.do("alice", "POST", pathf("/api/captures/%d/stop", c.ID), nil)
			if r.Status != tt.status {
				t.Fatalf("stop: %d %s, want %d", r.Status, r.Body, tt.status)
			}
			if tt.msg != "" && r.errorMessage(t) != tt.msg {
				t.Errorf("stop: message %s, want %q", r.Body, tt.msg)
			}
			var got captureView
			h.must("alice", "GET", pathf("/api/captures/%d", c.ID), nil, &got)
			if got.Status != string(tt.want) {
				t.Errorf("after stop: status %s, want %s", got.Status, tt.want)
			}
			if tt.from == capture.Scheduled && (got.End == nil || got.Reason == nil || *got.Reason != capture.CancelledReason) {
				t.Errorf("cancelled capture: %+v, want an end and the reason %q", got, capture.CancelledReason)
			}
		})
	}
}

func TestConcurrentStopsExactlyOneWins(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	c := h.capture("alice", env.ID, "contended", nil)
	forceStatus(t, h.server.Store, c.ID, capture.Running)
	const n = 20
	count := concurrently(n, func(int) int {
		return h.do("alice", "POST", pathf("/api/captures/%d/stop", c.ID), nil).Status
	})
	if count[200] != 1 || count[409] != n-1 {
		t.Fatalf("statuses %v: want one 200 and %d 409s", count, n-1)
	}
}

func TestConcurrentSameNameCreates(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	const n = 20
	count := concurrently(n, func(int) int {
		return h.do("alice", "POST", "/api/captures", map[string]any{"name": "same name", "envId": env.ID}).Status
	})
	if count[200] != 1 || count[400] != n-1 {
		t.Fatalf("statuses %v: want one 200 and %d 400s", count, n-1)
	}
	var list []captureView
	h.must("alice", "GET", pathf("/api/captures?envId=%d", env.ID), nil, &list)
	if len(list) != 1 {
		t.Fatalf("%d captures stored, want 1", len(list))
	}
}

func TestRename(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	a := h.capture("alice", env.ID, "first", nil)
	b := h.capture("alice", env.ID, "second", nil)
	other := h.environment("bob", nil)
	h.capture("bob", other.ID, "third", nil)

	var got captureView
	h.must("alice", "PUT", pathf("/api/captures/%d", a.ID), map[string]any{"name": "third"}, &got)
	if got.Name != "third" {
		t.Fatalf("renamed to %q", got.Name)
	}
	// The old name is free again; names in other environments never counted.
	h.capture("alice", env.ID, "first", nil)
	r := h.do("alice", "PUT", pathf("/api/captures/%d", b.ID), map[string]any{"name": "Third"})
	if r.Status != 400 || r.errorMessage(t) != "Capture with the same name already exists in this environment" {
		t.Fatalf("rename onto a taken name: %d %s", r.Status, r.Body)
	}
	h.must("alice", "PUT", pathf("/api/captures/%d", a.ID), map[string]any{"name": "THIRD"}, &got)
	if got.Name != "THIRD" {
		t.Fatalf("case-only rename gave %q", got.Name)
	}
	for _, tt := range []struct {
		body   any
		status int
		msg    string
	}{
		{map[string]any{}, 400, "Name is required"},
		{map[string]any{"name": "no"}, 400, capture.ErrNameInvalid.Message},
		{`{"name":`, 400, "Request body is not valid JSON"},
	} {
		r := h.do("alice", "PUT", pathf("/api/captures/%d", a.ID), tt.body)
		if r.Status != tt.status || r.errorMessage(t) != tt.msg {
			t.Errorf("rename with %v: %d %s", tt.body, r.Status, r.Body)
		}
	}
	if r := h.do("alice", "PUT", "/api/captures/424242", map[string]any{"name": "ghost"}); r.Status != 404 || r.errorMessage(t) != "Capture not found" {
		t.Errorf("rename unknown: %d %s", r.Status, r.Body)
	}
}

func TestConcurrentRenamesToOneName(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	const n = 10
	ids := make([]int64, n)
	for i := range n {
		ids[i] = h.capture("alice", env.ID, pathf("cap %d", i), nil).ID
	}
	count := concurrently(n, func(i int) int {
		return h.do("alice", "PUT", pathf("/api/captures/%d", ids[i]), map[string]any{"name": "winner"}).Status
	})
	wins := count[200]
	if count[200]+count[400] != n {
		t.Errorf("statuses %v: want only 200s and 400s", count)
	}
	var list []captureView
	h.must("alice", "GET", pathf("/api/captures?envId=%d&name=winner", env.ID), nil, &list)
	if wins != 1 || len(list) != 1 {
		t.Fatalf("%d renames won, %d captures named winner; want 1 and 1", wins, len(list))
	}
}

func TestDeleteCapture(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	c := h.capture("alice", env.ID, "doomed", nil)
	forceStatus(t, h.server.Store, c.ID, capture.Running)
	if r := h.do("alice", "DELETE", pathf("/api/captures/%d?deleteLogs=maybe", c.ID), nil); r.Status != 400 {
		t.Errorf("deleteLogs=maybe: %d", r.Status)
	}
	h.must("alice", "DELETE", pathf("/api/captures/%d?deleteLogs=true", c.ID), nil, nil)
	for _, method := range []string{"GET", "DELETE"} {
		if r := h.do("alice", method, pathf("/api/captures/%d", c.ID), nil); r.Status != 404 || r.errorMessage(t) != "Capture not found" {
			t.Errorf("%s after delete: %d %s", method, r.Status, r.Body)
		}
	}
	if r := h.do("alice", "POST", pathf("/api/captures/%d/stop", c.ID), nil); r.Status != 404 || r.errorMessage(t) != "Capture not found" {
		t.Errorf("stop after delete: %d %s", r.Status, r.Body)
	}
	// Its name is free again.
	h.capture("alice", env.ID, "doomed", nil)
}

func TestCaptureOfDeletedEnvironment(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	c := h.capture("alice", env.ID, "orphan", nil)
	forceStatus(t, h.server.Store, c.ID, capture.Done)
	h.must("alice", "DELETE", pathf("/api/environments/%d", env.ID), nil, nil)
	// Deleting an environment deletes its captures: none is left to be an orphan.
	if r := h.do("alice", "GET", pathf("/api/captures/%d", c.ID), nil); r.Status != 404 {
		t.Fatalf("capture of a deleted environment: %d %s", r.Status, r.Body)
	}
}

// concurrently runs call n times at once and counts the statuses it returns.
func concurrently(n int, call func(i int) int) map[int]int {
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = call(i)
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	return count
}
