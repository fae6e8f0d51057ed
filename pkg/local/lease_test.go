package local_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

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

// eventually polls cond every 50 ms until it holds, failing after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLocalRestoreAfterARefusedStop is the first case of the production-safety issue, over
// HTTP: the database refuses the recorder at the stop (its password changed), then lets it in
// again. The environment shows the restore pending and why; within a few ticks of the database
// letting it in, the general log is off again.
func TestLocalRestoreAfterARefusedStop(t *testing.T) {
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
	time.Sleep(2 * time.Second) // ticks go by, each retrying
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
	time.Sleep(300 * time.Millisecond)
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

// TestLocalDeletedWhileStarting is the fourth case, over HTTP: captures deleted while their
// worker starts them, at different moments of the start. The general log ends up off.
func TestLocalDeletedWhileStarting(t *testing.T) {
	db := mysqltest.Start(t)
	accounts(t, db, "shop")
	l := startLocal(t)
	env, first := l.startCapture(db, "shop", "first")
	for i, wait := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond} {
		var c captureView
		l.call("POST", "/api/captures", map[string]any{"name": fmt.Sprintf("doomed %d", i), "envId": env.ID}, &c)
		time.Sleep(wait)
		if code := l.call("DELETE", fmt.Sprintf("/api/captures/%d", c.ID), nil, nil); code != 200 && code != 409 {
			t.Fatalf("delete while starting: %d", code)
		}
	}
	l.waitStatus(first.ID, "RUNNING", 10*time.Second)
	l.call("POST", fmt.Sprintf("/api/captures/%d/stop", first.ID), nil, nil)
	l.waitStatus(first.ID, "DONE", 10*time.Second)
	eventually(t, 10*time.Second, "the general log off once every capture is stopped or deleted", func() bool {
		return generalLog(t, db) == "0"
	})
	time.Sleep(1500 * time.Millisecond) // a tick or so later, still off
	if on := generalLog(t, db); on != "0" {
		t.Errorf("general_log = %s a while later", on)
	}
}
