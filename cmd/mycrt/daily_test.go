package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/local/localtest"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/syncbuf"
)

// startCLI is make run's handler on a fresh table, and the command line signed in to it as
// alice.
func startCLI(t *testing.T) mycrt {
	t.Helper()
	svc, _ := localtest.Start(t, "")
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	m := mycrt{t: t, url: srv.URL, config: t.TempDir()}
	m.ok("login", "--user", "alice")
	return m
}

// TestCLIWhatHappens: the command line says what a capture does and did. A create says it
// starts now or when; a capture cancelled before it began has no start, its end the
// cancellation, not its plan; downloads of a cancelled and a failed capture say so; a status
// that is none is a usage error naming the statuses.
func TestCLIWhatHappens(t *testing.T) {
	m := startCLI(t)
	// Port 1 on loopback: nothing answers, so a capture started now fails.
	m.ok("env", "create", "--name", "nowhere", "--host", "127.0.0.1", "--port", "1", "--db", "shop", "--db-user", "app", "--no-check")

	rfc3339 := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)`)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"scheduled", []string{"--at", "2030-01-01T02:00:00Z", "--duration", "1h", "--utc"}, "Created capture 1 (scheduled): scheduled to start at 2030-01-01T02:00:00Z"},
		{"scheduled local", []string{"--at", "2030-01-01 02:00", "--utc"}, "Created capture 2 (scheduled local): scheduled to start at 2030-01-01T02:00:00Z"},
		{"right now", []string{"--duration", "10m"}, "Created capture 3 (right now): starting now, recording until "},
	} {
		out := m.ok(append([]string{"capture", "create", "--env", "1", "--name", tt.name}, tt.args...)...)
		if !strings.HasPrefix(out, tt.want) || strings.Contains(out, "STARTED") {
			t.Errorf("create %s: %q, want %q", tt.name, out, tt.want)
		}
		if tt.name == "right now" && !rfc3339.MatchString(out) {
			t.Errorf("create %s: %q, want the end in RFC 3339 with its offset", tt.name, out)
		}
	}

	// Cancelled before it began.
	m.ok("capture", "stop", "1")
	row := func(id string) []string {
		for _, line := range strings.Split(m.ok("capture", "list", "--utc"), "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == id {
				return f
			}
		}
		t.Fatalf("capture %s is not listed", id)
		return nil
	}
	if f := strings.Join(row("1"), " "); !strings.Contains(f, " DONE - 20") || strings.Contains(f, "2030") {
		t.Errorf("a cancelled capture is listed as %q, want DONE, no start, its end now", f)
	}
	if f := strings.Join(row("2"), " "); !strings.Contains(f, "SCHEDULED 2030-01-01T02:00:00Z (scheduled)") {
		t.Errorf("a scheduled capture is listed as %q, want its scheduled start marked", f)
	}
	if out := m.ok("capture", "get", "1", "--utc"); !strings.Contains(out, "never started") || !strings.Contains(out, "Scheduled  2030-01-01T02:00:00Z → 2030-01-01T03:00:00Z") {
		t.Errorf("get of a cancelled capture: %q", out)
	}
	eventually(t, 15*time.Second, "the capture on a closed port fails", func() bool {
		return strings.Contains(m.ok("capture", "get", "3"), "Status     FAILED")
	})
	for _, tt := range []struct{ id, want string }{
		{"1", "was cancelled before it started, so it has no workload"},
		{"3", "failed, so it has no workload"},
	} {
		if code, _, errOut := m.run("", "capture", "download", tt.id, "-o", t.TempDir()+"/w.gz"); code != exitAPI || !strings.Contains(errOut, tt.want) {
			t.Errorf("download %s: exit %d %q, want %q", tt.id, code, errOut, tt.want)
		}
	}

	// Statuses: any case; none that is not one.
	if out := m.ok("capture", "list", "--status", "failed"); !strings.Contains(out, "right now") || strings.Contains(out, "scheduled") {
		t.Errorf("list --status failed: %q", out)
	}
	code, _, errOut := m.run("", "capture", "list", "--status", "bogus")
	if code != exitUsage || !strings.Contains(errOut, "SCHEDULED, STARTED, STARTING, RUNNING, STOPPING, DONE, FAILED") {
		t.Errorf("list --status bogus: exit %d %q, want %d naming the statuses", code, errOut, exitUsage)
	}
}

// TestCLIPagesThrough: capture list follows the API's Link header to the last page, or stops
// at --limit; --search and --from/--to narrow it; --json prints one array of them all.
func TestCLIPagesThrough(t *testing.T) {
	m := startCLI(t)
	m.ok("env", "create", "--name", "nowhere", "--host", "127.0.0.1", "--port", "1", "--db", "shop", "--db-user", "app", "--no-check")
	for i := range 130 {
		m.ok("capture", "create", "--env", "nowhere", "--name", fmt.Sprintf("plan %03d", i), "--at", time.Now().Add(time.Duration(i+1)*time.Hour).Format(time.RFC3339))
	}
	rows := func(out string) []string {
		var names []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(line)
			names = append(names, f[2]+" "+f[3])
		}
		return names
	}
	all := rows(m.ok("capture", "list"))
	if len(all) != 130 || all[0] != "plan 129" || all[129] != "plan 000" {
		t.Fatalf("capture list: %d rows, %v … %v, want the 130, furthest start first", len(all), all[0], all[len(all)-1])
	}
	if some := rows(m.ok("capture", "list", "--limit", "7")); len(some) != 7 || some[6] != "plan 123" {
		t.Errorf("capture list --limit 7: %v", some)
	}
	// Only plan 110 to 119 hold "an 11"; plan i starts i+1 hours ahead, so the window keeps 4 to 13.
	if some := rows(m.ok("capture", "list", "--search", "AN 11")); len(some) != 10 || some[0] != "plan 119" || some[9] != "plan 110" {
		t.Errorf("capture list --search: %v", some)
	}
	from, to := time.Now().Add(4*time.Hour+30*time.Minute).Format(time.RFC3339), time.Now().Add(14*time.Hour+30*time.Minute).Format(time.RFC3339)
	if some := rows(m.ok("capture", "list", "--from", from, "--to", to)); len(some) != 10 || some[0] != "plan 013" || some[9] != "plan 004" {
		t.Errorf("capture list --from %s --to %s: %v", from, to, some)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(m.ok("capture", "list", "--json", "--env", "nowhere")), &got); err != nil || len(got) != 130 {
		t.Errorf("capture list --json: %d captures, %v", len(got), err)
	}
}

// TestCLIMembersByName: members are added, listed and removed by name; their ids are shown
// beside, and are not their names.
func TestCLIMembersByName(t *testing.T) {
	m := startCLI(t)
	m.ok("env", "create", "--name", "shared", "--host", "127.0.0.1", "--port", "1", "--db", "shop", "--db-user", "app", "--no-check")
	bob := auth.LocalSub("bob")
	if out := m.ok("env", "add-member", "1", "bob"); !strings.Contains(out, "Added bob (id "+bob+") to environment 1") {
		t.Errorf("add-member: %q", out)
	}
	out := m.ok("env", "members", "1")
	if !regexp.MustCompile(`(?m)^bob\s+`+bob+`\s+false$`).MatchString(out) || !strings.Contains(out, "alice") {
		t.Errorf("members: %q, want bob by name beside his id", out)
	}
	if out := m.ok("env", "list"); !regexp.MustCompile(`(?m)^1\s+shared\s+127\.0\.0\.1:1\s+shop\s+alice$`).MatchString(out) {
		t.Errorf("env list: %q, want its owner by name", out)
	}
	m.ok("env", "remove-member", "1", "bob")
	if out := m.ok("env", "members", "1"); strings.Contains(out, "bob") {
		t.Errorf("members after remove-member bob: %q", out)
	}
}

// TestCLIWaitShowsProgress: wait prints the capture's progress on stderr while it waits, a
// line each time it changes (statements, bytes), and the digest starts with a summary line.
func TestCLIWaitShowsProgress(t *testing.T) {
	db := mysqltest.Start(t)
	db.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total INT)")
	m := startCLI(t)
	m.ok("env", "create", "--name", "shop", "--host", db.Host, "--port", fmt.Sprint(db.Port), "--db", "shop", "--db-user", "root")
	m.ok("capture", "create", "--env", "shop", "--name", "watched")
	var out, errOut syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: m.getenv}
		done <- c.main(context.Background(), []string{"capture", "wait", "1", "--every", "100ms", "--timeout", "60s", "--utc"})
	}()
	eventually(t, 15*time.Second, "wait shows RUNNING", func() bool { return strings.Contains(errOut.String(), "capture 1 RUNNING: 0 statements") })
	for i := range 40 {
		db.Exec(t, fmt.Sprintf("INSERT INTO shop.orders VALUES (%d, %d)", i, i))
	}
	eventually(t, 15*time.Second, "wait shows the statements collected", func() bool {
		return regexp.MustCompile(`capture 1 RUNNING: [1-9]\d* statements, \d+(\.\d)? (B|KiB)`).MatchString(errOut.String())
	})
	m.ok("capture", "stop", "1")
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(out.String(), "Status     DONE") {
			t.Fatalf("wait: exit %d, %q", code, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("wait did not return after the stop")
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "capture 1 DONE: 40 statements") {
		t.Errorf("wait's last progress line %q, want DONE with the 40 statements", last)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i] == lines[i-1] {
			t.Errorf("wait repeated %q", lines[i])
		}
	}
	summary := strings.SplitN(m.ok("capture", "digest", "1", "--utc"), "\n", 2)[0]
	if !regexp.MustCompile(`^40 statements in \d+ sessions, 1 fingerprints \(1 shown\), \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ → \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, complete$`).MatchString(summary) {
		t.Errorf("digest summary %q", summary)
	}
}

// TestCLIExport: a recorded workload exported as CSV holds its events, and as a general log
// and a slow log reads in pt-query-digest (--type genlog, slowlog) with every statement of it
// counted under its fingerprint; --user narrows.
func TestCLIExport(t *testing.T) {
	db := mysqltest.Start(t)
	db.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, note TEXT)",
		"CREATE USER app IDENTIFIED BY 'app-pw'", "GRANT ALL ON shop.* TO app")
	m := startCLI(t)
	m.ok("env", "create", "--name", "shop", "--host", db.Host, "--port", fmt.Sprint(db.Port), "--db", "shop", "--db-user", "root")
	m.ok("capture", "create", "--env", "shop", "--name", "exported")
	m.ok("capture", "wait", "1", "--for", "RUNNING", "--every", "100ms", "--timeout", "30s", "-q")
	app := db.As(t, "app", "app-pw", "shop")
	app.SetMaxOpenConns(1)
	for i := range 25 {
		// A note over lines, with a quote: a log's reader must not split or end it early.
		if _, err := app.Exec("INSERT INTO orders VALUES (?, ?)", i, fmt.Sprintf("line one\nline 'two' %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // the log row is written just after the statement
	m.ok("capture", "stop", "1")
	m.ok("capture", "wait", "1", "--every", "100ms", "--timeout", "60s", "-q")

	rows, err := csv.NewReader(strings.NewReader(m.ok("capture", "export", "1", "--user", "app"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	inserts := 0
	for _, r := range rows[1:] {
		if r[2] != "app" {
			t.Errorf("--user app exported %v", r)
		}
		if (r[4] == "Query" || r[4] == "Execute") && strings.HasPrefix(r[6], "INSERT INTO orders") {
			inserts++
		}
	}
	if strings.Join(rows[0], ",") != "time,thread,user,host,command,db,sql" || inserts != 25 {
		t.Errorf("csv: header %v, %d inserts, want 25", rows[0], inserts)
	}
	for _, tt := range []struct{ format, ptType string }{{"general", "genlog"}, {"slow", "slowlog"}} {
		file := filepath.Join(t.TempDir(), tt.format+".log")
		m.ok("capture", "export", "1", "--format", tt.format, "-o", file)
		out, err := exec.Command("pt-query-digest", "--type", tt.ptType, "--output", "json", "--no-version-check", file).Output()
		if err != nil {
			t.Fatalf("pt-query-digest --type %s: %v", tt.ptType, err)
		}
		var report struct {
			Classes []struct {
				Fingerprint string
				QueryCount  int `json:"query_count"`
			}
		}
		if err := json.Unmarshal(out, &report); err != nil {
			t.Fatalf("pt-query-digest's report: %v\n%s", err, out)
		}
		count := 0
		for _, c := range report.Classes {
			if c.Fingerprint == "insert into orders values(?+)" {
				count = c.QueryCount
			}
		}
		if count != 25 {
			t.Errorf("%s log: pt-query-digest counts %d inserts, want 25 (classes %+v)", tt.format, count, report.Classes)
		}
	}
}
