package digest

import (
	"bytes"
	"math/bits"
	"slices"
)

// unionWork is how many steps per byte of the statement folding UNIONs may take before it
// stops, leaving the rest of the text as it is (Fingerprint's doc says how many). A statement
// that needs more has over a thousand selects that repeat, never right after each other; at
// MaxFingerprinted bytes, this costs some 10 ms.
const unionWork = 8

// collapseUnions folds a select repeated after union or union all into one, with a comment
// saying so: the toolkit's \b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+ → $1 /*repeat$2*/.
// (collapseSpace has turned every newline into a space, so the toolkit's . stops at none.)
//
// The toolkit tries every length of every select against the text after it; this tries only
// the unions where a repeat of it could start (see shortest), comparing hashes first, and
// gives up after unionWork steps per byte, which only a statement built for it needs.
func (s *scan) collapseUnions(b []byte) []byte {
	u := newUnionIndex(b)
	s.steps += 4 * len(b)
	if len(u.at) == 0 {
		return b
	}
	u.budget = unionWork * len(b)
	out := b[:0:0]
	for i := 0; i < len(b); {
		if boundary(b, i) && hasBytes(b[i:], "select") && i+6 < len(b) && isSpace(b[i+6]) {
			end, ok := u.shortest(i)
			if u.budget < 0 {
				out = append(out, b[i:]...)
				break
			}
			if ok {
				stop, words := u.repeats(i, end)
				out = append(out, b[i:end]...)
				out = append(out, " /*repeat"...)
				out = append(out, words...)
				out = append(out, "*/"...)
				i = stop
				continue
			}
		}
		out = append(out, b[i])
		i++
	}
	s.steps += unionWork*len(b) - u.budget
	return out
}

// unionIndex finds where a select's repeats could start.
type unionIndex struct {
	b      []byte
	at     []int // where each \sunion\s starts, in order
	next   int   // the first of at not before the select being looked at
	h, pow []uint64
	// after files each union (its index in at) under the text from its select to the next
	// union.
	after  map[span][]int
	budget int // steps left
}

// span is a stretch of text as the index knows it: its length and hash.
type span struct {
	n    int
	hash uint64
}

const hashBase = 0x9E3779B97F4A7C15 // odd: hashes are polynomials in it, modulo 2⁶⁴

func newUnionIndex(b []byte) *unionIndex {
	u := &unionIndex{b: b}
	for from := 0; ; {
		w := bytes.Index(b[from:], []byte("union"))
		if w < 0 {
			break
		}
		if p := from + w - 1; p >= 0 && unionAt(b, p) {
			u.at = append(u.at, p)
		}
		from += w + 1
	}
	if len(u.at) == 0 {
		return u
	}
	u.h, u.pow = make([]uint64, len(b)+1), make([]uint64, len(b)+1)
	u.pow[0] = 1
	for i, c := range b {
		u.h[i+1] = u.h[i]*hashBase + uint64(c)
		u.pow[i+1] = u.pow[i] * hashBase
	}
	u.after = make(map[span][]int, len(u.at))
	m := 0
	for k, p := range u.at {
		q := u.selectAfter(p)
		for m < len(u.at) && u.at[m] < q {
			m++
		}
		if m == len(u.at) {
			break
		}
		key := span{u.at[m] - q, u.hash(q, u.at[m])}
		u.after[key] = append(u.after[key], k)
	}
	return u
}

// unionAt reports whether \sunion\s starts at p.
func unionAt(b []byte, p int) bool {
	return p+6 < len(b) && isSpace(b[p]) && hasBytes(b[p+1:], "union") && isSpace(b[p+6])
}

// selectAfter is where a repeat after the union at p would start: past \sunion\sall\s, or
// else past \sunion\s (where a select cannot follow union all's "all").
func (u *unionIndex) selectAfter(p int) int {
	if p+10 < len(u.b) && hasBytes(u.b[p+7:], "all") && isSpace(u.b[p+10]) {
		return p + 11
	}
	return p + 7
}

func (u *unionIndex) hash(from, to int) uint64 { return u.h[to] - u.h[from]*u.pow[to-from] }

// repeatAt reports whether the union at p is followed by b[i:i+n] again, and where that
// repeat ends.
func (u *unionIndex) repeatAt(p, i, n int) (int, bool) {
	q := u.selectAfter(p)
	u.budget--
	if q+n > len(u.b) || u.hash(q, q+n) != u.hash(i, i+n) {
		return 0, false
	}
	u.budget -= n
	return q + n, bytes.Equal(u.b[q:q+n], u.b[i:i+n])
}

// shortest is the end of the shortest select at i that a union repeats, if there is one: the
// toolkit's select\s.*? followed by at least one \sunion(?:\sall)?\s and the same select.
//
// Only the unions from i+7 on can end it. Past the first union from i (at p0) and its words,
// a select b[i:p] holds that union whole, and so does its repeat: at the same place, with no
// union before it, so the text from the union at p's select to the next union is b[i:p0].
// Those unions are what the index files under b[i:p0].
func (u *unionIndex) shortest(i int) (int, bool) {
	for u.next < len(u.at) && u.at[u.next] < i {
		u.next++
	}
	k := u.next
	if k == len(u.at) {
		return 0, false
	}
	p0 := u.at[k]
	for ; k < len(u.at) && u.at[k] <= p0+6; k++ { // p0, and a union starting at its last space
		if p := u.at[k]; p >= i+7 {
			if _, ok := u.repeatAt(p, i, p-i); ok {
				return p, true
			}
		}
	}
	list := u.after[span{p0 - i, u.hash(i, p0)}]
	j, _ := slices.BinarySearch(list, k)
	u.budget -= 1 + bits.Len(uint(len(list)))
	for _, e := range list[j:] {
		if u.budget < 0 {
			return 0, false
		}
		p := u.at[e]
		if u.selectAfter(p)+p-i > len(u.b) {
			break // so are the later ones: no room left for the repeat
		}
		if _, ok := u.repeatAt(p, i, p-i); ok {
			return p, true
		}
	}
	return 0, false
}

// repeats matches (\sunion(?:\sall)?\s<b[i:end]>)+ from end, as often as it can: where it
// ends, and the last union's words.
func (u *unionIndex) repeats(i, end int) (int, []byte) {
	var words []byte
	p := end
	for unionAt(u.b, p) {
		q, ok := u.repeatAt(p, i, end-i)
		if !ok {
			break
		}
		words = u.b[p : u.selectAfter(p)-1]
		p = q
	}
	return p, words
}
