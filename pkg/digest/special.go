package digest

import "strings"

// The statements the toolkit looks for before its rules: those its own tools send, CALL and
// multi-row INSERT. Its patterns are matched by hand, in a pass or two: Go's regular
// expressions would take 100 to 200 ns a byte over a long statement, and their compiling
// would cost every cold start of the functions that only read digests.

// callName is CALL p(...) kept to the procedure's name, in lower case: the toolkit's
// \A\s*(call\s+\S+)\(/i, whose greedy \S+ runs to the last ( of the word after CALL.
func (s *scan) callName(q string) (string, bool) {
	start := s.skipSpace(q, 0)
	if !hasFoldPrefix(q[start:], "call") {
		return "", false
	}
	i := start + len("call")
	j := s.skipSpace(q, i)
	if j == i || j == len(q) {
		return "", false
	}
	end := j
	for end < len(q) && !isSpace(q[end]) {
		end++
	}
	s.steps += 2 * (end - j)
	if k := strings.LastIndexByte(q[j+1:end], '('); k >= 0 {
		return lowerASCII(q[start : j+1+k]), true
	}
	return "", false
}

// hasToolkitComment reports whether q has the db.tbl:n/m comment that pt-table-checksum and
// friends mark their statements with: the toolkit's /\*\w+\.\w+:[0-9]/[0-9]\*/. Each byte is
// read once or twice: no /* starts inside the words a match needs.
func (s *scan) hasToolkitComment(q string) bool {
	words := func(i int) int { // the end of the word run from i, if there is one
		j := i
		for j < len(q) && isWord(q[j]) {
			j++
		}
		s.steps += j - i
		if j == i {
			return -1
		}
		return j
	}
	for from := 0; ; {
		k := strings.Index(q[from:], "/*")
		if k < 0 {
			s.steps += len(q) - from
			return false
		}
		s.steps += k + 2
		i := from + k + 2
		from = i
		if j := words(i); j >= 0 && j < len(q) && q[j] == '.' {
			if j = words(j + 1); j >= 0 && len(q) >= j+6 && q[j] == ':' && isDigit(q[j+1]) && q[j+2] == '/' &&
				isDigit(q[j+3]) && q[j+4:j+6] == "*/" {
				return true
			}
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// firstRow cuts a multi-row INSERT or REPLACE after its first row: the toolkit's
// \A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\( (/is). Of the VALUES the
// pattern may start its row at, the first is the one: a later one could only end its row at
// the same row break as the first does, or at none.
func (s *scan) firstRow(q string) (string, bool) {
	var i int
	switch {
	case hasFoldPrefix(q, "insert"):
		i = len("insert")
	case hasFoldPrefix(q, "replace"):
		i = len("replace")
	default:
		return "", false
	}
	if hasFoldPrefix(q[i:], " ignore") {
		i += len(" ignore")
	}
	j := s.skipSpace(q, i)
	if j == i || !hasFoldPrefix(q[j:], "into") {
		return "", false
	}
	for i = j + len("into") + 1; ; { // .+? takes a byte at least
		k := s.indexFold(q, i, "values")
		if k < 0 {
			return "", false
		}
		if j = s.skipSpace(q, k+len("values")); j < len(q) && q[j] == '(' {
			i = j + 1
			break
		}
		i = k + 1
	}
	for {
		c := strings.IndexByte(q[i:], ')')
		if c < 0 {
			s.steps += len(q) - i
			return "", false
		}
		s.steps += c + 1
		c += i
		j := s.skipSpace(q, c+1)
		if j < len(q) && q[j] == ',' {
			if j = s.skipSpace(q, j+1); j < len(q) && q[j] == '(' {
				return q[:c+1], true
			}
		}
		i = c + 1 // the spaces after this ) hold no other, so each is read twice at most
	}
}

func (s *scan) skipSpace(q string, i int) int {
	j := i
	for j < len(q) && isSpace(q[j]) {
		j++
	}
	s.steps += j - i
	return j
}

// indexFold is the first place from i where w (lower-case ASCII) is, in either case.
func (s *scan) indexFold(q string, from int, w string) int {
	for k := from; k+len(w) <= len(q); k++ {
		if q[k]|0x20 == w[0] && hasFoldPrefix(q[k:], w) {
			s.steps += k - from + 1
			return k
		}
	}
	s.steps += len(q) - from
	return -1
}
