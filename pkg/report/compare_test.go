package report

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/outcome"
)

func TestJoin(t *testing.T) {
	base := []outcome.Record{
		{Session: 0, Seq: 0, Digest: 1, Rows: 1},
		{Session: 0, Seq: 1, Digest: 2, Rows: 5},
		{Session: 0, Seq: 2, Digest: 2, Rows: 5},
		{Session: 1, Seq: 0, Digest: 3, Rows: 0, Errno: 1062},
		{Session: 1, Seq: 1, Digest: 3, Rows: 1},
		{Session: 2, Seq: 4, Digest: 4, Rows: 1}, // out of order in its session
		{Session: 2, Seq: 3, Digest: 4, Rows: 1},
		{Session: 3, Seq: 0, Digest: 1, Skipped: true},
		{Session: 4, Seq: 0, Digest: 1, Rows: 1}, // only the base replayed session 4
	}
	candidate := []outcome.Record{
		{Session: 1, Seq: 1, Digest: 3, Rows: 1},                // same
		{Session: 1, Seq: 0, Digest: 3, Rows: 0, Errno: 1054},   // another error: differs
		{Session: 0, Seq: 0, Digest: 1, Rows: 1},                // same
		{Session: 0, Seq: 2, Digest: 2, Rows: 4},                // differs (Seq 1 missing: skipped past)
		{Session: 2, Seq: 3, Digest: 4, Rows: 2},                // differs
		{Session: 2, Seq: 4, Digest: 4, Rows: 1},                // same
		{Session: 3, Seq: 0, Digest: 1, Rows: 9},                // base skipped it: not compared
		{Session: 5, Seq: 0, Digest: 1, Rows: 1},                // only the candidate
		{Session: 0, Seq: 1, Digest: 2, Rows: 5, Skipped: true}, // skipped: not compared
	}
	for _, indexBase := range []bool{true, false} {
		t.Run(fmt.Sprintf("index base %v", indexBase), func(t *testing.T) {
			idx, probe := base, candidate
			if !indexBase {
				idx, probe = candidate, base
			}
			j := NewJoin()
			for i := range idx {
				j.Index(&idx[i])
			}
			j.Seal()
			for i := range probe {
				j.Probe(&probe[i])
			}
			if j.Compared() != 6 {
				t.Errorf("compared %d, want 6", j.Compared())
			}
			for d, want := range map[uint64]int64{1: 0, 2: 1, 3: 1, 4: 1} {
				if got := j.Differ(d); got != want {
					t.Errorf("fingerprint %d: %d differ, want %d", d, got, want)
				}
			}
		})
	}
}

// side folds n statements of fingerprint d with latency lat, errs of them failing with errno.
func sideOf(d uint64, n int, lat time.Duration, errno uint16, errs int) *State {
	s := New(nil)
	for i := range n {
		r := outcome.Record{Session: 0, Seq: uint32(i), Digest: d, Latency: lat}
		if i < errs {
			r.Errno, r.Message = errno, fmt.Sprintf("error %d", errno)
		}
		s.Add(&r)
	}
	return s
}

func TestVerdict(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name       string
		base, cand *State
		differ     int64
		want       Verdict
	}{
		{"slower", sideOf(1, 100, ms, 0, 0), sideOf(1, 100, 3*ms, 0, 0), 0, VerdictRegressed},
		{"faster", sideOf(1, 100, 3*ms, 0, 0), sideOf(1, 100, ms, 0, 0), 0, VerdictImproved},
		{"a little slower", sideOf(1, 100, ms, 0, 0), sideOf(1, 100, 1150*time.Microsecond, 0, 0), 0, VerdictSame},
		// 1.21 is over the threshold but not once the sketches' error is allowed for
		{"within the sketch's error", sideOf(1, 100, ms, 0, 0), sideOf(1, 100, 1210*time.Microsecond, 0, 0), 0, VerdictSame},
		{"few samples", sideOf(1, MinCount-1, ms, 0, 0), sideOf(1, 100, 5*ms, 0, 0), 0, VerdictSame},
		{"tiny latencies", sideOf(1, 100, 20*time.Microsecond, 0, 0), sideOf(1, 100, 60*time.Microsecond, 0, 0), 0, VerdictSame},
		{"new error", sideOf(1, 100, ms, 0, 0), sideOf(1, 100, ms, 1054, 3), 0, VerdictErrors},
		{"same error as before", sideOf(1, 100, ms, 1213, 2), sideOf(1, 100, ms, 1213, 3), 0, VerdictSame},
		{"rows differ", sideOf(1, 100, ms, 0, 0), sideOf(1, 100, ms, 0, 0), 4, VerdictDiverged},
		{"new error and rows differ", sideOf(1, 100, ms, 0, 0), sideOf(1, 100, 5*ms, 1054, 1), 4, VerdictErrors},
		{"only on the candidate", New(nil), sideOf(1, 100, ms, 0, 0), 0, VerdictSame},
		{"only on the candidate, failing", New(nil), sideOf(1, 100, ms, 1146, 100), 0, VerdictErrors},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := NewJoin()
			j.diffs[1] = c.differ
			got := Compare(c.base, c.cand, j, nil, CompareQuery{})
			if len(got.Fingerprints) != 1 {
				t.Fatalf("%d rows", len(got.Fingerprints))
			}
			if ch := got.Fingerprints[0]; ch.Verdict != c.want {
				t.Errorf("verdict %s (ratio %.2f, counts %d/%d), want %s", ch.Verdict, ch.P95Ratio, ch.Base.Count, ch.Candidate.Count, c.want)
			}
		})
	}
}

func TestCompareOrderAndSummary(t *testing.T) {
	ms := time.Millisecond
	base, cand := New(nil), New(nil)
	for _, s := range []struct {
		st   *State
		part *State
	}{
		{base, sideOf(1, 100, ms, 0, 0)}, {cand, sideOf(1, 100, 3*ms, 0, 0)}, // regressed, +200 ms
		{base, sideOf(2, 100, 10*ms, 0, 0)}, {cand, sideOf(2, 100, 2*ms, 0, 0)}, // improved, −800 ms
		{base, sideOf(3, 100, ms, 0, 0)}, {cand, sideOf(3, 100, ms, 1054, 100)}, // errors, ±0
		{base, sideOf(4, 100, ms, 0, 0)}, {cand, sideOf(4, 100, ms, 0, 0)}, // diverged
		{base, sideOf(5, 100, ms, 0, 0)}, {cand, sideOf(5, 100, 1100*time.Microsecond, 0, 0)}, // same, +10 ms
	} {
		if err := s.st.Merge(s.part); err != nil {
			t.Fatal(err)
		}
	}
	j := NewJoin()
	j.diffs[4] = 2
	c := Compare(base, cand, j, nil, CompareQuery{})
	if c.Summary != (Summary{Regressed: 1, Improved: 1, NewErrors: 1, Diverged: 1, Same: 1}) || c.RowsDiffer != 2 {
		t.Errorf("summary %+v", c.Summary)
	}
	order := func(c Comparison) (ids []uint64) {
		for _, ch := range c.Fingerprints {
			ids = append(ids, ch.Digest)
		}
		return ids
	}
	if got := order(c); fmt.Sprint(got) != "[2 1 5 3 4]" {
		t.Errorf("by impact %v", got)
	}
	if got := order(Compare(base, cand, j, nil, CompareQuery{Sort: ByVerdict})); fmt.Sprint(got) != "[3 4 1 2 5]" {
		t.Errorf("by verdict %v", got)
	}
	only := Compare(base, cand, j, nil, CompareQuery{Verdict: VerdictRegressed})
	if fmt.Sprint(order(only)) != "[1]" || only.Total != 1 || only.Summary != c.Summary {
		t.Errorf("regressed only: %v of %d, summary %+v", order(only), only.Total, only.Summary)
	}
	if r := c.Fingerprints[1]; r.P95Ratio < 2.9 || r.P95Ratio > 3.1 {
		t.Errorf("ratio %v, want about 3", r.P95Ratio)
	}
	if ch := order(Compare(base, cand, j, nil, CompareQuery{Verdict: VerdictErrors})); len(ch) != 1 {
		t.Errorf("errors only: %v", ch)
	} else if e := Compare(base, cand, j, nil, CompareQuery{Verdict: VerdictErrors}).Fingerprints[0]; e.NewErrors != 100 ||
		e.Candidate.ErrorCodes[1054].Message != "error 1054" {
		t.Errorf("new errors %d, codes %+v", e.NewErrors, e.Candidate.ErrorCodes)
	}
	for _, q := range []CompareQuery{{Sort: "total"}, {Verdict: "worse"}, {Limit: MaxLimit + 1}} {
		if q.Check() == nil {
			t.Errorf("%+v passes Check", q)
		}
	}
}

func TestCompareDifferentCaptures(t *testing.T) {
	w := workload{Statements: 10, Fingerprints: 2, Sessions: 2, Seed: 1}
	dir := tempDir(t)
	a := w.store(t, dir, 1, 7, 1, 1)
	b := w.store(t, dir, 2, 8, 1, 1)
	if _, err := CompareFiles(t.Context(), dir, a, b, nil); !errors.Is(err, ErrDifferentCaptures) {
		t.Errorf("%v, want ErrDifferentCaptures", err)
	}
}

// TestJoinMatchesBruteForce: over random replays (sessions interleaved, some records out of
// order, some statements missing or skipped on one side, rows and errors changed at random),
// the join finds exactly the differing statements a map of every statement finds.
func TestJoinMatchesBruteForce(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 3))
		sessions := 1 + r.IntN(30)
		var base, cand []outcome.Record
		for s := range sessions {
			for q := range r.IntN(200) {
				rec := outcome.Record{Session: uint32(s), Seq: uint32(q), Digest: uint64(1 + r.IntN(5)), Rows: int64(r.IntN(3))}
				if r.IntN(10) == 0 {
					rec.Errno = uint16(1040 + r.IntN(3))
				}
				other := rec
				switch r.IntN(12) {
				case 0:
					other.Rows++
				case 1:
					other.Errno = 1054
				case 2:
					other.Skipped = true
				}
				if r.IntN(20) != 0 {
					base = append(base, rec)
				}
				if r.IntN(20) != 0 {
					cand = append(cand, other)
				}
			}
		}
		// a few records out of their place (and so out of Seq order in their session)
		interleave := func(recs []outcome.Record) {
			for range len(recs) / 50 {
				i, j := r.IntN(len(recs)), r.IntN(len(recs))
				recs[i], recs[j] = recs[j], recs[i]
			}
		}
		interleave(base)
		interleave(cand)
		type key struct{ s, q uint32 }
		want := map[uint64]int64{}
		var compared int64
		seen := map[key]outcome.Record{}
		for _, b := range base {
			if !b.Skipped {
				seen[key{b.Session, b.Seq}] = b
			}
		}
		for _, c := range cand {
			if b, ok := seen[key{c.Session, c.Seq}]; ok && !c.Skipped {
				compared++
				if b.Rows != c.Rows || b.Errno != c.Errno {
					want[c.Digest]++
				}
			}
		}
		j := NewJoin()
		for i := range base {
			j.Index(&base[i])
		}
		j.Seal()
		for i := range cand {
			j.Probe(&cand[i])
		}
		if j.Compared() != compared {
			t.Errorf("seed %d: compared %d, want %d", seed, j.Compared(), compared)
		}
		for d := range uint64(6) {
			if j.Differ(d) != want[d] {
				t.Errorf("seed %d fingerprint %d: %d differ, want %d", seed, d, j.Differ(d), want[d])
			}
		}
	}
}
