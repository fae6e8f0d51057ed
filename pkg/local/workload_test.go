package local_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/workload"
)

type captureView struct {
	ID       int64
	Status   string
	Reason   *string
	Workload *struct{ Statements, Bytes int64 }
}

// get reads capture id.
func (l *client) get(id int64) captureView {
	l.t.Helper()
	var v captureView
	if code := l.call("GET", fmt.Sprintf("/api/captures/%d", id), nil, &v); code != 200 {
		l.t.Fatalf("get capture %d: %d", id, code)
	}
	return v
}

// waitStatus waits for capture id to be status, failing at once if it fails instead.
func (l *client) waitStatus(id int64, status string, within time.Duration) captureView {
	l.t.Helper()
	var v captureView
	if !poll(within, func() bool {
		v = l.get(id)
		return v.Status == status || v.Status == "FAILED"
	}) || v.Status != status {
		reason := ""
		if v.Reason != nil {
			reason = *v.Reason
		}
		l.t.Fatalf("capture %d is %s (%s), want %s", id, v.Status, reason, status)
	}
	return v
}

// accounts creates database name on db, runs setup in it, and creates the recorder's account
// (capturer, cap-pw) and the application's (app, app-pw), with the privileges each needs.
func accounts(t *testing.T, db *mysqltest.Server, name string, setup ...string) {
	t.Helper()
	db.Exec(t, append([]string{"CREATE DATABASE " + name}, setup...)...)
	db.Exec(t,
		"CREATE USER capturer IDENTIFIED BY 'cap-pw'",
		"GRANT SUPER ON *.* TO capturer",
		"GRANT SELECT ON mysql.general_log TO capturer",
		"GRANT SELECT ON "+name+".* TO capturer",
		"CREATE USER app IDENTIFIED BY 'app-pw'",
		"GRANT ALL ON "+name+".* TO app",
	)
	// The rotation procedures, and EXECUTE on them only, as the README asks a DBA.
	db.Exec(t, recording.RotationStatements()...)
	db.Exec(t, recording.RotationGrants("capturer")...)
}

// startCapture creates an environment on db's database dbName as capturer, and starts a
// capture called name on it at once.
func (l *client) startCapture(db *mysqltest.Server, dbName, name string) (env struct{ ID int64 }, c captureView) {
	l.t.Helper()
	if code := l.call("POST", "/api/environments", map[string]any{
		"envName": dbName + " on " + db.Host, "host": db.Host, "port": db.Port, "dbName": dbName, "user": "capturer", "pass": "cap-pw",
	}, &env); code != 200 {
		l.t.Fatalf("create environment: %d", code)
	}
	if code := l.call("POST", "/api/captures", map[string]any{"name": name, "envId": env.ID}, &c); code != 200 {
		l.t.Fatalf("create capture: %d", code)
	}
	return env, c
}

// TestLocalRecordsAWorkload is the product end to end: an environment on a real MariaDB, a
// capture started and stopped through the API while another client runs 1,000 statements, and
// the workload downloaded through the API.
func TestLocalRecordsAWorkload(t *testing.T) {
	t.Parallel()
	db := mysqltest.Start(t)
	accounts(t, db, "shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total DECIMAL(10,2))")
	l := startLocal(t)
	env, c := l.startCapture(db, "shop", "checkout load")
	if resp := l.do("GET", fmt.Sprintf("/api/captures/%d/workload", c.ID), nil); resp.StatusCode != 404 {
		t.Fatalf("workload before the stop: %d, want 404", resp.StatusCode)
	}
	l.waitStatus(c.ID, "RUNNING", 10*time.Second)

	app := db.As(t, "app", "app-pw", "shop")
	app.SetMaxOpenConns(1)
	var want []string
	for i := range 1000 {
		q := fmt.Sprintf("INSERT INTO orders VALUES (%d, %d.%02d)", i, i, i%100)
		if i%2 == 1 {
			q = fmt.Sprintf("SELECT total FROM orders WHERE id = %d", i-1)
		}
		if _, err := app.Exec(q); err != nil {
			t.Fatal(err)
		}
		want = append(want, q)
		if i == 500 { // a scheduler tick collects the first half while the capture runs
			eventually(t, 10*time.Second, "a tick collected the first half", func() bool {
				mid := l.get(c.ID)
				return mid.Status == "RUNNING" && mid.Workload != nil && mid.Workload.Statements >= 500
			})
		}
	}
	if code := l.call("POST", fmt.Sprintf("/api/captures/%d/stop", c.ID), nil, nil); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	done := l.waitStatus(c.ID, "DONE", 10*time.Second)

	resp := l.do("GET", fmt.Sprintf("/api/captures/%d/workload", c.ID), nil)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("workload: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got []string
	var statements int64
	err := workload.Each(resp.Body, func(ev workload.Event) error {
		if ev.User == "capturer" || strings.Contains(ev.SQL, "mycrt-capture") {
			t.Fatalf("the capture's own query is in the workload: %+v", ev)
		}
		if ev.User == "app" && ev.IsStatement() {
			got = append(got, ev.SQL)
		}
		if ev.IsStatement() {
			statements++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the workload holds %d application statements, want exactly the %d run, in order", len(got), len(want))
	}
	if done.Workload == nil || done.Workload.Statements != statements || done.Workload.Bytes == 0 {
		t.Errorf("the capture reports %+v, want %d statements and the file's size", done.Workload, statements)
	}

	// Outside RDS the metrics are the server's own counters, sampled at each step: the
	// inserts show as WRITE IOPS.
	var ms []metricView
	if code := l.call("GET", fmt.Sprintf("/api/captures/%d/metrics", c.ID), nil, &ms); code != 200 || len(ms) != 2 {
		t.Fatalf("metrics: %d %+v", code, ms)
	}
	busiest := 0.0
	for _, p := range ms[1].DataPoints {
		busiest = max(busiest, p.Maximum)
	}
	if ms[1].Type != "WRITE IOPS" || len(ms[1].DataPoints) < 2 || busiest <= 0 {
		t.Errorf("WRITE IOPS over the capture: %+v, want points, some above zero", ms[1])
	}

	files := filepath.Join(l.cfg.DataDir, "files", fmt.Sprintf("env-%d", env.ID), fmt.Sprintf("capture-%d", c.ID))
	if _, err := os.Stat(files); err != nil {
		t.Fatal(err)
	}
	if code := l.call("DELETE", fmt.Sprintf("/api/captures/%d?deleteLogs=true", c.ID), nil, nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if _, err := os.Stat(files); !os.IsNotExist(err) {
		t.Errorf("the capture's files after delete with deleteLogs=true: %v", err)
	}
}

// TestDeletingALiveCaptureTurnsTheLogOff deletes a running capture through the API: no stop
// will ever come for it, so the worker releases its hold on the general log, which goes back
// off.
func TestDeletingALiveCaptureTurnsTheLogOff(t *testing.T) {
	t.Parallel()
	db := mysqltest.Start(t)
	db.Exec(t, "CREATE DATABASE shop")
	l := startLocal(t)
	var env struct{ ID int64 }
	l.call("POST", "/api/environments", map[string]any{"envName": "shop", "host": db.Host, "port": db.Port, "dbName": "shop", "user": "root", "pass": ""}, &env)
	var c captureView
	l.call("POST", "/api/captures", map[string]any{"name": "abandoned", "envId": env.ID}, &c)
	l.waitStatus(c.ID, "RUNNING", 10*time.Second)
	if on := generalLog(t, db); on != "1" {
		t.Fatalf("while running: general_log=%s", on)
	}
	if code := l.call("DELETE", fmt.Sprintf("/api/captures/%d", c.ID), nil, nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	eventually(t, 10*time.Second, "the general log off once its only capture is deleted", func() bool { return generalLog(t, db) == "0" })
}

type metricView struct {
	Label, Type, DisplayName string
	DataPoints               []struct {
		Timestamp string
		Maximum   float64
		Unit      string
	}
}
