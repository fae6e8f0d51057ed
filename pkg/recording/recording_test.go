package recording_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/store"
)

func TestRecordsExactlyTheWindow(t *testing.T) {
	t.Parallel()
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
	f.settled(t)
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
	t.Parallel()
	f := newFixture(t)
	st := &flaky{Store: f.store}
	f.rec.Store = st
	c := f.begin(t, f.newCapture(t, "crashy"))
	want := f.runOrders(t, 0, 300)
	f.settled(t)

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
	f.settled(t)
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
	f := newFixture(t)
	c := f.begin(t, f.newCapture(t, "racy"))
	want := f.runOrders(t, 0, 200)
	f.settled(t)
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
