package replay

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		sql            string
		readOnly, rows bool
		begins, ends   bool
		autocommit     int
		state          flags
	}{
		{sql: "SELECT c FROM sbtest1 WHERE id=5", readOnly: true, rows: true},
		{sql: "  /* app */ select 1", readOnly: true, rows: true},
		{sql: "(SELECT 1) UNION (SELECT 2)", readOnly: true, rows: true},
		{sql: "SELECT * FROM t WHERE id = 1 FOR UPDATE", rows: true},
		{sql: "SELECT 'INTO' FROM t", readOnly: true, rows: true}, // a word in quotes is no keyword
		{sql: "SELECT a INTO @x FROM t", state: flagUserVarInto},
		{sql: "SELECT * FROM t INTO OUTFILE '/tmp/x'"},
		{sql: "WITH c AS (SELECT 1) SELECT * FROM c", readOnly: true, rows: true},
		{sql: "WITH c AS (SELECT 1) UPDATE t, c SET t.a = 1", rows: true},
		{sql: "SHOW TABLES", readOnly: true, rows: true},
		{sql: "desc t", readOnly: true, rows: true},
		{sql: "EXPLAIN SELECT 1", readOnly: true, rows: true},
		{sql: "EXPLAIN ANALYZE DELETE FROM t", rows: true},
		{sql: "INSERT INTO t VALUES (1)"},
		{sql: "UPDATE t SET a = 1"},
		{sql: "DELETE FROM t", state: 0},
		{sql: "CALL p()", rows: true},
		{sql: "DO SLEEP(1)"},
		{sql: "USE shop", readOnly: true},
		{sql: "BEGIN", readOnly: true, begins: true},
		{sql: "BEGIN NOT ATOMIC SELECT 1; END"},
		{sql: "START TRANSACTION READ ONLY", readOnly: true, begins: true},
		{sql: "START TRANSACTION READ WRITE", begins: true},
		{sql: "COMMIT", readOnly: true, ends: true},
		{sql: "ROLLBACK", readOnly: true, ends: true},
		{sql: "ROLLBACK TO SAVEPOINT a", readOnly: true},
		{sql: "SET autocommit = 0", readOnly: true, autocommit: -1, state: flagSetting},
		{sql: "SET @@session.autocommit=ON", readOnly: true, autocommit: 1, state: flagSetting},
		{sql: "SET NAMES utf8mb4", readOnly: true, state: flagSetting},
		{sql: "SET @a = 1", readOnly: true, state: flagUserVarSet},
		{sql: "SET GLOBAL max_connections = 10", state: flagSetting},
		{sql: "SET @@GLOBAL.max_connections = 10", state: flagSetting},
		{sql: "SET SESSION TRANSACTION READ WRITE", state: flagSetting},
		{sql: "SET tx_read_only = 0", state: flagSetting},
		{sql: "SET PASSWORD = 'x'", state: flagSetting},
		{sql: "/*!40101 SET NAMES utf8 */", readOnly: true, state: flagSetting},
		{sql: "CREATE TABLE t (a INT)", ends: true},
		{sql: "CREATE TEMPORARY TABLE t (a INT)", state: flagTempTable},
		{sql: "ALTER TABLE t ADD b INT", ends: true},
		{sql: "TRUNCATE t", ends: true},
		{sql: "LOCK TABLES t WRITE", ends: true},
		{sql: "", readOnly: false},
		// What a server reads otherwise than the words alone say (TestReadOnlyReplayWritesNothing).
		{sql: "SET /*M! GLOBAL */ max_connections = 31", state: flagSetting},
		{sql: "SELECT 1 /*M!100000 INTO OUTFILE '/tmp/x' */"},
		{sql: "SELECT 1 /*+ MAX_EXECUTION_TIME(1) */", readOnly: true, rows: true},
		{sql: "SET @@global .max_connections = 32", state: flagSetting},
		{sql: "SET @@GLOBAL/**/.max_connections = 33", state: flagSetting},
		{sql: "SELECT 1.INTO OUTFILE '/tmp/x'"},
		{sql: "SELECT 1e1INTO OUTFILE '/tmp/x'"},
		{sql: "SELECT c FROM sbtest1 WHERE id=5.5", readOnly: true, rows: true},
		{sql: `SELECT '\' INTO OUTFILE '/tmp/x' #'`, rows: true},        // NO_BACKSLASH_ESCAPES
		{sql: `SELECT 1 AS "\" INTO OUTFILE '/tmp/x' -- "`, rows: true}, // ANSI_QUOTES
		{sql: `SELECT 'it\'s' FROM t`, readOnly: true, rows: true},      // read either way
		{sql: "SET SESSION TRANSACTION /*M! READ WRITE */", state: flagSetting},
		{sql: "SET @@session.`tx_read_only` = 0", state: flagSetting},
		{sql: "SET `tx_read_only` = 0", state: flagSetting},
		{sql: "SET @@local.autocommit = 0", readOnly: true, autocommit: -1, state: flagSetting},
		{sql: "DESC ANALYZE DELETE FROM t", rows: true},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			c := classify(tc.sql)
			if got := c.flags&flagReadOnly != 0; got != tc.readOnly {
				t.Errorf("read-only %v, want %v", got, tc.readOnly)
			}
			if got := c.flags&flagRows != 0; got != tc.rows {
				t.Errorf("rows %v, want %v", got, tc.rows)
			}
			if c.begins != tc.begins || c.ends != tc.ends || c.autocommit != tc.autocommit {
				t.Errorf("begins %v, ends %v, autocommit %d; want %v, %v, %d", c.begins, c.ends, c.autocommit, tc.begins, tc.ends, tc.autocommit)
			}
			state := flagTempTable | flagUserVarSet | flagUserVarInto | flagSetting
			if got := c.flags & state; got != tc.state {
				t.Errorf("session state %b, want %b", got, tc.state)
			}
		})
	}
}

// TestClassifyReadsEveryWord: a statement too long to read whole is never read-only.
func TestClassifyReadsEveryWord(t *testing.T) {
	sql := "SELECT 1"
	for range maxWords {
		sql += ", 1"
	}
	if classify(sql).flags&flagReadOnly != 0 {
		t.Error("a statement past maxWords is read-only")
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	h := handoff{Cut: time.Date(2026, 12, 1, 10, 0, 0, 123000, time.UTC), Positions: []int{0, 5, 1 << 20}}
	got, err := decodeCheckpoint(h.encode(), 3)
	if err != nil || !got.Cut.Equal(h.Cut) || !slices.Equal(got.Positions, h.Positions) {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, h)
	}
	for _, bad := range []Checkpoint{Checkpoint("nonsense"), h.encode()[:len(h.encode())-1]} {
		if _, err := decodeCheckpoint(bad, 3); !errors.Is(err, errCheckpoint) {
			t.Errorf("%q: err %v, want errCheckpoint", bad, err)
		}
	}
	if _, err := decodeCheckpoint(h.encode(), 4); !errors.Is(err, errCheckpoint) {
		t.Errorf("a checkpoint of 3 sessions read for 4: err %v", err)
	}
	if got, err := decodeCheckpoint(nil, 2); err != nil || !slices.Equal(got.Positions, []int{0, 0}) {
		t.Errorf("invocation 0's checkpoint: %+v, %v", got, err)
	}
}

func TestLocalBaton(t *testing.T) {
	ctx := context.Background()
	var l Local
	s0 := Shard{Replay: 1, Shard: 0, Invocation: 0}
	s1 := Shard{Replay: 1, Shard: 0, Invocation: 1}
	if cp, err := l.Await(ctx, s0); err != nil || cp != nil {
		t.Fatalf("invocation 0 awaits %q, %v", cp, err)
	}
	got := make(chan Checkpoint)
	go func() {
		cp, err := l.Await(ctx, s1)
		if err != nil {
			t.Error(err)
		}
		got <- cp
	}()
	if err := l.Pass(ctx, s1, Checkpoint("x")); !errors.Is(err, ErrNotCurrent) {
		t.Errorf("invocation 1 passed before it was current: %v", err)
	}
	if err := l.Pass(ctx, s0, Checkpoint("cp")); err != nil {
		t.Fatal(err)
	}
	if cp := <-got; string(cp) != "cp" {
		t.Errorf("invocation 1 got %q", cp)
	}
	if err := l.Pass(ctx, s0, Checkpoint("again")); !errors.Is(err, ErrNotCurrent) {
		t.Errorf("passed twice: %v", err)
	}
	if _, err := l.Await(ctx, s0); !errors.Is(err, ErrNotCurrent) {
		t.Errorf("invocation 0 awaited after its turn: %v", err)
	}
	// Shard 0 runs to 10 statements; invocation 1 of shard 1 runs to 4, and its rerun from an
	// earlier checkpoint counts again from 2: its first records are no news.
	rerun := Shard{Replay: 1, Shard: 1, Invocation: 2}
	for _, rec := range []struct {
		s          Shard
		done, errs int64
	}{{s0, 10, 1}, {Shard{Replay: 1, Shard: 1, Invocation: 1}, 4, 2}, {rerun, 2, 0}, {rerun, 4, 0}} {
		if err := l.Record(ctx, rec.s, rec.done, rec.errs); err != nil {
			t.Fatal(err)
		}
	}
	if p := l.Progress(1); p.Statements != 14 || p.Errors != 3 {
		t.Errorf("progress %+v, want 14 statements, 3 errors: a rerun's statements counted once", p)
	}
	if err := l.Record(ctx, rerun, 6, 1); err != nil {
		t.Fatal(err)
	}
	l.Stop(1)
	if err := l.Record(ctx, s0, 15, 1); !errors.Is(err, ErrStopped) {
		t.Errorf("record after stop: %v", err)
	}
	// The rerun, past shard 1's 4 statements, met 1 error where the first run met 2: its
	// errors do not go back.
	if p := l.Progress(1); p.Statements != 21 || p.Errors != 3 {
		t.Errorf("progress %+v, want 21 statements, 3 errors", p)
	}
}
