package report

import (
	"github.com/mycrt/captures/pkg/outcome"
	"runtime"
	"testing"
)

// BenchmarkFold folds an outcome file of 1,000,000 statements over 10,000 fingerprints, read
// from memory: the figure is statements per second (on one core with -cpu 1).
func BenchmarkFold(b *testing.B) {
	w := workload{Statements: 1_000_000, Fingerprints: 10_000, Sessions: 1000, Seed: 1}
	file := w.file(b)
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	for range b.N {
		foldBytes(b, New(nil), file)
	}
	b.ReportMetric(float64(b.N)*float64(w.Statements)/b.Elapsed().Seconds(), "statements/s")
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
