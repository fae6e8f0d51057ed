package capture

import (
	"time"
)

// Workload is how far a capture's recording has got. The general log is collected in
// fragments, each covering the log from the watermark up to a later time; a fragment counts
// only once the watermark has moved past it, so a collection that dies half way is redone.
type Workload struct {
	Watermark      time.Time // database server time (UTC) up to which the log has been collected
	Begin          time.Time // database server time recording began: the window holds rows after it
	LastCollection int       // the last of its server's collections (lease.Collector) it has had
	Fragments      int       // fragments written and accounted for
	Statements     int64     // statements (queries and executions) in them
	Collected      int64     // bytes of those fragments, which the workload file adds up to
	Bytes          int64     // size of the finished workload file; 0 until it is written
	Cut            bool      // a limit refused a row: the capture takes no more (Limits)
}

// WorkloadMove is one capture's progress in a collection of its server: from what it was to
// what the collection made it.
type WorkloadMove struct {
	ID       int64
	From, To Workload
}

// Began reports whether the capture's recording began: its recorder signed in to the
// database with the environment's credentials, turned the log on and read the server's clock
// (the watermark). Nothing about a database is shown for a capture that never got that far,
// since naming a database proves nothing about being allowed into it.
func (w Workload) Began() bool { return !w.Watermark.IsZero() }

// Recorded reports whether the capture's workload file has been written.
func (w Workload) Recorded() bool { return w.Bytes > 0 }

// OnRDS reports whether the environment is an RDS instance, whose metrics CloudWatch keeps.
func (e Environment) OnRDS() bool { return e.Instance != "" }

// WorkloadMissing is why c, whose workload file is not written, has none: it failed, it was
// cancelled before it began, or it has not stopped yet.
func (c Capture) WorkloadMissing() error {
	switch {
	case c.Status == Failed:
		return ErrFailedNoWorkload
	case c.Status == Done && !c.Workload.Began():
		return ErrCancelledNoWorkload
	}
	return ErrNoWorkload
}
