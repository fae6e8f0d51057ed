package digest

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// sysbenchStatement is one of the statements sysbench's oltp_read_write sends, with fresh
// literals, in its mix: 10 point selects, 4 ranges, 2 updates, a delete and an insert, BEGIN
// and COMMIT per transaction.
func sysbenchStatement(r *rand.Rand, i int) string {
	table, id := 1+r.IntN(8), r.IntN(1_000_000)
	switch i % 18 {
	case 0:
		return "BEGIN"
	case 11:
		return fmt.Sprintf("SELECT c FROM sbtest%d WHERE id BETWEEN %d AND %d", table, id, id+99)
	case 12:
		return fmt.Sprintf("SELECT SUM(k) FROM sbtest%d WHERE id BETWEEN %d AND %d", table, id, id+99)
	case 13:
		return fmt.Sprintf("SELECT c FROM sbtest%d WHERE id BETWEEN %d AND %d ORDER BY c", table, id, id+99)
	case 14:
		return fmt.Sprintf("SELECT DISTINCT c FROM sbtest%d WHERE id BETWEEN %d AND %d ORDER BY c", table, id, id+99)
	case 15:
		return fmt.Sprintf("UPDATE sbtest%d SET k=k+1 WHERE id=%d", table, id)
	case 16:
		return fmt.Sprintf("UPDATE sbtest%d SET c='%011d-%011d-%011d-%011d' WHERE id=%d", table, r.Int64N(1e11), r.Int64N(1e11), r.Int64N(1e11), r.Int64N(1e11), id)
	case 17:
		if r.IntN(2) == 0 {
			return "COMMIT"
		}
		return fmt.Sprintf("INSERT INTO sbtest%d (id, k, c, pad) VALUES (%d, %d, '%011d-%011d-%011d', '%011d-%011d')",
			table, id, r.IntN(1_000_000), r.Int64N(1e11), r.Int64N(1e11), r.Int64N(1e11), r.Int64N(1e11), r.Int64N(1e11))
	}
	return fmt.Sprintf("SELECT c FROM sbtest%d WHERE id=%d", table, id)
}

// mixedWorkload is n statements, alternating between sysbench's mix and the fingerprint corpus,
// spread over 10,000 fingerprints when wide (each corpus statement against one of many
// tables named without digits) and in 64 sessions of 4 accounts over 10 minutes.
func mixedWorkload(b testing.TB, n int, wide bool) []Statement {
	corpus := loadCorpus(b)
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]Statement, n)
	for i := range out {
		var sql string
		switch {
		case wide:
			sql = fmt.Sprintf("SELECT c FROM %s WHERE id=%d", letters(r.IntN(MaxFingerprints)), i)
		case i%2 == 0:
			sql = sysbenchStatement(r, i/2)
		default:
			sql = corpus[r.IntN(len(corpus))]
		}
		thread := uint64(r.IntN(64))
		out[i] = Statement{Time: t0.Add(time.Duration(i) * 600 * time.Millisecond), Thread: thread,
			User: fmt.Sprintf("app%d", thread%4), DB: "shop", SQL: sql}
	}
	return out
}

// BenchmarkFold folds sysbench's and the corpus's statements, every one with its own
// literals: the figure is statements per second on one core.
func BenchmarkFold(b *testing.B) {
	sts := mixedWorkload(b, 100_000, false)
	b.ReportAllocs()
	b.ResetTimer()
	s := New()
	for i := range b.N {
		s.Add(sts[i%len(sts)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "statements/s")
}

// BenchmarkFingerprint is Fingerprint alone over the same statements.
func BenchmarkFingerprint(b *testing.B) {
	sts := mixedWorkload(b, 100_000, false)
	b.ResetTimer()
	for i := range b.N {
		Fingerprint(sts[i%len(sts)].SQL)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "statements/s")
}

// BenchmarkFold1MMemory folds 1,000,000 statements over 10,000 fingerprints and reports the
// heap the State holds after (and the most seen while folding, sampled every 100,000).
func BenchmarkFold1MMemory(b *testing.B) {
	for range b.N {
		b.StopTimer()
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		b.StartTimer()
		s := New()
		var peak uint64
		r := rand.New(rand.NewPCG(3, 4))
		for i := range 1_000_000 {
			s.Add(Statement{Time: t0.Add(time.Duration(i) * time.Millisecond), Thread: uint64(r.IntN(64)), User: "app", DB: "shop",
				SQL: fmt.Sprintf("SELECT c FROM %s WHERE id=%d", letters(r.IntN(MaxFingerprints)), i)})
			if i%100_000 == 0 {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-min(after.HeapInuse, base.HeapInuse))/(1<<20), "MiB-held")
		b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
		if got := len(s.Report(Query{Limit: MaxLimit}).Fingerprints); got != MaxLimit {
			b.Fatalf("%d rows", got)
		}
	}
}
