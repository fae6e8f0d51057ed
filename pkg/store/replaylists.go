package store

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

// envReplay lists a replay in an environment's partition: its target's, and its capture's.
type envReplay struct {
	keys
	ReplayID int64 `dynamo:"replayOf"`
}

func envReplayItem(env, id int64) envReplay {
	return envReplay{keys: keys{PK: envPK(env), SK: envReplaySK(id)}, ReplayID: id}
}

// replays reads the replays ids at once, newest first; those gone are left out.
func (s *Store) replays(ctx context.Context, ids []int64) ([]capture.Replay, error) {
	// sort's func-based sorts, which the functions link already: slices' generic ones would
	// add a copy for each element type to every function that lists replays.
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	ids = slices.Compact(ids)
	ks := make([]dynamo.Keyed, len(ids))
	for i, id := range ids {
		ks[i] = dynamo.Keys{replayPK(id), skReplay}
	}
	items, err := batchGet[replayItem](ctx, s, "replays", ks, true)
	if err != nil {
		return nil, err
	}
	out := make([]capture.Replay, len(items))
	for i, it := range items {
		out[i] = it.replay()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// CaptureReplays lists the replays of capture id, newest first, by their name claims (one
// partition query, then one batch get).
func (s *Store) CaptureReplays(ctx context.Context, id int64) ([]capture.Replay, error) {
	var claims []nameClaim
	err := s.table.Get("pk", capturePK(id)).Range("sk", dynamo.BeginsWith, replayNamePfx).Consistent(true).All(ctx, &claims)
	if err != nil {
		return nil, fmt.Errorf("list the replays of capture %d: %w", id, err)
	}
	ids := make([]int64, len(claims))
	for i, c := range claims {
		ids[i] = c.ClaimedBy
	}
	return s.replays(ctx, ids)
}

// EnvReplays lists the replays whose target or capture is in one of envs, newest first: one
// partition query per environment, then one batch get.
func (s *Store) EnvReplays(ctx context.Context, envs []int64) ([]capture.Replay, error) {
	var ids []int64
	for _, env := range envs {
		var ptrs []envReplay
		err := s.table.Get("pk", envPK(env)).Range("sk", dynamo.BeginsWith, envReplayPfx).Consistent(true).All(ctx, &ptrs)
		if err != nil {
			return nil, fmt.Errorf("list the replays of environment %d: %w", env, err)
		}
		for _, p := range ptrs {
			ids = append(ids, p.ReplayID)
		}
	}
	return s.replays(ctx, ids)
}

// ReplayPages reads the replays listed in one partition (a capture's name claims, or an
// environment's entries) a page at a time, each page strongly consistent, so that a delete
// that goes through many replays holds only a page of them at once. Replays deleted between
// pages do not disturb the pages after.
type ReplayPages struct {
	store        *Store
	pk, prefix   string
	what         string
	size         int
	next         dynamo.PagingKey
	started, end bool
}

// CaptureReplayPages pages through the replays of capture id, size at a time.
func (s *Store) CaptureReplayPages(id int64, size int) *ReplayPages {
	return &ReplayPages{store: s, pk: capturePK(id), prefix: replayNamePfx, what: fmt.Sprintf("capture %d", id), size: size}
}

// EnvReplayPages pages through the replays whose target or capture is in environment env,
// size at a time.
func (s *Store) EnvReplayPages(env int64, size int) *ReplayPages {
	return &ReplayPages{store: s, pk: envPK(env), prefix: envReplayPfx, what: fmt.Sprintf("environment %d", env), size: size}
}

// Next reads the next page: one Query, and a BatchGet when it lists any. more is false once
// no page is left after this one.
func (p *ReplayPages) Next(ctx context.Context) (page []capture.Replay, more bool, err error) {
	if p.end {
		return nil, false, nil
	}
	// Both kinds of entry name their replay in an attribute of their own.
	var entries []struct {
		ClaimedBy int64 `dynamo:"claimedBy"`
		ReplayOf  int64 `dynamo:"replayOf"`
	}
	q := p.store.table.Get("pk", p.pk).Range("sk", dynamo.BeginsWith, p.prefix).Consistent(true).Limit(p.size)
	if p.started {
		q = q.StartFrom(p.next)
	}
	next, err := q.AllWithLastEvaluatedKey(ctx, &entries)
	if err != nil {
		return nil, false, fmt.Errorf("list the replays of %s: %w", p.what, err)
	}
	p.started, p.next, p.end = true, next, next == nil
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = max(e.ClaimedBy, e.ReplayOf)
	}
	if page, err = p.store.replays(ctx, ids); err != nil {
		return nil, false, err
	}
	return page, !p.end, nil
}
