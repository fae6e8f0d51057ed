package report

import (
	"slices"

	"github.com/mycrt/captures/pkg/outcome"
)

// Join finds the statements two replays of one capture did differently: the same statement
// (Session, Seq) returned or changed a different number of rows, or failed differently (another
// error number, or an error on one side only). One side's outcomes are indexed (Index, then
// Seal), the other's probed against them (Probe), in any order of shards and invocations.
//
// The index keeps 16 bytes a statement, in one run per session: index the side with fewer
// statements. A session's records arrive in Seq order (its statements run one after another),
// so a probe is a step of the session's cursor; out-of-order ones are found by binary search.
// Statements skipped on either side are not compared.
type Join struct {
	sessions map[uint32]*run
	diffs    map[uint64]int64 // statements that differ, by fingerprint
	compared int64
}

// run is one session's indexed statements, in Seq order once sealed.
type run struct {
	entries []entry
	cursor  int
	ordered bool
}

// entry is what a probe compares: 16 bytes. Its fingerprint is the probing record's (the same
// statement of one capture has one).
type entry struct {
	rows  int64
	seq   uint32
	errno uint16
}

// NewJoin returns an empty join.
func NewJoin() *Join { return &Join{sessions: map[uint32]*run{}, diffs: map[uint64]int64{}} }

// Index adds one of the indexed side's outcomes. Skipped statements are left out.
func (j *Join) Index(r *outcome.Record) {
	if r.Skipped {
		return
	}
	ru := j.sessions[r.Session]
	if ru == nil {
		ru = &run{ordered: true}
		j.sessions[r.Session] = ru
	}
	if n := len(ru.entries); n > 0 && ru.entries[n-1].seq >= r.Seq {
		ru.ordered = false
	}
	ru.entries = append(ru.entries, entry{rows: r.Rows, seq: r.Seq, errno: r.Errno})
}

// Seal ends indexing: Probe may be called from then on.
func (j *Join) Seal() {
	for _, ru := range j.sessions {
		if !ru.ordered {
			slices.SortStableFunc(ru.entries, func(a, b entry) int { return int(int64(a.seq) - int64(b.seq)) })
		}
		ru.entries = slices.Clip(ru.entries)
	}
}

// Probe compares one of the other side's outcomes with the indexed one of the same statement,
// if there is one.
func (j *Join) Probe(r *outcome.Record) {
	if r.Skipped {
		return
	}
	ru := j.sessions[r.Session]
	if ru == nil {
		return
	}
	i := ru.cursor
	if i >= len(ru.entries) || ru.entries[i].seq != r.Seq {
		var found bool
		i, found = slices.BinarySearchFunc(ru.entries, r.Seq, func(e entry, seq uint32) int { return int(int64(e.seq) - int64(seq)) })
		if !found {
			return
		}
	}
	ru.cursor = i + 1
	e := ru.entries[i]
	j.compared++
	if e.rows != r.Rows || e.errno != r.Errno {
		j.diffs[r.Digest]++
	}
}

// Compared is how many statements both sides sent.
func (j *Join) Compared() int64 { return j.compared }

// Differ is how many statements of fingerprint d differ.
func (j *Join) Differ(d uint64) int64 { return j.diffs[d] }
