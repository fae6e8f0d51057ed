package recording_test

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
)

// TestMarkedStatementsAreRecorded: the recorder's own sessions are left out by connection id,
// not by text, so an application's statements that carry the recorder's marker, even its very
// registration query, are recorded like any other.
func TestMarkedStatementsAreRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.begin(t, f.newCapture(t, "marked"))
	app := f.db.As(t, "app", "app-secret", "shop")
	app.SetMaxOpenConns(1)
	want := []string{
		"/* mycrt-capture */ SELECT 1",
		"/* mycrt-capture */ SELECT CONNECTION_ID()",
		"INSERT INTO orders (id, item) VALUES (1, 'x')",
	}
	for _, q := range want {
		rows, err := app.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	c = f.end(t, c)
	events := f.workload(t, c)
	sameStatements(t, appStatements(events), want)
	for _, ev := range events {
		if ev.User == "capturer" {
			t.Errorf("the recorder's own row is in the workload: %+v", ev)
		}
	}
}

// TestWorkloadDatabases: every workload row carries its session's database as the log tells
// it: from the session list when recording began (a session opened before), from Connect,
// from USE, from the client's Init DB (the mariadb client's "use"), and across collections.
func TestWorkloadDatabases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.db.Exec(t, "CREATE DATABASE stats", "CREATE TABLE stats.hits (n INT)", "GRANT ALL ON stats.* TO app")
	ctx := context.Background()
	before := f.db.As(t, "app", "app-secret", "shop")
	before.SetMaxOpenConns(1)
	if _, err := before.Exec("SELECT 0"); err != nil { // connected before the capture
		t.Fatal(err)
	}
	c := f.begin(t, f.newCapture(t, "databases"))
	stats := f.db.As(t, "app", "app-secret", "stats")
	stats.SetMaxOpenConns(1)
	run := func(db *sql.DB, q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	run(before, "SELECT 'opened before'")
	run(stats, "INSERT INTO hits VALUES (1)")
	run(stats, "USE shop")
	run(stats, "SELECT 'after use'")
	f.settled(t)
	if _, err := f.rec.Collect(ctx, f.env, f.reload(t, c)); err != nil {
		t.Fatal(err)
	}
	run(stats, "SELECT 'next window'")
	client, err := exec.LookPath("mariadb")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(client, "--no-defaults", "-h", f.db.Host, "-P", strconv.Itoa(f.db.Port), "-u", "app", "-papp-secret",
		"-e", "use stats; SELECT 'init db'").CombinedOutput(); err != nil {
		t.Fatalf("mariadb: %v: %s", err, out)
	}
	c = f.end(t, c)

	want := map[string]string{
		"SELECT 'opened before'":      "shop",
		"INSERT INTO hits VALUES (1)": "stats",
		"USE shop":                    "shop",
		"SELECT 'after use'":          "shop",
		"SELECT 'next window'":        "shop",
		"SELECT 'init db'":            "stats",
	}
	seen := 0
	for _, ev := range f.workload(t, c) {
		if db, ok := want[ev.SQL]; ok && ev.User == "app" {
			seen++
			if ev.DB != db {
				t.Errorf("%q ran in %q, the workload says %q", ev.SQL, db, ev.DB)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%d of the %d statements found", seen, len(want))
	}
	// The digest counts them by database too.
	dg, _, err := digest.Load(ctx, f.files, c)
	if err != nil {
		t.Fatal(err)
	}
	if r := dg.Report(digest.Query{User: "app", DB: "stats"}); r.Statements != 2 {
		t.Errorf("the digest counts %d statements of app in stats, want 2", r.Statements)
	}
}

// TestFilters: a capture's filters keep a row only if its session's account and database pass
// them: each of users include and exclude, databases include and exclude.
func TestFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.db.Exec(t, "CREATE DATABASE stats", "CREATE TABLE stats.hits (n INT)",
		"CREATE USER etl IDENTIFIED BY 'etl-secret'", "GRANT ALL ON stats.* TO etl", "GRANT ALL ON shop.* TO etl")
	ctx := context.Background()
	runs := []struct {
		user, pass, db, sql string
	}{
		{"app", "app-secret", "shop", "SELECT 'app in shop'"},
		{"etl", "etl-secret", "stats", "SELECT 'etl in stats'"},
		{"etl", "etl-secret", "shop", "SELECT 'etl in shop'"},
	}
	tests := []struct {
		name    string
		filters capture.Filters
		want    []string
	}{
		{"users include", capture.Filters{Users: capture.NameFilter{Include: []string{"etl"}}}, []string{"SELECT 'etl in stats'", "SELECT 'etl in shop'"}},
		{"users exclude", capture.Filters{Users: capture.NameFilter{Exclude: []string{"etl"}}}, []string{"SELECT 'app in shop'"}},
		{"databases include", capture.Filters{Databases: capture.NameFilter{Include: []string{"stats"}}}, []string{"SELECT 'etl in stats'"}},
		{"databases exclude", capture.Filters{Databases: capture.NameFilter{Exclude: []string{"stats"}}}, []string{"SELECT 'app in shop'", "SELECT 'etl in shop'"}},
		{"both", capture.Filters{Users: capture.NameFilter{Include: []string{"etl"}}, Databases: capture.NameFilter{Exclude: []string{"stats"}}}, []string{"SELECT 'etl in shop'"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := capture.New(capture.Request{Name: fmt.Sprintf("filtered %d", i), EnvID: f.env.ID, Filters: tt.filters}, "alice", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if c, err = f.store.CreateCapture(ctx, c); err != nil {
				t.Fatal(err)
			}
			c = f.begin(t, c)
			for _, r := range runs {
				db := f.db.As(t, r.user, r.pass, r.db)
				if _, err := db.Exec(r.sql); err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
			c = f.end(t, c)
			var got []string
			for _, ev := range f.workload(t, c) {
				if ev.IsStatement() {
					got = append(got, ev.SQL)
				}
				if !tt.filters.Keeps(ev.User, ev.DB) {
					t.Errorf("kept a row the filters leave out: %+v", ev)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("statements %q, want %q", got, tt.want)
			}
		})
	}
}
