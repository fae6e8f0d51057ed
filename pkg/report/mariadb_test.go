package report

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/outcome"
)

// statement is one statement of a session of the test's workload, and the id it touches.
type statement struct {
	sql string
	id  int
}

// sysbenchLike is sessions of sysbench-like transactions on sb.sbtest1 (ids 1..rows): a point
// select, an update, a delete of an id and the insert of it again, over few ids so that later
// statements meet the ids earlier ones deleted.
func sysbenchLike(sessions, txns, rows int) [][]statement {
	r := rand.New(rand.NewPCG(4, 4))
	out := make([][]statement, sessions)
	for s := range out {
		for range txns {
			a, b, x := 1+r.IntN(rows), 1+r.IntN(rows), 1+r.IntN(rows)
			out[s] = append(out[s],
				statement{"BEGIN", 0},
				statement{fmt.Sprintf("SELECT c FROM sb.sbtest1 WHERE id=%d", a), a},
				statement{fmt.Sprintf("UPDATE sb.sbtest1 SET k=k+1 WHERE id=%d", b), b},
				statement{fmt.Sprintf("DELETE FROM sb.sbtest1 WHERE id=%d", x), x},
				statement{fmt.Sprintf("INSERT INTO sb.sbtest1 (id, k, c, pad) VALUES (%d, %d, 'c-%d', 'pad-%d')", x, r.IntN(1000), x, x), x},
				statement{"COMMIT", 0})
		}
	}
	return out
}

// replayOnto runs the sessions on server one after another, each on its own connection, and
// stores what each statement did as replay id's outcome files (session s in shard s%shards),
// as the replay's shards would.
func replayOnto(t *testing.T, server *mysqltest.Server, files blob.Dir, id int64, sessions [][]statement, shards int) capture.Replay {
	t.Helper()
	ctx := t.Context()
	db := server.Root(t)
	bufs := make([]bytes.Buffer, shards)
	writers := make([]*outcome.Writer, shards)
	for n := range writers {
		writers[n] = outcome.NewWriter(&bufs[n])
	}
	epoch := time.Now()
	var total int64
	for s, stmts := range sessions {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for q, st := range stmts {
			d, err := outcome.ParseDigest(digest.ID(digest.Fingerprint(st.sql)))
			if err != nil {
				t.Fatal(err)
			}
			rec := outcome.Record{Session: uint32(s), Seq: uint32(q), Digest: d, Start: time.Since(epoch)}
			begin := time.Now()
			rec.Rows, err = send(ctx, conn, st.sql)
			rec.Latency = time.Since(begin)
			if my := (*mysql.MySQLError)(nil); errors.As(err, &my) {
				rec.Errno, rec.Message = my.Number, my.Message
			} else if err != nil {
				t.Fatalf("%s: %v", st.sql, err)
			}
			if err := writers[s%shards].Write(&rec); err != nil {
				t.Fatal(err)
			}
			total++
		}
		conn.Close()
	}
	for n, w := range writers {
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := files.Put(ctx, layout.ReplayOutcomeKey(id, n, 0), bytes.NewReader(bufs[n].Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	return capture.Replay{ID: id, CaptureID: 1, Status: capture.Done, Plan: capture.ReplayPlan{Shards: shards, Statements: total},
		Progress: capture.ReplayProgress{Statements: total, Of: total}}
}

// send sends one statement: the rows a SELECT returned, or those a write changed.
func send(ctx context.Context, conn *sql.Conn, q string) (int64, error) {
	if strings.HasPrefix(q, "SELECT") {
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		var n int64
		for rows.Next() {
			n++
		}
		return n, rows.Err()
	}
	res, err := conn.ExecContext(ctx, q)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// TestCompareRenamedColumn replays one workload on two MariaDB servers, one intact and one
// where a column the workload inserts into (pad) was renamed: the INSERT fingerprint shows as
// errors with 1054 and the server's message, the SELECT gains no error, and rowsDiffer counts
// exactly the statements that met an id the failed INSERTs left missing (the test follows
// which ids are gone).
func TestCompareRenamedColumn(t *testing.T) {
	const rows = 40
	setup := []string{"CREATE DATABASE sb", "CREATE TABLE sb.sbtest1 (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL)"}
	var values []string
	for id := 1; id <= rows; id++ {
		values = append(values, fmt.Sprintf("(%d, %d, 'c-%d', 'pad-%d')", id, id, id, id))
	}
	setup = append(setup, "INSERT INTO sb.sbtest1 VALUES "+strings.Join(values, ", "))
	base, cand := mysqltest.Start(t), mysqltest.Start(t)
	base.Exec(t, setup...)
	cand.Exec(t, setup...)
	cand.Exec(t, "ALTER TABLE sb.sbtest1 CHANGE pad pad2 CHAR(60) NOT NULL")

	sessions := sysbenchLike(4, 25, rows)
	files := blob.Dir{Root: t.TempDir()}
	b := replayOnto(t, base, files, 1, sessions, 1)
	c := replayOnto(t, cand, files, 2, sessions, 3)

	// Which statements differ: on the candidate an id is gone once deleted (its insert fails),
	// and every later statement on it finds nothing, where the base always finds it.
	want := map[string]int64{}
	gone := map[int]bool{}
	for _, stmts := range sessions {
		for _, st := range stmts {
			kind, _, _ := strings.Cut(st.sql, " ")
			switch kind {
			case "SELECT", "UPDATE", "DELETE":
				if gone[st.id] {
					want[kind]++
				}
				if kind == "DELETE" {
					gone[st.id] = true
				}
			case "INSERT":
				want[kind]++ // it fails: another error than none
			}
		}
	}
	if want["SELECT"] == 0 || want["UPDATE"] == 0 {
		t.Fatalf("the workload never meets a missing id: %v", want)
	}

	both, err := CompareFiles(t.Context(), files, b, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmp := Compare(both.Base, both.Candidate, both.Join, nil, CompareQuery{Sort: ByVerdict, Limit: MaxLimit})
	fps := map[string]Change{}
	for _, ch := range cmp.Fingerprints {
		fps[ch.ID] = ch
	}
	idOf := func(sql string) string { return digest.ID(digest.Fingerprint(sql)) }
	check := func(kind, sql string, verdict Verdict) Change {
		ch, ok := fps[idOf(sql)]
		if !ok {
			t.Fatalf("no row for %s", sql)
		}
		if ch.Verdict != verdict || ch.RowsDiffer != want[kind] {
			t.Errorf("%s: %s with %d differing, want %s with %d", kind, ch.Verdict, ch.RowsDiffer, verdict, want[kind])
		}
		return ch
	}
	t.Logf("want %v, summary %+v", want, cmp.Summary)
	ins := check("INSERT", sessions[0][4].sql, VerdictErrors)
	if e := ins.Candidate.ErrorCodes[1054]; e.Count != 100 || e.Message != "Unknown column 'pad' in 'INSERT INTO'" && e.Message != "Unknown column 'pad' in 'field list'" {
		t.Errorf("the inserts' errors: %+v", ins.Candidate.ErrorCodes)
	}
	if ins.NewErrors != 100 || ins.Base.Errors != 0 {
		t.Errorf("new errors %d, base errors %d", ins.NewErrors, ins.Base.Errors)
	}
	for _, kind := range []string{"SELECT", "UPDATE", "DELETE"} {
		var sql string
		for _, st := range sessions[0] {
			if strings.HasPrefix(st.sql, kind) {
				sql = st.sql
				break
			}
		}
		ch := check(kind, sql, VerdictDiverged)
		if ch.NewErrors != 0 || ch.Candidate.Errors != 0 {
			t.Errorf("%s gained errors: %+v", kind, ch.Candidate.ErrorCodes)
		}
	}
	for _, sql := range []string{"BEGIN", "COMMIT"} { // their verdict may be a latency's: two servers' fsyncs
		if ch := fps[idOf(sql)]; ch.RowsDiffer != 0 || ch.NewErrors != 0 || ch.Verdict == VerdictErrors || ch.Verdict == VerdictDiverged {
			t.Errorf("%s: %s, %d differ", sql, ch.Verdict, ch.RowsDiffer)
		}
	}
	if cmp.Summary.NewErrors != 1 || cmp.Summary.Diverged != 3 {
		t.Errorf("summary %+v", cmp.Summary)
	}
	if total := want["SELECT"] + want["UPDATE"] + want["DELETE"] + want["INSERT"]; cmp.RowsDiffer != total {
		t.Errorf("%d statements differ, want %d", cmp.RowsDiffer, total)
	}
}
