// Package report says what a replay did, fingerprint by fingerprint, and how two replays of one
// capture compare. A State is folded from a replay's outcome files (package outcome): per
// fingerprint the statements sent, their errors by MySQL error number with the first message,
// the rows they returned or changed, and a latency sketch; for the whole replay the statements
// replayed, skipped and failed, and a lateness sketch. States merge (shards, invocations), so a
// live report folds only the outcome files written since the last one.
//
// Percentiles come from a DDSketch-style sketch (sketch.go) with RelativeAccuracy: a reported
// p50/p95/p99 is within 1 % of the latency of a statement at that rank.
//
// It knows nothing of HTTP or AWS: the API reads files through the small interfaces of
// files.go.
package report

import (
	"time"

	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/outcome"
)

// RelativeAccuracy is the sketches' relative error: a percentile a report gives is within this
// fraction of the exact value at its rank (the ⌊q·(n−1)⌋-th smallest, from 0).
const RelativeAccuracy = 0.01

// MaxFingerprints bounds a State's rows as the capture's digest bounds its own: statements of
// any further fingerprint are counted in one row whose digest is OtherDigest.
const MaxFingerprints = digest.MaxFingerprints

// OtherDigest is the row of statements whose fingerprint the capture's digest does not list
// (it lists at most digest.MaxFingerprints): its ID is digest.OtherID.
const OtherDigest uint64 = 0

// newSketch returns an empty sketch of durations.
func newSketch() *sketch { return &sketch{} }

// State is what a replay's outcome files have told so far. The zero value is not ready for
// use: call New or Decode.
type State struct {
	replayed, skipped, errors int64
	lateness                  *sketch
	latenessMax               time.Duration
	rows                      map[uint64]*fingerprint
	known                     func(uint64) bool

	last       *fingerprint // the row of the record before: runs of one fingerprint
	lastDigest uint64
}

// fingerprint is one fingerprint's figures.
type fingerprint struct {
	count, errors, skipped, rows int64
	total, max                   time.Duration
	latency                      *sketch
	codes                        map[uint16]*errorCode
}

// errorCode counts one error number's statements and keeps the message of the first of them
// (the one sent earliest, so that merging in any order keeps the same one).
type errorCode struct {
	count   int64
	message string
	at      time.Duration // when that first one was sent, from the epoch
}

// New returns an empty State. known says which fingerprints get a row of their own (those
// of the capture's digest: see Catalog.Known); the others share the OtherDigest row. A nil
// known gives the first MaxFingerprints fingerprints seen rows.
func New(known func(uint64) bool) *State {
	return &State{lateness: newSketch(), rows: map[uint64]*fingerprint{}, known: known}
}

// Statements is the statements folded in: replayed (sent) and skipped.
func (s *State) Statements() int64 { return s.replayed + s.skipped }

// Add folds one statement's outcome into the state.
func (s *State) Add(r *outcome.Record) {
	f := s.last
	if f == nil || r.Digest != s.lastDigest {
		f = s.row(r.Digest)
		s.last, s.lastDigest = f, r.Digest
	}
	if r.Skipped {
		s.skipped++
		f.skipped++
		return
	}
	s.replayed++
	f.count++
	f.rows += r.Rows
	lat := max(r.Latency, 0)
	f.total += lat
	f.max = max(f.max, lat)
	f.latency.add(lat)
	late := max(r.Lateness, 0)
	s.lateness.add(late)
	s.latenessMax = max(s.latenessMax, late)
	if r.Errno != 0 {
		s.errors++
		f.errors++
		f.addError(r.Errno, 1, r.Message, r.Start)
	}
}

func (f *fingerprint) addError(errno uint16, count int64, message string, at time.Duration) {
	c := f.codes[errno]
	if c == nil {
		if f.codes == nil {
			f.codes = map[uint16]*errorCode{}
		}
		f.codes[errno] = &errorCode{count: count, message: message, at: at}
		return
	}
	c.count += count
	if at < c.at {
		c.message, c.at = message, at
	}
}

// row returns the row of fingerprint d, made if it is new.
func (s *State) row(d uint64) *fingerprint {
	if f := s.rows[d]; f != nil {
		return f
	}
	if d != OtherDigest && ((s.known != nil && !s.known(d)) || (s.known == nil && len(s.rows) >= MaxFingerprints)) {
		d = OtherDigest
		if f := s.rows[d]; f != nil {
			return f
		}
	}
	f := &fingerprint{latency: newSketch()}
	s.rows[d] = f
	return f
}

// Merge folds into s what o was folded from, as if o's records had been added to s.
func (s *State) Merge(o *State) error {
	s.replayed += o.replayed
	s.skipped += o.skipped
	s.errors += o.errors
	s.latenessMax = max(s.latenessMax, o.latenessMax)
	s.lateness.merge(o.lateness)
	for d, of := range o.rows {
		f := s.row(d)
		f.count += of.count
		f.errors += of.errors
		f.skipped += of.skipped
		f.rows += of.rows
		f.total += of.total
		f.max = max(f.max, of.max)
		f.latency.merge(of.latency)
		for errno, c := range of.codes {
			f.addError(errno, c.count, c.message, c.at)
		}
	}
	s.last = nil
	return nil
}
