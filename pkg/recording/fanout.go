package recording

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/workload"
)

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
	cut        *cut // the limits of its one capture, if it has any
}

// cut holds a capture's share of a collection to what its limits leave: so many statements
// more, so many bytes of fragment more. The first row that does not fit ends the share, and the
// capture takes nothing after it, so a capture holds exactly its first MaxStatements
// statements and never more than MaxBytes.
type cut struct {
	statements int64 // statements it may still take; -1 for no limit
	bytes      int64 // bytes its fragment may take; -1 for no limit
	full       bool  // a row did not fit
}

// newCut is c's cut for its next fragment, nil if it has no limits.
func newCut(c capture.Capture) *cut {
	l := c.Limits
	if l.MaxStatements == 0 && l.MaxBytes == 0 {
		return nil
	}
	k := &cut{statements: -1, bytes: -1, full: c.Workload.Cut}
	if l.MaxStatements > 0 {
		k.statements = max(0, l.MaxStatements-c.Workload.Statements)
	}
	if l.MaxBytes > 0 {
		k.bytes = max(0, l.MaxBytes-c.Workload.Collected)
	}
	return k
}

// reached reports whether the capture takes no more rows: a row did not fit, or it holds its
// statements.
func (k *cut) reached() bool { return k != nil && (k.full || k.statements == 0) }

// admits reports whether a row of n bytes fits in what is left, taking its room if it does.
func (k *cut) admits(e workload.Event, n int, sp *spool) (bool, error) {
	if k.reached() {
		k.full = true
		return false, nil
	}
	if k.bytes >= 0 {
		ok, err := sp.fits(n, k.bytes)
		if err != nil || !ok {
			k.full = err == nil
			return false, err
		}
	}
	if e.IsStatement() && k.statements > 0 {
		k.statements--
	}
	return true, nil
}

// add spools e, encoded by line, and folds it if it is a statement; under a cut, only if it fits.
func (p *portion) add(e workload.Event, line func() ([]byte, error), dir string, fold *folder) error {
	if p.cut.reached() {
		p.cut.full = true
		return nil // nothing to encode
	}
	b, err := line()
	if err != nil {
		return err
	}
	if p.spool == nil {
		if p.spool, err = newSpool(dir); err != nil {
			return err
		}
	}
	if p.cut != nil {
		if ok, err := p.cut.admits(e, len(b), p.spool); err != nil || !ok {
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

// add puts s in the group. A capture with limits is a group of its own (see share), whose
// rows all go to the shared portion: the cut is put there.
func (g *group) add(s *sink) {
	g.sinks = append(g.sinks, s)
	g.shared.cut = newCut(s.c)
	if g.shared.digests == nil {
		g.shared.digests = []*digest.State{digest.New()}
	}
	g.after = maxTime(g.after, s.after)
	s.group = g
}

// take writes e for the group's sinks that keep it, encoding it (into line, once per row) only
// if one does.
func (g *group) take(e workload.Event, line *bytes.Buffer, enc *json.Encoder, fold *folder) error {
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

func (r *Recorder) newSink(ctx context.Context, c capture.Capture, rot lease.Collection, end time.Time) (*sink, error) {
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
	m.To.LastCollection = s.n
	m.To.Watermark = maxTime(m.From.Watermark, s.watermark)
	if s.group != nil && s.group.shared.cut.reached() {
		m.To.Cut = true
	}
	if s.events > 0 && s.fragment != nil {
		if err := r.Blobs.Put(ctx, layout.FragmentKey(c, m.From.Fragments), s.fragment); err != nil {
			return m, err
		}
		if err := digest.Save(ctx, r.Blobs, layout.DigestStateKey(c, m.From.Fragments), s.dg); err != nil {
			return m, err
		}
		m.To.Fragments++
		m.To.Statements += s.statements
		m.To.Collected += s.size
	}
	return m, nil
}
