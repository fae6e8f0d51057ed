package capture

import "time"

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
}

// ReplayMode says which statements a replay sends.
type ReplayMode string

// The replay modes.
const (
	ReplayAll      ReplayMode = "all"       // every statement
	ReplayReadOnly ReplayMode = "read-only" // only statements that cannot write, on read-only sessions
)

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
