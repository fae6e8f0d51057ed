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
