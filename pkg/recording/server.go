package recording

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/metrics"
)

// A server's log is collected once per tick for every capture recording it (capture.Collector):
// one collector at a time holds the server's lock, sets the rows logged since the last
// collection aside (a rotation, see rotate.go), claims that collection in the store before
// the swap, reads the rows once and hands each to every capture whose window holds it, into
// that capture's next fragment. Only once every capture's share is stored is the rotated table
// dropped and the collection marked finished; a collector that dies anywhere before leaves it
// pending, and the next one finishes it first from the same table. A capture notes the last
// collection it has had, so nobody gets a row twice.

// withCollector runs fn holding server's collection lock, with the collection as locked. A
// collection under way makes it errBusy, or, if wait, is waited for (up to lockFor).
func (r *Recorder) withCollector(ctx context.Context, server string, wait bool, fn func(st capture.Collector, until time.Time) error) error {
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

// collectServer finishes a collection left pending, then collects the rows logged since, for
// every capture reading the server. ends holds the end of the window of captures being
// stopped. It returns the captures as their shares left them.
func (r *Recorder) collectServer(ctx context.Context, conn *conn, env capture.Environment, st capture.Collector, until time.Time, ends map[int64]time.Time) ([]capture.Capture, error) {
	if st.Pending != nil {
		src := sourceOf(*st.Pending)
		done, err := r.rotation(ctx, conn, env, src, st.Server, until, *st.Pending, ends, true)
		if err != nil {
			return nil, fmt.Errorf("finish collection %d: %w", st.Pending.N, err)
		}
		st.Seq, st.Pending = st.Pending.N, nil
		if len(ends) == 0 {
			return done, nil // that was this tick's collection
		}
	}
	src, err := r.logSource(ctx, conn)
	if err != nil {
		return nil, err
	}
	readers, err := r.readers(ctx, st, ends, st.Seq+1)
	if err != nil || len(readers) == 0 {
		return nil, err // nobody to collect for: nothing is rotated
	}
	now, err := conn.now(ctx)
	if err != nil {
		return nil, err
	}
	rot := capture.Rotation{N: st.Seq + 1, Table: src.rotationTable(st.Seq + 1), UpTo: now}
	if src == inPlace {
		// Rows are stamped as the server receives a statement and written just after: the
		// range ends a moment ago, so that every row stamped in it is in the table.
		rot.UpTo = now.Add(-r.settle())
		rot.From = rot.UpTo
		for _, c := range readers {
			rot.From = minTime(rot.From, c.Workload.Watermark)
		}
		if !rot.UpTo.After(rot.From) {
			return nil, nil
		}
	}
	if err := r.Store.ClaimRotation(ctx, st.Server, until, rot, r.now()); err != nil {
		return nil, err
	}
	return r.rotation(ctx, conn, env, src, st.Server, until, rot, ends, false)
}

// readers loads the captures that may have rows in collection n: the collection's readers,
// and those being stopped, that record, began, and have not had it. Readers that will never
// record again are let go.
func (r *Recorder) readers(ctx context.Context, st capture.Collector, ends map[int64]time.Time, n int) ([]capture.Capture, error) {
	ids := slices.Clone(st.Readers)
	for id := range ends {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	var out []capture.Capture
	for _, id := range ids {
		c, err := r.Store.Capture(ctx, id)
		if err != nil && !errors.Is(err, capture.ErrCaptureNotFound) {
			return nil, err
		}
		if err != nil || !c.Status.MayRecord() {
			if err := r.Store.LeaveCollector(ctx, st.Server, id, r.now()); err != nil {
				return nil, err
			}
			continue
		}
		if c.Workload.Watermark.IsZero() || c.Workload.Recorded() || c.Workload.Rotation >= n {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// rotation stores each reader's share of collection rot, then drops its table and marks it
// finished. A pending rotation is swapped first if its collector died before the swap.
func (r *Recorder) rotation(ctx context.Context, conn *conn, env capture.Environment, src source, server string, until time.Time, rot capture.Rotation, ends map[int64]time.Time, pending bool) ([]capture.Capture, error) {
	swap := !pending
	if pending {
		done, err := conn.swapped(ctx, src, server, rot)
		if err != nil {
			return nil, err
		}
		swap = !done
	}
	if swap {
		if err := conn.swap(ctx, src, server, rot); err != nil {
			return nil, err
		}
	}
	if r.afterSwap != nil {
		if err := r.afterSwap(rot); err != nil {
			return nil, err
		}
	}
	// Read after the swap: a capture that joined before it is a reader now.
	st, err := r.Store.Collector(ctx, server)
	if err != nil {
		return nil, err
	}
	readers, err := r.readers(ctx, st, ends, rot.N)
	if err != nil {
		return nil, err
	}
	sinks := make([]*sink, 0, len(readers))
	defer func() {
		for _, s := range sinks {
			s.discard()
		}
	}()
	for _, c := range readers {
		s, err := r.newSink(ctx, c, rot, ends[c.ID])
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, s)
	}
	if len(sinks) > 0 {
		if err := r.read(ctx, conn, src, rot, sinks); err != nil {
			return nil, fmt.Errorf("read the general log: %w", err)
		}
	}
	var sample *metrics.Sample
	if !env.OnRDS() && !pending {
		if s, err := conn.sample(ctx, rot.UpTo); err == nil {
			sample = &s
		} else {
			r.logger().WarnContext(ctx, "status counters not sampled", "server", server, "error", err.Error())
		}
	}
	out := make([]capture.Capture, len(sinks))
	errs := make([]error, len(sinks))
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = r.store(ctx, s, sample)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := conn.drop(ctx, src, rot); err != nil {
		return nil, err
	}
	if err := r.Store.RotationDone(ctx, server, until, rot.N, r.now()); err != nil {
		return nil, err
	}
	r.logger().InfoContext(ctx, "collected", "server", server, "collection", rot.N, "source", src.String(),
		"captures", len(sinks), "redone", pending)
	return out, nil
}

// sink is one capture's share of a collection, spooled to a file as its next fragment.
type sink struct {
	c          capture.Capture
	n          int       // the collection
	after      time.Time // rows stamped after this are the capture's...
	end        time.Time // ...up to this, when it is being stopped
	spool      *os.File
	buf        *bufio.Writer
	gz         *gzip.Writer
	enc        *json.Encoder
	dg         *digest.State
	folder     *folder
	ss         sessions
	events     int64
	statements int64
	watermark  time.Time
}

func (r *Recorder) newSink(ctx context.Context, c capture.Capture, rot capture.Rotation, end time.Time) (*sink, error) {
	s := &sink{c: c, n: rot.N, end: end, watermark: rot.UpTo}
	// A rotated table holds each row once, whenever it was stamped; read in place, a capture
	// already has what is up to its watermark.
	s.after = c.Workload.Watermark
	if rot.Rotated() && !c.Workload.Begin.IsZero() {
		s.after = c.Workload.Begin
	}
	if !end.IsZero() && end.Before(s.watermark) {
		s.watermark = end
	}
	var err error
	// The digest and the sessions' databases go on from those kept with the last fragment.
	if s.dg, err = r.digestAsOf(ctx, c, c.Workload.Fragments); err != nil {
		return nil, err
	}
	if s.ss, err = r.sessionsAsOf(ctx, c, c.Workload.Fragments); err != nil {
		return nil, err
	}
	if s.spool, err = os.CreateTemp(r.TempDir, "fragment-*.jsonl.gz"); err != nil {
		return nil, err
	}
	s.buf = bufio.NewWriterSize(s.spool, 64<<10)
	if s.gz, err = gzip.NewWriterLevel(s.buf, gzip.BestSpeed); err != nil {
		s.discard()
		return nil, err
	}
	s.enc = json.NewEncoder(s.gz)
	s.enc.SetEscapeHTML(false)
	s.folder = digestFolder(s.dg)
	return s, nil
}

// add writes e if it is in the capture's window and its session passes the capture's filters.
func (s *sink) add(e capture.Event) error {
	if !e.Time.After(s.after) || (!s.end.IsZero() && e.Time.After(s.end)) {
		return nil
	}
	s.ss.apply(&e)
	if !s.c.Filters.Keeps(e.User, e.DB) {
		return nil
	}
	if err := s.enc.Encode(&e); err != nil {
		return err
	}
	s.events++
	if e.IsStatement() {
		s.statements++
		s.folder.add(e)
	}
	return nil
}

// close finishes the spooled fragment and returns its size.
func (s *sink) close() (int64, error) {
	s.folder.wait()
	if err := s.gz.Close(); err != nil {
		return 0, err
	}
	if err := s.buf.Flush(); err != nil {
		return 0, err
	}
	size, err := s.spool.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	_, err = s.spool.Seek(0, io.SeekStart)
	return size, err
}

func (s *sink) discard() {
	if s.folder != nil {
		s.folder.wait()
	}
	if s.spool != nil {
		s.spool.Close()
		os.Remove(s.spool.Name())
	}
}

// store writes a sink's fragment, with the digest and sessions as of it, then moves its
// capture's progress past the collection: the fragment's key depends only on how many came
// before it, so a collection redone after a crash rewrites it rather than adding one.
func (r *Recorder) store(ctx context.Context, s *sink, sample *metrics.Sample) (capture.Capture, error) {
	c := s.c
	size, err := s.close()
	if err != nil {
		return c, err
	}
	from := c.Workload
	to := from
	to.Rotation = s.n
	to.Watermark = maxTime(from.Watermark, s.watermark)
	if s.events > 0 {
		if err := r.Blobs.Put(ctx, capture.FragmentKey(c, from.Fragments), s.spool); err != nil {
			return c, err
		}
		if err := digest.Save(ctx, r.Blobs, capture.DigestStateKey(c, from.Fragments), s.dg); err != nil {
			return c, err
		}
		if err := r.saveSessions(ctx, capture.SessionsKey(c, from.Fragments), s.ss); err != nil {
			return c, err
		}
		to.Fragments++
		to.Statements += s.statements
		to.Collected += size
	}
	if err := r.Store.SaveWorkload(ctx, c.ID, from, to); err != nil {
		return c, err
	}
	c.Workload = to
	if sample != nil {
		if err := r.Store.AddSample(ctx, c.ID, *sample); err != nil {
			r.logger().WarnContext(ctx, "status counters not sampled", "capture_id", c.ID, "error", err.Error())
		}
	}
	return c, nil
}

// read streams rot's rows to the sinks, one row at a time, leaving out RDS's own sessions and
// the recorder's own. The recorder's are known by connection id, registered in the store
// straight after a session sends registerQuery. Rows whose session is not known yet are held
// until it is: a Connect row until its session's next row, and the rows of a session that
// sent registerQuery in this very read until the end, when the store says whether it
// registered (an application may send the same text; its rows are then recorded).
func (r *Recorder) read(ctx context.Context, conn *conn, src source, rot capture.Rotation, sinks []*sink) error {
	from := rot.UpTo
	for _, s := range sinks {
		from = minTime(from, s.after)
	}
	registered := func() (map[uint64]bool, error) {
		ids, err := r.Store.OwnSessions(ctx, conn.server, from.Add(-ownSessionsLag), r.now().Add(ownSessionsLag))
		own := make(map[uint64]bool, len(ids))
		for _, id := range ids {
			own[id] = true
		}
		return own, err
	}
	own, err := registered()
	if err != nil {
		return err
	}
	rows, err := r.rows(ctx, conn, src, rot)
	if err != nil {
		return err
	}
	defer rows.Close()
	dispatch := func(events ...capture.Event) error {
		for _, e := range events {
			for _, s := range sinks {
				if err := s.add(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	held := map[uint64][]capture.Event{}
	announced := map[uint64]bool{}
	var (
		ev       capture.Event
		unix     sql.RawBytes
		userHost sql.RawBytes
		command  sql.RawBytes
		argument sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&unix, &userHost, &ev.Thread, &command, &argument); err != nil {
			return err
		}
		if own[ev.Thread] || strings.HasPrefix(string(userHost), "rdsadmin[") {
			continue
		}
		if ev.Time, err = parseUnix(unix); err != nil {
			return err
		}
		ev.User, ev.Host = splitUserHost(string(userHost))
		ev.Command, ev.SQL = string(command), string(argument)
		t := ev.Thread
		switch {
		case announced[t] && len(held[t]) < maxHeld:
			held[t] = append(held[t], ev)
		case ev.Command == "Query" && ev.SQL == marker+registerQuery && !announced[t]:
			announced[t] = true
			held[t] = append(held[t], ev)
		case ev.Command == "Connect":
			if err := dispatch(held[t]...); err != nil {
				return err
			}
			held[t] = []capture.Event{ev}
		default:
			// Held rows of a session that turned out to be an application's go first.
			if err := dispatch(held[t]...); err != nil {
				return err
			}
			delete(held, t)
			delete(announced, t)
			if err := dispatch(ev); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(held) == 0 {
		return nil
	}
	// A session that announced itself is the recorder's if it registers, which it does at
	// once: wait a moment for those that have not yet.
	deadline := time.Now().Add(2 * time.Second)
	for {
		if own, err = registered(); err != nil {
			return err
		}
		waiting := false
		for t := range announced {
			waiting = waiting || !own[t]
		}
		if !waiting || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	var rest []capture.Event
	for t, events := range held {
		if !own[t] {
			rest = append(rest, events...)
		}
	}
	slices.SortStableFunc(rest, func(a, b capture.Event) int { return a.Time.Compare(b.Time) })
	return dispatch(rest...)
}

// maxHeld bounds the rows held for a session that announced itself as the recorder's: the
// recorder's sessions register before anything else, so one that goes on for longer than this
// is an application's, and its rows are recorded as they come.
const maxHeld = 1000

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
