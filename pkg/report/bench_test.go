package report

import (
	"context"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/outcome"
)

// BenchmarkFold folds an outcome file of 1,000,000 statements over 10,000 fingerprints, read
// from memory: the figure is statements per second (on one core with -cpu 1).
func BenchmarkFold(b *testing.B) {
	w := workload{Statements: 1_000_000, Fingerprints: 10_000, Sessions: 1000, Seed: 1}
	file := w.file(b)
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		foldBytes(b, New(nil), file)
	}
	cpu = cpuTime() - cpu
	b.ReportMetric(float64(b.N)*float64(w.Statements)/b.Elapsed().Seconds(), "statements/s")
	// The process's CPU time too: on a machine others share, what the fold costs, whatever its
	// wall time waited for.
	b.ReportMetric(float64(b.N)*float64(w.Statements)/cpu.Seconds(), "statements/cpu-s")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFold1MMemory folds 1,000,000 statements over 10,000 fingerprints and reports the
// heap the State holds after, and the most seen while folding (sampled every 100,000).
func BenchmarkFold1MMemory(b *testing.B) {
	w := workload{Statements: 1_000_000, Fingerprints: 10_000, Sessions: 1000, Seed: 2}
	for range b.N {
		b.StopTimer()
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		b.StartTimer()
		s := New(nil)
		var peak uint64
		i := 0
		w.each(func(r *outcome.Record) {
			s.Add(r)
			if i++; i%100_000 == 0 {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse-min(m.HeapInuse, base.HeapInuse))
			}
		})
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-min(after.HeapInuse, base.HeapInuse))/(1<<20), "MiB-held")
		b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
		if got := len(s.rows); got != w.Fingerprints {
			b.Fatalf("%d rows, want %d", got, w.Fingerprints)
		}
		runtime.KeepAlive(s)
	}
}

// discard keeps no report state, so that every Load folds the outcome files again (it still
// encodes the states it would keep).
type discard struct{ blob.Dir }

func (discard) Put(context.Context, string, io.ReadSeeker) error { return nil }

// heapPeak samples the heap in use above base every few milliseconds until stop is called.
func heapPeak(base uint64) (stop func() uint64) {
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var p uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			p = max(p, m.HeapInuse-min(m.HeapInuse, base))
			select {
			case <-done:
				peak <- p
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-peak }
}

// BenchmarkCompare1M compares two stored replays of 1,000,000 statements each (over 10,000
// fingerprints, 1,000 sessions; 4 shards × 2 invocations against 3 × 3, so no shard lines up)
// against reading the two reports from the same files (each folded from its outcome files, as
// the first read of a report does). Figures: both times, their ratio, and the compare's peak
// heap.
func BenchmarkCompare1M(b *testing.B) {
	ctx := context.Background()
	files := discard{blob.Dir{Root: b.TempDir()}}
	w := workload{Statements: 1_000_000, Fingerprints: 10_000, Sessions: 1000, Seed: 11}
	base := w.store(b, files.Dir, 1, 7, 4, 2)
	cw := w
	cw.Change = func(r *outcome.Record) {
		if r.Digest == digestOf(5) {
			r.Rows++
		}
	}
	cand := cw.store(b, files.Dir, 2, 7, 3, 3)
	cat := catalogOf(w.Fingerprints)
	var reports, compare time.Duration
	var peak uint64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		for _, r := range []capture.Replay{base, cand} {
			l, err := Load(ctx, files, r, cat)
			if err != nil {
				b.Fatal(err)
			}
			l.State.Report(cat, Query{})
		}
		reports += time.Since(start)
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		stop := heapPeak(m.HeapInuse)
		start = time.Now()
		both, err := CompareFiles(ctx, files, base, cand, cat)
		if err != nil {
			b.Fatal(err)
		}
		c := Compare(both.Base, both.Candidate, both.Join, cat, CompareQuery{})
		compare += time.Since(start)
		peak = max(peak, stop())
		if c.Summary.Diverged != 1 {
			b.Fatalf("summary %+v", c.Summary)
		}
	}
	b.ReportMetric(reports.Seconds()/float64(b.N), "s-reports")
	b.ReportMetric(compare.Seconds()/float64(b.N), "s-compare")
	b.ReportMetric(compare.Seconds()/reports.Seconds(), "compare/reports")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
}

// BenchmarkReport answers a report's first page from a state of 1,000,000 statements over
// 10,000 fingerprints: what a request costs once the state is read.
func BenchmarkReport(b *testing.B) {
	w := workload{Statements: 1_000_000, Fingerprints: 10_000, Sessions: 1000, Seed: 4}
	s := New(nil)
	w.each(s.Add)
	cat := catalogOf(w.Fingerprints)
	for _, sort := range Sorts {
		b.Run(string(sort), func(b *testing.B) {
			for range b.N {
				s.Report(cat, Query{Sort: sort})
			}
		})
	}
}

// slowFiles answers every Open after a round trip, as S3 does.
type slowFiles struct {
	discard
	rtt time.Duration
}

func (s slowFiles) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	select {
	case <-time.After(s.rtt):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.discard.Open(ctx, key)
}

// BenchmarkSlowStore reads a report and a compare of small replays (8 shards × 4 invocations,
// 4 shards × 8 against it) from files that answer after 10 ms: the figure is the round trips
// each costs (time over 10 ms), against 1 + Lookahead misses and a file at a time.
func BenchmarkSlowStore(b *testing.B) {
	const rtt = 10 * time.Millisecond
	dir := blob.Dir{Root: b.TempDir()}
	w := workload{Statements: 20_000, Fingerprints: 50, Sessions: 64, Seed: 12}
	base := w.store(b, dir, 1, 7, 8, 4)
	cand := w.store(b, dir, 2, 7, 4, 8)
	files := slowFiles{discard{dir}, rtt}
	ctx := context.Background()
	b.Run("report", func(b *testing.B) {
		for range b.N {
			if _, err := Load(ctx, files, base, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(rtt), "round-trips")
	})
	b.Run("compare", func(b *testing.B) {
		for range b.N {
			if _, err := CompareFiles(ctx, files, base, cand, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(rtt), "round-trips")
	})
}
