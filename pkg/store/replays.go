package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

// Replays live in the one table beside captures:
//
//	pk            sk                what
//	REPLAY#<id>   REPLAY            the replay (replayItem)
//	REPLAY#<id>   SHARD#<n>         its shards (shards.go)
//	CAPTURE#<id>  RNAME#<name key>  a replay's name claim within its capture, which also lists
//	                                the capture's replays (consistently, without an index)
//	ENV#<id>      REPLAY#<id>       a replay of the environment (its target, or its capture's)
//	TARGET#<addr> LIVE              the replays that may run on a target address (MayRun)
//	RSERVER#<key> HOLD              the one replay a target server runs (holds.go)
//
// A replay item's "status" is replayStatus, the due index's partition of replays, so that
// neither the captures' due partitions nor the captures' indexes (which key on envId) see it.
type replayItem struct {
	keys
	ReplayID       int64        `dynamo:"replayId"`
	CaptureID      int64        `dynamo:"captureId"`
	TargetEnvID    int64        `dynamo:"targetEnvId"`
	CaptureEnvID   int64        `dynamo:"captureEnvId"`
	Name           string       `dynamo:"name"`
	OwnerID        string       `dynamo:"ownerId"`
	OwnerName      string       `dynamo:"ownerName,omitempty"`
	Status         string       `dynamo:"status"` // replayStatus: the due index's partition
	State          string       `dynamo:"state"`  // the replay's status
	DueAt          *int64       `dynamo:"dueAt,omitempty"`
	Start          *time.Time   `dynamo:"start,omitempty"`
	End            *time.Time   `dynamo:"end,omitempty"`
	ScheduledStart *time.Time   `dynamo:"scheduledStart,omitempty"`
	Reason         string       `dynamo:"reason,omitempty"`
	Created        time.Time    `dynamo:"created"`
	Updated        time.Time    `dynamo:"updated"`
	Attempts       int          `dynamo:"attempts,omitempty"`
	Speed          float64      `dynamo:"speed"`
	Mode           string       `dynamo:"mode"`
	MaxConnections int          `dynamo:"maxConnections"`
	Filters        *filtersItem `dynamo:"filters,omitempty"`
	// Progress: statements done and errors, by shard (its number in decimal), as each shard
	// records them (RecordProgress); Of is their total.
	ShardDone   map[string]int64 `dynamo:"shardDone,omitempty"`
	ShardErrors map[string]int64 `dynamo:"shardErrors,omitempty"`
	Of          int64            `dynamo:"of,omitempty"`
	Shards      int              `dynamo:"shards,omitempty"`
	Sessions    int              `dynamo:"sessions,omitempty"`
	Planned     int64            `dynamo:"planned,omitempty"` // the plan's statements
	Captured    int64            `dynamo:"captured,omitempty"`
	First       *time.Time       `dynamo:"first,omitempty"`
	Epoch       *time.Time       `dynamo:"epoch,omitempty"`
	Server      string           `dynamo:"server,omitempty"`
	Target      string           `dynamo:"target,omitempty"`
}

// replayStatus is the due index's partition of replays.
const replayStatus = "REPLAY"

const (
	skReplay      = "REPLAY"
	replayNamePfx = "RNAME#"
	envReplayPfx  = "REPLAY#"
	skTargetLive  = "LIVE"
)

func replayPK(id int64) string { return "REPLAY#" + strconv.FormatInt(id, 10) }

// envReplaySK orders an environment's replays by id, so a descending query is newest first.
func envReplaySK(id int64) string { return fmt.Sprintf("%s%020d", envReplayPfx, id) }

func targetPK(target string) string { return "TARGET#" + target }

func replayDueAt(r capture.Replay) *int64 {
	t, ok := r.DueAt()
	if !ok {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

func newReplayItem(r capture.Replay) replayItem {
	return replayItem{
		keys:     keys{PK: replayPK(r.ID), SK: skReplay},
		ReplayID: r.ID, CaptureID: r.CaptureID, TargetEnvID: r.EnvID, CaptureEnvID: r.CaptureEnvID,
		Name: r.Name, OwnerID: r.OwnerID, OwnerName: r.OwnerName, Status: replayStatus, State: string(r.Status),
		DueAt: replayDueAt(r), Start: r.Start, End: r.End, ScheduledStart: r.ScheduledStart, Reason: r.Reason,
		Created: r.Created, Updated: r.Updated, Attempts: r.Attempts, Speed: r.Speed, Mode: string(r.Mode),
		MaxConnections: r.MaxConnections, Filters: newFiltersItem(r.Filters),
		ShardDone: progressMap(r.Progress.Statements), ShardErrors: progressMap(r.Progress.Errors), Of: r.Progress.Of,
		Shards: r.Plan.Shards, Sessions: r.Plan.Sessions, Planned: r.Plan.Statements, Captured: r.Plan.Captured,
		First: timeOrNil(r.Plan.First), Epoch: timeOrNil(r.Plan.Epoch), Server: r.Server, Target: r.Target,
	}
}

func (it replayItem) replay() capture.Replay {
	r := capture.Replay{
		ID: it.ReplayID, CaptureID: it.CaptureID, EnvID: it.TargetEnvID, CaptureEnvID: it.CaptureEnvID,
		Name: it.Name, OwnerID: it.OwnerID, OwnerName: it.OwnerName, Status: capture.Status(it.State),
		Start: utc(it.Start), End: utc(it.End), ScheduledStart: utc(it.ScheduledStart), Reason: it.Reason,
		Created: it.Created.UTC(), Updated: it.Updated.UTC(), Attempts: it.Attempts, Speed: it.Speed,
		Mode: capture.ReplayMode(it.Mode), MaxConnections: it.MaxConnections, Filters: it.Filters.filters(),
		Progress: capture.ReplayProgress{Statements: sum(it.ShardDone), Of: it.Of, Errors: sum(it.ShardErrors)},
		Plan:     capture.ReplayPlan{Shards: it.Shards, Sessions: it.Sessions, Statements: it.Planned, Captured: it.Captured},
		Server:   it.Server, Target: it.Target,
	}
	if it.First != nil {
		r.Plan.First = it.First.UTC()
	}
	if it.Epoch != nil {
		r.Plan.Epoch = it.Epoch.UTC()
	}
	return r
}

// progressMap is a new replay's progress by shard: none, or (for a copy made with some) all
// of it as shard 0's.
func progressMap(n int64) map[string]int64 {
	if n == 0 {
		return nil
	}
	return map[string]int64{"0": n}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func replayClaim(r capture.Replay, name string) nameClaim {
	return nameClaim{keys: keys{PK: capturePK(r.CaptureID), SK: replayNamePfx + capture.NameKey(name)}, ClaimedBy: r.ID}
}

// replayEnvs are the environments whose partitions list r: its target and its capture's.
func replayEnvs(r capture.Replay) []int64 {
	if r.CaptureEnvID == 0 || r.CaptureEnvID == r.EnvID {
		return []int64{r.EnvID}
	}
	return []int64{r.EnvID, r.CaptureEnvID}
}

// CreateReplay stores a new replay (its CaptureEnvID and Target set), claiming its name within
// its capture, counting it on the capture (Capture.Replays) and listing it in its environments'
// partitions in the same transaction: capture.ErrReplayNameTaken if another replay of the
// capture has the name, capture.ErrEnvNotFound if the target was deleted meanwhile,
// CaptureMissing if the capture was, or its environment is being deleted, capture.ErrTargetBusy
// if a replay that may run (MayRun) already counts on the target's address, for one that
// starts now. A capture's or an environment's delete therefore sees every replay made before
// it, and no replay is made after it.
func (s *Store) CreateReplay(ctx context.Context, r capture.Replay) (capture.Replay, error) {
	id, err := s.nextID(ctx, "replay")
	if err != nil {
		return capture.Replay{}, err
	}
	r.ID = id
	gone := capture.CaptureMissing(r.CaptureID, capture.Invalid)
	tx := s.db.WriteTx().
		Put(s.table.Put(newReplayItem(r)).If("attribute_not_exists(pk)")).
		Put(s.table.Put(replayClaim(r, r.Name)).If("attribute_not_exists(pk)")).
		Check(s.table.Check("pk", envPK(r.EnvID)).Range("sk", skEnv).If("attribute_exists(pk) AND attribute_not_exists(deleting)")).
		Update(s.table.Update("pk", capturePK(r.CaptureID)).Range("sk", skCapture).Add("replays", 1).If("attribute_exists(pk)"))
	failures := []error{nil, capture.ErrReplayNameTaken, capture.ErrEnvNotFound, gone}
	if r.CaptureEnvID != 0 && r.CaptureEnvID != r.EnvID {
		tx.Check(s.table.Check("pk", envPK(r.CaptureEnvID)).Range("sk", skEnv).If("attribute_not_exists(deleting)"))
		failures = append(failures, gone)
	}
	if r.Status.MayRun() {
		tx.Update(s.targetAdd(r))
		failures = append(failures, capture.ErrTargetBusy)
	}
	for _, env := range replayEnvs(r) {
		tx.Put(s.table.Put(envReplayItem(env, r.ID)))
	}
	err = tx.Run(ctx)
	if i := failedCondition(err); i > 0 && i < len(failures) {
		return capture.Replay{}, failures[i]
	}
	if err != nil {
		return capture.Replay{}, fmt.Errorf("create replay %q of capture %d: %w", r.Name, r.CaptureID, err)
	}
	return r, nil
}

// targetAdd counts r among its target address's live replays, on condition that none is.
func (s *Store) targetAdd(r capture.Replay) *dynamo.Update {
	return s.table.Update("pk", targetPK(r.Target)).Range("sk", skTargetLive).
		AddIntsToSet("ids", int(r.ID)).
		If("attribute_not_exists(ids) OR size(ids) = ? OR contains(ids, ?)", 0, r.ID)
}

// targetRemove takes r out of its target address's live replays.
func (s *Store) targetRemove(r capture.Replay) *dynamo.Update {
	return s.table.Update("pk", targetPK(r.Target)).Range("sk", skTargetLive).DeleteIntsFromSet("ids", int(r.ID))
}

// Replay returns one replay, read consistently, or capture.ErrReplayNotFound.
func (s *Store) Replay(ctx context.Context, id int64) (capture.Replay, error) {
	var it replayItem
	err := s.table.Get("pk", replayPK(id)).Range("sk", dynamo.Equal, skReplay).Consistent(true).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return capture.Replay{}, capture.ErrReplayNotFound
	}
	if err != nil {
		return capture.Replay{}, fmt.Errorf("get replay %d: %w", id, err)
	}
	return it.replay(), nil
}

// RenameReplay gives r a new name, moving its claim in the same transaction:
// capture.ErrReplayNameTaken if another replay of its capture has it, capture.ErrChanged if r
// was renamed or deleted meanwhile. A claim that moves counts on the capture (Capture.Replays)
// too: a capture's delete reads its replays by name, page by page, and one renamed onto a page
// already read would be missed, but for the count its delete is conditional on.
func (s *Store) RenameReplay(ctx context.Context, r capture.Replay, name string) (capture.Replay, error) {
	update := s.table.Update("pk", replayPK(r.ID)).Range("sk", skReplay).
		Set("name", name).If("attribute_exists(pk) AND $ = ?", "name", r.Name)
	counted := s.table.Update("pk", capturePK(r.CaptureID)).Range("sk", skCapture).Add("replays", 1).If("attribute_exists(pk)")
	err := s.renameClaimed(ctx, update, r.Name, name, replayClaim(r, r.Name), replayClaim(r, name), capture.ErrReplayNameTaken, counted)
	if errors.Is(err, capture.ErrChanged) || errors.Is(err, capture.ErrReplayNameTaken) {
		return capture.Replay{}, err
	}
	if err != nil {
		return capture.Replay{}, fmt.Errorf("rename replay %d to %q: %w", r.ID, name, err)
	}
	r.Name = name
	return r, nil
}

// MoveReplay writes a replay's new status and what goes with it (times, reason, plan,
// progress's total), on condition that it is still in status from: capture.ErrChanged if not.
// A move that ends a replay that may have run takes it out of its target address's live
// replays in the same transaction; a scheduled replay starting counts in them, or fails with
// capture.ErrTargetBusy.
func (s *Store) MoveReplay(ctx context.Context, next capture.Replay, from capture.Status) error {
	u := s.table.Update("pk", replayPK(next.ID)).Range("sk", skReplay).
		Set("state", string(next.Status)).Set("updated", next.Updated).Set("attempts", next.Attempts).
		If("attribute_exists(pk) AND $ = ?", "state", string(from))
	if due := replayDueAt(next); due != nil {
		u.Set("dueAt", *due)
	} else {
		u.Remove("dueAt")
	}
	setOrRemove := func(name string, t *time.Time) {
		if t != nil {
			u.Set(name, *t)
		} else {
			u.Remove(name)
		}
	}
	setOrRemove("start", next.Start)
	setOrRemove("end", next.End)
	if next.Reason != "" {
		u.Set("reason", next.Reason)
	} else {
		u.Remove("reason")
	}
	if p := next.Plan; p.Shards > 0 {
		u.Set("shards", p.Shards).Set("sessions", p.Sessions).Set("planned", p.Statements).
			Set("captured", p.Captured).Set("first", p.First).Set("epoch", p.Epoch).Set("of", next.Progress.Of)
		// Each shard's counts start at zero when the plan is set (RecordProgress sets them
		// by path, which needs the maps); later moves leave them.
		zeros := make(map[string]int64, p.Shards)
		for i := range p.Shards {
			zeros[strconv.Itoa(i)] = 0
		}
		u.SetExpr("shardDone = if_not_exists(shardDone, ?)", zeros).
			SetExpr("shardErrors = if_not_exists(shardErrors, ?)", zeros)
	}
	tx := s.db.WriteTx().Update(u)
	switch {
	case from.MayRun() && !next.Status.MayRun():
		tx.Update(s.targetRemove(next))
	case !from.MayRun() && next.Status.MayRun():
		tx.Update(s.targetAdd(next))
	}
	err := tx.Run(ctx)
	switch failedCondition(err) {
	case 0:
		return fmt.Errorf("move replay %d %s → %s: %w", next.ID, from, next.Status, capture.ErrChanged)
	case 1:
		return fmt.Errorf("move replay %d %s → %s: %w", next.ID, from, next.Status, capture.ErrTargetBusy)
	}
	if err != nil {
		return fmt.Errorf("move replay %d %s → %s: %w", next.ID, from, next.Status, err)
	}
	return nil
}

// SetReplayServer records the key of the target server a STARTING replay is about to hold,
// before it takes the hold, so whatever ends it can let go: capture.ErrChanged if it is no
// longer STARTING.
func (s *Store) SetReplayServer(ctx context.Context, r capture.Replay, server string) (capture.Replay, error) {
	err := s.table.Update("pk", replayPK(r.ID)).Range("sk", skReplay).Set("server", server).
		If("$ = ?", "state", string(capture.Starting)).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return capture.Replay{}, fmt.Errorf("set the server of replay %d: %w", r.ID, capture.ErrChanged)
	}
	if err != nil {
		return capture.Replay{}, fmt.Errorf("set the server of replay %d: %w", r.ID, err)
	}
	r.Server = server
	return r, nil
}

// DeleteReplay deletes r, its name claim, its places in its environments' lists and (if it
// may run) in its target address's, on condition that it is still in the status and has the
// name it was read with: capture.ErrChanged otherwise. Its shards go after it.
func (s *Store) DeleteReplay(ctx context.Context, r capture.Replay) error {
	claim := replayClaim(r, r.Name)
	tx := s.db.WriteTx().
		Delete(s.table.Delete("pk", replayPK(r.ID)).Range("sk", skReplay).
			If("$ = ? AND $ = ?", "state", string(r.Status), "name", r.Name)).
		Delete(s.table.Delete("pk", claim.PK).Range("sk", claim.SK).If("claimedBy = ?", r.ID))
	for _, env := range replayEnvs(r) {
		tx.Delete(s.table.Delete("pk", envPK(env)).Range("sk", envReplaySK(r.ID)))
	}
	if r.Status.MayRun() {
		tx.Update(s.targetRemove(r))
	}
	err := tx.Run(ctx)
	if failedCondition(err) >= 0 {
		return fmt.Errorf("delete replay %d: %w", r.ID, capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("delete replay %d: %w", r.ID, err)
	}
	if r.Plan.Shards == 0 && !r.Status.MayRun() {
		return nil // never started: no shards
	}
	return s.deleteShards(ctx, r.ID)
}

// ReplaysDue lists the replays due (capture.Replay.DueAt) at or before before, earliest first.
func (s *Store) ReplaysDue(ctx context.Context, before time.Time) ([]capture.Replay, error) {
	var items []replayItem
	err := s.table.Get("status", replayStatus).Index(IndexDue).
		Range("dueAt", dynamo.LessOrEqual, before.UnixMilli()).All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list replays due before %s: %w", before.Format(time.RFC3339), err)
	}
	out := make([]capture.Replay, len(items))
	for i, it := range items {
		out[i] = it.replay()
	}
	return out, nil
}

// RetryReplay records another attempt at the work of r's status, restarting its clock, on
// condition that nobody moved or retried it since it was read: capture.ErrChanged otherwise.
func (s *Store) RetryReplay(ctx context.Context, r capture.Replay, now time.Time) (capture.Replay, error) {
	now = now.UTC()
	err := s.table.Update("pk", replayPK(r.ID)).Range("sk", skReplay).
		Set("updated", now).Set("dueAt", now.UnixMilli()).Set("attempts", r.Attempts+1).
		If("$ = ? AND updated = ?", "state", string(r.Status), r.Updated).
		Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return capture.Replay{}, fmt.Errorf("retry replay %d: %w", r.ID, capture.ErrChanged)
	}
	if err != nil {
		return capture.Replay{}, fmt.Errorf("retry replay %d: %w", r.ID, err)
	}
	r.Updated, r.Attempts = now, r.Attempts+1
	return r, nil
}
