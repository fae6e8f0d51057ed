package digest

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// generated returns n statements made of what the rules look for, in arrangements the corpus
// has few of: selects repeated after unions (next to each other or not, nested, with union
// words of every spacing), and loose runs of comment marks, quotes, spaces of every kind,
// ORDER BY and ASC, lists, numbers and words.
func generated(n int) []string {
	r := rand.New(rand.NewPCG(7, 9))
	selects := []string{"select a", "select b", "select a from t", "SELECT a", "select 1", "select\va", "select  a",
		"select a union", "select (select a union select a)", "select x from (select a union all select a) y", "selectx a",
		"select", "select ", "select a where b in (1, 2)"}
	unions := []string{" union ", " union all ", " UNION ", " union\v", "\vunion ", " union  all ", " union\nall ",
		"\nunion\n", " union allx ", ", ", " union union ", " union all all ", " "}
	prefixes := []string{"", "", "(", "insert into t ", "select * from (", "select a union ", "x "}
	suffixes := []string{"", "", ")", " order by a asc", " limit 1, 2", " # c", " -- c\n", " /* c */", " union", " union select"}
	tokens := []string{"#", "--", "-", "'", `"`, `\'`, "/*", "*/", "/*!", "/**/", "\n", "\r", "\v", " ", "\t", "\f",
		"order by ", "ORDER BY ", " asc", "\vasc", "ASC", "asc", "a", "in", "(", ")", "?", ",", "1", "0x1f", "-2",
		"null", "true", "limit ", " ?", "values", "x", "select ", "union ", "all ", "\xc3\xa9", "use ", "call ",
		"/*db.tbl:1/2*/", "/*db.tbl:1/2*", "/*db.:1/2*/", "/*d_1.t:12/2*/", "/*db", ".t", ":1/2*/", "*/"}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		if i%2 == 0 {
			pool := make([]string, 1+r.IntN(3))
			for j := range pool {
				pool[j] = selects[r.IntN(len(selects))]
			}
			b.WriteString(prefixes[r.IntN(len(prefixes))])
			for j := range 1 + r.IntN(8) {
				if j > 0 {
					b.WriteString(unions[r.IntN(len(unions))])
				}
				b.WriteString(pool[r.IntN(len(pool))])
			}
			b.WriteString(suffixes[r.IntN(len(suffixes))])
		} else {
			for range 1 + r.IntN(25) {
				b.WriteString(tokens[r.IntN(len(tokens))])
			}
		}
		out[i] = b.String()
	}
	return out
}

// TestFingerprintAgreesWithToolkitOnGenerated holds Fingerprint to pt-query-digest on the
// generated statements, the shortcuts that keep its work linear (in folding unions above all)
// included.
func TestFingerprintAgreesWithToolkitOnGenerated(t *testing.T) {
	qs := generated(6000)
	want := toolkitFingerprints(t, "pt-query-digest", qs)
	folded, bad := 0, 0
	for i, q := range qs {
		got := Fingerprint(q)
		if strings.Contains(want[i], "/*repeat") {
			folded++
		}
		if got != want[i] {
			if bad++; bad <= 20 {
				t.Errorf("Fingerprint(%q)\n got %q\nwant %q (pt-query-digest)", q, got, want[i])
			}
		}
	}
	if bad > 20 {
		t.Errorf("and %d more", bad-20)
	}
	if folded < len(qs)/10 {
		t.Errorf("the toolkit folded unions in only %d of %d statements: the generator tests too little of that", folded, len(qs))
	}
	t.Logf("%d statements, %d with unions folded", len(qs), folded)
}
