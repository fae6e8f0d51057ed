package capture

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		want error
	}{
		{"abcd", nil},
		{"My capture: 2018_05-19", nil},
		{strings.Repeat("a", 25), nil},
		{"", ErrNameRequired},
		{"abc", ErrNameInvalid},
		{strings.Repeat("a", 26), ErrNameInvalid},
		{"semi;colon", ErrNameInvalid},
		{"slash/name", ErrNameInvalid},
		{"ünïcödé", ErrNameInvalid},
		{"tab\tname", ErrNameInvalid},
	}
	for _, tt := range tests {
		if got := ValidateName(tt.name); !errors.Is(got, tt.want) {
			t.Errorf("ValidateName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	later := now.Add(time.Hour)
	tests := []struct {
		name      string
		req       Request
		want      error
		status    Status
		start     *time.Time
		schedEnd  *time.Time
		schedFrom *time.Time
	}{
		{"start now", Request{Name: "abcd", EnvID: 1}, nil, Started, &now, nil, nil},
		{"STARTING starts now", Request{Name: "abcd", EnvID: 1, Status: Starting}, nil, Started, &now, nil, nil},
		{"with duration", Request{Name: "abcd", EnvID: 1, Duration: ptr(120.0)}, nil, Started, &now, ptr(now.Add(2 * time.Minute)), nil},
		{"scheduled", Request{Name: "abcd", EnvID: 1, Status: Scheduled, ScheduledStart: &later, Duration: ptr(60.0)}, nil, Scheduled, nil, ptr(later.Add(time.Minute)), &later},
		{"start time implies schedule", Request{Name: "abcd", EnvID: 1, ScheduledStart: &later}, nil, Scheduled, nil, nil, &later},
		{"scheduled without start", Request{Name: "abcd", EnvID: 1, Status: Scheduled}, ErrScheduleWithoutStart, "", nil, nil, nil},
		{"scheduled now", Request{Name: "abcd", EnvID: 1, Status: Scheduled, ScheduledStart: &now}, ErrScheduleInPast, "", nil, nil, nil},
		{"duration 59.9", Request{Name: "abcd", EnvID: 1, Duration: ptr(59.9)}, ErrDurationTooShort, "", nil, nil, nil},
		{"duration NaN-like negative", Request{Name: "abcd", EnvID: 1, Duration: ptr(-1.0)}, ErrDurationTooShort, "", nil, nil, nil},
		{"duration too long", Request{Name: "abcd", EnvID: 1, Duration: ptr(1e12)}, ErrDurationTooLong, "", nil, nil, nil},
		{"running is not creatable", Request{Name: "abcd", EnvID: 1, Status: Running}, ErrStatusInvalid, "", nil, nil, nil},
		{"no env", Request{Name: "abcd"}, ErrEnvIDRequired, "", nil, nil, nil},
		{"bad name", Request{Name: "ab", EnvID: 1}, ErrNameInvalid, "", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.req, "alice", now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if c.Status != tt.status || !eqTime(c.Start, tt.start) || !eqTime(c.ScheduledEnd, tt.schedEnd) || !eqTime(c.ScheduledStart, tt.schedFrom) {
				t.Errorf("got %+v", c)
			}
			if c.OwnerID != "alice" || c.End != nil {
				t.Errorf("owner %q end %v", c.OwnerID, c.End)
			}
		})
	}
}

func eqTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func TestTransitionTable(t *testing.T) {
	allowed := map[[2]Status]bool{
		{Scheduled, Started}: true, {Scheduled, Done}: true, {Scheduled, Failed}: true,
		{Started, Starting}: true, {Started, Failed}: true,
		{Starting, Running}: true, {Starting, Failed}: true,
		{Running, Stopping}: true, {Running, Failed}: true,
		{Stopping, Done}: true, {Stopping, Failed}: true,
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			if got := CanMove(from, to); got != allowed[[2]Status{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
	}
	for _, s := range []Status{Done, Failed} {
		if s.Live() {
			t.Errorf("%s is live", s)
		}
	}
	if Status("PAUSED").Valid() {
		t.Error("PAUSED is valid")
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		from Status
		to   Status
		err  error
	}{
		{Running, Stopping, nil},
		{Scheduled, Done, nil},
		{Started, "", ErrNotStartedYet},
		{Starting, "", ErrNotStartedYet},
		{Stopping, "", ErrAlreadyStopped},
		{Done, "", ErrAlreadyStopped},
		{Failed, "", ErrCaptureFailed},
	}
	for _, tt := range tests {
		c, err := Stop(Capture{ID: 1, Status: tt.from}, now)
		if !errors.Is(err, tt.err) || c.Status != tt.to {
			t.Errorf("Stop(%s) = %s, %v; want %s, %v", tt.from, c.Status, err, tt.to, tt.err)
		}
		if tt.from == Scheduled && (c.Reason != CancelledReason || c.End == nil || !c.End.Equal(now)) {
			t.Errorf("cancelled capture %+v", c)
		}
		if KindOf(err) != 0 && KindOf(err) != Conflict {
			t.Errorf("Stop(%s) error kind %d, want Conflict", tt.from, KindOf(err))
		}
	}
}

func TestDueAt(t *testing.T) {
	start, end := now.Add(time.Hour), now.Add(2*time.Hour)
	tests := []struct {
		c    Capture
		want time.Time
		ok   bool
	}{
		{Capture{Status: Scheduled, ScheduledStart: &start}, start, true},
		{Capture{Status: Running, ScheduledEnd: &end}, end, true},
		{Capture{Status: Running}, NoEnd, true},
		{Capture{Status: Running, Start: &start}, start.Add(MaxDuration), true}, // no duration: 31 days
		{Capture{Status: Starting, Updated: now}, now, true},
		{Capture{Status: Done, Updated: now}, time.Time{}, false},
		{Capture{Status: Failed, Updated: now}, time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := tt.c.DueAt()
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("DueAt(%s) = %v, %v; want %v, %v", tt.c.Status, got, ok, tt.want, tt.ok)
		}
	}
}

// The hand-written name check is the product's regexp, byte for byte.
func FuzzValidNameIsTheRule(f *testing.F) {
	rule := regexp.MustCompile(NamePattern)
	for _, s := range []string{"", "abc", "abcd", "nightly run: 1_a-b", "ünïcode name", "a\x00bcd", strings.Repeat("x", 25), strings.Repeat("x", 26)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := validName(name), rule.MatchString(name); got != want {
			t.Errorf("validName(%q) = %v, the rule says %v", name, got, want)
		}
	})
}

// The predicates' table, as status.go documents it: each status's row, so that a change to one
// predicate shows up here rather than in a caller.
func TestStatusPredicates(t *testing.T) {
	tests := []struct {
		s                             Status
		live, mayRecord, transitional bool
	}{
		{Scheduled, true, false, false},
		{Started, true, true, true},
		{Starting, true, true, true},
		{Running, true, true, false},
		{Stopping, true, true, true},
		{Done, false, false, false},
		{Failed, false, false, false},
		{"PAUSED", false, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.s), func(t *testing.T) {
			if got := tt.s.Live(); got != tt.live {
				t.Errorf("Live = %v", got)
			}
			if got := tt.s.MayRecord(); got != tt.mayRecord {
				t.Errorf("MayRecord = %v", got)
			}
			if got := tt.s.Transitional(); got != tt.transitional {
				t.Errorf("Transitional = %v", got)
			}
		})
	}
}

// RequestStatuses are exactly the statuses New takes, and those ErrStatusInvalid names.
func TestRequestStatuses(t *testing.T) {
	for _, s := range RequestStatuses {
		if !strings.Contains(ErrStatusInvalid.Error(), "'"+string(s)+"'") {
			t.Errorf("ErrStatusInvalid (%q) does not name %s", ErrStatusInvalid, s)
		}
	}
	for _, s := range Statuses {
		t.Run(string(s), func(t *testing.T) {
			req := Request{Name: "nightly", EnvID: 1, Status: s, ScheduledStart: ptr(now.Add(time.Hour))}
			_, err := New(req, "alice", now)
			if want := slices.Contains(RequestStatuses, s); (err == nil) != want {
				t.Errorf("New with status %s: %v; RequestStatuses has it: %v", s, err, want)
			}
		})
	}
}
