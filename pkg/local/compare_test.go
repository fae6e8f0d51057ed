package local_test

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/workload"
)

// compareView is GET /api/replays/compare's answer, the parts this test reads.
type compareView struct {
	Complete bool `json:"complete"`
	Summary  struct {
		Regressed, Improved, NewErrors, Diverged int
	} `json:"summary"`
	Fingerprints []struct {
		ID, Fingerprint, Verdict string
		Base, Candidate          struct {
			Count, Errors, Rows int64
			ErrorCodes          map[string]struct {
				Count   int64
				Message string
			} `json:"errorCodes"`
		}
		RowsDiffer, NewErrors int64
	} `json:"fingerprints"`
}

// copyDatabase copies database name from one server to another (mariadb-dump | mariadb): the
// target starts where the source was when the capture began.
func copyDatabase(t *testing.T, from, to *mysqltest.Server, name string) {
	t.Helper()
	dump := exec.Command("mariadb-dump", "-h", from.Host, "-P", strconv.Itoa(from.Port), "-u", "root", "--protocol=tcp", "--databases", name)
	load := exec.Command("mariadb", "-h", to.Host, "-P", strconv.Itoa(to.Port), "-u", "root", "--protocol=tcp")
	pipe, err := dump.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	load.Stdin = pipe
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("load %s: %v\n%s", name, err, out)
	}
	if err := dump.Wait(); err != nil {
		t.Fatalf("dump %s: %v", name, err)
	}
}

// replayer makes the account a replay signs in as on a target: the application's rights.
func replayer(t *testing.T, db *mysqltest.Server, name string) {
	t.Helper()
	db.Exec(t, "CREATE USER replayer IDENTIFIED BY 'rep-pw'", "GRANT ALL ON "+name+".* TO replayer")
}

// waitReplay waits for replay id to end, and fails unless it is DONE.
func (l *client) waitReplay(id int64, within time.Duration) replayView {
	l.t.Helper()
	var v replayView
	if !poll(within, func() bool {
		if code := l.call("GET", fmt.Sprintf("/api/replays/%d", id), nil, &v); code != 200 {
			l.t.Fatalf("get replay %d: %d", id, code)
		}
		return v.Status == "DONE" || v.Status == "FAILED"
	}) || v.Status != "DONE" {
		l.t.Fatalf("replay %d is %s (%v), want DONE", id, v.Status, v.Reason)
	}
	return v
}

// TestCompareFindsTheBrokenInsert: one sysbench session's oltp_read_write, captured, replayed
// onto two copies of the source's starting state, the candidate's `pad` column renamed (only the
// INSERT names it). The compare shows the INSERT fingerprint as errors, 1054 with its message;
// the reads gain no errors; and rowsDiffer counts exactly the statements that touched a row the
// failed INSERTs left missing, as the test works out from the captured statements themselves.
func TestCompareFindsTheBrokenInsert(t *testing.T) {
	t.Parallel()
	src, base, cand := mysqltest.Start(t), mysqltest.Start(t), mysqltest.Start(t)
	accounts(t, src, "sbtest")
	sysbench(t, src, "prepare")
	for _, db := range []*mysqltest.Server{base, cand} {
		copyDatabase(t, src, db, "sbtest")
		replayer(t, db, "sbtest")
	}
	cand.Exec(t, "ALTER TABLE sbtest.sbtest1 RENAME COLUMN pad TO pad2", "ALTER TABLE sbtest.sbtest2 RENAME COLUMN pad TO pad2")

	l := startLocal(t)
	_, c := l.startCapture(src, "sbtest", "one session")
	l.waitStatus(c.ID, "RUNNING", 10*time.Second)
	sysbench(t, src, "run", "--events=60", "--time=0", "--db-ps-mode=disable")
	if code := l.call("POST", fmt.Sprintf("/api/captures/%d/stop", c.ID), nil, nil); code != 200 {
		t.Fatalf("stop capture: %d", code)
	}
	l.waitStatus(c.ID, "DONE", 30*time.Second)

	var ids [2]int64
	for i, db := range []*mysqltest.Server{base, cand} {
		var env struct{ ID int64 }
		if code := l.call("POST", "/api/environments", map[string]any{
			"envName": fmt.Sprint("target ", i), "host": db.Host, "port": db.Port, "dbName": "sbtest",
			"user": "replayer", "pass": "rep-pw", "target": true,
		}, &env); code != 200 {
			t.Fatalf("create target environment: %d", code)
		}
		var r replayView
		if code := l.call("POST", "/api/replays", map[string]any{
			"name": fmt.Sprint("on target ", i), "captureId": c.ID, "envId": env.ID, "speed": 0,
		}, &r); code != 200 {
			t.Fatalf("create replay: %d", code)
		}
		ids[i] = r.ID
	}
	for _, id := range ids {
		l.waitReplay(id, 2*time.Minute)
	}
	var cmp compareView
	if code := l.call("GET", fmt.Sprintf("/api/replays/compare?base=%d&candidate=%d&limit=1000", ids[0], ids[1]), nil, &cmp); code != 200 {
		t.Fatalf("compare: %d", code)
	}
	want, inserts := expectedDivergence(t, l, c.ID)
	if !cmp.Complete {
		t.Error("the compare of two DONE replays is not complete")
	}
	seen := map[string]bool{}
	for _, f := range cmp.Fingerprints {
		seen[f.ID] = true
		switch {
		case f.ID == inserts:
			e, ok := f.Candidate.ErrorCodes["1054"]
			if f.Verdict != "errors" || f.Candidate.Errors != f.Candidate.Count || !ok || e.Count != f.Candidate.Count ||
				!strings.Contains(e.Message, "Unknown column 'pad'") || f.Base.Errors != 0 {
				t.Errorf("the INSERT: verdict %s, candidate %d errors of %d (%+v), base %d errors; want errors, every one 1054 Unknown column 'pad'",
					f.Verdict, f.Candidate.Errors, f.Candidate.Count, f.Candidate.ErrorCodes, f.Base.Errors)
			}
		case f.Candidate.Errors != 0 || f.NewErrors != 0:
			t.Errorf("%s (%s): %d errors on the candidate, want none", f.Fingerprint, f.ID, f.Candidate.Errors)
		}
		if f.RowsDiffer != want[f.ID] {
			t.Errorf("%s: rowsDiffer %d, want %d", f.Fingerprint, f.RowsDiffer, want[f.ID])
		}
		if f.ID != inserts && (f.RowsDiffer > 0) != (f.Verdict == "diverged") {
			t.Errorf("%s: verdict %s with rowsDiffer %d", f.Fingerprint, f.Verdict, f.RowsDiffer)
		}
	}
	for id, n := range want {
		if !seen[id] && n > 0 {
			t.Errorf("fingerprint %s (%d statements differ) is missing from the compare", id, n)
		}
	}
	if cmp.Summary.NewErrors != 1 {
		t.Errorf("summary: %d fingerprints with new errors, want 1 (the INSERT)", cmp.Summary.NewErrors)
	}
}

var (
	reWrite = regexp.MustCompile(`(?i)^(DELETE FROM|UPDATE) sbtest(\d+) .*WHERE id\s*=\s*(\d+)`)
	reIns   = regexp.MustCompile(`(?i)^INSERT INTO sbtest(\d+) \(id, k, c, pad\) VALUES\s*\((\d+),`)
	rePoint = regexp.MustCompile(`(?i)^SELECT c FROM sbtest(\d+) WHERE id\s*=\s*(\d+)`)
	reRange = regexp.MustCompile(`(?i)^SELECT (DISTINCT )?(c|SUM\(k\)) FROM sbtest(\d+) WHERE id BETWEEN (\d+) AND (\d+)`)
)

// expectedDivergence replays the capture's statements in the test's head: every INSERT fails
// on the candidate (and differs), so the row its transaction's DELETE removed stays missing; a
// later statement differs when it touched a missing row: a DELETE or UPDATE of it (0 rows
// changed, not 1), a point select of it, a range of rows over it (SUM(k) is one row either
// way). It returns the statements that differ by fingerprint id, and the INSERT's id.
func expectedDivergence(t *testing.T, l *client, captureID int64) (map[string]int64, string) {
	t.Helper()
	resp := l.do("GET", fmt.Sprintf("/api/captures/%d/workload", captureID), nil)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("workload: %d", resp.StatusCode)
	}
	missing := map[string]bool{}
	key := func(table, id string) string { return table + "/" + id }
	want := map[string]int64{}
	inserts := ""
	sessions := map[uint64]bool{}
	err := workload.Each(resp.Body, func(ev workload.Event) error {
		if !ev.IsStatement() {
			return nil
		}
		sessions[ev.Thread] = true
		id := digest.ID(digest.Fingerprint(ev.SQL))
		differs := false
		if m := reIns.FindStringSubmatch(ev.SQL); m != nil {
			inserts, differs = id, true
			missing[key(m[1], m[2])] = true
		} else if m := reWrite.FindStringSubmatch(ev.SQL); m != nil {
			differs = missing[key(m[2], m[3])]
		} else if m := rePoint.FindStringSubmatch(ev.SQL); m != nil {
			differs = missing[key(m[1], m[2])]
		} else if m := reRange.FindStringSubmatch(ev.SQL); m != nil && !strings.EqualFold(m[2], "SUM(k)") {
			lo, _ := strconv.Atoi(m[4])
			hi, _ := strconv.Atoi(m[5])
			for i := lo; i <= hi && !differs; i++ {
				differs = missing[key(m[3], strconv.Itoa(i))]
			}
		}
		if differs {
			want[id]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 || inserts == "" || len(want) < 3 {
		t.Fatalf("the capture: %d sessions, insert %q, %d fingerprints differing; want one session whose INSERTs break reads", len(sessions), inserts, len(want))
	}
	return want, inserts
}
