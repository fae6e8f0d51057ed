package digest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/workload"
)

// opener reads captures' stored files.
type opener interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// putter writes them.
type putter interface {
	Put(ctx context.Context, key string, body io.ReadSeeker) error
}

// AddEvent folds a workload row into the digest if it is a statement (as
// capture.Workload.Statements counts them); other rows change nothing.
func (s *State) AddEvent(e workload.Event) {
	if e.IsStatement() {
		s.Add(Statement{Time: e.Time, Thread: e.Thread, User: e.User, DB: e.DB, SQL: e.SQL})
	}
}

// Load returns the digest of what c has recorded so far: its digest.json once its workload
// file is written, the digest stored with its last fragment while it records, or an empty
// one before its first fragment. A capture recorded before digests were kept has none stored:
// its digest is folded from its workload file or fragments instead, and stored is false, so
// that the caller may keep it.
func Load(ctx context.Context, files opener, c capture.Capture) (s *State, stored bool, err error) {
	switch {
	case c.Workload.Recorded():
		s, err = read(ctx, files, layout.DigestKey(c))
		if errors.Is(err, blob.ErrNotFound) {
			s = New()
			return s, false, FoldWorkload(ctx, files, s, layout.WorkloadKey(c))
		}
		return s, err == nil, err
	case c.Workload.Fragments > 0:
		return LoadFragment(ctx, files, c, c.Workload.Fragments-1)
	}
	return New(), true, nil
}

// LoadFragment returns the digest of c's fragments up to the nth, as stored with it, or
// folded from the fragments themselves (stored false) for one recorded before digests were.
func LoadFragment(ctx context.Context, files opener, c capture.Capture, n int) (s *State, stored bool, err error) {
	s, err = read(ctx, files, layout.DigestStateKey(c, n))
	if !errors.Is(err, blob.ErrNotFound) {
		return s, err == nil, err
	}
	s = New()
	for i := range n + 1 {
		if err := FoldWorkload(ctx, files, s, layout.FragmentKey(c, i)); err != nil {
			return nil, false, err
		}
	}
	return s, false, nil
}

func read(ctx context.Context, files opener, key string) (*State, error) {
	f, err := files.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return s, nil
}

// FoldWorkload folds the statements of a stored workload file or fragment (gzip JSON Lines
// of workload.Event) into s.
func FoldWorkload(ctx context.Context, files opener, s *State, key string) error {
	f, err := files.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("digest %s: %w", key, err)
	}
	defer f.Close()
	err = workload.Each(f, func(e workload.Event) error {
		s.AddEvent(e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("digest %s: %w", key, err)
	}
	return nil
}

// Save stores s under key.
func Save(ctx context.Context, files putter, key string, s *State) error {
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		return err
	}
	if err := files.Put(ctx, key, bytes.NewReader(buf.Bytes())); err != nil {
		return fmt.Errorf("store digest %s: %w", key, err)
	}
	return nil
}
