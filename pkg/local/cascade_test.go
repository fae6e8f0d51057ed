package local_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/mysqltest"
)

// replaySessions counts the sessions the replays' account has open on db.
func replaySessions(t *testing.T, db *mysqltest.Server) int {
	t.Helper()
	var n int
	if err := db.Root(t).QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'replayer'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDeleteStopsARunningReplay: a replay running slowly (a twentieth of the captured speed)
// into a second MariaDB, whose target environment is deleted, then another whose capture is:
// each delete answers once the replay is gone, and within seconds its shard has closed its
// session on the target, long before the replay would have ended; the first's hold on the
// target server is let go of, since the second starts there.
func TestDeleteStopsARunningReplay(t *testing.T) {
	t.Parallel()
	const table = "CREATE TABLE shop.orders (id INT PRIMARY KEY, total DECIMAL(10,2))"
	src, dst := mysqltest.Start(t), mysqltest.Start(t)
	accounts(t, src, "shop", table)
	dst.Exec(t, "CREATE DATABASE shop", table)
	replayer(t, dst, "shop")
	l := startLocal(t)
	_, c := l.startCapture(src, "shop", "to delete")
	l.waitStatus(c.ID, "RUNNING", 10*time.Second)
	app := src.As(t, "app", "app-pw", "shop")
	app.SetMaxOpenConns(1)
	for i := range 40 {
		if _, err := app.Exec(fmt.Sprintf("INSERT INTO orders VALUES (%d, %d)", i, i)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Millisecond) // 1 s of workload: 20 s at speed 0.05
	}
	if code := l.call("POST", fmt.Sprintf("/api/captures/%d/stop", c.ID), nil, nil); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	l.waitStatus(c.ID, "DONE", 20*time.Second)

	for i, tt := range []struct {
		name   string
		delete func(target int64) string // the path deleted
	}{
		{"its target environment deleted", func(target int64) string { return fmt.Sprintf("/api/environments/%d", target) }},
		{"its capture deleted", func(int64) string { return fmt.Sprintf("/api/captures/%d?deleteLogs=true", c.ID) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := l.with(t)
			var target struct{ ID int64 }
			if code := l.call("POST", "/api/environments", map[string]any{
				"envName": fmt.Sprintf("candidate %d", i), "host": dst.Host, "port": dst.Port, "dbName": "shop",
				"user": "replayer", "pass": "rep-pw", "target": true,
			}, &target); code != 200 {
				t.Fatalf("create the target: %d", code)
			}
			var r replayView
			if code := l.call("POST", "/api/replays", map[string]any{"name": fmt.Sprintf("slow run %d", i), "captureId": c.ID, "envId": target.ID, "speed": 0.05}, &r); code != 200 {
				t.Fatalf("create replay: %d", code)
			}
			if !poll(30*time.Second, func() bool {
				l.call("GET", fmt.Sprintf("/api/replays/%d", r.ID), nil, &r)
				return r.Status == "RUNNING" && r.Progress.Statements > 0 && replaySessions(t, dst) > 0 || r.Status == "FAILED" || r.Status == "DONE"
			}) || r.Status != "RUNNING" {
				t.Fatalf("replay %+v, reason %v, sessions %d: want it running on the target", r, r.Reason, replaySessions(t, dst))
			}
			if code := l.call("DELETE", tt.delete(target.ID), nil, nil); code != 200 {
				t.Fatalf("delete: %d", code)
			}
			deleted := time.Now()
			if code := l.call("GET", fmt.Sprintf("/api/replays/%d", r.ID), nil, nil); code != 404 {
				t.Errorf("the replay after the delete: %d, want 404", code)
			}
			if !poll(5*time.Second, func() bool { return replaySessions(t, dst) == 0 }) {
				t.Errorf("the replay's sessions still open on the target %s after the delete: %d", time.Since(deleted), replaySessions(t, dst))
			}
		})
	}
}

// with is l failing t instead: each subtest passes its own.
func (l *client) with(t *testing.T) *client {
	c := *l
	c.t = t
	return &c
}
