package digest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are statements any application user can send, each made about n bytes long: first
// issue 19's three, which took this package, rescanning the text, 20 to 60 s at 300 KB; then
// one for each other scan that could rescan (for a line comment's end, a list's, an insert's
// first row, the repeat of a select after a union).
var hostile = []hostileShape{
	{"hash-quote", func(n int) string { return "SELECT 1 " + strings.Repeat("#", n) + "'" }},
	{"open-comments", func(n int) string { return strings.Repeat("/* ", n/3) }},
	{"vtab-order-by", func(n int) string { return "SELECT a FROM t ORDER BY c" + strings.Repeat("\v", n) }},
	{"dash-quote", func(n int) string { return "SELECT 1 " + strings.Repeat("-", n) + `"` }},
	{"open-in-list", func(n int) string { return "SELECT a FROM t WHERE a IN (" + strings.Repeat("1, ", n/3) }},
	{"insert-rows", func(n int) string { return "INSERT INTO t (a, b) VALUES (1, 'x')" + strings.Repeat(", (2, 'y')", n/10) }},
	{"insert-late-row", func(n int) string { return "INSERT INTO t VALUES (1)" + strings.Repeat(" VALUES (1)", n/11) + ",(2)" }},
	{"distinct-unions", func(n int) string { return unionOf(n, letters) }},
	{"unions-apart", func(n int) string { // a select repeated, never right after itself
		return unionOf(n, func(j int) string {
			if j%2 == 0 {
				return "a"
			}
			return letters(j)
		})
	}},
	{"nested-selects", func(n int) string {
		k := n / 16
		return strings.Repeat("SELECT (", k) + "SELECT a UNION SELECT a" + strings.Repeat(")", k)
	}},
}

type hostileShape struct {
	name string
	make func(n int) string
}

// unionOf is about n bytes of SELECT <name(j)>, joined by UNION.
func unionOf(n int, name func(j int) string) string {
	var b strings.Builder
	for j := 0; b.Len() < n; j++ {
		if j > 0 {
			b.WriteString(" UNION ")
		}
		b.WriteString("SELECT " + name(j))
	}
	return b.String()
}

// maxSteps bounds fingerprint's steps on n bytes (after the cut): a dozen passes or so, and
// unionWork per byte for folding unions. A rescan per byte would take thousands per byte.
func maxSteps(n int) int { return (32+unionWork)*n + 64 }

// TestFingerprintWorkIsLinear counts fingerprint's steps on each hostile shape at 1 KiB,
// 8 KiB and just under MaxFingerprinted (all of it read): within maxSteps, a constant per byte.
func TestFingerprintWorkIsLinear(t *testing.T) {
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			var perByte []string
			for _, n := range []int{1 << 10, 8 << 10, MaxFingerprinted - 64} {
				q := h.make(n)
				_, steps := fingerprint(q)
				if steps > maxSteps(len(q)) {
					t.Errorf("%d bytes took %d steps, %.0f a byte; want at most %d", len(q), steps,
						float64(steps)/float64(len(q)), maxSteps(len(q)))
				}
				perByte = append(perByte, fmt.Sprintf("%.1f", float64(steps)/float64(len(q))))
			}
			t.Logf("steps per byte at 1 KiB, 8 KiB, 64 KiB: %s", strings.Join(perByte, ", "))
		})
	}
}

// TestFingerprintReadsABoundedPrefix: a 4 MiB hostile statement fingerprints as its first
// MaxFingerprinted bytes do, in the same steps; the cut keeps whole characters; and text past
// it changes nothing, while text before it does.
func TestFingerprintReadsABoundedPrefix(t *testing.T) {
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			q := h.make(4 << 20)
			fp, steps := fingerprint(q)
			want, wantSteps := fingerprint(q[:MaxFingerprinted]) // the shapes are ASCII
			if fp != want || steps != wantSteps {
				t.Errorf("4 MiB: %.60q… in %d steps; its prefix: %.60q… in %d steps", fp, steps, want, wantSteps)
			}
			if steps > maxSteps(MaxFingerprinted) {
				t.Errorf("4 MiB took %d steps, want at most %d", steps, maxSteps(MaxFingerprinted))
			}
		})
	}
	t.Run("whole characters", func(t *testing.T) {
		q := "select 'x" + strings.Repeat("é", MaxFingerprinted) // é at odd offsets: the cut falls inside one
		fp := Fingerprint(q)
		if !utf8.ValidString(fp) || len(fp) != MaxFingerprinted-1 || !strings.HasPrefix(fp, "select 'xé") {
			t.Errorf("%d bytes, valid UTF-8 %v: %.20q…; want %d bytes, whole characters", len(fp), utf8.ValidString(fp), fp,
				MaxFingerprinted-1)
		}
	})
	t.Run("not UTF-8", func(t *testing.T) {
		q := "select '" + strings.Repeat("\x80", 4<<20)
		if fp := Fingerprint(q); len(fp) != MaxFingerprinted-3 {
			t.Errorf("%d bytes, want %d: the cut looks no further back than a character's length", len(fp), MaxFingerprinted-3)
		}
	})
	t.Run("only the prefix counts", func(t *testing.T) {
		long := " from t where b in (" + strings.Repeat("c, ", MaxFingerprinted/3) + "d) and e = "
		x, y, z := Fingerprint("select a"+long+"1"), Fingerprint("select a"+long+"'f'"), Fingerprint("select b"+long+"1")
		if x != y {
			t.Errorf("statements alike for their first %d bytes fingerprint apart", MaxFingerprinted)
		}
		if x == z || !strings.HasPrefix(z, "select b from t where b in (c, c") {
			t.Errorf("statements apart in their first bytes fingerprint alike: %.40q…", z)
		}
	})
}

// FuzzFingerprintWork checks that no statement, nor any repeated to 16 KiB (how a short
// hostile pattern becomes a long one), takes fingerprint more than maxSteps, and that one
// repeated past MaxFingerprinted fingerprints as its cut, in as many steps.
func FuzzFingerprintWork(f *testing.F) {
	for _, h := range hostile {
		f.Add(h.make(1 << 10))
	}
	for _, q := range []string{"#'", "-- \"", "/* ", "order by c\v", "select a union select b union select a union ",
		"select (", "in (1, ", "insert into t values (1), (", "select a asc \vasc"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if q == "" {
			return
		}
		for _, q := range []string{q, strings.Repeat(q, (16<<10)/len(q)+1)} {
			if _, steps := fingerprint(q); steps > maxSteps(min(len(q), MaxFingerprinted)) {
				t.Errorf("%.60q… (%d bytes) took %d steps, want at most %d", q, len(q), steps, maxSteps(min(len(q), MaxFingerprinted)))
			}
		}
		long := strings.Repeat(q, MaxFingerprinted/len(q)+2)
		fp, steps := fingerprint(long)
		if want, wantSteps := fingerprint(cut(long, MaxFingerprinted)); fp != want || steps != wantSteps {
			t.Errorf("%q repeated to %d bytes: %.60q… in %d steps, its cut %.60q… in %d", q, len(long), fp, steps, want, wantSteps)
		}
	})
}

// BenchmarkFingerprintHostile fingerprints each hostile shape at 1 KB, 64 KB, 1 MB and 4 MB.
// ns/byte is per byte of the statement: flat to MaxFingerprinted, falling after it, as only
// that much is read (ns/byte-read stays flat).
func BenchmarkFingerprintHostile(b *testing.B) { benchHostile(b, true) }

// BenchmarkFingerprintScansHostile runs the same passes over the whole statement, without the
// cut, to show them linear: ns/byte flat from 1 KB to 4 MB.
func BenchmarkFingerprintScansHostile(b *testing.B) { benchHostile(b, false) }

func benchHostile(b *testing.B, cutting bool) {
	for _, h := range hostile {
		for _, size := range []struct {
			name string
			n    int
		}{{"1KB", 1 << 10}, {"64KB", 64 << 10}, {"1MB", 1 << 20}, {"4MB", 4 << 20}} {
			q := h.make(size.n)
			b.Run(h.name+"/"+size.name, func(b *testing.B) {
				for range b.N {
					if cutting {
						Fingerprint(q)
					} else {
						var s scan
						s.fingerprint(q)
					}
				}
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(ns/float64(len(q)), "ns/byte")
				if cutting {
					b.ReportMetric(ns/float64(min(len(q), MaxFingerprinted)), "ns/byte-read")
				}
			})
		}
	}
}

// TestUnionFoldingGivesUp: once folding unions has taken unionWork steps a byte, the rest of
// the text stays as it is, so a repeat after a long run of unions that never repeat next to
// each other is left unfolded; after a short run it folds, as the toolkit would. (At 256 KiB,
// past the cut, so collapseUnions is called itself.)
func TestUnionFoldingGivesUp(t *testing.T) {
	apart := hostile[slices.IndexFunc(hostile, func(h hostileShape) bool { return h.name == "unions-apart" })]
	for _, tt := range []struct {
		n     int
		folds bool
	}{{4 << 10, true}, {256 << 10, false}} {
		q := strings.ToLower(apart.make(tt.n) + " UNION SELECT z UNION SELECT z")
		var s scan
		fp := string(s.collapseUnions([]byte(q)))
		if folds := strings.HasSuffix(fp, " select z /*repeat union*/"); folds != tt.folds {
			t.Errorf("%d bytes: folds the last repeat %v, want %v (%d steps a byte): …%q", len(q), folds, tt.folds,
				s.steps/len(q), fp[len(fp)-40:])
		}
		if !tt.folds && fp != q {
			t.Errorf("%d bytes: the text changed", len(q))
		}
		if s.steps > (4+unionWork)*len(q)+64 {
			t.Errorf("%d bytes took %d steps, want at most %d", len(q), s.steps, (4+unionWork)*len(q)+64)
		}
	}
}
