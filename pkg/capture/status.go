package capture

import (
	"fmt"
	"time"
)

// Status is where a capture is in its life.
type Status string

// The original product's states. A capture moves forward only:
// SCHEDULED → STARTED → STARTING → RUNNING → STOPPING → DONE, any live state may end in FAILED,
// and a scheduled capture that is stopped before it starts is DONE at once.
const (
	Scheduled Status = "SCHEDULED"
	Started   Status = "STARTED"
	Starting  Status = "STARTING"
	Running   Status = "RUNNING"
	Stopping  Status = "STOPPING"
	Done      Status = "DONE"
	Failed    Status = "FAILED"
)

// transitions is the single table of allowed status changes.
var transitions = map[Status][]Status{
	Scheduled: {Started, Done, Failed},
	Started:   {Starting, Failed},
	Starting:  {Running, Failed},
	Running:   {Stopping, Failed},
	Stopping:  {Done, Failed},
}

// Statuses lists every status in lifecycle order: openapi.yaml's Status enum, which the
// console's types and the CLI's client are generated from, is checked against it.
var Statuses = []Status{Scheduled, Started, Starting, Running, Stopping, Done, Failed}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// The status predicates, each the one name of its concept in Go, the OpenAPI document, the
// console and the CLI:
//
//	status     Live  MayRecord  Transitional
//	SCHEDULED  yes
//	STARTED    yes   yes        yes
//	STARTING   yes   yes        yes
//	RUNNING    yes   yes
//	STOPPING   yes   yes        yes
//	DONE
//	FAILED
//
// A capture that is not live has ended: its status never changes again and nothing more is
// recorded for it (the API's digest is then complete).

// Live reports whether a capture in status s has yet to end: every status the transition
// table lets a capture leave, that is all but DONE and FAILED. openapi.yaml lists them as
// the Status schema's x-live, which the console reads.
func (s Status) Live() bool { return len(transitions[s]) > 0 }

// CanMove reports whether the transition table allows from → to.
func CanMove(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Move returns c moved to status to at time now, or an error if the table forbids it.
// Callers persist the result with a write conditional on c.Status, so that of two concurrent
// moves from the same state only one lands.
func Move(c Capture, to Status, now time.Time) (Capture, error) {
	l := life{c.Status, c.Start, c.End, c.Updated, c.Attempts}
	if err := l.move(to, now); err != nil {
		return Capture{}, fmt.Errorf("capture %d: %w", c.ID, err)
	}
	c.Status, c.Start, c.End, c.Updated, c.Attempts = l.status, l.start, l.end, l.updated, l.attempts
	return c, nil
}

// life is what the transition table governs of a capture or a replay: one table, one set of
// stamps, for both.
type life struct {
	status     Status
	start, end *time.Time
	updated    time.Time
	attempts   int
}

// move moves l to status to at now: the work of the new status has had no attempts yet, a
// move to RUNNING stamps the start, a move that ends it stamps the end.
func (l *life) move(to Status, now time.Time) error {
	if !CanMove(l.status, to) {
		return fmt.Errorf("%s → %s: %w", l.status, to, ErrBadTransition)
	}
	now = now.UTC()
	l.status = to
	l.updated = now
	l.attempts = 0
	switch {
	case to == Running:
		l.start = &now
	case !to.Live():
		l.end = &now
	}
	return nil
}

// Fail returns c failed for reason at time now.
func Fail(c Capture, reason string, now time.Time) (Capture, error) {
	c, err := Move(c, Failed, now)
	c.Reason = reason
	return c, err
}

// MaxAttempts is how often the work of a Transitional status is tried before the capture is
// failed: a worker that crashed or timed out gets retried, but a capture never stays stuck.
const MaxAttempts = 3

// MayRecord reports whether a capture in status s may have the database's recording on, or be
// about to turn it on: from STARTED, which its worker may be starting right now, until the
// stop has turned it off (STOPPING). Whatever ends such a capture otherwise (a delete, a
// stuck capture failed) must release its hold on the general log.
func (s Status) MayRecord() bool {
	return s == Started || s == Starting || s == Running || s == Stopping
}

// Transitional reports whether s is a status that a worker is expected to move on by itself
// (STARTED, STARTING, STOPPING): a capture that stays in one is retried, MaxAttempts times.
func (s Status) Transitional() bool { return s == Started || s == Starting || s == Stopping }

// StuckReason is the reason a capture fails with when its worker never finished.
func StuckReason(s Status) string {
	return fmt.Sprintf("Gave up after %d attempts: the capture stayed %s (the worker did not finish)", MaxAttempts, s)
}

// MaxDurationReason is the reason recorded on a capture without a duration that ran for
// MaxDuration and was stopped.
const MaxDurationReason = "Stopped after 31 days, the longest a capture may record"

// DueStop returns c, running and due, as the scheduler stops it: stopping, and if it had no
// scheduled end, with MaxDurationReason.
func DueStop(c Capture, now time.Time) (Capture, error) {
	if c.ScheduledEnd == nil {
		return stopBecause(c, MaxDurationReason, now)
	}
	return Move(c, Stopping, now)
}

// stopBecause returns c stopping by itself at time now, for reason.
func stopBecause(c Capture, reason string, now time.Time) (Capture, error) {
	next, err := Move(c, Stopping, now)
	next.Reason = reason
	return next, err
}

// CancelledReason is the reason recorded on a scheduled capture stopped before it began.
const CancelledReason = "Cancelled before it started"

// Stop returns c as a stop request leaves it: a running capture starts stopping, a scheduled
// one is cancelled outright. Any other status is a conflict the caller can act on.
func Stop(c Capture, now time.Time) (Capture, error) {
	to, err := stopTo(c.Status, captureStops)
	if err != nil {
		return Capture{}, fmt.Errorf("capture %d: %w", c.ID, err)
	}
	next, err := Move(c, to, now)
	if to == Done {
		next.Reason = CancelledReason
	}
	return next, err
}

// stopErrors are the conflicts a stop request answers, worded for a capture or a replay.
type stopErrors struct{ notStarted, stopped, failed *Error }

var captureStops = stopErrors{ErrNotStartedYet, ErrAlreadyStopped, ErrCaptureFailed}

// stopTo is where a stop request takes status s: RUNNING starts stopping, SCHEDULED is
// cancelled (DONE); any other status is the conflict errs words.
func stopTo(s Status, errs stopErrors) (Status, error) {
	switch s {
	case Running:
		return Stopping, nil
	case Scheduled:
		return Done, nil
	case Started, Starting:
		return "", errs.notStarted
	case Stopping, Done:
		return "", errs.stopped
	case Failed:
		return "", errs.failed
	}
	return "", fmt.Errorf("unknown status %q: %w", s, ErrBadTransition)
}
