package recording

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/workload"
)

// collectServer finishes a collection left pending, then collects the rows logged since, for
// every capture reading the server. ends holds the end of the window of captures being
// stopped. It returns the captures as their shares left them.
func (r *Recorder) collectServer(ctx context.Context, conn *conn, env capture.Environment, st lease.Collector, until time.Time, ends map[int64]time.Time) ([]capture.Capture, error) {
	if st.Pending != nil {
		readers, err := r.readers(ctx, conn, st, ends, st.Pending.N)
		if err != nil {
			return nil, err
		}
		done, err := r.rotation(ctx, collection{conn: conn, env: env, src: sourceOf(*st.Pending), server: st.Server,
			until: until, rot: *st.Pending, readers: readers, ends: ends, pending: true})
		if err != nil {
			return nil, fmt.Errorf("finish collection %d: %w", st.Pending.N, err)
		}
		st.Finished, st.Pending = st.Pending.N, nil
		if len(ends) == 0 {
			return done, nil // that was this tick's collection
		}
	}
	// Readers join and leave only holding the lock, so those read now are the collection's.
	readers, err := r.readers(ctx, conn, st, ends, st.Finished+1)
	if err != nil || len(readers) == 0 {
		return nil, err // nobody to collect for: nothing is rotated
	}
	src, err := r.logSource(ctx, conn)
	if err != nil {
		return nil, err
	}
	now, err := conn.now(ctx)
	if err != nil {
		return nil, err
	}
	rot := lease.Collection{N: st.Finished + 1, Table: src.rotationTable(st.Finished + 1), UpTo: now}
	if src == inPlace {
		// Rows are stamped as the server receives a statement and written just after: the
		// range ends a moment ago, so that every row stamped in it is in the table. It starts
		// at the readers' earliest watermark.
		rot.UpTo = now.Add(-r.settle())
		rot.From = rot.UpTo
		for _, c := range readers {
			rot.From = minTime(rot.From, c.Workload.Watermark)
		}
		if !rot.UpTo.After(rot.From) {
			return nil, nil
		}
	}
	if err := r.Store.ClaimCollection(ctx, st.Server, until, rot, r.now()); err != nil {
		return nil, err
	}
	return r.rotation(ctx, collection{conn: conn, env: env, src: src, server: st.Server, until: until, rot: rot, readers: readers, ends: ends})
}

// readers loads the captures that may have rows in collection n: the collection's readers,
// and those being stopped, that record, began, and have not had it. Readers that will never
// record again, or whose environment is not proven to reach the server conn reaches, are let
// go: no row goes to a capture on the word of a server that only claims to be its.
func (r *Recorder) readers(ctx context.Context, conn *conn, st lease.Collector, ends map[int64]time.Time, n int) ([]capture.Capture, error) {
	_, _, proven := lease.ParseServer(st.Server)
	ids := slices.Clone(st.Readers)
	for id := range ends {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	found, err := r.Store.Captures(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []capture.Capture
	for _, id := range ids {
		i := slices.IndexFunc(found, func(c capture.Capture) bool { return c.ID == id })
		if i < 0 || !found[i].Status.MayRecord() {
			if err := r.Store.LeaveCollector(ctx, st.Server, id, r.now()); err != nil {
				return nil, err
			}
			continue
		}
		c := found[i]
		if proven && !conn.group.Has(c.EnvID) {
			r.logger().WarnContext(ctx, "reader's environment is not proven to reach the server: it gets no rows", "capture_id", c.ID, "server", st.Server)
			if err := r.Store.LeaveCollector(ctx, st.Server, id, r.now()); err != nil {
				return nil, err
			}
			continue
		}
		if c.Workload.Watermark.IsZero() || c.Workload.Recorded() || c.Workload.LastCollection >= n {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// collection is one collection of a server's log as its collector runs it.
type collection struct {
	conn    *conn
	env     capture.Environment // the environment conn was opened for
	src     source              // where the rows are
	server  string              // the server's key, as its collection is
	until   time.Time           // the collector's lock, until
	rot     lease.Collection
	readers []capture.Capture   // those that have not had rot
	ends    map[int64]time.Time // the ends of the windows of captures being stopped
	pending bool                // finishing a collection a collector left unfinished
}

// rotation stores the share of collection rot of each of readers (those that have not had
// it), and the server's sessions as of it, then drops its table and marks it finished. A
// pending rotation is swapped first if its collector died before the swap.
func (r *Recorder) rotation(ctx context.Context, col collection) ([]capture.Capture, error) {
	swap := !col.pending
	if col.pending {
		done, err := col.conn.swapped(ctx, col.src, col.server, col.rot)
		if err != nil {
			return nil, err
		}
		swap = !done
	}
	if swap {
		if err := col.conn.swap(ctx, col.src, col.server, col.rot); err != nil {
			return nil, err
		}
	}
	if r.afterSwap != nil {
		if err := r.afterSwap(col.rot); err != nil {
			return nil, err
		}
	}
	var (
		sinks []*sink
		err   error
	)
	if len(col.readers) > 0 {
		if sinks, err = r.share(ctx, col); err != nil {
			return nil, err
		}
	}
	defer func() {
		for _, s := range sinks {
			s.discard()
		}
	}()
	var sample *metrics.Sample
	if !col.env.OnRDS() && !col.pending {
		if s, err := col.conn.sample(ctx, col.rot.UpTo); err == nil {
			sample = &s
		} else {
			r.logger().WarnContext(ctx, "status counters not sampled", "server", col.server, "error", err.Error())
		}
	}
	moves := make([]capture.WorkloadMove, len(sinks))
	errs := make([]error, len(sinks))
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			moves[i], errs[i] = r.store(ctx, s)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Every capture's progress at once: each write is conditional on the progress it moves on
	// from, so one redone after a crash cannot count twice.
	if err := r.Store.SaveWorkloads(ctx, moves, sample); err != nil {
		return nil, err
	}
	out := make([]capture.Capture, len(sinks))
	for i, s := range sinks {
		out[i] = s.c
		out[i].Workload = moves[i].To
	}
	if err := col.conn.drop(ctx, col.src, col.rot); err != nil {
		return nil, err
	}
	if err := r.Store.CollectionDone(ctx, col.server, col.until, col.rot.N, r.now()); err != nil {
		return nil, err
	}
	// The sessions as of the collection before are not needed again.
	if err := r.Blobs.DeletePrefix(ctx, layout.CollectionPrefix(col.server, col.rot.N-1)); err != nil {
		r.logger().WarnContext(ctx, "old sessions file left behind", "server", col.server, "error", err.Error())
	}
	r.logger().InfoContext(ctx, "collected", "server", col.server, "collection", col.rot.N, "source", col.src.String(),
		"captures", len(sinks), "redone", col.pending)
	return out, nil
}

// share reads rot's rows once and gives each reader its share, spooled, and the digest as of
// it; and keeps the server's sessions as of rot. Readers with the same filters and end (all
// of them, usually) share one spool for the rows after the latest of their starts, so a row is
// encoded and compressed once however many captures take it; the rows before that, near a
// capture's start, go to a spool of its own.
func (r *Recorder) share(ctx context.Context, col collection) (sinks []*sink, err error) {
	defer func() {
		if err != nil {
			for _, s := range sinks {
				s.discard()
			}
			sinks = nil
		}
	}()
	ss, err := r.serverSessions(ctx, col.server, col.rot.N-1)
	if err != nil {
		return nil, err
	}
	var groups []*group
	byKey := map[string]*group{}
	// The rows read are those logged since the col.readers' last collection: the earliest
	// watermark, not the earliest start (which a rotated read filters by, and which for a
	// capture recording for weeks would make the own-sessions lookup, see read, ever wider).
	since := col.rot.UpTo
	for _, c := range col.readers {
		s, err := r.newSink(ctx, c, col.rot, col.ends[c.ID])
		if err != nil {
			return sinks, err
		}
		sinks = append(sinks, s)
		since = minTime(since, c.Workload.Watermark)
		key := fmt.Sprintf("%v|%d", c.Filters, s.end.UnixNano())
		if newCut(c) != nil {
			key = fmt.Sprintf("limited|%d", c.ID) // its rows are cut where its limits say
		}
		g := byKey[key]
		if g == nil {
			g = &group{filters: c.Filters, end: s.end, dir: r.TempDir}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.add(s)
	}
	fold := digestFolder()
	defer fold.wait()
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	dispatch := func(events ...workload.Event) error {
		for _, e := range events {
			ss.apply(&e)
			line.Reset()
			for _, g := range groups {
				if err := g.take(e, &line, enc, fold); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := r.read(ctx, col.conn, col.src, col.rot, since, dispatch); err != nil {
		return sinks, fmt.Errorf("read the general log: %w", err)
	}
	fold.wait()
	for _, g := range groups {
		if err := g.finish(); err != nil {
			return sinks, err
		}
	}
	if err := r.saveServerSessions(ctx, col.server, col.rot.N, ss); err != nil {
		return sinks, err
	}
	return sinks, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
