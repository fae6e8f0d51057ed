package digest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strings"
)

// MaxFingerprinted is how many bytes of a statement, at most, Fingerprint reads: a longer one is
// fingerprinted as its first MaxFingerprinted bytes (cut back to a character boundary). The
// workload keeps the whole statement; only its fingerprint stops there.
const MaxFingerprinted = 64 << 10

// Fingerprint abstracts a statement the way pt-query-digest does (and so Percona's other tools
// and PMM Query Analytics): comments other than /*! */ are dropped, quoted strings, numbers,
// TRUE, FALSE and NULL become ?, IN (...) and multi-row VALUES lists become
// (?+), whitespace is collapsed, the text is lowercased, LIMIT a, b becomes limit ?, ASC is
// dropped after ORDER BY, repeated UNIONs are folded into one, USE db becomes use ? and
// CALL p(...) becomes call p.
//
// It follows the toolkit's own rules step for step, quirks included (numbers inside
// identifiers become ?, as in sbtest1 → sbtest?), so that fingerprints and their IDs line up
// with the toolkit's; the tests hold it to pt-query-digest's fingerprint code and to
// pt-fingerprint, which differs only in leaving TRUE and FALSE as they are. Like the toolkit
// given bytes, only ASCII letters change case and only ASCII counts as a word or a space.
//
// Unlike the toolkit's, its work is linear whatever the text: it reads at most
// MaxFingerprinted bytes of the statement, in a bounded number of passes, and stops folding
// UNIONs (leaving the rest of the text as it is) once that has taken 8 steps a byte, which
// only a statement built for it needs (thousands of UNIONs of selects that repeat, but never
// right after each other).
func Fingerprint(q string) string {
	fp, _ := fingerprint(q)
	return fp
}

// fingerprint is Fingerprint, and the steps its scans took: bytes looked at, summed over its
// passes.
func fingerprint(q string) (string, int) {
	var s scan
	return s.fingerprint(cut(q, MaxFingerprinted)), s.steps
}

// scan counts the work of one Fingerprint, so that the tests can hold it to a multiple of the
// statement's length.
type scan struct{ steps int }

func (s *scan) fingerprint(q string) string {
	switch {
	case strings.HasPrefix(q, "SELECT /*!40001 SQL_NO_CACHE */ * FROM `"):
		return "mysqldump"
	case s.hasToolkitComment(q):
		return "percona-toolkit"
	case strings.HasPrefix(q, "administrator command: "):
		return q
	}
	if name, ok := s.callName(q); ok {
		return name
	}
	if row, ok := s.firstRow(q); ok {
		q = row // only the first row of a multi-row insert matters, and the rest can be huge
	}
	b := []byte(q)
	b = s.stripBlockComments(b)
	b = s.stripLineComments(b)
	if use, ok := abstractUse(b); ok {
		return use
	}
	b = s.dropEscapedQuotes(b)
	b = s.abstractQuoted(b, '"')
	b = s.abstractQuoted(b, '\'')
	b = s.abstractBooleans(b)
	b = s.abstractNumbers(b)
	b = s.collapseSpace(b)
	b = s.abstractWord(b, "null")
	b = s.collapseLists(b)
	s.steps += len(b)
	if containsWord(b, "union") {
		b = s.collapseUnions(b)
	}
	b = s.collapseLimit(b)
	b = s.dropOrderByASC(b)
	return string(b)
}

// ID is pt-query-digest's checksum of a fingerprint: the last 16 hex digits of its MD5, in
// upper case.
func ID(fingerprint string) string {
	sum := md5.Sum([]byte(fingerprint))
	return strings.ToUpper(hex.EncodeToString(sum[8:]))
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isWord(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// boundary reports whether a word starts or ends between b[i-1] and b[i] (Perl's \b).
func boundary(b []byte, i int) bool {
	before := i > 0 && isWord(b[i-1])
	after := i < len(b) && isWord(b[i])
	return before != after
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// cut keeps at most n bytes of s, cut back to a character boundary: by 3 bytes at most, as
// where more continue a character the text is not UTF-8 anyway.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for back := 0; back < 3 && n > 0 && s[n]&0xC0 == 0x80; back++ {
		n--
	}
	return s[:n]
}

// stripBlockComments removes /* ... */ comments but not /*! ... */ ones, which MySQL runs.
// Like the toolkit's /\*[^!].*?\*/, the character after /* is taken whole, so /**/ ends only
// at a later */.
func (s *scan) stripBlockComments(b []byte) []byte {
	s.steps += len(b)
	first := bytes.Index(b, []byte("/*"))
	if first < 0 {
		return b
	}
	out := append(make([]byte, 0, len(b)), b[:first]...)
	for i := first; i < len(b); {
		if b[i] == '/' && i+2 < len(b) && b[i+1] == '*' && b[i+2] != '!' {
			end := bytes.Index(b[i+3:], []byte("*/"))
			if end < 0 {
				// No */ after this /*, so none after any later one either.
				s.steps += len(b) - i
				return append(out, b[i:]...)
			}
			s.steps += 3 + end + 2
			i += 3 + end + 2
			continue
		}
		out = append(out, b[i])
		i++
	}
	return out
}

// stripLineComments removes -- and # comments that run to the end of a line with no quote in
// them (the toolkit's (?:--|#)[^'"\r\n]*(?=[\r\n]|\Z)).
func (s *scan) stripLineComments(b []byte) []byte {
	s.steps += len(b)
	if !bytes.Contains(b, []byte("--")) && bytes.IndexByte(b, '#') < 0 {
		return b
	}
	out := b[:0:0]
	for i := 0; i < len(b); {
		start := -1
		if b[i] == '#' {
			start = i + 1
		} else if b[i] == '-' && i+1 < len(b) && b[i+1] == '-' {
			start = i + 2
		}
		if start < 0 {
			out = append(out, b[i])
			i++
			continue
		}
		j := start
		for j < len(b) && b[j] != '\'' && b[j] != '"' && b[j] != '\r' && b[j] != '\n' {
			j++
		}
		s.steps += j - start
		if j == len(b) || b[j] == '\r' || b[j] == '\n' {
			i = j
			continue
		}
		// A quote at j: every -- or # from i on would run into it too, so none of them starts
		// a comment, and the text up to the quote stays as it is.
		out = append(out, b[i:j]...)
		i = j
	}
	return out
}

// abstractUse turns "use db" (the whole statement) into "use ?", as is, with nothing else
// done to it.
func abstractUse(b []byte) (string, bool) {
	if len(b) < 5 || !hasFoldPrefix(string(b[:4]), "use ") {
		return "", false
	}
	rest := b[4:]
	tail := ""
	if rest[len(rest)-1] == '\n' { // \Z matches before a final newline too
		rest, tail = rest[:len(rest)-1], "\n"
	}
	if len(rest) == 0 {
		return "", false
	}
	for _, c := range rest {
		if isSpace(c) {
			return "", false
		}
	}
	return "use ?" + tail, true
}

// dropEscapedQuotes removes \' and \" so that they do not end a quoted string.
func (s *scan) dropEscapedQuotes(b []byte) []byte {
	s.steps += len(b)
	if bytes.IndexByte(b, '\\') < 0 {
		return b
	}
	out := b[:0:0]
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == '\'' || b[i+1] == '"') {
			i++
			continue
		}
		out = append(out, b[i])
	}
	return out
}

// abstractQuoted replaces each string quoted with q by ?.
func (s *scan) abstractQuoted(b []byte, q byte) []byte {
	s.steps += len(b)
	first := bytes.IndexByte(b, q)
	if first < 0 {
		return b
	}
	out := make([]byte, first, len(b))
	copy(out, b)
	for i := first; i < len(b); {
		if b[i] == q {
			if end := bytes.IndexByte(b[i+1:], q); end >= 0 {
				out = append(out, '?')
				i += 1 + end + 1
				continue
			}
			return append(out, b[i:]...) // an unclosed quote: no later one can close either
		}
		out = append(out, b[i])
		i++
	}
	return out
}

// abstractBooleans replaces the words true and false, in any case, by ?.
func (s *scan) abstractBooleans(b []byte) []byte {
	s.steps += len(b)
	out := b[:0:0]
	changed := false
	for i := 0; i < len(b); i++ {
		if c := b[i] | 0x20; (c == 't' || c == 'f') && boundary(b, i) {
			for _, w := range [...]string{"false", "true"} {
				if i+len(w) <= len(b) && strings.EqualFold(string(b[i:i+len(w)]), w) && boundary(b, i+len(w)) {
					if !changed {
						out = append(out, b[:i]...)
						changed = true
					}
					out = append(out, '?')
					i += len(w) - 1
					goto next
				}
			}
		}
		if changed {
			out = append(out, b[i])
		}
	next:
	}
	if !changed {
		return b
	}
	return out
}

func hasBytes(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }
