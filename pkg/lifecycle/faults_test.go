package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
	"github.com/mycrt/captures/pkg/workload"
)

// The faults the matrix injects, each into one step of a capture's life.
const (
	faultDB     = "the database refuses"
	faultS3     = "S3 fails"
	faultDynamo = "a DynamoDB write fails"
	faultKill   = "the process is killed"
)

// faults switches failures on and off. A kill makes the first call of the named kind block for
// good, as if the process running it had died there; nothing after it in that step runs.
type faults struct {
	mu             sync.Mutex
	db, s3, dynamo bool
	kill           string        // the call to die in
	killed         chan struct{} // closed once it died
	dead           chan struct{} // closed at the end of the test, to let the goroutine go
}

func (f *faults) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *faults) check(call string, failing func(*faults) bool) error {
	f.mu.Lock()
	kill := f.kill == call
	if kill {
		f.kill = ""
	}
	fail := failing(f)
	f.mu.Unlock()
	if kill {
		close(f.killed)
		<-f.dead
		return errors.New("killed")
	}
	if fail {
		return fmt.Errorf("injected: %s fails", call)
	}
	return nil
}

func (f *faults) dynamoWrite(call string) error {
	return f.check(call, func(f *faults) bool { return f.dynamo })
}

// LookupNetIP resolves the test's database host, unless the database is made to refuse.
func (f *faults) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if err := f.check("dial", func(f *faults) bool { return f.db }); err != nil {
		return nil, fmt.Errorf("connection refused: %w", err)
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// faultyStore is the table with its recording writes open to faults.
type faultyStore struct {
	*store.Store
	f *faults
}

func (s faultyStore) SaveWorkloads(ctx context.Context, moves []capture.WorkloadMove, sample *metrics.Sample) error {
	if err := s.f.dynamoWrite("SaveWorkload"); err != nil {
		return err
	}
	return s.Store.SaveWorkloads(ctx, moves, sample)
}

func (s faultyStore) SaveWorkload(ctx context.Context, id int64, from, to capture.Workload) error {
	if err := s.f.dynamoWrite("SaveWorkload"); err != nil {
		return err
	}
	return s.Store.SaveWorkload(ctx, id, from, to)
}

func (s faultyStore) SetCaptureLease(ctx context.Context, id int64, key, server string) error {
	if err := s.f.dynamoWrite("SetCaptureLease"); err != nil {
		return err
	}
	return s.Store.SetCaptureLease(ctx, id, key, server)
}

func (s faultyStore) HoldLog(ctx context.Context, key string, id, envID int64, before map[string]string, restores int, now, sweepAt time.Time) error {
	if err := s.f.dynamoWrite("HoldLog"); err != nil {
		return err
	}
	return s.Store.HoldLog(ctx, key, id, envID, before, restores, now, sweepAt)
}

func (s faultyStore) ReleaseLog(ctx context.Context, key string, id int64, now time.Time) (bool, error) {
	if err := s.f.dynamoWrite("ReleaseLog"); err != nil {
		return false, err
	}
	return s.Store.ReleaseLog(ctx, key, id, now)
}

func (s faultyStore) ClaimRestore(ctx context.Context, key string, now, until time.Time) (lease.Lease, error) {
	if err := s.f.dynamoWrite("ClaimRestore"); err != nil {
		return lease.Lease{}, err
	}
	return s.Store.ClaimRestore(ctx, key, now, until)
}

func (s faultyStore) RestoreDone(ctx context.Context, key string, until, now time.Time) error {
	if err := s.f.dynamoWrite("RestoreDone"); err != nil {
		return err
	}
	return s.Store.RestoreDone(ctx, key, until, now)
}

func (s faultyStore) LockCollector(ctx context.Context, server string, now, until time.Time) (lease.Collector, error) {
	if err := s.f.dynamoWrite("LockCollector"); err != nil {
		return lease.Collector{}, err
	}
	return s.Store.LockCollector(ctx, server, now, until)
}

func (s faultyStore) ClaimCollection(ctx context.Context, server string, until time.Time, rot lease.Collection, now time.Time) error {
	if err := s.f.dynamoWrite("ClaimCollection"); err != nil {
		return err
	}
	return s.Store.ClaimCollection(ctx, server, until, rot, now)
}

func (s faultyStore) CollectionDone(ctx context.Context, server string, until time.Time, n int, now time.Time) error {
	if err := s.f.dynamoWrite("CollectionDone"); err != nil {
		return err
	}
	return s.Store.CollectionDone(ctx, server, until, n, now)
}

func (s faultyStore) AddSample(ctx context.Context, id int64, sm metrics.Sample) error {
	if err := s.f.dynamoWrite("AddSample"); err != nil {
		return err
	}
	return s.Store.AddSample(ctx, id, sm)
}

// faultyFiles is the captures' files with S3's calls open to faults.
type faultyFiles struct {
	blob.Dir
	f *faults
}

func (b faultyFiles) Put(ctx context.Context, key string, body io.ReadSeeker) error {
	if err := b.f.check("Put", func(f *faults) bool { return f.s3 }); err != nil {
		return err
	}
	return b.Dir.Put(ctx, key, body)
}

func (b faultyFiles) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := b.f.check("Open", func(f *faults) bool { return f.s3 }); err != nil {
		return nil, err
	}
	return b.Dir.Open(ctx, key)
}

// kills says where a killed process dies in each step: after the step has done something that
// must be undone or finished by someone else.
var kills = map[string]string{
	"start":   "SaveWorkload", // the log is on, the watermark not yet written
	"collect": "SaveWorkload", // the fragment is written, the watermark not yet moved
	"stop":    "ReleaseLog",   // the workload is written, the log still held
	"release": "RestoreDone",  // the log is restored, the lease not yet told
}

// TestFaultMatrix injects each fault into each step of a capture's life (start, collect, stop,
// and release for a capture deleted while it records) against a real MariaDB, then lets the
// scheduler tick with the fault cleared. Within a few ticks the general log must be as found,
// the lease idle, and the capture DONE with exactly the statements run inside it, or FAILED
// with a reason.
func TestFaultMatrix(t *testing.T) {
	for _, step := range []string{"start", "collect", "stop", "release"} {
		for _, fault := range []string{faultDB, faultS3, faultDynamo, faultKill} {
			t.Run(step+"/"+fault, func(t *testing.T) { faultCase(t, step, fault) })
		}
	}
}

func faultCase(t *testing.T, step, fault string) {
	ctx := context.Background()
	db := mysqltest.Start(t)
	db.Exec(t,
		"CREATE DATABASE shop",
		"CREATE TABLE shop.orders (id INT PRIMARY KEY)",
		"CREATE USER capturer IDENTIFIED BY 'cap-pw'",
		"GRANT SUPER ON *.* TO capturer",
		"GRANT SELECT ON mysql.general_log TO capturer",
		"GRANT SELECT ON shop.* TO capturer",
		"CREATE USER app IDENTIFIED BY 'app-pw'",
		"GRANT ALL ON shop.* TO app",
	)
	db.Exec(t, recording.RotationStatements()...) // collections rotate the log, as in production
	db.Exec(t, recording.RotationGrants("capturer")...)
	st := storetest.New(t, nil)
	f := &faults{killed: make(chan struct{}), dead: make(chan struct{})}
	t.Cleanup(func() { close(f.dead) })
	clock := &fakeClock{now: time.Now().UTC()}
	files := blob.Dir{Root: t.TempDir()}
	rec := &recording.Recorder{
		Secrets: plainSecrets{}, Store: faultyStore{st, f}, Blobs: faultyFiles{files, f},
		Network: netguard.Policy{AllowLoopback: true, Resolver: f}, Now: clock.Now, Log: quiet,
		TempDir: t.TempDir(), Timeout: 2 * time.Second, SweepEvery: time.Minute,
		RestoreRetry: func(int) time.Duration { return 0 },
	}
	worker := &lifecycle.InProcess{Worker: &lifecycle.Worker{Store: st, Recorder: rec, Now: clock.Now, Log: quiet}}
	sched := &lifecycle.Scheduler{Store: st, Trigger: worker, Clock: clock, StuckAfter: 30 * time.Second, Log: quiet}

	id, err := st.NewEnvironmentID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := st.CreateEnvironment(ctx, capture.Environment{ID: id, Name: "shop", OwnerID: "alice", Host: "db.test", Port: db.Port,
		DBName: "shop", User: "capturer", SealedPassword: "cap-pw", Created: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := capture.New(capture.Request{Name: "under fire", EnvID: env.ID}, "alice", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c, err = st.CreateCapture(ctx, c); err != nil {
		t.Fatal(err)
	}
	get := func() (capture.Capture, bool) {
		got, err := st.Capture(ctx, c.ID)
		if errors.Is(err, capture.ErrCaptureNotFound) {
			return capture.Capture{}, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return got, true
	}
	// run does one step's work, with the fault on if it is the step under test.
	run := func(name string, work func() error) {
		if name != step {
			if err := work(); err != nil {
				t.Logf("%s: %v", name, err)
			}
			return
		}
		f.set(func() {
			switch fault {
			case faultDB:
				f.db = true
			case faultS3:
				f.s3 = true
			case faultDynamo:
				f.dynamo = true
			case faultKill:
				f.kill = kills[name]
			}
		})
		done := make(chan error, 1)
		go func() { done <- work() }()
		select {
		case err := <-done:
			t.Logf("%s under %q: %v", name, fault, err)
		case <-f.killed:
			t.Logf("%s under %q: killed in %s", name, fault, kills[name])
		case <-time.After(30 * time.Second):
			t.Fatalf("%s under %q did not end", name, fault)
		}
		f.set(func() { f.db, f.s3, f.dynamo, f.kill = false, false, false, "" })
	}
	// tick lets the scheduler run once, a while later, with the worker in process.
	tick := func() {
		clock.SleepUntil(ctx, clock.Now().Add(6*time.Minute)) // past any lock a dead worker held
		if err := sched.Tick(ctx, time.Second); err != nil {
			t.Logf("tick: %v", err)
		}
		worker.Wait()
	}
	settle := func() { time.Sleep(300 * time.Millisecond) } // the log's rows reach the table

	run("start", func() error { return worker.Worker.Start(ctx, c.ID) })
	for range 4 {
		if got, _ := get(); got.Status != capture.Started && got.Status != capture.Starting {
			break
		}
		tick()
	}
	var want []string
	app := db.As(t, "app", "app-pw", "shop")
	app.SetMaxOpenConns(1)
	runOrders := func(from, to int) {
		for i := from; i < to; i++ {
			q := fmt.Sprintf("INSERT INTO orders VALUES (%d)", i)
			if _, err := app.Exec(q); err != nil {
				t.Fatal(err)
			}
			want = append(want, q)
		}
		settle()
	}
	if got, _ := get(); got.Status == capture.Running {
		runOrders(0, 50)
		run("collect", func() error { return worker.Worker.Collect(ctx, c.ID) })
		runOrders(50, 100)
		tick()
		runOrders(100, 150)
		got, _ := get()
		if step == "release" {
			// Deleted while recording, as the API does it: the record goes, a release is handed on.
			if err := st.DeleteCapture(ctx, got); err != nil {
				t.Fatal(err)
			}
			run("release", func() error {
				return worker.Worker.Release(ctx, lifecycle.Event{Action: lifecycle.ActionRelease, CaptureID: c.ID, EnvID: c.EnvID, Lease: got.Lease})
			})
		} else {
			next, err := capture.Stop(got, clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Move(ctx, next, got.Status); err != nil {
				t.Fatal(err)
			}
			run("stop", func() error { return worker.Worker.Stop(ctx, c.ID) })
		}
	}
	for range 5 {
		tick()
	}

	// The general log is as found, and nothing holds it.
	var on string
	if err := db.Root(t).QueryRow("SELECT @@GLOBAL.general_log").Scan(&on); err != nil {
		t.Fatal(err)
	}
	if on != "0" {
		t.Errorf("general_log = %s after recovery, want off as found", on)
	}
	got, exists := get()
	if e, err := st.Environment(ctx, env.ID); err != nil {
		t.Fatal(err)
	} else if e.Lease != "" {
		if l, err := st.Lease(ctx, e.Lease); err != nil || !l.Idle() {
			t.Errorf("lease after recovery: %+v, %v; want idle", l, err)
		}
	}
	switch {
	case !exists:
		if step != "release" {
			t.Fatal("the capture is gone")
		}
	case got.Status == capture.Failed:
		if got.Reason == "" {
			t.Error("FAILED without a reason")
		}
		t.Logf("FAILED: %s", got.Reason)
	case got.Status == capture.Done:
		events := readWorkload(t, files, got)
		if strings.Join(events, "\n") != strings.Join(want, "\n") {
			t.Errorf("DONE with %d application statements, want exactly the %d run", len(events), len(want))
		}
	default:
		t.Errorf("after recovery the capture is %s, want DONE or FAILED", got.Status)
	}
}

// readWorkload lists the application's statements in c's workload file.
func readWorkload(t *testing.T, files blob.Dir, c capture.Capture) []string {
	t.Helper()
	r, err := files.Open(context.Background(), layout.WorkloadKey(c))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	err = workload.Each(r, func(ev workload.Event) error {
		if ev.User == "app" && ev.IsStatement() {
			out = append(out, ev.SQL)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type plainSecrets struct{}

func (plainSecrets) Open(_ context.Context, _ int64, sealed string) (string, error) {
	return sealed, nil
}
