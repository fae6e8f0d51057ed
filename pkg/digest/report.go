package digest

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Query narrows and bounds a Report.
type Query struct {
	User   string // only this account's sessions, when not empty
	DB     string // only statements run in this database, when not empty
	Limit  int    // the most fingerprints; DefaultLimit when zero
	Offset int    // fingerprints to skip, in Sort's order: the rows before a page
	Sort   Sort   // their order; ByCount when empty
	// From and To are the capture's window, which the timeline covers (widened to any
	// statement outside it). A zero From leaves the timeline empty.
	From, To time.Time
}

// Sort is an order of a report's fingerprints; ties are broken by ID.
type Sort string

// The orders a report's fingerprints come in.
const (
	ByCount       Sort = "count"       // most statements first
	ByFirstSeen   Sort = "firstSeen"   // earliest first
	ByLastSeen    Sort = "lastSeen"    // latest first
	ByFingerprint Sort = "fingerprint" // in the fingerprint's byte order
)

// Sorts are the orders, ByCount first.
var Sorts = []Sort{ByCount, ByFirstSeen, ByLastSeen, ByFingerprint}

// compare orders two rows as s says.
func (s Sort) compare(a, b Row) int {
	var c int
	switch s {
	case ByFirstSeen:
		c = a.FirstSeen.Compare(b.FirstSeen)
	case ByLastSeen:
		c = b.LastSeen.Compare(a.LastSeen)
	case ByFingerprint:
		c = cmp.Compare(a.Fingerprint, b.Fingerprint)
	default:
		c = cmp.Compare(b.Count, a.Count)
	}
	return cmp.Or(c, cmp.Compare(a.ID, b.ID))
}

// Limits of Query.Limit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Report is the digest of a capture's statements, or of one account's or database's.
type Report struct {
	Statements   int64
	Sessions     int
	Total        int   // the fingerprints the query matches, of which Fingerprints is a page
	Fingerprints []Row // in the query's Sort, from its Offset, at most its Limit
	Timeline     Timeline
}

// Row is one fingerprint's figures.
type Row struct {
	ID          string
	Fingerprint string
	Count       int64
	Share       float64 // of the report's statements, to four decimals
	FirstSeen   time.Time
	LastSeen    time.Time
	Users       map[string]int64
	Databases   map[string]int64 // statements by database; sessions whose database is unknown are left out
	Sample      string
}

// Timeline is statements per bucket over the window.
type Timeline struct {
	BucketSeconds int64
	Points        []Point
}

// Point is one bucket: the statements whose time falls in [Time, Time+BucketSeconds).
type Point struct {
	Time       time.Time
	Statements int64
}

func (q Query) wants(g group) bool {
	return (q.User == "" || q.User == g.user) && (q.DB == "" || q.DB == g.db)
}

// Report answers q from the digest.
func (s *State) Report(q Query) Report {
	var r Report
	for _, c := range s.classes {
		row := Row{ID: c.id, Fingerprint: c.fingerprint, Sample: c.sample, Users: map[string]int64{}, Databases: map[string]int64{}}
		for g, ce := range c.cells {
			if !q.wants(g) {
				continue
			}
			if row.Count == 0 || ce.first.Before(row.FirstSeen) {
				row.FirstSeen = ce.first
			}
			if row.Count == 0 || ce.last.After(row.LastSeen) {
				row.LastSeen = ce.last
			}
			row.Count += ce.count
			row.Users[g.user] += ce.count
			if g.db != "" {
				row.Databases[g.db] += ce.count
			}
		}
		if row.Count > 0 {
			r.Statements += row.Count
			r.Fingerprints = append(r.Fingerprints, row)
		}
	}
	slices.SortFunc(r.Fingerprints, q.Sort.compare)
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	r.Total = len(r.Fingerprints)
	from := min(max(q.Offset, 0), r.Total)
	r.Fingerprints = r.Fingerprints[from:min(from+limit, r.Total)]
	for i := range r.Fingerprints {
		r.Fingerprints[i].Share = math.Round(float64(r.Fingerprints[i].Count)/float64(r.Statements)*10000) / 10000
	}
	threads := map[uint64]struct{}{}
	timeline := map[int64]int64{}
	for g, ss := range s.groups {
		if !q.wants(g) {
			continue
		}
		for t := range ss.threads {
			threads[t] = struct{}{}
		}
		for t, n := range ss.timeline {
			timeline[t] += n
		}
	}
	r.Sessions = len(threads)
	r.Timeline = s.timeline(timeline, q.From, q.To)
	return r
}

// timeline lays counts (by bucket of s.bucket seconds) over the window in the narrowest
// bucket width that needs at most MaxPoints points, every bucket present, empty ones as 0.
func (s *State) timeline(counts map[int64]int64, from, to time.Time) Timeline {
	if from.IsZero() {
		return Timeline{BucketSeconds: s.bucket, Points: []Point{}}
	}
	lo, hi := from.Unix(), max(to.Unix(), from.Unix())
	for t := range counts {
		lo, hi = min(lo, t), max(hi, t)
	}
	width := BucketSteps[len(BucketSteps)-1]
	for _, step := range BucketSteps {
		if step >= s.bucket && (floorTo(hi, step)-floorTo(lo, step))/step+1 <= MaxPoints {
			width = step
			break
		}
	}
	merged := map[int64]int64{}
	for t, n := range counts {
		merged[floorTo(t, width)] += n
	}
	first := floorTo(lo, width)
	n := min((floorTo(hi, width)-first)/width+1, MaxPoints)
	points := make([]Point, n)
	for i := range points {
		t := first + int64(i)*width
		points[i] = Point{Time: time.Unix(t, 0).UTC(), Statements: merged[t]}
	}
	return Timeline{BucketSeconds: width, Points: points}
}

// EachFingerprint calls fn with each fingerprint's ID, text, sample statement and count, in
// no particular order: what a replay's report names its rows by.
func (s *State) EachFingerprint(fn func(id, fingerprint, sample string, count int64)) {
	for _, c := range s.classes {
		var n int64
		for _, ce := range c.cells {
			n += ce.count
		}
		fn(c.id, c.fingerprint, c.sample, n)
	}
}
