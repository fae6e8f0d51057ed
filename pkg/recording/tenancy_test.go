package recording_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/mysqltest"
)

// twin starts a second server on [::1] at the fixture's port, with the fixture's users and
// schema: it claims the fixture server's identity (same host name, port and server id) while
// being another server, as two MariaDB servers on one machine do.
func (f *fixture) twin(t testing.TB, owner string) (*mysqltest.Server, capture.Environment) {
	t.Helper()
	db := mysqltest.StartWith(t, mysqltest.Options{Twin: f.db})
	db.Exec(t, shopAccounts...)
	db.Exec(t, f.procedures...)
	claim := func(s *mysqltest.Server) string {
		var host string
		var port, id int
		if err := s.Root(t).QueryRow("SELECT @@hostname, @@port, @@server_id").Scan(&host, &port, &id); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(host, port, id)
	}
	if a, b := claim(f.db), claim(db); a != b {
		t.Fatalf("the twin claims %s, the fixture's server %s: the test needs one identity", b, a)
	}
	return db, f.environmentOf(t, owner, db.Host)
}

// twoNames begins a capture through the fixture's environment, then one through a second
// environment of its owner naming the same server as localhost, with hold set (if not nil)
// while the second begins. It returns both captures as begun, and the second environment.
func (f *fixture) twoNames(t testing.TB, hold *atomic.Bool) (a, b capture.Capture, byName capture.Environment) {
	t.Helper()
	byName = f.environment(t, "localhost")
	a = f.begin(t, f.newCapture(t, "by address"))
	b = f.on(f.db, byName).newCapture(t, "by name")
	if hold != nil {
		hold.Store(true)
		defer hold.Store(false)
	}
	if err := f.rec.Begin(context.Background(), byName, b); err != nil {
		t.Fatal(err)
	}
	return a, f.reload(t, b), byName
}

// on is a fixture's view of another server and environment of the same store.
func (f *fixture) on(db *mysqltest.Server, env capture.Environment) *fixture {
	g := *f
	g.db, g.env = db, env
	return &g
}

// TestTwinsClaimingOneIdentityStayApart: Alice records her server on 127.0.0.1:P, Mallory his
// own on [::1]:P; the two claim one identity. Neither proves it reaches the other's server, so
// each has its own lease and collection: each workload holds exactly its own server's
// statements, and both logs are left off, as found.
func TestTwinsClaimingOneIdentityStayApart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fixture func(testing.TB) *fixture
	}{{"rotated", newFixture}, {"in place", newInPlaceFixture}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			alice := tc.fixture(t)
			db, env := alice.twin(t, "mallory")
			mallory := alice.on(db, env)
			a := alice.begin(t, alice.newCapture(t, "alice"))
			m := mallory.begin(t, mallory.newCapture(t, "mallory"))
			if a.Lease == m.Lease || a.Server == m.Server {
				t.Fatalf("one lease (%s) or collection (%s) for two servers", a.Lease, a.Server)
			}
			wantA := alice.runOrders(t, 0, 5)
			wantM := mallory.runOrders(t, 100, 105)
			mallory.settled(t)
			if _, err := mallory.rec.Collect(context.Background(), mallory.env, mallory.reload(t, m)); err != nil {
				t.Fatal(err)
			}
			wantA = append(wantA, alice.runOrders(t, 5, 10)...)
			a, m = alice.end(t, a), mallory.end(t, m)
			sameStatements(t, appStatements(alice.workload(t, a)), wantA)
			sameStatements(t, appStatements(mallory.workload(t, m)), wantM)
			alice.wantLog(t, "0")
			mallory.wantLog(t, "0")
			for _, key := range []string{a.Lease, m.Lease} {
				if l := alice.lease(t, key); !l.Idle() || len(l.Via) != 1 {
					t.Errorf("lease %s: %+v, want idle and reached by one environment", key, l)
				}
			}
		})
	}
}

// TestProofContradictedMidCapture: two environments prove they reach one server and share it;
// then one of them is pointed at a twin claiming the same identity. Its next connection no
// longer proves it against the server's first environment: it leaves, its capture cannot go
// on (no row of the twin reaches the server's captures), while the other capture ends with
// exactly its statements, and both logs are as found.
func TestProofContradictedMidCapture(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	twin, _ := f.twin(t, "alice")
	ctx := context.Background()
	a, b, byName := f.twoNames(t, nil)
	if a.Lease != b.Lease {
		t.Fatalf("leases %q and %q, want one: the two environments reach one server", a.Lease, b.Lease)
	}
	want := f.runOrders(t, 0, 20)
	f.on(twin, byName).runOrders(t, 500, 510) // the twin's: in no workload of the server

	moved := byName
	moved.Host = twin.Host
	err := f.rec.End(ctx, moved, f.reload(t, b))
	if err == nil || !strings.Contains(err.Error(), "no longer reaches the server the capture records") {
		t.Fatalf("End through an environment now on a twin: %v, want refused", err)
	}
	a = f.end(t, a)
	sameStatements(t, appStatements(f.workload(t, a)), want)
	f.wantLog(t, "0")
	f.on(twin, moved).wantLog(t, "0")
	if l := f.lease(t, a.Lease); !l.Idle() {
		t.Errorf("lease after both ended: %+v, want idle", l)
	}
}

// flakySecrets fails opening environment env's password while on: its connections fail.
type flakySecrets struct {
	env int64
	on  atomic.Bool
}

func (s *flakySecrets) Open(ctx context.Context, env int64, sealed string) (string, error) {
	if env == s.env && s.on.Load() {
		return "", errors.New("the key is unavailable")
	}
	return plain{}.Open(ctx, env, sealed)
}

// TestProofLostMidCapture: a server's first environment cannot be reached when another of its
// environments connects again mid-capture. The proof cannot be made either way; the member
// keeps its place, and its capture ends with exactly its statements.
func TestProofLostMidCapture(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	secrets := &flakySecrets{env: f.env.ID}
	f.rec.Secrets = secrets
	ctx := context.Background()
	a, b, byName := f.twoNames(t, nil)
	want := f.runOrders(t, 0, 20)
	secrets.on.Store(true)
	if err := f.rec.End(ctx, byName, f.reload(t, b)); err != nil {
		t.Fatalf("End while the proof's partner is out of reach: %v", err)
	}
	sameStatements(t, appStatements(f.workload(t, f.reload(t, b))), want)
	f.wantLog(t, "1") // a still records
	secrets.on.Store(false)
	f.end(t, a)
	f.wantLog(t, "0")
}

// TestUnprovenSharedServerLeftAsFound: a second environment reaches the same server as the
// first, but the proof cannot be made (the first's password cannot be read just then), so it
// records as a server of its own. Both still leave the log as found, whichever stops first:
// the second keeps the first's found settings rather than the "on" the first set, and neither
// restores while the other records.
func TestUnprovenSharedServerLeftAsFound(t *testing.T) {
	t.Parallel()
	for _, firstStops := range []bool{true, false} {
		t.Run(fmt.Sprintf("first stops first %v", firstStops), func(t *testing.T) {
			t.Parallel()
			f := newInPlaceFixture(t)
			secrets := &flakySecrets{env: f.env.ID}
			f.rec.Secrets = secrets
			ctx := context.Background()
			a, b, byName := f.twoNames(t, &secrets.on)
			if a.Lease == b.Lease {
				t.Fatal("one lease without a proof")
			}
			if l := f.lease(t, b.Lease); l.Before["general_log"] != "0" {
				t.Fatalf("the unproven server kept %v as found, want the first's (general_log 0)", l.Before)
			}
			want := f.runOrders(t, 0, 10)
			first, second := a, b
			firstEnv, secondEnv := f.env, byName
			if !firstStops {
				first, second, firstEnv, secondEnv = b, a, byName, f.env
			}
			if err := f.rec.End(ctx, firstEnv, f.reload(t, first)); err != nil {
				t.Fatal(err)
			}
			f.wantLog(t, "1") // the other still records, perhaps on this very server
			if l := f.lease(t, first.Lease); !l.RestorePending {
				t.Fatalf("lease of the first to stop: %+v, want its restore waiting", l)
			}
			if err := f.rec.End(ctx, secondEnv, f.reload(t, second)); err != nil {
				t.Fatal(err)
			}
			f.wantLog(t, "0")
			if err := f.rec.Sweep(ctx, first.Lease); err != nil {
				t.Fatal(err)
			}
			for _, c := range []capture.Capture{a, b} {
				if l := f.lease(t, c.Lease); !l.Idle() {
					t.Errorf("lease %s: %+v, want idle", c.Lease, l)
				}
				sameStatements(t, appStatements(f.workload(t, f.reload(t, c))), want)
			}
			if on, out := f.globals(t); on != "0" || out != "FILE" {
				t.Errorf("left general_log=%s log_output=%s, want 0 and FILE as found", on, out)
			}
		})
	}
}

// TestOtherOwnersNeverShare: an environment another user created shares nothing with yours,
// even one that reaches your very server (as a relay in front of it would, passing any proof
// through): its own group, lease and collection, so no collection of yours hands it a row, and
// no restore of yours goes through it.
func TestOtherOwnersNeverShare(t *testing.T) {
	f := newFixture(t)
	mallory := f.on(f.db, f.environmentOf(t, "mallory", "localhost"))
	a := f.begin(t, f.newCapture(t, "alice"))
	m := mallory.begin(t, mallory.newCapture(t, "mallory"))
	if a.Lease == m.Lease || a.Server == m.Server {
		t.Fatalf("alice's lease %s and collection %s shared with another owner's (%s, %s)", a.Lease, a.Server, m.Lease, m.Server)
	}
	if l := f.lease(t, a.Lease); len(l.Via) != 1 || l.Via[0] != f.env.ID {
		t.Errorf("alice's lease is reached through %v, want only her environment %d", l.Via, f.env.ID)
	}
	f.end(t, a)
	mallory.end(t, m)
}
