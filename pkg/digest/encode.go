package digest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// stored is a State as it is kept in a file (digest.json beside a workload, or beside each
// fragment while the capture records): every map as a sorted list, so the same state is always
// the same bytes.
type stored struct {
	Version        int           `json:"version"`
	Statements     int64         `json:"statements"`
	BucketSeconds  int64         `json:"bucketSeconds"`
	SessionsCapped bool          `json:"sessionsCapped,omitempty"`
	Fingerprints   []storedClass `json:"fingerprints"`
	Sessions       []storedGroup `json:"sessions"`
}

type storedClass struct {
	ID          string       `json:"id"`
	Fingerprint string       `json:"fingerprint"`
	Sample      string       `json:"sample"`
	Cells       []storedCell `json:"cells"`
}

type storedCell struct {
	User      string    `json:"user"`
	DB        string    `json:"db"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

type storedGroup struct {
	User     string     `json:"user"`
	DB       string     `json:"db"`
	Threads  []uint64   `json:"threads"`
	Timeline [][2]int64 `json:"timeline"` // [bucket start, Unix seconds; statements]
}

const storedVersion = 1

// Encode writes s as JSON.
func (s *State) Encode(w io.Writer) error {
	out := stored{Version: storedVersion, Statements: s.statements, BucketSeconds: s.bucket, SessionsCapped: s.capped,
		Fingerprints: make([]storedClass, 0, len(s.classes)), Sessions: make([]storedGroup, 0, len(s.groups))}
	for _, c := range s.classes {
		sc := storedClass{ID: c.id, Fingerprint: c.fingerprint, Sample: c.sample, Cells: make([]storedCell, 0, len(c.cells))}
		for _, g := range sortedGroups(c.cells) {
			ce := c.cells[g]
			sc.Cells = append(sc.Cells, storedCell{User: g.user, DB: g.db, Count: ce.count, FirstSeen: ce.first.UTC(), LastSeen: ce.last.UTC()})
		}
		out.Fingerprints = append(out.Fingerprints, sc)
	}
	slices.SortFunc(out.Fingerprints, func(a, b storedClass) int { return cmp.Compare(a.ID, b.ID) })
	for _, g := range sortedGroups(s.groups) {
		ss := s.groups[g]
		sg := storedGroup{User: g.user, DB: g.db, Threads: sortedKeys(ss.threads), Timeline: make([][2]int64, 0, len(ss.timeline))}
		for _, t := range sortedKeys(ss.timeline) {
			sg.Timeline = append(sg.Timeline, [2]int64{t, ss.timeline[t]})
		}
		out.Sessions = append(out.Sessions, sg)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// Decode reads a State that Encode wrote.
func Decode(r io.Reader) (*State, error) {
	var in stored
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return nil, fmt.Errorf("read digest: %w", err)
	}
	if in.Version != storedVersion {
		return nil, fmt.Errorf("read digest: version %d, want %d", in.Version, storedVersion)
	}
	if !slices.Contains(BucketSteps[:], in.BucketSeconds) {
		return nil, fmt.Errorf("read digest: bucket width %d s is not one of %v", in.BucketSeconds, BucketSteps)
	}
	s := New()
	s.statements, s.bucket, s.capped = in.Statements, in.BucketSeconds, in.SessionsCapped
	for _, sc := range in.Fingerprints {
		c := &class{id: sc.ID, fingerprint: sc.Fingerprint, sample: sc.Sample, cells: map[group]*cell{}}
		for _, ce := range sc.Cells {
			c.cells[group{ce.User, ce.DB}] = &cell{count: ce.Count, first: ce.FirstSeen, last: ce.LastSeen}
		}
		s.classes[sc.ID] = c
		s.textBytes += len(c.fingerprint) + len(c.sample)
	}
	for _, sg := range in.Sessions {
		ss := s.sessionsOf(group{sg.User, sg.DB})
		for _, t := range sg.Threads {
			ss.threads[t] = struct{}{}
		}
		s.tracked += len(sg.Threads)
		for _, p := range sg.Timeline {
			ss.timeline[p[0]] += p[1]
			if s.lo > s.hi {
				s.lo, s.hi = p[0], p[0]
			}
			s.lo, s.hi = min(s.lo, p[0]), max(s.hi, p[0])
		}
	}
	return s, nil
}
