package report

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/outcome"
)

// digestOf is fingerprint i's digest: distinct, never OtherDigest.
func digestOf(i int) uint64 {
	z := uint64(i) + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return (z ^ (z >> 31)) | 1
}

// workload makes synthetic outcomes: statements of sessions over fingerprints, each
// fingerprint with its own median latency (log-normal around it), a few errors, a few late.
type workload struct {
	Statements, Fingerprints, Sessions int
	Seed                               uint64
	// Change, when set, alters a statement's outcome (for a candidate replay).
	Change func(r *outcome.Record)
}

// each calls fn with every record in the order a replay's shards would write them: sessions
// interleaved, each session's Seq rising.
func (w workload) each(fn func(*outcome.Record)) {
	r := rand.New(rand.NewPCG(w.Seed, 7))
	seq := make([]uint32, w.Sessions)
	var rec outcome.Record
	for i := range w.Statements {
		s := r.IntN(w.Sessions)
		fp := r.IntN(w.Fingerprints)
		median := 0.05 + float64(fp%97)*0.2 // ms
		rec = outcome.Record{Session: uint32(s), Seq: seq[s], Digest: digestOf(fp),
			Start:   time.Duration(i) * 100 * time.Microsecond,
			Latency: time.Duration(median * math.Exp(r.NormFloat64()*0.5) * float64(time.Millisecond)),
			Rows:    int64(fp % 5)}
		seq[s]++
		if r.IntN(20) == 0 {
			rec.Lateness = time.Duration(r.ExpFloat64() * float64(time.Millisecond))
		}
		if r.IntN(1000) == 0 {
			rec.Errno, rec.Message, rec.Rows = 1213, "Deadlock found when trying to get lock; try restarting transaction", 0
		}
		if w.Change != nil {
			w.Change(&rec)
		}
		fn(&rec)
	}
}

// file is the workload as one outcome file.
func (w workload) file(tb testing.TB) []byte {
	var buf bytes.Buffer
	ow := outcome.NewWriter(&buf)
	w.each(func(r *outcome.Record) {
		if err := ow.Write(r); err != nil {
			tb.Fatal(err)
		}
	})
	if err := ow.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// store writes the workload as replay id's outcome files: sessions split over shards by
// session number, each shard's records over invocations files, and returns the replay.
func (w workload) store(tb testing.TB, files blob.Dir, id, captureID int64, shards, invocations int) capture.Replay {
	tb.Helper()
	type out struct {
		buf bytes.Buffer
		w   *outcome.Writer
	}
	outs := make([][]*out, shards)
	for n := range outs {
		outs[n] = make([]*out, invocations)
		for k := range outs[n] {
			o := &out{}
			o.w = outcome.NewWriter(&o.buf)
			outs[n][k] = o
		}
	}
	var total int64
	w.each(func(r *outcome.Record) {
		n := int(r.Session) % shards
		// an invocation holds a stretch of the replay's time: later records, later files
		k := min(int(int64(r.Start)*int64(invocations)/int64(time.Duration(w.Statements)*100*time.Microsecond)), invocations-1)
		if err := outs[n][k].w.Write(r); err != nil {
			tb.Fatal(err)
		}
		total++
	})
	ctx := context.Background()
	for n := range outs {
		for k, o := range outs[n] {
			if err := o.w.Flush(); err != nil {
				tb.Fatal(err)
			}
			if err := files.Put(ctx, layout.ReplayOutcomeKey(id, n, k), bytes.NewReader(o.buf.Bytes())); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return capture.Replay{ID: id, CaptureID: captureID, Status: capture.Done,
		Plan: capture.ReplayPlan{Shards: shards, Statements: total, Captured: total}, Progress: capture.ReplayProgress{Statements: total, Of: total}}
}

// catalogOf names fingerprints 0..n-1.
func catalogOf(n int) Catalog {
	c := Catalog{}
	for i := range n {
		c[digestOf(i)] = Entry{ID: outcome.DigestID(digestOf(i)), Fingerprint: fmt.Sprintf("select c from t%d where id=?", i)}
	}
	return c
}

// foldBytes folds an outcome file held in memory.
func foldBytes(tb testing.TB, s *State, file []byte) {
	tb.Helper()
	err := outcome.Each(bytes.NewReader(file), func(r *outcome.Record) error { s.Add(r); return nil })
	if err != nil {
		tb.Fatal(err)
	}
}
