package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/outcome"
	"github.com/mycrt/captures/pkg/workload"
)

// Files keeps a capture's workload and a replay's files (blob.Dir, s3blob.Bucket).
type Files interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Put(ctx context.Context, key string, body io.ReadSeeker) error
}

// MaxShardSessions is the most sessions one shard holds: each is a connection, and one
// invocation (a Lambda) has about 1,000 file descriptors.
const MaxShardSessions = 500

// shardSessions is MaxShardSessions, but for benchmarks that measure larger shards.
var shardSessions = MaxShardSessions

// Plan is what Prepare stores beside the shards (layout.ReplayPlanKey).
type Plan struct {
	capture.ReplayPlan
	ShardSessions   []int   `json:"shardSessions"`   // sessions of each shard
	ShardStatements []int64 `json:"shardStatements"` // statements of each shard
}

// Prepare reads capture c's workload file and stores replay r's shards: the capture's
// sessions (a thread reused after its Quit, or connecting again, is a new session) that r's
// filters keep a statement of, grouped into shards of at most MaxShardSessions balanced by
// statements, each shard's steps in time order (a session's in its file order, its offsets
// never going back). It returns the plan, without its Epoch, which the caller sets.
//
// Prepare's memory does not grow with the workload's statements: it spills each session's
// steps to a temporary file as it reads them (see spill.go), and writes each shard to another
// before storing it. It holds about 150 bytes per session (and 4 per database the session
// uses), while a session is open up to spillBlock bytes of its steps, and while a shard is
// written a block of each of its sessions; the rest is fixed (the reading pipeline's batches,
// the files' buffers: about 10 MB). Its temporary files take about the statements' text and
// 20 bytes per step, and one shard.
func Prepare(ctx context.Context, files Files, c capture.Capture, r capture.Replay) (capture.ReplayPlan, error) {
	sp, err := newSpill()
	if err != nil {
		return capture.ReplayPlan{}, err
	}
	defer sp.remove()
	p, err := split(ctx, files, c, r.Filters, sp)
	if err != nil {
		return capture.ReplayPlan{}, err
	}
	shards := p.assign()
	plan := Plan{ReplayPlan: capture.ReplayPlan{Shards: len(shards), Sessions: p.sessions, Statements: p.kept,
		Captured: p.captured, First: time.UnixMicro(p.first).UTC()}}
	out, err := os.CreateTemp("", "mycrt-shard-*")
	if err != nil {
		return capture.ReplayPlan{}, fmt.Errorf("create a shard's temporary file: %w", err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	w := bufio.NewWriterSize(out, 256<<10) // gzip writes a few hundred bytes at a time
	for n, shard := range shards {
		if err := out.Truncate(0); err != nil {
			return capture.ReplayPlan{}, fmt.Errorf("write shard %d: %w", n, err)
		}
		if _, err := out.Seek(0, io.SeekStart); err != nil {
			return capture.ReplayPlan{}, fmt.Errorf("write shard %d: %w", n, err)
		}
		w.Reset(out)
		statements, err := p.writeShard(w, sp.f, shard)
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			_, err = out.Seek(0, io.SeekStart)
		}
		if err != nil {
			return capture.ReplayPlan{}, fmt.Errorf("write shard %d: %w", n, err)
		}
		if err := files.Put(ctx, layout.ReplayShardKey(r.ID, n), out); err != nil {
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
type session struct {
	ordinal    uint32
	seq        uint32 // statement rows so far, kept or not
	steps      int    // kept, in its chain
	statements int64  // kept
	last       int64  // µs since the Unix epoch of its last step: offsets never go back
	begun      bool   // a row of it was read: a Connect starts another session
	inTxn      bool
	autocommit bool
	txnStep    bool     // its last step is a statement inside a transaction
	dbs        []uint32 // the databases of its steps, in the order they first came
	chain
}

// prepared is a workload split into sessions.
type prepared struct {
	all            []*session
	dbs            map[string]uint32
	dbNames        []string
	first          int64 // µs since the Unix epoch of the first statement
	captured, kept int64
	sessions       int
	firstSeen      bool
	spill          *spill
}

func split(ctx context.Context, files Files, c capture.Capture, filters capture.Filters, sp *spill) (*prepared, error) {
	f, err := files.Open(ctx, layout.WorkloadKey(c))
	if err != nil {
		return nil, fmt.Errorf("read capture %d's workload: %w", c.ID, err)
	}
	defer f.Close()
	p := &prepared{dbs: map[string]uint32{"": 0}, dbNames: []string{""}, spill: sp}
	open := map[uint64]*session{}
	var readErr error
	for b := range classifyAll(f, filters, &readErr) {
		<-b.done
		for i, e := range b.events {
			s := open[e.Thread]
			if s == nil || e.Command == "Connect" && s.begun {
				if s != nil {
					p.end(s)
				}
				s = &session{ordinal: uint32(len(p.all)), autocommit: true, chain: chain{txnAt: -1}}
				p.all = append(p.all, s)
				open[e.Thread] = s
			}
			p.add(s, e, filters, &b.classes[i])
			if e.Command == "Quit" {
				p.end(s)
				delete(open, e.Thread)
			}
		}
	}
	if readErr != nil {
		return nil, fmt.Errorf("read capture %d's workload: %w", c.ID, readErr)
	}
	for _, s := range open {
		p.end(s)
	}
	if sp.flush(); sp.err != nil {
		return nil, fmt.Errorf("write Prepare's temporary file: %w", sp.err)
	}
	if !p.firstSeen {
		p.first = 0
	}
	return p, nil
}

// end ends session s's steps: its open transaction ends at its last step.
func (p *prepared) end(s *session) {
	s.endTxn(p.spill, s.last)
	s.close(p.spill)
}

// batch is a run of workload rows and, once done is closed, the classes of its statements
// that the filters keep.
type batch struct {
	events  []workload.Event
	classes []classified
	done    chan struct{}
}

type classified struct {
	class
	digest uint64
}

const batchRows = 512

// classifyAll reads the workload file in batches, in order, classifying and fingerprinting
// their statements on every processor meanwhile; *err is the reading's once the channel closes.
func classifyAll(f io.Reader, filters capture.Filters, err *error) <-chan *batch {
	ordered := make(chan *batch, 16)
	work := make(chan *batch, 16)
	for range max(1, runtime.GOMAXPROCS(0)) {
		go func() {
			var ids digest.Classifier
			for b := range work {
				b.classes = make([]classified, len(b.events))
				for i, e := range b.events {
					if e.IsStatement() && filters.Keeps(e.User, e.DB) {
						b.classes[i].class = classify(e.SQL)
						b.classes[i].digest, _ = outcome.ParseDigest(ids.Classify(e.SQL).ID)
					}
				}
				close(b.done)
			}
		}()
	}
	go func() {
		defer close(ordered)
		defer close(work)
		cur := &batch{done: make(chan struct{})}
		send := func() {
			work <- cur
			ordered <- cur
			cur = &batch{done: make(chan struct{})}
		}
		*err = workload.Each(f, func(e workload.Event) error {
			cur.events = append(cur.events, e)
			if len(cur.events) == batchRows {
				send()
			}
			return nil
		})
		if len(cur.events) > 0 {
			send()
		}
	}()
	return ordered
}

func (p *prepared) db(name string) uint32 {
	i, ok := p.dbs[name]
	if !ok {
		i = uint32(len(p.dbNames))
		p.dbs[name] = i
		p.dbNames = append(p.dbNames, name)
	}
	return i
}

// add adds workload row e to its session s.
func (p *prepared) add(s *session, e workload.Event, filters capture.Filters, cl *classified) {
	s.begun = true
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
		s.track(cl.class)
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
	if !slices.Contains(s.dbs, st.db) {
		s.dbs = append(s.dbs, st.db)
	}
	// A transaction starts at a statement inside one after a step that is not, and ends at
	// the next step that is not (markTransactions, as it was, read each session whole).
	in := st.kind == kindStatement && st.flags&flagInTxn != 0
	if !in {
		s.endTxn(p.spill, st.offset)
	} else if !s.txnStep {
		st.flags |= flagTxnStart
	}
	s.txnStep = in
	s.put(p.spill, &st, s.last)
	s.last = st.offset
	s.steps++
}

// track follows the session's transaction through a statement of class cl.
func (s *session) track(cl class) {
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

// assign drops sessions with no statement kept and groups the rest into shards: the largest
// first, each to the shard with the fewest statements that has room.
func (p *prepared) assign() [][]*session {
	var kept []*session
	for _, s := range p.all {
		if s.statements > 0 {
			kept = append(kept, s)
		}
	}
	p.sessions = len(kept)
	if len(kept) == 0 {
		return nil
	}
	n := (len(kept) + shardSessions - 1) / shardSessions
	shards := make([][]*session, n)
	load := make([]int64, n)
	bySize := slices.Clone(kept)
	slices.SortStableFunc(bySize, func(a, b *session) int { return int(b.statements - a.statements) })
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
		slices.SortFunc(sh, func(a, b *session) int { return int(a.ordinal) - int(b.ordinal) })
	}
	return shards
}
