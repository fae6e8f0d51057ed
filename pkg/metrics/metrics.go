// Package metrics is a capture's performance metrics: which series there are, how database
// status counters become rates, and how the series of a capture's window are read live or kept
// beside its workload once it is done, since CloudWatch keeps one-minute points for only 15 days.
package metrics

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/capture"
)

// Kind is one metric series: Label is its CloudWatch name, Type its readable name (which the
// contract also shows as displayName).
type Kind struct {
	Label string
	Type  string
	Unit  string
}

// The series the product knows, in the order they are shown.
var (
	CPU            = Kind{"CPUUtilization", "CPU UTILIZATION", "Percent"}
	ReadIOPS       = Kind{"ReadIOPS", "READ IOPS", "Count/Second"}
	WriteIOPS      = Kind{"WriteIOPS", "WRITE IOPS", "Count/Second"}
	FreeableMemory = Kind{"FreeableMemory", "FREEABLE MEMORY", "Bytes"}
	Kinds          = []Kind{CPU, ReadIOPS, WriteIOPS, FreeableMemory}
)

// KindsFor lists the series an environment has: all four from CloudWatch for RDS; outside RDS
// only what the database's own counters measure honestly.
func KindsFor(env capture.Environment) []Kind {
	if env.OnRDS() {
		return Kinds
	}
	return []Kind{ReadIOPS, WriteIOPS}
}

// ParseType finds the kind a ?type= names, ignoring case ("read iops", "READ IOPS"); an empty
// type is no filter (ok, zero Kind).
func ParseType(s string) (Kind, error) {
	if s == "" {
		return Kind{}, nil
	}
	for _, k := range Kinds {
		if strings.EqualFold(strings.TrimSpace(s), k.Type) {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.Type
	}
	return Kind{}, &capture.Error{Kind: capture.Invalid,
		Message: fmt.Sprintf("Unknown metric type %q: use one of %s", s, strings.Join(names, ", "))}
}

// Point is one value of a series. Maximum is CloudWatch's statistic; for rates computed from
// counters it is the rate over the point's interval, which starts at Time.
type Point struct {
	Time    time.Time `json:"Timestamp"`
	Maximum float64   `json:"Maximum"`
	Unit    string    `json:"Unit"`
}

// Series is a kind and its points in time order.
type Series struct {
	Kind   Kind
	Points []Point
}

// Only keeps the series of kind k; the zero Kind keeps all.
func Only(all []Series, k Kind) []Series {
	if k == (Kind{}) {
		return all
	}
	for _, s := range all {
		if s.Kind == k {
			return []Series{s}
		}
	}
	return []Series{{Kind: k, Points: []Point{}}}
}

// Sort puts points in time order and makes nil empty, so a series with no points is
// shown as [] rather than null.
func Sort(s *Series) {
	if s.Points == nil {
		s.Points = []Point{}
	}
	sort.Slice(s.Points, func(i, j int) bool { return s.Points[i].Time.Before(s.Points[j].Time) })
}

// Sample is a reading of a database's cumulative I/O counters at a moment, outside RDS.
type Sample struct {
	At     time.Time
	Reads  int64 // physical InnoDB reads: Innodb_data_reads
	Writes int64 // physical InnoDB writes (see recording for what that adds up on each server)
	Uptime int64 // seconds since the server started: a drop means the counters were reset
}

// FromSamples turns consecutive samples into per-second rates, READ IOPS and WRITE IOPS, one
// point over each interval between two samples. An interval across a server restart has no
// point rather than a wrong one.
func FromSamples(samples []Sample) []Series {
	sort.Slice(samples, func(i, j int) bool { return samples[i].At.Before(samples[j].At) })
	reads, writes := Series{Kind: ReadIOPS}, Series{Kind: WriteIOPS}
	for i := 1; i < len(samples); i++ {
		prev, cur := samples[i-1], samples[i]
		secs := cur.At.Sub(prev.At).Seconds()
		if secs <= 0 || cur.Uptime < prev.Uptime || cur.Reads < prev.Reads || cur.Writes < prev.Writes {
			continue
		}
		at := prev.At.UTC()
		reads.Points = append(reads.Points, Point{Time: at, Maximum: float64(cur.Reads-prev.Reads) / secs, Unit: ReadIOPS.Unit})
		writes.Points = append(writes.Points, Point{Time: at, Maximum: float64(cur.Writes-prev.Writes) / secs, Unit: WriteIOPS.Unit})
	}
	Sort(&reads)
	Sort(&writes)
	return []Series{reads, writes}
}
