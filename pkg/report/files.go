package report

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/outcome"
)

// opener reads a replay's stored files.
type opener interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// putter keeps the report states folded, where the caller may write.
type putter interface {
	Put(ctx context.Context, key string, body io.ReadSeeker) error
}

// parallel is how many shards are read at once: a report's time is mostly waiting on files.
const parallel = 8

// Complete says whether r will write no more outcomes: it has ended (DONE or FAILED).
func Complete(r capture.Replay) bool { return r.Status == capture.Done || r.Status == capture.Failed }

// Loaded is a replay's report state as Load read it.
type Loaded struct {
	State    *State
	Complete bool // the replay has ended: its outcome files will say no more (see Complete)
	// Unkept says why a state Load folded could not be kept: the report is right all the
	// same, and a later one folds those files again.
	Unkept error
}

// Load returns what r's outcome files say so far. When files can also Put, each shard's
// state is kept beside its outcomes (layout.ReplayShardReportKey) with how many of its
// invocations' files it holds, so that a report of a running replay folds only the files
// written since; a finished replay's merged state is kept too (layout.ReplayReportKey), and
// read alone after. cat says which fingerprints get a row of their own (Catalog.Known).
func Load(ctx context.Context, files opener, r capture.Replay, cat Catalog) (Loaded, error) {
	out := Loaded{Complete: Complete(r)}
	if out.Complete {
		s, err := read(ctx, files, layout.ReplayReportKey(r.ID), cat.Known())
		if err == nil || !errors.Is(err, blob.ErrNotFound) {
			out.State = s
			return out, err
		}
	}
	shards := make([]*State, r.Plan.Shards)
	unkept := make([]error, r.Plan.Shards)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for n := range shards {
		g.Go(func() error {
			var err error
			shards[n], unkept[n], err = loadShard(gctx, files, r.ID, n, cat.Known())
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Loaded{}, err
	}
	out.State = New(cat.Known())
	for _, sh := range shards {
		if err := out.State.Merge(sh); err != nil {
			return Loaded{}, err
		}
	}
	if out.Complete {
		unkept = append(unkept, save(ctx, files, layout.ReplayReportKey(r.ID), out.State.Encode))
	}
	out.Unkept = errors.Join(unkept...)
	return out, nil
}

// shardMagic starts a shard's stored state, then the invocations it holds (a uvarint) and the
// State's stored form.
const shardMagic = "MYCRTS1\n"

// loadShard is shard n's state: the stored one, with every outcome file written since folded in
// (and stored again when there was any: unkept says why it could not be).
func loadShard(ctx context.Context, files opener, replay int64, n int, known func(uint64) bool) (s *State, unkept, err error) {
	key := layout.ReplayShardReportKey(replay, n)
	s, done, err := readShard(ctx, files, key, known)
	if errors.Is(err, blob.ErrNotFound) {
		s, done, err = New(known), 0, nil
	}
	if err != nil {
		return nil, nil, err
	}
	inv, err := foldShard(ctx, files, replay, n, done, s.Add)
	if err != nil {
		return nil, nil, err
	}
	if inv == done {
		return s, nil, nil
	}
	return s, save(ctx, files, key, func(w io.Writer) error {
		if _, err := w.Write(binary.AppendUvarint([]byte(shardMagic), uint64(inv))); err != nil {
			return err
		}
		return s.Encode(w)
	}), nil
}

func readShard(ctx context.Context, files opener, key string, known func(uint64) bool) (*State, int, error) {
	f, err := files.Open(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	all, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", key, err)
	}
	if !bytes.HasPrefix(all, []byte(shardMagic)) {
		return nil, 0, fmt.Errorf("read %s: %w", key, ErrFormat)
	}
	inv, k := binary.Uvarint(all[len(shardMagic):])
	if k <= 0 || inv > 1<<20 {
		return nil, 0, fmt.Errorf("read %s: %w", key, ErrFormat)
	}
	s, err := Decode(bytes.NewReader(all[len(shardMagic)+k:]), known)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", key, err)
	}
	return s, int(inv), nil
}

func read(ctx context.Context, files opener, key string, known func(uint64) bool) (*State, error) {
	f, err := files.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Decode(f, known)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return s, nil
}

// save keeps a state under key, when files can Put.
func save(ctx context.Context, files opener, key string, encode func(io.Writer) error) error {
	p, ok := files.(putter)
	if !ok {
		return nil
	}
	var buf bytes.Buffer
	if err := encode(&buf); err != nil {
		return err
	}
	if err := p.Put(ctx, key, bytes.NewReader(buf.Bytes())); err != nil {
		return fmt.Errorf("store report state %s: %w", key, err)
	}
	return nil
}

// Fold calls fn with each record of the outcome file under key (blob.ErrNotFound when there is
// none). The record is reused: fn copies what it keeps.
func Fold(ctx context.Context, files opener, key string, fn func(*outcome.Record)) error {
	f, err := files.Open(ctx, key)
	if err != nil {
		return err
	}
	defer f.Close()
	return each(f, key, fn)
}

func each(f io.Reader, key string, fn func(*outcome.Record)) error {
	if err := outcome.Each(f, func(r *outcome.Record) error { fn(r); return nil }); err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	return nil
}

// FoldReplay calls fn with every record of r's outcome files written so far: each shard's in
// order, the shards' interleaved. Up to parallel shards are read at once, in batches handed to
// fn in the caller's goroutine.
func FoldReplay(ctx context.Context, files opener, r capture.Replay, fn func(*outcome.Record)) error {
	const batchSize = 1024
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan []outcome.Record, 2*parallel)
	spare := make(chan []outcome.Record, 3*parallel) // batches handed back, so few are ever made
	fresh := func() []outcome.Record {
		select {
		case b := <-spare:
			return b[:0]
		default:
			return make([]outcome.Record, 0, batchSize)
		}
	}
	g.Go(func() error {
		defer close(batches)
		shards, sctx := errgroup.WithContext(gctx)
		shards.SetLimit(parallel)
		for n := range r.Plan.Shards {
			shards.Go(func() error {
				batch := fresh()
				send := func() {
					select {
					case batches <- batch:
					case <-sctx.Done():
					}
					batch = fresh()
				}
				_, err := foldShard(sctx, files, r.ID, n, 0, func(rec *outcome.Record) {
					if batch = append(batch, *rec); len(batch) == batchSize {
						send()
					}
				})
				if err == nil && len(batch) > 0 {
					send()
				}
				return err
			})
		}
		return shards.Wait()
	})
	for batch := range batches {
		for i := range batch {
			fn(&batch[i])
		}
		select {
		case spare <- batch:
		default:
		}
	}
	return g.Wait()
}

// Lookahead is how many missing invocations in a row a shard's files may skip: a shard whose
// invocation was lost is run again as the next invocation (from the checkpoint the lost one
// began from), and the lost one may have written no file.
const Lookahead = 3

// foldShard folds the outcome files of replay's shard n from invocation from on, as long as they
// are there (or a later one is, within Lookahead), and returns the invocation after the last
// one folded. The files of the window a fold may need next are opened while one is folded, so
// that a store answering after a round trip costs about one per file, and one for the misses
// that end the shard.
func foldShard(ctx context.Context, files opener, replay int64, n, from int, fn func(*outcome.Record)) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	window := map[int]*opening{}
	defer func() {
		cancel()
		for _, o := range window {
			o.close()
		}
	}()
	next := from
	for inv := from; inv < next+1+Lookahead; inv++ {
		for k := inv; k < next+1+Lookahead; k++ {
			if window[k] == nil {
				window[k] = open(ctx, files, layout.ReplayOutcomeKey(replay, n, k))
			}
		}
		o := window[inv]
		delete(window, inv)
		<-o.done
		if errors.Is(o.err, blob.ErrNotFound) {
			continue // not written yet (its invocation runs), lost, or there is none
		}
		if o.err != nil {
			return 0, o.err
		}
		err := each(o.f, o.key, fn)
		o.f.Close()
		if err != nil {
			return 0, err
		}
		next = inv + 1
	}
	return next, nil
}

// opening is a file being opened.
type opening struct {
	key  string
	f    io.ReadCloser
	err  error
	done chan struct{}
}

func open(ctx context.Context, files opener, key string) *opening {
	o := &opening{key: key, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		o.f, o.err = files.Open(ctx, key)
	}()
	return o
}

// close waits for the file to be opened, and closes it.
func (o *opening) close() {
	<-o.done
	if o.f != nil {
		o.f.Close()
	}
}

// ErrDifferentCaptures: two replays of different captures cannot be compared.
var ErrDifferentCaptures = errors.New("replays of different captures cannot be compared")

// Both is two replays folded for a comparison: each one's state and their statement join.
type Both struct {
	Base, Candidate *State
	Join            *Join
}

// CompareFiles reads both replays' outcome files once each, folding each into its state as it
// joins them statement by statement: the one with fewer statements is indexed, the other
// probed. cat is as for Load.
func CompareFiles(ctx context.Context, files opener, base, candidate capture.Replay, cat Catalog) (Both, error) {
	if base.CaptureID != candidate.CaptureID {
		return Both{}, ErrDifferentCaptures
	}
	both := Both{Base: New(cat.Known()), Candidate: New(cat.Known()), Join: NewJoin()}
	small, large := base, candidate
	smallState, largeState := both.Base, both.Candidate
	if candidate.Progress.Statements < base.Progress.Statements {
		small, large = candidate, base
		smallState, largeState = both.Candidate, both.Base
	}
	err := FoldReplay(ctx, files, small, func(r *outcome.Record) {
		smallState.Add(r)
		both.Join.Index(r)
	})
	if err != nil {
		return Both{}, err
	}
	both.Join.Seal()
	err = FoldReplay(ctx, files, large, func(r *outcome.Record) {
		largeState.Add(r)
		both.Join.Probe(r)
	})
	if err != nil {
		return Both{}, err
	}
	return both, nil
}
