package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"
	"golang.org/x/sync/errgroup"

	"github.com/mycrt/captures/pkg/capture"
)

// listKey is where a capture sits in its environment's list (the envStarts index): its
// ListedAt in unix milliseconds, then its id, both fixed width, so that string order is time
// order and no two captures share a place.
func listKey(c capture.Capture) string {
	return fmt.Sprintf("%013d#%012d", max(0, c.ListedAt().UnixMilli()), c.ID)
}

// IsListPosition reports whether p is a place in a list of captures, as CapturesPage returns
// one: a cursor from anywhere else is refused before it reaches a query.
func IsListPosition(p string) bool {
	ms, id, ok := strings.Cut(p, "#")
	return ok && len(ms) == 13 && len(id) == 12 && digits(ms) && digits(id)
}

func digits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// CaptureQuery says which captures a list keeps: all of them when zero.
type CaptureQuery struct {
	Name   string    // exactly this name
	Search string    // names containing this, in any case
	From   time.Time // listed at or after it (see capture.ListedAt)
	To     time.Time // listed before it
}

// maxExamined bounds what a search reads of one environment for one page: a page that finds
// fewer than limit matches in that many captures ends there, with a next position, so no
// request's cost grows with the environment's history.
var maxExamined = 2000

// CapturesPage lists at most limit captures of the environments envIDs that q keeps, newest
// ListedAt first, from after the list position after ("" for the first page). next is the
// position to go on from when there may be more, "" otherwise. Each environment is one Query of
// the envStarts index (in parallel, 8 at a time), its window a key condition, Name a filter;
// Search is matched here, reading at most maxExamined captures of an environment, so a search
// page can hold fewer than limit and still have a next position.
func (s *Store) CapturesPage(ctx context.Context, envIDs []int64, q CaptureQuery, after string, limit int) (page []capture.Capture, next string, err error) {
	type listed struct {
		key string
		c   capture.Capture
	}
	lo, hi := q.window(after)
	if lo != "" && lo >= hi {
		return nil, "", nil
	}
	perEnv := make([][]listed, len(envIDs))
	stops := make([]string, len(envIDs)) // where a search gave up on an environment
	search := strings.ToLower(q.Search)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, envID := range envIDs {
		g.Go(func() error {
			query := s.table.Get("envId", envID).Index(IndexEnvStarts).Order(dynamo.Descending)
			switch {
			case lo != "":
				query = query.Range("listKey", dynamo.Between, lo, hi)
			default:
				query = query.Range("listKey", dynamo.Less, hi)
			}
			switch {
			case search != "":
				// Matched here, name too, so that what is read is what is counted.
			case q.Name != "":
				query = query.Filter("$ = ?", "name", q.Name)
				fallthrough
			default:
				// One more than a page tells whether there are more; Between's hi may be one more.
				query = query.Limit(limit + 2)
			}
			it := query.Iter()
			var item captureItem
			for examined := 0; it.Next(gctx, &item); {
				examined++
				keep := item.ListKey != hi && (search == "" ||
					strings.Contains(strings.ToLower(item.Name), search) && (q.Name == "" || item.Name == q.Name))
				if keep {
					perEnv[i] = append(perEnv[i], listed{item.ListKey, item.capture()})
				}
				if len(perEnv[i]) > limit {
					break
				}
				if search != "" && examined >= maxExamined {
					stops[i] = item.ListKey
					break
				}
				item = captureItem{}
			}
			if err := it.Err(); err != nil {
				return fmt.Errorf("list captures of environment %d: %w", envID, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	all := slices.Concat(perEnv...)
	slices.SortFunc(all, func(a, b listed) int { return strings.Compare(b.key, a.key) })
	// An environment a search gave up on has unread captures below its stop: the page ends at
	// the highest such stop, so none of them is skipped.
	floor := ""
	for _, st := range stops {
		floor = max(floor, st)
	}
	if floor != "" {
		kept := all[:0]
		for _, l := range all {
			if l.key >= floor {
				kept = append(kept, l)
			}
		}
		all = kept
	}
	switch {
	case len(all) > limit:
		all, next = all[:limit], all[limit-1].key
	case floor != "":
		next = floor
	}
	page = make([]capture.Capture, len(all))
	for i, l := range all {
		page[i] = l.c
	}
	return page, next, nil
}

// window is the listKey range of a page: lo (inclusive, "" for none) and hi, which the page's
// keys are below (hi itself is left out: it is after's, given on the page before).
func (q CaptureQuery) window(after string) (lo, hi string) {
	hi = "9999999999999#999999999999"
	if !q.To.IsZero() {
		hi = fmt.Sprintf("%013d#%012d", max(0, q.To.UnixMilli()), 0)
	}
	if after != "" && after < hi {
		hi = after
	}
	if !q.From.IsZero() {
		lo = fmt.Sprintf("%013d#%012d", max(0, q.From.UnixMilli()), 0)
	}
	return lo, hi
}

// MembershipsPage lists at most limit of the environments user belongs to, newest (highest
// id) first, from below environment after (0 for the first page): one Query of the userEnvs
// index. next is the id of the last one given when there are more, 0 otherwise.
func (s *Store) MembershipsPage(ctx context.Context, user string, after int64, limit int) (page []capture.Member, next int64, err error) {
	q := s.table.Get("memberId", user).Index(IndexUserEnvs).Order(dynamo.Descending).Limit(limit + 1)
	if after > 0 {
		q = q.Range("envId", dynamo.Less, after)
	}
	var items []memberItem
	if err := q.All(ctx, &items); err != nil {
		return nil, 0, fmt.Errorf("list memberships of %s: %w", user, err)
	}
	if len(items) > limit {
		items, next = items[:limit], items[limit-1].EnvID
	}
	page = make([]capture.Member, len(items))
	for i, it := range items {
		page[i] = it.member()
	}
	return page, next, nil
}

// listMigration is the progress of giving captures written before the envStarts index their
// listKey: environments up to next-1 are done.
type listMigration struct {
	keys
	Next int64 `dynamo:"next"`
	Done bool  `dynamo:"done"`
}

const migrationPK, migrationSK = "MIGRATION#listKey", "MIGRATION"

// KeyListedCaptures gives a listKey to the captures of up to envs environments that have
// none (captures written before lists were ordered by time), going on from where the last
// call stopped; it reports done once every environment the id counter has handed out is
// done. Each environment is a Query of the envCaptures index for captures without a listKey
// and a conditional UpdateItem each: no Scan. The scheduler calls it every tick until done,
// and new captures get their key as they are written, so it runs once per table.
func (s *Store) KeyListedCaptures(ctx context.Context, envs int) (done bool, err error) {
	var m listMigration
	err = s.table.Get("pk", migrationPK).Range("sk", dynamo.Equal, migrationSK).Consistent(true).One(ctx, &m)
	if err != nil && err != dynamo.ErrNotFound {
		return false, fmt.Errorf("read the list key migration: %w", err)
	}
	if m.Done {
		return true, nil
	}
	from := max(m.Next, 1)
	var counter struct {
		N int64 `dynamo:"n"`
	}
	err = s.table.Get("pk", "COUNTER#environment").Range("sk", dynamo.Equal, skCounter).One(ctx, &counter)
	if err != nil && err != dynamo.ErrNotFound {
		return false, fmt.Errorf("read the environment counter: %w", err)
	}
	to := min(counter.N, from+int64(envs)-1)
	for id := from; id <= to; id++ {
		var items []captureItem
		err := s.table.Get("envId", id).Index(IndexEnvCaptures).Filter("attribute_not_exists(listKey)").All(ctx, &items)
		if err != nil {
			return false, fmt.Errorf("find unlisted captures of environment %d: %w", id, err)
		}
		for _, it := range items {
			err := s.table.Update("pk", it.PK).Range("sk", it.SK).Set("listKey", listKey(it.capture())).
				If("attribute_exists(pk) AND attribute_not_exists(listKey)").Run(ctx)
			if err != nil && !dynamo.IsCondCheckFailed(err) {
				return false, fmt.Errorf("key capture %d for lists: %w", it.CaptureID, err)
			}
		}
	}
	done = to >= counter.N
	u := s.table.Update("pk", migrationPK).Range("sk", migrationSK).Set("next", to+1).Set("done", done)
	if m.Next == 0 {
		u.If("attribute_not_exists(pk)")
	} else {
		u.If("$ = ?", "next", m.Next)
	}
	if err := u.Run(ctx); err != nil && !dynamo.IsCondCheckFailed(err) {
		return false, fmt.Errorf("record the list key migration: %w", err)
	}
	return done, nil
}
