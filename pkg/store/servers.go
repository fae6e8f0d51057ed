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

// groupItem is one server among those that claim an identity (lease.ServerGroup): the
// claim's partition holds one item per group, so that a newcomer reads them all in one Query.
type groupItem struct {
	keys
	Envs     []int     `dynamo:"envs,set,omitempty"`
	Founder  int       `dynamo:"founder"`
	Unproven []string  `dynamo:"unproven,set,omitempty"`
	Updated  time.Time `dynamo:"updated"`
}

func claimPK(claim string) string { return "CLAIM#" + claim }
func groupSK(id string) string    { return "GROUP#" + id }

func (it groupItem) group(claim string) lease.ServerGroup {
	g := lease.ServerGroup{Claim: claim, ID: it.SK[len(groupSK("")):], Founder: int64(it.Founder), Unproven: it.Unproven}
	for _, e := range it.Envs {
		g.Envs = append(g.Envs, int64(e))
	}
	slices.Sort(g.Envs)
	slices.Sort(g.Unproven)
	return g
}

// ServerGroups lists owner's groups of servers that claim identity claim (lease.GroupID), read
// consistently, so that an environment proven a moment ago is seen. Other owners' groups are
// not read: however many there are, they cost nothing here.
func (s *Store) ServerGroups(ctx context.Context, claim, owner string) ([]lease.ServerGroup, error) {
	var items []groupItem
	err := s.table.Get("pk", claimPK(claim)).Range("sk", dynamo.BeginsWith, groupSK(owner+"/")).
		Consistent(true).All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list the servers claiming %s: %w", claim, err)
	}
	out := make([]lease.ServerGroup, len(items))
	for i, it := range items {
		out[i] = it.group(claim)
	}
	return out, nil
}

// FoundServerGroup stores a new group, whose first member is the environment that could be
// proven to reach none of the claim's other groups. capture.ErrChanged if its id is taken.
func (s *Store) FoundServerGroup(ctx context.Context, g lease.ServerGroup, now time.Time) error {
	it := groupItem{keys: keys{PK: claimPK(g.Claim), SK: groupSK(g.ID)}, Founder: int(g.Founder), Unproven: g.Unproven, Updated: now.UTC()}
	for _, e := range g.Envs {
		it.Envs = append(it.Envs, int(e))
	}
	err := s.table.Put(it).If("attribute_not_exists(pk)").Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("found server %s: %w", g.Server(), capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("found server %s: %w", g.Server(), err)
	}
	return nil
}

// JoinServerGroup adds env, just proven to reach the group's server, to its members.
// capture.ErrChanged if the group is gone.
func (s *Store) JoinServerGroup(ctx context.Context, g lease.ServerGroup, env int64, now time.Time) error {
	err := s.table.Update("pk", claimPK(g.Claim)).Range("sk", groupSK(g.ID)).
		AddIntsToSet("envs", int(env)).Set("updated", now.UTC()).
		If("attribute_exists(pk)").Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("join server %s: %w", g.Server(), capture.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("join server %s: %w", g.Server(), err)
	}
	return nil
}

// LeaveServerGroup removes env from the group: it no longer proves that it reaches the
// group's server, or it is gone. Leaving a group one is not in does nothing.
func (s *Store) LeaveServerGroup(ctx context.Context, g lease.ServerGroup, env int64, now time.Time) error {
	err := s.table.Update("pk", claimPK(g.Claim)).Range("sk", groupSK(g.ID)).
		DeleteIntsFromSet("envs", int(env)).Set("updated", now.UTC()).
		If("contains(envs, ?)", env).Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("leave server %s: %w", g.Server(), err)
	}
	return nil
}
