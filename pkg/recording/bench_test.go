package recording_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// peakRSS is this process's high-water resident set, in MiB.
func peakRSS(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkWorkload1M turns 1,000,000 general-log rows into a stored workload: read from
// MariaDB, filtered, written as a fragment, assembled into the workload file. The rows sit in
// a CSV table shaped like mysql.general_log (the server will not let anyone write the real
// one), filled by the server itself so the Go process only ever sees them as the recorder does.
func BenchmarkWorkload1M(b *testing.B) {
	const rows = 1_000_000
	db := mysqltest.Start(b)
	db.Exec(b,
		"CREATE DATABASE bench",
		"CREATE TABLE bench.general_log LIKE mysql.general_log",
		fmt.Sprintf(`INSERT INTO bench.general_log
SELECT NOW(6) - INTERVAL 2 HOUR + INTERVAL seq * 5000 MICROSECOND, 'app[app] @ web-1 [10.0.0.1]', 100 + seq %% 64, 1, 'Query',
  CONCAT('UPDATE stock SET qty = qty - 1 WHERE sku = ', seq, ' AND warehouse = ''north''')
FROM bench.seq_1_to_%d`, rows),
	)
	st := storetest.New(b, nil)
	ctx := context.Background()
	id, _ := st.NewEnvironmentID(ctx)
	env, err := st.CreateEnvironment(ctx, capture.Environment{ID: id, Name: "bench", OwnerID: "alice", Host: db.Host, Port: db.Port, DBName: "bench", User: "root"})
	if err != nil {
		b.Fatal(err)
	}
	rec := &recording.Recorder{Secrets: plain{}, Network: netguard.Policy{AllowLoopback: true}, Store: st, Blobs: blob.Dir{Root: b.TempDir()}, Now: time.Now, Log: quiet,
		LogTable: "bench.general_log", TempDir: b.TempDir()}
	var stmtsPerSec, bytes float64
	for b.Loop() {
		c, err := capture.New(capture.Request{Name: fmt.Sprintf("bench %d", time.Now().UnixNano()%1e9), EnvID: env.ID}, "alice", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if c, err = st.CreateCapture(ctx, c); err != nil {
			b.Fatal(err)
		}
		from := capture.Workload{Watermark: time.Now().Add(-3 * time.Hour)}
		if err := st.SaveWorkload(ctx, c.ID, capture.Workload{}, from); err != nil {
			b.Fatal(err)
		}
		c.Workload = from
		start := time.Now()
		if err := rec.End(ctx, env, c); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		got, _ := st.Capture(ctx, c.ID)
		if got.Workload.Statements != rows {
			b.Fatalf("stored %d statements, want %d", got.Workload.Statements, rows)
		}
		stmtsPerSec = rows / elapsed.Seconds()
		bytes = float64(got.Workload.Bytes)
	}
	b.ReportMetric(stmtsPerSec, "statements/s")
	b.ReportMetric(peakRSS(b), "peak-RSS-MiB")
	b.ReportMetric(bytes/rows, "file-bytes/statement")
}
