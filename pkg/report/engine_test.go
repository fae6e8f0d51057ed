package report_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/replay"
	"github.com/mycrt/captures/pkg/report"
	"github.com/mycrt/captures/pkg/workload"
)

// asIs "seals" a password as itself.
type asIs struct{}

func (asIs) Open(_ context.Context, _ int64, sealed string) (string, error) { return sealed, nil }

// TestEngineRenamedColumn is issue 22's case through the whole replay: a sysbench-like capture
// (sessions of point selects, updates, and deletes and inserts of an id again, each session on
// ids of its own) prepared and run by the replay engine on two MariaDB targets, one where the
// column the inserts name was renamed, then compared from their outcome files. The INSERT
// fingerprint is errors with 1054 and the server's message, the reads gain no error, and
// rowsDiffer counts exactly the statements that met an id the failed inserts left missing.
func TestEngineRenamedColumn(t *testing.T) {
	const sessions, txns, ids = 4, 20, 12 // ids per session
	ctx := t.Context()
	files := blob.Dir{Root: t.TempDir()}

	// The capture: its workload file and digest, as the recorder leaves them.
	type stmt struct {
		sql string
		id  int
	}
	r := rand.New(rand.NewPCG(8, 8))
	var events []workload.Event
	byThread := make([][]stmt, sessions)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	emit := func(thread int, command, sql string) {
		at = at.Add(time.Millisecond)
		events = append(events, workload.Event{Time: at, Thread: uint64(100 + thread), User: "root", Host: "localhost", Command: command, DB: "sb", SQL: sql})
	}
	for s := range sessions {
		emit(s, "Connect", "root@localhost on sb using TCP/IP")
	}
	for range txns {
		for s := range sessions {
			pick := func() int { return 1 + s*ids + r.IntN(ids) }
			a, b, x := pick(), pick(), pick()
			for _, st := range []stmt{{"BEGIN", 0}, {fmt.Sprintf("SELECT c FROM sb.sbtest1 WHERE id=%d", a), a},
				{fmt.Sprintf("UPDATE sb.sbtest1 SET k=k+1 WHERE id=%d", b), b}, {fmt.Sprintf("DELETE FROM sb.sbtest1 WHERE id=%d", x), x},
				{fmt.Sprintf("INSERT INTO sb.sbtest1 (id, k, c, pad) VALUES (%d, %d, 'c-%d', 'pad-%d')", x, r.IntN(100), x, x), x},
				{"COMMIT", 0}} {
				emit(s, "Query", st.sql)
				byThread[s] = append(byThread[s], st)
			}
		}
	}
	for s := range sessions {
		emit(s, "Quit", "")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	enc := json.NewEncoder(zw)
	d := digest.New()
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
		d.AddEvent(e)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	c := capture.Capture{ID: 1, EnvID: 1, Name: "sysbench-like", Status: capture.Done,
		Workload: capture.Workload{Fragments: 1, Statements: d.Statements(), Bytes: int64(gz.Len())}}
	if err := files.Put(ctx, layout.WorkloadKey(c), bytes.NewReader(gz.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := digest.Save(ctx, files, layout.DigestKey(c), d); err != nil {
		t.Fatal(err)
	}

	// Two targets restored to the capture's start; the candidate's pad column renamed.
	setup := []string{"CREATE DATABASE sb", "CREATE TABLE sb.sbtest1 (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL)"}
	var values []string
	for id := 1; id <= sessions*ids; id++ {
		values = append(values, fmt.Sprintf("(%d, %d, 'c-%d', 'pad-%d')", id, id, id, id))
	}
	setup = append(setup, "INSERT INTO sb.sbtest1 VALUES "+strings.Join(values, ", "))
	intact, renamed := mysqltest.Start(t), mysqltest.Start(t)
	intact.Exec(t, setup...)
	renamed.Exec(t, setup...)
	renamed.Exec(t, "ALTER TABLE sb.sbtest1 CHANGE pad pad2 CHAR(60) NOT NULL")

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := &recording.Recorder{Secrets: asIs{}, Network: netguard.Policy{AllowLoopback: true}, Now: time.Now, Log: quiet}
	run := func(id int64, server *mysqltest.Server) capture.Replay {
		t.Helper()
		target := capture.Environment{ID: 10 + id, Name: fmt.Sprint("target ", id), Host: server.Host, Port: server.Port, DBName: "sb", User: "root"}
		rp := capture.Replay{ID: id, CaptureID: c.ID, EnvID: target.ID, Speed: 0, Mode: capture.ReplayAll, MaxConnections: 10}
		plan, err := replay.Prepare(ctx, files, c, rp)
		if err != nil {
			t.Fatal(err)
		}
		plan.Epoch = time.Now().Add(100 * time.Millisecond)
		rp.Plan = plan
		local := &replay.Local{}
		runner := &replay.Runner{Files: files, Dial: rec, Baton: local, Progress: local, Continue: local, Log: quiet, TempDir: t.TempDir()}
		errs := make(chan error, plan.Shards)
		for n := range plan.Shards {
			go func() {
				res, err := runner.Run(ctx, target, replay.Job{Shard: replay.Shard{Replay: id, Shard: n}, Replay: rp})
				if err == nil && !res.Done {
					err = fmt.Errorf("shard %d not done in one invocation", n)
				}
				errs <- err
			}()
		}
		for range plan.Shards {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		rp.Status = capture.Done
		rp.Progress = capture.ReplayProgress{Statements: plan.Statements, Of: plan.Statements}
		return rp
	}
	base, cand := run(1, intact), run(2, renamed)

	// On the renamed target an id is gone once deleted (its insert fails), and every later
	// statement on it finds nothing, where the intact one always finds it.
	want := map[string]int64{}
	for _, stmts := range byThread {
		gone := map[int]bool{}
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
				want[kind]++
			}
		}
	}
	if want["SELECT"] == 0 || want["UPDATE"] == 0 {
		t.Fatalf("the workload never meets a missing id: %v", want)
	}

	cat := report.CatalogOf(d)
	both, err := report.CompareFiles(ctx, files, base, cand, cat)
	if err != nil {
		t.Fatal(err)
	}
	cmp := report.Compare(both.Base, both.Candidate, both.Join, cat, report.CompareQuery{Limit: report.MaxLimit})
	t.Logf("want %v; summary %+v, %d of %d differ", want, cmp.Summary, cmp.RowsDiffer, cmp.Compared)
	if cmp.Compared != int64(sessions*txns*6) {
		t.Errorf("compared %d statements, want %d", cmp.Compared, sessions*txns*6)
	}
	rows := map[string]report.Change{}
	for _, ch := range cmp.Fingerprints {
		kind, _, _ := strings.Cut(ch.Fingerprint, " ")
		rows[strings.ToUpper(kind)] = ch
	}
	ins := rows["INSERT"]
	if ins.Verdict != report.VerdictErrors || ins.NewErrors != sessions*txns || ins.RowsDiffer != want["INSERT"] {
		t.Errorf("inserts: %s, %d new errors, %d differ", ins.Verdict, ins.NewErrors, ins.RowsDiffer)
	}
	// The server's own message, without the driver's "Error 1054 (42S22): ".
	if e := ins.Candidate.ErrorCodes[1054]; e.Count != sessions*txns || !strings.HasPrefix(e.Message, "Unknown column 'pad' in ") {
		t.Errorf("the inserts' errors: %+v", ins.Candidate.ErrorCodes)
	}
	for _, kind := range []string{"SELECT", "UPDATE", "DELETE"} {
		ch := rows[kind]
		if ch.Verdict != report.VerdictDiverged || ch.RowsDiffer != want[kind] || ch.NewErrors != 0 || ch.Candidate.Errors != 0 {
			t.Errorf("%s: %s with %d differing and %d errors, want diverged with %d and none", kind, ch.Verdict, ch.RowsDiffer, ch.Candidate.Errors, want[kind])
		}
	}
	if ch := rows["SELECT"]; ch.Fingerprint != "select c from sb.sbtest? where id=?" || ch.Base.Count != sessions*txns {
		t.Errorf("the selects' row: %q, %d sent", ch.Fingerprint, ch.Base.Count)
	}
}
