// Package digest summarises what a capture recorded, by statement fingerprint (as Percona's
// pt-query-digest groups statements), account, database and time. A State is folded from the
// workload's statements as they are collected, stays bounded however long the capture runs,
// and answers a Report for all of its sessions or only those of one account or database.
//
// It knows nothing of HTTP or AWS: the recorder folds collected rows into it, and the API
// reads its stored form.
package digest

import (
	"cmp"
	"slices"
	"time"
)

// Bounds that keep a State small however long a capture records.
const (
	// MaxFingerprints distinct fingerprints are kept; statements of any later new fingerprint
	// are counted together in one row whose ID is OtherID.
	MaxFingerprints = 10_000
	// MaxSessions distinct sessions are remembered for the session count; past that the count
	// is a lower bound.
	MaxSessions = 100_000
	// MaxText bytes of a fingerprint or a sample statement are kept, and only ShortText
	// bytes of each new one once the texts a State keeps add up to MaxTextTotal bytes.
	MaxText      = 4096
	ShortText    = 256
	MaxTextTotal = 8 << 20
	// MaxPoints is the most points a timeline has.
	MaxPoints = 1000
)

// OtherID is the ID of the row that counts statements past MaxFingerprints fingerprints, and
// OtherFingerprint its text.
const (
	OtherID          = "OTHER"
	OtherFingerprint = "(statements of fingerprints beyond the first 10000)"
)

// BucketSteps are the timeline's possible bucket widths, in seconds; each divides the next, so
// a timeline can always be coarsened exactly.
var BucketSteps = [...]int64{1, 10, 60, 300, 3600}

// Statement is what the digest takes of one workload statement.
type Statement struct {
	Time   time.Time
	Thread uint64 // the server's connection id: one session
	User   string
	DB     string // the session's database, or "" when the log does not tell
	SQL    string
}

// State is a capture's digest while it is recorded and after: counts per fingerprint, account
// and database, the sessions seen, and the statements over time. The zero value is not ready
// for use: call New or Decode.
type State struct {
	statements int64
	bucket     int64             // seconds per timeline bucket
	classes    map[string]*class // by ID
	byText     textCache[*class] // by whole fingerprint: spares an MD5 per statement
	textBytes  int               // of the classes' fingerprints and samples
	groups     map[group]*sessions
	tracked    int // sessions remembered, across groups
	capped     bool
	lo, hi     int64 // the first and last bucket with statements, in seconds; lo > hi when none

	last    *class // the class of the statement before, and its text: runs of one statement
	lastSQL string
}

// group is one account and database: the unit a Report can be narrowed to.
type group struct{ user, db string }

type class struct {
	id, fingerprint, sample string
	cells                   map[group]*cell
}

type cell struct {
	count       int64
	first, last time.Time
}

type sessions struct {
	threads  map[uint64]struct{}
	timeline map[int64]int64 // bucket start (Unix seconds) → statements
}

// New returns an empty State.
func New() *State {
	return &State{bucket: BucketSteps[0], classes: map[string]*class{}, groups: map[group]*sessions{}, lo: 1, hi: 0}
}

// Statements is how many statements were folded in.
func (s *State) Statements() int64 { return s.statements }

// Add folds one statement into the digest.
func (s *State) Add(st Statement) {
	c := s.last
	if c == nil || st.SQL != s.lastSQL {
		c = s.classOf(st.SQL)
		s.last, s.lastSQL = c, st.SQL
	}
	s.add(st, c)
}

// Class is a statement's fingerprint and its ID, as a Classifier found them.
type Class struct{ Fingerprint, ID string }

// Classifier fingerprints statements once for several States (AddClassified), remembering
// the IDs of the fingerprints it has seen (as many as 20,000 of them, in at most 4 MiB). The
// zero value is ready to use.
type Classifier struct{ ids textCache[string] }

// Classify returns sql's fingerprint and ID.
func (c *Classifier) Classify(sql string) Class {
	fp := Fingerprint(sql)
	id, ok := c.ids.get(fp)
	if !ok {
		id = ID(fp)
		c.ids.put(fp, id)
	}
	return Class{Fingerprint: fp, ID: id}
}

// AddClassified folds one statement, already classified as cl, into the digest: what Add does,
// without fingerprinting it again.
func (s *State) AddClassified(st Statement, cl Class) {
	c, ok := s.byText.get(cl.Fingerprint)
	if !ok {
		c = s.classFor(cl.Fingerprint, cl.ID, st.SQL)
	}
	s.add(st, c)
}

func (s *State) add(st Statement, c *class) {
	g := group{st.User, st.DB}
	ce := c.cells[g]
	if ce == nil {
		ce = &cell{first: st.Time, last: st.Time}
		c.cells[g] = ce
	}
	ce.count++
	if st.Time.Before(ce.first) {
		ce.first = st.Time
	}
	if st.Time.After(ce.last) {
		ce.last = st.Time
	}
	ss := s.sessionsOf(g)
	if _, seen := ss.threads[st.Thread]; !seen {
		if s.tracked < MaxSessions {
			ss.threads[st.Thread] = struct{}{}
			s.tracked++
		} else {
			s.capped = true
		}
	}
	b := floorTo(st.Time.Unix(), s.bucket)
	ss.timeline[b]++
	if s.lo > s.hi {
		s.lo, s.hi = b, b
	}
	s.lo, s.hi = min(s.lo, b), max(s.hi, b)
	for (s.hi-s.lo)/s.bucket+1 > MaxPoints && s.bucket < BucketSteps[len(BucketSteps)-1] {
		s.coarsen()
	}
	s.statements++
}

func (s *State) classOf(sql string) *class {
	fp := Fingerprint(sql)
	if c, ok := s.byText.get(fp); ok {
		return c
	}
	return s.classFor(fp, ID(fp), sql)
}

// classFor is the class of fingerprint fp, with ID id, of which sql is a statement.
func (s *State) classFor(fp, id, sql string) *class {
	if c := s.classes[id]; c != nil { // one read back from storage
		s.remember(fp, c)
		return c
	}
	if len(s.classes) >= MaxFingerprints {
		id, fp, sql = OtherID, OtherFingerprint, ""
		if c := s.classes[id]; c != nil {
			return c
		}
	}
	text, sample := cut(fp, MaxText), cut(sql, MaxText)
	if s.textBytes+len(text)+len(sample) > MaxTextTotal {
		text, sample = cut(fp, ShortText), cut(sql, ShortText)
	}
	s.textBytes += len(text) + len(sample)
	c := &class{id: id, fingerprint: text, sample: sample, cells: map[group]*cell{}}
	s.classes[id] = c
	s.remember(fp, c)
	return c
}

// remember caches fp's class, within the cache's bounds: fingerprints past them are few in
// any workload that stays under MaxFingerprints, and share OTHER in one that does not.
func (s *State) remember(fp string, c *class) { s.byText.put(fp, c) }

func (s *State) sessionsOf(g group) *sessions {
	ss := s.groups[g]
	if ss == nil {
		ss = &sessions{threads: map[uint64]struct{}{}, timeline: map[int64]int64{}}
		s.groups[g] = ss
	}
	return ss
}

// coarsen moves the timeline to the next bucket width, adding up the buckets it merges.
func (s *State) coarsen() {
	next := s.bucket
	for _, step := range BucketSteps {
		if step > s.bucket {
			next = step
			break
		}
	}
	for _, ss := range s.groups {
		merged := make(map[int64]int64, len(ss.timeline))
		for t, n := range ss.timeline {
			merged[floorTo(t, next)] += n
		}
		ss.timeline = merged
	}
	s.bucket = next
	s.lo, s.hi = floorTo(s.lo, next), floorTo(s.hi, next)
}

// floorTo rounds t down to a multiple of step, for negative t too.
func floorTo(t, step int64) int64 {
	r := t % step
	if r < 0 {
		r += step
	}
	return t - r
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedGroups[V any](m map[group]V) []group {
	keys := make([]group, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b group) int { return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.db, b.db)) })
	return keys
}

// Merge folds the statements o was folded from into s, as if they had been added to s one by
// one (except at MaxFingerprints, where which of o's new fingerprints still get a row of their
// own may differ): what a collection does when many captures keep the same rows, folding them
// once into o and merging o into each capture's digest, at a cost that grows with o's
// fingerprints, sessions and timeline rather than its statements.
func (s *State) Merge(o *State) {
	for id, oc := range o.classes {
		c := s.classes[id]
		if c == nil {
			c = s.classFor(oc.fingerprint, id, oc.sample)
		}
		for g, oce := range oc.cells {
			ce := c.cells[g]
			if ce == nil {
				ce = &cell{first: oce.first, last: oce.last}
				c.cells[g] = ce
			}
			ce.count += oce.count
			if oce.first.Before(ce.first) {
				ce.first = oce.first
			}
			if oce.last.After(ce.last) {
				ce.last = oce.last
			}
		}
	}
	for s.bucket < o.bucket {
		s.coarsen()
	}
	for g, oss := range o.groups {
		ss := s.sessionsOf(g)
		for t := range oss.threads {
			if _, seen := ss.threads[t]; seen {
				continue
			}
			if s.tracked < MaxSessions {
				ss.threads[t] = struct{}{}
				s.tracked++
			} else {
				s.capped = true
			}
		}
		for b, n := range oss.timeline {
			b = floorTo(b, s.bucket)
			ss.timeline[b] += n
			if s.lo > s.hi {
				s.lo, s.hi = b, b
			}
			s.lo, s.hi = min(s.lo, b), max(s.hi, b)
		}
	}
	for (s.hi-s.lo)/s.bucket+1 > MaxPoints && s.bucket < BucketSteps[len(BucketSteps)-1] {
		s.coarsen()
	}
	s.statements += o.statements
	s.capped = s.capped || o.capped
	s.last, s.lastSQL = nil, ""
}
