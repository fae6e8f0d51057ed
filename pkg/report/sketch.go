package report

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// sketch is a mergeable quantile sketch of durations with relative error RelativeAccuracy:
// DDSketch's logarithmic mapping (Masson, Rim and Lee, VLDB 2019) over a dense run of counts.
// Bucket i counts the durations in (γ^(i-1), γ^i] nanoseconds, γ = (1+α)/(1−α), and stands
// for 2γ^i/(γ+1), which is within α of every duration in it; durations of 0 are counted apart.
// Merging adds counts, so shards and invocations merge exactly. It is written here rather than
// taken from github.com/DataDog/sketches-go, whose every package links protobuf (4 MB more in
// each function that reads a report) for a format this project does not use.
type sketch struct {
	zeros  uint64
	offset int      // the index of counts[0]
	counts []uint64 // from offset up
}

var (
	gamma    = (1 + RelativeAccuracy) / (1 - RelativeAccuracy)
	logGamma = math.Log(gamma)
)

// Bounds of a bucket index: a nanosecond up to about 11 days, what any statement can take.
// A stored sketch outside them is not one this package wrote.
var (
	minIndex = bucketOf(1)
	maxIndex = bucketOf(float64(1000 * time.Hour))
)

func bucketOf(ns float64) int { return int(math.Ceil(math.Log(ns) / logGamma)) }

func valueOf(i int) time.Duration {
	return time.Duration(2 * math.Pow(gamma, float64(i)) / (gamma + 1))
}

// add counts one duration.
func (s *sketch) add(d time.Duration) {
	if d <= 0 {
		s.zeros++
		return
	}
	i := min(max(bucketOf(float64(d)), minIndex), maxIndex)
	s.grow(i, i)
	s.counts[i-s.offset]++
}

// grow makes room for the indexes lo to hi.
func (s *sketch) grow(lo, hi int) {
	if len(s.counts) == 0 {
		s.offset, s.counts = lo, make([]uint64, hi-lo+1, hi-lo+8)
		return
	}
	if lo < s.offset {
		more := make([]uint64, s.offset-lo, s.offset-lo+len(s.counts))
		s.counts, s.offset = append(more, s.counts...), lo
	}
	if top := s.offset + len(s.counts) - 1; hi > top {
		s.counts = append(s.counts, make([]uint64, hi-top)...)
	}
}

// merge adds o's counts to s's.
func (s *sketch) merge(o *sketch) {
	s.zeros += o.zeros
	if len(o.counts) == 0 {
		return
	}
	s.grow(o.offset, o.offset+len(o.counts)-1)
	for j, c := range o.counts {
		s.counts[o.offset+j-s.offset] += c
	}
}

// count is how many durations s holds.
func (s *sketch) count() uint64 {
	n := s.zeros
	for _, c := range s.counts {
		n += c
	}
	return n
}

// quantile is the duration at rank ⌊q·(n−1)⌋ (from 0) within RelativeAccuracy; 0 when empty.
func (s *sketch) quantile(q float64) time.Duration {
	n := s.count()
	if n == 0 {
		return 0
	}
	rank := q * float64(n-1)
	seen := s.zeros
	if float64(seen) > rank {
		return 0
	}
	for j, c := range s.counts {
		if seen += c; float64(seen) > rank {
			return valueOf(s.offset + j)
		}
	}
	return valueOf(s.offset + len(s.counts) - 1)
}

// appendTo appends s's stored form: zeros, offset, the run of counts.
func (s *sketch) appendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, s.zeros)
	b = binary.AppendVarint(b, int64(s.offset))
	b = binary.AppendUvarint(b, uint64(len(s.counts)))
	for _, c := range s.counts {
		b = binary.AppendUvarint(b, c)
	}
	return b
}

var errSketch = errors.New("sketch out of bounds")

// readSketch reads a sketch appendTo wrote, through the decoder's readers; its buckets must
// lie between minIndex and maxIndex.
func readSketch(u func() uint64, i func() int64) (*sketch, error) {
	s := &sketch{zeros: u()}
	off, n := i(), u()
	if n == 0 {
		return s, nil
	}
	if off < int64(minIndex) || off > int64(maxIndex) || n > uint64(maxIndex-int(off)+1) {
		return nil, errSketch
	}
	s.offset, s.counts = int(off), make([]uint64, n)
	for j := range s.counts {
		s.counts[j] = u()
	}
	return s, nil
}
