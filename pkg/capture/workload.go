package capture

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Workload is how far a capture's recording has got. The general log is collected in
// fragments, each covering the log from the watermark up to a later time; a fragment counts
// only once the watermark has moved past it, so a collection that dies half way is redone.
type Workload struct {
	Watermark  time.Time // database server time (UTC) up to which the log has been collected
	Fragments  int       // fragments written and accounted for
	Statements int64     // statements (queries and executions) in them
	Bytes      int64     // size of the finished workload file; 0 until it is written
}

// Recorded reports whether the capture's workload file has been written.
func (w Workload) Recorded() bool { return w.Bytes > 0 }

// Files of a capture. Every file of a capture lives under its FilesPrefix, named by
// environment and capture, so deleting a capture's logs is one prefix delete.
func FilesPrefix(c Capture) string { return fmt.Sprintf("env-%d/capture-%d/", c.EnvID, c.ID) }

// FragmentsPrefix holds the workload's fragments until its file is written.
func FragmentsPrefix(c Capture) string { return FilesPrefix(c) + "fragments/" }

// FragmentKey names the nth workload fragment.
func FragmentKey(c Capture, n int) string {
	return fmt.Sprintf("%s%06d.jsonl.gz", FragmentsPrefix(c), n)
}

// WorkloadKey names the finished workload file.
func WorkloadKey(c Capture) string { return FilesPrefix(c) + "workload.jsonl.gz" }

// MetricsKey names the stored metrics of the capture's window.
func MetricsKey(c Capture) string { return FilesPrefix(c) + "metrics.json" }

// LogTarget is what turning the general log on changes: an RDS parameter group, shared by
// every instance that uses it, or one server. Captures that share a target share its log, and
// only the last of them to stop turns it off again.
func (e Environment) LogTarget() string {
	if e.ParameterGroup != "" {
		return "rds-parameter-group/" + e.ParameterGroup
	}
	return "server/" + net.JoinHostPort(strings.ToLower(e.Host), strconv.Itoa(e.Port))
}

// OnRDS reports whether the environment is an RDS instance, whose metrics CloudWatch keeps.
func (e Environment) OnRDS() bool { return e.Instance != "" }
