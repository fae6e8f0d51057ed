package digest

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// fold adds sts to a new State; with roundTrip, the state goes through Encode and Decode half
// way, as a collection that resumes from the state stored with the last fragment does.
func fold(t testing.TB, sts []Statement, roundTrip bool) *State {
	t.Helper()
	s := New()
	for i, st := range sts {
		if roundTrip && i == len(sts)/2 {
			s = reload(t, s)
		}
		s.Add(st)
	}
	return s
}

func reload(t testing.TB, s *State) *State {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	out, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var sample = []Statement{
	{at(0), 1, "app", "shop", "SELECT c FROM sbtest1 WHERE id=1"},
	{at(100), 1, "app", "shop", "SELECT c FROM sbtest1 WHERE id=2"},
	{at(200), 2, "app", "shop", "SELECT c FROM sbtest2 WHERE id=3"},
	{at(300), 3, "report", "shop", "select c from sbtest1 where id=4"},
	{at(1500), 3, "report", "stats", "SELECT COUNT(*) FROM orders"},
	{at(2500), 4, "admin", "", "SHOW PROCESSLIST"},
}

func TestReport(t *testing.T) {
	point := ID("select c from sbtest? where id=?")
	count := ID("select count(*) from orders")
	show := ID("show processlist")
	tests := []struct {
		name       string
		q          Query
		statements int64
		sessions   int
		rows       map[string]int64 // ID → count
		first      Row              // the top row's users, databases, times and sample
	}{
		{"all", Query{}, 6, 4, map[string]int64{point: 4, count: 1, show: 1},
			Row{Users: map[string]int64{"app": 3, "report": 1}, Databases: map[string]int64{"shop": 4},
				FirstSeen: at(0), LastSeen: at(300), Sample: "SELECT c FROM sbtest1 WHERE id=1"}},
		{"one user", Query{User: "report"}, 2, 1, map[string]int64{point: 1, count: 1}, // a tie: by ID
			Row{Users: map[string]int64{"report": 1}, Databases: map[string]int64{"stats": 1},
				FirstSeen: at(1500), LastSeen: at(1500), Sample: "SELECT COUNT(*) FROM orders"}},
		{"one database", Query{DB: "shop"}, 4, 3, map[string]int64{point: 4},
			Row{Users: map[string]int64{"app": 3, "report": 1}, Databases: map[string]int64{"shop": 4},
				FirstSeen: at(0), LastSeen: at(300), Sample: "SELECT c FROM sbtest1 WHERE id=1"}},
		{"user and database", Query{User: "report", DB: "stats"}, 1, 1, map[string]int64{count: 1},
			Row{Users: map[string]int64{"report": 1}, Databases: map[string]int64{"stats": 1},
				FirstSeen: at(1500), LastSeen: at(1500), Sample: "SELECT COUNT(*) FROM orders"}},
		{"unknown database is not a database", Query{User: "admin"}, 1, 1, map[string]int64{show: 1},
			Row{Users: map[string]int64{"admin": 1}, Databases: map[string]int64{},
				FirstSeen: at(2500), LastSeen: at(2500), Sample: "SHOW PROCESSLIST"}},
		{"nobody", Query{User: "ghost"}, 0, 0, map[string]int64{}, Row{}},
		{"limit", Query{Limit: 1}, 6, 4, map[string]int64{point: 4},
			Row{Users: map[string]int64{"app": 3, "report": 1}, Databases: map[string]int64{"shop": 4},
				FirstSeen: at(0), LastSeen: at(300), Sample: "SELECT c FROM sbtest1 WHERE id=1"}},
	}
	for _, roundTrip := range []bool{false, true} {
		s := fold(t, sample, roundTrip)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/roundTrip=%v", tt.name, roundTrip), func(t *testing.T) {
				r := s.Report(tt.q)
				if r.Statements != tt.statements || r.Sessions != tt.sessions {
					t.Errorf("statements %d, sessions %d; want %d, %d", r.Statements, r.Sessions, tt.statements, tt.sessions)
				}
				got := map[string]int64{}
				for _, row := range r.Fingerprints {
					got[row.ID] = row.Count
				}
				if !reflect.DeepEqual(got, tt.rows) {
					t.Errorf("rows %v, want %v", got, tt.rows)
				}
				if !slices.IsSortedFunc(r.Fingerprints, func(a, b Row) int {
					if a.Count != b.Count {
						return int(b.Count - a.Count)
					}
					return strings.Compare(a.ID, b.ID)
				}) {
					t.Errorf("rows not by count, then ID: %+v", r.Fingerprints)
				}
				if len(r.Fingerprints) == 0 {
					return
				}
				top := r.Fingerprints[0]
				if !reflect.DeepEqual(top.Users, tt.first.Users) || !reflect.DeepEqual(top.Databases, tt.first.Databases) ||
					!top.FirstSeen.Equal(tt.first.FirstSeen) || !top.LastSeen.Equal(tt.first.LastSeen) || top.Sample != tt.first.Sample {
					t.Errorf("top row %+v, want %+v", top, tt.first)
				}
				if want := float64(top.Count) / float64(r.Statements); top.Share < want-0.00005 || top.Share > want+0.00005 {
					t.Errorf("share %v, want %.4f", top.Share, want)
				}
			})
		}
	}
}

func TestTimeline(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		bucket int64
		points int
	}{
		{"a minute in seconds", time.Minute, 1, 61},
		{"1,000 seconds still in seconds", 999 * time.Second, 1, 1000},
		{"half an hour in tens of seconds", 30 * time.Minute, 10, 181},
		{"a day in 5 minutes", 24 * time.Hour, 300, 289},
		{"31 days in hours", 31 * 24 * time.Hour, 3600, 745},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One statement at each end of the window and one in the middle.
			sts := []Statement{
				{t0, 1, "app", "", "select 1"},
				{t0.Add(tt.window / 2), 1, "app", "", "select 2"},
				{t0.Add(tt.window), 2, "app", "", "select 3"},
			}
			for _, roundTrip := range []bool{false, true} {
				r := fold(t, sts, roundTrip).Report(Query{From: t0, To: t0.Add(tt.window)})
				tl := r.Timeline
				if tl.BucketSeconds != tt.bucket || len(tl.Points) != tt.points {
					t.Fatalf("%d points of %d s, want %d of %d s", len(tl.Points), tl.BucketSeconds, tt.points, tt.bucket)
				}
				var sum int64
				for i, p := range tl.Points {
					sum += p.Statements
					if want := t0.Add(time.Duration(int64(i)*tt.bucket) * time.Second); !p.Time.Equal(want) {
						t.Fatalf("point %d at %v, want %v", i, p.Time, want)
					}
				}
				if sum != 3 || tl.Points[0].Statements != 1 || tl.Points[len(tl.Points)-1].Statements != 1 {
					t.Errorf("points hold %d statements, first %d, last %d; want 3, 1, 1", sum,
						tl.Points[0].Statements, tl.Points[len(tl.Points)-1].Statements)
				}
			}
		})
	}
	if r := New().Report(Query{}); r.Timeline.Points == nil || len(r.Timeline.Points) != 0 {
		t.Errorf("no window: %+v, want no points", r.Timeline)
	}
}

// TestOtherFingerprints folds more distinct fingerprints than are kept: the rest count in one
// OTHER row, and nothing is lost from the totals.
func TestOtherFingerprints(t *testing.T) {
	s := New()
	extra := 25
	for i := range MaxFingerprints + extra {
		s.Add(Statement{Time: at(i), Thread: 1, User: "app", SQL: "select " + letters(i) + " from t"})
	}
	s.Add(Statement{Time: at(0), Thread: 1, User: "app", SQL: "select " + letters(0) + " from t where x = 5"})
	s = reload(t, s)
	s.Add(Statement{Time: at(0), Thread: 1, User: "app", SQL: "select " + letters(MaxFingerprints+extra) + " from t"})
	r := s.Report(Query{Limit: MaxLimit})
	if r.Statements != MaxFingerprints+int64(extra)+2 {
		t.Errorf("statements %d, want %d", r.Statements, MaxFingerprints+extra+2)
	}
	if top := r.Fingerprints[0]; top.ID != OtherID || top.Count != int64(extra)+2 || top.Fingerprint != OtherFingerprint {
		t.Errorf("top row %+v, want OTHER with %d", top, extra+2)
	}
	if len(s.classes) != MaxFingerprints+1 {
		t.Errorf("%d fingerprints kept, want %d and OTHER", len(s.classes), MaxFingerprints)
	}
}

// letters names i without digits, which a fingerprint would turn into ?.
func letters(i int) string {
	b := []byte{}
	for {
		b = append(b, byte('a'+i%26))
		i /= 26
		if i == 0 {
			return string(b)
		}
	}
}

func TestEncodeIsStable(t *testing.T) {
	s := fold(t, sample, false)
	var a, b bytes.Buffer
	if err := s.Encode(&a); err != nil {
		t.Fatal(err)
	}
	if err := reload(t, s).Encode(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("a round trip changed the stored digest:\n%s\n%s", a.String(), b.String())
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, in := range []string{"", "{", `{"version":2,"bucketSeconds":1}`, `{"version":1,"bucketSeconds":7}`} {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("Decode(%q) succeeded", in)
		}
	}
}

// TestAddClassifiedIsAdd: folding statements classified once by a Classifier gives the same
// digest as folding them with Add.
func TestAddClassifiedIsAdd(t *testing.T) {
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var cl Classifier
	a, b := New(), New()
	for i, q := range []string{"SELECT 1", "select 2", "UPDATE t SET a = 3 WHERE id = 4", "SELECT 1", "INSERT INTO t VALUES (5)"} {
		st := Statement{Time: at.Add(time.Duration(i) * time.Second), Thread: uint64(i % 2), User: "app", DB: "shop", SQL: q}
		a.Add(st)
		b.AddClassified(st, cl.Classify(q))
	}
	ra, rb := a.Report(Query{Limit: MaxLimit}), b.Report(Query{Limit: MaxLimit})
	if !reflect.DeepEqual(ra, rb) {
		t.Errorf("AddClassified: %+v\nAdd: %+v", rb, ra)
	}
}

// TestMergeIsAdd: a digest of some statements merged with one of the rest equals the digest of
// all of them added one by one, timeline coarsening included.
func TestMergeIsAdd(t *testing.T) {
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	queries := []string{"SELECT 1", "select 2", "UPDATE t SET a = 3 WHERE id = 4", "INSERT INTO t VALUES (5)", "DELETE FROM t WHERE id = 6"}
	for name, gap := range map[string]time.Duration{"seconds apart": time.Second, "an hour later": time.Hour} {
		t.Run(name, func(t *testing.T) {
			all, first, rest := New(), New(), New()
			for i := range 3000 {
				st := Statement{Time: at.Add(time.Duration(i) * time.Second), Thread: uint64(i % 7), User: []string{"app", "batch"}[i%2],
					DB: []string{"shop", "stats", ""}[i%3], SQL: queries[i%len(queries)]}
				if i >= 1500 {
					st.Time = st.Time.Add(gap)
					rest.Add(st)
				} else {
					first.Add(st)
				}
				all.Add(st)
			}
			first.Merge(rest)
			for _, q := range []Query{{Limit: MaxLimit}, {User: "batch", Limit: MaxLimit}, {DB: "stats", Limit: MaxLimit}} {
				if want, got := all.Report(q), first.Report(q); !reflect.DeepEqual(want, got) {
					t.Errorf("%+v: merged %+v\nadded %+v", q, got, want)
				}
			}
		})
	}
}
