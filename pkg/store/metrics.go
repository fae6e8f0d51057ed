package store

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/metrics"
)

// SaveMetrics records the state of a done capture's stored metrics (see capture.KeptMetrics),
// on condition that no other attempt recorded anything since from was read: capture.ErrChanged
// otherwise.
func (s *Store) SaveMetrics(ctx context.Context, next capture.Capture, from capture.MetricsState) error {
	u := s.table.Update("pk", capturePK(next.ID)).Range("sk", skCapture).
		Set("metricsStored", next.Metrics.Stored).
		Set("metricsFinal", next.Metrics.Final).
		Set("metricsAttempts", next.Metrics.Attempts).
		If("$ = ?", "status", string(capture.Done)).
		If("attribute_not_exists(metricsFinal) OR metricsFinal = ?", false)
	if from.Attempts == 0 {
		u.If("attribute_not_exists(metricsAttempts) OR metricsAttempts = ?", 0)
	} else {
		u.If("metricsAttempts = ?", from.Attempts)
	}
	setDueAt(u, next)
	if next.Reason != "" {
		u.Set("reason", next.Reason)
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("save metrics state of capture %d: %w", next.ID, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("save metrics state of capture %d: %w", next.ID, err)
	}
	return nil
}

// sampleItem is one reading of a database's status counters while a capture ran. It sits in
// the capture's partition, sorted by time, and expires on its own once no capture window can
// still need it (the longest window plus a margin): a stored copy replaces it at the stop.
type sampleItem struct {
	keys
	At      time.Time `dynamo:"at"`
	Reads   int64     `dynamo:"reads"`
	Writes  int64     `dynamo:"writes"`
	Uptime  int64     `dynamo:"uptime"`
	Expires int64     `dynamo:"expires"` // unix seconds, the table's TTL attribute
}

const samplePrefix = "SAMPLE#"

// sampleLife is how long a sample is kept.
const sampleLife = capture.MaxDuration + 14*24*time.Hour

func newSampleItem(id int64, sm metrics.Sample) sampleItem {
	at := sm.At.UTC()
	return sampleItem{
		keys: keys{PK: capturePK(id), SK: fmt.Sprintf("%s%020d", samplePrefix, at.UnixMicro())},
		At:   at, Reads: sm.Reads, Writes: sm.Writes, Uptime: sm.Uptime, Expires: at.Add(sampleLife).Unix(),
	}
}

// AddSample stores a counter sample of capture id.
func (s *Store) AddSample(ctx context.Context, id int64, sm metrics.Sample) error {
	if err := s.table.Put(newSampleItem(id, sm)).Run(ctx); err != nil {
		return fmt.Errorf("store a sample of capture %d: %w", id, err)
	}
	return nil
}

// Samples lists capture id's samples in time order.
func (s *Store) Samples(ctx context.Context, id int64) ([]metrics.Sample, error) {
	var items []sampleItem
	err := s.table.Get("pk", capturePK(id)).Range("sk", dynamo.BeginsWith, samplePrefix).All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list samples of capture %d: %w", id, err)
	}
	out := make([]metrics.Sample, len(items))
	for i, it := range items {
		out[i] = metrics.Sample{At: it.At.UTC(), Reads: it.Reads, Writes: it.Writes, Uptime: it.Uptime}
	}
	return out, nil
}

// DeleteSamples deletes capture id's counter samples, with the capture: they live as long as
// it does (their TTL only catches what a failed delete leaves).
func (s *Store) DeleteSamples(ctx context.Context, id int64) error {
	return s.deletePrefix(ctx, capturePK(id), samplePrefix, fmt.Sprintf("the samples of capture %d", id))
}
