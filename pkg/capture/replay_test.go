package capture

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNewReplay(t *testing.T) {
	later := now.Add(time.Hour)
	base := ReplayRequest{Name: "mysql-8.4 candidate", CaptureID: 7, EnvID: 3}
	with := func(f func(*ReplayRequest)) ReplayRequest { r := base; f(&r); return r }
	tests := []struct {
		name string
		req  ReplayRequest
		err  error
		want func(Replay) bool
	}{
		{"defaults", base, nil, func(r Replay) bool {
			return r.Status == Started && r.Speed == 1 && r.Mode == ReplayAll && r.MaxConnections == DefaultMaxConnections &&
				r.OwnerID == "alice" && r.Created.Equal(now) && r.Start == nil
		}},
		{"speed 0", with(func(r *ReplayRequest) { r.Speed = ptr(0.0) }), nil, func(r Replay) bool { return r.Speed == 0 }},
		{"speed max", with(func(r *ReplayRequest) { r.Speed = ptr(float64(MaxSpeed)) }), nil, func(r Replay) bool { return r.Speed == MaxSpeed }},
		{"negative speed", with(func(r *ReplayRequest) { r.Speed = ptr(-0.5) }), ErrSpeedInvalid, nil},
		{"speed too high", with(func(r *ReplayRequest) { r.Speed = ptr(MaxSpeed + 0.1) }), ErrSpeedInvalid, nil},
		{"NaN speed", with(func(r *ReplayRequest) { r.Speed = ptr(math.NaN()) }), ErrSpeedInvalid, nil},
		{"read-only", with(func(r *ReplayRequest) { r.Mode = ReplayReadOnly }), nil, func(r Replay) bool { return r.Mode == ReplayReadOnly }},
		{"unknown mode", with(func(r *ReplayRequest) { r.Mode = "writes" }), ErrModeInvalid, nil},
		{"one connection", with(func(r *ReplayRequest) { r.MaxConnections = ptr(1) }), nil, func(r Replay) bool { return r.MaxConnections == 1 }},
		{"no connections", with(func(r *ReplayRequest) { r.MaxConnections = ptr(0) }), ErrMaxConnectionsInvalid, nil},
		{"too many connections", with(func(r *ReplayRequest) { r.MaxConnections = ptr(MaxMaxConnections + 1) }), ErrMaxConnectionsInvalid, nil},
		{"no name", with(func(r *ReplayRequest) { r.Name = "" }), ErrNameRequired, nil},
		{"bad name", with(func(r *ReplayRequest) { r.Name = "a/b/c/d" }), ErrReplayNameInvalid, nil},
		{"no capture", with(func(r *ReplayRequest) { r.CaptureID = 0 }), ErrCaptureIDRequired, nil},
		{"no target", with(func(r *ReplayRequest) { r.EnvID = -1 }), ErrEnvIDRequired, nil},
		{"scheduled", with(func(r *ReplayRequest) { r.Status = Scheduled; r.ScheduledStart = &later }), nil,
			func(r Replay) bool { return r.Status == Scheduled && r.ScheduledStart.Equal(later) }},
		{"a start is a schedule", with(func(r *ReplayRequest) { r.ScheduledStart = &later }), nil,
			func(r Replay) bool { return r.Status == Scheduled }},
		{"scheduled without start", with(func(r *ReplayRequest) { r.Status = Scheduled }), ErrScheduleWithoutStart, nil},
		{"scheduled in the past", with(func(r *ReplayRequest) { r.ScheduledStart = ptr(now.Add(-time.Second)) }), ErrScheduleInPast, nil},
		{"status RUNNING", with(func(r *ReplayRequest) { r.Status = Running }), ErrStatusInvalid, nil},
		{"bad filters", with(func(r *ReplayRequest) { r.Filters.Users.Include = []string{""} }), ErrFilterNames, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReplay(tt.req, "alice", now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err != nil && KindOf(err) != Invalid {
				t.Errorf("error kind %d, want Invalid", KindOf(err))
			}
			if tt.want != nil && !tt.want(r) {
				t.Errorf("replay %+v", r)
			}
		})
	}
}

func TestReplayable(t *testing.T) {
	done := Capture{Status: Done, Workload: Workload{Bytes: 100}}
	tests := []struct {
		name  string
		c     Capture
		found bool
		want  string
	}{
		{"done", done, true, ""},
		{"missing", Capture{}, false, "Capture 7 does not exist"},
		{"running", Capture{Status: Running}, true, "Capture 7 has not finished"},
		{"cancelled", Capture{Status: Done}, true, "Capture 7 has not finished"},
		{"failed", Capture{Status: Failed, Workload: Workload{Bytes: 100}}, true, "Capture 7 has not finished"},
	}
	for _, tt := range tests {
		err := Replayable(tt.c, 7, tt.found)
		got := ""
		if err != nil {
			got = err.Error()
			if KindOf(err) != Invalid {
				t.Errorf("%s: kind %d", tt.name, KindOf(err))
			}
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A replay moves by the captures' one table: every pair the table allows for a capture it
// allows for a replay, and no other.
func TestReplayMovesByTheTable(t *testing.T) {
	for _, from := range Statuses {
		for _, to := range Statuses {
			r, err := MoveReplay(Replay{ID: 1, Status: from, Attempts: 2}, to, now)
			if ok := err == nil; ok != CanMove(from, to) {
				t.Errorf("MoveReplay(%s, %s): %v", from, to, err)
			}
			if err != nil {
				if !errors.Is(err, ErrBadTransition) {
					t.Errorf("MoveReplay(%s, %s): %v, want ErrBadTransition", from, to, err)
				}
				continue
			}
			if r.Status != to || !r.Updated.Equal(now) || r.Attempts != 0 {
				t.Errorf("MoveReplay(%s, %s) = %+v", from, to, r)
			}
			if !to.Live() && (r.End == nil || !r.End.Equal(now)) {
				t.Errorf("MoveReplay(%s, %s): end %v", from, to, r.End)
			}
		}
	}
}

func TestRunStampsTheEpoch(t *testing.T) {
	epoch := now.Add(3 * time.Second)
	plan := ReplayPlan{Shards: 2, Sessions: 8, Statements: 1000, Captured: 1200, First: now.Add(-time.Hour), Epoch: epoch}
	r, err := Run(Replay{ID: 1, Status: Starting}, plan, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Running || !r.Start.Equal(epoch) || r.Progress.Of != 1000 || r.Plan != plan {
		t.Errorf("run %+v", r)
	}
	if _, err := Run(Replay{ID: 1, Status: Started}, plan, now); !errors.Is(err, ErrBadTransition) {
		t.Errorf("run from STARTED: %v", err)
	}
}

func TestStopReplay(t *testing.T) {
	tests := []struct {
		from Status
		to   Status
		msg  string
	}{
		{Running, Stopping, ""},
		{Scheduled, Done, ""},
		{Started, "", "Cannot stop a replay until it has started completely. Try again soon."},
		{Starting, "", "Cannot stop a replay until it has started completely. Try again soon."},
		{Stopping, "", "This replay has already been stopped"},
		{Done, "", "This replay has already been stopped"},
		{Failed, "", "This replay failed and is no longer running"},
	}
	for _, tt := range tests {
		r, err := StopReplay(Replay{ID: 1, Status: tt.from}, now)
		var e *Error
		switch {
		case tt.msg == "" && err != nil:
			t.Errorf("StopReplay(%s): %v", tt.from, err)
		case tt.msg != "" && (!errors.As(err, &e) || e.Message != tt.msg || e.Kind != Conflict):
			t.Errorf("StopReplay(%s): %v, want %q", tt.from, err, tt.msg)
		case r.Status != tt.to:
			t.Errorf("StopReplay(%s) = %s, want %s", tt.from, r.Status, tt.to)
		}
		if tt.from == Scheduled && (r.Reason != CancelledReason || r.End == nil) {
			t.Errorf("cancelled replay %+v", r)
		}
	}
}

func TestReplayDueAt(t *testing.T) {
	start := now.Add(time.Hour)
	tests := []struct {
		r    Replay
		want time.Time
		ok   bool
	}{
		{Replay{Status: Scheduled, ScheduledStart: &start}, start, true},
		{Replay{Status: Started, Updated: now}, now, true},
		{Replay{Status: Running, Updated: now}, now, true},
		{Replay{Status: Stopping, Updated: now}, now, true},
		{Replay{Status: Done, Updated: now}, time.Time{}, false},
		{Replay{Status: Failed, Updated: now}, time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := tt.r.DueAt()
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("DueAt(%s) = %v, %v; want %v, %v", tt.r.Status, got, ok, tt.want, tt.ok)
		}
	}
}

// The hand-written replay name check is ReplayNamePattern, byte for byte.
func FuzzReplayNameIsTheRule(f *testing.F) {
	rule := regexp.MustCompile(ReplayNamePattern)
	for _, s := range []string{"", "abc", "mysql-8.4 candidate", "a.b", "ünïcode name", strings.Repeat("x", 26)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := nameOK(name, true), rule.MatchString(name); got != want {
			t.Errorf("nameOK(%q, true) = %v, the rule says %v", name, got, want)
		}
	})
}
