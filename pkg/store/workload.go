package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/metrics"
)

// SaveWorkload records a capture's recording progress, moving it from from to to, on condition
// that nobody recorded progress since from was read: capture.ErrChanged otherwise. A collection
// repeated after a crash therefore rewrites the same fragment instead of adding a second one.
func (s *Store) SaveWorkload(ctx context.Context, id int64, from, to capture.Workload) error {
	err := s.workloadUpdate(id, from, to).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("save workload of capture %d: %w", id, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("save workload of capture %d: %w", id, err)
	}
	return nil
}

// SaveWorkloads records the progress of the captures a collection served, each on the
// condition SaveWorkload puts on one, in one transaction (per 100 captures), all or none:
// capture.ErrChanged if a condition failed. Beside it, it stores sample, if not nil, for
// each: a reading of the server's counters is true whether or not the progress is saved.
func (s *Store) SaveWorkloads(ctx context.Context, moves []capture.WorkloadMove, sample *metrics.Sample) error {
	samples := make(chan error, 1)
	go func() { samples <- s.addSamples(ctx, moves, sample) }()
	const perTx = 100 // the most a transaction holds
	var err error
	for rest := moves; len(rest) > 0 && err == nil; {
		n := min(len(rest), perTx)
		tx := s.db.WriteTx()
		for _, m := range rest[:n] {
			tx.Update(s.workloadUpdate(m.ID, m.From, m.To))
		}
		err = tx.Run(ctx)
		if dynamo.IsCondCheckFailed(err) {
			err = fmt.Errorf("save workloads of %d captures: %w", n, capture.ErrChanged)
		} else if err != nil {
			err = fmt.Errorf("save workloads of %d captures: %w", n, err)
		}
		rest = rest[n:]
	}
	return errors.Join(err, <-samples)
}

func (s *Store) addSamples(ctx context.Context, moves []capture.WorkloadMove, sample *metrics.Sample) error {
	if sample == nil || len(moves) == 0 {
		return nil
	}
	items := make([]any, len(moves))
	for i, m := range moves {
		items[i] = newSampleItem(m.ID, *sample)
	}
	if _, err := s.table.Batch("pk", "sk").Write().Put(items...).Run(ctx); err != nil {
		return fmt.Errorf("store samples of %d captures: %w", len(moves), err)
	}
	return nil
}

// workloadUpdate is SaveWorkload's conditional write.
func (s *Store) workloadUpdate(id int64, from, to capture.Workload) *dynamo.Update {
	u := s.table.Update("pk", capturePK(id)).Range("sk", skCapture).
		Set("fragments", to.Fragments).
		Set("statements", to.Statements).
		Set("collected", to.Collected).
		Set("workloadBytes", to.Bytes).
		Set("rotation", to.LastCollection)
	if !to.Begin.IsZero() {
		u.Set("begin", to.Begin.UTC())
	}
	if to.Cut {
		u.Set("cut", true)
	}
	if to.Watermark.IsZero() {
		u.Remove("watermark")
	} else {
		u.Set("watermark", to.Watermark.UTC())
	}
	if from.Watermark.IsZero() {
		u.If("attribute_exists(pk) AND attribute_not_exists(watermark)")
	} else {
		u.If("attribute_exists(pk) AND watermark = ?", from.Watermark.UTC())
	}
	u.If("(attribute_not_exists(fragments) OR fragments = ?) AND (attribute_not_exists(workloadBytes) OR workloadBytes = ?)",
		from.Fragments, from.Bytes)
	return u
}
