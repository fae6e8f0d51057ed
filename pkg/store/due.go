package store

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

// Due lists the captures in status whose due time (see capture.Capture.DueAt) is at or before
// before, earliest first.
func (s *Store) Due(ctx context.Context, status capture.Status, before time.Time) ([]capture.Capture, error) {
	var items []captureItem
	err := s.table.Get("status", string(status)).Index(IndexDue).
		Range("dueAt", dynamo.LessOrEqual, before.UnixMilli()).All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list %s captures due before %s: %w", status, before.Format(time.RFC3339), err)
	}
	out := make([]capture.Capture, len(items))
	for i, it := range items {
		out[i] = it.capture()
	}
	return out, nil
}

// Retry records another attempt at the work of c's current status, restarting its clock, on
// condition that nobody moved or retried it since it was read: capture.ErrChanged otherwise, so
// of two schedulers only one retries a stuck capture.
func (s *Store) Retry(ctx context.Context, c capture.Capture, now time.Time) (capture.Capture, error) {
	now = now.UTC()
	err := s.table.Update("pk", capturePK(c.ID)).Range("sk", skCapture).
		Set("updated", now).Set("dueAt", now.UnixMilli()).Set("attempts", c.Attempts+1).
		If("$ = ? AND updated = ?", "status", string(c.Status), c.Updated).
		Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return capture.Capture{}, fmt.Errorf("retry capture %d: %w", c.ID, capture.ErrChanged)
	}
	if err != nil {
		return capture.Capture{}, fmt.Errorf("retry capture %d: %w", c.ID, err)
	}
	c.Updated, c.Attempts = now, c.Attempts+1
	return c, nil
}
