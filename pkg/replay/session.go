package replay

import (
	"database/sql/driver"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mycrt/captures/pkg/outcome"
)

// restoreMarker opens the statements a session sends again on its new connection after a
// hand-off, so that the target's log tells them from the workload's.
const restoreMarker = "/* mycrt-replay restore */ "

// maxRestore bounds the SET statements a session keeps to send again.
const maxRestore = 64

// Error numbers of outcomes that are the client's, not the server's (MySQL's CR_ codes).
const (
	errConnect    = 2003 // could not connect
	errLost       = 2013 // the connection broke during the statement
	errReadOnlyOn = 2000 // the session could not be made read-only: nothing is sent on it
)

// live is one session of a running shard.
type live struct {
	run     *run
	idx     int
	ordinal uint32
	notify  chan struct{}
	started bool // by the reader

	mu    sync.Mutex
	queue []queued
	done  int  // steps done by this invocation
	shut  bool // it takes no more steps

	// What the steps before the checkpoint left, gathered by the reader as it skips them.
	skipped   int
	connected bool     // the session was connected at the checkpoint
	takeover  bool     // its next connection goes on from the invocation before's
	restore   []string // its SET statements since it connected
	lostTemp  bool
	lostVar   bool

	raw  *greeted    // its connection's network connection (see track), under mu
	busy atomic.Bool // a statement of it is in flight

	wantDB  uint32 // the database it is in, as far as its steps tell
	inTxn   bool
	conn    driver.Conn
	connDB  uint32
	hasSlot bool
}

type queued struct {
	st   step
	size int64
}

// pos is how many of the session's steps are done, by this invocation and those before.
func (s *live) pos() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skipped + s.done
}

// skip takes in a step done before the checkpoint.
func (s *live) skip(st *step) {
	s.skipped++
	switch st.kind {
	case kindConnect, kindQuit:
		s.connected = st.kind == kindConnect
		s.restore, s.lostTemp, s.lostVar, s.inTxn = nil, false, false, false
	case kindInitDB:
		s.wantDB = st.db
	case kindStatement:
		s.connected = true
		if st.db != 0 {
			s.wantDB = st.db
		}
		if st.flags&(flagSetting|flagUserVarSet) != 0 && (!s.run.readOnly || st.flags&flagReadOnly != 0) && len(s.restore) < maxRestore {
			st.materialize()
			s.restore = append(s.restore, st.sql)
		}
		s.lostTemp = s.lostTemp || st.flags&flagTempTable != 0
		s.lostVar = s.lostVar || st.flags&flagUserVarInto != 0
		s.inTxn = st.flags&flagInTxn != 0
	}
}

// push queues a step; false once the session takes no more.
func (s *live) push(st step, size int64) bool {
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, queued{st, size})
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return true
}

// next waits for the session's next step; false when it must stop (the cut outside a
// transaction, a stop, the deadline, or the shard's end).
func (s *live) next() (queued, bool) {
	cut := s.run.cutC
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			q := s.queue[0]
			s.queue[0] = queued{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return q, true
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-cut:
			if !s.inTxn {
				return queued{}, false
			}
			cut = nil
		case <-s.run.stopC:
			return queued{}, false
		case <-s.run.hardC:
			s.splitting()
			return queued{}, false
		}
	}
}

// splitting counts the session's transaction as cut short, if it is inside one and the
// deadline's margin (not a stop) ends it.
func (s *live) splitting() {
	if s.inTxn && !s.run.stopped.Load() {
		s.run.split.Add(1)
	}
}

// loop runs the session's steps until it ends or must stop, then closes its connection and
// lets go of what it had queued.
func (s *live) loop() {
	defer s.shutDown()
	s.takeover = s.connected
	if !s.connected {
		s.close() // opened ahead, but the session had closed by the checkpoint
	}
	for {
		q, ok := s.next()
		if !ok {
			return
		}
		ran := s.step(&q.st)
		s.run.budget.Release(q.size)
		if !ran {
			return
		}
		s.mu.Lock()
		s.done++
		s.mu.Unlock()
		if q.st.flags&flagLast != 0 {
			return
		}
	}
}

func (s *live) shutDown() {
	s.close()
	s.mu.Lock()
	s.shut = true
	var size int64
	for _, q := range s.queue {
		size += q.size
	}
	s.queue = nil
	s.mu.Unlock()
	s.run.budget.Release(size)
}

// schedule is when st is due: the epoch plus its offset divided by the speed (the epoch
// itself at speed 0).
func (s *live) schedule(st *step) time.Time {
	if s.run.speed <= 0 {
		return s.run.epoch
	}
	return s.run.epoch.Add(time.Duration(float64(st.offset) * float64(time.Microsecond) / s.run.speed))
}

// mayStart tells whether the session may start st now: not past the cut (nor, at a speed, due
// past it) unless inside a transaction, which only the deadline's margin cuts short.
func (s *live) mayStart(st *step, due time.Time) bool {
	switch {
	case s.run.stopped.Load():
		return false
	case s.inTxn:
		select {
		case <-s.run.hardC:
			s.splitting()
			return false
		default:
			return true
		}
	}
	now := s.run.r.now()
	if !now.Before(s.run.cut) || s.run.speed > 0 && !due.Before(s.run.cut) {
		return false
	}
	// Nor does it open a transaction that would still be open half a lead before the deadline,
	// taking as long as it took when captured from now or its schedule, whichever is later: the
	// margin would cut it short.
	if st.flags&flagTxnStart != 0 && s.run.speed > 0 && !s.run.job.Deadline.IsZero() {
		end := s.schedule(&step{offset: st.txnEnd})
		if now.After(due) {
			end = end.Add(now.Sub(due))
		}
		return end.Before(s.run.job.Deadline.Add(-s.run.lead / 2))
	}
	return true
}

// wait sleeps until t; false if the session must stop first.
func (s *live) wait(t time.Time) bool {
	d := t.Sub(s.run.r.now())
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-s.run.stopC:
		return false
	case <-s.run.hardC:
		return false
	}
}

// step does one step at its time; false if it was not started.
func (s *live) step(st *step) bool {
	due := s.schedule(st)
	if !s.mayStart(st, due) {
		return false
	}
	if !s.wait(due) {
		s.splitting()
		return false
	}
	switch st.kind {
	case kindConnect:
		s.close()
		s.wantDB, s.takeover = st.db, false
		if err := s.connect(st.db); err != nil {
			s.run.r.log().Debug("a session's connect failed: its next statement connects again", "session", s.ordinal, "error", err.Error())
		}
	case kindInitDB:
		s.wantDB = st.db
		if s.conn != nil && st.db != 0 {
			s.use(st.db)
		}
	case kindQuit:
		s.close()
		s.takeover, s.inTxn = false, false
	case kindStatement:
		s.statement(st, due)
		s.inTxn = st.flags&flagInTxn != 0
	}
	return true
}

// statement sends one statement and records its outcome.
func (s *live) statement(st *step, due time.Time) {
	run := s.run
	rec := outcome.Record{Session: s.ordinal, Seq: st.seq, Digest: st.digest}
	defer func() {
		run.out.write(&rec)
		run.statements.Add(1)
		if rec.Errno != 0 {
			run.errs.Add(1)
		}
	}()
	if run.readOnly && st.flags&flagReadOnly == 0 && (run.r.letThrough == nil || !run.r.letThrough(st.sql)) {
		rec.Skipped, rec.Start = true, run.r.now().Sub(run.epoch)
		run.skipped.Add(1)
		return
	}
	if st.flags&flagUse == 0 && st.db != 0 {
		s.wantDB = st.db
	}
	if s.conn != nil && st.flags&flagUse == 0 && s.wantDB != 0 && s.wantDB != s.connDB {
		s.use(s.wantDB) // which closes a connection that broke
	}
	var err error
	if s.conn == nil {
		err = s.connect(s.wantDB)
	}
	if err == nil && s.takeover {
		s.takeOver()
	}
	start := run.r.now()
	rec.Start = start.Sub(run.epoch)
	if run.speed > 0 {
		rec.Lateness = max(0, start.Sub(due))
	}
	if err != nil {
		rec.Errno, rec.Message = failure(err, errConnect)
		return
	}
	rec.Rows, err = s.send(st)
	rec.Latency = run.r.now().Sub(start)
	if err != nil {
		rec.Errno, rec.Message = failure(err, errLost)
		if !isServerError(err) {
			s.close() // the connection broke: the session goes on with a fresh one
		}
		return
	}
	if st.flags&flagUse != 0 {
		s.wantDB, s.connDB = st.db, st.db
	}
}
