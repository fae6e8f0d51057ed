package replay_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/outcome"
	"github.com/mycrt/captures/pkg/replay"
)

// TestSysbenchReplay captures 8 sysbench threads once and replays them onto fresh copies of
// the source's starting state, each subtest its own target.
func TestSysbenchReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sysbench(t, f.src, "prepare", "--threads=4")
	start := f.dump(t)
	c := f.record(t, func() { sysbench(t, f.src, "run", "--threads=8", "--time=4", "--db-ps-mode=auto") })
	sessions, statements := sysbenchSessions(t, f, c, 8, 1000)

	// First and alone (the other subtests wait for it): its deadlines are the tightest.
	t.Run("forced hand-offs", func(t *testing.T) {
		target, env := f.target(t, start)
		log := logToFile(t, target)
		local := &replay.Local{}
		out := f.replay(t, c, env, options{limit: 5 * time.Second, local: local, speed: 0.5,
			// At half speed the 4 s capture takes 8 s: cuts at 4 s and 7 s. A lead of 1 s (a
			// fifth of the invocation) leaves a transaction open at the cut 750 ms to end, and
			// each invocation 3 s of its own, even under -race beside the other tests.
			hook: func(r *replay.Runner) { r.Lead = time.Second }})
		if out.err != nil {
			t.Fatal(out.err)
		}
		if n := len(local.Continued()); n < 2 {
			t.Errorf("%d hand-offs: the limit forced too few to show anything", n)
		}
		restored, split := 0, 0
		for _, r := range out.results {
			restored += r.Restored
			split += r.Split
		}
		if split != 0 {
			t.Errorf("%d transactions split at a deadline", split)
		}
		noErrors(t, out.outcomes)
		if restored == 0 {
			t.Errorf("no session was taken over by a next invocation")
		}
		sameSessions(t, sessions, connectionsOf(t, log))
		if len(out.outcomes) != statements {
			t.Errorf("%d outcomes of %d statements", len(out.outcomes), statements)
		}
		q := latenessOf(out.outcomes, 0.5, 0.99)
		t.Logf("%d invocations, %d sessions taken over; lateness p50 %s, p99 %s", len(out.results), restored, q[0], q[1])
	})

	t.Run("every session in order", func(t *testing.T) {
		t.Parallel()
		target, env := f.target(t, start)
		log := logToFile(t, target)
		out := f.replay(t, c, env, options{})
		if out.err != nil {
			t.Fatal(out.err)
		}
		noErrors(t, out.outcomes)
		sameSessions(t, sessions, connectionsOf(t, log))
		if len(out.outcomes) != statements {
			t.Errorf("%d outcomes of %d statements", len(out.outcomes), statements)
		}
		q := latenessOf(out.outcomes, 0.5, 0.99)
		t.Logf("%d sessions, %d statements; lateness p50 %s, p99 %s", len(sessions), statements, q[0], q[1])
	})

	t.Run("read-only leaves the tables", func(t *testing.T) {
		t.Parallel()
		target, env := f.target(t, start)
		before := checksums(t, target)
		out := f.replay(t, c, env, options{mode: capture.ReplayReadOnly, speed: -1})
		if out.err != nil {
			t.Fatal(out.err)
		}
		sent, skipped := 0, 0
		for _, r := range out.outcomes {
			if r.Skipped {
				skipped++
			} else {
				sent++
				if r.Errno != 0 {
					t.Errorf("a read-only statement failed: %d %s", r.Errno, r.Message)
				}
			}
		}
		if sent == 0 || skipped == 0 {
			t.Errorf("%d statements sent, %d skipped: want the reads sent, the writes skipped", sent, skipped)
		}
		if after := checksums(t, target); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("read-only replay changed the tables: %v, were %v", after, before)
		}
	})

	t.Run("read-only sessions refuse a write let through", func(t *testing.T) {
		t.Parallel()
		target, env := f.target(t, start)
		before := checksums(t, target)
		updates := func(sql string) bool { return strings.HasPrefix(sql, "UPDATE") }
		out := f.replay(t, c, env, options{mode: capture.ReplayReadOnly, speed: -1,
			hook: func(r *replay.Runner) { replay.LetThrough(r, updates) }})
		if out.err != nil {
			t.Fatal(out.err)
		}
		refused := 0
		for _, r := range out.outcomes {
			if r.Errno == 1792 { // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
				refused++
			}
		}
		if refused == 0 {
			t.Errorf("no update was refused by the server")
		}
		if after := checksums(t, target); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("the updates let through changed the tables: %v, were %v", after, before)
		}
	})

	t.Run("stop closes every session", func(t *testing.T) {
		t.Parallel()
		target, env := f.target(t, start)
		local := &replay.Local{}
		out := f.replay(t, c, env, options{local: local, started: func(id int64) {
			go func() {
				poll(30*time.Second, func() bool { return local.Progress(id).Statements >= 200 })
				local.Stop(id)
			}()
		}})
		if out.err != nil {
			t.Fatal(out.err)
		}
		if len(out.results) != 1 || !out.results[0].Done {
			t.Fatalf("results %+v: want one, done", out.results)
		}
		if len(out.outcomes) >= statements {
			t.Errorf("%d outcomes of %d statements: the stop stopped nothing", len(out.outcomes), statements)
		}
		eventually(t, 5*time.Second, "the target's sessions closed", func() bool { return appConnections(t, target) == 0 })
	})

	t.Run("a killed invocation closes every session", func(t *testing.T) {
		t.Parallel()
		target, env := f.target(t, start)
		root := target.Root(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := f.replay(t, c, env, options{ctx: ctx, started: func(int64) {
			go func() {
				poll(30*time.Second, func() bool { n, _ := countApp(root); return n == 8 })
				cancel()
			}()
		}})
		if !errors.Is(out.err, context.Canceled) {
			t.Fatalf("err %v, want the context's", out.err)
		}
		eventually(t, 5*time.Second, "the target's sessions closed", func() bool { return appConnections(t, target) == 0 })
	})
}

// noErrors fails t for every statement that failed on the client's side (a connection that
// could not be made or broke: the session's next statements then run on a new one, which
// breaks the sequences the target's log is checked against, so say why first). The server's
// errors are logged: sessions replayed with other timing than captured may deadlock (1213).
// sysbenchSessions is sessionsOf c and their statements in all, failing t unless c holds
// threads sessions of at least least statements in all.
func sysbenchSessions(t testing.TB, f *fixture, c capture.Capture, threads, least int) ([][]string, int) {
	t.Helper()
	sessions := sessionsOf(t, f, c)
	statements := 0
	for _, s := range sessions {
		statements += len(s)
	}
	if len(sessions) != threads || statements < least {
		t.Fatalf("%d sessions of %d statements captured: want sysbench's %d threads, at least %d statements", len(sessions), statements, threads, least)
	}
	return sessions, statements
}

func noErrors(t testing.TB, recs []outcome.Record) {
	t.Helper()
	for _, r := range recs {
		switch {
		case r.Errno >= 2000:
			t.Errorf("session %d statement %d failed: %d %s", r.Session, r.Seq, r.Errno, r.Message)
		case r.Errno != 0:
			t.Logf("session %d statement %d: %d %s", r.Session, r.Seq, r.Errno, r.Message)
		}
	}
}
