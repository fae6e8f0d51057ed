package replay

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// prescan reads the shard, as though every step were done, up to a little before where the
// predecessor's cut should fall, and opens the connections of the sessions open there. The
// predecessor started this invocation a lead before its cut and, before that, as long as
// reading the steps due by then takes at the runner's SkipRate (Runner.skipTime): so the cut
// is guessed a lead after this invocation's start plus that reading time, which the steps due
// by its start tell. Run checks the guess against the checkpoint (prescanHolds). At speed 0
// nothing tells where the predecessor will be: nothing is read ahead.
func (run *run) prescan(ctx context.Context, sr *shardReader) error {
	if run.speed <= 0 || run.lead <= 0 {
		return nil
	}
	start := run.r.now()
	offsetAt := func(t time.Time) int64 { return int64(float64(t.Sub(run.epoch)/time.Microsecond) * run.speed) }
	// First the steps due by the start; then up to half a lead (slack for sessions behind
	// schedule) before the guessed cut.
	until, first := offsetAt(start), true
	for {
		var st step
		err := sr.next(&st)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if st.offset > until && first {
			first = false
			until = offsetAt(start.Add(run.r.skipTime(sr.read.Load()) + run.lead/2))
		}
		if st.offset > until {
			st.materialize()
			run.pending = &st
			break
		}
		run.sessions[st.session].skip(&st)
	}
	run.preopen(ctx)
	return nil
}

// preopen opens, at most its share of connections, the connections of the sessions the
// pre-scan left open, several at once.
func (run *run) preopen(ctx context.Context) {
	var open []*live
	for _, s := range run.sessions {
		if s.connected && len(open) < cap(run.slots) {
			open = append(open, s)
		}
	}
	var wg sync.WaitGroup
	work := make(chan *live)
	for range min(16, len(open)) {
		wg.Go(func() {
			for s := range work {
				if err := s.connect(s.wantDB); err != nil {
					run.r.log().DebugContext(ctx, "a session's connection was not opened ahead", "session", s.ordinal, "error", err.Error())
				}
			}
		})
	}
	for _, s := range open {
		work <- s
	}
	close(work)
	wg.Wait()
}

// prescanHolds reports whether the pre-scan read no session past its checkpoint position.
func (run *run) prescanHolds() bool {
	for i, s := range run.sessions {
		if s.skipped > run.hand.Positions[i] {
			return false
		}
	}
	return true
}
