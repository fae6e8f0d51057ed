package workload

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// parseLine reads one line as encoding/json writes an Event (its fields in order, times in
// UTC as RFC 3339), several times faster than json.Unmarshal; ok is false for anything else
// (an escape it does not take literally, invalid UTF-8, another layout), which the caller
// then unmarshals: what it returns is always what json.Unmarshal would.
func parseLine(line []byte, e *Event, names *interned) (ok bool) {
	p := lineParser{b: line, names: names}
	if !p.lit(`{"time":"`) {
		return false
	}
	end := bytes.IndexByte(p.b, '"')
	if end < 0 {
		return false
	}
	t, ok := parseTime(p.b[:end])
	if !ok {
		return false
	}
	p.b = p.b[end+1:]
	e.Time = t
	if !p.lit(`,"thread":`) {
		return false
	}
	i := 0
	for i < len(p.b) && p.b[i] >= '0' && p.b[i] <= '9' {
		i++
	}
	thread, err := strconv.ParseUint(string(p.b[:i]), 10, 64)
	if err != nil {
		return false
	}
	e.Thread, p.b = thread, p.b[i:]
	return p.field(`,"user":`, &e.User, true) && p.field(`,"host":`, &e.Host, true) && p.field(`,"command":`, &e.Command, true) &&
		p.field(`,"db":`, &e.DB, true) && p.field(`,"sql":`, &e.SQL, false) && p.lit("}") && len(bytes.TrimSpace(p.b)) == 0
}

// interned keeps the few strings that repeat on every line (accounts, hosts, commands,
// databases) once, so that reading a row allocates only its statement.
type interned map[string]string

// maxInterned bounds interned: past it new names are allocated as they come.
const maxInterned = 4096

func (n interned) of(b []byte) string {
	if s, ok := n[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(n) < maxInterned && len(b) <= 256 {
		n[s] = s
	}
	return s
}

type lineParser struct {
	b     []byte
	names *interned
}

func (p *lineParser) lit(s string) bool {
	if !bytes.HasPrefix(p.b, []byte(s)) {
		return false
	}
	p.b = p.b[len(s):]
	return true
}

// field reads `name"text"` into dst: the text as it is when it holds no escape (and is valid
// UTF-8), else as json.Unmarshal decodes it.
func (p *lineParser) field(name string, dst *string, intern bool) bool {
	if !p.lit(name) || len(p.b) == 0 || p.b[0] != '"' {
		return false
	}
	plain := true
	i := 1
	for ; i < len(p.b); i++ {
		c := p.b[i]
		if c == '"' {
			break
		}
		if c == '\\' {
			plain = false
			i++
		} else if c < 0x20 {
			return false
		}
	}
	if i >= len(p.b) {
		return false
	}
	raw := p.b[1:i]
	p.b = p.b[i+1:]
	if plain {
		if !utf8.Valid(raw) {
			return false
		}
		if intern && p.names != nil {
			if *p.names == nil {
				*p.names = interned{}
			}
			*dst = p.names.of(raw)
		} else {
			*dst = string(raw)
		}
		return true
	}
	return unquote(raw, dst)
}

// unquote decodes a JSON string's body with escapes.
func unquote(raw []byte, dst *string) bool {
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	return json.Unmarshal(q, dst) == nil
}

// parseTime reads "2006-01-02T15:04:05[.fraction]Z", as a UTC time.Time marshals; ok is false
// for any other form.
func parseTime(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nanos := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nanos = n
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	if t.Day() != day { // February 30th and the like: let time.Parse refuse it
		return time.Time{}, false
	}
	return t, true
}
