package report

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/outcome"
)

func TestFoldCounts(t *testing.T) {
	const a, b = 0xA, 0xB
	recs := []outcome.Record{
		{Session: 0, Seq: 0, Digest: a, Start: 5 * time.Millisecond, Latency: 2 * time.Millisecond, Rows: 3},
		{Session: 0, Seq: 1, Digest: a, Start: 9 * time.Millisecond, Latency: 4 * time.Millisecond, Rows: 1, Lateness: 7 * time.Millisecond},
		{Session: 1, Seq: 0, Digest: b, Start: 8 * time.Millisecond, Latency: time.Millisecond, Errno: 1054, Message: "Unknown column 'k2' in 'field list'"},
		{Session: 1, Seq: 1, Digest: b, Start: 3 * time.Millisecond, Latency: time.Millisecond, Errno: 1054, Message: "Unknown column 'k2' in 'INSERT'"},
		{Session: 1, Seq: 2, Digest: b, Start: 10 * time.Millisecond, Latency: time.Millisecond, Errno: 1213, Message: "Deadlock found"},
		{Session: 1, Seq: 3, Digest: b, Skipped: true},
	}
	want := map[uint64]Row{
		a: {Count: 2, Rows: 4, ErrorCodes: map[uint16]ErrorCode{}, Latency: Latency{Total: 6 * time.Millisecond, Max: 4 * time.Millisecond}},
		b: {Count: 3, Errors: 3, Skipped: 1, ErrorCodes: map[uint16]ErrorCode{
			1054: {Count: 2, Message: "Unknown column 'k2' in 'INSERT'"}, // the one sent first, whatever the order folded
			1213: {Count: 1, Message: "Deadlock found"},
		}, Latency: Latency{Total: 3 * time.Millisecond, Max: time.Millisecond}},
	}
	orders := map[string][]int{"in order": {0, 1, 2, 3, 4, 5}, "reversed": {5, 4, 3, 2, 1, 0}, "shuffled": {3, 0, 5, 2, 4, 1}}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			// every record its own state, merged: as shards and invocations are
			s := New(nil)
			for _, i := range order {
				one := New(nil)
				one.Add(&recs[i])
				if err := s.Merge(one); err != nil {
					t.Fatal(err)
				}
			}
			r := s.Report(nil, Query{Limit: MaxLimit})
			if r.Statements != (Statements{Replayed: 5, Skipped: 1, Errors: 3}) {
				t.Errorf("statements %+v", r.Statements)
			}
			if r.Lateness.Max != 7*time.Millisecond {
				t.Errorf("lateness max %v", r.Lateness.Max)
			}
			for _, row := range r.Fingerprints {
				w := want[row.Digest]
				if row.ID != outcome.DigestID(row.Digest) {
					t.Errorf("id %q for %x", row.ID, row.Digest)
				}
				got := row
				got.Latency.P50, got.Latency.P95, got.Latency.P99 = 0, 0, 0
				got.Digest, got.ID = 0, ""
				if !reflect.DeepEqual(got, w) {
					t.Errorf("%x: %+v\nwant %+v", row.Digest, got, w)
				}
			}
		})
	}
}

// TestMergeIsFold: a replay folded in one state and folded shard by shard (each shard's
// invocations merged, then the shards) report alike.
func TestMergeIsFold(t *testing.T) {
	w := workload{Statements: 50_000, Fingerprints: 300, Sessions: 40, Seed: 5}
	whole := New(nil)
	parts := make([]*State, 7)
	for i := range parts {
		parts[i] = New(nil)
	}
	w.each(func(r *outcome.Record) {
		whole.Add(r)
		parts[int(r.Session)%len(parts)].Add(r)
	})
	merged := New(nil)
	for _, p := range parts {
		if err := merged.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	cat := catalogOf(w.Fingerprints)
	q := Query{Limit: MaxLimit}
	if got, want := merged.Report(cat, q), whole.Report(cat, q); !reflect.DeepEqual(got, want) {
		t.Errorf("merged report differs from the one folded whole:\n%+v\n%+v", got.Fingerprints[0], want.Fingerprints[0])
	}
}

func TestEncodeDecode(t *testing.T) {
	w := workload{Statements: 20_000, Fingerprints: 100, Sessions: 10, Seed: 6}
	s := New(nil)
	w.each(s.Add)
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	stored := buf.Bytes()
	back, err := Decode(bytes.NewReader(stored), nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalogOf(w.Fingerprints)
	if got, want := back.Report(cat, Query{Limit: MaxLimit}), s.Report(cat, Query{Limit: MaxLimit}); !reflect.DeepEqual(got, want) {
		t.Error("the state read back reports differently")
	}
	var again bytes.Buffer
	if err := back.Encode(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), stored) {
		t.Error("the same state encodes to other bytes")
	}
	t.Run("damaged", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 1))
		for _, n := range []int{0, 3, len(stateMagic), len(stateMagic) + 1, len(stored) / 2, len(stored) - 1} {
			if _, err := Decode(bytes.NewReader(stored[:n]), nil); !errors.Is(err, ErrFormat) {
				t.Errorf("cut to %d bytes: %v, want ErrFormat", n, err)
			}
		}
		for range 200 { // flipped bytes: an error or a state, never a panic
			bad := bytes.Clone(stored)
			bad[len(stateMagic)+r.IntN(len(bad)-len(stateMagic))] ^= byte(1 + r.IntN(255))
			if s, err := Decode(bytes.NewReader(bad), nil); err == nil {
				s.Report(nil, Query{})
			}
		}
		if _, err := Decode(bytes.NewReader(append(bytes.Clone(stored), 0)), nil); !errors.Is(err, ErrFormat) {
			t.Errorf("a trailing byte: %v, want ErrFormat", err)
		}
	})
}

func TestOtherRow(t *testing.T) {
	t.Run("known", func(t *testing.T) {
		cat := catalogOf(3)
		s := New(cat.Has)
		for i := range 6 { // fingerprints 3..5 are not the digest's
			s.Add(&outcome.Record{Digest: digestOf(i), Latency: time.Millisecond})
		}
		r := s.Report(cat, Query{Sort: ByCount})
		if r.Total != 4 || r.Fingerprints[0].ID != digest.OtherID || r.Fingerprints[0].Count != 3 ||
			r.Fingerprints[0].Fingerprint != digest.OtherFingerprint {
			t.Errorf("%d rows, first %+v", r.Total, r.Fingerprints[0])
		}
	})
	t.Run("bounded", func(t *testing.T) {
		s := New(nil)
		for i := range MaxFingerprints + 50 {
			s.Add(&outcome.Record{Digest: digestOf(i)})
		}
		if len(s.rows) != MaxFingerprints+1 || s.rows[OtherDigest].count != 50 {
			t.Errorf("%d rows, %d in OTHER", len(s.rows), s.rows[OtherDigest].count)
		}
	})
}

func TestReportOrder(t *testing.T) {
	s := New(nil)
	add := func(d uint64, n int, lat time.Duration, errs int) {
		for i := range n {
			r := outcome.Record{Digest: d, Latency: lat}
			if i < errs {
				r.Errno, r.Message = 1064, "syntax"
			}
			s.Add(&r)
		}
	}
	add(1, 100, time.Millisecond, 0)     // total 100 ms
	add(2, 10, 20*time.Millisecond, 0)   // total 200 ms, p95 20 ms
	add(3, 300, 100*time.Microsecond, 5) // most statements, most errors
	cases := []struct {
		sort Sort
		want []uint64
	}{
		{"", []uint64{2, 1, 3}},
		{ByTotal, []uint64{2, 1, 3}},
		{ByP95, []uint64{2, 1, 3}},
		{ByErrors, []uint64{3, 1, 2}},
		{ByCount, []uint64{3, 1, 2}},
	}
	for _, c := range cases {
		t.Run(string(c.sort), func(t *testing.T) {
			r := s.Report(nil, Query{Sort: c.sort})
			var got []uint64
			for _, row := range r.Fingerprints {
				got = append(got, row.Digest)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("order %v, want %v", got, c.want)
			}
		})
	}
	if r := s.Report(nil, Query{Limit: 2}); len(r.Fingerprints) != 2 || r.Total != 3 {
		t.Errorf("limit 2: %d rows of %d", len(r.Fingerprints), r.Total)
	}
	for _, q := range []Query{{Sort: "lastSeen"}, {Limit: MaxLimit + 1}, {Limit: -1}} {
		if q.Check() == nil {
			t.Errorf("%+v passes Check", q)
		}
	}
	if (Query{Sort: ByP95, Limit: MaxLimit}).Check() != nil {
		t.Error("a good query fails Check")
	}
}

// TestCatalogOf names rows by the capture digest's own IDs: the fingerprint of a statement
// the digest folded is the one a replay's outcomes carry (digest.ID of its fingerprint).
func TestCatalogOf(t *testing.T) {
	d := digest.New()
	sqls := []string{"SELECT c FROM sbtest1 WHERE id=5", "SELECT c FROM sbtest1 WHERE id=6", "UPDATE sbtest1 SET k=k+1 WHERE id=9"}
	for i, sql := range sqls {
		d.Add(digest.Statement{Time: time.Unix(int64(i), 0), Thread: 1, User: "app", SQL: sql})
	}
	cat := CatalogOf(d)
	for _, sql := range sqls {
		fp := digest.Fingerprint(sql)
		id, err := outcome.ParseDigest(digest.ID(fp))
		if err != nil {
			t.Fatal(err)
		}
		e, ok := cat[id]
		if !ok || e.Fingerprint != fp || e.ID != digest.ID(fp) {
			t.Errorf("%q: %+v, %v", sql, e, ok)
		}
	}
	if len(cat) != 2 || cat[mustParse(t, digest.ID(digest.Fingerprint(sqls[0])))].Captured != 2 {
		t.Errorf("catalog %+v", cat)
	}
}

func mustParse(t *testing.T, id string) uint64 {
	v, err := outcome.ParseDigest(id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCoverage(t *testing.T) {
	cat := Catalog{1: {ID: "A", Captured: 10}, 2: {ID: "B", Captured: 5}, 3: {ID: "C", Captured: 4}}
	s := New(cat.Has)
	for i := range 10 {
		s.Add(&outcome.Record{Digest: 1, Skipped: i < 2}) // all 10: 8 sent, 2 skipped
	}
	s.Add(&outcome.Record{Digest: 2}) // 1 of 5; C never
	c := s.Coverage(cat, 0)
	if c.Captured != 19 || c.Replayed != 9 || c.Skipped != 2 || c.NotReplayed != 8 || c.Total != 3 {
		t.Errorf("coverage %+v", c)
	}
	var got []string
	for _, f := range c.Fingerprints {
		got = append(got, f.ID)
	}
	if !reflect.DeepEqual(got, []string{"B", "C", "A"}) || c.Fingerprints[0].NotReplayed != 4 {
		t.Errorf("order %v, first %+v", got, c.Fingerprints[0])
	}
}

// FuzzDecode: any bytes decode to an error or to a state that reports, encodes and merges,
// never a panic (go test -fuzz FuzzDecode ./pkg/report).
func FuzzDecode(f *testing.F) {
	s := New(nil)
	workload{Statements: 300, Fingerprints: 4, Sessions: 3, Seed: 1}.each(s.Add)
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(stateMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(bytes.NewReader(b), nil)
		if err != nil {
			return
		}
		got.Report(nil, Query{Sort: ByP95})
		if err := got.Encode(io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := New(nil).Merge(got); err != nil {
			t.Log(err) // a sketch that will not merge is an error, not a panic
		}
	})
}
