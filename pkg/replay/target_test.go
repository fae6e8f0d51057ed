package replay_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/replay"
	"github.com/mycrt/captures/pkg/workload"
)

// TestConnectionsCapped: 8 concurrent sessions replayed with maxConnections 2 never hold more
// than 2 connections on the target; the others wait their turn, late, and all run.
func TestConnectionsCapped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.record(t, func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				db := f.src.As(t, "app", "app-secret", "shop")
				db.SetMaxOpenConns(1)
				for range 3 {
					if _, err := db.Exec("SELECT SLEEP(0.05)"); err != nil {
						t.Error(err)
					}
				}
				db.Close()
			})
		}
		wg.Wait()
	})
	target, env := f.target(t, nil)
	log := logToFile(t, target)
	out := f.replay(t, c, env, options{maxConns: 2})
	if out.err != nil {
		t.Fatal(out.err)
	}
	if len(out.outcomes) != 24 {
		t.Fatalf("%d outcomes, want 24", len(out.outcomes))
	}
	late := 0
	for _, r := range out.outcomes {
		if r.Errno != 0 {
			t.Errorf("session %d statement %d: %d %s", r.Session, r.Seq, r.Errno, r.Message)
		}
		if r.Lateness > 50*time.Millisecond {
			late++
		}
	}
	// As the server saw them: a session is busy from its first statement to its last, which the
	// server logs before it answers (its Connect and Quit are logged by threads of their own,
	// the Quit maybe after the next session's Connect; its process list lags likewise).
	if m := mostBusy(t, log); m != 2 {
		t.Errorf("the target ran statements of up to %d of the replay's sessions at once, want 2", m)
	}
	if late == 0 {
		t.Error("no session waited for a connection: the cap held nothing back")
	}
}

// TestSameServer proves the target apart from the capture's server over both connections,
// and falls back on the recorded claim when the capture's server cannot be reached.
func TestSameServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.record(t, func() {
		if _, err := f.src.As(t, "app", "app-secret", "shop").Exec("SELECT 1"); err != nil {
			t.Error(err)
		}
	})
	_, other := f.target(t, nil)
	sameAsSource := f.environment(t, f.src, "app", "app-secret")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	byName := sameAsSource // the source's server by another name
	byName.Host = "localhost"
	twin := mysqltest.StartWith(t, mysqltest.Options{Twin: f.src}) // another server claiming the source's identity
	twin.Exec(t, accounts...)
	twinEnv := f.environment(t, twin, "app", "app-secret")
	gone := f.env
	gone.Port = l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	for _, tc := range []struct {
		name           string
		source, target capture.Environment
		want           bool
	}{
		{"the source's server as another user", f.env, sameAsSource, true},
		{"another server", f.env, other, false},
		{"the source's server by another name", f.env, byName, true},
		{"another server claiming the source's identity", f.env, twinEnv, false},
		{"source unreachable, target claims the recorded server", gone, sameAsSource, true},
		{"source unreachable, target another server", gone, other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.rec.SameServer(context.Background(), tc.source, tc.target, c.Server)
			if err != nil || got != tc.want {
				t.Errorf("SameServer = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := f.rec.SameServer(context.Background(), f.env, gone, c.Server); err == nil {
		t.Error("an unreachable target is no error")
	}
}

// failingPuts fails to store outcome files.
type failingPuts struct{ blob.Dir }

func (f failingPuts) Put(ctx context.Context, key string, body io.ReadSeeker) error {
	if strings.Contains(key, "/outcomes/") {
		return errors.New("the bucket is gone")
	}
	return f.Dir.Put(ctx, key, body)
}

// TestFailuresCloseEveryConnection: whatever fails, no connection of the replay is left open
// on the target, and a connection the target kills is an outcome the session goes on after.
func TestFailuresCloseEveryConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "CREATE TABLE shop.t (id INT PRIMARY KEY)")
	c := f.record(t, func() {
		var wg sync.WaitGroup
		for s := range 4 {
			wg.Go(func() {
				db := f.src.As(t, "app", "app-secret", "shop")
				db.SetMaxOpenConns(1)
				for i := range 10 {
					if _, err := db.Exec("INSERT INTO t VALUES (?)", s*100+i); err != nil {
						t.Error(err)
					}
					if _, err := db.Exec("SELECT SLEEP(0.03)"); err != nil {
						t.Error(err)
					}
				}
				db.Close()
			})
		}
		wg.Wait()
	})
	t.Run("outcomes not stored", func(t *testing.T) {
		target, env := f.target(t, f.dump(t))
		target.Exec(t, "TRUNCATE shop.t")
		out := f.replay(t, c, env, options{hook: func(r *replay.Runner) { r.Files = failingPuts{f.files} }})
		if out.err == nil || !strings.Contains(out.err.Error(), "the bucket is gone") {
			t.Fatalf("err %v, want the bucket's", out.err)
		}
		eventually(t, 5*time.Second, "the target's sessions closed", func() bool { return appConnections(t, target) == 0 })
	})
	t.Run("a connection killed", func(t *testing.T) {
		target, env := f.target(t, f.dump(t))
		target.Exec(t, "TRUNCATE shop.t")
		root := target.Root(t)
		killed := make(chan error, 1)
		out := f.replay(t, c, env, options{started: func(int64) {
			go func() {
				var id int64
				if !poll(10*time.Second, func() bool {
					return root.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'app' AND INFO LIKE 'SELECT SLEEP%' LIMIT 1").Scan(&id) == nil
				}) {
					killed <- errors.New("no statement of the replay seen running")
					return
				}
				_, err := root.Exec("KILL CONNECTION " + strconv.FormatInt(id, 10))
				killed <- err
			}()
		}})
		if err := <-killed; err != nil {
			t.Fatal(err)
		}
		if out.err != nil {
			t.Fatal(out.err)
		}
		failed := 0
		for _, r := range out.outcomes {
			if r.Errno != 0 {
				failed++
			}
		}
		var rows int
		if err := root.QueryRow("SELECT COUNT(*) FROM shop.t").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if failed != 1 || rows != 40 {
			t.Errorf("%d statements failed, %d rows inserted: want the killed one alone, and all 40 rows", failed, rows)
		}
		eventually(t, 5*time.Second, "the target's sessions closed", func() bool { return appConnections(t, target) == 0 })
	})
}

// TestInterruptedStatementsEndOnTheServer: a statement in flight when a replay is stopped or
// killed is broken off on the target too, not left running there (a SLEEP(60) here, which a
// closed client connection alone would not end).
func TestInterruptedStatementsEndOnTheServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(ms int, command, sql string) workload.Event {
		return workload.Event{Time: t0.Add(time.Duration(ms) * time.Millisecond), Thread: 1, User: "app", DB: "shop", Command: command, SQL: sql}
	}
	c := capture.Capture{ID: 4242, EnvID: f.env.ID}
	storeEvents(t, f, c, []workload.Event{ev(0, "Connect", "app@h on shop using TCP/IP"), ev(1, "Query", "SELECT SLEEP(60)"),
		ev(60001, "Query", "SELECT 1"), ev(60002, "Quit", "")})
	sleeping := func(root *sql.DB) bool {
		var n int
		return root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app' AND INFO LIKE 'SELECT SLEEP%'").Scan(&n) == nil && n == 1
	}
	t.Run("stopped", func(t *testing.T) {
		t.Parallel()
		target, env := f.target(t, nil)
		root := target.Root(t)
		local := &replay.Local{}
		start := time.Now()
		out := f.replay(t, c, env, options{local: local, started: func(id int64) {
			go func() {
				poll(10*time.Second, func() bool { return sleeping(root) })
				local.Stop(id)
			}()
		}})
		if out.err != nil || len(out.results) != 1 || !out.results[0].Done {
			t.Fatalf("results %+v, %v: want one, done", out.results, out.err)
		}
		eventually(t, 5*time.Second, "the target's sessions closed", func() bool { return appConnections(t, target) == 0 })
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("the stop took %s", took)
		}
	})
	t.Run("killed", func(t *testing.T) {
		t.Parallel()
		target, env := f.target(t, nil)
		root := target.Root(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := f.replay(t, c, env, options{ctx: ctx, started: func(int64) {
			go func() {
				poll(10*time.Second, func() bool { return sleeping(root) })
				cancel()
			}()
		}})
		if !errors.Is(out.err, context.Canceled) {
			t.Fatalf("err %v, want the context's", out.err)
		}
		eventually(t, 5*time.Second, "the target's sessions closed", func() bool { return appConnections(t, target) == 0 })
	})
}

// mostBusy is the most sessions of app a general log file shows between their first
// statement and their last at once.
func mostBusy(t testing.TB, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ thread, command, arg string }
	var rows []row
	last := map[string]int{}
	app := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := fileLogLine.FindStringSubmatch(line); m != nil {
			if m[2] == "Connect" {
				app[m[1]] = strings.HasPrefix(m[3], "app@")
			}
			if app[m[1]] && m[2] == "Query" {
				last[m[1]] = len(rows)
			}
			rows = append(rows, row{m[1], m[2], m[3]})
		}
	}
	busy, most := map[string]bool{}, 0
	for i, r := range rows {
		if r.command != "Query" || !app[r.thread] {
			continue
		}
		busy[r.thread] = true
		most = max(most, len(busy))
		if last[r.thread] == i {
			delete(busy, r.thread)
		}
	}
	return most
}
