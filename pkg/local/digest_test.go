package local_test

import (
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/mysqltest"
)

// sysbenchMix is what one oltp_read_write transaction sends, by fingerprint as pt-query-digest
// prints it (sysbench's own documented mix: ten point selects, four ranges, two updates, a
// delete, an insert, in BEGIN ... COMMIT).
var sysbenchMix = map[string]int64{
	"begin":                            1,
	"select c from sbtest? where id=?": 10,
	"select c from sbtest? where id between ? and ?":                     1,
	"select sum(k) from sbtest? where id between ? and ?":                1,
	"select c from sbtest? where id between ? and ? order by c":          1,
	"select distinct c from sbtest? where id between ? and ? order by c": 1,
	"update sbtest? set k=k? where id=?":                                 1,
	"update sbtest? set c=? where id=?":                                  1,
	"delete from sbtest? where id=?":                                     1,
	"insert into sbtest? (id, k, c, pad) values(?+)":                     1,
	"commit": 1,
}

type digestView struct {
	Statements   int64
	Sessions     int
	Complete     bool
	Fingerprints []struct {
		ID, Fingerprint string
		Count           int64
		Users           map[string]int64
	}
}

// sysbench runs oltp_read_write against db as app, one thread, so its mix is exact.
func sysbench(t *testing.T, db *mysqltest.Server, command string, args ...string) {
	t.Helper()
	base := []string{"oltp_read_write", "--mysql-host=" + db.Host, "--mysql-port=" + strconv.Itoa(db.Port),
		"--mysql-user=app", "--mysql-password=app-pw", "--mysql-db=sbtest", "--tables=2", "--table-size=1000", "--threads=1"}
	out, err := exec.Command("sysbench", append(append(base, args...), command)...).CombinedOutput()
	if err != nil {
		t.Fatalf("sysbench %s: %v\n%s", command, err, out)
	}
}

// TestLocalDigestOfSysbench records sysbench's oltp_read_write through the API, over the text
// protocol and then with server-side prepared statements, and checks the digest counts each
// fingerprint exactly, while the capture runs and once it is done.
func TestLocalDigestOfSysbench(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sysbench"); err != nil {
		t.Fatalf("sysbench is not installed (.ci/deps installs it): %v", err)
	}
	db := mysqltest.Start(t)
	accounts(t, db, "sbtest")
	sysbench(t, db, "prepare")
	l := startLocal(t)
	_, c := l.startCapture(db, "sbtest", "sysbench")
	l.waitStatus(c.ID, "RUNNING", 10*time.Second)

	const events = 40
	sysbench(t, db, "run", fmt.Sprintf("--events=%d", events), "--time=0", "--db-ps-mode=disable")
	check := func(when string, runs int64, complete bool) {
		t.Helper()
		var d digestView
		if code := l.call("GET", fmt.Sprintf("/api/captures/%d/digest", c.ID), nil, &d); code != 200 {
			t.Fatalf("%s: digest %d", when, code)
		}
		var want int64
		for _, n := range sysbenchMix {
			want += n * events * runs
		}
		if d.Statements != want || d.Complete != complete || len(d.Fingerprints) != len(sysbenchMix) {
			t.Fatalf("%s: %d statements in %d fingerprints, complete %v; want %d in %d, complete %v",
				when, d.Statements, len(d.Fingerprints), d.Complete, want, len(sysbenchMix), complete)
		}
		if int64(d.Sessions) < runs {
			t.Errorf("%s: %d sessions, want at least %d", when, d.Sessions, runs)
		}
		for _, f := range d.Fingerprints {
			if w := sysbenchMix[f.Fingerprint] * events * runs; f.Count != w || f.Users["app"] != w {
				t.Errorf("%s: %q counted %d (%v), want %d by app", when, f.Fingerprint, f.Count, f.Users, w)
			}
		}
	}
	// Live: once a scheduler tick has collected the run, the digest holds it, not complete.
	eventually(t, 10*time.Second, "a tick collected the run", func() bool {
		v := l.get(c.ID)
		return v.Workload != nil && v.Workload.Statements >= 20*events
	})
	check("while running", 1, false)

	// Server-side prepared statements log as Execute rows with their values: the same
	// fingerprints again.
	sysbench(t, db, "run", fmt.Sprintf("--events=%d", events), "--time=0", "--db-ps-mode=auto")
	if code := l.call("POST", fmt.Sprintf("/api/captures/%d/stop", c.ID), nil, nil); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	l.waitStatus(c.ID, "DONE", 15*time.Second)
	check("done", 2, true)
}
