package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/local"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// mycrt runs the command line in process against url, with a config folder of its own.
type mycrt struct {
	t      *testing.T
	url    string
	config string
}

// run runs args with stdin and returns the exit code, stdout and stderr.
func (m mycrt) run(stdin string, args ...string) (int, string, string) {
	m.t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"MYCRT_URL": m.url, "MYCRT_CONFIG_DIR": m.config}
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// ok runs args and fails the test unless it exits 0.
func (m mycrt) ok(args ...string) string {
	m.t.Helper()
	code, out, errOut := m.run("", args...)
	if code != 0 {
		m.t.Fatalf("mycrt %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// TestCaptureLife drives a whole capture through the command line against make run's handler,
// DynamoDB Local and a private MariaDB: sign in, environment, capture, wait, statements, stop,
// digest, metrics, download, rename, delete; and the exit codes of a usage and an API error.
func TestCaptureLife(t *testing.T) {
	db := mysqltest.Start(t)
	db.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total INT)")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg := local.Config{DataDir: t.TempDir(), Endpoint: storetest.Endpoint(t), Table: fmt.Sprintf("cli-%d", time.Now().UnixNano())}
	svc, err := local.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	go svc.Scheduler.Run(ctx, time.Second)
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	m := mycrt{t: t, url: srv.URL, config: t.TempDir()}

	// Before signing in, the API's 401 and a hint.
	if code, _, errOut := m.run("", "env", "list"); code != exitAPI || !strings.Contains(errOut, "mycrt login") {
		t.Errorf("env list before login: exit %d, %q", code, errOut)
	}
	m.ok("login", "--user", "alice")
	if info, err := os.Stat(filepath.Join(m.config, "login.json")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the kept login: %v %v, want mode 0600", info, err)
	}
	if out := m.ok("env", "list"); !strings.Contains(out, "No environments yet") {
		t.Errorf("empty env list: %q", out)
	}

	code, out, errOut := m.run("\n", "env", "create", "--name", "shop", "--host", db.Host, "--port", fmt.Sprint(db.Port),
		"--db", "shop", "--db-user", "root", "--password-stdin")
	if code != 0 || !strings.Contains(out, "Created environment 1") {
		t.Fatalf("env create: %d %q %q", code, out, errOut)
	}
	// A field the API refuses: its message, exit 1.
	if code, _, errOut := m.run("", "env", "create", "--name", "x", "--host", db.Host, "--db", "shop"); code != exitAPI || !strings.Contains(errOut, "user") {
		t.Errorf("env create without a user: exit %d %q", code, errOut)
	}

	m.ok("capture", "create", "--env", "1", "--name", "cli run", "--duration", "10m")
	m.ok("capture", "wait", "1", "--for", "RUNNING", "--timeout", "30s", "--every", "100ms")
	for i := range 30 {
		db.Exec(t, fmt.Sprintf("INSERT INTO shop.orders VALUES (%d, %d)", i, i*10))
	}
	time.Sleep(300 * time.Millisecond)
	m.ok("capture", "stop", "1")
	if out := m.ok("capture", "wait", "1", "--timeout", "60s", "--every", "200ms"); !strings.Contains(out, "Status     DONE") {
		t.Fatalf("wait: %q", out)
	}

	// --json prints the API's own body.
	var got struct {
		Status   string
		Workload struct{ Statements int }
	}
	if err := json.Unmarshal([]byte(m.ok("capture", "get", "1", "--json")), &got); err != nil || got.Status != "DONE" || got.Workload.Statements < 30 {
		t.Errorf("capture get --json: %+v %v", got, err)
	}
	if out := m.ok("capture", "list", "--status", "done"); !strings.Contains(out, "cli run") {
		t.Errorf("capture list: %q", out)
	}
	if out := m.ok("capture", "digest", "1"); !strings.Contains(out, "insert into shop.orders values(?+)") || !strings.Contains(out, "30") {
		t.Errorf("digest: %q", out)
	}
	if out := m.ok("capture", "metrics", "1", "--spark"); !strings.Contains(out, "points") {
		t.Errorf("metrics --spark: %q", out)
	}
	file := filepath.Join(t.TempDir(), "w.jsonl.gz")
	m.ok("capture", "download", "1", "-o", file, "-q")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(zr)
	if n := strings.Count(string(all), "INSERT INTO shop.orders"); n != 30 {
		t.Errorf("the downloaded workload holds %d of the 30 inserts", n)
	}

	m.ok("capture", "rename", "1", "renamed run")
	if out := m.ok("capture", "get", "1"); !strings.Contains(out, "renamed run") {
		t.Errorf("after rename: %q", out)
	}
	m.ok("capture", "delete", "1", "--workload")
	if code, _, errOut := m.run("", "capture", "get", "1"); code != exitAPI || !strings.Contains(errOut, "not found") {
		t.Errorf("get after delete: exit %d %q", code, errOut)
	}
	// Usage errors exit 2.
	for _, args := range [][]string{{"capture", "get", "abc"}, {"capture", "create", "--at", "someday"}, {"capture", "nope"}, {"env", "list", "--bogus"}} {
		if code, _, _ := m.run("", args...); code != exitUsage {
			t.Errorf("mycrt %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
}
