package recording_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/store"
)

func (f *fixture) lease(t testing.TB, key string) lease.Lease {
	t.Helper()
	l, err := f.store.Lease(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *fixture) wantLog(t testing.TB, on string) {
	t.Helper()
	if got, _ := f.globals(t); got != on {
		t.Fatalf("general_log = %s, want %s", got, on)
	}
}

// environment stores another environment on the fixture's server, reached as host.
func (f *fixture) environment(t testing.TB, host string) capture.Environment {
	t.Helper()
	ctx := context.Background()
	id, err := f.store.NewEnvironmentID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env := f.env
	env.ID, env.Host, env.Name = id, host, "shop via "+host
	env, err = f.store.CreateEnvironment(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestRestoreRetriedUntilItSucceeds: the database refuses the recorder at the stop (its
// password changed). The capture cannot finish, but the settings it must restore are kept and
// the lease says why the restore failed; once the database lets the recorder in again, the
// next sweep turns the log off.
func TestRestoreRetriedUntilItSucceeds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.begin(t, f.newCapture(t, "refused"))
	f.wantLog(t, "1")
	f.db.Exec(t, "ALTER USER capturer IDENTIFIED BY 'changed'")

	if err := f.rec.End(ctx, f.env, f.reload(t, c)); err == nil {
		t.Fatal("End succeeded against a database that refuses the recorder")
	}
	f.wantLog(t, "1")
	l := f.lease(t, c.Lease)
	if !l.RestorePending || len(l.Holders) != 0 || l.Before == nil || l.Attempts != 1 ||
		!strings.Contains(l.LastError, f.db.Addr()) || !strings.Contains(l.LastError, "Access denied") {
		t.Fatalf("lease after a refused restore: %+v, want restore-pending with the host and why", l)
	}
	// Still refused: the sweep fails again and keeps the settings.
	if err := f.rec.Sweep(ctx, c.Lease); err == nil {
		t.Fatal("the sweep restored through a refused login")
	}
	if l := f.lease(t, c.Lease); !l.RestorePending || l.Attempts != 2 {
		t.Fatalf("lease after a second refusal: %+v", l)
	}

	f.db.Exec(t, "ALTER USER capturer IDENTIFIED BY 'cap-secret'")
	if err := f.rec.Sweep(ctx, c.Lease); err != nil {
		t.Fatal(err)
	}
	f.wantLog(t, "0")
	if l := f.lease(t, c.Lease); !l.Idle() || l.RestorePending {
		t.Errorf("lease after the restore: %+v, want idle", l)
	}
}

// TestOneServerTwoNames: environments naming one server as 127.0.0.1 and as localhost share
// its lease, so the first stop leaves the log on for the second capture, which records what
// runs after it, and the second stop turns it off.
func TestOneServerTwoNames(t *testing.T) {
	f := newFixture(t)
	byName := f.environment(t, "localhost")
	ctx := context.Background()
	a := f.begin(t, f.newCapture(t, "by address"))
	b := f.newCapture(t, "by name")
	b.EnvID = byName.ID
	if err := f.rec.Begin(ctx, byName, b); err != nil {
		t.Fatal(err)
	}
	b = f.reload(t, b)
	if a.Lease == "" || a.Lease != b.Lease {
		t.Fatalf("leases %q and %q, want one for the one server", a.Lease, b.Lease)
	}
	f.end(t, a)
	f.wantLog(t, "1")
	want := f.runOrders(t, 0, 50)
	time.Sleep(300 * time.Millisecond)
	if err := f.rec.End(ctx, byName, f.reload(t, b)); err != nil {
		t.Fatal(err)
	}
	f.wantLog(t, "0")
	sameStatements(t, appStatements(f.workload(t, f.reload(t, b))), want)
}

// failWatermark fails Begin's last step, the watermark write, after the log is on.
type failWatermark struct {
	*store.Store
	failed atomic.Bool
}

func (s *failWatermark) SaveWorkload(ctx context.Context, id int64, from, to capture.Workload) error {
	if from.Watermark.IsZero() && s.failed.CompareAndSwap(false, true) {
		return errors.New("DynamoDB is unavailable")
	}
	return s.Store.SaveWorkload(ctx, id, from, to)
}

// TestBeginLetsGoWhenItFails: a Begin that fails after switching the log on lets go of it.
func TestBeginLetsGoWhenItFails(t *testing.T) {
	f := newFixture(t)
	st := &failWatermark{Store: f.store}
	f.rec.Store = st
	c := f.newCapture(t, "half begun")
	if err := f.rec.Begin(context.Background(), f.env, c); err == nil || !st.failed.Load() {
		t.Fatalf("Begin: %v, want the injected failure", err)
	}
	f.wantLog(t, "0")
	if l := f.lease(t, f.reload(t, c).Lease); !l.Idle() {
		t.Errorf("lease after a failed Begin: %+v, want idle", l)
	}
}

// TestSweepReleasesHoldersThatAreGone: a capture that ended without letting go (its release
// was lost) is dropped by the scheduler's sweep, which then restores the log; a live holder
// keeps it on.
func TestSweepReleasesHoldersThatAreGone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	live := f.begin(t, f.newCapture(t, "still live"))
	lost := f.begin(t, f.newCapture(t, "lost release"))
	failed, err := capture.Fail(lost, "worker died", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Move(ctx, failed, lost.Status); err != nil {
		t.Fatal(err)
	}
	if err := f.rec.Sweep(ctx, live.Lease); err != nil {
		t.Fatal(err)
	}
	f.wantLog(t, "1")
	if l := f.lease(t, live.Lease); len(l.Holders) != 1 || l.Holders[0] != live.ID {
		t.Fatalf("holders after the sweep: %v, want only %d", l.Holders, live.ID)
	}
	if err := f.store.DeleteCapture(ctx, f.reload(t, live)); err != nil {
		t.Fatal(err)
	}
	if err := f.rec.Sweep(ctx, live.Lease); err != nil {
		t.Fatal(err)
	}
	f.wantLog(t, "0")
}

// TestNewHolderWaitsForARestore: a capture starting while the last holder's restore is under
// way waits for it, then turns the log on again, instead of having it turned off under it.
func TestNewHolderWaitsForARestore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.begin(t, f.newCapture(t, "first"))
	if _, err := f.store.ReleaseLog(ctx, first.Lease, first.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Minute)
	if _, err := f.store.ClaimRestore(ctx, first.Lease, time.Now(), until); err != nil {
		t.Fatal(err)
	}
	began := make(chan error, 1)
	second := f.newCapture(t, "second")
	go func() { began <- f.rec.Begin(ctx, f.env, second) }()
	select {
	case err := <-began:
		t.Fatalf("Begin returned during the restore: %v", err)
	case <-time.After(time.Second):
	}
	// The restorer turns the log off and lets go.
	f.db.Exec(t, "SET GLOBAL general_log = OFF")
	if err := f.store.RestoreDone(ctx, first.Lease, until, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := <-began; err != nil {
		t.Fatal(err)
	}
	f.wantLog(t, "1")
	f.end(t, second)
	f.wantLog(t, "0")
}

// TestConnectOnlyWhereAllowed: an environment stored with a host the policy refuses (written
// before the check existed, or a name that now resolves elsewhere) fails at connect time with a
// reason naming the host and why, before anything is dialled.
func TestConnectOnlyWhereAllowed(t *testing.T) {
	f := newFixture(t)
	f.rec.Network.Resolver = netguard.Static{"rebound.test": {"169.254.169.254"}}
	for i, host := range []string{"169.254.169.254", "fe80::1", "rebound.test"} {
		env := f.env
		env.Host = host
		err := f.rec.Begin(context.Background(), env, f.newCapture(t, fmt.Sprintf("refused %d", i)))
		if !errors.Is(err, netguard.ErrRefused) || !strings.Contains(err.Error(), host) {
			t.Errorf("Begin on %s: %v, want refused, naming the host", host, err)
		}
	}
}

// TestMarkedStatementsAreRecorded: the recorder's own sessions are left out by connection id,
// not by text, so an application's statements that carry the recorder's marker, even its very
// registration query, are recorded like any other.
func TestMarkedStatementsAreRecorded(t *testing.T) {
	f := newFixture(t)
	c := f.begin(t, f.newCapture(t, "marked"))
	app := f.db.As(t, "app", "app-secret", "shop")
	app.SetMaxOpenConns(1)
	want := []string{
		"/* mycrt-capture */ SELECT 1",
		"/* mycrt-capture */ SELECT CONNECTION_ID()",
		"INSERT INTO orders (id, item) VALUES (1, 'x')",
	}
	for _, q := range want {
		rows, err := app.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	time.Sleep(300 * time.Millisecond)
	c = f.end(t, c)
	events := f.workload(t, c)
	sameStatements(t, appStatements(events), want)
	for _, ev := range events {
		if ev.User == "capturer" {
			t.Errorf("the recorder's own row is in the workload: %+v", ev)
		}
	}
}

// TestWorkloadDatabases: every workload row carries its session's database as the log tells
// it: from the session list when recording began (a session opened before), from Connect,
// from USE, from the client's Init DB (the mariadb client's "use"), and across collections.
func TestWorkloadDatabases(t *testing.T) {
	f := newFixture(t)
	f.db.Exec(t, "CREATE DATABASE stats", "CREATE TABLE stats.hits (n INT)", "GRANT ALL ON stats.* TO app")
	ctx := context.Background()
	before := f.db.As(t, "app", "app-secret", "shop")
	before.SetMaxOpenConns(1)
	if _, err := before.Exec("SELECT 0"); err != nil { // connected before the capture
		t.Fatal(err)
	}
	c := f.begin(t, f.newCapture(t, "databases"))
	stats := f.db.As(t, "app", "app-secret", "stats")
	stats.SetMaxOpenConns(1)
	run := func(db *sql.DB, q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	run(before, "SELECT 'opened before'")
	run(stats, "INSERT INTO hits VALUES (1)")
	run(stats, "USE shop")
	run(stats, "SELECT 'after use'")
	time.Sleep(300 * time.Millisecond)
	if _, err := f.rec.Collect(ctx, f.env, f.reload(t, c)); err != nil {
		t.Fatal(err)
	}
	run(stats, "SELECT 'next window'")
	client, err := exec.LookPath("mariadb")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(client, "--no-defaults", "-h", f.db.Host, "-P", strconv.Itoa(f.db.Port), "-u", "app", "-papp-secret",
		"-e", "use stats; SELECT 'init db'").CombinedOutput(); err != nil {
		t.Fatalf("mariadb: %v: %s", err, out)
	}
	time.Sleep(300 * time.Millisecond)
	c = f.end(t, c)

	want := map[string]string{
		"SELECT 'opened before'":      "shop",
		"INSERT INTO hits VALUES (1)": "stats",
		"USE shop":                    "shop",
		"SELECT 'after use'":          "shop",
		"SELECT 'next window'":        "shop",
		"SELECT 'init db'":            "stats",
	}
	seen := 0
	for _, ev := range f.workload(t, c) {
		if db, ok := want[ev.SQL]; ok && ev.User == "app" {
			seen++
			if ev.DB != db {
				t.Errorf("%q ran in %q, the workload says %q", ev.SQL, db, ev.DB)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%d of the %d statements found", seen, len(want))
	}
	// The digest counts them by database too.
	dg, _, err := digest.Load(ctx, f.files, c)
	if err != nil {
		t.Fatal(err)
	}
	if r := dg.Report(digest.Query{User: "app", DB: "stats"}); r.Statements != 2 {
		t.Errorf("the digest counts %d statements of app in stats, want 2", r.Statements)
	}
}

// TestFilters: a capture's filters keep a row only if its session's account and database pass
// them: each of users include and exclude, databases include and exclude.
func TestFilters(t *testing.T) {
	f := newFixture(t)
	f.db.Exec(t, "CREATE DATABASE stats", "CREATE TABLE stats.hits (n INT)",
		"CREATE USER etl IDENTIFIED BY 'etl-secret'", "GRANT ALL ON stats.* TO etl", "GRANT ALL ON shop.* TO etl")
	ctx := context.Background()
	runs := []struct {
		user, pass, db, sql string
	}{
		{"app", "app-secret", "shop", "SELECT 'app in shop'"},
		{"etl", "etl-secret", "stats", "SELECT 'etl in stats'"},
		{"etl", "etl-secret", "shop", "SELECT 'etl in shop'"},
	}
	tests := []struct {
		name    string
		filters capture.Filters
		want    []string
	}{
		{"users include", capture.Filters{Users: capture.NameFilter{Include: []string{"etl"}}}, []string{"SELECT 'etl in stats'", "SELECT 'etl in shop'"}},
		{"users exclude", capture.Filters{Users: capture.NameFilter{Exclude: []string{"etl"}}}, []string{"SELECT 'app in shop'"}},
		{"databases include", capture.Filters{Databases: capture.NameFilter{Include: []string{"stats"}}}, []string{"SELECT 'etl in stats'"}},
		{"databases exclude", capture.Filters{Databases: capture.NameFilter{Exclude: []string{"stats"}}}, []string{"SELECT 'app in shop'", "SELECT 'etl in shop'"}},
		{"both", capture.Filters{Users: capture.NameFilter{Include: []string{"etl"}}, Databases: capture.NameFilter{Exclude: []string{"stats"}}}, []string{"SELECT 'etl in shop'"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := capture.New(capture.Request{Name: fmt.Sprintf("filtered %d", i), EnvID: f.env.ID, Filters: tt.filters}, "alice", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if c, err = f.store.CreateCapture(ctx, c); err != nil {
				t.Fatal(err)
			}
			c = f.begin(t, c)
			for _, r := range runs {
				db := f.db.As(t, r.user, r.pass, r.db)
				if _, err := db.Exec(r.sql); err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
			time.Sleep(300 * time.Millisecond)
			c = f.end(t, c)
			var got []string
			for _, ev := range f.workload(t, c) {
				if ev.IsStatement() {
					got = append(got, ev.SQL)
				}
				if !tt.filters.Keeps(ev.User, ev.DB) {
					t.Errorf("kept a row the filters leave out: %+v", ev)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("statements %q, want %q", got, tt.want)
			}
		})
	}
}
