package report

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/outcome"
)

// TestPercentilesWithinBound checks, over random distributions, sample sizes and splits into
// shards (each folded alone, then merged, stored and read back), that every percentile a
// report gives is within RelativeAccuracy of the exact one: the ⌊q·(n−1)⌋-th smallest latency.
func TestPercentilesWithinBound(t *testing.T) {
	dists := []struct {
		name string
		draw func(r *rand.Rand) time.Duration
	}{
		{"lognormal", func(r *rand.Rand) time.Duration {
			return time.Duration(math.Exp(r.NormFloat64()*1.5) * float64(time.Millisecond))
		}},
		{"uniform", func(r *rand.Rand) time.Duration { return time.Duration(r.Int64N(int64(50 * time.Millisecond))) }},
		{"exponential", func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * float64(300*time.Microsecond)) }},
		{"pareto", func(r *rand.Rand) time.Duration {
			return time.Duration(float64(20*time.Microsecond) / math.Pow(1-r.Float64(), 1/1.2))
		}},
		{"bimodal", func(r *rand.Rand) time.Duration {
			if r.IntN(10) == 0 {
				return time.Duration((900 + r.Float64()*200) * float64(time.Millisecond))
			}
			return time.Duration((0.1 + r.Float64()*0.05) * float64(time.Millisecond))
		}},
		{"constant", func(*rand.Rand) time.Duration { return 1234567 * time.Nanosecond }},
		{"with zeros", func(r *rand.Rand) time.Duration {
			if r.IntN(3) == 0 {
				return 0
			}
			return time.Duration(r.Int64N(int64(time.Second)))
		}},
	}
	qs := []struct {
		q   float64
		get func(Latency) time.Duration
	}{
		{0.5, func(l Latency) time.Duration { return l.P50 }},
		{0.95, func(l Latency) time.Duration { return l.P95 }},
		{0.99, func(l Latency) time.Duration { return l.P99 }},
	}
	for _, d := range dists {
		for trial := range 12 {
			r := rand.New(rand.NewPCG(uint64(trial), 99))
			n := 1 + r.IntN(20_000)
			if trial < 3 {
				n = 1 + trial*7 // tiny samples too
			}
			shards := 1 + r.IntN(6)
			t.Run(d.name, func(t *testing.T) {
				parts := make([]*State, shards)
				for i := range parts {
					parts[i] = New(nil)
				}
				exact := make([]time.Duration, n)
				for i := range exact {
					exact[i] = d.draw(r)
					parts[r.IntN(shards)].Add(&outcome.Record{Session: uint32(i), Digest: 42, Latency: exact[i]})
				}
				merged := New(nil)
				for _, p := range parts {
					if err := merged.Merge(p); err != nil {
						t.Fatal(err)
					}
				}
				var buf bytes.Buffer
				if err := merged.Encode(&buf); err != nil {
					t.Fatal(err)
				}
				back, err := Decode(&buf, nil)
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(exact)
				row := back.Report(nil, Query{}).Fingerprints[0]
				for _, q := range qs {
					want := exact[int(math.Floor(q.q*float64(n-1)))]
					got := q.get(row.Latency)
					// the sketch's bound, and a nanosecond for reading milliseconds back as a Duration
					if bound := RelativeAccuracy*float64(want) + 1; math.Abs(float64(got-want)) > bound {
						t.Errorf("n=%d shards=%d p%g = %v, exact %v: off by %.4f%%, bound %g%%",
							n, shards, q.q*100, got, want, 100*math.Abs(float64(got-want))/float64(want), RelativeAccuracy*100)
					}
				}
				if row.Latency.Max != exact[n-1] {
					t.Errorf("max %v, want exactly %v", row.Latency.Max, exact[n-1])
				}
				var total time.Duration
				for _, v := range exact {
					total += v
				}
				if row.Latency.Total != total || row.Count != int64(n) {
					t.Errorf("total %v over %d, want %v over %d", row.Latency.Total, row.Count, total, n)
				}
			})
		}
	}
}

// TestSketchMergeIsAdd: merging sketches of parts is the sketch of the whole, whichever parts
// reach further down or up; a stored sketch with buckets out of bounds is refused.
func TestSketchMergeIsAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var whole, a, b sketch
	for i := range 5000 {
		d := time.Duration(math.Exp(r.NormFloat64()*4) * float64(time.Microsecond))
		if i%97 == 0 {
			d = 0
		}
		whole.add(d)
		if d < 50*time.Microsecond {
			a.add(d)
		} else {
			b.add(d)
		}
	}
	b.merge(&a)
	if b.zeros != whole.zeros || b.offset != whole.offset || !slices.Equal(b.counts, whole.counts) {
		t.Fatalf("merged: %d zeros from %d, %d buckets; whole: %d zeros from %d, %d buckets",
			b.zeros, b.offset, len(b.counts), whole.zeros, whole.offset, len(whole.counts))
	}
	for _, tt := range []struct {
		name   string
		offset int64
		n      uint64
	}{{"below a nanosecond", int64(minIndex) - 1, 1}, {"past the top", int64(maxIndex), 2}, {"too many", int64(minIndex), uint64(maxIndex-minIndex) + 2}} {
		enc := binary.AppendUvarint(nil, 0)
		enc = binary.AppendVarint(enc, tt.offset)
		enc = binary.AppendUvarint(enc, tt.n)
		d := decoder{b: append(enc, make([]byte, tt.n)...)}
		if sk := d.sketch(); sk != nil || d.err == nil {
			t.Errorf("%s: decoded", tt.name)
		}
	}
}
