package recording_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
	"github.com/mycrt/captures/pkg/workload"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// plain "seals" a password as itself: sealing is not what these tests are about.
type plain struct{}

func (plain) Open(_ context.Context, _ int64, sealed string) (string, error) { return sealed, nil }

// fixture is a private MariaDB with a capturing user and an application user, and a store
// holding one environment that points at it as the capturing user.
type fixture struct {
	db    *mysqltest.Server
	store *store.Store
	files blob.Dir
	env   capture.Environment
	rec   *recording.Recorder
	// procedures are the rotation procedures and grants its server was given.
	procedures []string
}

// newFixture's server has MyCRT's rotation procedures installed, and the recorder EXECUTE on
// those four only, as the README asks a DBA to.
func newFixture(t testing.TB) *fixture {
	return newFixtureRotating(t, append(recording.RotationStatements(), recording.RotationGrants("capturer")...))
}

// newInPlaceFixture's server has no rotation procedures: collections read the log in place.
func newInPlaceFixture(t testing.TB) *fixture { return newFixtureRotating(t, nil) }

// rdsRotation is RDS's mysql.rds_rotate_general_log, as RDS documents it, made for MariaDB:
// the table is copied to mysql.general_log_backup (dropping the previous backup) and emptied.
var rdsRotation = []string{
	"DROP PROCEDURE IF EXISTS mysql.rds_rotate_general_log",
	`CREATE PROCEDURE mysql.rds_rotate_general_log() SQL SECURITY DEFINER
BEGIN
  DROP TABLE IF EXISTS mysql.general_log2;
  CREATE TABLE mysql.general_log2 LIKE mysql.general_log;
  DROP TABLE IF EXISTS mysql.general_log_backup;
  RENAME TABLE mysql.general_log TO mysql.general_log_backup, mysql.general_log2 TO mysql.general_log;
END`,
	"CREATE TABLE IF NOT EXISTS mysql.general_log_backup LIKE mysql.general_log",
	"GRANT SELECT ON mysql.general_log_backup TO capturer",
	"GRANT EXECUTE ON PROCEDURE mysql.rds_rotate_general_log TO capturer",
}

// newRDSRotationFixture's server rotates its log as RDS does.
func newRDSRotationFixture(t testing.TB) *fixture { return newFixtureRotating(t, rdsRotation) }

// shopAccounts are every fixture server's schema and accounts: the recorder's (capturer) with
// what the README asks for, and the application's (app).
var shopAccounts = []string{
	"CREATE DATABASE shop",
	"CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40))",
	"CREATE USER capturer IDENTIFIED BY 'cap-secret'",
	"GRANT SUPER, PROCESS ON *.* TO capturer",
	"GRANT SELECT ON mysql.general_log TO capturer",
	"GRANT SELECT ON shop.* TO capturer",
	"CREATE USER app IDENTIFIED BY 'app-secret'",
	"GRANT ALL ON shop.* TO app",
}

func newFixtureRotating(t testing.TB, procedures []string) *fixture {
	t.Helper()
	db := mysqltest.Start(t)
	db.Exec(t, shopAccounts...)
	db.Exec(t, procedures...)
	st := storetest.New(t, nil)
	ctx := context.Background()
	id, err := st.NewEnvironmentID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := st.CreateEnvironment(ctx, capture.Environment{
		ID: id, Name: "shop", OwnerID: "alice", Host: db.Host, Port: db.Port, DBName: "shop",
		User: "capturer", SealedPassword: "cap-secret", Created: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	files := blob.Dir{Root: t.TempDir()}
	rec := &recording.Recorder{Secrets: plain{}, Network: netguard.Policy{AllowLoopback: true}, Store: st, Blobs: files,
		Now: time.Now, Log: quiet, TempDir: t.TempDir()}
	if _, bench := t.(*testing.B); !bench {
		// A test's statements have all returned before anything collects them, so their rows
		// are in the log table already: a long settle time would only make each stop wait.
		// Benchmarks keep production's, which their figures include.
		rec.Settle = testSettle
	}
	return &fixture{db: db, store: st, files: files, env: env, rec: rec, procedures: procedures}
}

// testSettle is the tests' settle time (Recorder.Settle).
const testSettle = 10 * time.Millisecond

// settled returns once every row logged so far is older than the recorder's settle time by
// the server's own clock, so that the next collection takes them all even when it reads the
// log in place (by time, up to the settle time ago). One that rotates takes the whole table.
func (f *fixture) settled(t testing.TB) {
	t.Helper()
	f.db.AwaitClock(t, recording.SettleOf(f.rec))
}

// newCapture stores a running capture of the fixture's environment.
func (f *fixture) newCapture(t testing.TB, name string) capture.Capture {
	t.Helper()
	c, err := capture.New(capture.Request{Name: name, EnvID: f.env.ID}, f.env.OwnerID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err = f.store.CreateCapture(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reload reads c as the worker would before its next step.
func (f *fixture) reload(t testing.TB, c capture.Capture) capture.Capture {
	t.Helper()
	got, err := f.store.Capture(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *fixture) begin(t testing.TB, c capture.Capture) capture.Capture {
	t.Helper()
	if err := f.rec.Begin(context.Background(), f.env, c); err != nil {
		t.Fatal(err)
	}
	return f.reload(t, c)
}

func (f *fixture) end(t testing.TB, c capture.Capture) capture.Capture {
	t.Helper()
	if err := f.rec.End(context.Background(), f.env, f.reload(t, c)); err != nil {
		t.Fatal(err)
	}
	return f.reload(t, c)
}

// runOrders inserts orders [from, to) as the application, one statement each, and returns
// the statements in the order they ran.
func (f *fixture) runOrders(t testing.TB, from, to int) []string {
	t.Helper()
	app := f.db.As(t, "app", "app-secret", "shop")
	app.SetMaxOpenConns(1)
	var stmts []string
	for i := from; i < to; i++ {
		q := fmt.Sprintf("INSERT INTO orders (id, item) VALUES (%d, 'item \"%d\" <b>')", i, i)
		if _, err := app.Exec(q); err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, q)
	}
	return stmts
}

// workload reads c's downloaded workload file.
func (f *fixture) workload(t testing.TB, c capture.Capture) []workload.Event {
	t.Helper()
	r, err := f.files.Open(context.Background(), layout.WorkloadKey(c))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []workload.Event
	if err := workload.Each(r, func(ev workload.Event) error { out = append(out, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// appStatements are the statements the application ran, in workload order.
func appStatements(events []workload.Event) []string {
	var out []string
	for _, ev := range events {
		if ev.User == "app" && ev.IsStatement() {
			out = append(out, ev.SQL)
		}
	}
	return out
}

// sameDigest checks c's final digest against the statements the application ran: every one
// counted once under its fingerprint, and the digest's total the workload's.
func (f *fixture) sameDigest(t testing.TB, c capture.Capture, want []string) {
	t.Helper()
	dg, stored, err := digest.Load(context.Background(), f.files, c)
	if err != nil || !stored {
		t.Fatalf("digest of capture %d: stored %v, %v", c.ID, stored, err)
	}
	if dg.Statements() != c.Workload.Statements {
		t.Errorf("the digest counts %d statements, the workload %d", dg.Statements(), c.Workload.Statements)
	}
	counts := map[string]int64{}
	for _, q := range want {
		counts[digest.ID(digest.Fingerprint(q))]++
	}
	for _, row := range dg.Report(digest.Query{User: "app", Limit: digest.MaxLimit}).Fingerprints {
		if row.Count != counts[row.ID] {
			t.Errorf("the digest counts %d of %q, the application ran %d", row.Count, row.Fingerprint, counts[row.ID])
		}
		delete(counts, row.ID)
	}
	if len(counts) > 0 {
		t.Errorf("fingerprints missing from the digest: %v", counts)
	}
}

// poll checks cond every few milliseconds until it holds or within has passed, and says
// whether it held. It needs no testing.TB, so goroutines of a test may wait with it too.
func poll(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// eventually polls cond until it holds, failing t after within.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(within, cond) {
		t.Fatalf("not within %s: %s", within, what)
	}
}

func sameStatements(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("workload holds %d application statements, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statement %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func (f *fixture) globals(t testing.TB) (on, output string) {
	t.Helper()
	if err := f.db.Root(t).QueryRow("SELECT @@GLOBAL.general_log, @@GLOBAL.log_output").Scan(&on, &output); err != nil {
		t.Fatal(err)
	}
	return on, output
}
