package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/guregu/dynamo/v2"
)

// batchGet reads the items of keys at once (strongly consistent when consistent is set), in no
// particular order; keys with no item are left out. what names the items in errors.
func batchGet[T any](ctx context.Context, s *Store, what string, keys []dynamo.Keyed, consistent bool) ([]T, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	var items []T
	get := s.table.Batch("pk", "sk").Get(keys...)
	if consistent {
		get = get.Consistent(true)
	}
	if err := get.All(ctx, &items); err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, fmt.Errorf("get %d %s: %w", len(keys), what, err)
	}
	return items, nil
}

// deletePrefix deletes every item of partition pk whose sort key begins with prefix: one Query
// of their keys and a batch delete. what names them in errors.
func (s *Store) deletePrefix(ctx context.Context, pk, prefix, what string) error {
	var ks []keys
	err := s.table.Get("pk", pk).Range("sk", dynamo.BeginsWith, prefix).Project("pk", "sk").All(ctx, &ks)
	if err != nil {
		return fmt.Errorf("list %s: %w", what, err)
	}
	if len(ks) == 0 {
		return nil
	}
	del := make([]dynamo.Keyed, len(ks))
	for i, k := range ks {
		del[i] = dynamo.Keys{k.PK, k.SK}
	}
	if _, err := s.table.Batch("pk", "sk").Write().Delete(del...).Run(ctx); err != nil {
		return fmt.Errorf("delete %s: %w", what, err)
	}
	return nil
}
