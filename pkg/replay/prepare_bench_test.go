package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/workload"
)

// sysbenchWorkload is n statements of sysbench's oltp_read_write mix with fresh literals, in
// sessions of 18-statement transactions, 10 µs apart, made as they are read.
func sysbenchWorkload(n, sessions int) iter.Seq[workload.Event] {
	return func(yield func(workload.Event) bool) {
		r := rand.New(rand.NewPCG(1, 2))
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		for i := range n {
			if !yield(sysbenchEvent(r, t0, i, sessions)) {
				return
			}
		}
	}
}

// sysbenchEvent is the workload's row i.
func sysbenchEvent(r *rand.Rand, t0 time.Time, i, sessions int) workload.Event {
	table, id := 1+r.IntN(8), r.IntN(1_000_000)
	var sql string
	switch i / sessions % 18 {
	case 0:
		sql = "BEGIN"
	case 11:
		sql = fmt.Sprintf("SELECT c FROM sbtest%d WHERE id BETWEEN %d AND %d", table, id, id+99)
	case 12:
		sql = fmt.Sprintf("SELECT SUM(k) FROM sbtest%d WHERE id BETWEEN %d AND %d", table, id, id+99)
	case 13:
		sql = fmt.Sprintf("SELECT c FROM sbtest%d WHERE id BETWEEN %d AND %d ORDER BY c", table, id, id+99)
	case 14:
		sql = fmt.Sprintf("UPDATE sbtest%d SET k=k+1 WHERE id=%d", table, id)
	case 15:
		sql = fmt.Sprintf("UPDATE sbtest%d SET c='%011d-%011d-%011d' WHERE id=%d", table, r.Int64N(1e11), r.Int64N(1e11), r.Int64N(1e11), id)
	case 16:
		sql = fmt.Sprintf("DELETE FROM sbtest%d WHERE id=%d", table, id)
	case 17:
		sql = "COMMIT"
	default:
		sql = fmt.Sprintf("SELECT c FROM sbtest%d WHERE id=%d", table, id)
	}
	return workload.Event{Time: t0.Add(time.Duration(i) * 10 * time.Microsecond), Thread: uint64(1 + i%sessions),
		User: "app", Host: "10.0.0.1", Command: "Execute", DB: "shop", SQL: sql}
}

// BenchmarkPrepare measures Prepare's rate, workload file to stored shards, and the most heap
// it holds: 500,000 sysbench statements in 1,000 sessions (two shards).
func BenchmarkPrepare(b *testing.B) { benchmarkPrepare(b, 500_000, 1000) }

// BenchmarkPrepareLarge is BenchmarkPrepare for 2 million statements: the same sessions, four
// times the statements, and a heap that does not grow with them.
func BenchmarkPrepareLarge(b *testing.B) { benchmarkPrepare(b, 2_000_000, 1000) }

func benchmarkPrepare(b *testing.B, n int64, sessions int) {
	files := blob.Dir{Root: b.TempDir()}
	c := capture.Capture{ID: 1, EnvID: 1}
	storeWorkload(b, files, c, sysbenchWorkload(int(n), sessions))
	b.ResetTimer()
	cpu0 := cpuTime(b)
	var peak uint64
	for i := range b.N {
		peak = max(peak, peakHeap(func() {
			plan, err := Prepare(context.Background(), files, c, capture.Replay{ID: int64(i + 1)})
			if err != nil || plan.Statements != n {
				b.Fatalf("plan %+v, %v", plan, err)
			}
		}))
	}
	b.StopTimer()
	// The machine may be shared: the rate per second of CPU the process had is the figure
	// that does not depend on its neighbours.
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "statements/s")
	b.ReportMetric(float64(n)*float64(b.N)/(cpuTime(b)-cpu0).Seconds(), "statements/cpu-s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// peakHeap runs fn and returns the most heap (live and not yet collected objects) the process
// held meanwhile, sampled every millisecond from a collected start.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	stop, peak := make(chan struct{}), make(chan uint64)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var most uint64
		for {
			metrics.Read(sample)
			most = max(most, sample[0].Value.Uint64())
			select {
			case <-stop:
				peak <- most
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	return <-peak
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkShardRead measures how fast an invocation reads through its shard (what it skips
// to its checkpoint's positions, from the shard's start).
func BenchmarkShardRead(b *testing.B) {
	const n = 250_000
	files := blob.Dir{Root: b.TempDir()}
	c := capture.Capture{ID: 1, EnvID: 1}
	storeWorkload(b, files, c, sysbenchWorkload(n, 500))
	if _, err := Prepare(context.Background(), files, c, capture.Replay{ID: 1}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for range b.N {
		f, err := files.Open(context.Background(), layout.ReplayShardKey(1, 0))
		if err != nil {
			b.Fatal(err)
		}
		sr, err := newShardReader(f)
		if err != nil {
			b.Fatal(err)
		}
		steps := 0
		for {
			var st step
			if err := sr.next(&st); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			steps++
		}
		f.Close()
		if steps != n {
			b.Fatalf("%d steps", steps)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "steps/s")
	b.ReportMetric(float64(n)*float64(b.N)/(cpuTime(b)-cpu0).Seconds(), "steps/cpu-s")
}
