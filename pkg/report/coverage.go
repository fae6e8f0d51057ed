package report

import (
	"cmp"
	"slices"
)

// Coverage is a capture against one replay of it, fingerprint by fingerprint: the statements
// the capture recorded (its digest's counts), and those the replay sent or skipped. Latency and
// rows cannot be compared: the general log records neither.
type Coverage struct {
	Captured, Replayed, Skipped int64
	// NotReplayed is captured statements the replay has no outcome of: left out by its
	// filters, not reached yet, or after a stop.
	NotReplayed  int64
	Total        int       // fingerprints, of which Fingerprints is the first page
	Fingerprints []Covered // most statements not replayed first, ties by ID
}

// Covered is one fingerprint of a Coverage.
type Covered struct {
	Digest                                   uint64
	ID, Fingerprint                          string
	Captured, Replayed, Skipped, NotReplayed int64
}

// Coverage compares the capture cat describes with the replay s was folded from; limit is as
// a Query's.
func (s *State) Coverage(cat Catalog, limit int) Coverage {
	keys := map[uint64]bool{}
	for d := range cat {
		keys[d] = true
	}
	for d := range s.rows {
		keys[d] = true
	}
	var c Coverage
	rows := make([]Covered, 0, len(keys))
	for d := range keys {
		e := cat.entry(d)
		row := Covered{Digest: d, ID: e.ID, Fingerprint: e.Fingerprint, Captured: e.Captured}
		if f := s.rows[d]; f != nil {
			row.Replayed, row.Skipped = f.count, f.skipped
		}
		row.NotReplayed = max(row.Captured-row.Replayed-row.Skipped, 0)
		c.Captured += row.Captured
		c.NotReplayed += row.NotReplayed
		rows = append(rows, row)
	}
	c.Replayed, c.Skipped = s.replayed, s.skipped
	slices.SortFunc(rows, func(a, b Covered) int {
		return cmp.Or(cmp.Compare(b.NotReplayed, a.NotReplayed), cmp.Compare(a.ID, b.ID))
	})
	if limit <= 0 {
		limit = DefaultLimit
	}
	c.Total = len(rows)
	c.Fingerprints = rows[:min(limit, len(rows))]
	return c
}
