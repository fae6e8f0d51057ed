package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/local/localtest"
	"github.com/mycrt/captures/pkg/mysqltest"
)

// TestReplayLife drives a replay through the command line against make run's handler: a
// capture of 30 inserts on one MariaDB, replayed as fast as it goes onto another (create, wait
// with its progress, list, get, rename, stop once done, delete), and the usage and API errors.
func TestReplayLife(t *testing.T) {
	src, dst := mysqltest.Start(t), mysqltest.Start(t)
	for _, db := range []*mysqltest.Server{src, dst} {
		db.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total INT)")
	}
	svc, _ := localtest.Start(t, "")
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	m := mycrt{t: t, url: srv.URL, config: t.TempDir()}
	m.ok("login", "--user", "alice")
	for i, db := range []*mysqltest.Server{src, dst} {
		args := []string{"env", "create", "--name", fmt.Sprintf("db%d", i+1), "--host", db.Host, "--port", fmt.Sprint(db.Port),
			"--db", "shop", "--db-user", "root", "--password-stdin"}
		if db == dst {
			args = append(args, "--target")
		}
		code, out, errOut := m.run("\n", args...)
		if code != 0 {
			t.Fatalf("env create: %d %q %q", code, out, errOut)
		}
		// A target's check says the general log is not its concern; a source's says who switches it.
		if target := strings.Contains(out, "General log  not needed: a replay target"); target != (db == dst) || strings.Contains(out, "Rotation     ") == (db == dst) {
			t.Errorf("env create (target %v): %q", db == dst, out)
		}
	}
	m.ok("capture", "create", "--env", "db1", "--name", "to replay")
	m.ok("capture", "wait", "1", "--for", "RUNNING", "--timeout", "30s", "--every", "100ms")
	for i := range 30 {
		src.Exec(t, fmt.Sprintf("INSERT INTO shop.orders VALUES (%d, %d)", i, i*10))
	}
	m.ok("capture", "stop", "1")
	m.ok("capture", "wait", "1", "--timeout", "60s", "--every", "200ms")

	if code, _, errOut := m.run("", "replay", "create", "--capture", "1", "--name", "no target"); code != exitUsage || !strings.Contains(errOut, "--target") {
		t.Errorf("replay create without a target: exit %d %q", code, errOut)
	}
	if code, _, errOut := m.run("", "replay", "create", "--capture", "1", "--target", "db1", "--name", "onto itself"); code != exitAPI ||
		!strings.Contains(errOut, "Cannot replay into the server the capture recorded") {
		t.Errorf("replay into the capture's own environment: exit %d %q", code, errOut)
	}
	if out := m.ok("replay", "create", "--capture", "1", "--target", "db2", "--name", "v2.0 candidate", "--speed", "0"); !strings.Contains(out, "Created replay 1") {
		t.Fatalf("replay create: %q", out)
	}
	code, out, errOut := m.run("", "replay", "wait", "1", "--timeout", "60s", "--every", "100ms")
	if code != 0 || !strings.Contains(out, "Status     DONE") || !strings.Contains(errOut, "replay 1 ") {
		t.Fatalf("replay wait: exit %d\n%s%s", code, out, errOut)
	}
	var n int
	if err := dst.Root(t).QueryRow("SELECT COUNT(*) FROM shop.orders").Scan(&n); err != nil || n != 30 {
		t.Errorf("the target holds %d rows (%v), want the 30 replayed", n, err)
	}
	var got struct {
		Status   string
		Speed    float64
		Progress struct{ Statements, Of, Errors int }
	}
	if err := json.Unmarshal([]byte(m.ok("replay", "get", "1", "--json")), &got); err != nil || got.Status != "DONE" || got.Speed != 0 ||
		got.Progress.Of < 30 || got.Progress.Statements != got.Progress.Of || got.Progress.Errors != 0 {
		t.Errorf("replay get --json: %+v %v", got, err)
	}
	if out := m.ok("replay", "list", "--capture", "1"); !strings.Contains(out, "v2.0 candidate") || !strings.Contains(out, "DONE") {
		t.Errorf("replay list: %q", out)
	}
	if out := m.ok("replay", "list", "--target", "db1"); !strings.Contains(out, "No replays") {
		t.Errorf("replay list of the source as target: %q", out)
	}
	m.ok("replay", "rename", "1", "nightly")
	if out := m.ok("replay", "get", "1"); !strings.Contains(out, "Replay 1  nightly") || !strings.Contains(out, " in 1 shard, ") ||
		!strings.Contains(out, "Progress   ") || !strings.Contains(out, "(0 errors)") {
		t.Errorf("replay get: %q", out)
	}
	if code, _, errOut := m.run("", "replay", "stop", "1"); code != exitAPI || !strings.Contains(errOut, "This replay has already been stopped") {
		t.Errorf("stop a done replay: exit %d %q", code, errOut)
	}
	// Filters: what the flags name is what the API holds; a replay they leave nothing to ends
	// DONE at once, saying so.
	var filtered struct {
		ID      int
		Filters struct {
			Users, Databases struct{ Include, Exclude []string }
		}
	}
	if err := json.Unmarshal([]byte(m.ok("replay", "create", "--capture", "1", "--target", "db2", "--name", "for nobody", "--speed", "0",
		"--user", "nobody,noone", "--exclude-db", "mysql", "--json")), &filtered); err != nil {
		t.Fatal(err)
	}
	if f := filtered.Filters; !slices.Equal(f.Users.Include, []string{"nobody", "noone"}) || f.Users.Exclude != nil ||
		!slices.Equal(f.Databases.Exclude, []string{"mysql"}) || f.Databases.Include != nil {
		t.Errorf("replay create's filters: %+v", f)
	}
	if code, out, errOut := m.run("", "replay", "wait", fmt.Sprint(filtered.ID), "--timeout", "30s", "--every", "100ms"); code != 0 ||
		!strings.Contains(out, "Status     DONE") || !strings.Contains(out, "Reason     "+capture.NothingToReplayReason) {
		t.Errorf("a replay its filters leave nothing: exit %d\n%s%s", code, out, errOut)
	}
	var later struct {
		Filters struct {
			Users, Databases struct{ Include, Exclude []string }
		}
	}
	if err := json.Unmarshal([]byte(m.ok("capture", "create", "--env", "db1", "--name", "later", "--at", "2030-01-01T00:00:00Z",
		"--db", "shop", "--exclude-user", "root", "--exclude-user", "monitor", "--json")), &later); err != nil {
		t.Fatal(err)
	}
	if f := later.Filters; !slices.Equal(f.Databases.Include, []string{"shop"}) || !slices.Equal(f.Users.Exclude, []string{"root", "monitor"}) ||
		f.Users.Include != nil || f.Databases.Exclude != nil {
		t.Errorf("capture create's filters: %+v", f)
	}

	m.ok("replay", "delete", "1", "--delete-logs")
	if code, _, errOut := m.run("", "replay", "get", "1"); code != exitAPI || !strings.Contains(errOut, "Replay not found") {
		t.Errorf("get a deleted replay: exit %d %q", code, errOut)
	}
}
