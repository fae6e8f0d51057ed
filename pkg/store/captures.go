package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

type captureItem struct {
	keys
	CaptureID      int64        `dynamo:"captureId"`
	EnvID          int64        `dynamo:"envId"`
	Name           string       `dynamo:"name"`
	OwnerID        string       `dynamo:"ownerId"`
	OwnerName      string       `dynamo:"ownerName,omitempty"`
	Status         string       `dynamo:"status"`
	DueAt          *int64       `dynamo:"dueAt,omitempty"` // unix ms; absent once ended, which keeps the due index sparse
	Start          *time.Time   `dynamo:"start,omitempty"`
	End            *time.Time   `dynamo:"end,omitempty"`
	ScheduledStart *time.Time   `dynamo:"scheduledStart,omitempty"`
	ScheduledEnd   *time.Time   `dynamo:"scheduledEnd,omitempty"`
	Reason         string       `dynamo:"reason,omitempty"`
	Created        time.Time    `dynamo:"created"`
	Updated        time.Time    `dynamo:"updated"`
	Attempts       int          `dynamo:"attempts,omitempty"`
	Watermark      *time.Time   `dynamo:"watermark,omitempty"`
	Begin          *time.Time   `dynamo:"begin,omitempty"`
	Rotation       int          `dynamo:"rotation,omitempty"`
	Server         string       `dynamo:"server,omitempty"`
	Fragments      int          `dynamo:"fragments,omitempty"`
	Statements     int64        `dynamo:"statements,omitempty"`
	WorkloadBytes  int64        `dynamo:"workloadBytes,omitempty"`
	MetricsStored  bool         `dynamo:"metricsStored,omitempty"`
	MetricsFinal   bool         `dynamo:"metricsFinal,omitempty"`
	MetricsTries   int          `dynamo:"metricsAttempts,omitempty"`
	Lease          string       `dynamo:"lease,omitempty"`
	Collected      int64        `dynamo:"collected,omitempty"`
	Cut            bool         `dynamo:"cut,omitempty"`
	MaxStatements  int64        `dynamo:"maxStatements,omitempty"`
	MaxBytes       int64        `dynamo:"maxBytes,omitempty"`
	Filters        *filtersItem `dynamo:"filters,omitempty"`
	ListKey        string       `dynamo:"listKey,omitempty"` // its place in lists (envStarts), kept as it starts and ends
	// Replays counts the replays ever made of it and their renames (CreateReplay and
	// RenameReplay add one); absent on captures stored before they were counted.
	Replays *int `dynamo:"replays"`
}

// nameClaim reserves a capture name within an environment; it is written and removed in the
// same transactions as the captures that hold it, so names stay unique under concurrency.
type nameClaim struct {
	keys
	ClaimedBy int64 `dynamo:"claimedBy"`
}

func dueAt(c capture.Capture) *int64 {
	t, ok := c.DueAt()
	if !ok {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// setDueAt makes u write c's due time, or remove it for a capture that is not due, which keeps
// it out of the due index.
func setDueAt(u *dynamo.Update, c capture.Capture) {
	if due := dueAt(c); due != nil {
		u.Set("dueAt", *due)
	} else {
		u.Remove("dueAt")
	}
}

func newCaptureItem(c capture.Capture) captureItem {
	return captureItem{
		keys:      keys{PK: capturePK(c.ID), SK: skCapture},
		CaptureID: c.ID, EnvID: c.EnvID, Name: c.Name, OwnerID: c.OwnerID, OwnerName: c.OwnerName, Status: string(c.Status),
		DueAt: dueAt(c), Start: c.Start, End: c.End, ScheduledStart: c.ScheduledStart,
		ScheduledEnd: c.ScheduledEnd, Reason: c.Reason, Created: c.Created, Updated: c.Updated,
		Attempts: c.Attempts, Watermark: timeOrNil(c.Workload.Watermark), Fragments: c.Workload.Fragments,
		Statements: c.Workload.Statements, WorkloadBytes: c.Workload.Bytes,
		MetricsStored: c.Metrics.Stored, MetricsFinal: c.Metrics.Final, MetricsTries: c.Metrics.Attempts,
		Lease: c.Lease, Collected: c.Workload.Collected, Cut: c.Workload.Cut, Server: c.Server,
		Begin: timeOrNil(c.Workload.Begin), Rotation: c.Workload.LastCollection,
		MaxStatements: c.Limits.MaxStatements, MaxBytes: c.Limits.MaxBytes, Filters: newFiltersItem(c.Filters),
		ListKey: listKey(c), Replays: replaysOrNil(c.Replays),
	}
}

func replaysOrNil(n int) *int {
	if n == capture.UnknownReplays {
		return nil
	}
	return &n
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (it captureItem) capture() capture.Capture {
	c := capture.Capture{
		ID: it.CaptureID, EnvID: it.EnvID, Name: it.Name, OwnerID: it.OwnerID, OwnerName: it.OwnerName,
		Status: capture.Status(it.Status), Start: utc(it.Start), End: utc(it.End),
		ScheduledStart: utc(it.ScheduledStart), ScheduledEnd: utc(it.ScheduledEnd),
		Reason: it.Reason, Created: it.Created.UTC(), Updated: it.Updated.UTC(), Attempts: it.Attempts,
		Workload: capture.Workload{Fragments: it.Fragments, Statements: it.Statements, Collected: it.Collected,
			Bytes: it.WorkloadBytes, LastCollection: it.Rotation, Cut: it.Cut},
		Metrics: capture.MetricsState{Stored: it.MetricsStored, Final: it.MetricsFinal, Attempts: it.MetricsTries},
		Lease:   it.Lease,
		Server:  it.Server,
		Limits:  capture.Limits{MaxStatements: it.MaxStatements, MaxBytes: it.MaxBytes},
		Filters: it.Filters.filters(),
		Replays: capture.UnknownReplays,
	}
	if it.Replays != nil {
		c.Replays = *it.Replays
	}
	if it.Watermark != nil {
		c.Workload.Watermark = it.Watermark.UTC()
	}
	if it.Begin != nil {
		c.Workload.Begin = it.Begin.UTC()
	}
	return c
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func claimKeys(envID int64, name string) (string, string) {
	return envPK(envID), nameSK(capture.NameKey(name))
}

// CreateCapture stores a new capture, claiming its name in its environment in the same
// transaction, and counting it among its environment's live captures:
// capture.ErrNameTaken if another capture holds the name, capture.ErrEnvNotFound if the
// environment was deleted meanwhile, Quotas.TooManyCaptures if it has as many live captures
// as it may.
func (s *Store) CreateCapture(ctx context.Context, c capture.Capture) (capture.Capture, error) {
	id, err := s.nextID(ctx, "capture")
	if err != nil {
		return capture.Capture{}, err
	}
	c.ID = id
	pk, sk := claimKeys(c.EnvID, c.Name)
	err = s.db.WriteTx().
		Put(s.table.Put(newCaptureItem(c)).If("attribute_not_exists(pk)")).
		Put(s.table.Put(nameClaim{keys: keys{PK: pk, SK: sk}, ClaimedBy: id}).If("attribute_not_exists(pk)")).
		Check(s.table.Check("pk", envPK(c.EnvID)).Range("sk", skEnv).If("attribute_exists(pk) AND attribute_not_exists(deleting)")).
		Update(s.liveAdd(c.EnvID, id, s.Quotas.LiveCaptures)).
		Run(ctx)
	switch failedCondition(err) {
	case 1:
		return capture.Capture{}, capture.ErrNameTaken
	case 2:
		return capture.Capture{}, capture.ErrEnvNotFound
	case 3:
		return capture.Capture{}, s.Quotas.TooManyCaptures()
	}
	if err != nil {
		return capture.Capture{}, fmt.Errorf("create capture %q in environment %d: %w", c.Name, c.EnvID, err)
	}
	return c, nil
}

// Capture returns one capture, or capture.ErrCaptureNotFound.
func (s *Store) Capture(ctx context.Context, id int64) (capture.Capture, error) {
	var it captureItem
	// Strongly consistent: the worker reads a capture right after conditional writes to it, and
	// a stale copy would redo work already counted.
	err := s.table.Get("pk", capturePK(id)).Range("sk", dynamo.Equal, skCapture).Consistent(true).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return capture.Capture{}, capture.ErrCaptureNotFound
	}
	if err != nil {
		return capture.Capture{}, fmt.Errorf("get capture %d: %w", id, err)
	}
	return it.capture(), nil
}

// Captures reads several captures at once, strongly consistent as Capture; those that do not
// exist are left out.
func (s *Store) Captures(ctx context.Context, ids []int64) ([]capture.Capture, error) {
	ks := make([]dynamo.Keyed, len(ids))
	for i, id := range ids {
		ks[i] = dynamo.Keys{capturePK(id), skCapture}
	}
	items, err := batchGet[captureItem](ctx, s, "captures", ks, true)
	if err != nil {
		return nil, err
	}
	out := make([]capture.Capture, len(items))
	for i, it := range items {
		out[i] = it.capture()
	}
	return out, nil
}

// EnvCaptures lists an environment's captures, newest first; a non-empty name keeps only the
// capture of that name.
func (s *Store) EnvCaptures(ctx context.Context, envID int64, name string) ([]capture.Capture, error) {
	q := s.table.Get("envId", envID).Index(IndexEnvCaptures).Order(dynamo.Descending)
	if name != "" {
		q = q.Filter("$ = ?", "name", name)
	}
	var items []captureItem
	if err := q.All(ctx, &items); err != nil {
		return nil, fmt.Errorf("list captures of environment %d: %w", envID, err)
	}
	out := make([]capture.Capture, len(items))
	for i, it := range items {
		out[i] = it.capture()
	}
	return out, nil
}

// Rename gives c a new name, moving its name claim in the same transaction:
// capture.ErrNameTaken if the name is held by another capture, capture.ErrChanged if c was
// renamed or deleted meanwhile.
func (s *Store) Rename(ctx context.Context, c capture.Capture, name string, now time.Time) (capture.Capture, error) {
	update := s.table.Update("pk", capturePK(c.ID)).Range("sk", skCapture).
		Set("name", name).If("attribute_exists(pk) AND $ = ?", "name", c.Name)
	oldPK, oldSK := claimKeys(c.EnvID, c.Name)
	newPK, newSK := claimKeys(c.EnvID, name)
	err := s.renameClaimed(ctx, update, c.Name, name,
		nameClaim{keys: keys{PK: oldPK, SK: oldSK}, ClaimedBy: c.ID},
		nameClaim{keys: keys{PK: newPK, SK: newSK}, ClaimedBy: c.ID}, capture.ErrNameTaken)
	if errors.Is(err, capture.ErrChanged) || errors.Is(err, capture.ErrNameTaken) {
		return capture.Capture{}, err
	}
	if err != nil {
		return capture.Capture{}, fmt.Errorf("rename capture %d to %q: %w", c.ID, name, err)
	}
	c.Name = name
	return c, nil
}

// renameClaimed runs update, which renames an item from oldName to name on condition that it
// still has oldName, and moves the name's claim with it in the same transaction: old deleted
// if it is still the item's, claim put if no one holds that name. Where only the name's case
// changes the claim stays. It returns capture.ErrChanged if the item or its claim changed
// meanwhile, taken if another holds the new name. A claim that moves runs moved too, in the
// same transaction (capture.ErrChanged if its condition fails).
func (s *Store) renameClaimed(ctx context.Context, update *dynamo.Update, oldName, name string, old, claim nameClaim, taken error, moved ...*dynamo.Update) error {
	if capture.NameKey(name) == capture.NameKey(oldName) {
		err := update.Run(ctx)
		if dynamo.IsCondCheckFailed(err) {
			return capture.ErrChanged
		}
		return err
	}
	tx := s.db.WriteTx().
		Update(update).
		Delete(s.table.Delete("pk", old.PK).Range("sk", old.SK).If("claimedBy = ?", old.ClaimedBy)).
		Put(s.table.Put(claim).If("attribute_not_exists(pk)"))
	for _, u := range moved {
		tx.Update(u)
	}
	err := tx.Run(ctx)
	switch i := failedCondition(err); {
	case i == 2:
		return taken
	case i >= 0:
		return capture.ErrChanged
	}
	return err
}

// Move writes a capture's new status and the fields that go with it, on condition that it is
// still in status from: capture.ErrChanged if it is not, so of concurrent moves only one lands.
// next is the capture as capture.Move (or capture.Stop) returned it. A move that ends the
// capture also takes it out of its environment's live captures, in the same transaction.
func (s *Store) Move(ctx context.Context, next capture.Capture, from capture.Status) error {
	u := s.table.Update("pk", capturePK(next.ID)).Range("sk", skCapture).
		Set("status", string(next.Status)).
		Set("updated", next.Updated).
		Set("attempts", next.Attempts).
		If("attribute_exists(pk) AND $ = ?", "status", string(from))
	setDueAt(u, next)
	setOrRemove := func(name string, t *time.Time) {
		if t != nil {
			u.Set(name, *t)
		} else {
			u.Remove(name)
		}
	}
	setOrRemove("start", next.Start)
	setOrRemove("end", next.End)
	u.Set("listKey", listKey(next))
	if next.Reason != "" {
		u.Set("reason", next.Reason)
	} else {
		u.Remove("reason")
	}
	var err error
	if next.Status.Live() {
		err = u.Run(ctx)
	} else {
		// An ended capture leaves its environment's live captures in the same write.
		err = s.db.WriteTx().Update(u).Update(s.liveRemove(next.EnvID, next.ID)).Run(ctx)
	}
	if dynamo.IsCondCheckFailed(err) || failedCondition(err) == 0 {
		return fmt.Errorf("move capture %d %s → %s: %w", next.ID, from, next.Status, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("move capture %d %s → %s: %w", next.ID, from, next.Status, err)
	}
	return nil
}

// DeleteCapture deletes c and frees its name, on condition that it is still in the status,
// has the name and counts the replays it was read with: capture.ErrChanged otherwise (so a
// replay made since it was read is not left without its capture). A live capture leaves its
// environment's live captures in the same transaction.
func (s *Store) DeleteCapture(ctx context.Context, c capture.Capture) error {
	pk, sk := claimKeys(c.EnvID, c.Name)
	del := s.table.Delete("pk", capturePK(c.ID)).Range("sk", skCapture).
		If("$ = ? AND $ = ?", "status", string(c.Status), "name", c.Name)
	if c.Replays == capture.UnknownReplays {
		del.If("attribute_not_exists(replays)")
	} else {
		del.If("replays = ?", c.Replays)
	}
	tx := s.db.WriteTx().
		Delete(del).
		Delete(s.table.Delete("pk", pk).Range("sk", sk).If("claimedBy = ?", c.ID))
	if c.Status.Live() {
		tx.Update(s.liveRemove(c.EnvID, c.ID))
	}
	err := tx.Run(ctx)
	if failedCondition(err) >= 0 {
		return fmt.Errorf("delete capture %d: %w", c.ID, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("delete capture %d: %w", c.ID, err)
	}
	return nil
}
