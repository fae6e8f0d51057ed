package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Sort is an order of a report's fingerprints; ties are broken by ID.
type Sort string

// The orders a report's fingerprints come in, each largest first.
const (
	ByTotal  Sort = "total"  // total latency
	ByP95    Sort = "p95"    // 95th percentile latency
	ByErrors Sort = "errors" // statements that failed
	ByCount  Sort = "count"  // statements sent
)

// Sorts are the orders, the default first.
var Sorts = []Sort{ByTotal, ByP95, ByErrors, ByCount}

// Limits of a page of fingerprints.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Query orders and bounds a Report.
type Query struct {
	Sort  Sort // ByTotal when empty
	Limit int  // DefaultLimit when zero or less
}

// Check returns an error naming what is wrong with q: a sort that is not one of Sorts, or a
// limit beyond MaxLimit.
func (q Query) Check() error {
	if q.Sort != "" && !slices.Contains(Sorts, q.Sort) {
		return fmt.Errorf("sort must be one of %v", Sorts)
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return fmt.Errorf("limit must be between 1 and %d", MaxLimit)
	}
	return nil
}

// Report is what a replay did, by fingerprint.
type Report struct {
	Statements   Statements
	Lateness     Lateness
	Total        int   // fingerprints, of which Fingerprints is the first page
	Fingerprints []Row // in the query's order, at most its limit
}

// Statements counts a replay's statements. Captured is the capture's (the caller's, from the
// plan); the others are the outcomes'.
type Statements struct {
	Captured int64
	Replayed int64 // sent to the target
	Skipped  int64 // left out by read-only mode
	Errors   int64 // sent and failed
}

// Lateness is how far behind their schedule statements were sent.
type Lateness struct{ P50, P99, Max time.Duration }

// Row is one fingerprint's figures.
type Row struct {
	Digest      uint64
	ID          string
	Fingerprint string
	Sample      string
	Captured    int64 // statements the capture recorded (its digest's count)
	Count       int64 // statements sent
	Skipped     int64
	Errors      int64
	ErrorCodes  map[uint16]ErrorCode
	Rows        int64 // returned or changed, over the statements sent
	Latency     Latency
}

// ErrorCode is one MySQL error number's statements and the first one's message.
type ErrorCode struct {
	Count   int64
	Message string
}

// Latency is a fingerprint's latencies: the percentiles within RelativeAccuracy, total and
// max exact. All zero when no statement was sent.
type Latency struct{ Total, P50, P95, P99, Max time.Duration }

// quantile reads sk at q, 0 when it is empty.
func quantile(sk *sketch, q float64) time.Duration { return sk.quantile(q) }

// latencies reads the percentiles, each at most the exact max: a sketch's bin can stand for a
// value above every one it holds, and clamping only brings it nearer the exact one.
func (f *fingerprint) latencies() Latency {
	return Latency{Total: f.total, P50: min(quantile(f.latency, 0.5), f.max), P95: min(quantile(f.latency, 0.95), f.max),
		P99: min(quantile(f.latency, 0.99), f.max), Max: f.max}
}

func (f *fingerprint) errorCodes() map[uint16]ErrorCode {
	out := make(map[uint16]ErrorCode, len(f.codes))
	for errno, c := range f.codes {
		out[errno] = ErrorCode{Count: c.count, Message: c.message}
	}
	return out
}

// Report answers q from the state, naming fingerprints from cat. Captured is left for the
// caller.
func (s *State) Report(cat Catalog, q Query) Report {
	r := Report{
		Statements: Statements{Replayed: s.replayed, Skipped: s.skipped, Errors: s.errors},
		Lateness:   Lateness{P50: min(quantile(s.lateness, 0.5), s.latenessMax), P99: min(quantile(s.lateness, 0.99), s.latenessMax), Max: s.latenessMax},
		Total:      len(s.rows),
	}
	rows := make([]Row, 0, len(s.rows))
	for d, f := range s.rows {
		row := Row{Digest: d, ID: cat.entry(d).ID, Count: f.count, Errors: f.errors, Latency: Latency{Total: f.total}}
		if q.Sort == ByP95 { // the one percentile the order needs; the page gets the rest
			row.Latency.P95 = min(quantile(f.latency, 0.95), f.max)
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, q.Sort.compare)
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	r.Fingerprints = rows[:min(limit, len(rows))]
	for i := range r.Fingerprints {
		row := &r.Fingerprints[i]
		f, e := s.rows[row.Digest], cat.entry(row.Digest)
		*row = Row{Digest: row.Digest, ID: e.ID, Fingerprint: e.Fingerprint, Sample: e.Sample, Captured: e.Captured, Count: f.count,
			Skipped: f.skipped, Errors: f.errors, ErrorCodes: f.errorCodes(), Rows: f.rows, Latency: f.latencies()}
	}
	return r
}

// compare orders two rows as s says, largest first, ties by ID.
func (s Sort) compare(a, b Row) int {
	var c int
	switch s {
	case ByP95:
		c = cmp.Compare(b.Latency.P95, a.Latency.P95)
	case ByErrors:
		c = cmp.Compare(b.Errors, a.Errors)
	case ByCount:
		c = cmp.Compare(b.Count, a.Count)
	default:
		c = cmp.Compare(b.Latency.Total, a.Latency.Total)
	}
	return cmp.Or(c, cmp.Compare(a.ID, b.ID))
}
