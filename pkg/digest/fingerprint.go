package digest

import (
	"crypto/md5"
	"encoding/hex"
	"regexp"
	"strings"
	"sync"
)

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
func Fingerprint(q string) string {
	patterns.once.Do(compilePatterns)
	switch {
	case strings.HasPrefix(q, "SELECT /*!40001 SQL_NO_CACHE */ * FROM `"):
		return "mysqldump"
	case strings.Contains(q, "/*") && patterns.toolkitComment.MatchString(q):
		return "percona-toolkit"
	case strings.HasPrefix(q, "administrator command: "):
		return q
	}
	if hasFoldPrefix(strings.TrimLeft(q, "\t\n\v\f\r "), "call") {
		if m := patterns.callProc.FindStringSubmatch(q); m != nil {
			return lowerASCII(m[1])
		}
	}
	if (hasFoldPrefix(q, "insert") || hasFoldPrefix(q, "replace")) && hasRowBreak(q) {
		// Only the first row of a multi-row insert matters, and the rest can be huge.
		if m := patterns.multiRowInsert.FindStringSubmatch(q); m != nil {
			q = m[1]
		}
	}
	b := []byte(q)
	b = stripBlockComments(b)
	b = stripLineComments(b)
	if use, ok := abstractUse(b); ok {
		return use
	}
	b = dropEscapedQuotes(b)
	b = abstractQuoted(b, '"')
	b = abstractQuoted(b, '\'')
	b = abstractBooleans(b)
	b = abstractNumbers(b)
	b = collapseSpace(b)
	b = abstractWord(b, "null")
	b = collapseLists(b)
	if containsWord(b, "union") {
		b = collapseUnions(b)
	}
	b = collapseLimit(b)
	b = dropOrderByASC(b)
	return string(b)
}

// ID is pt-query-digest's checksum of a fingerprint: the last 16 hex digits of its MD5, in
// upper case.
func ID(fingerprint string) string {
	sum := md5.Sum([]byte(fingerprint))
	return strings.ToUpper(hex.EncodeToString(sum[8:]))
}

// patterns are compiled on first use, not at package init: the API functions that link this
// package only to read digests would otherwise pay for it at every cold start.
var patterns struct {
	once                                     sync.Once
	toolkitComment, callProc, multiRowInsert *regexp.Regexp
}

func compilePatterns() {
	p := &patterns
	// Statements pt-table-checksum and friends send, marked with a db.tbl:n/m comment.
	p.toolkitComment = regexp.MustCompile(`/\*\w+\.\w+:[0-9]/[0-9]\*/`)
	// CALL p(...), kept to the procedure's name. The classes spell out Perl's \s and the
	// keyword's two cases: Go's (?i) would also match non-ASCII look-alikes.
	p.callProc = regexp.MustCompile(`^[\t\n\v\f\r ]*([Cc][Aa][Ll][Ll][\t\n\v\f\r ]+[^\t\n\v\f\r ]+)\(`)
	// A multi-row INSERT or REPLACE, up to the end of its first row.
	p.multiRowInsert = regexp.MustCompile(`(?s)^((?:[Ii][Nn][Ss][Ee][Rr][Tt]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee])(?: [Ii][Gg][Nn][Oo][Rr][Ee])?[\t\n\v\f\r ]+[Ii][Nn][Tt][Oo].+?[Vv][Aa][Ll][Uu][Ee][Ss][\t\n\v\f\r ]*\(.*?\))[\t\n\v\f\r ]*,[\t\n\v\f\r ]*\(`)
}

// hasRowBreak reports whether q has a ")" and a "(" with only a comma and spaces between them:
// without one, q cannot be a multi-row insert.
func hasRowBreak(q string) bool {
	for i := strings.IndexByte(q, ')'); i >= 0; {
		j := i + 1
		for j < len(q) && isSpace(q[j]) {
			j++
		}
		if j < len(q) && q[j] == ',' {
			j++
			for j < len(q) && isSpace(q[j]) {
				j++
			}
			if j < len(q) && q[j] == '(' {
				return true
			}
		}
		next := strings.IndexByte(q[i+1:], ')')
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
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

// stripBlockComments removes /* ... */ comments but not /*! ... */ ones, which MySQL runs.
// Like the toolkit's /\*[^!].*?\*/, the character after /* is taken whole, so /**/ ends only
// at a later */.
func stripBlockComments(b []byte) []byte {
	if !containsPair(b, '/', '*') {
		return b
	}
	out := b[:0:0]
	for i := 0; i < len(b); {
		if b[i] == '/' && i+2 < len(b) && b[i+1] == '*' && b[i+2] != '!' {
			if end := indexPair(b[i+3:], '*', '/'); end >= 0 {
				i += 3 + end + 2
				continue
			}
		}
		out = append(out, b[i])
		i++
	}
	return out
}

// stripLineComments removes -- and # comments that run to the end of a line with no quote in
// them (the toolkit's (?:--|#)[^'"\r\n]*(?=[\r\n]|\Z)).
func stripLineComments(b []byte) []byte {
	if !containsPair(b, '-', '-') && !containsByte(b, '#') {
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
		if start >= 0 {
			j := start
			for j < len(b) && b[j] != '\'' && b[j] != '"' && b[j] != '\r' && b[j] != '\n' {
				j++
			}
			if j == len(b) || b[j] == '\r' || b[j] == '\n' {
				i = j
				continue
			}
		}
		out = append(out, b[i])
		i++
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
func dropEscapedQuotes(b []byte) []byte {
	if !containsByte(b, '\\') {
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
func abstractQuoted(b []byte, q byte) []byte {
	first := indexByte(b, q)
	if first < 0 {
		return b
	}
	out := make([]byte, first, len(b))
	copy(out, b)
	for i := first; i < len(b); {
		if b[i] == q {
			if end := indexByte(b[i+1:], q); end >= 0 {
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
func abstractBooleans(b []byte) []byte {
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

func isNumberStart(c byte) bool { return '0' <= c && c <= '9' || c == '+' || c == '-' }

func isNumberPart(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || c == '.' || c == 'x' || c == 'b' || c == '+' || c == '-'
}

// abstractNumbers replaces anything that looks like a number (the toolkit's broad
// [0-9+-][0-9a-f.xb+-]*, before lowercasing, so 0xFF keeps its FF) by ?, then folds a sign,
// point or radix letter before a ? into it.
func abstractNumbers(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if isNumberStart(b[i]) {
			i++
			for i < len(b) && isNumberPart(b[i]) {
				i++
			}
			out = append(out, '?')
			continue
		}
		out = append(out, b[i])
		i++
	}
	folded := out[:0]
	for i := 0; i < len(out); i++ {
		switch out[i] {
		case 'x', 'b', '.', '+', '-':
			if i+1 < len(out) && out[i+1] == '?' {
				folded = append(folded, '?')
				i++
				continue
			}
		}
		folded = append(folded, out[i])
	}
	return folded
}

// collapseSpace trims leading space and one trailing newline, turns each run of spaces, tabs,
// newlines, returns and form feeds into one space, and lowercases ASCII letters.
func collapseSpace(b []byte) []byte {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	b = b[i:]
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	out := b[:0]
	inRun := false
	for _, c := range b {
		switch c {
		case ' ', '\n', '\t', '\r', '\f': // not \v: the toolkit's tr leaves it
			if !inRun {
				out = append(out, ' ')
			}
			inRun = true
			continue
		}
		inRun = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return out
}

// abstractWord replaces the whole word w by ?.
func abstractWord(b []byte, w string) []byte {
	if !containsWord(b, w) {
		return b
	}
	out := b[:0:0]
	for i := 0; i < len(b); {
		if wordAt(b, i, w) {
			out = append(out, '?')
			i += len(w)
			continue
		}
		out = append(out, b[i])
		i++
	}
	return out
}

func wordAt(b []byte, i int, w string) bool {
	return boundary(b, i) && hasBytes(b[i:], w) && boundary(b, i+len(w))
}

func containsWord(b []byte, w string) bool {
	for i := 0; i+len(w) <= len(b); i++ {
		if b[i] == w[0] && wordAt(b, i, w) {
			return true
		}
	}
	return false
}

// collapseLists turns in (?, ?) and values (?, ?), (?, ?) into in(?+) and values(?+): the
// toolkit's \b(in|values?)(?:[\s,]*\([\s?,]*\))+.
func collapseLists(b []byte) []byte {
	out := b[:0:0]
	for i := 0; i < len(b); {
		if (b[i] == 'i' || b[i] == 'v') && boundary(b, i) {
			for _, kw := range [...]string{"in", "values", "value"} {
				if !hasBytes(b[i:], kw) {
					continue
				}
				if end := listsEnd(b, i+len(kw)); end > 0 {
					out = append(out, kw...)
					out = append(out, "(?+)"...)
					i = end
					goto next
				}
			}
		}
		out = append(out, b[i])
		i++
	next:
	}
	return out
}

// listsEnd is the end of one or more ( ?, ? ) lists from i, or -1 if none starts there.
func listsEnd(b []byte, i int) int {
	end := -1
	for {
		j := i
		for j < len(b) && (isSpace(b[j]) || b[j] == ',') {
			j++
		}
		if j >= len(b) || b[j] != '(' {
			return end
		}
		j++
		for j < len(b) && (isSpace(b[j]) || b[j] == '?' || b[j] == ',') {
			j++
		}
		if j >= len(b) || b[j] != ')' {
			return end
		}
		end = j + 1
		i = end
	}
}

// collapseUnions folds a select repeated after union or union all into one, with a comment
// saying so: the toolkit's \b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+ → $1 /*repeat$2*/.
func collapseUnions(b []byte) []byte {
	out := b[:0:0]
	for i := 0; i < len(b); {
		if boundary(b, i) && hasBytes(b[i:], "select") && i+6 < len(b) && isSpace(b[i+6]) {
			if end, union, ok := unionRepeat(b, i); ok {
				out = append(out, b[i:end]...)
				out = append(out, " /*repeat"...)
				out = append(out, union...)
				out = append(out, "*/"...)
				i = skipRepeats(b, i, end)
				continue
			}
		}
		out = append(out, b[i])
		i++
	}
	return out
}

// unionRepeat finds the shortest select at i (it may not cross a newline) that a union
// repeats: the end of that select and the union words before the last repeat.
func unionRepeat(b []byte, i int) (end int, union []byte, ok bool) {
	for end = i + 7; end <= len(b); end++ {
		if end > i+7 && b[end-1] == '\n' {
			return 0, nil, false
		}
		if _, u, n := repeats(b, b[i:end], end); n > 0 {
			return end, u, true
		}
	}
	return 0, nil, false
}

// repeats matches (\sunion(?:\sall)?\s<sel>)+ at p, as often as it can: where it ends, the
// last union's words, and how many it matched.
func repeats(b, sel []byte, p int) (int, []byte, int) {
	var last []byte
	n := 0
	for {
		q, u := unionThen(b, p, sel)
		if q < 0 {
			return p, last, n
		}
		p, last = q, u
		n++
	}
}

// unionThen matches \sunion(?:\sall)?\s<sel> at p, preferring union all.
func unionThen(b []byte, p int, sel []byte) (int, []byte) {
	if p >= len(b) || !isSpace(b[p]) || !hasBytes(b[p+1:], "union") {
		return -1, nil
	}
	u := p + 6
	if u+4 <= len(b) && isSpace(b[u]) && hasBytes(b[u+1:], "all") {
		if q := u + 4; q < len(b) && isSpace(b[q]) && hasBytes(b[q+1:], string(sel)) {
			return q + 1 + len(sel), b[p : u+4]
		}
	}
	if u < len(b) && isSpace(b[u]) && hasBytes(b[u+1:], string(sel)) {
		return u + 1 + len(sel), b[p:u]
	}
	return -1, nil
}

func skipRepeats(b []byte, start, end int) int {
	p, _, _ := repeats(b, b[start:end], end)
	return p
}

// collapseLimit turns the first limit ?, ? or limit ? offset ? into limit ?.
func collapseLimit(b []byte) []byte {
	for i := 0; i+7 <= len(b); i++ {
		if b[i] != 'l' || !boundary(b, i) || !hasBytes(b[i:], "limit ?") {
			continue
		}
		j := i + 7
		switch {
		case hasBytes(b[j:], ", ?"):
			j += 3
		case hasBytes(b[j:], ",?"):
			j += 2
		case hasBytes(b[j:], " offset ?"):
			j += 9
		}
		return append(append(b[:i:i], "limit ?"...), b[j:]...)
	}
	return b
}

// dropOrderByASC removes asc (and the space before it) after the first order by: the
// toolkit's one pass of s/\G(.+?)\s+ASC/$1/gi from there, which stops at the first stretch
// without one and, like it, also cuts asc from the front of a longer word.
func dropOrderByASC(b []byte) []byte {
	at := -1
	for i := 0; i+9 <= len(b); i++ {
		if b[i] == 'o' && boundary(b, i) && hasBytes(b[i:], "order by ") {
			at = i + 9
			break
		}
	}
	if at < 0 {
		return b
	}
	out := append([]byte(nil), b[:at]...)
	p := at
	for {
		k, end := nextASC(b, p)
		if k < 0 {
			return append(out, b[p:]...)
		}
		out = append(out, b[p:k]...)
		p = end
	}
}

// nextASC finds, past at least one byte from p, the first run of space followed by asc: where
// the run starts and where asc ends.
func nextASC(b []byte, p int) (int, int) {
	for k := p + 1; k < len(b); k++ {
		if !isSpace(b[k]) {
			continue
		}
		j := k
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		if j+3 <= len(b) && strings.EqualFold(string(b[j:j+3]), "asc") {
			return k, j + 3
		}
	}
	return -1, -1
}

func hasBytes(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func containsByte(b []byte, c byte) bool { return indexByte(b, c) >= 0 }

func indexPair(b []byte, x, y byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == x && b[i+1] == y {
			return i
		}
	}
	return -1
}

func containsPair(b []byte, x, y byte) bool { return indexPair(b, x, y) >= 0 }
