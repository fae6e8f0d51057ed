package digest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// toolkitDriver calls the fingerprint function of an installed Percona Toolkit script
// (pt-query-digest or pt-fingerprint, each a module too) on each NUL-separated statement of
// its input, as pt-fingerprint --query does for one, without the splitting on ";\n" its file
// mode does first.
const toolkitDriver = `
require $ARGV[0];
my $qr = QueryRewriter->new(QueryParser => QueryParser->new());
my $all = do { local $/; <STDIN> };
binmode STDOUT;
print $qr->fingerprint($_), "\0" for split /\0/, $all, -1;
`

// toolkit is the path of one of Percona Toolkit's tools, which .ci/deps installs.
func toolkit(t testing.TB, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s is not installed (Debian's percona-toolkit; .ci/deps installs it): %v", tool, err)
	}
	return path
}

// toolkitFingerprints asks tool's fingerprint code for the fingerprints of qs.
func toolkitFingerprints(t testing.TB, tool string, qs []string) []string {
	t.Helper()
	cmd := exec.Command("perl", "-e", toolkitDriver, toolkit(t, tool))
	cmd.Stdin = strings.NewReader(strings.Join(qs, "\x00"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pt-fingerprint: %v: %s", err, stderr.String())
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(qs) {
		t.Fatalf("pt-fingerprint gave %d fingerprints for %d statements", len(got), len(qs))
	}
	return got
}

func loadCorpus(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile("testdata/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var qs []string
	if err := json.Unmarshal(raw, &qs); err != nil {
		t.Fatal(err)
	}
	return qs
}

// TestFingerprintAgreesWithToolkit holds Fingerprint to the toolkit on the whole corpus:
// sysbench's statements as a real server logged them, the README's, and hand-made tricky ones
// (quotes and escapes, comments, hex and signed numbers, booleans, IN lists, multi-row
// inserts, unions, LIMIT and ORDER BY forms, USE, CALL, odd whitespace, non-ASCII text). It
// must agree with pt-query-digest on every statement, and with pt-fingerprint on every one
// but those with TRUE or FALSE, which pt-fingerprint's older copy of the rules leaves alone.
func TestFingerprintAgreesWithToolkit(t *testing.T) {
	qs := loadCorpus(t)
	if len(qs) < 300 {
		t.Fatalf("the corpus has %d statements, want at least 300", len(qs))
	}
	digest := toolkitFingerprints(t, "pt-query-digest", qs)
	fingerprint := toolkitFingerprints(t, "pt-fingerprint", qs)
	agree, booleans := 0, 0
	for i, q := range qs {
		got := Fingerprint(q)
		if got != digest[i] {
			t.Errorf("Fingerprint(%q)\n got %q\nwant %q (pt-query-digest)", q, got, digest[i])
			continue
		}
		agree++
		if got != fingerprint[i] {
			if !containsWord([]byte(strings.ToLower(q)), "true") && !containsWord([]byte(strings.ToLower(q)), "false") {
				t.Errorf("Fingerprint(%q)\n got %q\nwant %q (pt-fingerprint)", q, got, fingerprint[i])
			}
			booleans++
		}
	}
	if booleans == 0 {
		t.Error("no statement with TRUE or FALSE in the corpus: the one rule the tools differ on is untested")
	}
	t.Logf("%d of %d statements fingerprint as pt-query-digest does; pt-fingerprint differs on the %d with booleans",
		agree, len(qs), booleans)
}

// TestToolkitDriverIsTheCLI checks that the driver above answers as pt-fingerprint --query
// itself, so the corpus test compares with the real tool.
func TestToolkitDriverIsTheCLI(t *testing.T) {
	qs := []string{"SELECT c FROM sbtest1 WHERE id=5010", "select a from t order by a asc limit 5, 10",
		"INSERT INTO t VALUES (1,'a'),(2,'b')", "use mydb", "CALL p(1)", "select 0xFF, -1 from t2 # x"}
	want := toolkitFingerprints(t, "pt-fingerprint", qs)
	for i, q := range qs {
		// pt-fingerprint exits with its last print's value, 1, even when all went well.
		out, err := exec.Command(toolkit(t, "pt-fingerprint"), "--query", q).Output()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != want[i] {
			t.Errorf("pt-fingerprint --query %q = %q, the driver says %q", q, got, want[i])
		}
	}
}

// TestIDIsTheDigestChecksum runs pt-query-digest over a general log of the corpus's
// one-line statements and checks, for every class it reports, that ID is its checksum (the
// last 16 hex digits: Percona Toolkit 3 prints all 32, 2.x and PMM the last 16) and that
// Fingerprint of the class's sample is its fingerprint.
func TestIDIsTheDigestChecksum(t *testing.T) {
	toolkit(t, "pt-query-digest")
	var log strings.Builder
	log.WriteString("/usr/sbin/mariadbd, Version: 10.11.14-MariaDB-0+deb12u2-log (Debian 12). started with:\n")
	log.WriteString("Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime\t\t    Id Command\tArgument\n")
	n := 0
	for _, q := range loadCorpus(t) {
		// One line each, in ASCII: pt-query-digest decodes a log file as UTF-8 and would then
		// lowercase non-ASCII letters too, which a workload's bytes are not.
		if strings.ContainsAny(q, "\r\n\t\v\f") || strings.TrimSpace(q) != q || q == "" || !isASCII(q) {
			continue
		}
		fmt.Fprintf(&log, "\t\t    5 Query\t%s\n", q)
		n++
	}
	path := filepath.Join(t.TempDir(), "general.log")
	if err := os.WriteFile(path, []byte(log.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pt-query-digest", "--type", "genlog", "--output", "json", "--limit", "100%:100000",
		"--no-version-check", path).Output()
	if err != nil {
		t.Fatalf("pt-query-digest: %v", err)
	}
	var report struct {
		Classes []struct {
			Checksum, Fingerprint string
			Example               struct{ Query string }
		}
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Classes) < 100 {
		t.Fatalf("pt-query-digest found %d classes in %d statements", len(report.Classes), n)
	}
	for _, c := range report.Classes {
		if got := ID(c.Fingerprint); got != c.Checksum[len(c.Checksum)-16:] {
			t.Errorf("ID(%q) = %s, pt-query-digest's checksum is %s", c.Fingerprint, got, c.Checksum)
		}
		if got := Fingerprint(c.Example.Query); got != c.Fingerprint && !strings.HasPrefix(c.Fingerprint, "administrator command") {
			t.Errorf("Fingerprint(%q) = %q, pt-query-digest says %q", c.Example.Query, got, c.Fingerprint)
		}
	}
	t.Logf("%d classes from %d statements", len(report.Classes), n)
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzFingerprint checks that no statement makes Fingerprint panic or loop, grow more than
// its folds add, or keep an upper-case ASCII letter (but in an administrator command, kept as
// it is), and that callName, hasToolkitComment and firstRow agree with the toolkit's
// patterns. FuzzFingerprintWork bounds its work.
func FuzzFingerprint(f *testing.F) {
	for _, q := range []string{"select 1", "select 'a", "insert into t values (1),(2)", "REPLACE IGNORE INTO t VALUES (1) , (2)",
		"/*db.tbl:1/2*/", "/*", "-- x", "call p(", "use x\n",
		"select a from t union select a from t", "select * from t order by a asc", "limit ?, ?"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if got, want := new(scan).hasToolkitComment(q), toolkitComment.MatchString(q); got != want {
			t.Errorf("hasToolkitComment(%q) = %v, the toolkit's pattern says %v", q, got, want)
		}
		sameFirstRow(t, q)
		sameCallName(t, q)
		fp := Fingerprint(q)
		if len(fp) > len(q)+len(" /*repeat union all*/")+len("(?+)") && !strings.Contains(fp, "repeat") {
			t.Errorf("Fingerprint(%q) = %q grew", q, fp)
		}
		if i := strings.IndexFunc(fp, func(r rune) bool { return 'A' <= r && r <= 'Z' }); i >= 0 &&
			!strings.HasPrefix(q, "administrator command: ") {
			t.Errorf("Fingerprint(%q) = %q keeps an upper-case letter", q, fp)
		}
		_ = ID(fp)
	})
}

// The toolkit's patterns for what callName, hasToolkitComment and firstRow look for.
var (
	callProc       = regexp.MustCompile(`^[\t\n\v\f\r ]*([Cc][Aa][Ll][Ll][\t\n\v\f\r ]+[^\t\n\v\f\r ]+)\(`)
	toolkitComment = regexp.MustCompile(`/\*\w+\.\w+:[0-9]/[0-9]\*/`)
	multiRowInsert = regexp.MustCompile(`(?s)^((?:[Ii][Nn][Ss][Ee][Rr][Tt]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee])(?: [Ii][Gg][Nn][Oo][Rr][Ee])?[\t\n\v\f\r ]+[Ii][Nn][Tt][Oo].+?[Vv][Aa][Ll][Uu][Ee][Ss][\t\n\v\f\r ]*\(.*?\))[\t\n\v\f\r ]*,[\t\n\v\f\r ]*\(`)
)

// sameFirstRow reports where firstRow and the toolkit's pattern differ on q.
func sameFirstRow(t testing.TB, q string) {
	t.Helper()
	row, ok := new(scan).firstRow(q)
	var want string
	m := multiRowInsert.FindStringSubmatch(q)
	if m != nil {
		want = m[1]
	}
	if ok != (m != nil) || row != want {
		t.Errorf("firstRow(%q) = %q, %v; the toolkit's pattern says %q, %v", q, row, ok, want, m != nil)
	}
}

func TestFirstRow(t *testing.T) {
	for _, q := range []string{"INSERT INTO t VALUES (1),(2)", "insert into t values(1) , (2)", "REPLACE INTO t VALUES (1),\n(2)",
		"INSERT IGNORE INTO t VALUES (1),(2)", "INSERT  IGNORE INTO t VALUES (1),(2)", "INSERT IGNOREX INTO t VALUES (1),(2)",
		"INSERT INTO myvalues (a) VALUES (1),(2)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1), 2", "INSERT INTOVALUES (1),(2)",
		"INSERT INTO VALUES (1),(2)", "INSERT INTO t VALUESX (1) VALUES (2),(3)", "INSERT INTO t VALUES (')'),(2)", "insertinto t values (1),(2)",
		"INSERT\tINTO t SELECT 1 VALUES (1)\n,\v(2)", "INSERT INTO t VALUES ()(),()", "INSERT INTO t VALUES (1) VALUES (2),(3)",
		"UPDATE t SET a=1", "INSERT", "INSERT INTO", "INSERT INTO t VALUES", "INSERT INTO t VALUES (", "INSERT INTO t VALUES (1),",
		"INSERT INTO t VALUES (1),(", "INSERT INTO t VALUES (1)) , ((2)"} {
		sameFirstRow(t, q)
	}
}

// sameCallName reports where callName and the toolkit's pattern differ on q.
func sameCallName(t testing.TB, q string) {
	t.Helper()
	name, ok := new(scan).callName(q)
	var want string
	m := callProc.FindStringSubmatch(q)
	if m != nil {
		want = lowerASCII(m[1])
	}
	if ok != (m != nil) || name != want {
		t.Errorf("callName(%q) = %q, %v; the toolkit's pattern says %q, %v", q, name, ok, want, m != nil)
	}
}

func TestCallName(t *testing.T) {
	for _, q := range []string{"CALL p(1)", " \tcall\np()", "Call db.p(1)(2) x", "CALL p(1) (2)", "CALL (1)", "CALL p", "CALLp(1)",
		"CALL  p((", "call p x(1)", "call", "call ", "xcall p(1)", "CALL P\v(1)", "CALL é(1)", ""} {
		sameCallName(t, q)
	}
}

func TestHasToolkitComment(t *testing.T) {
	for _, q := range []string{"/*db.tbl:1/2*/", "select 1 /*db.tbl:1/2*/", "/*db.tbl:1/2*", "/*db.:1/2*/", "/*.t:1/2*/",
		"/*d_1.T2:0/9*/ x", "/*db.tbl:12/2*/", "/*db.tbl:1/23*/", "/* db.tbl:1/2*/", "/*/*db.tbl:1/2*/", "/*db.tbl.x:1/2*/",
		"/*db/*tbl.x:1/2*/", "/*db.t/*bl:1/2*/", "/*a.b:1/2*//*c.d:3/4*/", "/*db.tbl:a/2*/", "", "/*", "/*a.b:1/2*"} {
		if got, want := new(scan).hasToolkitComment(q), toolkitComment.MatchString(q); got != want {
			t.Errorf("hasToolkitComment(%q) = %v, the toolkit's pattern says %v", q, got, want)
		}
	}
}
