package replay

import "strings"

// flags are what Prepare finds out about a step, once, so the runner decides nothing from text.
type flags uint16

const (
	flagReadOnly    flags = 1 << iota // cannot write: read-only mode sends it
	flagRows                          // returns result sets (sent as a query, its rows counted)
	flagInTxn                         // the session is inside a transaction once it has run
	flagLast                          // the session's last step
	flagUse                           // USE db: the session's database is then the step's
	flagTempTable                     // creates a temporary table (lost at a hand-off)
	flagUserVarSet                    // sets user variables by SET (run again after a hand-off)
	flagUserVarInto                   // sets user variables otherwise (SELECT ... INTO @v: lost)
	flagSetting                       // sets session variables (run again after a hand-off)
	flagTxnStart                      // opens a transaction: the step carries when it ends
)

// class is what classify finds of one statement.
type class struct {
	flags      flags
	begins     bool // opens a transaction explicitly (BEGIN, START TRANSACTION)
	ends       bool // ends one (COMMIT, ROLLBACK, or a statement that commits implicitly)
	autocommit int  // 0 unchanged, 1 sets autocommit on, -1 off
}

// classify reads a statement's leading keywords and the words it holds outside quotes and
// comments. It is conservative: only what surely cannot write is flagReadOnly; anything it
// does not recognise may write (the server's read-only transaction is the backstop). A
// backslash inside quotes escapes or not as the session's sql_mode says (NO_BACKSLASH_ESCAPES,
// ANSI_QUOTES): a statement is read-only only if it is read either way.
func classify(sql string) class {
	c := classifyQuoted(sql, true)
	if c.flags&flagReadOnly != 0 && strings.IndexByte(sql, '\\') >= 0 &&
		classifyQuoted(sql, false).flags&flagReadOnly == 0 {
		c.flags &^= flagReadOnly
	}
	return c
}

// classifyQuoted is classify with backslashes in quoted strings read as escapes or not.
func classifyQuoted(sql string, escapes bool) class {
	var scratch [48]string
	w, whole := words(scratch[:0], sql, maxWords, escapes)
	var c class
	if len(w) == 0 {
		return c
	}
	first, second := strings.ToUpper(w[0]), ""
	if len(w) > 1 {
		second = strings.ToUpper(w[1])
	}
	has := func(words ...string) bool { return hasWord(w, words...) }
	switch first {
	case "(", "SELECT":
		c.flags |= flagRows
		switch {
		case has("INTO"):
			c.flags &^= flagRows
			if hasUserVar(w) {
				c.flags |= flagUserVarInto
			}
		case !has("UPDATE"): // FOR UPDATE locks rows as a write would
			c.flags |= flagReadOnly
		}
	case "WITH":
		c.flags |= flagRows
		if !has("INSERT", "UPDATE", "DELETE", "REPLACE", "INTO") {
			c.flags |= flagReadOnly
		}
	case "SHOW", "HELP":
		c.flags |= flagRows | flagReadOnly
	case "EXPLAIN", "DESCRIBE", "DESC": // synonyms
		c.flags |= flagRows
		if !has("ANALYZE") { // EXPLAIN ANALYZE runs the statement
			c.flags |= flagReadOnly
		}
	case "VALUES", "TABLE", "CALL", "CHECK", "CHECKSUM", "ANALYZE", "OPTIMIZE", "REPAIR":
		c.flags |= flagRows
	case "USE":
		c.flags |= flagReadOnly | flagUse
	case "BEGIN":
		if second != "NOT" { // BEGIN NOT ATOMIC is a compound statement
			c.begins = true
			c.flags |= flagReadOnly
		}
	case "START":
		if second == "TRANSACTION" {
			c.begins = true
			if !has("WRITE") {
				c.flags |= flagReadOnly
			}
		}
	case "COMMIT", "ROLLBACK":
		c.ends = !(first == "ROLLBACK" && has("TO")) // ROLLBACK TO SAVEPOINT keeps it open
		c.flags |= flagReadOnly
	case "SAVEPOINT", "RELEASE":
		c.flags |= flagReadOnly
	case "SET":
		c = classifySet(w)
	}
	if !whole {
		c.flags &^= flagReadOnly // words past maxWords were not read
	}
	switch first {
	case "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE", "GRANT", "REVOKE", "LOCK", "UNLOCK",
		"FLUSH", "ANALYZE", "OPTIMIZE", "REPAIR", "INSTALL", "UNINSTALL":
		if second == "TEMPORARY" {
			if first == "CREATE" {
				c.flags |= flagTempTable
			}
		} else {
			c.ends = true // an implicit commit
		}
	}
	return c
}

// classifySet classifies SET: session settings and user variables may be set in read-only
// mode, but nothing global, no password, and no way back to read-write.
func classifySet(w []string) class {
	c := class{flags: flagReadOnly}
	for i, x := range w {
		x = strings.ToUpper(x)
		switch {
		case x == "GLOBAL" || x == "PERSIST" || x == "PERSIST_ONLY" || x == "PASSWORD" || x == "STATEMENT" ||
			x == "WRITE" || x == "ROLE" || x == "@@GLOBAL" || strings.HasPrefix(x, "@@PERSIST") ||
			strings.Contains(x, "READ_ONLY"):
			c.flags &^= flagReadOnly
		case x == "AUTOCOMMIT" || x == "@@AUTOCOMMIT": // @@SESSION.AUTOCOMMIT is @@SESSION and AUTOCOMMIT
			if i+2 < len(w) && w[i+1] == "=" {
				switch strings.ToUpper(w[i+2]) {
				case "0", "OFF", "FALSE":
					c.autocommit = -1
				case "1", "ON", "TRUE":
					c.autocommit = 1
				}
			}
		}
	}
	if hasUserVar(w) {
		c.flags |= flagUserVarSet
	} else {
		c.flags |= flagSetting
	}
	return c
}

func hasUserVar(w []string) bool {
	for _, x := range w {
		if len(x) > 1 && x[0] == '@' && x[1] != '@' {
			return true
		}
	}
	return false
}

// maxWords bounds the words classify reads: a statement with more is not read-only.
const maxWords = 4096

// hasWord reports whether w holds one of words, in any case.
func hasWord(w []string, words ...string) bool {
	for _, x := range w {
		for _, y := range words {
			if len(x) == len(y) && strings.EqualFold(x, y) {
				return true
			}
		}
	}
	return false
}

// words appends to out at most max words of sql outside quoted strings and comments (the
// body of an executable comment, MySQL's /*! and MariaDB's /*M!, is read as SQL), and says
// whether that was all of them. A word is letters, digits, _, $ and @, and ends where letters
// follow a digit (the server reads 1e1INTO as a number and INTO); a quoted name (`...`) is a
// word; "(", "=" and ";" are words of their own; dots and other punctuation separate (a
// server reads @@GLOBAL/**/.x, or @@global .x, as @@GLOBAL.x). escapes says whether a
// backslash in a quoted string escapes the next character.
func words(out []string, sql string, max int, escapes bool) ([]string, bool) {
	for i := 0; i < len(sql); {
		if len(out) == max {
			return out, false
		}
		ch := sql[i]
		switch {
		case ch == '`':
			j := skipQuoted(sql, i, false)
			out = append(out, strings.TrimSuffix(sql[i+1:j], "`"))
			i = j
		case ch == '\'' || ch == '"':
			i = skipQuoted(sql, i, escapes)
		case ch == '#' || ch == '-' && strings.HasPrefix(sql[i:], "-- "):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case ch == '/' && (strings.HasPrefix(sql[i:], "/*!") || strings.HasPrefix(sql[i:], "/*M!")):
			i += 3
			if sql[i-1] == 'M' {
				i++
			}
			for i < len(sql) && sql[i] >= '0' && sql[i] <= '9' {
				i++
			}
		case ch == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return out, true
			}
			i += end + 4
		case isWordByte(ch):
			j := i + 1
			for j < len(sql) && isWordByte(sql[j]) && !(isDigit(sql[j-1]) && isLetter(sql[j])) {
				j++
			}
			out = append(out, sql[i:j])
			i = j
		case ch == '(' || ch == '=' || ch == ';':
			out = append(out, sql[i:i+1])
			i++
		default:
			i++
		}
	}
	return out, true
}

// skipQuoted returns the index after the quoted text starting at i (doubled quotes, and with
// escapes backslash escapes, inside it).
func skipQuoted(s string, i int, escapes bool) int {
	q := s[i]
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if escapes {
				i++
			}
		case q:
			if i+1 < len(s) && s[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return i
}

func isWordByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '$' || c == '@' || c >= 0x80
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
