package recording_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/store"
)

// rndNext is the server's Handler_read_rnd_next: rows examined by table scans, the cost of
// reading a CSV log table.
func (f *fixture) rndNext(t testing.TB) int64 {
	t.Helper()
	var name string
	var n int64
	if err := f.db.Root(t).QueryRow("SHOW GLOBAL STATUS LIKE 'Handler_read_rnd_next'").Scan(&name, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fillLog puts n rows in mysql.general_log as if logged a day ago, with the log off: how a
// server that has logged to the table for a long while looks. The log table refuses INSERT, so
// the rows go into a copy, swapped in.
func (f *fixture) fillLog(t testing.TB, n int) {
	t.Helper()
	f.db.Exec(t,
		"SET GLOBAL general_log = OFF",
		"CREATE TABLE mysql.filled LIKE mysql.general_log",
		fmt.Sprintf(`INSERT INTO mysql.filled SELECT NOW(6) - INTERVAL 1 DAY, 'dba[dba] @ localhost []', 1, 1, 'Query',
  CONCAT('SELECT ', seq, ' /* the DBA''s */') FROM mysql.seq_1_to_%d`, n),
		"RENAME TABLE mysql.general_log TO mysql.emptied, mysql.filled TO mysql.general_log",
		"DROP TABLE mysql.emptied",
	)
}

// logTables lists the mysql schema's tables whose names start with prefix, with their rows.
func (f *fixture) logTables(t testing.TB, prefix string) map[string]int {
	t.Helper()
	rows, err := f.db.Root(t).Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME LIKE ?", prefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	rows.Close()
	out := map[string]int{}
	for _, name := range names {
		var n int
		if err := f.db.Root(t).QueryRow("SELECT COUNT(*) FROM mysql." + name + " WHERE argument LIKE '%the DBA''s%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

func (f *fixture) collect(t testing.TB, c capture.Capture) []capture.Capture {
	t.Helper()
	got, err := f.rec.Collect(context.Background(), f.env, f.reload(t, c))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestRotationReadsOnlyWhatIsNew: with 50,000 rows already in the log table (the DBA's, logged
// to the table before any capture), the capture's first collection sets them aside under a
// kept name, untouched, and each collection then examines about the rows logged since the
// last one, not the table's history.
func TestRotationReadsOnlyWhatIsNew(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const history = 50000
	f.fillLog(t, history)
	f.db.Exec(t, "SET GLOBAL log_output = 'TABLE'", "SET GLOBAL general_log = ON")
	c := f.begin(t, f.newCapture(t, "at scale"))
	var want []string
	for i := range 3 {
		want = append(want, f.runOrders(t, i*200, i*200+200)...)
		f.settled(t)
		before := f.rndNext(t)
		f.collect(t, c)
		// 200 statements, their sessions' Connect and Quit, the recorder's own rows since the
		// last collection, and a few rows of system tables.
		if examined := f.rndNext(t) - before; examined > 200*11/10+100 {
			t.Errorf("collection %d examined %d rows for 200 new statements", i+1, examined)
		}
	}
	c = f.end(t, c)
	sameStatements(t, appStatements(f.workload(t, c)), want)
	f.sameDigest(t, c, want)

	kept := f.logTables(t, "general_log_kept_")
	if len(kept) != 1 {
		t.Fatalf("kept tables: %v, want one", kept)
	}
	for name, n := range kept {
		if n != history {
			t.Errorf("mysql.%s holds %d of the DBA's rows, want %d", name, n, history)
		}
	}
	if left := f.logTables(t, "mycrt_general_log_"); len(left) != 0 {
		t.Errorf("rotated tables left behind: %v", left)
	}
	// The DBA's logging was on before: it is on after, to the table, as found.
	if on, out := f.globals(t); on != "1" || out != "TABLE" {
		t.Errorf("general log %s to %s after the capture, want 1 to TABLE", on, out)
	}
}

// TestCrashAfterSwapBeforeRead: a collector that dies after moving the rows out of the live
// table, before reading them, leaves the rotation pending; the next collection reads that
// table first. Nothing is lost or repeated, with MyCRT's procedures and with RDS's.
func TestCrashAfterSwapBeforeRead(t *testing.T) {
	t.Parallel()
	for name, newFixture := range map[string]func(testing.TB) *fixture{
		"own procedures": newFixture, "RDS rotation": newRDSRotationFixture,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var crashes atomic.Int32
			crashed := errors.New("the collector died after the swap")
			recording.SetAfterSwap(f.rec, func(lease.Collection) error {
				if crashes.Add(1) == 1 {
					return crashed
				}
				return nil
			})
			c := f.begin(t, f.newCapture(t, "crashy"))
			want := f.runOrders(t, 0, 100)
			f.settled(t)
			if _, err := f.rec.Collect(context.Background(), f.env, f.reload(t, c)); !errors.Is(err, crashed) {
				t.Fatalf("Collect: %v, want the injected crash", err)
			}
			if got := f.reload(t, c).Workload; got.Statements != 0 {
				t.Fatalf("the crashed collection counted: %+v", got)
			}
			// More rows since, then the next tick, then the stop.
			want = append(want, f.runOrders(t, 100, 150)...)
			f.settled(t)
			f.collect(t, c)
			want = append(want, f.runOrders(t, 150, 175)...)
			c = f.end(t, c)
			sameStatements(t, appStatements(f.workload(t, c)), want)
			f.sameDigest(t, c, want)
		})
	}
}

// TestCollectionsRaceRotations: 4 sessions write tagged statements without a pause while
// collections rotate the log under them, several at once; every statement is recorded
// exactly once.
func TestCollectionsRaceRotations(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.begin(t, f.newCapture(t, "racy"))
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written []string
		count   atomic.Int64 // len(written)
	)
	for w := range 4 {
		app := f.db.As(t, "app", "app-secret", "shop")
		app.SetMaxOpenConns(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				q := fmt.Sprintf("SELECT %d AS writer, %d AS n", w, i)
				if _, err := app.Exec(q); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				written = append(written, q)
				mu.Unlock()
				count.Add(1)
			}
		}()
	}
	var collections sync.WaitGroup
	for range 3 {
		collections.Add(1)
		go func() {
			defer collections.Done()
			for range 8 {
				if _, err := f.rec.Collect(context.Background(), f.env, f.reload(t, c)); err != nil {
					t.Error(err)
				}
				// The writers get some statements in before this collector's next rotation.
				if more := count.Load() + 20; !poll(10*time.Second, func() bool { return count.Load() >= more }) {
					t.Error("the writers stopped writing")
					return
				}
			}
		}()
	}
	collections.Wait()
	cancel()
	wg.Wait()
	c = f.end(t, c)
	if c.Workload.Fragments < 3 {
		t.Errorf("only %d fragments: the collections did not race the writers", c.Workload.Fragments)
	}
	seen := map[string]int{}
	for _, q := range appStatements(f.workload(t, c)) {
		seen[q]++
	}
	for _, q := range written {
		if seen[q] != 1 {
			t.Errorf("%q recorded %d times", q, seen[q])
		}
		delete(seen, q)
	}
	if len(seen) > 0 {
		t.Errorf("%d statements recorded that nobody wrote", len(seen))
	}
	t.Logf("%d statements, %d fragments", len(written), c.Workload.Fragments)
}

// TestTenCapturesOneServer: 10 captures with overlapping windows on one server share its
// collections (one read of the log per tick for all of them) and each gets exactly the
// statements run inside its own window.
func TestTenCapturesOneServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 10
	captures := make([]capture.Capture, n)
	want := make([][]string, n)
	batch := 0
	run := func(open []int) {
		stmts := f.runOrders(t, batch*10, batch*10+10)
		batch++
		for _, i := range open {
			want[i] = append(want[i], stmts...)
		}
	}
	var open []int
	// Each capture begins after the batch before it, and the tick after every other begin
	// collects for all open captures at once.
	for i := range n {
		captures[i] = f.begin(t, f.newCapture(t, fmt.Sprintf("window %d", i)))
		open = append(open, i)
		run(open)
		if i%2 == 1 {
			f.settled(t)
			if got := f.collect(t, captures[i]); len(got) != len(open) {
				t.Errorf("a tick collected for %d captures, want all %d open", len(got), len(open))
			}
		}
	}
	// They stop in another order than they began, with a batch between stops.
	for _, i := range []int{3, 0, 9, 5, 1, 7, 2, 8, 4, 6} {
		captures[i] = f.end(t, captures[i])
		open = removeInt(open, i)
		run(open)
	}
	for i, c := range captures {
		sameStatements(t, appStatements(f.workload(t, c)), want[i])
	}
	if left := f.logTables(t, "mycrt_general_log_"); len(left) != 0 {
		t.Errorf("rotated tables left behind: %v", left)
	}
}

func removeInt(s []int, v int) []int {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// TestInPlaceWithoutProcedures: a server without the rotation procedures is read in place, by
// time, and the workload is just as exact (only costlier).
func TestInPlaceWithoutProcedures(t *testing.T) {
	t.Parallel()
	f := newInPlaceFixture(t)
	c := f.begin(t, f.newCapture(t, "in place"))
	want := f.runOrders(t, 0, 100)
	f.settled(t)
	f.collect(t, c)
	want = append(want, f.runOrders(t, 100, 150)...)
	c = f.end(t, c)
	sameStatements(t, appStatements(f.workload(t, c)), want)
	if tables := f.logTables(t, "general_log_"); len(tables) != 0 {
		t.Errorf("tables made without the procedures: %v", tables)
	}
}

// TestNothingKeptBetweenCaptures: with the log off before, what it wrote after a capture's
// last collection is discarded when the capture turns it off, so the next capture finds an
// empty table and keeps nothing, however many captures come and go.
func TestNothingKeptBetweenCaptures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 3 {
		c := f.begin(t, f.newCapture(t, fmt.Sprintf("capture %d", i)))
		want := f.runOrders(t, i*100, i*100+100)
		c = f.end(t, c)
		sameStatements(t, appStatements(f.workload(t, c)), want)
		// The application goes on after the stop; the log is off.
		f.runOrders(t, 1000+i*10, 1000+i*10+10)
	}
	if kept := f.logTables(t, "general_log_kept_"); len(kept) != 0 {
		t.Errorf("kept tables: %v, want none: the DBA never logged to the table", kept)
	}
	var n int
	if err := f.db.Root(t).QueryRow("SELECT COUNT(*) FROM mysql.general_log").Scan(&n); err != nil || n != 0 {
		t.Errorf("mysql.general_log holds %d rows (%v), want none", n, err)
	}
}

// sessionsSpy notes the windows collections look the recorder's own sessions up in.
type sessionsSpy struct {
	*store.Store
	mu    sync.Mutex
	froms []time.Time
}

func (s *sessionsSpy) OwnSessions(ctx context.Context, server string, from, to time.Time) ([]uint64, error) {
	s.mu.Lock()
	s.froms = append(s.froms, from)
	s.mu.Unlock()
	return s.Store.OwnSessions(ctx, server, from, to)
}

// TestOwnSessionsLookBackOnlyToTheLastCollection: a collection looks the recorder's own
// sessions up around the rows it reads, from its readers' last collection, not from when they
// began. A capture recording for weeks would otherwise read every registration of its life at
// each tick (a cost growing with its age), and the wider the window, the likelier an
// application's connection takes an id the recorder had before a server restart.
func TestOwnSessionsLookBackOnlyToTheLastCollection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	spy := &sessionsSpy{Store: f.store}
	f.rec.Store = spy
	c := f.begin(t, f.newCapture(t, "long"))
	var (
		want  []string
		first time.Time // the watermark the first collection left
	)
	for i := range 2 {
		want = append(want, f.runOrders(t, i*10, i*10+10)...)
		f.settled(t)
		if got := f.collect(t, c); i == 0 && len(got) == 1 {
			first = got[0].Workload.Watermark
		}
	}
	if first.IsZero() {
		t.Fatal("the first collection did not collect for the capture")
	}
	// A lookup from the begin is told from one from the last collection only if they differ.
	if !c.Workload.Begin.Before(first.Add(-time.Millisecond)) {
		t.Fatalf("the first collection's watermark %s is not after the begin %s: the test cannot tell", first.Format(time.RFC3339Nano), c.Workload.Begin.Format(time.RFC3339Nano))
	}
	last := spy.froms[len(spy.froms)-1]
	if from := first.Add(-recording.OwnSessionsLag); last.Before(from.Add(-time.Millisecond)) {
		t.Errorf("the second collection looked for own sessions from %s, before its readers' last collection (%s) less the lag; the capture began at %s",
			last.Format(time.RFC3339Nano), first.Format(time.RFC3339Nano), c.Workload.Begin.Format(time.RFC3339Nano))
	}
	sameStatements(t, appStatements(f.workload(t, f.end(t, c))), want)
}
