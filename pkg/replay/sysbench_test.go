package replay_test

import (
	"bufio"
	"cmp"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/outcome"
	"github.com/mycrt/captures/pkg/workload"
)

// sysbench runs oltp_read_write against server s's shop database as app.
func sysbench(t testing.TB, s *mysqltest.Server, command string, args ...string) {
	t.Helper()
	base := []string{"oltp_read_write", "--mysql-host=" + s.Host, "--mysql-port=" + strconv.Itoa(s.Port),
		"--mysql-user=app", "--mysql-password=app-secret", "--mysql-db=shop", "--tables=4", "--table-size=1000"}
	out, err := exec.Command("sysbench", append(append(base, args...), command)...).CombinedOutput()
	if err != nil {
		t.Fatalf("sysbench %s: %v\n%s", command, err, out)
	}
}

// sessionsOf lists the statements of each of the capture's application sessions, in workload
// order, as the replay numbers sessions: by first row, a thread reused after its Quit (or
// connecting again) a new session.
func sessionsOf(t testing.TB, f *fixture, c capture.Capture) [][]string {
	t.Helper()
	r, err := f.files.Open(context.Background(), layout.WorkloadKey(c))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [][]string
	open := map[uint64]int{}
	rows := map[uint64]int{}
	err = workload.Each(r, func(e workload.Event) error {
		i, ok := open[e.Thread]
		if !ok || e.Command == "Connect" && rows[e.Thread] > 0 {
			i = len(out)
			out = append(out, nil)
			open[e.Thread], rows[e.Thread] = i, 0
		}
		rows[e.Thread]++
		if e.IsStatement() && e.User == "app" {
			out[i] = append(out[i], e.SQL)
		}
		if e.Command == "Quit" {
			delete(open, e.Thread)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(out, func(s []string) bool { return len(s) == 0 })
}

// logToFile turns the server's general log on, to a file, and returns the file's path.
func logToFile(t testing.TB, s *mysqltest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "general.log")
	s.Exec(t, "SET GLOBAL general_log_file = '"+path+"'", "SET GLOBAL log_output = 'FILE'", "SET GLOBAL general_log = 1")
	return path
}

var fileLogLine = regexp.MustCompile(`^(?:\d{6}\s+\d{1,2}:\d{2}:\d{2})?\s+(\d+) ([A-Za-z ]+)\t(.*)$`)

// connectionsOf reads a general log file and returns the statements of each connection that
// logged in as app, connections in the order of their first statement (a next invocation opens
// its connections ahead, maybe before the one before it reconnected a session), leaving out
// what the replay itself sends (its read-only setting, its database switches, its restore
// statements and kills).
func connectionsOf(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	app := map[string]int{}
	var out [][]string
	var first []int // the line of each connection's first statement
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 0; sc.Scan(); line++ {
		m := fileLogLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		thread, command, arg := m[1], m[2], m[3]
		if command == "Connect" {
			delete(app, thread)
			if strings.HasPrefix(arg, "app@") {
				app[thread] = len(out)
				out = append(out, nil)
				first = append(first, -1)
			}
			continue
		}
		i, ok := app[thread]
		if !ok || command != "Query" || arg == "SET SESSION TRANSACTION READ ONLY" ||
			strings.HasPrefix(arg, "USE `") || strings.HasPrefix(arg, "/* mycrt-replay ") {
			continue
		}
		if first[i] < 0 {
			first[i] = line
		}
		out[i] = append(out[i], arg)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return first[order[a]] < first[order[b]] })
	var sorted [][]string
	for _, i := range order {
		if len(out[i]) > 0 {
			sorted = append(sorted, out[i])
		}
	}
	return sorted
}

// sameSessions checks that the target's connections ran every captured session's statements
// in order: each connection a run of one session's statements that begins and ends outside a
// transaction, a session's connections one after another covering all of it.
func sameSessions(t testing.TB, sessions, conns [][]string) {
	t.Helper()
	left := slices.Clone(sessions)
	for ci, conn := range conns {
		found := -1
		for i, s := range left {
			if len(s) >= len(conn) && slices.Equal(s[:len(conn)], conn) && (found < 0 || len(s) < len(left[found])) {
				found = i
			}
		}
		if found < 0 {
			t.Fatalf("the target's connection %d ran %d statements that are no session's next ones (from %q)", ci, len(conn), conn[0])
		}
		if depth := txnDepth(conn); depth != 0 && len(left[found]) > len(conn) {
			t.Errorf("the target's connection %d ends inside a transaction that the session goes on with", ci)
		}
		left[found] = left[found][len(conn):]
	}
	for i, s := range left {
		if len(s) > 0 {
			t.Errorf("session %d: %d of its %d statements never ran (from %q)", i, len(s), len(sessions[i]), s[0])
		}
	}
}

func txnDepth(stmts []string) int {
	depth := 0
	for _, q := range stmts {
		switch strings.ToUpper(strings.Fields(q)[0]) {
		case "BEGIN", "START":
			depth = 1
		case "COMMIT", "ROLLBACK":
			depth = 0
		}
	}
	return depth
}

// latenessOf is the outcomes' lateness at quantiles q (sent statements only).
func latenessOf(recs []outcome.Record, qs ...float64) []time.Duration {
	var ls []time.Duration
	for _, r := range recs {
		if !r.Skipped {
			ls = append(ls, r.Lateness)
		}
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
	out := make([]time.Duration, len(qs))
	for i, q := range qs {
		if len(ls) > 0 {
			out[i] = ls[min(len(ls)-1, int(q*float64(len(ls))))]
		}
	}
	return out
}

// ownLateness is each statement's start behind the later of its schedule and its session's
// previous statement's end: the replayer's own delay, without the wait pgreplay's rule adds
// when the target ran the statement before slower than the capture did.
func ownLateness(recs []outcome.Record) []outcome.Record {
	byKey := slices.Clone(recs)
	slices.SortFunc(byKey, func(a, b outcome.Record) int {
		return cmp.Or(cmp.Compare(a.Session, b.Session), cmp.Compare(a.Seq, b.Seq))
	})
	out := make([]outcome.Record, 0, len(byKey))
	for i, r := range byKey {
		if r.Skipped {
			continue
		}
		ready := r.Start - r.Lateness // its schedule
		if i > 0 && byKey[i-1].Session == r.Session {
			ready = max(ready, byKey[i-1].Start+byKey[i-1].Latency)
		}
		r.Lateness = max(0, r.Start-ready)
		out = append(out, r)
	}
	return out
}

// appConnections counts the server's connections logged in as app.
func appConnections(t testing.TB, s *mysqltest.Server) int {
	t.Helper()
	n, err := countApp(s.Root(t))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countApp(root *sql.DB) (int, error) {
	var n int
	err := root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'").Scan(&n)
	return n, err
}

// poll checks cond every 5 ms until it holds or within has passed, and says whether it held.
// It needs no testing.TB, so a test's goroutines may wait with it too.
func poll(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// eventually polls cond until it holds, failing t after within.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(within, cond) {
		t.Fatalf("not within %s: %s", within, what)
	}
}
