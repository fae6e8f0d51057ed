package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
)

// collectorItem is one server's general log collection (see lease.Collector). Its lock lets
// one collector at a time read the server's log; the pending collection is written before its
// swap, so a collector that dies after the swap leaves the rotated table's name behind.
type collectorItem struct {
	keys
	Readers     []int     `dynamo:"readers,set,omitempty"`
	Locked      int64     `dynamo:"locked,omitempty"` // the lock holder's until (unix ms)
	Seq         int       `dynamo:"seq,omitempty"`
	PendingN    int       `dynamo:"pendingN,omitempty"`
	PendingFrom time.Time `dynamo:"pendingFrom,omitempty"`
	PendingUpTo time.Time `dynamo:"pendingUpTo,omitempty"`
	Table       string    `dynamo:"pendingTable,omitempty"`
	Updated     time.Time `dynamo:"updated"`
}

func collectorPK(server string) string { return "COLLECT#" + server }

const skCollector = "COLLECT"

func (it collectorItem) collector(server string) lease.Collector {
	c := lease.Collector{Server: server, Finished: it.Seq}
	for _, id := range it.Readers {
		c.Readers = append(c.Readers, int64(id))
	}
	slices.Sort(c.Readers)
	if it.PendingN > 0 {
		c.Pending = &lease.Collection{N: it.PendingN, Table: it.Table, From: it.PendingFrom.UTC(), UpTo: it.PendingUpTo.UTC()}
	}
	return c
}

func (s *Store) collectorUpdate(server string, now time.Time) *dynamo.Update {
	return s.table.Update("pk", collectorPK(server)).Range("sk", skCollector).Set("updated", now.UTC())
}

// LockCollector lets one collector at a time read server's log, until it unlocks or until
// passes; it returns the collection's state as locked. capture.ErrChanged while another holds
// it. Until is longer than a collection can take, so only a collector that died loses it.
func (s *Store) LockCollector(ctx context.Context, server string, now, until time.Time) (lease.Collector, error) {
	var it collectorItem
	err := s.collectorUpdate(server, now).
		Set("locked", until.UnixMilli()).
		If("attribute_not_exists(locked) OR locked < ?", now.UnixMilli()).
		Value(ctx, &it)
	if dynamo.IsCondCheckFailed(err) {
		return lease.Collector{}, fmt.Errorf("lock the collection of %s: %w", server, capture.ErrChanged)
	}
	if err != nil {
		return lease.Collector{}, fmt.Errorf("lock the collection of %s: %w", server, err)
	}
	return it.collector(server), nil
}

// UnlockCollector ends the lock taken with LockCollector until.
func (s *Store) UnlockCollector(ctx context.Context, server string, until time.Time) error {
	err := s.table.Update("pk", collectorPK(server)).Range("sk", skCollector).
		Remove("locked").If("locked = ?", until.UnixMilli()).Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("unlock the collection of %s: %w", server, err)
	}
	return nil
}

// JoinCollector makes capture id one of server's readers, while holding its lock until
// until: a capture joins between collections, never during one.
func (s *Store) JoinCollector(ctx context.Context, server string, id int64, now, until time.Time) error {
	err := s.collectorUpdate(server, now).AddIntsToSet("readers", int(id)).
		If("locked = ?", until.UnixMilli()).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("join the collection of %s: lock lost: %w", server, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("join the collection of %s: %w", server, err)
	}
	return nil
}

// LeaveCollector takes capture id off server's readers; leaving twice does nothing.
func (s *Store) LeaveCollector(ctx context.Context, server string, id int64, now time.Time) error {
	err := s.collectorUpdate(server, now).DeleteIntsFromSet("readers", int(id)).
		If("attribute_exists(pk)").Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("leave the collection of %s: %w", server, err)
	}
	return nil
}

// ClaimCollection records collection rot, the one after the last finished, as pending, before
// its swap: on condition that the caller still holds the lock taken until until and no other
// collection is pending. capture.ErrChanged otherwise.
func (s *Store) ClaimCollection(ctx context.Context, server string, until time.Time, rot lease.Collection, now time.Time) error {
	u := s.collectorUpdate(server, now).
		Set("pendingN", rot.N).Set("pendingUpTo", rot.UpTo.UTC()).
		If("locked = ? AND attribute_not_exists(pendingN)", until.UnixMilli())
	if !rot.From.IsZero() {
		u.Set("pendingFrom", rot.From.UTC())
	}
	if rot.Table != "" {
		u.Set("pendingTable", rot.Table)
	}
	if rot.N == 1 {
		u.If("attribute_not_exists(seq)")
	} else {
		u.If("seq = ?", rot.N-1)
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("claim collection %d of %s: %w", rot.N, server, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("claim collection %d of %s: %w", rot.N, server, err)
	}
	return nil
}

// CollectionDone finishes pending collection n: every reader's share is stored and its table
// dropped.
func (s *Store) CollectionDone(ctx context.Context, server string, until time.Time, n int, now time.Time) error {
	err := s.collectorUpdate(server, now).
		Set("seq", n).Remove("pendingN", "pendingFrom", "pendingUpTo", "pendingTable").
		If("locked = ? AND pendingN = ?", until.UnixMilli(), n).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("finish collection %d of %s: %w", n, server, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("finish collection %d of %s: %w", n, server, err)
	}
	return nil
}
