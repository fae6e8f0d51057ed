package replay_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/replay"
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
	root := target.Root(t)
	var most atomic.Int64
	done := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			var n int64
			if err := root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'").Scan(&n); err == nil && n > most.Load() {
				most.Store(n)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	out := f.replay(t, c, env, options{maxConns: 2})
	close(done)
	watch.Wait()
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
	if m := most.Load(); m > 2 || m == 0 {
		t.Errorf("the target held up to %d of the replay's connections, want 2 at most", m)
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
