package recording

import (
	"context"
	"errors"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
)

// A server's log is collected once per tick for every capture recording it (lease.Collector):
// one collector at a time holds the server's lock, sets the rows logged since the last
// collection aside (a rotation, see rotate.go), claims that collection in the store before
// the swap, reads the rows once and hands each to every capture whose window holds it, into
// that capture's next fragment. Only once every capture's share is stored is the rotated table
// dropped and the collection marked finished; a collector that dies anywhere before leaves it
// pending, and the next one finishes it first from the same table. A capture notes the last
// collection it has had, so nobody gets a row twice.

// withCollector runs fn holding server's collection lock, with the collection as locked. A
// collection under way makes it errBusy, or, if wait, is waited for (up to lockFor).
func (r *Recorder) withCollector(ctx context.Context, server string, wait bool, fn func(st lease.Collector, until time.Time) error) error {
	deadline := r.now().Add(lockFor)
	for {
		now := r.now()
		until := now.Add(lockFor)
		st, err := r.Store.LockCollector(ctx, server, now, until)
		if errors.Is(err, capture.ErrChanged) {
			if !wait || r.now().After(deadline) {
				return errBusy
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return err
		}
		err = fn(st, until)
		// Unlocked even when fn failed or ctx ended, so the next tick need not wait out the lock.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return errors.Join(err, r.Store.UnlockCollector(uctx, server, until))
	}
}
