package replay_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/replay"
	"github.com/mycrt/captures/pkg/workload"
)

// BenchmarkReplaySysbench captures sysbench's oltp_read_write (8 threads, 10 s) once and
// replays it onto copies of the source's starting state: at speed 1 (statement lateness, and
// statements per 1 s bucket against the capture's), at speed 1 with 4 s invocations (forced
// hand-offs), and at speed 0 against sysbench's own rate on the same server and threads.
func BenchmarkReplaySysbench(b *testing.B) {
	f := newFixture(b)
	sysbench(b, f.src, "prepare", "--threads=4")
	start := f.dump(b)
	c := f.record(b, func() { sysbench(b, f.src, "run", "--threads=8", "--time=10", "--db-ps-mode=auto") })
	captured := capturedPerSecond(b, f, c)
	b.Run("speed=1", func(b *testing.B) {
		for range b.N {
			_, env := f.target(b, start)
			out := f.replay(b, c, env, options{})
			reportLateness(b, out)
			reportRate(b, out, captured)
		}
	})
	b.Run("speed=1,invocations=4s", func(b *testing.B) {
		for range b.N {
			_, env := f.target(b, start)
			local := &replay.Local{}
			out := f.replay(b, c, env, options{limit: 4 * time.Second, local: local})
			reportLateness(b, out)
			b.ReportMetric(float64(len(local.Continued())), "hand-offs")
			split := 0
			for _, r := range out.results {
				split += r.Split
			}
			b.ReportMetric(float64(split), "split-txns")
		}
	})
	b.Run("speed=0", func(b *testing.B) {
		for range b.N {
			_, env := f.target(b, start)
			out := f.replay(b, c, env, options{speed: -1})
			first, last := out.outcomes[0].Start, time.Duration(0)
			for _, r := range out.outcomes {
				first, last = min(first, r.Start), max(last, r.Start+r.Latency)
			}
			rate := float64(len(out.outcomes)) / (last - first).Seconds()
			own, _ := f.target(b, start)
			theirs := sysbenchRate(b, own, "auto")
			// The replay sends every statement as text, the captured Execute rows too: what
			// sysbench does without prepared statements tells that part of the gap.
			text, _ := f.target(b, start)
			theirsText := sysbenchRate(b, text, "disable")
			b.ReportMetric(rate, "statements/s")
			b.ReportMetric(theirs, "sysbench-statements/s")
			b.ReportMetric(rate/theirs, "ratio")
			b.ReportMetric(rate/theirsText, "ratio-to-text")
		}
	})
}

// capturedPerSecond counts the capture's statements per 1 s bucket from its first.
func capturedPerSecond(b *testing.B, f *fixture, c capture.Capture) []int {
	rd, err := f.files.Open(context.Background(), layout.WorkloadKey(c))
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	var times []time.Time
	first := time.Time{}
	err = workload.Each(rd, func(e workload.Event) error {
		if e.IsStatement() && e.User == "app" {
			times = append(times, e.Time)
			if first.IsZero() || e.Time.Before(first) {
				first = e.Time
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var out []int
	for _, t := range times {
		i := int(t.Sub(first) / time.Second)
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i]++
	}
	return out
}

func reportLateness(b *testing.B, out replayed) {
	if out.err != nil {
		b.Fatal(out.err)
	}
	q := latenessOf(out.outcomes, 0.5, 0.99, 1)
	b.ReportMetric(float64(q[0].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q[1].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(q[2].Microseconds())/1000, "max-ms")
	own := latenessOf(ownLateness(out.outcomes), 0.5, 0.99, 1)
	b.ReportMetric(float64(own[0].Microseconds())/1000, "own-p50-ms")
	b.ReportMetric(float64(own[1].Microseconds())/1000, "own-p99-ms")
	b.ReportMetric(float64(own[2].Microseconds())/1000, "own-max-ms")
	b.ReportMetric(float64(len(out.outcomes)), "statements")
}

// reportRate compares the replay's statements per 1 s bucket with the capture's, over the
// whole seconds of both (the first and last are partial).
func reportRate(b *testing.B, out replayed, captured []int) {
	var replayed []int
	for _, r := range out.outcomes {
		i := int(r.Start / time.Second)
		for len(replayed) <= i {
			replayed = append(replayed, 0)
		}
		replayed[i]++
	}
	worst, sum, n := 0.0, 0.0, 0
	for i := 1; i < min(len(captured), len(replayed))-1; i++ {
		d := 100 * float64(replayed[i]-captured[i]) / float64(captured[i])
		worst = max(worst, max(d, -d))
		sum += max(d, -d)
		n++
	}
	if n > 0 {
		b.ReportMetric(worst, "worst-second-diff-%")
		b.ReportMetric(sum/float64(n), "mean-second-diff-%")
	}
}

var perSec = regexp.MustCompile(`queries:\s+\d+\s+\(([\d.]+) per sec\.\)`)

// sysbenchRate is sysbench's own statements per second on s, 8 threads for 10 s, with
// --db-ps-mode psMode (auto: prepared statements; disable: text).
func sysbenchRate(b *testing.B, s *mysqltest.Server, psMode string) float64 {
	args := []string{"oltp_read_write", "--mysql-host=" + s.Host, "--mysql-port=" + strconv.Itoa(s.Port),
		"--mysql-user=app", "--mysql-password=app-secret", "--mysql-db=shop", "--tables=4", "--table-size=1000",
		"--threads=8", "--time=10", "--db-ps-mode=" + psMode, "run"}
	out, err := exec.Command("sysbench", args...).CombinedOutput()
	if err != nil {
		b.Fatalf("sysbench: %v\n%s", err, out)
	}
	m := perSec.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no rate in sysbench's output:\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// BenchmarkReplay1000Sessions replays 1,000 sessions in one shard, all connected at once
// (30 statements each over 6 s), and reports the process's peak resident memory.
func BenchmarkReplay1000Sessions(b *testing.B) {
	f := newFixture(b)
	target := mysqltest.StartWith(b, mysqltest.Options{Args: []string{"--max-connections=1100"}})
	target.Exec(b, accounts...)
	target.Exec(b, "CREATE TABLE shop.t (id INT PRIMARY KEY, c VARCHAR(100))",
		"INSERT INTO shop.t SELECT seq, REPEAT('x', 100) FROM shop.seq_1_to_1000")
	env := f.environment(b, target, "app", "app-secret")
	c := capture.Capture{ID: 9999, EnvID: f.env.ID}
	storeEvents(b, f, c, thousandSessions())
	defer replay.SetShardSessions(1000)()
	for range b.N {
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatalf("reset the peak resident memory: %v", err)
		}
		out := f.replay(b, c, env, options{maxConns: 1000})
		if out.err != nil {
			b.Fatal(out.err)
		}
		if out.plan.Shards != 1 || out.plan.Sessions != 1000 {
			b.Fatalf("plan %+v: want 1,000 sessions in one shard", out.plan)
		}
		errs := 0
		for _, r := range out.outcomes {
			if r.Errno != 0 {
				errs++
			}
		}
		b.ReportMetric(peakRSS(b), "peak-MB")
		b.ReportMetric(float64(errs), "errors")
		reportLateness(b, out)
	}
}

func thousandSessions() []workload.Event {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var events []workload.Event
	for step := range 32 {
		for s := range 1000 {
			at := t0.Add(time.Duration(step)*200*time.Millisecond + time.Duration(s)*150*time.Microsecond)
			e := workload.Event{Time: at, Thread: uint64(s + 1), User: "app", Host: "h", DB: "shop", Command: "Query",
				SQL: fmt.Sprintf("SELECT c FROM t WHERE id = %d", 1+(s*7+step)%1000)}
			switch step {
			case 0:
				e.Command, e.SQL = "Connect", "app@h on shop using TCP/IP"
			case 31:
				e.Command, e.SQL = "Quit", ""
			}
			events = append(events, e)
		}
	}
	return events
}

// storeEvents writes events as c's workload file.
func storeEvents(b testing.TB, f *fixture, c capture.Capture, events []workload.Event) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	enc := json.NewEncoder(gz)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			b.Fatal(err)
		}
	}
	gz.Close()
	if err := f.files.Put(context.Background(), layout.WorkloadKey(c), bytes.NewReader(buf.Bytes())); err != nil {
		b.Fatal(err)
	}
}

// peakRSS is the process's peak resident memory since clear_refs, in MB.
func peakRSS(b *testing.B) float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkReplayOverhead compares a session replayed at speed 0 (20,000 × DO 1) with the same
// statements sent by a bare driver loop on one connection: what the replayer adds to a
// statement.
func BenchmarkReplayOverhead(b *testing.B) {
	f := newFixture(b)
	target, env := f.target(b, nil)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const n = 20_000
	events := make([]workload.Event, n)
	for i := range events {
		events[i] = workload.Event{Time: t0.Add(time.Duration(i) * time.Microsecond), Thread: 1, User: "app", DB: "shop", Command: "Query", SQL: "DO 1"}
	}
	c := capture.Capture{ID: 8888, EnvID: f.env.ID}
	storeEvents(b, f, c, events)
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = "app", "app-secret", "tcp", target.Addr()
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		conn, err := connector.Connect(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for range n {
			if _, err := conn.(driver.ExecerContext).ExecContext(context.Background(), "DO 1", nil); err != nil {
				b.Fatal(err)
			}
		}
		bare := time.Since(start)
		conn.Close()
		out := f.replay(b, c, env, options{speed: -1})
		if out.err != nil || len(out.outcomes) != n {
			b.Fatalf("%d outcomes, %v", len(out.outcomes), out.err)
		}
		first, last := out.outcomes[0].Start, time.Duration(0)
		for _, r := range out.outcomes {
			first, last = min(first, r.Start), max(last, r.Start+r.Latency)
		}
		b.ReportMetric(float64(bare.Microseconds())/n, "bare-µs/stmt")
		b.ReportMetric(float64((last-first).Microseconds())/n, "replay-µs/stmt")
	}
}
