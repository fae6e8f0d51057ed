package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// kills says where a killed process dies in each step: after the step has done something that
// must be undone or finished by someone else.
var kills = map[string]string{
	"start":   "SaveWorkload", // the log is on, the watermark not yet written
	"collect": "SaveWorkload", // the fragment is written, the watermark not yet moved
	"stop":    "ReleaseLog",   // the workload is written, the log still held
	"release": "RestoreDone",  // the log is restored, the lease not yet told
}

// check is something that holds of a cell right after its faulty step, before any tick.
type check struct {
	what string
	ok   func(r *cellRun) bool
}

var (
	logOn   = check{"the general log is on", func(r *cellRun) bool { return r.generalLog() == "1" }}
	logOff  = check{"the general log is off", func(r *cellRun) bool { return r.generalLog() == "0" }}
	noS3    = check{"no S3 call", func(r *cellRun) bool { return r.calls["Put"]+r.calls["Open"] == 0 }}
	pending = check{"the restore pending, no holder left", func(r *cellRun) bool {
		l := r.lease()
		return l.RestorePending && len(l.Holders) == 0
	}}
	held = check{"the capture still holds the log", func(r *cellRun) bool { return slices.Contains(r.lease().Holders, r.id) }}
	// The lease still keeps the settings found, as if nobody had restored them.
	unrestored   = check{"the lease not told of the restore", func(r *cellRun) bool { return r.lease().Before != nil }}
	running      = check{"the capture running", func(r *cellRun) bool { return r.capture().Status == capture.Running }}
	noWatermark  = check{"no watermark", func(r *cellRun) bool { return r.capture().Workload.Watermark.IsZero() }}
	notCollected = check{"nothing counted as collected", func(r *cellRun) bool { return r.capture().Workload.Fragments == 0 }}
	fragmentPut  = check{"a fragment written", func(r *cellRun) bool { return r.calls["Put"] > 0 }}
	fileWritten  = check{"the workload file recorded", func(r *cellRun) bool { return r.capture().Workload.Recorded() }}
)

// cell is one fault in one step, and what it must end as: the README's fault-injection matrix.
type cell struct {
	step, fault string
	after       []check        // right after the faulty step
	status      capture.Status // at the end: DONE (with exactly the statements run) or FAILED; "" for a capture deleted while it records
	reason      []string       // what a FAILED capture's reason says
}

var matrix = []cell{
	{"start", faultDB, []check{logOff}, capture.Failed, []string{"Could not start recording: cannot connect to db.test", "no MySQL server answered"}},
	{"start", faultS3, []check{running}, capture.Done, nil}, // the open sessions' databases are not kept
	{"start", faultDynamo, []check{logOff}, capture.Failed, []string{"Could not start recording", "LockCollector fails"}},
	{"start", faultKill, []check{logOn, noWatermark}, capture.Done, nil},
	{"collect", faultDB, []check{notCollected}, capture.Done, nil},
	{"collect", faultS3, []check{notCollected}, capture.Done, nil},
	{"collect", faultDynamo, []check{notCollected}, capture.Done, nil},
	{"collect", faultKill, []check{fragmentPut, notCollected}, capture.Done, nil},
	{"stop", faultDB, []check{logOn, pending}, capture.Failed, []string{"Could not finish recording: cannot connect to db.test", "no MySQL server answered"}},
	{"stop", faultS3, []check{logOff}, capture.Failed, []string{"Could not finish recording", "Open fails"}},
	{"stop", faultDynamo, []check{logOn, held}, capture.Failed, []string{"Could not finish recording", "LockCollector fails"}},
	{"stop", faultKill, []check{logOn, held, fileWritten}, capture.Done, nil},
	{"release", faultDB, []check{logOn, pending}, "", nil},
	{"release", faultS3, []check{noS3, logOff}, "", nil},
	{"release", faultDynamo, []check{logOn, held}, "", nil},
	{"release", faultKill, []check{logOff, unrestored}, "", nil},
}

// TestFaultMatrix injects each fault into each step of a capture's life (start, collect, stop,
// and release for a capture deleted while it records) against a real MariaDB, checks what the
// step left, then lets the scheduler tick with the fault cleared. Within five ticks the
// general log must be as found, the lease idle, and the capture as its cell says: DONE with
// exactly the statements run inside it, FAILED with the reason its cell names, or gone. Each
// cell owns its servers, so the cells run in parallel.
func TestFaultMatrix(t *testing.T) {
	for _, c := range matrix {
		t.Run(c.step+"/"+c.fault, func(t *testing.T) {
			t.Parallel()
			runCell(t, c)
		})
	}
}

// cellRun is one cell's servers and capture.
type cellRun struct {
	t      *testing.T
	db     *mysqltest.Server
	st     *store.Store
	f      *faults
	id     int64
	envID  int64
	calls  map[string]int // the calls the faulty step made
	worker *lifecycle.InProcess
	sched  *lifecycle.Scheduler
	clock  *fakeClock
}

func (r *cellRun) generalLog() (on string) {
	if err := r.db.Root(r.t).QueryRow("SELECT @@GLOBAL.general_log").Scan(&on); err != nil {
		r.t.Fatal(err)
	}
	return on
}

// capture reads the cell's capture; a zero one with ID 0 if it is gone.
func (r *cellRun) capture() capture.Capture {
	c, err := r.st.Capture(context.Background(), r.id)
	if errors.Is(err, capture.ErrCaptureNotFound) {
		return capture.Capture{}
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// lease reads the lease of the cell's environment (the zero lease before it has one).
func (r *cellRun) lease() lease.Lease {
	ctx := context.Background()
	e, err := r.st.Environment(ctx, r.envID)
	if err != nil {
		r.t.Fatal(err)
	}
	if e.Lease == "" {
		return lease.Lease{}
	}
	l, err := r.st.Lease(ctx, e.Lease)
	if err != nil {
		r.t.Fatal(err)
	}
	return l
}

// tick lets the scheduler run once, a while later, with the worker in process.
func (r *cellRun) tick() {
	ctx := context.Background()
	r.clock.SleepUntil(ctx, r.clock.Now().Add(6*time.Minute)) // past any lock a dead worker held
	if err := r.sched.Tick(ctx, time.Second); err != nil {
		r.t.Logf("tick: %v", err)
	}
	r.worker.Wait()
}

// run does one step's work; if it is c's step, with c's fault on, and then checks what c says
// the step left.
func (r *cellRun) run(c cell, step string, work func() error) {
	t := r.t
	if step != c.step {
		if err := work(); err != nil {
			t.Fatalf("%s, without a fault: %v", step, err)
		}
		return
	}
	f := r.f
	f.set(func() {
		f.calls = map[string]int{}
		switch c.fault {
		case faultDB:
			f.db = true
		case faultS3:
			f.s3 = true
		case faultDynamo:
			f.dynamo = true
		case faultKill:
			f.kill = kills[step]
		}
	})
	done := make(chan error, 1)
	go func() { done <- work() }()
	select {
	case err := <-done:
		t.Logf("%s under %q: %v", step, c.fault, err)
		if c.fault == faultKill {
			t.Fatalf("%s returned (%v): it was to be killed in %s", step, err, kills[step])
		}
	case <-f.killed:
		t.Logf("%s under %q: killed in %s", step, c.fault, kills[step])
	case <-time.After(30 * time.Second):
		t.Fatalf("%s under %q did not end", step, c.fault)
	}
	f.set(func() { f.db, f.s3, f.dynamo, f.kill, r.calls, f.calls = false, false, false, "", f.calls, nil })
	for _, ch := range c.after {
		if !ch.ok(r) {
			t.Errorf("right after the %s under %q: not so that %s (calls %v)", step, c.fault, ch.what, r.calls)
		}
	}
}

func runCell(t *testing.T, c cell) {
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
		// The application's statements have returned before each step, so their rows are in
		// the log table, which a collection takes whole: the stop need not wait long.
		Settle: 10 * time.Millisecond,
	}
	worker := &lifecycle.InProcess{Worker: &lifecycle.Worker{Store: st, Recorder: rec, Now: clock.Now, Log: quiet}}
	sched := &lifecycle.Scheduler{Store: st, Handoff: worker, Clock: clock, StuckAfter: 30 * time.Second, Log: quiet}

	id, err := st.NewEnvironmentID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := st.CreateEnvironment(ctx, capture.Environment{ID: id, Name: "shop", OwnerID: "alice", Host: "db.test", Port: db.Port,
		DBName: "shop", User: "capturer", SealedPassword: "cap-pw", Created: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	cpt, err := capture.New(capture.Request{Name: "under fire", EnvID: env.ID}, "alice", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if cpt, err = st.CreateCapture(ctx, cpt); err != nil {
		t.Fatal(err)
	}
	r := &cellRun{t: t, db: db, st: st, f: f, id: cpt.ID, envID: env.ID, worker: worker, sched: sched, clock: clock}

	r.run(c, "start", func() error { return worker.Worker.Start(ctx, cpt.ID) })
	for range 4 { // a start that died is retried once it is stuck
		if s := r.capture().Status; s != capture.Started && s != capture.Starting {
			break
		}
		r.tick()
	}
	var want []string
	if got := r.capture(); c.step == "start" && c.status == capture.Failed {
		if got.Status != capture.Failed {
			t.Fatalf("after the failed start: %s, want FAILED", got.Status)
		}
	} else {
		if got.Status != capture.Running {
			t.Fatalf("after the start: %s (%s), want RUNNING", got.Status, got.Reason)
		}
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
		}
		runOrders(0, 50)
		r.run(c, "collect", func() error { return worker.Worker.Collect(ctx, cpt.ID) })
		runOrders(50, 100)
		r.tick()
		runOrders(100, 150)
		got := r.capture()
		if got.Status != capture.Running {
			t.Fatalf("before it ends: %s (%s), want RUNNING", got.Status, got.Reason)
		}
		if c.step == "release" {
			// Deleted while recording, as the API does it: the record goes, a release is handed on.
			if err := st.DeleteCapture(ctx, got); err != nil {
				t.Fatal(err)
			}
			r.run(c, "release", func() error {
				return worker.Worker.Release(ctx, lifecycle.Event{Action: lifecycle.ActionRelease, CaptureID: cpt.ID, EnvID: cpt.EnvID, Lease: got.Lease})
			})
		} else {
			next, err := capture.Stop(got, clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Move(ctx, next, got.Status); err != nil {
				t.Fatal(err)
			}
			r.run(c, "stop", func() error { return worker.Worker.Stop(ctx, cpt.ID) })
		}
	}

	// Recovery: ticks, with the fault cleared, until the cell is where it must end.
	recovered := func() bool {
		got := r.capture()
		final := got.Status == c.status && (c.status != "" || got.ID == 0)
		return final && r.generalLog() == "0" && r.lease().Idle()
	}
	ticks := 0
	for ; ticks < 5 && !recovered(); ticks++ {
		r.tick()
	}
	t.Logf("recovered after %d ticks", ticks)

	if on := r.generalLog(); on != "0" {
		t.Errorf("general_log = %s after recovery, want off as found", on)
	}
	if l := r.lease(); !l.Idle() {
		t.Errorf("lease after recovery: %+v, want idle", l)
	}
	got := r.capture()
	switch c.status {
	case "":
		if got.ID != 0 {
			t.Errorf("the deleted capture is back: %+v", got)
		}
	case capture.Done:
		if got.Status != capture.Done {
			t.Fatalf("after recovery the capture is %s (%s), want DONE", got.Status, got.Reason)
		}
		if events := readWorkload(t, files, got); !slices.Equal(events, want) {
			t.Errorf("DONE with %d application statements, want exactly the %d run", len(events), len(want))
		}
	case capture.Failed:
		if got.Status != capture.Failed {
			t.Fatalf("after recovery the capture is %s, want FAILED", got.Status)
		}
		for _, part := range c.reason {
			if !strings.Contains(got.Reason, part) {
				t.Errorf("FAILED with reason %q, want it to say %q", got.Reason, part)
			}
		}
		if strings.Contains(got.Reason, "cap-pw") {
			t.Errorf("the reason shows the password: %q", got.Reason)
		}
	}
}
