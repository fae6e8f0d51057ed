package report

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Verdict is what a fingerprint's comparison concludes, in order of precedence: the first that
// holds is the verdict.
type Verdict string

// The verdicts. The thresholds are RatioThreshold, MinCount, MinDelta and RelativeAccuracy.
const (
	// VerdictErrors: the candidate raised an error number the base never raised for the
	// fingerprint (NewErrors > 0).
	VerdictErrors Verdict = "errors"
	// VerdictDiverged: some statement returned or changed a different number of rows, or
	// failed differently, on the two replays (RowsDiffer > 0).
	VerdictDiverged Verdict = "diverged"
	// VerdictRegressed: both sides sent at least MinCount statements, their p95s differ by at
	// least MinDelta, and the candidate's p95 is at least RatioThreshold times the base's even
	// once each is moved by the sketches' error towards the other:
	// ratio·(1−α)/(1+α) ≥ RatioThreshold, α = RelativeAccuracy.
	VerdictRegressed Verdict = "regressed"
	// VerdictImproved: the same the other way: ratio·(1+α)/(1−α) ≤ 1/RatioThreshold.
	VerdictImproved Verdict = "improved"
	// VerdictSame: none of the above (also when one side did not send the fingerprint).
	VerdictSame Verdict = "same"
)

// Verdicts are the verdicts in order of precedence.
var Verdicts = []Verdict{VerdictErrors, VerdictDiverged, VerdictRegressed, VerdictImproved, VerdictSame}

// Thresholds of VerdictRegressed and VerdictImproved.
const (
	RatioThreshold = 1.2
	MinCount       = 20
	MinDelta       = 100 * time.Microsecond
)

// CompareSort is an order of a comparison's fingerprints; ties are broken by ID.
type CompareSort string

// The orders of a comparison.
const (
	ByImpact   CompareSort = "impact"   // the change in total latency, largest either way first
	ByRatio    CompareSort = "p95Ratio" // the p95 ratio, largest first
	ByVerdict  CompareSort = "verdict"  // in Verdicts' order, then by impact
	ByDiverged CompareSort = "rowsDiffer"
)

// CompareSorts are the orders, the default first.
var CompareSorts = []CompareSort{ByImpact, ByRatio, ByVerdict, ByDiverged}

// CompareQuery orders, narrows and bounds a Comparison.
type CompareQuery struct {
	Sort    CompareSort // ByImpact when empty
	Verdict Verdict     // only fingerprints with this verdict, when not empty
	Limit   int         // DefaultLimit when zero or less
}

// Check returns an error naming what is wrong with q.
func (q CompareQuery) Check() error {
	if q.Sort != "" && !slices.Contains(CompareSorts, q.Sort) {
		return fmt.Errorf("sort must be one of %v", CompareSorts)
	}
	if q.Verdict != "" && !slices.Contains(Verdicts, q.Verdict) {
		return fmt.Errorf("verdict must be one of %v", Verdicts)
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return fmt.Errorf("limit must be between 1 and %d", MaxLimit)
	}
	return nil
}

// Comparison is two replays of one capture, fingerprint by fingerprint.
type Comparison struct {
	Summary      Summary
	Compared     int64    // statements both replays sent, compared for RowsDiffer
	RowsDiffer   int64    // of them, those that differ, whatever their fingerprint's verdict
	Total        int      // fingerprints the query's verdict matches, of which Fingerprints is the first page
	Fingerprints []Change // in the query's order, at most its limit
}

// Summary counts fingerprints by verdict (each has one), over every fingerprint.
type Summary struct{ Regressed, Improved, NewErrors, Diverged, Same int }

// Change is one fingerprint on both sides.
type Change struct {
	Digest                  uint64
	ID, Fingerprint, Sample string
	Base, Candidate         Side
	P95Ratio                float64 // the candidate's p95 over the base's, to 2 decimals; 0 when either is 0
	RowsDiffer              int64   // statements that differ (see Join)
	NewErrors               int64   // the candidate's statements that failed with an error number the base never raised for it
	Verdict                 Verdict
	impact                  time.Duration
}

// Side is a fingerprint's figures on one replay.
type Side struct {
	Count, Skipped, Errors, Rows int64
	ErrorCodes                   map[uint16]ErrorCode
	Latency                      Latency
}

func side(f *fingerprint) Side {
	if f == nil {
		return Side{ErrorCodes: map[uint16]ErrorCode{}}
	}
	return Side{Count: f.count, Skipped: f.skipped, Errors: f.errors, Rows: f.rows, ErrorCodes: f.errorCodes(), Latency: f.latencies()}
}

// Compare compares base and candidate, two replays of one capture, with the statement
// differences j found between them, naming fingerprints from cat.
func Compare(base, candidate *State, j *Join, cat Catalog, q CompareQuery) Comparison {
	keys := map[uint64]bool{}
	for d := range base.rows {
		keys[d] = true
	}
	for d := range candidate.rows {
		keys[d] = true
	}
	differ := map[uint64]int64{}
	for d, n := range j.diffs {
		if !keys[d] { // a fingerprint the states count in their OTHER row
			d = OtherDigest
		}
		differ[d] += n
	}
	var c Comparison
	c.Compared = j.compared
	for _, n := range differ {
		c.RowsDiffer += n
	}
	all := make([]Change, 0, len(keys))
	for _, d := range slices.Sorted(maps.Keys(keys)) {
		e := cat.entry(d)
		b, k := base.rows[d], candidate.rows[d]
		ch := Change{Digest: d, ID: e.ID, Fingerprint: e.Fingerprint, Sample: e.Sample, Base: side(b), Candidate: side(k),
			RowsDiffer: differ[d], NewErrors: newErrors(b, k)}
		ch.P95Ratio = ratio(ch.Base.Latency.P95, ch.Candidate.Latency.P95)
		ch.Verdict = verdict(ch)
		ch.impact = ch.Candidate.Latency.Total - ch.Base.Latency.Total
		switch ch.Verdict {
		case VerdictErrors:
			c.Summary.NewErrors++
		case VerdictDiverged:
			c.Summary.Diverged++
		case VerdictRegressed:
			c.Summary.Regressed++
		case VerdictImproved:
			c.Summary.Improved++
		default:
			c.Summary.Same++
		}
		if q.Verdict == "" || q.Verdict == ch.Verdict {
			all = append(all, ch)
		}
	}
	slices.SortStableFunc(all, func(a, b Change) int { return q.Sort.compare(a, b) })
	c.Total = len(all)
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	c.Fingerprints = all[:min(limit, len(all))]
	for i := range c.Fingerprints {
		c.Fingerprints[i].P95Ratio = math.Round(c.Fingerprints[i].P95Ratio*100) / 100
	}
	return c
}

// newErrors counts k's failed statements whose error number b never raised.
func newErrors(b, k *fingerprint) int64 {
	if k == nil {
		return 0
	}
	var n int64
	for errno, c := range k.codes {
		if b == nil || b.codes[errno] == nil {
			n += c.count
		}
	}
	return n
}

func ratio(base, candidate time.Duration) float64 {
	if base <= 0 || candidate <= 0 {
		return 0
	}
	return float64(candidate) / float64(base)
}

// verdict applies the rule Verdict's constants state.
func verdict(c Change) Verdict {
	switch {
	case c.NewErrors > 0:
		return VerdictErrors
	case c.RowsDiffer > 0:
		return VerdictDiverged
	case c.Base.Count < MinCount || c.Candidate.Count < MinCount || c.P95Ratio == 0:
		return VerdictSame
	}
	delta := c.Candidate.Latency.P95 - c.Base.Latency.P95
	if delta.Abs() < MinDelta {
		return VerdictSame
	}
	const band = (1 - RelativeAccuracy) / (1 + RelativeAccuracy)
	switch {
	case c.P95Ratio*band >= RatioThreshold:
		return VerdictRegressed
	case c.P95Ratio/band <= 1/RatioThreshold:
		return VerdictImproved
	}
	return VerdictSame
}

func (s CompareSort) compare(a, b Change) int {
	var c int
	switch s {
	case ByRatio:
		c = cmp.Compare(b.P95Ratio, a.P95Ratio)
	case ByVerdict:
		c = cmp.Or(cmp.Compare(slices.Index(Verdicts, a.Verdict), slices.Index(Verdicts, b.Verdict)),
			cmp.Compare(b.impact.Abs(), a.impact.Abs()))
	case ByDiverged:
		c = cmp.Compare(b.RowsDiffer, a.RowsDiffer)
	default:
		c = cmp.Compare(b.impact.Abs(), a.impact.Abs())
	}
	return cmp.Or(c, cmp.Compare(a.ID, b.ID))
}
