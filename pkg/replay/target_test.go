package replay_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
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
	// Eight sessions at once by construction (a recorded capture's sessions may start apart on a
	// busy machine, and then hold nothing back): each connects at 0 and sleeps 50 ms four times.
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var events []workload.Event
	for ms := range 202 {
		for th := range uint64(8) {
			e := workload.Event{Time: t0.Add(time.Duration(ms) * time.Millisecond), Thread: th + 1, User: "app", DB: "shop"}
			switch {
			case ms == 0:
				e.Command, e.SQL = "Connect", "app@h on shop using TCP/IP"
			case ms == 201:
				e.Command = "Quit"
			case ms%50 == 1:
				e.Command, e.SQL = "Query", "SELECT SLEEP(0.05)"
			default:
				continue
			}
			events = append(events, e)
		}
	}
	c := capture.Capture{ID: 4243, EnvID: f.env.ID}
	storeEvents(t, f, c, events)
	target, env := f.target(t, nil)
	log := logToFile(t, target)
	dial := &countingDialer{Dialer: f.rec}
	out := f.replay(t, c, env, options{maxConns: 2, hook: func(r *replay.Runner) { r.Dial = dial }})
	if out.err != nil {
		t.Fatal(out.err)
	}
	if len(out.outcomes) != 32 {
		t.Fatalf("%d outcomes, want 32", len(out.outcomes))
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
	// As the replay held them: every network connection its connectors dialled, until closed.
	if most, open := dial.counts(); most != 2 || open != 0 {
		t.Errorf("the replay held up to %d connections to the target at once and left %d open, want 2 and 0", most, open)
	}
	// As the server saw them: a session is busy from its first statement to its last, which the
	// server logs before it answers, so two sessions one after the other on a connection never
	// overlap there (their Connect and Quit rows may: they are logged by threads of their own,
	// the Quit maybe after the next session's Connect; its process list lags likewise).
	if m := mostBusy(t, log); m > 2 {
		t.Errorf("the target ran statements of up to %d of the replay's sessions at once, want at most 2", m)
	}
	if late < 24 {
		t.Errorf("%d statements ran over 50 ms late, want the 24 of the 6 sessions that waited for a connection", late)
	}
}

// countingDialer is a Dialer whose connectors count the network connections they have open.
type countingDialer struct {
	replay.Dialer
	mu         sync.Mutex
	open, most int
}

func (d *countingDialer) Connector(ctx context.Context, env capture.Environment, server string, track func(context.Context, net.Conn) net.Conn) (driver.Connector, error) {
	return d.Dialer.Connector(ctx, env, server, func(ctx context.Context, c net.Conn) net.Conn {
		d.mu.Lock()
		d.open++
		d.most = max(d.most, d.open)
		d.mu.Unlock()
		return track(ctx, &countedConn{Conn: c, d: d})
	})
}

// counts is the most connections open at once so far, and those open now.
func (d *countingDialer) counts() (most, open int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.most, d.open
}

type countedConn struct {
	net.Conn
	d    *countingDialer
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.d.mu.Lock()
		c.d.open--
		c.d.mu.Unlock()
	})
	return err
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
	ev := appEvent
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
