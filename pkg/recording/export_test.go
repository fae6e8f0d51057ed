package recording

import (
	"context"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
)

// SetAfterSwap makes r run fn right after each collection's swap, for fault injection.
func SetAfterSwap(r *Recorder, fn func(lease.Collection) error) { r.afterSwap = fn }

// OwnSessionsLag is how far around a collection's rows it looks for the recorder's sessions.
const OwnSessionsLag = ownSessionsLag

// MarkRoundTrip connects to env as r does and reports whether RDS rotation n of server shows
// as done in the backup table before and after that rotation (the mark, then RDS's procedure).
func MarkRoundTrip(ctx context.Context, r *Recorder, env capture.Environment, server string, n int) (before, after bool, err error) {
	c, err := r.connect(ctx, env)
	if err != nil {
		return false, false, err
	}
	defer c.Close()
	rot := lease.Collection{N: n, Table: rdsBackupTable}
	if before, err = c.swapped(ctx, rdsRotation, server, rot); err != nil {
		return before, false, err
	}
	if err = c.swap(ctx, rdsRotation, server, rot); err != nil {
		return before, false, err
	}
	after, err = c.swapped(ctx, rdsRotation, server, rot)
	return before, after, err
}

// SettleOf is how old a log row must be for r to collect it.
func SettleOf(r *Recorder) time.Duration { return r.settle() }
