package replay_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/outcome"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/replay"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
	"github.com/mycrt/captures/pkg/workload"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// plain "seals" a password as itself: sealing is not what these tests are about.
type plain struct{}

func (plain) Open(_ context.Context, _ int64, sealed string) (string, error) { return sealed, nil }

// accounts are every server's schema and accounts: the recorder's (capturer) and the
// application's (app), which replays connect as on their targets.
var accounts = []string{
	"CREATE DATABASE IF NOT EXISTS shop",
	"CREATE DATABASE IF NOT EXISTS archive",
	"CREATE USER capturer IDENTIFIED BY 'cap-secret'",
	"GRANT SUPER, PROCESS ON *.* TO capturer",
	"GRANT SELECT ON mysql.general_log TO capturer",
	"GRANT SELECT ON shop.* TO capturer",
	"CREATE USER app IDENTIFIED BY 'app-secret'",
	"GRANT ALL ON shop.* TO app",
	"GRANT ALL ON archive.* TO app",
}

// fixture is a source server recorded by a recorder over a store, and the files both keep.
type fixture struct {
	src   *mysqltest.Server
	store *store.Store
	files blob.Dir
	env   capture.Environment // the source, as the recorder signs in
	rec   *recording.Recorder
}

func newFixture(t testing.TB, schema ...string) *fixture {
	t.Helper()
	src := mysqltest.Start(t)
	src.Exec(t, accounts...)
	src.Exec(t, schema...)
	st := storetest.New(t, nil)
	f := &fixture{src: src, store: st, files: blob.Dir{Root: t.TempDir()}}
	f.rec = &recording.Recorder{Secrets: plain{}, Network: netguard.Policy{AllowLoopback: true}, Store: st, Blobs: f.files,
		Now: time.Now, Log: quiet, TempDir: t.TempDir(), Settle: 10 * time.Millisecond}
	f.env = f.environment(t, src, "capturer", "cap-secret")
	return f
}

// environment stores an environment of server s as user.
func (f *fixture) environment(t testing.TB, s *mysqltest.Server, user, pass string) capture.Environment {
	t.Helper()
	ctx := context.Background()
	id, err := f.store.NewEnvironmentID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := f.store.CreateEnvironment(ctx, capture.Environment{ID: id, Name: "env-" + strconv.FormatInt(id, 10), OwnerID: "alice",
		Host: s.Host, Port: s.Port, DBName: "shop", User: user, SealedPassword: pass, Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// record captures what work does on the source, collecting every half second as the worker
// would, and returns the finished capture.
func (f *fixture) record(t testing.TB, work func()) capture.Capture {
	t.Helper()
	ctx := context.Background()
	c, err := capture.New(capture.Request{Name: "replayed", EnvID: f.env.ID}, f.env.OwnerID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c, err = f.store.CreateCapture(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := f.rec.Begin(ctx, f.env, c); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(500 * time.Millisecond):
			}
			if _, err := f.rec.Collect(ctx, f.env, f.reload(t, c)); err != nil {
				t.Error(err)
			}
		}
	})
	work()
	close(done)
	wg.Wait()
	if err := f.rec.End(ctx, f.env, f.reload(t, c)); err != nil {
		t.Fatal(err)
	}
	return f.reload(t, c)
}

func (f *fixture) reload(t testing.TB, c capture.Capture) capture.Capture {
	t.Helper()
	got, err := f.store.Capture(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// dump is the source's databases as mariadb-dump writes it.
func (f *fixture) dump(t testing.TB) []byte {
	t.Helper()
	out, err := exec.Command("mariadb-dump", "--protocol=tcp", "-h", f.src.Host, "-P", strconv.Itoa(f.src.Port), "-u", "root",
		"--skip-dump-date", "--databases", "shop", "archive").Output()
	if err != nil {
		t.Fatalf("mariadb-dump: %v", err)
	}
	return out
}

// target starts a server holding dump (the source's starting state) and stores an environment
// of it as app.
func (f *fixture) target(t testing.TB, dump []byte) (*mysqltest.Server, capture.Environment) {
	t.Helper()
	s := mysqltest.Start(t)
	if len(dump) > 0 {
		cmd := exec.Command("mariadb", "--protocol=tcp", "-h", s.Host, "-P", strconv.Itoa(s.Port), "-u", "root")
		cmd.Stdin = bytes.NewReader(dump)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("load the dump: %v\n%s", err, out)
		}
	}
	s.Exec(t, accounts...)
	return s, f.environment(t, s, "app", "app-secret")
}

// options of a replay the tests run.
type options struct {
	speed    float64
	mode     capture.ReplayMode
	maxConns int
	limit    time.Duration // each invocation's; none when zero
	ctx      context.Context
	hook     func(r *replay.Runner) // changes the runner (test hooks)
	local    *replay.Local
	started  func(id int64) // called once the replay is prepared
}

// replayed is what a replay did: every invocation's result and every outcome.
type replayed struct {
	plan     capture.ReplayPlan
	results  []replay.Result
	outcomes []outcome.Record
	err      error
}

var replayIDs struct {
	sync.Mutex
	n int64
}

// replay prepares c and runs every shard, invocation after invocation, to its end.
func (f *fixture) replay(t testing.TB, c capture.Capture, target capture.Environment, o options) replayed {
	t.Helper()
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	replayIDs.Lock()
	replayIDs.n++
	id := replayIDs.n
	replayIDs.Unlock()
	if o.speed == 0 && o.mode == "" {
		o.speed = 1
	}
	if o.speed < 0 {
		o.speed = 0
	}
	if o.mode == "" {
		o.mode = capture.ReplayAll
	}
	r := capture.Replay{ID: id, CaptureID: c.ID, EnvID: target.ID, Speed: o.speed, Mode: o.mode, MaxConnections: o.maxConns}
	plan, err := replay.Prepare(ctx, f.files, c, r)
	if err != nil {
		t.Fatal(err)
	}
	plan.Epoch = time.Now().Add(300 * time.Millisecond)
	r.Plan = plan
	if o.started != nil {
		o.started(id)
	}
	local := o.local
	if local == nil {
		local = &replay.Local{}
	}
	runner := &replay.Runner{Files: f.files, Dial: f.rec, Baton: local, Progress: local, Continue: local, Log: quiet, TempDir: t.TempDir()}
	if o.hook != nil {
		o.hook(runner)
	}
	type ended struct {
		s   replay.Shard
		res replay.Result
		err error
	}
	ends := make(chan ended, 64)
	invoke := func(ctx context.Context, s replay.Shard) {
		job := replay.Job{Shard: s, Replay: r}
		if o.limit > 0 {
			job.Deadline = time.Now().Add(o.limit)
		}
		res, err := runner.Run(ctx, target, job)
		ends <- ended{s, res, err}
	}
	local.Start = invoke
	for n := range plan.Shards {
		go invoke(ctx, replay.Shard{Replay: id, Shard: n})
	}
	out := replayed{plan: plan}
	for left := plan.Shards; left > 0; {
		e := <-ends
		out.results = append(out.results, e.res)
		if e.err != nil {
			out.err = e.err
			left--
			continue
		}
		if e.res.Done {
			left--
		}
	}
	// Every invocation's outcomes, shard by shard.
	for n := range plan.Shards {
		for inv := 0; ; inv++ {
			rd, err := f.files.Open(context.Background(), layout.ReplayOutcomeKey(id, n, inv))
			if err != nil {
				break
			}
			err = outcome.Each(rd, func(rec *outcome.Record) error { out.outcomes = append(out.outcomes, *rec); return nil })
			rd.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.SortFunc(out.outcomes, func(a, b outcome.Record) int {
		if a.Session != b.Session {
			return int(a.Session) - int(b.Session)
		}
		return int(a.Seq) - int(b.Seq)
	})
	return out
}

// appEvent is a row of session 1 of app in shop, ms after 10:00 on the day these tests use.
func appEvent(ms int, command, sql string) workload.Event {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return workload.Event{Time: t0.Add(time.Duration(ms) * time.Millisecond), Thread: 1, User: "app", DB: "shop", Command: command, SQL: sql}
}

// doSession is one session of app sending n DO 1, one every every ms from 1 ms, then quitting.
func doSession(n, every int) []workload.Event {
	events := []workload.Event{appEvent(0, "Connect", "app@h on shop using TCP/IP")}
	for i := range n {
		events = append(events, appEvent(1+every*i, "Query", "DO 1"))
	}
	return append(events, appEvent(1+every*n, "Quit", ""))
}
