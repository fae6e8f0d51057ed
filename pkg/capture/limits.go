package capture

import (
	"fmt"
	"slices"
	"time"
)

// Limits bound what a capture holds: exactly its first MaxStatements statements, and at most
// MaxBytes bytes of compressed workload (at least MinMaxBytes). A collection cuts a capture's
// share at its limit, taking no row after it, and the capture then stops by itself. Zero means
// no limit.
type Limits struct {
	MaxStatements int64
	MaxBytes      int64
}

// NameFilter keeps the names in Include (every name when it is empty) that are not in Exclude.
type NameFilter struct {
	Include []string
	Exclude []string
}

// Keeps reports whether name passes the filter.
func (f NameFilter) Keeps(name string) bool {
	if len(f.Include) > 0 && !slices.Contains(f.Include, name) {
		return false
	}
	return !slices.Contains(f.Exclude, name)
}

func (f NameFilter) zero() bool { return len(f.Include) == 0 && len(f.Exclude) == 0 }

// Filters say whose statements a capture records: a workload row is kept only if its session's
// account passes Users and its session's database passes Databases.
type Filters struct {
	Users     NameFilter
	Databases NameFilter
}

// IsZero reports whether the filters keep everything.
func (f Filters) IsZero() bool { return f.Users.zero() && f.Databases.zero() }

// Keeps reports whether a row of a session of user in database db is recorded.
func (f Filters) Keeps(user, db string) bool { return f.Users.Keeps(user) && f.Databases.Keeps(db) }

// MinMaxBytes is the smallest maxBytes: room for a workload file's gzip framing and a few rows,
// so that even a capture that records nothing stays within it.
const MinMaxBytes = 1024

// Bounds of limits and filters.
const (
	maxFilterNames = 100
	maxNameLength  = 128
)

// Errors of limits and filters.
var (
	ErrMaxStatements = newError(Invalid, "maxStatements must be a positive integer")
	ErrMaxBytes      = newError(Invalid, fmt.Sprintf("maxBytes must be an integer of at least %d", MinMaxBytes))
	ErrFilterNames   = newError(Invalid, fmt.Sprintf("filters: each include and exclude list holds at most %d names of 1 to %d characters", maxFilterNames, maxNameLength))
	ErrNotScheduled  = newError(Conflict, "Limits and filters can be changed only while the capture is scheduled")
)

// Validate checks limits before they are stored.
func (l Limits) Validate() error {
	switch {
	case l.MaxStatements < 0:
		return ErrMaxStatements
	case l.MaxBytes < 0, l.MaxBytes > 0 && l.MaxBytes < MinMaxBytes:
		return ErrMaxBytes
	}
	return nil
}

// Validate checks filters before they are stored.
func (f Filters) Validate() error {
	for _, list := range [][]string{f.Users.Include, f.Users.Exclude, f.Databases.Include, f.Databases.Exclude} {
		if len(list) > maxFilterNames {
			return ErrFilterNames
		}
		for _, n := range list {
			if n == "" || len(n) > maxNameLength {
				return ErrFilterNames
			}
		}
	}
	return nil
}

// LimitReached says whether c's workload so far has reached one of its limits (it holds
// MaxStatements statements, or a row did not fit in MaxBytes), and the reason its stop records.
func (c Capture) LimitReached() (reason string, reached bool) {
	switch {
	case c.Limits.MaxStatements > 0 && c.Workload.Statements >= c.Limits.MaxStatements:
		return fmt.Sprintf("Stopped at its limit of %d statements (maxStatements)", c.Limits.MaxStatements), true
	case c.Limits.MaxBytes > 0 && (c.Workload.Cut || c.Workload.Collected >= c.Limits.MaxBytes):
		return fmt.Sprintf("Stopped at its limit of %d bytes (maxBytes)", c.Limits.MaxBytes), true
	}
	return "", false
}

// LimitStop returns c, running and at a limit, as it stops by itself: stopping, with the
// reason LimitReached gives.
func LimitStop(c Capture, now time.Time) (Capture, error) {
	reason, ok := c.LimitReached()
	if !ok {
		return Capture{}, fmt.Errorf("capture %d has reached no limit: %w", c.ID, ErrBadTransition)
	}
	return stopBecause(c, reason, now)
}
