package replay

// The in-memory Prepare as it was before it spilled to a temporary file, kept verbatim but for
// its names as the oracle the spilling one must match byte for byte (TestPrepareMatchesInMemory).

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/workload"
)

// refPrepare is Prepare as it was: it reads capture c's workload file and stores replay r's shards: the capture's
// sessions (a thread reused after its Quit, or connecting again, is a new session) that r's
// filters keep a statement of, grouped into shards of at most MaxShardSessions balanced by
// statements, each shard's steps in time order (a session's in its file order, its offsets
// never going back). It returns the plan, without its Epoch, which the caller sets.
//
// Prepare holds the workload's statements in memory once (about the size of their text).
func refPrepare(ctx context.Context, files Files, c capture.Capture, r capture.Replay) (capture.ReplayPlan, error) {
	p, err := refSplit(ctx, files, c, r.Filters)
	if err != nil {
		return capture.ReplayPlan{}, err
	}
	shards := p.refAssign()
	plan := Plan{ReplayPlan: capture.ReplayPlan{Shards: len(shards), Sessions: p.sessions, Statements: p.kept,
		Captured: p.captured, First: time.UnixMicro(p.first).UTC()}}
	var buf bytes.Buffer
	for n, shard := range shards {
		buf.Reset()
		statements, err := p.refWriteShard(&buf, shard)
		if err != nil {
			return capture.ReplayPlan{}, fmt.Errorf("write shard %d: %w", n, err)
		}
		if err := files.Put(ctx, layout.ReplayShardKey(r.ID, n), bytes.NewReader(buf.Bytes())); err != nil {
			return capture.ReplayPlan{}, fmt.Errorf("store shard %d: %w", n, err)
		}
		plan.ShardSessions = append(plan.ShardSessions, len(shard))
		plan.ShardStatements = append(plan.ShardStatements, statements)
	}
	b, err := json.Marshal(plan)
	if err != nil {
		return capture.ReplayPlan{}, err
	}
	if err := files.Put(ctx, layout.ReplayPlanKey(r.ID), bytes.NewReader(b)); err != nil {
		return capture.ReplayPlan{}, fmt.Errorf("store the replay's plan: %w", err)
	}
	return plan.ReplayPlan, nil
}

// session is one captured session as Prepare reads it.
type refSession struct {
	ordinal    uint32
	rows       int    // rows of the workload, kept or not
	seq        uint32 // statement rows so far, kept or not
	statements int64  // kept
	last       int64  // µs since the Unix epoch of its last step: offsets never go back
	steps      []step // offsets in µs since the Unix epoch until writeShard
	inTxn      bool
	autocommit bool
}

// prepared is a workload split into sessions.
type refPrepared struct {
	all            []*refSession
	dbs            map[string]uint32
	dbNames        []string
	first          int64 // µs since the Unix epoch of the first statement
	captured, kept int64
	sessions       int
	firstSeen      bool
}

func refSplit(ctx context.Context, files Files, c capture.Capture, filters capture.Filters) (*refPrepared, error) {
	f, err := files.Open(ctx, layout.WorkloadKey(c))
	if err != nil {
		return nil, fmt.Errorf("read capture %d's workload: %w", c.ID, err)
	}
	defer f.Close()
	p := &refPrepared{dbs: map[string]uint32{"": 0}, dbNames: []string{""}}
	open := map[uint64]*refSession{}
	var readErr error
	for b := range classifyAll(f, filters, &readErr) {
		<-b.done
		for i, e := range b.events {
			s := open[e.Thread]
			if s == nil || e.Command == "Connect" && s.rows > 0 {
				s = &refSession{ordinal: uint32(len(p.all)), autocommit: true}
				p.all = append(p.all, s)
				open[e.Thread] = s
			}
			p.add(s, e, filters, &b.classes[i])
			if e.Command == "Quit" {
				delete(open, e.Thread)
			}
		}
	}
	if readErr != nil {
		return nil, fmt.Errorf("read capture %d's workload: %w", c.ID, readErr)
	}
	if !p.firstSeen {
		p.first = 0
	}
	return p, nil
}

// batch is a run of workload rows and, once done is closed, the classes of its statements
// that the filters keep.
func (p *refPrepared) db(name string) uint32 {
	i, ok := p.dbs[name]
	if !ok {
		i = uint32(len(p.dbNames))
		p.dbs[name] = i
		p.dbNames = append(p.dbNames, name)
	}
	return i
}

// add adds workload row e to its session s.
func (p *refPrepared) add(s *refSession, e workload.Event, filters capture.Filters, cl *classified) {
	s.rows++
	at := e.Time.UnixMicro()
	st := step{session: s.ordinal, offset: max(at, s.last)}
	switch e.Command {
	case "Query", "Execute":
		st.seq = s.seq
		s.seq++
		p.captured++
		if !p.firstSeen || at < p.first {
			p.first, p.firstSeen = at, true
		}
		if !filters.Keeps(e.User, e.DB) {
			return
		}
		st.kind, st.flags, st.sql, st.digest = kindStatement, cl.flags, e.SQL, cl.digest
		s.refTrack(cl.class)
		if s.inTxn {
			st.flags |= flagInTxn
		}
		s.statements++
		p.kept++
	case "Connect":
		st.kind = kindConnect
	case "Init DB", "Change user":
		st.kind = kindInitDB
	case "Quit":
		st.kind = kindQuit
	default: // Prepare, Close stmt, Ping, ...: the Execute rows carry what ran
		return
	}
	if st.kind != kindStatement && !filters.Keeps(e.User, e.DB) {
		return
	}
	st.db = p.db(e.DB)
	s.last = st.offset
	s.steps = append(s.steps, st)
}

// track follows the session's transaction through a statement of class cl.
func (s *refSession) refTrack(cl class) {
	switch {
	case cl.autocommit == 1:
		s.autocommit, s.inTxn = true, false // turning autocommit on commits
	case cl.autocommit == -1:
		s.autocommit = false
	case cl.begins:
		s.inTxn = true
	case cl.ends:
		s.inTxn = false
	case !s.autocommit:
		s.inTxn = true // without autocommit any statement opens a transaction
	}
}

// markTransactions marks each step that opens a transaction with when the transaction ends:
// the step after which the session is outside it again (its last step, if it never is).
func (s *refSession) refMarkTransactions() {
	end := s.steps[len(s.steps)-1].offset
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := &s.steps[i]
		in := st.kind == kindStatement && st.flags&flagInTxn != 0
		if !in {
			end = st.offset
			continue
		}
		if i == 0 || s.steps[i-1].flags&flagInTxn == 0 || s.steps[i-1].kind != kindStatement {
			st.flags |= flagTxnStart
			st.txnEnd = end
		}
	}
}

// assign drops sessions with no statement kept and groups the rest into shards: the largest
// first, each to the shard with the fewest statements that has room.
func (p *refPrepared) refAssign() [][]*refSession {
	var kept []*refSession
	for _, s := range p.all {
		if s.statements > 0 {
			s.steps[len(s.steps)-1].flags |= flagLast
			s.refMarkTransactions()
			kept = append(kept, s)
		} else {
			s.steps = nil
		}
	}
	p.sessions = len(kept)
	if len(kept) == 0 {
		return nil
	}
	n := (len(kept) + shardSessions - 1) / shardSessions
	shards := make([][]*refSession, n)
	load := make([]int64, n)
	bySize := slices.Clone(kept)
	slices.SortStableFunc(bySize, func(a, b *refSession) int { return int(b.statements - a.statements) })
	for _, s := range bySize {
		best := -1
		for i := range shards {
			if len(shards[i]) < shardSessions && (best < 0 || load[i] < load[best]) {
				best = i
			}
		}
		shards[best] = append(shards[best], s)
		load[best] += s.statements
	}
	for _, sh := range shards {
		slices.SortFunc(sh, func(a, b *refSession) int { return int(a.ordinal) - int(b.ordinal) })
	}
	return shards
}

// writeShard writes one shard's sessions' steps, merged in time order, to w; it returns how
// many statements it holds.
func (p *refPrepared) refWriteShard(w io.Writer, sessions []*refSession) (int64, error) {
	head := shardHead{}
	used := map[uint32]uint32{0: 0}
	head.DBs = []string{""}
	var statements int64
	for i, s := range sessions {
		head.Sessions = append(head.Sessions, shardSession{Ordinal: s.ordinal, Steps: len(s.steps)})
		for j := range s.steps {
			st := &s.steps[j]
			st.session = uint32(i)
			if _, ok := used[st.db]; !ok {
				used[st.db] = uint32(len(head.DBs))
				head.DBs = append(head.DBs, p.dbNames[st.db])
			}
			st.db = used[st.db]
			st.offset = max(0, st.offset-p.first)
			st.txnEnd = max(0, st.txnEnd-p.first)
		}
		statements += s.statements
	}
	sw, err := newShardWriter(w, head)
	if err != nil {
		return 0, err
	}
	h := &refMerge{sessions: sessions}
	for i, s := range sessions {
		if len(s.steps) > 0 {
			h.at = append(h.at, refCursor{session: i})
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		c := &h.at[0]
		s := sessions[c.session]
		if err := sw.write(&s.steps[c.next]); err != nil {
			return 0, err
		}
		c.next++
		if c.next == len(s.steps) {
			s.steps = nil // written: let it go
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	return statements, sw.close()
}

// merge is a heap of sessions' next steps, earliest first (the lower session on a tie).
type refMerge struct {
	sessions []*refSession
	at       []refCursor
}

type refCursor struct{ session, next int }

func (m *refMerge) Len() int { return len(m.at) }
func (m *refMerge) Less(i, j int) bool {
	a, b := m.at[i], m.at[j]
	oa, ob := m.sessions[a.session].steps[a.next].offset, m.sessions[b.session].steps[b.next].offset
	return oa < ob || oa == ob && a.session < b.session
}
func (m *refMerge) Swap(i, j int) { m.at[i], m.at[j] = m.at[j], m.at[i] }
func (m *refMerge) Push(x any)    { m.at = append(m.at, x.(refCursor)) }
func (m *refMerge) Pop() any {
	x := m.at[len(m.at)-1]
	m.at = m.at[:len(m.at)-1]
	return x
}
