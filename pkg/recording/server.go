package recording

import (
	"bufio"
	"bytes"
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
		readers, err := r.readers(ctx, conn, st, ends, st.Pending.N)
		if err != nil {
			return nil, err
		}
		done, err := r.rotation(ctx, conn, env, sourceOf(*st.Pending), st.Server, until, *st.Pending, readers, ends, true)
		if err != nil {
			return nil, fmt.Errorf("finish collection %d: %w", st.Pending.N, err)
		}
		st.Seq, st.Pending = st.Pending.N, nil
		if len(ends) == 0 {
			return done, nil // that was this tick's collection
		}
	}
	// Readers join and leave only holding the lock, so those read now are the collection's.
	readers, err := r.readers(ctx, conn, st, ends, st.Seq+1)
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
	rot := capture.Rotation{N: st.Seq + 1, Table: src.rotationTable(st.Seq + 1), UpTo: now}
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
	if err := r.Store.ClaimRotation(ctx, st.Server, until, rot, r.now()); err != nil {
		return nil, err
	}
	return r.rotation(ctx, conn, env, src, st.Server, until, rot, readers, ends, false)
}

// readers loads the captures that may have rows in collection n: the collection's readers,
// and those being stopped, that record, began, and have not had it. Readers that will never
// record again, or whose environment is not proven to reach the server conn reaches, are let
// go: no row goes to a capture on the word of a server that only claims to be its.
func (r *Recorder) readers(ctx context.Context, conn *conn, st capture.Collector, ends map[int64]time.Time, n int) ([]capture.Capture, error) {
	_, _, proven := capture.ParseServer(st.Server)
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
		if c.Workload.Watermark.IsZero() || c.Workload.Recorded() || c.Workload.Rotation >= n {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// rotation stores the share of collection rot of each of readers (those that have not had
// it), and the server's sessions as of it, then drops its table and marks it finished. A
// pending rotation is swapped first if its collector died before the swap.
func (r *Recorder) rotation(ctx context.Context, conn *conn, env capture.Environment, src source, server string, until time.Time, rot capture.Rotation, readers []capture.Capture, ends map[int64]time.Time, pending bool) ([]capture.Capture, error) {
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
	var (
		sinks []*sink
		err   error
	)
	if len(readers) > 0 {
		if sinks, err = r.share(ctx, conn, src, server, rot, readers, ends); err != nil {
			return nil, err
		}
	}
	defer func() {
		for _, s := range sinks {
			s.discard()
		}
	}()
	var sample *metrics.Sample
	if !env.OnRDS() && !pending {
		if s, err := conn.sample(ctx, rot.UpTo); err == nil {
			sample = &s
		} else {
			r.logger().WarnContext(ctx, "status counters not sampled", "server", server, "error", err.Error())
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
	if err := conn.drop(ctx, src, rot); err != nil {
		return nil, err
	}
	if err := r.Store.RotationDone(ctx, server, until, rot.N, r.now()); err != nil {
		return nil, err
	}
	// The sessions as of the collection before are not needed again.
	if err := r.Blobs.DeletePrefix(ctx, capture.CollectionPrefix(server, rot.N-1)); err != nil {
		r.logger().WarnContext(ctx, "old sessions file left behind", "server", server, "error", err.Error())
	}
	r.logger().InfoContext(ctx, "collected", "server", server, "collection", rot.N, "source", src.String(),
		"captures", len(sinks), "redone", pending)
	return out, nil
}

// share reads rot's rows once and gives each reader its share, spooled, and the digest as of
// it; and keeps the server's sessions as of rot. Readers with the same filters and end (all
// of them, usually) share one spool for the rows after the latest of their starts, so a row is
// encoded and compressed once however many captures take it; the rows before that, near a
// capture's start, go to a spool of its own.
func (r *Recorder) share(ctx context.Context, conn *conn, src source, server string, rot capture.Rotation, readers []capture.Capture, ends map[int64]time.Time) (sinks []*sink, err error) {
	defer func() {
		if err != nil {
			for _, s := range sinks {
				s.discard()
			}
			sinks = nil
		}
	}()
	ss, err := r.serverSessions(ctx, server, rot.N-1)
	if err != nil {
		return nil, err
	}
	var groups []*group
	byKey := map[string]*group{}
	// The rows read are those logged since the readers' last collection: the earliest
	// watermark, not the earliest start (which a rotated read filters by, and which for a
	// capture recording for weeks would make the own-sessions lookup, see read, ever wider).
	since := rot.UpTo
	for _, c := range readers {
		s, err := r.newSink(ctx, c, rot, ends[c.ID])
		if err != nil {
			return sinks, err
		}
		sinks = append(sinks, s)
		since = minTime(since, c.Workload.Watermark)
		key := fmt.Sprintf("%v|%d", c.Filters, s.end.UnixNano())
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
	dispatch := func(events ...capture.Event) error {
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
	if err := r.read(ctx, conn, src, rot, since, dispatch); err != nil {
		return sinks, fmt.Errorf("read the general log: %w", err)
	}
	fold.wait()
	for _, g := range groups {
		if err := g.finish(); err != nil {
			return sinks, err
		}
	}
	if err := r.saveServerSessions(ctx, server, rot.N, ss); err != nil {
		return sinks, err
	}
	return sinks, nil
}

// group is the readers of a collection that keep the same rows once past the latest of their
// starts: those with the same filters and end.
type group struct {
	filters capture.Filters
	end     time.Time
	after   time.Time // the latest of its sinks' starts
	sinks   []*sink
	dir     string
	shared  portion // the rows after after, for all its sinks, folded into one digest merged into each sink's at the end
}

// portion is rows spooled for one capture or several, counted, and the digests they fold into.
type portion struct {
	spool      *spool // nil until a row comes
	events     int64
	statements int64
	digests    []*digest.State
}

// add spools e, encoded by line, and folds it if it is a statement.
func (p *portion) add(e capture.Event, line func() ([]byte, error), dir string, fold *folder) error {
	b, err := line()
	if err != nil {
		return err
	}
	if p.spool == nil {
		if p.spool, err = newSpool(dir); err != nil {
			return err
		}
	}
	if err := p.spool.write(b); err != nil {
		return err
	}
	p.events++
	if e.IsStatement() {
		p.statements++
		fold.add(e, p.digests)
	}
	return nil
}

func (g *group) add(s *sink) {
	g.sinks = append(g.sinks, s)
	if g.shared.digests == nil {
		g.shared.digests = []*digest.State{digest.New()}
	}
	g.after = maxTime(g.after, s.after)
	s.group = g
}

// take writes e for the group's sinks that keep it, encoding it (into line, once per row) only
// if one does.
func (g *group) take(e capture.Event, line *bytes.Buffer, enc *json.Encoder, fold *folder) error {
	if (!g.end.IsZero() && e.Time.After(g.end)) || !g.filters.Keeps(e.User, e.DB) {
		return nil
	}
	encoded := func() ([]byte, error) {
		if line.Len() == 0 {
			if err := enc.Encode(&e); err != nil {
				return nil, err
			}
		}
		return line.Bytes(), nil
	}
	if e.Time.After(g.after) {
		return g.shared.add(e, encoded, g.dir, fold)
	}
	for _, s := range g.sinks {
		if e.Time.After(s.after) {
			if err := s.own.add(e, encoded, g.dir, fold); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish closes the group's spools and makes each sink's fragment: its own rows, if it has
// any, then the shared ones (a fragment may hold several gzip members one after another). It
// merges the shared rows' digest into each sink's: folded once, not once per capture.
func (g *group) finish() error {
	var sharedSize int64
	if g.shared.spool != nil {
		var err error
		if sharedSize, err = g.shared.spool.close(); err != nil {
			return err
		}
	}
	for _, s := range g.sinks {
		s.events = s.own.events + g.shared.events
		s.statements = s.own.statements + g.shared.statements
		if g.shared.statements > 0 {
			s.dg.Merge(g.shared.digests[0])
		}
		if s.own.spool == nil {
			if g.shared.spool != nil {
				s.fragment, s.size = io.NewSectionReader(g.shared.spool.f, 0, sharedSize), sharedSize
			}
			continue
		}
		own := s.own.spool
		size, err := own.close()
		if err != nil {
			return err
		}
		if g.shared.spool != nil {
			if _, err := own.f.Seek(size, io.SeekStart); err != nil {
				return err
			}
			if _, err := io.Copy(own.f, io.NewSectionReader(g.shared.spool.f, 0, sharedSize)); err != nil {
				return err
			}
			size += sharedSize
		}
		s.fragment, s.size = io.NewSectionReader(own.f, 0, size), size
	}
	return nil
}

// sink is one capture's share of a collection: its next fragment, and its digest as of it.
type sink struct {
	c          capture.Capture
	n          int       // the collection
	after      time.Time // rows stamped after this are the capture's...
	end        time.Time // ...up to this, when it is being stopped
	watermark  time.Time
	dg         *digest.State
	group      *group
	own        portion // the rows it keeps and the rest of its group does not
	fragment   *io.SectionReader
	size       int64
	events     int64
	statements int64
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
	// The digest goes on from the one kept with the last fragment.
	var err error
	if s.dg, err = r.digestAsOf(ctx, c, c.Workload.Fragments); err != nil {
		return nil, err
	}
	s.own.digests = []*digest.State{s.dg}
	return s, nil
}

func (s *sink) discard() {
	if s.own.spool != nil {
		s.own.spool.remove()
		s.own.spool = nil
	}
	if g := s.group; g != nil && g.shared.spool != nil {
		g.shared.spool.remove()
		g.shared.spool = nil
	}
}

// store writes a sink's fragment, with the digest as of it, and returns its capture's move
// past the collection. The fragment's key depends only on how many came before it, so a
// collection redone after a crash rewrites it rather than adding one.
func (r *Recorder) store(ctx context.Context, s *sink) (capture.WorkloadMove, error) {
	c := s.c
	m := capture.WorkloadMove{ID: c.ID, From: c.Workload, To: c.Workload}
	m.To.Rotation = s.n
	m.To.Watermark = maxTime(m.From.Watermark, s.watermark)
	if s.events > 0 && s.fragment != nil {
		if err := r.Blobs.Put(ctx, capture.FragmentKey(c, m.From.Fragments), s.fragment); err != nil {
			return m, err
		}
		if err := digest.Save(ctx, r.Blobs, capture.DigestStateKey(c, m.From.Fragments), s.dg); err != nil {
			return m, err
		}
		m.To.Fragments++
		m.To.Statements += s.statements
		m.To.Collected += s.size
	}
	return m, nil
}

// spool is a gzip stream spooled to a temporary file.
type spool struct {
	f   *os.File
	buf *bufio.Writer
	gz  *gzip.Writer
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "fragment-*.jsonl.gz")
	if err != nil {
		return nil, err
	}
	s := &spool{f: f, buf: bufio.NewWriterSize(f, 64<<10)}
	if s.gz, err = gzip.NewWriterLevel(s.buf, gzip.BestSpeed); err != nil {
		s.remove()
		return nil, err
	}
	return s, nil
}

func (s *spool) write(b []byte) error {
	_, err := s.gz.Write(b)
	return err
}

// close ends the gzip stream and returns the file's size.
func (s *spool) close() (int64, error) {
	if err := s.gz.Close(); err != nil {
		return 0, err
	}
	if err := s.buf.Flush(); err != nil {
		return 0, err
	}
	return s.f.Seek(0, io.SeekCurrent)
}

func (s *spool) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// read streams rot's rows to dispatch, one row at a time, leaving out RDS's own sessions and
// the recorder's own: those registered around the rows read, from since (the readers' last
// collection) less ownSessionsLag. The recorder's are known by connection id, registered in
// the store straight after a session sends registerQuery. Rows whose session is not known yet are held
// until it is: a Connect row until its session's next row, and the rows of a session that
// sent registerQuery in this very read until the end, when the store says whether it
// registered (an application may send the same text; its rows are then recorded).
func (r *Recorder) read(ctx context.Context, conn *conn, src source, rot capture.Rotation, since time.Time, dispatch func(...capture.Event) error) error {
	registered := func() (map[uint64]bool, error) {
		ids, err := r.Store.OwnSessions(ctx, conn.server, since.Add(-ownSessionsLag), r.now().Add(ownSessionsLag))
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

// ownSessionsLag is how far around a collection's window it looks for the recorder's own
// sessions: far more than a session lives, or the worker's clock and the server's differ.
const ownSessionsLag = time.Hour

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
