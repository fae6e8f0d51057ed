package recording_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/metrics"
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
	return &fixture{db: db, store: st, files: files, env: env, rec: rec, procedures: procedures}
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

func TestRecordsExactlyTheWindow(t *testing.T) {
	f := newFixture(t)
	c := f.newCapture(t, "window")
	f.runOrders(t, 0, 10) // before the capture: must not be in it

	before := time.Now().UTC()
	c = f.begin(t, c)
	if on, out := f.globals(t); on != "1" || out != "FILE,TABLE" {
		t.Fatalf("while recording: general_log=%s log_output=%s, want 1 and FILE,TABLE", on, out)
	}
	// The watermark is the server's clock in UTC, whatever the server's own zone (+05:30).
	if wm := c.Workload.Watermark; wm.Sub(before).Abs() > 5*time.Second {
		t.Fatalf("watermark %s is not now (%s): a time zone slipped", wm, before)
	}

	want := f.runOrders(t, 10, 510)
	time.Sleep(300 * time.Millisecond) // older than the settle time, so a tick collects them
	if _, err := f.rec.Collect(context.Background(), f.env, f.reload(t, c)); err != nil {
		t.Fatal(err)
	}
	if got := f.reload(t, c).Workload; got.Fragments != 1 || got.Statements < 500 {
		t.Fatalf("after a tick: %+v, want 1 fragment of at least the 500 statements", got)
	}
	want = append(want, f.runOrders(t, 510, 1010)...)
	c = f.end(t, c)
	after := time.Now().UTC()
	f.runOrders(t, 1010, 1020) // after the capture: must not be in it

	events := f.workload(t, c)
	sameStatements(t, appStatements(events), want)
	for _, ev := range events {
		if ev.User == "capturer" || strings.Contains(ev.SQL, "mycrt-capture") {
			t.Fatalf("the capture's own query is in its workload: %+v", ev)
		}
		if ev.Time.Before(before.Add(-time.Second)) || ev.Time.After(after.Add(time.Second)) {
			t.Fatalf("event at %s is outside the window [%s, %s]: times are not UTC", ev.Time, before, after)
		}
	}
	var statements int64
	for _, ev := range events {
		if ev.IsStatement() {
			statements++
		}
	}
	// The count includes this test's own root queries, which are part of the workload too.
	if c.Workload.Statements != statements || !c.Workload.Recorded() {
		t.Errorf("recorded %+v, want the file's %d statements", c.Workload, statements)
	}
	if on, out := f.globals(t); on != "0" || out != "FILE" {
		t.Errorf("after the stop: general_log=%s log_output=%s, want them restored to 0 and FILE", on, out)
	}
	// The fragments are gone once the file is written; the file stays.
	if _, err := f.files.Open(context.Background(), layout.FragmentKey(c, 0)); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("fragment 0 after the stop: %v, want it removed", err)
	}
	// Ending again (a retried stop) changes nothing.
	if again := f.end(t, c); again.Workload != c.Workload {
		t.Errorf("a repeated end changed the workload: %+v → %+v", c.Workload, again.Workload)
	}
}

// flaky fails the first SaveWorkload that would account for a new fragment: the collector
// died after writing the fragment and before moving the watermark.
type flaky struct {
	*store.Store
	failed atomic.Bool
}

func (s *flaky) SaveWorkloads(ctx context.Context, moves []capture.WorkloadMove, sample *metrics.Sample) error {
	for _, m := range moves {
		if m.To.Fragments > m.From.Fragments && s.failed.CompareAndSwap(false, true) {
			return errors.New("crashed before the watermark moved")
		}
	}
	return s.Store.SaveWorkloads(ctx, moves, sample)
}

func (s *flaky) SaveWorkload(ctx context.Context, id int64, from, to capture.Workload) error {
	if to.Fragments > from.Fragments && s.failed.CompareAndSwap(false, true) {
		return errors.New("crashed before the watermark moved")
	}
	return s.Store.SaveWorkload(ctx, id, from, to)
}

func TestCrashBetweenFragmentAndWatermark(t *testing.T) {
	f := newFixture(t)
	st := &flaky{Store: f.store}
	f.rec.Store = st
	c := f.begin(t, f.newCapture(t, "crashy"))
	want := f.runOrders(t, 0, 300)
	time.Sleep(300 * time.Millisecond)

	if _, err := f.rec.Collect(context.Background(), f.env, f.reload(t, c)); err == nil || !st.failed.Load() {
		t.Fatalf("the injected crash did not happen: %v", err)
	}
	if got := f.reload(t, c).Workload; got.Fragments != 0 || got.Statements != 0 {
		t.Fatalf("a crashed collection counted: %+v", got)
	}
	if _, err := f.files.Open(context.Background(), layout.FragmentKey(c, 0)); err != nil {
		t.Fatalf("the crashed collection's fragment: %v, want it written before the crash", err)
	}
	// The run after the crash: the same rows again, and more since.
	want = append(want, f.runOrders(t, 300, 400)...)
	time.Sleep(300 * time.Millisecond)
	if _, err := f.rec.Collect(context.Background(), f.env, f.reload(t, c)); err != nil {
		t.Fatal(err)
	}
	want = append(want, f.runOrders(t, 400, 450)...)
	c = f.end(t, c)
	sameStatements(t, appStatements(f.workload(t, c)), want)
	f.sameDigest(t, c, want)
	if c.Workload.Fragments != 2 {
		t.Errorf("%d fragments, want 2: the retry rewrote fragment 0, the stop wrote fragment 1", c.Workload.Fragments)
	}
}

func TestTwoCapturesShareTheLog(t *testing.T) {
	f := newFixture(t)
	f.db.Exec(t, "SET GLOBAL log_output = 'NONE'")
	a := f.begin(t, f.newCapture(t, "first"))
	b := f.begin(t, f.newCapture(t, "second"))
	wantA := f.runOrders(t, 0, 50)
	a = f.end(t, a)
	if on, _ := f.globals(t); on != "1" {
		t.Fatal("the first stop turned the log off under the second capture")
	}
	wantB := append(wantA, f.runOrders(t, 50, 80)...)
	b = f.end(t, b)
	if on, out := f.globals(t); on != "0" || out != "NONE" {
		t.Errorf("after both: general_log=%s log_output=%s, want 0 and NONE as found", on, out)
	}
	sameStatements(t, appStatements(f.workload(t, a)), wantA)
	sameStatements(t, appStatements(f.workload(t, b)), wantB)
}

func TestMissingPrivilegesAreNamed(t *testing.T) {
	f := newFixture(t)
	f.db.Exec(t,
		"CREATE USER nosuper IDENTIFIED BY 'Zx9-hush'",
		"GRANT SELECT ON mysql.general_log TO nosuper",
		"CREATE USER nolog IDENTIFIED BY 'Zx9-hush'",
		"GRANT SUPER ON *.* TO nolog",
		"GRANT SELECT ON shop.* TO nosuper, nolog",
	)
	cases := []struct {
		user, want string
	}{
		{"nosuper", "lacks the SUPER privilege"},
		{"nolog", "lacks the SELECT privilege on mysql.general_log"},
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			env := f.env
			env.User, env.SealedPassword = tc.user, "Zx9-hush"
			err := f.rec.Begin(context.Background(), env, f.newCapture(t, "as "+tc.user))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("begin as %s: %v, want an error saying it %s", tc.user, err, tc.want)
			}
			if strings.Contains(err.Error(), "Zx9-hush") {
				t.Errorf("the error shows the password: %v", err)
			}
			if on, _ := f.globals(t); on != "0" {
				t.Error("a refused start left the general log on")
			}
		})
	}
}

// TestConcurrentCollectionsAndStop runs tick collections while the stop collects: one
// collector at a time holds the server, so every statement lands exactly once.
func TestConcurrentCollectionsAndStop(t *testing.T) {
	f := newFixture(t)
	c := f.begin(t, f.newCapture(t, "racy"))
	want := f.runOrders(t, 0, 200)
	time.Sleep(300 * time.Millisecond)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 3 {
		go func() {
			_, err := f.rec.Collect(ctx, f.env, f.reload(t, c))
			errs <- err
		}()
	}
	go func() { errs <- f.rec.End(ctx, f.env, f.reload(t, c)) }()
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	c = f.reload(t, c)
	// The stop was handed a copy of the capture older than the ticks' progress: it waits for
	// the lock, then finishes from the capture as it is.
	if !c.Workload.Recorded() {
		t.Fatalf("no workload after the stop: %+v", c.Workload)
	}
	sameStatements(t, appStatements(f.workload(t, c)), want)
	f.sameDigest(t, c, want)
}
