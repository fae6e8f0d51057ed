package lifecycle_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// fakeClock jumps to whatever time a sleeper waits for, so a tick's waits take no time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(_ context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

// eventually polls cond until it holds, failing t after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
	}
}

// handoffs records the work handed to the worker.
type handoffs struct {
	mu     sync.Mutex
	events []lifecycle.Event
}

func (t *handoffs) HandOff(_ context.Context, ev lifecycle.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, ev)
	return nil
}

func (t *handoffs) count(id int64, a lifecycle.Action) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, ev := range t.events {
		if ev.CaptureID == id && ev.Action == a {
			n++
		}
	}
	return n
}

type fixture struct {
	store *store.Store
	env   capture.Environment
}

func newFixture(t *testing.T) fixture {
	st := storetest.New(t, nil)
	ctx := context.Background()
	id, err := st.NewEnvironmentID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Port 1 on loopback: nothing listens there, so connecting fails at once.
	env, err := st.CreateEnvironment(ctx, capture.Environment{ID: id, Name: "unreachable", OwnerID: "alice", Host: "127.0.0.1", Port: 1, DBName: "shop", User: "app", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{store: st, env: env}
}

func (f fixture) create(t *testing.T, name string, start time.Time, duration float64, now time.Time) capture.Capture {
	t.Helper()
	req := capture.Request{Name: name, EnvID: f.env.ID, Status: capture.Scheduled, ScheduledStart: &start}
	if duration > 0 {
		req.Duration = &duration
	}
	c, err := capture.New(req, "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = f.store.CreateCapture(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (f fixture) get(t *testing.T, id int64) capture.Capture {
	t.Helper()
	c, err := f.store.Capture(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startByHand does the worker's part of a start: STARTED → STARTING → RUNNING.
func (f fixture) startByHand(t *testing.T, id int64, now time.Time) {
	t.Helper()
	for _, to := range []capture.Status{capture.Starting, capture.Running} {
		cur := f.get(t, id)
		next, err := capture.Move(cur, to, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.Move(context.Background(), next, cur.Status); err != nil {
			t.Fatal(err)
		}
	}
}

// t0 is the fake clock's start in the scheduler tests.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// scheduler returns a scheduler over f's store on a fake clock at t0, recording what it hands
// to the worker.
func (f fixture) scheduler(stuckAfter time.Duration) (*lifecycle.Scheduler, *fakeClock, *handoffs) {
	clock, trig := &fakeClock{now: t0}, &handoffs{}
	return &lifecycle.Scheduler{Store: f.store, Handoff: trig, Clock: clock, StuckAfter: stuckAfter, Log: quiet}, clock, trig
}

func TestSchedulerStartsDueCapturesAtTheirSecond(t *testing.T) {
	f := newFixture(t)
	s, _, trig := f.scheduler(time.Minute)
	due := f.create(t, "due soon", t0.Add(17*time.Second), 0, t0)
	later := f.create(t, "due later", t0.Add(90*time.Second), 0, t0)

	if err := s.Tick(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	got := f.get(t, due.ID)
	if got.Status != capture.Started || !got.Updated.Equal(t0.Add(17*time.Second)) {
		t.Errorf("due capture: %s at %v, want STARTED at %v", got.Status, got.Updated, t0.Add(17*time.Second))
	}
	if trig.count(due.ID, lifecycle.ActionStart) != 1 {
		t.Errorf("worker triggered %d times for the due capture", trig.count(due.ID, lifecycle.ActionStart))
	}
	if got := f.get(t, later.ID); got.Status != capture.Scheduled || trig.count(later.ID, lifecycle.ActionStart) != 0 {
		t.Errorf("not-yet-due capture: %s, triggered %d times", got.Status, trig.count(later.ID, lifecycle.ActionStart))
	}
	// A repeated tick changes nothing.
	if err := s.Tick(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if trig.count(due.ID, lifecycle.ActionStart) != 1 {
		t.Error("a repeated tick started the capture again")
	}
}

func TestSchedulerStopsAtScheduledEnd(t *testing.T) {
	f := newFixture(t)
	s, clock, trig := f.scheduler(time.Hour)
	c := f.create(t, "bounded", t0.Add(5*time.Second), 60, t0)
	if err := s.Tick(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	f.startByHand(t, c.ID, clock.Now())
	if err := s.Tick(context.Background(), 10*time.Second); err != nil { // end not yet within reach
		t.Fatal(err)
	}
	if got := f.get(t, c.ID); got.Status != capture.Running {
		t.Fatalf("stopped early: %s", got.Status)
	}
	// A running capture not yet due to stop collects what it recorded since the last tick.
	if n := trig.count(c.ID, lifecycle.ActionCollect); n != 1 {
		t.Errorf("a tick while running triggered %d collections, want 1", n)
	}
	clock.SleepUntil(context.Background(), t0.Add(60*time.Second))
	if err := s.Tick(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	end := t0.Add(65 * time.Second)
	if got := f.get(t, c.ID); got.Status != capture.Stopping || !got.Updated.Equal(end) {
		t.Errorf("at its end: %s at %v, want STOPPING at %v", got.Status, got.Updated, end)
	}
	if trig.count(c.ID, lifecycle.ActionStop) != 1 {
		t.Errorf("stop triggered %d times", trig.count(c.ID, lifecycle.ActionStop))
	}
	if n := trig.count(c.ID, lifecycle.ActionCollect); n != 1 {
		t.Errorf("the stopping tick also triggered a collection (%d in all): the stop collects by itself", n)
	}
}

// TestSchedulerStopsUnboundedCapturesAfter31Days: a capture started without a duration stops
// by itself once it has run for capture.MaxDuration, saying why.
func TestSchedulerStopsUnboundedCapturesAfter31Days(t *testing.T) {
	f := newFixture(t)
	s, clock, trig := f.scheduler(time.Hour)
	c := f.create(t, "open ended", t0.Add(5*time.Second), 0, t0)
	if err := s.Tick(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	f.startByHand(t, c.ID, clock.Now())
	started := *f.get(t, c.ID).Start
	clock.SleepUntil(context.Background(), started.Add(capture.MaxDuration-time.Minute))
	if err := s.Tick(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, c.ID); got.Status != capture.Running {
		t.Fatalf("a minute before 31 days: %s, want still running", got.Status)
	}
	clock.SleepUntil(context.Background(), started.Add(capture.MaxDuration-5*time.Second))
	if err := s.Tick(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got := f.get(t, c.ID)
	if got.Status != capture.Stopping || got.Reason != capture.MaxDurationReason || !got.Updated.Equal(started.Add(capture.MaxDuration)) {
		t.Errorf("at 31 days: %s at %v (%q), want STOPPING at %v with the reason", got.Status, got.Updated, got.Reason, started.Add(capture.MaxDuration))
	}
	if trig.count(c.ID, lifecycle.ActionStop) != 1 {
		t.Errorf("stop triggered %d times", trig.count(c.ID, lifecycle.ActionStop))
	}
}

func TestConcurrentSchedulersStartEachCaptureOnce(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC()
	var ids []int64
	for i := range 20 {
		ids = append(ids, f.create(t, "concurrent "+string(rune('a'+i)), now.Add(time.Duration(i)*20*time.Millisecond+200*time.Millisecond), 0, now).ID)
	}
	trig := &handoffs{}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &lifecycle.Scheduler{Store: f.store, Handoff: trig, Clock: lifecycle.RealClock{}, StuckAfter: time.Hour, Log: quiet}
			if err := s.Tick(context.Background(), 2*time.Second); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if n := trig.count(id, lifecycle.ActionStart); n != 1 {
			t.Errorf("capture %d started %d times by 3 schedulers", id, n)
		}
		if got := f.get(t, id); got.Status != capture.Started {
			t.Errorf("capture %d is %s", id, got.Status)
		}
	}
}

func TestStuckCapturesAreRetriedThenFailed(t *testing.T) {
	f := newFixture(t)
	s, clock, trig := f.scheduler(time.Minute)
	c := f.create(t, "stuck", t0.Add(time.Second), 0, t0)
	if err := s.Tick(context.Background(), 5*time.Second); err != nil { // → STARTED, and no worker ever answers
		t.Fatal(err)
	}
	for attempt := 1; attempt < capture.MaxAttempts; attempt++ {
		clock.SleepUntil(context.Background(), clock.Now().Add(30*time.Second))
		if err := s.Tick(context.Background(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if n := trig.count(c.ID, lifecycle.ActionStart); n != attempt {
			t.Fatalf("after 30 s: %d handoffs, want %d (not stuck long enough yet)", n, attempt)
		}
		clock.SleepUntil(context.Background(), clock.Now().Add(31*time.Second))
		if err := s.Tick(context.Background(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		got := f.get(t, c.ID)
		if got.Status != capture.Started || got.Attempts != attempt || trig.count(c.ID, lifecycle.ActionStart) != attempt+1 {
			t.Fatalf("retry %d: %s with %d attempts, %d handoffs", attempt, got.Status, got.Attempts, trig.count(c.ID, lifecycle.ActionStart))
		}
	}
	clock.SleepUntil(context.Background(), clock.Now().Add(61*time.Second))
	if err := s.Tick(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got := f.get(t, c.ID)
	if got.Status != capture.Failed || got.Reason != capture.StuckReason(capture.Started) || got.End == nil {
		t.Fatalf("after %d attempts: %+v, want FAILED with the stuck reason", capture.MaxAttempts, got)
	}
	if _, due := got.DueAt(); due {
		t.Error("a failed capture is still due")
	}
	// Its worker may have turned recording on before it died: the worker is asked to release it.
	if n := trig.count(c.ID, lifecycle.ActionRelease); n != 1 {
		t.Errorf("%d release handoffs for the failed capture, want 1", n)
	}
}

type fakeRecorder struct{ beginErr, endErr error }

func (r fakeRecorder) Begin(context.Context, capture.Environment, capture.Capture) error {
	return r.beginErr
}
func (r fakeRecorder) Collect(context.Context, capture.Environment, capture.Capture) ([]capture.Capture, error) {
	return nil, nil
}
func (r fakeRecorder) End(context.Context, capture.Environment, capture.Capture) error {
	return r.endErr
}
func (r fakeRecorder) Release(context.Context, capture.Environment, capture.Capture) error {
	return nil
}
func (r fakeRecorder) Sweep(context.Context, string) error { return nil }

func TestWorker(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC()
	started := func(name string) capture.Capture {
		c, err := capture.New(capture.Request{Name: name, EnvID: f.env.ID}, "alice", now)
		if err != nil {
			t.Fatal(err)
		}
		c, err = f.store.CreateCapture(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()

	ok := &lifecycle.Worker{Store: f.store, Recorder: fakeRecorder{}, Now: time.Now, Log: quiet}
	c := started("runs")
	if err := ok.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got := f.get(t, c.ID)
	if got.Status != capture.Running || got.Start == nil || got.Start.Before(now) {
		t.Fatalf("started: %+v", got)
	}
	if err := ok.Start(ctx, c.ID); err != nil || f.get(t, c.ID).Status != capture.Running {
		t.Fatalf("a repeated start changed something: %v", err)
	}
	next, _ := capture.Stop(got, time.Now())
	if err := f.store.Move(ctx, next, got.Status); err != nil {
		t.Fatal(err)
	}
	if err := ok.Stop(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, c.ID); got.Status != capture.Done || got.End == nil {
		t.Fatalf("stopped: %+v", got)
	}

	// Work for a capture deleted meanwhile is no error (Lambda would only retry it).
	if err := ok.Handle(ctx, lifecycle.Event{Action: lifecycle.ActionStart, CaptureID: 987654}); err != nil {
		t.Errorf("start of a deleted capture: %v", err)
	}
	if err := ok.Handle(ctx, lifecycle.Event{Action: "pause", CaptureID: c.ID}); err == nil {
		t.Error("an unknown action was accepted")
	}

	bad := &lifecycle.Worker{Store: f.store, Recorder: fakeRecorder{beginErr: errors.New("access denied")}, Now: time.Now, Log: quiet}
	c = started("refused")
	if err := bad.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, c.ID); got.Status != capture.Failed || got.Reason != "Could not start recording: access denied" {
		t.Fatalf("refused: %+v", got)
	}

	// The real MySQL recorder against a port nobody listens on: FAILED, naming the host.
	real := &lifecycle.Worker{Store: f.store, Recorder: &recording.Recorder{Store: f.store, Timeout: 2 * time.Second, Network: netguard.Policy{AllowLoopback: true}}, Now: time.Now, Log: quiet}
	c = started("unreachable")
	if err := real.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got = f.get(t, c.ID)
	if got.Status != capture.Failed || !strings.Contains(got.Reason, "127.0.0.1:1") {
		t.Fatalf("unreachable database: %+v, want FAILED with a reason naming 127.0.0.1:1", got)
	}
}
