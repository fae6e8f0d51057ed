package recording_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
)

// stopToDone moves c to STOPPING as the stop route does and has the worker take it to DONE,
// returning how long that took.
func (f *fixture) stopToDone(b testing.TB, c capture.Capture) time.Duration {
	b.Helper()
	ctx := context.Background()
	w := &lifecycle.Worker{Store: f.store, Recorder: f.rec, Now: time.Now, Log: quiet}
	c = f.reload(b, c)
	// The fixture's captures were never moved past STARTED; the worker stops RUNNING ones.
	for _, s := range []capture.Status{capture.Starting, capture.Running} {
		next, err := capture.Move(c, s, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if err := f.store.Move(ctx, next, c.Status); err != nil {
			b.Fatal(err)
		}
		c = next
	}
	start := time.Now()
	next, err := capture.Move(c, capture.Stopping, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := f.store.Move(ctx, next, c.Status); err != nil {
		b.Fatal(err)
	}
	if err := w.Stop(ctx, c.ID); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if c = f.reload(b, c); c.Status != capture.Done {
		b.Fatalf("capture %d is %s after the stop: %s", c.ID, c.Status, c.Reason)
	}
	return took
}

// BenchmarkStopToDone1M: a 1,000-statement capture's stop, to DONE, on a server whose log table
// is empty and on one holding 1,000,000 rows logged before the capture, median of 5 each.
func BenchmarkStopToDone1M(b *testing.B) {
	measure := func(history int) time.Duration {
		f := newFixture(b)
		var runs []time.Duration
		for i := range 5 {
			if history > 0 {
				f.fillLog(b, history)
			}
			c := f.begin(b, f.newCapture(b, fmt.Sprintf("stop %d", i)))
			f.runOrders(b, i*1000, i*1000+1000)
			runs = append(runs, f.stopToDone(b, c))
			if got := f.reload(b, c).Workload.Statements; got != 1000 {
				b.Fatalf("%d statements recorded, want 1000", got)
			}
		}
		slices.Sort(runs)
		return runs[len(runs)/2]
	}
	for b.Loop() {
		empty := measure(0)
		full := measure(1_000_000)
		b.ReportMetric(float64(empty.Microseconds())/1000, "ms-empty-log")
		b.ReportMetric(float64(full.Microseconds())/1000, "ms-1M-rows")
		b.ReportMetric(full.Seconds()/empty.Seconds(), "ratio")
	}
}

// BenchmarkRowsExamined: what one collection makes the server examine (Handler_read_rnd_next)
// against the rows logged since the previous one, 10,000 statements apart, on a log table that
// held 1,000,000 rows before the capture: rotated, and read in place for comparison.
func BenchmarkRowsExamined(b *testing.B) {
	// measure returns the worst ratio of 3 collections. Rotated, the live table holds just the
	// rows logged since the last collection; in place, it grows, and what is new is its growth.
	measure := func(f *fixture, rotated bool) float64 {
		f.fillLog(b, 1_000_000)
		c := f.begin(b, f.newCapture(b, "examined"))
		worst := 0.0
		count := func() int64 {
			var n int64
			if err := f.db.Root(b).QueryRow("SELECT COUNT(*) FROM mysql.general_log").Scan(&n); err != nil {
				b.Fatal(err)
			}
			return n
		}
		last := count()
		for i := range 3 {
			f.runOrders(b, i*10000, i*10000+10000)
			f.settled(b)
			logged := count()
			fresh := logged
			if !rotated {
				fresh = logged - last
			}
			last = logged
			before := f.rndNext(b)
			f.collect(b, c)
			worst = max(worst, float64(f.rndNext(b)-before)/float64(fresh))
		}
		f.end(b, c)
		return worst
	}
	for b.Loop() {
		b.ReportMetric(measure(newFixture(b), true), "examined/new-rotated")
		b.ReportMetric(measure(newInPlaceFixture(b), false), "examined/new-in-place")
	}
}

// load runs n statements as the application over 4 sessions, as a server's clients would.
func (f *fixture) load(b testing.TB, n int) {
	b.Helper()
	var wg sync.WaitGroup
	for w := range 4 {
		app := f.db.As(b, "app", "app-secret", "shop")
		app.SetMaxOpenConns(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if _, err := app.Exec(fmt.Sprintf("SELECT %d AS n, 'some text the statement carries' AS note", i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// appCapture stores a running capture of the application's statements only: the count it is
// held to leaves out the benchmark's own waits on the server's clock (settled), run as root.
func (f *fixture) appCapture(t testing.TB, name string) capture.Capture {
	t.Helper()
	c, err := capture.New(capture.Request{Name: name, EnvID: f.env.ID,
		Filters: capture.Filters{Users: capture.NameFilter{Include: []string{"app"}}}}, f.env.OwnerID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c, err = f.store.CreateCapture(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// BenchmarkTenCaptures: a tick's collection on a server with 1 capture recording it, and on
// another with 10, ticks alternating between the two so both see the same machine; median of
// 11 ticks each. At 20,000 statements a tick (1.2 million an hour with the scheduler's
// one-minute tick: the busy server the issue describes) and at 2,000 (a quiet one), where the
// fixed cost of recording 10 captures' progress weighs most.
func BenchmarkTenCaptures(b *testing.B) {
	for _, perTick := range []int{20000, 2000} {
		b.Run(fmt.Sprintf("%d-statements-a-tick", perTick), func(b *testing.B) {
			for b.Loop() {
				tenCaptures(b, perTick)
			}
		})
	}
}

func tenCaptures(b *testing.B, perTick int) {
	tick := func(f *fixture, c capture.Capture, n int) time.Duration {
		f.load(b, perTick)
		f.settled(b)
		start := time.Now()
		got := f.collect(b, c)
		took := time.Since(start)
		if len(got) != n {
			b.Fatalf("a tick collected for %d captures, want %d", len(got), n)
		}
		return took
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	one, ten := newFixture(b), newFixture(b)
	alone := one.begin(b, one.appCapture(b, "alone"))
	var others []capture.Capture
	for i := range 10 {
		others = append(others, ten.begin(b, ten.appCapture(b, fmt.Sprintf("one of ten %d", i))))
	}
	// A first tick each, so that every capture's start is behind the rows to come.
	tick(one, alone, 1)
	tick(ten, others[0], 10)
	var ones, tens []time.Duration
	for range 11 {
		ones = append(ones, tick(one, alone, 1))
		tens = append(tens, tick(ten, others[0], 10))
	}
	m1, m10 := median(ones), median(tens)
	b.ReportMetric(float64(m1.Microseconds())/1000, "ms-tick-1-capture")
	b.ReportMetric(float64(m10.Microseconds())/1000, "ms-tick-10-captures")
	b.ReportMetric(m10.Seconds()/m1.Seconds(), "ratio")
	// Every statement of every tick, in every capture, once.
	want := int64(12 * perTick)
	if got := one.reload(b, alone).Workload.Statements; got != want {
		b.Fatalf("the lone capture holds %d statements, want %d", got, want)
	}
	for _, c := range others {
		if got := ten.reload(b, c).Workload.Statements; got != want {
			b.Fatalf("capture %q holds %d statements, want %d", c.Name, got, want)
		}
	}
}

// BenchmarkSysbenchLag runs sysbench's oltp_read_write at full speed (8 threads) for 5 minutes
// while a capture records with a tick every 15 s, as the scheduler would. It reports the worst
// lag (the server's time minus the end of the last collected window, just before each tick)
// in ticks, and fails unless the workload holds, row for row, what the server's own log file
// holds for the application's sessions.
func BenchmarkSysbenchLag(b *testing.B) {
	const (
		every    = 15 * time.Second
		duration = 5 * time.Minute
	)
	for b.Loop() {
		f := newFixture(b)
		f.sysbench(b, "prepare", "--threads=4")
		logFile := filepath.Join(b.TempDir(), "general.log")
		f.db.Exec(b, "SET GLOBAL general_log_file = '"+logFile+"'", "SET GLOBAL log_output = 'FILE'")
		c := f.begin(b, f.newCapture(b, "under load"))
		done := make(chan error, 1)
		go func() {
			done <- sysbenchCmd(f, "run", "--threads=8", "--time="+strconv.Itoa(int(duration.Seconds())), "--db-ps-mode=disable").Run()
		}()
		worst, ticks := 0.0, 0
		for running := true; running; {
			select {
			case err := <-done:
				if err != nil {
					b.Fatalf("sysbench: %v", err)
				}
				running = false
				continue
			case <-time.After(every):
			}
			var now time.Time
			var raw []byte
			if err := f.db.Root(b).QueryRow("SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&raw); err != nil {
				b.Fatal(err)
			}
			secs, _ := strconv.ParseFloat(string(raw), 64)
			now = time.Unix(0, int64(secs*1e9))
			lag := now.Sub(f.reload(b, c).Workload.Watermark)
			worst = max(worst, lag.Seconds()/every.Seconds())
			f.collect(b, c)
			ticks++
		}
		c = f.end(b, c)
		total, diffs := againstLogFile(b, logFile, f.workload(b, c))
		if len(diffs) > 0 {
			b.Fatalf("the workload differs from the log file in %d entries, first %s", len(diffs), diffs[0])
		}
		b.ReportMetric(worst, "worst-lag-ticks")
		b.ReportMetric(float64(total)/duration.Seconds(), "logged-rows/s")
		b.ReportMetric(float64(c.Workload.Statements), "statements")
		b.ReportMetric(float64(ticks), "ticks")
	}
}

func sysbenchCmd(f *fixture, command string, args ...string) *exec.Cmd {
	base := []string{"oltp_read_write", "--mysql-host=" + f.db.Host, "--mysql-port=" + strconv.Itoa(f.db.Port),
		"--mysql-user=app", "--mysql-password=app-secret", "--mysql-db=shop", "--tables=4", "--table-size=10000"}
	return exec.Command("sysbench", append(append(base, args...), command)...)
}
