package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/outcome"
)

func tempDir(t testing.TB) blob.Dir { return blob.Dir{Root: t.TempDir()} }

// countingFiles counts the outcome files opened.
type countingFiles struct {
	blob.Dir
	mu     sync.Mutex
	opened []string
}

func (c *countingFiles) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	f, err := c.Dir.Open(ctx, key)
	if err == nil && strings.HasSuffix(key, ".out") {
		c.mu.Lock()
		c.opened = append(c.opened, key)
		c.mu.Unlock()
	}
	return f, err
}

func (c *countingFiles) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.opened
	c.opened = nil
	return o
}

// TestLoadLive reads a running replay's report as its shards' invocations write outcome
// files: each report folds only the files written since the last (what it folded before is
// kept), and reports what a fold of every file would; once the replay is DONE its merged state
// is kept and read alone.
func TestLoadLive(t *testing.T) {
	ctx := t.Context()
	w := workload{Statements: 30_000, Fingerprints: 50, Sessions: 12, Seed: 3}
	full := tempDir(t)
	r := w.store(t, full, 1, 7, 3, 4) // 3 shards × 4 invocations
	files := &countingFiles{Dir: tempDir(t)}
	cat := catalogOf(w.Fingerprints)
	r.Status = capture.Running
	copyFile := func(shard, inv int) {
		key := layout.ReplayOutcomeKey(r.ID, shard, inv)
		f, err := full.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if err := files.Put(ctx, key, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	whole := New(cat.Has)
	for inv := range 4 {
		for shard := range 3 {
			copyFile(shard, inv)
			if err := Fold(ctx, full, layout.ReplayOutcomeKey(r.ID, shard, inv), whole.Add); err != nil {
				t.Fatal(err)
			}
		}
		l, err := Load(ctx, files, r, cat)
		s, complete := l.State, l.Complete
		if err != nil || complete || l.Unkept != nil {
			t.Fatalf("after invocation %d: %v, complete %v", inv, err, complete)
		}
		got := files.take()
		fresh := len(got) == 3
		for _, key := range got {
			fresh = fresh && strings.HasSuffix(key, fmt.Sprintf("/%d.out", inv))
		}
		if !fresh {
			t.Errorf("after invocation %d read %v, want the 3 new files", inv, got)
		}
		q := Query{Limit: MaxLimit}
		if got, want := s.Report(cat, q), whole.Report(cat, q); !reflect.DeepEqual(got, want) {
			t.Errorf("after invocation %d: %d statements, want %d", inv, got.Statements.Replayed, want.Statements.Replayed)
		}
	}
	if _, err := Load(ctx, files, r, cat); err != nil || len(files.take()) != 0 {
		t.Errorf("nothing new: %v, read files again", err)
	}
	r.Status = capture.Done
	l, err := Load(ctx, files, r, cat)
	if err != nil || !l.Complete || l.State.Statements() != int64(w.Statements) {
		t.Fatalf("done: %v, complete %v", err, l.Complete)
	}
	if err := files.DeletePrefix(ctx, layout.ReplayPrefix(r.ID)+"outcomes/"); err != nil {
		t.Fatal(err)
	}
	again, err := Load(ctx, files, r, cat)
	if err != nil || again.State.Statements() != l.State.Statements() || len(files.take()) != 0 {
		t.Errorf("the finished report read again: %v, %d statements", err, again.State.Statements())
	}
}

// TestLoadDamaged: a damaged outcome file or stored state is an error naming its key.
func TestLoadDamaged(t *testing.T) {
	ctx := t.Context()
	files := tempDir(t)
	r := capture.Replay{ID: 4, Status: capture.Running, Plan: capture.ReplayPlan{Shards: 2}}
	if err := files.Put(ctx, layout.ReplayOutcomeKey(4, 1, 0), strings.NewReader("MYCRTO1\n\x02")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, files, r, nil); !errors.Is(err, outcome.ErrFormat) || !strings.Contains(err.Error(), "replays/4/outcomes/1/0.out") {
		t.Errorf("a damaged outcome file: %v", err)
	}
	if err := files.Put(ctx, layout.ReplayShardReportKey(4, 1), strings.NewReader("MYCRTS1\n\x01junk")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, files, r, nil); !errors.Is(err, ErrFormat) {
		t.Errorf("a damaged state: %v", err)
	}
}

// TestCompareFiles compares two stored replays of one capture with different shard plans: the
// candidate's fingerprint 7 fails with 1054 where the base's succeeded, and fingerprint 3
// returns one row fewer on a known set of statements; only those show.
func TestCompareFiles(t *testing.T) {
	ctx := t.Context()
	files := tempDir(t)
	w := workload{Statements: 60_000, Fingerprints: 20, Sessions: 30, Seed: 9}
	base := w.store(t, files, 1, 7, 3, 2)
	type key struct{ session, seq uint32 }
	changed := map[key]bool{}
	cw := w
	cw.Change = func(r *outcome.Record) {
		switch {
		case r.Digest == digestOf(7) && r.Errno == 0:
			r.Errno, r.Message, r.Rows = 1054, "Unknown column 'k' in 'field list'", 0
		case r.Digest == digestOf(3) && r.Session%4 == 0 && r.Errno == 0:
			r.Rows--
			changed[key{r.Session, r.Seq}] = true
		}
	}
	cand := cw.store(t, files, 2, 7, 5, 3)
	cat := catalogOf(w.Fingerprints)
	both, err := CompareFiles(ctx, files, base, cand, cat)
	if err != nil {
		t.Fatal(err)
	}
	c := Compare(both.Base, both.Candidate, both.Join, cat, CompareQuery{Limit: MaxLimit})
	if c.Compared != int64(w.Statements) {
		t.Errorf("compared %d statements, want %d", c.Compared, w.Statements)
	}
	for _, ch := range c.Fingerprints {
		var want Verdict = VerdictSame
		switch ch.Digest {
		case digestOf(7):
			want = VerdictErrors
			if ch.Candidate.ErrorCodes[1054].Message != "Unknown column 'k' in 'field list'" || ch.NewErrors != ch.Candidate.ErrorCodes[1054].Count {
				t.Errorf("errors %+v, new %d", ch.Candidate.ErrorCodes, ch.NewErrors)
			}
		case digestOf(3):
			want = VerdictDiverged
			if ch.RowsDiffer != int64(len(changed)) {
				t.Errorf("rowsDiffer %d, want %d", ch.RowsDiffer, len(changed))
			}
		}
		if ch.Verdict != want {
			t.Errorf("%s: %s, want %s (rowsDiffer %d, ratio %v)", ch.ID, ch.Verdict, want, ch.RowsDiffer, ch.P95Ratio)
		}
		if ch.Digest != digestOf(3) && ch.RowsDiffer != 0 && ch.Digest != digestOf(7) {
			t.Errorf("%s: %d statements differ", ch.ID, ch.RowsDiffer)
		}
	}
	// the same replays folded by Load give the same states
	bs, err := Load(ctx, files, base, cat)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(bs.State.Report(cat, Query{Limit: MaxLimit}), both.Base.Report(cat, Query{Limit: MaxLimit})) {
		t.Error("the compare's base state reports otherwise than Load's")
	}
}

// TestLostInvocation: a shard's lost invocation may leave no file, its rerun writing the next
// one: the files after the gap are read (within Lookahead), and none further.
func TestLostInvocation(t *testing.T) {
	ctx := t.Context()
	files := tempDir(t)
	write := func(inv int, seq uint32) {
		var buf bytes.Buffer
		w := outcome.NewWriter(&buf)
		if err := w.Write(&outcome.Record{Seq: seq, Digest: 1}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := files.Put(ctx, layout.ReplayOutcomeKey(5, 0, inv), bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 0)
	write(2, 1)             // invocation 1 was lost; 2 ran again from its checkpoint
	write(3+Lookahead+1, 9) // past the lookahead from 3: not read
	r := capture.Replay{ID: 5, Status: capture.Done, Plan: capture.ReplayPlan{Shards: 1}}
	l, err := Load(ctx, files, r, nil)
	if err != nil || l.State.Statements() != 2 {
		t.Errorf("%v, %+v, want 2 statements", err, l)
	}
	var n int
	if err := FoldReplay(ctx, files, r, func(*outcome.Record) { n++ }); err != nil || n != 2 {
		t.Errorf("FoldReplay: %v, %d records, want 2", err, n)
	}
}

// failingPut refuses to keep anything.
type failingPut struct{ blob.Dir }

func (failingPut) Put(context.Context, string, io.ReadSeeker) error {
	return errors.New("access denied")
}

// readOnly can only open.
type readOnly struct{ d blob.Dir }

func (r readOnly) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return r.d.Open(ctx, key)
}

// TestLoadUnkept: a state that cannot be kept leaves the report whole, and says so; files that
// cannot Put keep nothing, and that is no error.
func TestLoadUnkept(t *testing.T) {
	ctx := t.Context()
	dir := tempDir(t)
	w := workload{Statements: 1000, Fingerprints: 5, Sessions: 4, Seed: 8}
	r := w.store(t, dir, 3, 7, 2, 1)
	l, err := Load(ctx, failingPut{dir}, r, nil)
	if err != nil || l.State.Statements() != 1000 || l.Unkept == nil || !strings.Contains(l.Unkept.Error(), "access denied") {
		t.Errorf("failing put: %v, %+v", err, l)
	}
	l, err = Load(ctx, readOnly{dir}, r, nil)
	if err != nil || l.State.Statements() != 1000 || l.Unkept != nil {
		t.Errorf("read only: %v, %+v", err, l)
	}
	if _, err := dir.Open(ctx, layout.ReplayReportKey(3)); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("a state was kept: %v", err)
	}
}

// TestLoadWithoutCatalog: with no digest to name rows (an empty catalog), every fingerprint
// still gets its own row, named by its id.
func TestLoadWithoutCatalog(t *testing.T) {
	dir := tempDir(t)
	w := workload{Statements: 2000, Fingerprints: 7, Sessions: 3, Seed: 2}
	r := w.store(t, dir, 6, 7, 1, 1)
	l, err := Load(t.Context(), dir, r, Catalog{})
	if err != nil {
		t.Fatal(err)
	}
	rep := l.State.Report(Catalog{}, Query{})
	if rep.Total != 7 || rep.Fingerprints[0].ID == digest.OtherID || rep.Fingerprints[0].Fingerprint != "" {
		t.Errorf("%d rows, first %+v", rep.Total, rep.Fingerprints[0])
	}
}
