package capture

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Replay runs a finished capture's workload against another environment's database, the
// target, and records what each statement did there. It moves through the captures' statuses
// and transition table (status.go): SCHEDULED → STARTED → STARTING → RUNNING → STOPPING →
// DONE, any live state may end FAILED.
type Replay struct {
	ID             int64
	CaptureID      int64
	EnvID          int64 // the target environment
	Name           string
	OwnerID        string
	OwnerName      string
	Status         Status
	Start          *time.Time // when its statements began: the plan's epoch
	End            *time.Time
	ScheduledStart *time.Time
	Reason         string
	Created        time.Time
	Updated        time.Time
	Attempts       int
	Speed          float64    // 1 = captured timing, 2 = twice as fast, 0 = as fast as each session allows
	Mode           ReplayMode // which statements are sent
	MaxConnections int        // the most connections the replay holds on the target at once
	Filters        Filters    // the capture's filters, applied again: which sessions are replayed
	Progress       ReplayProgress
	Plan           ReplayPlan
	// Server is the key of the target's server the replay holds while it may run (one replay
	// per target server), set before it takes the hold, so that whatever ends it can let go.
	Server string
	// CaptureEnvID is the capture's environment, whose members may read the replay too.
	CaptureEnvID int64
	// Target is the target's address (TargetKey) as it was when the replay was made: while the
	// replay may run (MayRun) it counts among the address's live replays, which the API checks
	// at create, before any worker could prove which server the address reaches.
	Target string
}

// TargetKey is the form in which a target's address is compared: host (case folded) and port.
func TargetKey(env Environment) string {
	return strings.ToLower(env.Host) + ":" + strconv.Itoa(env.Port)
}

// MayRun reports whether a replay in status s may be running on its target or about to: from
// STARTED until its shards have ended (STOPPING). Whatever ends it lets go of its target.
func (s Status) MayRun() bool { return s.MayRecord() }

// ReplayMode says which statements a replay sends.
type ReplayMode string

// The replay modes.
const (
	ReplayAll      ReplayMode = "all"       // every statement
	ReplayReadOnly ReplayMode = "read-only" // only statements that cannot write, on read-only sessions
)

// ReplayModes lists the modes: openapi.yaml's ReplayMode enum is checked against it.
var ReplayModes = []ReplayMode{ReplayAll, ReplayReadOnly}

// ReplayProgress counts a replay's statements: done (sent or skipped) of the total, and errors.
type ReplayProgress struct {
	Statements int64
	Of         int64
	Errors     int64
}

// ReplayPlan is a replay's prepared workload: its sessions grouped into shards that run in
// parallel on one clock.
type ReplayPlan struct {
	Shards     int       // how many shards; 0 until prepared
	Sessions   int       // sessions replayed
	Statements int64     // statements replayed (after filters), what Progress.Of counts
	Captured   int64     // statements the capture recorded
	First      time.Time // the capture's first statement: offset 0 of the schedule
	Epoch      time.Time // when offset 0 runs on the target: the shards' shared start
}

// The replays' naming rule: the captures' rule with '.' too, so that a replay can be named
// after the version it tries ("mysql-8.4 candidate", as the contract's example is).
// openapi.yaml's ReplayName pattern is checked against it.
const (
	ReplayNamePattern = `^[A-Za-z0-9 .:_-]{4,25}$`
	ReplayNameRule    = "4 to 25 characters of letters, digits, spaces, '.', ':', '_' or '-'"
)

// Bounds of a replay's speed and connections.
const (
	// MaxSpeed is the fastest replay faster than as-fast-as-possible (0) means anything:
	// beyond it the schedule's gaps are below what a shard can keep.
	MaxSpeed = 1000
	// DefaultMaxConnections is the connections a replay may hold on its target when the
	// request names none: below the smallest RDS class's max_connections.
	DefaultMaxConnections = 200
	// MaxMaxConnections bounds maxConnections: a DBA who needs more than this splits the
	// workload (filters) across replays.
	MaxMaxConnections = 10000
)

// Errors of replays, with the contract's messages where it has them.
var (
	ErrReplayNotFound        = newError(NotFound, "Replay not found")
	ErrReplayNameTaken       = newError(Invalid, "Replay with the same name already exists for this capture")
	ErrReplayNameInvalid     = newError(Invalid, "Name must be "+ReplayNameRule)
	ErrSameServer            = newError(Invalid, "Cannot replay into the server the capture recorded")
	ErrTargetBusy            = newError(Invalid, "There is already at least 1 replay running on that database. Either specify a different db, or wait for that replay to complete.")
	ErrCaptureIDRequired     = newError(Invalid, "captureId must be a positive integer")
	ErrSpeedInvalid          = newError(Invalid, fmt.Sprintf("speed must be a number from 0 to %d (0: as fast as each session allows)", MaxSpeed))
	ErrModeInvalid           = newError(Invalid, "mode must be 'all' or 'read-only'")
	ErrMaxConnectionsInvalid = newError(Invalid, fmt.Sprintf("maxConnections must be an integer from 1 to %d", MaxMaxConnections))
	ErrNotReplayOwner        = newError(Forbidden, "Only the replay's owner or an admin of its target environment can change it")

	ErrReplayNotStartedYet  = newError(Conflict, "Cannot stop a replay until it has started completely. Try again soon.")
	ErrReplayAlreadyStopped = newError(Conflict, "This replay has already been stopped")
	ErrReplayFailed         = newError(Conflict, "This replay failed and is no longer running")
)

// CaptureMissing is the error of a replay request naming capture id, which is not there or not
// the caller's to read: 400 on create, 404 when it filters a list (kind).
func CaptureMissing(id int64, kind Kind) error {
	return &Error{Kind: kind, Message: fmt.Sprintf("Capture %d does not exist", id)}
}

// CaptureUnfinished is the error of a replay of capture id, which is not DONE.
func CaptureUnfinished(id int64) error {
	return &Error{Kind: Invalid, Message: fmt.Sprintf("Capture %d has not finished", id)}
}

// ValidateReplayName checks a replay name against the replays' naming rule.
func ValidateReplayName(name string) error {
	if name == "" {
		return ErrNameRequired
	}
	if !nameOK(name, true) {
		return ErrReplayNameInvalid
	}
	return nil
}

// ReplayRequest is what a caller asks for when creating a replay, already decoded.
type ReplayRequest struct {
	Name           string
	CaptureID      int64
	EnvID          int64  // the target
	Status         Status // empty means "start now"; as a capture's (RequestStatuses)
	ScheduledStart *time.Time
	Speed          *float64 // nil: 1
	Mode           ReplayMode
	MaxConnections *int // nil: DefaultMaxConnections
	Filters        Filters
}

// NewReplay validates a create request and returns the replay to store (without its ID):
// STARTED, or SCHEDULED (a request with a start and no status is a schedule, as a capture's).
// Whether the capture may be replayed into the target is the caller's to check (Replayable).
func NewReplay(req ReplayRequest, owner string, now time.Time) (Replay, error) {
	if err := ValidateReplayName(req.Name); err != nil {
		return Replay{}, err
	}
	switch {
	case req.CaptureID <= 0:
		return Replay{}, ErrCaptureIDRequired
	case req.EnvID <= 0:
		return Replay{}, ErrEnvIDRequired
	}
	speed := 1.0
	if req.Speed != nil {
		speed = *req.Speed
		if !(speed >= 0 && speed <= MaxSpeed) { // NaN too
			return Replay{}, ErrSpeedInvalid
		}
	}
	mode := req.Mode
	switch mode {
	case "":
		mode = ReplayAll
	case ReplayAll, ReplayReadOnly:
	default:
		return Replay{}, ErrModeInvalid
	}
	conns := DefaultMaxConnections
	if req.MaxConnections != nil {
		conns = *req.MaxConnections
		if conns < 1 || conns > MaxMaxConnections {
			return Replay{}, ErrMaxConnectionsInvalid
		}
	}
	if err := req.Filters.Validate(); err != nil {
		return Replay{}, err
	}
	now = now.UTC()
	r := Replay{
		CaptureID: req.CaptureID, EnvID: req.EnvID, Name: req.Name, OwnerID: owner,
		Created: now, Updated: now, Speed: speed, Mode: mode, MaxConnections: conns, Filters: req.Filters,
	}
	status := req.Status
	if status == "" && req.ScheduledStart != nil {
		status = Scheduled
	}
	switch status {
	case "", Started, Starting:
		r.Status = Started
	case Scheduled:
		if req.ScheduledStart == nil {
			return Replay{}, ErrScheduleWithoutStart
		}
		start := req.ScheduledStart.UTC()
		if !start.After(now) {
			return Replay{}, ErrScheduleInPast
		}
		r.Status = Scheduled
		r.ScheduledStart = &start
	default:
		return Replay{}, ErrStatusInvalid
	}
	return r, nil
}

// Replayable checks that capture c may be replayed: it exists (the caller read it, or not:
// found) and it is DONE, so its workload is complete.
func Replayable(c Capture, id int64, found bool) error {
	switch {
	case !found:
		return CaptureMissing(id, Invalid)
	case c.Status != Done:
		return CaptureUnfinished(id)
	case !c.Workload.Recorded():
		// DONE without a workload: cancelled before it started.
		return CaptureUnfinished(id)
	}
	return nil
}

// CanChangeReplay reports whether member m of r's target environment (m.UserID the caller,
// m.IsAdmin false if the caller is not a member) may edit, stop or delete r: its owner or an
// admin of its target.
func CanChangeReplay(r Replay, m Member) bool { return m.IsAdmin || r.OwnerID == m.UserID }

func (r Replay) life() life { return life{r.Status, r.Start, r.End, r.Updated, r.Attempts} }

func (r Replay) with(l life) Replay {
	r.Status, r.Start, r.End, r.Updated, r.Attempts = l.status, l.start, l.end, l.updated, l.attempts
	return r
}

// MoveReplay returns r moved to status to at now, by the captures' transition table (Move).
// Callers persist it with a write conditional on r.Status. A move to RUNNING stamps Start now;
// Run stamps it with the plan's epoch instead.
func MoveReplay(r Replay, to Status, now time.Time) (Replay, error) {
	l := r.life()
	if err := l.move(to, now); err != nil {
		return Replay{}, fmt.Errorf("replay %d: %w", r.ID, err)
	}
	return r.with(l), nil
}

// FailReplay returns r failed for reason at now.
func FailReplay(r Replay, reason string, now time.Time) (Replay, error) {
	r, err := MoveReplay(r, Failed, now)
	r.Reason = reason
	return r, err
}

// Run returns r, STARTING, as it begins to run plan: RUNNING, its start the plan's epoch, its
// progress counting the plan's statements.
func Run(r Replay, plan ReplayPlan, now time.Time) (Replay, error) {
	r, err := MoveReplay(r, Running, now)
	if err != nil {
		return Replay{}, err
	}
	epoch := plan.Epoch.UTC()
	r.Plan = plan
	r.Start = &epoch
	r.Progress = ReplayProgress{Of: plan.Statements}
	return r, nil
}

var replayStops = stopErrors{ErrReplayNotStartedYet, ErrReplayAlreadyStopped, ErrReplayFailed}

// StopReplay returns r as a stop request leaves it, as Stop does a capture's: a running replay
// starts stopping (its shards see it within a second), a scheduled one is cancelled (DONE).
func StopReplay(r Replay, now time.Time) (Replay, error) {
	to, err := stopTo(r.Status, replayStops)
	if err != nil {
		return Replay{}, fmt.Errorf("replay %d: %w", r.ID, err)
	}
	next, err := MoveReplay(r, to, now)
	if to == Done {
		next.Reason = CancelledReason
	}
	return next, err
}

// HeartbeatLimit is how long a running shard may go without a heartbeat before the scheduler
// runs it again from its last checkpoint (or, after MaxAttempts, fails the replay).
const HeartbeatLimit = time.Minute

// Reasons a replay ends with.
const (
	ReplayTargetGoneReason  = "The target environment was deleted"
	ReplayCaptureGoneReason = "The capture was deleted"
	// NothingToReplayReason is why a replay ends DONE having sent nothing: its filters keep
	// none of the capture's sessions.
	NothingToReplayReason = "Nothing to replay: the filters keep none of the capture's statements"
	// ReplayTargetMovedReason: the target environment now reaches another server than the
	// one proven apart from the capture's and held when the replay started.
	ReplayTargetMovedReason = "The target environment no longer reaches the server the replay started on"
	// ReplayTargetFailPrefix starts the reason of a replay whose target could not be reached;
	// what follows names the target's address and user, for its members only.
	ReplayTargetFailPrefix = "Could not connect to the target: "
)

// ReplayStuckReason is the reason a replay fails with when its worker never finished status s.
func ReplayStuckReason(s Status) string {
	return fmt.Sprintf("Gave up after %d attempts: the replay stayed %s (the worker did not finish)", MaxAttempts, s)
}

// ShardLostReason is the reason a replay fails with when shard n stopped answering (no
// heartbeat for HeartbeatLimit) MaxAttempts times.
func ShardLostReason(n int) string {
	return fmt.Sprintf("Gave up after %d attempts: shard %d stopped answering (no heartbeat for %s)", MaxAttempts, n, HeartbeatLimit)
}

// DueAt is when the scheduler must next look at the replay: its scheduled start while
// scheduled, its last change while between states (to retry it if it stays), and always while
// running (to check its shards' heartbeats). Ended replays are never due.
func (r Replay) DueAt() (time.Time, bool) {
	switch {
	case r.Status == Scheduled:
		if r.ScheduledStart == nil {
			return time.Time{}, false
		}
		return *r.ScheduledStart, true
	case r.Status == Running, r.Status.Transitional():
		return r.Updated, true
	}
	return time.Time{}, false
}
