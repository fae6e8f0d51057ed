// Package capture holds the domain rules of MyCRT captures and the environments they record:
// statuses and their transitions, validation of names and create requests, and the errors a
// caller can act on. It knows nothing of HTTP or DynamoDB; both depend on it.
package capture

import (
	"strings"
	"time"
)

// Capture is one recording window over an environment's database.
type Capture struct {
	ID             int64
	EnvID          int64
	Name           string
	OwnerID        string
	OwnerName      string // the owner's user name as they created it, for display; "" if not known
	Status         Status
	Start          *time.Time // when recording actually began
	End            *time.Time // when it stopped, or was cancelled
	ScheduledStart *time.Time
	ScheduledEnd   *time.Time
	Reason         string // why it failed or was cancelled; empty otherwise
	Created        time.Time
	Updated        time.Time // last status change; the scheduler measures stuck captures from it
	Attempts       int       // how often the work of the current status was retried
	Workload       Workload
	Metrics        MetricsState
	// Lease is the key of the general log lease the capture holds, or may hold: it is set
	// before the capture takes its hold, so that whatever ends it can let go.
	Lease string
	// Server is the key of the server the capture records (ServerLeaseKey), whose collection
	// (Collector) reads its log; set as recording begins.
	Server  string
	Limits  Limits
	Filters Filters
	// Replays counts the replays ever made of the capture and their renames (deleting one does
	// not lower it), or is UnknownReplays for a capture stored before they were counted. A
	// delete conditional on it cannot miss a replay made, or moved in its listing, since it
	// was read.
	Replays int
}

// UnknownReplays is Capture.Replays of a capture stored before its replays were counted.
const UnknownReplays = -1

// MayHaveReplays reports whether replays of c may exist, which deleting c must delete too.
func (c Capture) MayHaveReplays() bool { return c.Replays != 0 }

// NoEnd is the due time of a running capture whose start is not known: later than any tick,
// so it stays queryable by status without ever falling due.
var NoEnd = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// DueAt is when the scheduler must next look at the capture: its scheduled start while
// scheduled, its scheduled end while running (MaxDuration after its start if it has none), and the time of its last change while
// it is between states, so one that stays there too long can be found and retried. A done
// capture is due while its metrics are to be read again; other ended captures never are.
func (c Capture) DueAt() (time.Time, bool) {
	switch c.Status {
	case Scheduled:
		if c.ScheduledStart == nil {
			return time.Time{}, false
		}
		return *c.ScheduledStart, true
	case Running:
		switch {
		case c.ScheduledEnd != nil:
			return *c.ScheduledEnd, true
		case c.Start != nil:
			return c.Start.Add(MaxDuration), true
		}
		return NoEnd, true
	case Done:
		return c.metricsDue()
	}
	if c.Status.Transitional() {
		return c.Updated, true
	}
	return time.Time{}, false
}

// ListedAt is the time lists order captures by, newest first: when it began recording; for one
// still to begin, when it is scheduled to; for one that ended without beginning (cancelled,
// failed first), when it ended. So upcoming captures come first, in their order, then the
// rest by their start, and a cancelled plan sits where it was cancelled, not where it was
// planned.
func (c Capture) ListedAt() time.Time {
	switch {
	case c.Start != nil:
		return *c.Start
	case c.ScheduledStart != nil && c.Status.Live():
		return *c.ScheduledStart
	case c.End != nil:
		return *c.End
	case c.ScheduledStart != nil:
		return *c.ScheduledStart
	}
	return c.Created
}

// The shortest and longest capture windows the product accepts. The upper bound keeps a
// forgotten capture from filling the database's general log for months.
const (
	MinDuration = 60 * time.Second
	MaxDuration = 31 * 24 * time.Hour
)

// The original product's rule for capture names, as a regular expression and in words (which
// ErrNameInvalid says): openapi.yaml's CaptureName pattern and description, from which the
// console's validation is generated, are checked against them.
const (
	NamePattern = `^[A-Za-z0-9 :_-]{4,25}$`
	NameRule    = "4 to 25 characters of letters, digits, spaces, ':', '_' or '-'"
)

// validName is NamePattern checked by hand: a regexp compiled at package init costs every
// function's cold start (FuzzValidNameIsTheRule holds the two together).
func validName(name string) bool { return nameOK(name, false) }

// nameOK checks the capture naming rule, with '.' allowed too if dot (the replays' rule).
func nameOK(name string, dot bool) bool {
	if len(name) < 4 || len(name) > 25 {
		return false
	}
	for _, c := range []byte(name) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == ' ' || c == ':' || c == '_' || c == '-' || dot && c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// ValidateName checks a capture name against the product's naming rule.
func ValidateName(name string) error {
	if name == "" {
		return ErrNameRequired
	}
	if !validName(name) {
		return ErrNameInvalid
	}
	return nil
}

// NameKey is the form in which names must be unique within an environment. MySQL, where the
// original product kept its captures, compares names without regard to case, so "Nightly" and
// "nightly" are the same name here too.
func NameKey(name string) string { return strings.ToLower(name) }

// RequestStatuses are the statuses a create request may ask for: SCHEDULED (with a start), or
// STARTED or STARTING, which both mean "start now" (openapi.yaml's CreateCapture status enum is
// checked against it).
var RequestStatuses = []Status{Scheduled, Started, Starting}

// Request is what a caller asks for when creating a capture, already decoded.
type Request struct {
	Name           string
	EnvID          int64
	Status         Status // empty means "start now"
	ScheduledStart *time.Time
	Duration       *float64 // seconds, as the API takes it
	Limits         Limits
	Filters        Filters
}

// New validates a create request and returns the capture to store (without its ID).
// A request with no status but a scheduled start is a schedule: that is what a caller who
// sends a start time means, and starting it now would silently ignore the time they gave.
func New(req Request, owner string, now time.Time) (Capture, error) {
	if err := ValidateName(req.Name); err != nil {
		return Capture{}, err
	}
	if req.EnvID <= 0 {
		return Capture{}, ErrEnvIDRequired
	}
	if err := req.Limits.Validate(); err != nil {
		return Capture{}, err
	}
	if err := req.Filters.Validate(); err != nil {
		return Capture{}, err
	}
	var duration *time.Duration
	if req.Duration != nil {
		secs := *req.Duration
		// Compared in seconds before converting, so a huge value cannot overflow a Duration.
		switch {
		case !(secs >= MinDuration.Seconds()):
			return Capture{}, ErrDurationTooShort
		case secs > MaxDuration.Seconds():
			return Capture{}, ErrDurationTooLong
		}
		d := time.Duration(secs * float64(time.Second))
		duration = &d
	}
	now = now.UTC()
	c := Capture{
		EnvID:   req.EnvID,
		Name:    req.Name,
		OwnerID: owner,
		Created: now,
		Updated: now,
		Limits:  req.Limits,
		Filters: req.Filters,
	}
	status := req.Status
	if status == "" && req.ScheduledStart != nil {
		status = Scheduled
	}
	switch status {
	case "", Started, Starting: // RequestStatuses
		c.Status = Started
		c.Start = &now
		if duration != nil {
			end := now.Add(*duration)
			c.ScheduledEnd = &end
		}
	case Scheduled:
		if req.ScheduledStart == nil {
			return Capture{}, ErrScheduleWithoutStart
		}
		start := req.ScheduledStart.UTC()
		if !start.After(now) {
			return Capture{}, ErrScheduleInPast
		}
		c.Status = Scheduled
		c.ScheduledStart = &start
		if duration != nil {
			end := start.Add(*duration)
			c.ScheduledEnd = &end
		}
	default:
		return Capture{}, ErrStatusInvalid
	}
	return c, nil
}
