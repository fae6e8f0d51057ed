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
		Set("workloadBytes", to.Bytes)
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

// logItem is the lease on a log target (see capture.Environment.LogTarget): the captures
// recording through it, and the settings it had before the first of them turned the log on.
type logItem struct {
	keys
	Holders []int             `dynamo:"holders,set,omitempty"`
	Before  map[string]string `dynamo:"before,omitempty"`
	Updated time.Time         `dynamo:"updated"`
}

func logPK(target string) string { return "LOG#" + target }

const skLog = "LOG"

// HoldLog adds capture id to target's holders. before is what the target's settings are now;
// it is kept only if no earlier holder kept its own: the kept settings are what the last
// holder restores.
func (s *Store) HoldLog(ctx context.Context, target string, id int64, before map[string]string, now time.Time) error {
	u := s.table.Update("pk", logPK(target)).Range("sk", skLog).
		AddIntsToSet("holders", int(id)).
		Set("updated", now.UTC())
	if len(before) > 0 {
		u.SetIfNotExists("before", before)
	}
	if err := u.Run(ctx); err != nil {
		return fmt.Errorf("hold log %s for capture %d: %w", target, id, err)
	}
	return nil
}

// ReleaseLog removes capture id from target's holders. When it was the last holder, it
// returns last = true and the settings to restore, and forgets them in the same step as it
// checks that nobody else holds the target, so that exactly one releaser restores.
func (s *Store) ReleaseLog(ctx context.Context, target string, id int64, now time.Time) (before map[string]string, last bool, err error) {
	var it logItem
	err = s.table.Update("pk", logPK(target)).Range("sk", skLog).
		DeleteIntsFromSet("holders", int(id)).
		Set("updated", now.UTC()).
		If("contains(holders, ?)", id).
		Value(ctx, &it)
	if dynamo.IsCondCheckFailed(err) {
		return nil, false, nil // released before, or never held: nothing to do
	}
	if err != nil {
		return nil, false, fmt.Errorf("release log %s for capture %d: %w", target, id, err)
	}
	if len(it.Holders) > 0 {
		return nil, false, nil
	}
	var old logItem
	err = s.table.Update("pk", logPK(target)).Range("sk", skLog).
		Remove("before").
		Set("updated", now.UTC()).
		If("attribute_not_exists(holders) AND attribute_exists($)", "before").
		OldValue(ctx, &old)
	if dynamo.IsCondCheckFailed(err) {
		return nil, false, nil // a new holder came, or another releaser restores
	}
	if err != nil {
		return nil, false, fmt.Errorf("release log %s for capture %d: %w", target, id, err)
	}
	return old.Before, true, nil
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
