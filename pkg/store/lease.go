package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
)

// leaseItem is a general log lease (see lease.Lease). While it has holders or a restore to
// make it sits in the due index under leaseStatus, due when the scheduler should next look at
// it: to drop holders that are gone, or to try the restore again.
type leaseItem struct {
	keys
	Holders   []int             `dynamo:"holders,set,omitempty"`
	Before    map[string]string `dynamo:"before,omitempty"`
	Via       []int             `dynamo:"via,set,omitempty"`
	Pending   bool              `dynamo:"restorePending,omitempty"`
	LastError string            `dynamo:"lastError,omitempty"`
	Attempts  int               `dynamo:"restoreAttempts,omitempty"`
	Restoring int64             `dynamo:"restoring,omitempty"` // a restorer's claim, until (unix ms)
	Restores  int               `dynamo:"restores,omitempty"`  // restores claimed, ever
	Status    string            `dynamo:"status,omitempty"`
	DueAt     *int64            `dynamo:"dueAt,omitempty"`
	Updated   time.Time         `dynamo:"updated"`
}

// leaseStatus is the due index's partition of leases.
const leaseStatus = "LEASE"

func leasePK(key string) string { return "LOG#" + key }

const skLease = "LOG"

func (it leaseItem) lease(key string) lease.Lease {
	l := lease.Lease{Key: key, Before: it.Before, RestorePending: it.Pending, LastError: it.LastError,
		Attempts: it.Attempts, Restores: it.Restores, Updated: it.Updated}
	for _, h := range it.Holders {
		l.Holders = append(l.Holders, int64(h))
	}
	for _, v := range it.Via {
		l.Via = append(l.Via, int64(v))
	}
	slices.Sort(l.Holders)
	slices.Sort(l.Via)
	return l
}

func (s *Store) leaseUpdate(key string, now time.Time) *dynamo.Update {
	return s.table.Update("pk", leasePK(key)).Range("sk", skLease).Set("updated", now.UTC())
}

// HoldLog adds capture id, recording through environment envID, to the lease's holders.
// before is what the settings were when the caller read them, after reading the lease and
// seeing restores claimed; it is kept only if nothing is kept yet, since what is kept is what
// the last holder must restore. The lease is due for a sweep at sweepAt. If a restore is under
// way, or one was claimed since the caller read the lease (so before may be the settings it
// was about to undo), it fails with capture.ErrChanged: the caller reads again and retries.
func (s *Store) HoldLog(ctx context.Context, key string, id, envID int64, before map[string]string, restores int, now, sweepAt time.Time) error {
	u := s.leaseUpdate(key, now).
		AddIntsToSet("holders", int(id)).
		AddIntsToSet("via", int(envID)).
		Set("status", leaseStatus).Set("dueAt", sweepAt.UnixMilli()).
		Remove("restorePending", "lastError", "restoreAttempts").
		If("attribute_not_exists(restoring) OR restoring < ?", now.UnixMilli())
	if restores == 0 {
		u.If("attribute_not_exists(restores)")
	} else {
		u.If("restores = ?", restores)
	}
	if len(before) > 0 {
		u.SetIfNotExists("before", before)
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("hold log %s for capture %d: being restored: %w", key, id, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("hold log %s for capture %d: %w", key, id, err)
	}
	return nil
}

// ReleaseLog removes capture id from the lease's holders. When it was the last holder and
// settings are kept, the lease becomes restore-pending and due now, and last is true: the
// caller should restore (ClaimRestore). The kept settings stay until RestoreDone, so a restore
// that fails is tried again. Releasing twice, or a capture that never held, does nothing.
func (s *Store) ReleaseLog(ctx context.Context, key string, id int64, now time.Time) (last bool, err error) {
	var it leaseItem
	err = s.leaseUpdate(key, now).
		DeleteIntsFromSet("holders", int(id)).
		If("contains(holders, ?)", id).
		Value(ctx, &it)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("release log %s for capture %d: %w", key, id, err)
	}
	if len(it.Holders) > 0 {
		return false, nil
	}
	err = s.leaseUpdate(key, now).
		Set("restorePending", true).Set("status", leaseStatus).Set("dueAt", now.UnixMilli()).
		If("attribute_not_exists(holders) AND attribute_exists($)", "before").
		Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil // a new holder came, or another releaser got here first
	}
	if err != nil {
		return false, fmt.Errorf("release log %s for capture %d: %w", key, id, err)
	}
	return true, nil
}

// ClaimRestore lets one restorer at a time put the lease's kept settings back, until until:
// only while nothing holds the lease and settings are kept. capture.ErrChanged otherwise (a
// holder came, it was restored, or another restorer is at it), when there is nothing to do.
// While claimed, HoldLog waits, so no capture turns the log on just before it is turned off.
func (s *Store) ClaimRestore(ctx context.Context, key string, now, until time.Time) (lease.Lease, error) {
	var it leaseItem
	err := s.leaseUpdate(key, now).
		Set("restoring", until.UnixMilli()).Add("restores", 1).
		If("attribute_not_exists(holders) AND attribute_exists($)", "before").
		If("attribute_not_exists(restoring) OR restoring < ?", now.UnixMilli()).
		Value(ctx, &it)
	if dynamo.IsCondCheckFailed(err) {
		return lease.Lease{}, fmt.Errorf("claim restore of log %s: %w", key, capture.ErrChanged)
	}
	if err != nil {
		return lease.Lease{}, fmt.Errorf("claim restore of log %s: %w", key, err)
	}
	return it.lease(key), nil
}

// RestoreDone ends a restore that put the settings back: the lease has nothing left to do and
// leaves the due index. It keeps its count of restores, which HoldLog checks.
func (s *Store) RestoreDone(ctx context.Context, key string, until, now time.Time) error {
	err := s.leaseUpdate(key, now).
		Remove("before", "restoring", "restorePending", "lastError", "restoreAttempts", "status", "dueAt").
		If("restoring = ? AND attribute_not_exists(holders)", until.UnixMilli()).
		Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("end restore of log %s: %w", key, err)
	}
	return nil
}

// RestoreFailed ends a restore that failed: the lease stays restore-pending with why, and is
// due again at next.
func (s *Store) RestoreFailed(ctx context.Context, key string, until time.Time, why string, now, next time.Time) error {
	err := s.leaseUpdate(key, now).
		Set("lastError", why).Add("restoreAttempts", 1).
		Set("status", leaseStatus).Set("dueAt", next.UnixMilli()).
		Remove("restoring").
		If("restoring = ?", until.UnixMilli()).
		Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("record failed restore of log %s: %w", key, err)
	}
	return nil
}

// SweepLater makes a held lease due for its next sweep at at.
func (s *Store) SweepLater(ctx context.Context, key string, now, at time.Time) error {
	err := s.leaseUpdate(key, now).
		Set("status", leaseStatus).Set("dueAt", at.UnixMilli()).
		If("attribute_exists(holders)").
		Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("schedule sweep of log %s: %w", key, err)
	}
	return nil
}

// Lease reads a lease; one that does not exist is idle.
func (s *Store) Lease(ctx context.Context, key string) (lease.Lease, error) {
	var it leaseItem
	err := s.table.Get("pk", leasePK(key)).Range("sk", dynamo.Equal, skLease).Consistent(true).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return lease.Lease{Key: key}, nil
	}
	if err != nil {
		return lease.Lease{}, fmt.Errorf("read log %s: %w", key, err)
	}
	return it.lease(key), nil
}

// DueLeases lists the keys of the leases due for a sweep or a restore by now.
func (s *Store) DueLeases(ctx context.Context, now time.Time) ([]string, error) {
	var items []keys
	err := s.table.Get("status", leaseStatus).Index(IndexDue).
		Range("dueAt", dynamo.LessOrEqual, now.UnixMilli()).
		Project("pk").All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list due leases: %w", err)
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = strings.TrimPrefix(it.PK, leasePK(""))
	}
	return out, nil
}

// SetCaptureLease records the lease capture id holds, or is about to hold, and the server it
// records (lease.ServerKey), whose collection reads its log.
func (s *Store) SetCaptureLease(ctx context.Context, id int64, key, server string) error {
	err := s.table.Update("pk", capturePK(id)).Range("sk", skCapture).
		Set("lease", key).Set("server", server).If("attribute_exists(pk)").Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("record lease of capture %d: %w", id, capture.ErrCaptureNotFound)
	}
	if err != nil {
		return fmt.Errorf("record lease of capture %d: %w", id, err)
	}
	return nil
}

// SetEnvironmentLease records the lease of the server environment id reaches, so that the
// environment can show its general log's state.
func (s *Store) SetEnvironmentLease(ctx context.Context, id int64, key string) error {
	err := s.table.Update("pk", envPK(id)).Range("sk", skEnv).
		Set("lease", key).If("attribute_exists(pk) AND (attribute_not_exists(lease) OR lease <> ?)", key).Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("record lease of environment %d: %w", id, err)
	}
	return nil
}

// sessionItem registers one of the recorder's own sessions on a server, so that collections
// leave its rows out of every workload. Sorted by time within the server's partition, and gone
// by itself (TTL) once no collection window can reach back to it.
type sessionItem struct {
	keys
	Thread  int64 `dynamo:"thread"`
	Expires int64 `dynamo:"expires"`
}

func sessionsPK(server string) string { return "SESSIONS#" + server }

func sessionSK(at time.Time, thread uint64) string {
	return fmt.Sprintf("SESSION#%020d#%d", at.UTC().UnixMilli(), thread)
}

// sessionLife is how long a registration is kept: far longer than any collection lags.
const sessionLife = 7 * 24 * time.Hour

// RegisterSession records that connection thread on server (as the server identifies itself)
// is one of the recorder's own, opened at at.
func (s *Store) RegisterSession(ctx context.Context, server string, thread uint64, at time.Time) error {
	it := sessionItem{keys: keys{PK: sessionsPK(server), SK: sessionSK(at, thread)}, Thread: int64(thread),
		Expires: at.Add(sessionLife).Unix()}
	if err := s.table.Put(it).Run(ctx); err != nil {
		return fmt.Errorf("register session %d on %s: %w", thread, server, err)
	}
	return nil
}

// OwnSessions lists the recorder's own sessions on server registered between from and to.
func (s *Store) OwnSessions(ctx context.Context, server string, from, to time.Time) ([]uint64, error) {
	var items []sessionItem
	err := s.table.Get("pk", sessionsPK(server)).
		Range("sk", dynamo.Between, sessionSK(from, 0), sessionSK(to.Add(time.Millisecond), 0)).
		Consistent(true).All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list own sessions on %s: %w", server, err)
	}
	out := make([]uint64, len(items))
	for i, it := range items {
		out[i] = uint64(it.Thread)
	}
	return out, nil
}
