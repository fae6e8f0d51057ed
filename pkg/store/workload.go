package store

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

// SaveWorkload records a capture's recording progress, moving it from from to to, on condition
// that nobody recorded progress since from was read: capture.ErrChanged otherwise. A collection
// repeated after a crash therefore rewrites the same fragment instead of adding a second one.
func (s *Store) SaveWorkload(ctx context.Context, id int64, from, to capture.Workload) error {
	u := s.table.Update("pk", capturePK(id)).Range("sk", skCapture).
		Set("fragments", to.Fragments).
		Set("statements", to.Statements).
		Set("collected", to.Collected).
		Set("workloadBytes", to.Bytes).
		Set("rotation", to.Rotation)
	if !to.Begin.IsZero() {
		u.Set("begin", to.Begin.UTC())
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
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("save workload of capture %d: %w", id, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("save workload of capture %d: %w", id, err)
	}
	return nil
}

// LockCollection lets one collector at a time read a capture's general log, until the lock is
// unlocked or expires at until: capture.ErrChanged while another holds it. Without it, a tick's
// collection and the stop's final one could both write the same fragment number from
// different windows.
func (s *Store) LockCollection(ctx context.Context, id int64, now, until time.Time) error {
	err := s.table.Update("pk", capturePK(id)).Range("sk", skCapture).
		Set("collecting", until.UTC().UnixMilli()).
		If("attribute_exists(pk) AND (attribute_not_exists(collecting) OR collecting < ?)", now.UTC().UnixMilli()).
		Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("lock collection of capture %d: %w", id, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("lock collection of capture %d: %w", id, err)
	}
	return nil
}

// UnlockCollection ends the lock taken with LockCollection until.
func (s *Store) UnlockCollection(ctx context.Context, id int64, until time.Time) error {
	err := s.table.Update("pk", capturePK(id)).Range("sk", skCapture).
		Remove("collecting").
		If("collecting = ?", until.UTC().UnixMilli()).
		Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("unlock collection of capture %d: %w", id, err)
	}
	return nil
}
