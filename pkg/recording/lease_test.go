package recording_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
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

// environment stores another environment of the fixture's owner on the fixture's server,
// reached as host.
func (f *fixture) environment(t testing.TB, host string) capture.Environment {
	t.Helper()
	return f.environmentOf(t, f.env.OwnerID, host)
}

// environmentOf is environment, created by owner.
func (f *fixture) environmentOf(t testing.TB, owner, host string) capture.Environment {
	t.Helper()
	ctx := context.Background()
	id, err := f.store.NewEnvironmentID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env := f.env
	env.ID, env.Host, env.Name, env.OwnerID = id, host, owner+"'s shop via "+host, owner
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// refusedHolds counts the holds of the general log the store turned away because the lease
// changed (a restore under way).
type refusedHolds struct {
	*store.Store
	n atomic.Int32
}

func (s *refusedHolds) HoldLog(ctx context.Context, key string, id, envID int64, before map[string]string, restores int, now, sweepAt time.Time) error {
	err := s.Store.HoldLog(ctx, key, id, envID, before, restores, now, sweepAt)
	if errors.Is(err, capture.ErrChanged) {
		s.n.Add(1)
	}
	return err
}

// TestNewHolderWaitsForARestore: a capture starting while the last holder's restore is under
// way waits for it, then turns the log on again, instead of having it turned off under it.
func TestNewHolderWaitsForARestore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	refused := &refusedHolds{Store: f.store}
	f.rec.Store = refused
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
	// Turned away twice, so it waited and tried again: it is waiting, not giving up.
	eventually(t, 10*time.Second, "Begin tried to hold the log twice", func() bool { return refused.n.Load() >= 2 })
	select {
	case err := <-began:
		t.Fatalf("Begin returned during the restore: %v", err)
	default:
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
	t.Parallel()
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
