package digest

import "strings"

// The passes of Fingerprint after quoted strings: each looks at every byte a bounded number
// of times (the comments say why where a scan ahead could be repeated).

func isNumberStart(c byte) bool { return '0' <= c && c <= '9' || c == '+' || c == '-' }

func isNumberPart(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || c == '.' || c == 'x' || c == 'b' || c == '+' || c == '-'
}

// abstractNumbers replaces anything that looks like a number (the toolkit's broad
// [0-9+-][0-9a-f.xb+-]*, before lowercasing, so 0xFF keeps its FF) by ?, then folds a sign,
// point or radix letter before a ? into it.
func (s *scan) abstractNumbers(b []byte) []byte {
	s.steps += 2 * len(b)
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
func (s *scan) collapseSpace(b []byte) []byte {
	s.steps += len(b)
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
func (s *scan) abstractWord(b []byte, w string) []byte {
	s.steps += 2 * len(b)
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
// toolkit's \b(in|values?)(?:[\s,]*\([\s?,]*\))+. A list that is not one is looked at once:
// what listsEnd reads holds no letter, so no later in or values starts inside it.
func (s *scan) collapseLists(b []byte) []byte {
	s.steps += len(b)
	out := b[:0:0]
	for i := 0; i < len(b); {
		if (b[i] == 'i' || b[i] == 'v') && boundary(b, i) {
			for _, kw := range [...]string{"in", "values", "value"} {
				if !hasBytes(b[i:], kw) {
					continue
				}
				end, read := listsEnd(b, i+len(kw))
				s.steps += read
				if end > 0 {
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

// listsEnd is the end of one or more ( ?, ? ) lists from i, or -1 if none starts there, and
// how many bytes it read to tell.
func listsEnd(b []byte, i int) (end, read int) {
	from := i
	end = -1
	for {
		j := i
		for j < len(b) && (isSpace(b[j]) || b[j] == ',') {
			j++
		}
		if j >= len(b) || b[j] != '(' {
			return end, j - from
		}
		j++
		for j < len(b) && (isSpace(b[j]) || b[j] == '?' || b[j] == ',') {
			j++
		}
		if j >= len(b) || b[j] != ')' {
			return end, j - from
		}
		end = j + 1
		i = end
	}
}

// collapseLimit turns the first limit ?, ? or limit ? offset ? into limit ?.
func (s *scan) collapseLimit(b []byte) []byte {
	s.steps += len(b)
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
func (s *scan) dropOrderByASC(b []byte) []byte {
	s.steps += len(b)
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
		k, end, read := nextASC(b, p)
		s.steps += read
		if k < 0 {
			return append(out, b[p:]...)
		}
		out = append(out, b[p:k]...)
		p = end
	}
}

// nextASC finds, past at least one byte from p, the first run of space followed by asc: where
// the run starts and where asc ends; and how many bytes it read. A run not followed by asc is
// read once: from any later space in it the run ends at the same place.
func nextASC(b []byte, p int) (start, end, read int) {
	for k := p + 1; k < len(b); k++ {
		read++
		if !isSpace(b[k]) {
			continue
		}
		j := k
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		read += j - k
		if j+3 <= len(b) && strings.EqualFold(string(b[j:j+3]), "asc") {
			return k, j + 3, read
		}
		k = j
	}
	return -1, -1, read
}
