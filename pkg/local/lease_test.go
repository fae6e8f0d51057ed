package local_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/local"
	"github.com/mycrt/captures/pkg/mysqltest"
)

type environmentView struct {
	ID         int64
	GeneralLog *struct {
		Holders        []int64
		RestorePending bool
		LastError      *string
	}
}

func generalLog(t *testing.T, db *mysqltest.Server) (on string) {
	t.Helper()
	if err := db.Root(t).QueryRow("SELECT @@GLOBAL.general_log").Scan(&on); err != nil {
		t.Fatal(err)
	}
	return on
}

// lease reads the general log lease of environment envID, as the store keeps it.
func (l *client) lease(envID int64) lease.Lease {
	l.t.Helper()
	ctx := context.Background()
	st := l.svc.Scheduler.Store
	e, err := st.Environment(ctx, envID)
	if err != nil {
		l.t.Fatal(err)
	}
	lease, err := st.Lease(ctx, e.Lease)
	if err != nil {
		l.t.Fatal(err)
	}
	return lease
}

// TestLocalRestoreAfterARefusedStop is the first case of the production-safety issue, over
// HTTP: the database refuses the recorder at the stop (its password changed), then lets it in
// again. The environment shows the restore pending and why; within a few ticks of the database
// letting it in, the general log is off again.
func TestLocalRestoreAfterARefusedStop(t *testing.T) {
	t.Parallel()
	db := mysqltest.Start(t)
	accounts(t, db, "shop")
	l := startLocal(t)
	env, c := l.startCapture(db, "shop", "refused stop")
	l.waitStatus(c.ID, "RUNNING", 10*time.Second)
	var e environmentView
	l.call("GET", fmt.Sprintf("/api/environments/%d", env.ID), nil, &e)
	if e.GeneralLog == nil || len(e.GeneralLog.Holders) != 1 || e.GeneralLog.Holders[0] != c.ID || e.GeneralLog.RestorePending {
		t.Fatalf("while recording: %+v, want capture %d holding", e.GeneralLog, c.ID)
	}

	db.Exec(t, "ALTER USER capturer IDENTIFIED BY 'changed'")
	l.call("POST", fmt.Sprintf("/api/captures/%d/stop", c.ID), nil, nil)
	stopped := l.waitStatus(c.ID, "FAILED", 10*time.Second)
	if stopped.Reason == nil || !strings.Contains(*stopped.Reason, db.Addr()) {
		t.Errorf("reason %v, want the host named", stopped.Reason)
	}
	eventually(t, 5*time.Second, "the environment shows the restore pending", func() bool {
		l.call("GET", fmt.Sprintf("/api/environments/%d", env.ID), nil, &e)
		return e.GeneralLog.RestorePending && e.GeneralLog.LastError != nil
	})
	if !strings.Contains(*e.GeneralLog.LastError, "Access denied") || strings.Contains(*e.GeneralLog.LastError, "cap-pw") {
		t.Errorf("lastError %q, want why, without the password", *e.GeneralLog.LastError)
	}
	// The sweeps of the ticks that follow try again, and are refused again.
	tried := l.lease(env.ID).Attempts
	eventually(t, 10*time.Second, "two more restores tried", func() bool { return l.lease(env.ID).Attempts >= tried+2 })
	if on := generalLog(t, db); on != "1" {
		t.Fatalf("general_log = %s while the restore cannot reach the database, want still on", on)
	}

	db.Exec(t, "ALTER USER capturer IDENTIFIED BY 'cap-pw'")
	eventually(t, 5*time.Second, "the general log restored once the database lets the recorder in", func() bool {
		return generalLog(t, db) == "0"
	})
	// The restore is recorded once it has also discarded the log's last rows.
	eventually(t, 5*time.Second, "the restore recorded", func() bool {
		l.call("GET", fmt.Sprintf("/api/environments/%d", env.ID), nil, &e)
		return !e.GeneralLog.RestorePending
	})
	if e.GeneralLog.RestorePending || e.GeneralLog.LastError != nil || len(e.GeneralLog.Holders) != 0 {
		t.Errorf("after the restore: %+v", e.GeneralLog)
	}
}

// TestLocalOneServerTwoNames is the second case, over HTTP: one server as 127.0.0.1 in one
// environment and as localhost in another. Stopping the first capture leaves the log on for
// the second, which records what runs after; stopping it turns the log off.
func TestLocalOneServerTwoNames(t *testing.T) {
	t.Parallel()
	db := mysqltest.Start(t)
	accounts(t, db, "shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total DECIMAL(10,2))")
	l := startLocal(t)
	_, first := l.startCapture(db, "shop", "by address")
	byName := *db
	byName.Host = "localhost"
	_, second := l.startCapture(&byName, "shop", "by name")
	l.waitStatus(first.ID, "RUNNING", 10*time.Second)
	l.waitStatus(second.ID, "RUNNING", 10*time.Second)

	l.call("POST", fmt.Sprintf("/api/captures/%d/stop", first.ID), nil, nil)
	l.waitStatus(first.ID, "DONE", 10*time.Second)
	if on := generalLog(t, db); on != "1" {
		t.Fatalf("general_log = %s after the first stop, want on for the second capture", on)
	}
	app := db.As(t, "app", "app-pw", "shop")
	for i := range 50 {
		if _, err := app.Exec(fmt.Sprintf("INSERT INTO orders VALUES (%d, 1)", i)); err != nil {
			t.Fatal(err)
		}
	}
	l.call("POST", fmt.Sprintf("/api/captures/%d/stop", second.ID), nil, nil)
	done := l.waitStatus(second.ID, "DONE", 10*time.Second)
	if done.Workload == nil || done.Workload.Statements < 50 {
		t.Errorf("the second capture recorded %+v, want the 50 statements run after the first stop", done.Workload)
	}
	if on := generalLog(t, db); on != "0" {
		t.Errorf("general_log = %s after both stops, want off", on)
	}
}

// TestLocalRefusesLinkLocalHosts is the third case, over HTTP: environments on the cloud's
// metadata service or an IPv6 link-local address are refused when written (nothing is dialled).
func TestLocalRefusesLinkLocalHosts(t *testing.T) {
	t.Parallel()
	l := startLocal(t)
	for _, host := range []string{"169.254.169.254", "fe80::1"} {
		var e struct {
			Code    int
			Message string
		}
		code := l.call("POST", "/api/environments", map[string]any{"envName": "sneaky " + host, "host": host, "dbName": "d", "user": "u"}, &e)
		if code != 400 || !strings.Contains(e.Message, "link-local") {
			t.Errorf("environment on %s: %d %+v, want 400 naming link-local", host, code, e)
		}
	}
}

// pause is a moment a start waits at until the test lets it go on.
type pause struct{ reached, resume chan struct{} }

func newPause() *pause { return &pause{reached: make(chan struct{}), resume: make(chan struct{})} }

// reach waits until a start waits at p.
func (p *pause) reach(t *testing.T, what string) {
	t.Helper()
	select {
	case <-p.reached:
	case <-time.After(10 * time.Second):
		t.Fatalf("the start never reached %s", what)
	}
}

// pausedBegins is the worker's recorder, with the Begin of the captures named in before and
// after paused there (before the real Begin; once it has turned the log on), and the Begins
// under way counted.
type pausedBegins struct {
	lifecycle.Recorder
	before, after map[string]*pause // by capture name, fixed before anything runs
	running       atomic.Int32
}

func (p *pausedBegins) Begin(ctx context.Context, env capture.Environment, c capture.Capture) error {
	p.running.Add(1)
	defer p.running.Add(-1)
	if w := p.before[c.Name]; w != nil {
		close(w.reached)
		<-w.resume
	}
	err := p.Recorder.Begin(ctx, env, c)
	if w := p.after[c.Name]; w != nil {
		close(w.reached)
		<-w.resume
	}
	return err
}

// heldStarts hands the API's work to the worker, keeping the starts back while hold is set.
type heldStarts struct {
	next *lifecycle.InProcess
	mu   sync.Mutex
	hold bool
	held []lifecycle.Event
}

func (h *heldStarts) HandOff(ctx context.Context, ev lifecycle.Event) error {
	h.mu.Lock()
	if h.hold && ev.Action == lifecycle.ActionStart {
		h.held = append(h.held, ev)
		h.mu.Unlock()
		return nil
	}
	h.mu.Unlock()
	return h.next.HandOff(ctx, ev)
}

// keep holds the starts from now on; let hands on those held, and the next ones.
func (h *heldStarts) keep() { h.mu.Lock(); h.hold = true; h.mu.Unlock() }

func (h *heldStarts) let() {
	h.mu.Lock()
	held := h.held
	h.hold, h.held = false, nil
	h.mu.Unlock()
	for _, ev := range held {
		_ = h.next.HandOff(context.Background(), ev)
	}
}

// TestLocalDeletedWhileStarting is the fourth case, over HTTP: captures deleted while their
// worker starts them, each at a moment of the start the test chooses (before the worker took
// it, before it turned the log on, once it had, once it runs), beside a capture that keeps
// recording. Each delete succeeds, the capture is gone and lets go of the log, which stays on
// for the other; once that one stops, the log is off, and no start is left to turn it on.
func TestLocalDeletedWhileStarting(t *testing.T) {
	t.Parallel()
	db := mysqltest.Start(t)
	accounts(t, db, "shop")
	starts := &heldStarts{}
	begins := &pausedBegins{
		before: map[string]*pause{"before the log is on": newPause()},
		after:  map[string]*pause{"once the log is on": newPause()},
	}
	l := startLocalWith(t, func(svc *local.Service) {
		starts.next, svc.API.Handoff = svc.Handoff, starts
		begins.Recorder, svc.Handoff.Worker.Recorder = svc.Handoff.Worker.Recorder, begins
	})
	env, first := l.startCapture(db, "shop", "first")
	l.waitStatus(first.ID, "RUNNING", 10*time.Second)

	for _, tt := range []struct {
		moment string
		status string      // the capture's as it is deleted
		before func()      // before the capture is created
		reach  func() bool // waits for the moment; whether the capture holds the log there
		after  func()      // once it is deleted
	}{
		{"before the worker runs", "STARTED", starts.keep, func() bool { return false }, starts.let},
		{"before the log is on", "STARTING", nil, func() bool {
			begins.before["before the log is on"].reach(t, "its Begin")
			return false
		}, func() { close(begins.before["before the log is on"].resume) }},
		{"once the log is on", "STARTING", nil, func() bool {
			begins.after["once the log is on"].reach(t, "the end of its Begin")
			return true
		}, func() { close(begins.after["once the log is on"].resume) }},
		{"once it runs", "RUNNING", nil, func() bool { return true }, nil},
	} {
		// One after another in this test, not in subtests: the client fails the test it was made for.
		if tt.before != nil {
			tt.before()
		}
		var c captureView
		if code := l.call("POST", "/api/captures", map[string]any{"name": tt.moment, "envId": env.ID}, &c); code != 200 {
			t.Fatalf("%s: create: %d", tt.moment, code)
		}
		if tt.status == "RUNNING" {
			l.waitStatus(c.ID, "RUNNING", 10*time.Second)
		}
		holds := tt.reach()
		got, holding := l.get(c.ID), slices.Contains(l.lease(env.ID).Holders, c.ID)
		if got.Status != tt.status || holding != holds {
			t.Fatalf("%s: %s, holding the log %v; want %s, holding %v", tt.moment, got.Status, holding, tt.status, holds)
		}
		if code := l.call("DELETE", fmt.Sprintf("/api/captures/%d", c.ID), nil, nil); code != 200 {
			t.Fatalf("%s: delete: %d, want 200", tt.moment, code)
		}
		if tt.after != nil {
			tt.after()
		}
		if code := l.call("GET", fmt.Sprintf("/api/captures/%d", c.ID), nil, nil); code != 404 {
			t.Errorf("%s: the deleted capture: %d, want 404", tt.moment, code)
		}
		eventually(t, 10*time.Second, tt.moment+": only the other capture holds the log, still on", func() bool {
			return slices.Equal(l.lease(env.ID).Holders, []int64{first.ID}) && generalLog(t, db) == "1"
		})
	}

	l.call("POST", fmt.Sprintf("/api/captures/%d/stop", first.ID), nil, nil)
	l.waitStatus(first.ID, "DONE", 10*time.Second)
	eventually(t, 10*time.Second, "the general log off and its lease idle once every capture is stopped or deleted", func() bool {
		return generalLog(t, db) == "0" && l.lease(env.ID).Idle()
	})
	// Every capture is stopped or gone, so no start can come again: none may be under way.
	if n := begins.running.Load(); n != 0 {
		t.Errorf("%d starts still under way", n)
	}
}
