package recording

import (
	"context"
	"fmt"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/metrics"
)

// sample reads the server's I/O counters, as of at (the server's clock). WRITE IOPS should count what
// RDS's WriteIOPS counts, every physical write: MySQL's Innodb_data_writes includes the redo
// log's, but MariaDB's (10.5 and later) leaves them out, so there Innodb_log_writes is added.
func (c *conn) sample(ctx context.Context, at time.Time) (metrics.Sample, error) {
	rows, err := c.query(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_data_reads', 'Innodb_data_writes', 'Innodb_log_writes', 'Uptime')")
	if err != nil {
		return metrics.Sample{}, fmt.Errorf("read status counters: %w", err)
	}
	defer rows.Close()
	counters := map[string]int64{}
	for rows.Next() {
		var name string
		var value int64
		if err := rows.Scan(&name, &value); err != nil {
			return metrics.Sample{}, err
		}
		counters[name] = value
	}
	if err := rows.Err(); err != nil {
		return metrics.Sample{}, err
	}
	s := metrics.Sample{At: at, Reads: counters["Innodb_data_reads"], Writes: counters["Innodb_data_writes"], Uptime: counters["Uptime"]}
	if c.mariaDB { // found when the session registered, with the server's identity
		s.Writes += counters["Innodb_log_writes"]
	}
	return s, nil
}

// sample keeps a reading of the counters of a database outside RDS, whose metrics are made of
// them (on RDS, CloudWatch has the metrics). A failed reading costs one point of the metrics,
// never the workload, so it is logged and the recording goes on.
func (r *Recorder) sample(ctx context.Context, conn *conn, env capture.Environment, c capture.Capture, at time.Time) {
	if env.OnRDS() {
		return
	}
	s, err := conn.sample(ctx, at)
	if err == nil {
		err = r.Store.AddSample(ctx, c.ID, s)
	}
	if err != nil {
		r.logger().WarnContext(ctx, "status counters not sampled", "capture_id", c.ID, "error", err.Error())
	}
}
