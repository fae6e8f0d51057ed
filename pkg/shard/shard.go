// Package shard is what passes between a replay's shard runs and the rest of the service:
// which run (Shard), where the next one goes on from (Checkpoint), the baton, progress and
// continuer a run is given, and their errors. It imports only the domain, so that the table,
// the lifecycle and the API can speak of shards without linking the engine (package replay)
// and its MySQL driver.
package shard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mycrt/captures/pkg/capture"
)

// Shard names one shard run: invocation Invocation (from 0) of shard Shard of a replay.
type Shard struct {
	Replay     int64
	Shard      int
	Invocation int
}

// Checkpoint is where a shard's next invocation begins: the cut of the schedule, and the
// state of each session it must re-establish. Written by the invocation that hands over,
// read by the next; opaque to everything else (the store keeps its bytes).
type Checkpoint []byte

// Baton passes a shard from one invocation to the next (the table on AWS, memory in tests).
type Baton interface {
	// Pass records that s has finished every statement before its cut: s.Invocation+1 may
	// begin from cp. Conditional: passing twice, or for an invocation that is not the
	// shard's current one, is ErrNotCurrent.
	Pass(ctx context.Context, s Shard, cp Checkpoint) error
	// Await returns s's checkpoint once s.Invocation-1 has passed it (immediately for
	// invocation 0, with a nil checkpoint), or ctx's error.
	Await(ctx context.Context, s Shard) (Checkpoint, error)
}

// Progress keeps each shard's part of its replay's progress as it goes.
type Progress interface {
	// Record sets what s's shard has done in all, over its invocations so far: statements
	// done (sent or skipped) and errors. A shard's counts never go back: an invocation run
	// again from an earlier checkpoint records nothing until it is past what the shard
	// recorded before, so that a statement run twice is counted once, and then not fewer
	// errors than were recorded. It returns ErrStopped once the replay is no longer RUNNING:
	// the shard then stops.
	Record(ctx context.Context, s Shard, statements, errors int64) error
}

// Continuer starts a shard's next invocation (an asynchronous invoke on AWS, a goroutine under
// make run) before this one ends, so it is ready at the cut.
type Continuer interface {
	Continue(ctx context.Context, next Shard) error
}

// Job is one invocation of one shard.
type Job struct {
	Shard    Shard
	Replay   capture.Replay // its plan, speed, mode, max connections
	Deadline time.Time      // the invocation must have returned by then (Lambda's limit)
}

// Result is what an invocation did.
type Result struct {
	Done       bool  // the shard ran its last statement (or was stopped): no successor
	Statements int64 // statements done by this invocation
	Errors     int64
	Skipped    int64 // of Statements, those read-only mode did not send
	// Restored counts the sessions this invocation took over from the one before, connected
	// again in their database with their SET statements run again.
	Restored int
	// Lost counts what sessions taken over could not take along (see README, Replay).
	Lost Lost
	// Split counts transactions that the invocation's deadline cut short (rolled back).
	Split int
}

// Lost counts the sessions that lost session state at a hand-off, by what they lost.
type Lost struct {
	TempTables    int // created temporary tables
	UserVariables int // set user variables other than by SET (SELECT ... INTO @v)
}

// Errors of the seams above.
var (
	// ErrNotCurrent: a baton passed for an invocation that is not its shard's current one.
	ErrNotCurrent = errors.New("not the shard's current invocation")
	// ErrStopped: the replay is no longer RUNNING (stopped, deleted or failed).
	ErrStopped = errors.New("the replay is no longer running")
	// ErrGone: the replay was deleted (errors.Is ErrStopped too). Its delete may have
	// removed its files already: a shard stores nothing more of it.
	ErrGone = fmt.Errorf("%w: it was deleted", ErrStopped)
)
