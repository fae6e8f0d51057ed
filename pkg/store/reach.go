package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

// Reach is what one user reaches of some environments: those that exist, and the user's
// memberships of them.
type Reach struct {
	Envs    map[int64]capture.Environment
	Members map[int64]capture.Member
}

// Member returns the user's membership of env, and whether they have one.
func (r Reach) Member(env int64) (capture.Member, bool) {
	m, ok := r.Members[env]
	return m, ok
}

// Reach reads environments envs and user's memberships of them in one round trip (a replay's
// target and its capture's environment).
func (s *Store) Reach(ctx context.Context, user string, envs ...int64) (Reach, error) {
	envs = slices.Compact(slices.Sorted(slices.Values(envs)))
	ks := make([]dynamo.Keyed, 0, 2*len(envs))
	for _, env := range envs {
		ks = append(ks, dynamo.Keys{envPK(env), skEnv}, dynamo.Keys{envPK(env), memberSK(user)})
	}
	items, err := batchGet[dynamo.Item](ctx, s, "environments with members", ks, false)
	if err != nil {
		return Reach{}, err
	}
	out := Reach{Envs: map[int64]capture.Environment{}, Members: map[int64]capture.Member{}}
	for _, item := range items {
		var k keys
		if err := dynamo.UnmarshalItem(item, &k); err != nil {
			return Reach{}, fmt.Errorf("decode %s: %w", k.PK, err)
		}
		if k.SK == skEnv {
			var env envItem
			if err := dynamo.UnmarshalItem(item, &env); err != nil {
				return Reach{}, fmt.Errorf("decode %s: %w", k.PK, err)
			}
			out.Envs[env.EnvID] = env.env()
		} else {
			var m memberItem
			if err := dynamo.UnmarshalItem(item, &m); err != nil {
				return Reach{}, fmt.Errorf("decode %s: %w", k.PK, err)
			}
			out.Members[m.EnvID] = m.member()
		}
	}
	return out, nil
}
