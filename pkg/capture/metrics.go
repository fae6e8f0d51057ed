package capture

import "time"

// MetricsState is how far a capture's stored copy of its metrics has got.
type MetricsState struct {
	Stored   bool // a copy of the window's metrics is kept beside the workload
	Final    bool // nothing will change the copy any more
	Attempts int  // failed attempts at reading them
}

// MetricsDelay is how long after a capture ends its metrics are read once more: CloudWatch
// publishes a minute's point a few minutes late, so a copy taken at the stop lacks the tail.
const MetricsDelay = 5 * time.Minute

// MaxMetricsAttempts is how often reading a done capture's metrics is tried, MetricsDelay
// apart, before the capture keeps an empty copy and a reason.
const MaxMetricsAttempts = 6

// metricsDue is when a done capture's metrics are next to be read, if ever.
func (c Capture) metricsDue() (time.Time, bool) {
	if c.Status != Done || c.Start == nil || c.End == nil || c.Metrics.Final {
		return time.Time{}, false
	}
	return c.End.Add(MetricsDelay * time.Duration(1+c.Metrics.Attempts)), true
}

// KeptMetrics returns c after an attempt at keeping its metrics at now that ended in err.
// late says the source publishes late (CloudWatch), so only a copy taken MetricsDelay after
// the end is final; otherwise the first copy is.
func KeptMetrics(c Capture, late bool, err error, now time.Time) Capture {
	if err == nil {
		c.Metrics.Stored = true
		c.Metrics.Final = !late || (c.End != nil && !now.Before(c.End.Add(MetricsDelay)))
		return c
	}
	c.Metrics.Attempts++
	if c.Metrics.Attempts >= MaxMetricsAttempts {
		c.Metrics.Final = true
		c.Reason = "The capture's metrics could not be read: " + err.Error()
	}
	return c
}
