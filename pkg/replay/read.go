package replay

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mycrt/captures/pkg/outcome"
)

// read hands the shard's steps to their sessions, skipping those done before this
// invocation, and starts each session at its first step.
func (run *run) read(ctx context.Context, sr *shardReader, wg *sync.WaitGroup) error {
	for {
		select {
		case <-run.stopC:
			return nil
		case <-run.cutC:
			if run.active.Load() == 0 {
				return nil // every session has stopped, and none may start past the cut
			}
		default:
		}
		var st step
		if run.pending != nil {
			st, run.pending = *run.pending, nil
		} else if err := sr.next(&st); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		s := run.sessions[st.session]
		if s.skipped < run.hand.Positions[st.session] {
			s.skip(&st)
			continue
		}
		st.materialize()
		size := int64(len(st.sql)) + 64
		size = min(size, run.budgetSize)
		if err := run.budget.Acquire(ctx, size); err != nil {
			return err
		}
		if !s.push(st, size) {
			run.budget.Release(size)
			continue
		}
		if !s.started {
			s.started = true
			wg.Add(1)
			run.active.Add(1)
			go func() {
				defer wg.Done()
				defer run.active.Add(-1)
				s.loop()
			}()
		}
	}
}

// connector is the connector of sessions in the shard's database db, made once.
func (run *run) connector(ctx context.Context, db uint32) (driver.Connector, error) {
	run.mu.Lock()
	defer run.mu.Unlock()
	if c, ok := run.connectors[db]; ok {
		return c, nil
	}
	env := run.target
	env.DBName = run.head.DBs[db]
	// Held to the server proven at the start: a session whose address now leads elsewhere is
	// refused before it sends anything.
	c, err := run.r.Dial.Connector(ctx, env, run.job.Replay.Server, track)
	if err != nil {
		return nil, err
	}
	run.connectors[db] = c
	return c, nil
}

// outcomes spools an invocation's outcome records to a temporary file.
type outcomes struct {
	mu  sync.Mutex
	f   *os.File
	w   *outcome.Writer
	err error
}

func newOutcomes(dir string) (*outcomes, error) {
	f, err := os.CreateTemp(dir, "mycrt-outcomes-*")
	if err != nil {
		return nil, fmt.Errorf("spool outcomes: %w", err)
	}
	return &outcomes{f: f, w: outcome.NewWriter(f)}, nil
}

func (o *outcomes) write(rec *outcome.Record) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.w.Write(rec); err != nil && o.err == nil {
		o.err = err
	}
}

func (o *outcomes) store(ctx context.Context, files Files, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.err
	if err == nil {
		err = o.w.Flush()
	}
	if err == nil {
		_, err = o.f.Seek(0, io.SeekStart)
	}
	if err == nil {
		err = files.Put(ctx, key, o.f)
	}
	if err != nil {
		return fmt.Errorf("store outcomes %s: %w", key, err)
	}
	return nil
}

func (o *outcomes) discard() {
	o.f.Close()
	os.Remove(o.f.Name())
}
