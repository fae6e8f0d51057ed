package digest

import (
	"strings"
	"testing"
)

// cacheSize adds up what c holds, from its map rather than its own count, and checks the
// bounds of each entry.
func cacheSize[V any](t testing.TB, name string, c *textCache[V]) int {
	t.Helper()
	size := 0
	for fp := range c.m {
		if len(fp) > MaxText {
			t.Errorf("%s keeps a fingerprint of %d bytes, over MaxText", name, len(fp))
		}
		size += len(fp) + cacheEntryBytes
	}
	if size != c.bytes || size > cacheBytes || len(c.m) > cacheEntries {
		t.Errorf("%s holds %d entries in %d bytes (counted %d); want at most %d in %d", name, len(c.m), size, c.bytes,
			cacheEntries, cacheBytes)
	}
	return size
}

// TestCachesAreBoundedByBytes folds thousands of statements of distinct 3 KB fingerprints,
// and some past MaxText: the caches stay within cacheBytes, the texts the State keeps within
// MaxTextTotal (and ShortText each past it), and every statement still counts under its own
// fingerprint's ID, whether the caches had room for it or not.
func TestCachesAreBoundedByBytes(t *testing.T) {
	var cl Classifier
	classified, added := New(), New()
	pad := strings.Repeat("x ", 1500)
	var qs []string
	for i := range 3000 {
		qs = append(qs, "select "+letters(i)+" from t where "+pad)
	}
	for i := range 20 {
		qs = append(qs, "select "+letters(i)+" from u where "+strings.Repeat(pad, 20))
	}
	ids := map[string]bool{}
	for i, q := range qs {
		st := Statement{Time: at(i), Thread: 1, User: "app", SQL: q}
		c := cl.Classify(q)
		if want := Fingerprint(q); c.Fingerprint != want || c.ID != ID(want) {
			t.Fatalf("statement %d classified as %.30q… %s, want %.30q… %s", i, c.Fingerprint, c.ID, want, ID(want))
		}
		ids[c.ID] = true
		classified.AddClassified(st, c)
		added.Add(st)
		if i == len(qs)/2 { // and again, once the caches are full
			classified.AddClassified(st, cl.Classify(q))
			added.Add(st)
		}
	}
	if cacheSize(t, "the Classifier", &cl.ids) < cacheBytes-MaxText-cacheEntryBytes {
		t.Errorf("the Classifier's cache stopped short of its bytes: the test does not fill it")
	}
	for name, s := range map[string]*State{"AddClassified": classified, "Add": added} {
		t.Run(name, func(t *testing.T) {
			cacheSize(t, "the State", &s.byText)
			for _, s := range []*State{s, reload(t, s)} {
				text, short := 0, 0
				for _, c := range s.classes {
					text += len(c.fingerprint) + len(c.sample)
					if len(c.sample) <= ShortText {
						short++
					}
				}
				if text != s.textBytes || text > MaxTextTotal+2*ShortText*short || short == 0 {
					t.Errorf("the classes keep %d bytes of text (counted %d), %d of them cut short; want at most %d",
						text, s.textBytes, short, MaxTextTotal+2*ShortText*short)
				}
			}
			r := s.Report(Query{Limit: MaxLimit})
			if r.Statements != int64(len(qs)+1) || len(s.classes) != len(ids) {
				t.Errorf("%d statements in %d rows, want %d in %d", r.Statements, len(s.classes), len(qs)+1, len(ids))
			}
			if top := r.Fingerprints[0]; top.Count != 2 || ID(Fingerprint(qs[len(qs)/2])) != top.ID {
				t.Errorf("top row %s with %d, want the statement folded twice", top.ID, top.Count)
			}
		})
	}
}
