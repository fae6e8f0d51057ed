package local_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/local"
	"github.com/mycrt/captures/pkg/mysqltest"
)

// TestLocalReplaysACapture is the replay end to end under make run: a capture of one session's
// 300 statements over about 6 s, replayed through the API at speed 1 onto a second MariaDB
// whose table starts as the source's did, with shard runs cut every 3 s
// (REPLAY_INVOCATION_LIMIT) so the shard hands over to new invocations: the replay ends DONE
// with every statement counted, and the target's table is the source's, checksum for checksum.
func TestLocalReplaysACapture(t *testing.T) {
	t.Parallel()
	const table = "CREATE TABLE shop.orders (id INT PRIMARY KEY, total DECIMAL(10,2))"
	src, dst := mysqltest.Start(t), mysqltest.Start(t)
	accounts(t, src, "shop", table)
	accounts(t, dst, "shop", table)
	dst.Exec(t, "GRANT ALL ON shop.* TO capturer")
	l := startLocalWith(t, func(s *local.Service) { s.Handoff.Worker.InvocationLimit = 3 * time.Second })
	_, c := l.startCapture(src, "shop", "to replay")
	l.waitStatus(c.ID, "RUNNING", 10*time.Second)
	app := src.As(t, "app", "app-pw", "shop")
	app.SetMaxOpenConns(1)
	for i := range 300 {
		if _, err := app.Exec(fmt.Sprintf("INSERT INTO orders VALUES (%d, %d.%02d)", i, i, i%100)); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			if _, err := app.Exec("UPDATE orders SET total = total + 1 WHERE id < 10"); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(20 * time.Millisecond) // the capture's timing, which speed 1 keeps
	}
	if code := l.call("POST", fmt.Sprintf("/api/captures/%d/stop", c.ID), nil, nil); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	l.waitStatus(c.ID, "DONE", 20*time.Second)

	var target struct{ ID int64 }
	if code := l.call("POST", "/api/environments", map[string]any{
		"envName": "candidate", "host": dst.Host, "port": dst.Port, "dbName": "shop", "user": "capturer", "pass": "cap-pw",
	}, &target); code != 200 {
		t.Fatalf("create the target: %d", code)
	}
	var r replayView
	if code := l.call("POST", "/api/replays", map[string]any{"name": "candidate run", "captureId": c.ID, "envId": target.ID}, &r); code != 200 {
		t.Fatalf("create replay: %d", code)
	}
	if !poll(60*time.Second, func() bool {
		l.call("GET", fmt.Sprintf("/api/replays/%d", r.ID), nil, &r)
		return r.Status == "DONE" || r.Status == "FAILED"
	}) || r.Status != "DONE" {
		t.Fatalf("replay %+v, reason %v", r, r.Reason)
	}
	if r.Progress.Of < 306 || r.Progress.Statements != r.Progress.Of || r.Progress.Errors != 0 {
		t.Errorf("progress %+v, want every one of the 306 statements or more, no error", r.Progress)
	}
	if s, d := checksum(t, src), checksum(t, dst); s != d {
		t.Errorf("target's orders checksum %s, the source's %s", d, s)
	}
	// The shard handed over at least once: a second invocation wrote outcomes.
	outcomes := filepath.Join(l.cfg.DataDir, "files", "replays", fmt.Sprint(r.ID), "outcomes", "0")
	files, err := os.ReadDir(outcomes)
	if err != nil || len(files) < 2 {
		t.Errorf("outcome files of shard 0: %v %v, want one per invocation, at least 2", files, err)
	}
	// Another replay onto the same target may start once this one is done.
	var again replayView
	if code := l.call("POST", "/api/replays", map[string]any{"name": "second run", "captureId": c.ID, "envId": target.ID, "speed": 0}, &again); code != 200 {
		t.Fatalf("second replay: %d", code)
	}
	if !poll(60*time.Second, func() bool {
		l.call("GET", fmt.Sprintf("/api/replays/%d", again.ID), nil, &again)
		return again.Status == "DONE" || again.Status == "FAILED"
	}) || again.Status != "DONE" {
		t.Fatalf("second replay %+v, reason %v", again, again.Reason)
	}
	// Its inserts now collide with the first's rows: every one is an error, counted.
	if again.Progress.Errors < 300 {
		t.Errorf("second replay's progress %+v, want the 300 duplicate keys as errors", again.Progress)
	}
}

func checksum(t *testing.T, db *mysqltest.Server) string {
	t.Helper()
	var name, sum string
	if err := db.Root(t).QueryRow("CHECKSUM TABLE shop.orders").Scan(&name, &sum); err != nil {
		t.Fatal(err)
	}
	return sum
}
