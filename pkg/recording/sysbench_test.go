package recording_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/workload"
)

// sysbench runs oltp_read_write against the fixture's shop database as app.
func (f *fixture) sysbench(t testing.TB, command string, args ...string) {
	t.Helper()
	out, err := sysbenchCmd(f, command, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("sysbench %s: %v\n%s", command, err, out)
	}
}

// fileLogLine is one entry of MariaDB's general log file: an optional time, the connection
// id, the command and its argument, tab separated.
var fileLogLine = regexp.MustCompile(`^(?:\d{6}\s+\d{1,2}:\d{2}:\d{2})?\s+(\d+) ([A-Za-z ]+)\t(.*)$`)

// appEntries reads the general log file and returns, as "thread command argument", every
// entry of the sessions that logged in as app, counted.
func appEntries(t testing.TB, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	app := map[string]bool{}
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := fileLogLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		thread, command, arg := m[1], m[2], m[3]
		if command == "Connect" {
			app[thread] = strings.HasPrefix(arg, "app@")
		}
		if app[thread] {
			out[thread+" "+command+" "+arg]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// againstLogFile compares the application's rows in a workload with its entries in the
// server's general log file: it returns how many entries the file holds, and each difference.
func againstLogFile(t testing.TB, logFile string, events []workload.Event) (total int, diffs []string) {
	t.Helper()
	want := appEntries(t, logFile)
	got := map[string]int{}
	for _, e := range events {
		if e.User == "app" {
			got[fmt.Sprintf("%d %s %s", e.Thread, e.Command, e.SQL)]++
		}
	}
	for k, w := range want {
		total += w
		if got[k] != w {
			diffs = append(diffs, fmt.Sprintf("%q: %d in the workload, %d in the log file", k, got[k], w))
		}
		delete(got, k)
	}
	for k, n := range got {
		diffs = append(diffs, fmt.Sprintf("%q: %d in the workload, none in the log file", k, n))
	}
	return total, diffs
}

// TestSysbenchEightThreadsExact runs sysbench's oltp_read_write with 8 threads while ticks
// collect every half second, over the text protocol and with server-side prepared
// statements. The server also logs to a file, which no collection touches: the workload must
// hold, row for row, what that file holds for the application's sessions.
func TestSysbenchEightThreadsExact(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sysbench"); err != nil {
		t.Fatalf("sysbench is not installed (.ci/deps installs it): %v", err)
	}
	for _, mode := range []string{"disable", "auto"} {
		t.Run("ps-mode "+mode, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.sysbench(t, "prepare", "--threads=4")
			logFile := filepath.Join(t.TempDir(), "general.log")
			f.db.Exec(t, "SET GLOBAL general_log_file = '"+logFile+"'", "SET GLOBAL log_output = 'FILE'")
			c := f.begin(t, f.newCapture(t, "sysbench "+mode))

			done := make(chan struct{})
			ticks := make(chan int)
			var collected atomic.Int32
			go func() {
				defer func() { ticks <- int(collected.Load()) }()
				for {
					select {
					case <-done:
						return
					case <-time.After(500 * time.Millisecond):
					}
					if _, err := f.rec.Collect(context.Background(), f.env, f.reload(t, c)); err != nil {
						t.Error(err)
					}
					collected.Add(1)
				}
			}()
			// Sysbench runs on until collections have cut the workload in a few fragments, however
			// slowly a loaded machine lets them come (4 s is plenty on an idle one).
			for round := 0; round < 10 && (round < 2 || collected.Load() < 3); round++ {
				f.sysbench(t, "run", "--threads=8", "--time=2", "--db-ps-mode="+mode)
			}
			close(done)
			n := <-ticks
			c = f.end(t, c)

			total, diffs := againstLogFile(t, logFile, f.workload(t, c))
			for _, d := range diffs {
				t.Error(d)
			}
			if total < 1000 || c.Workload.Fragments < 3 {
				t.Errorf("%d log entries over %d fragments: too few to show anything", total, c.Workload.Fragments)
			}
			t.Logf("%d entries of the application, %d ticks, %d fragments, %d statements", total, n, c.Workload.Fragments, c.Workload.Statements)
		})
	}
}
