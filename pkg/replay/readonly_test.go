package replay_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/workload"
)

// TestReadOnlyReplayWritesNothing replays, in read-only mode, sessions whose statements the
// classifier could misjudge as unable to write (MariaDB's executable comments, words glued to
// numbers, spaces inside a global variable's name, quotes read as another sql_mode reads them,
// a backquoted tx_read_only), against a target whose user may write files and set globals.
// The target's tables, its global settings and its file system are as they were.
func TestReadOnlyReplayWritesNothing(t *testing.T) {
	f := newFixture(t)
	target := mysqltest.Start(t)
	target.Exec(t, accounts...)
	target.Exec(t, "GRANT SUPER, FILE ON *.* TO app",
		"CREATE TABLE shop.t (a INT) ENGINE=InnoDB",
		"CREATE FUNCTION shop.f() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO shop.t VALUES (1); RETURN 1; END")
	env := f.environment(t, target, "app", "app-secret")
	dir := t.TempDir()
	out := func(name string) string { return "'" + filepath.Join(dir, name) + "'" }
	sessions := [][]string{
		{"SET /*M! GLOBAL */ max_connections = 31"},
		{"SET @@global .max_connections = 32"},
		{"SET @@GLOBAL/**/.max_connections = 33"},
		{"SELECT 1 /*M! INTO OUTFILE " + out("m") + " */"},
		{"SELECT 1 /*M!100000 INTO OUTFILE " + out("mv") + " */"},
		{"SELECT 1.INTO OUTFILE " + out("dot")},
		{"SELECT 1e1INTO OUTFILE " + out("exp")},
		{"SET sql_mode = 'NO_BACKSLASH_ESCAPES'", `SELECT '\' INTO OUTFILE ` + out("nbe") + ` #'`},
		{"SET sql_mode = 'ANSI_QUOTES'", `SELECT 1 AS "\" INTO OUTFILE ` + out("ansi") + ` -- "`},
		{"SET SESSION TRANSACTION /*M! READ WRITE */", "SELECT f()"},
		{"SET @@session.`tx_read_only` = 0", "SELECT f()"},
		{"SET `tx_read_only` = 0", "SELECT f()"},
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var events []workload.Event
	for i, stmts := range sessions {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		ev := workload.Event{Time: at, Thread: uint64(i + 1), User: "app", Host: "h", DB: "shop", Command: "Connect", SQL: "app@h on shop using TCP/IP"}
		events = append(events, ev)
		for _, q := range stmts {
			ev.Command, ev.SQL = "Query", q
			events = append(events, ev)
		}
		ev.Command, ev.SQL = "Quit", ""
		events = append(events, ev)
	}
	c := capture.Capture{ID: 9001, EnvID: f.env.ID}
	storeEvents(t, f, c, events)

	root := target.Root(t)
	ctx := context.Background()
	var before int
	if err := root.QueryRowContext(ctx, "SELECT @@GLOBAL.max_connections").Scan(&before); err != nil {
		t.Fatal(err)
	}
	res := f.replay(t, c, env, options{mode: capture.ReplayReadOnly, speed: -1})
	if res.err != nil {
		t.Fatal(res.err)
	}
	var after, rows int
	if err := root.QueryRowContext(ctx, "SELECT @@GLOBAL.max_connections").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("max_connections %d after the replay, %d before", after, before)
	}
	if err := root.QueryRowContext(ctx, "SELECT COUNT(*) FROM shop.t").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("%d rows inserted by a read-only replay", rows)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range files {
		t.Errorf("the target wrote %s", e.Name())
	}
}
