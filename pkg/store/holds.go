package store

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

// holdItem is the one replay a target server runs: keyed by the server's key (its claim and
// group, lease.ServerGroup.Server), so that two environments naming one server by different
// addresses still share it.
type holdItem struct {
	keys
	Holder  int64     `dynamo:"holder"`
	Updated time.Time `dynamo:"updated"`
}

const skHold = "HOLD"

func holdPK(server string) string { return "RSERVER#" + server }

// HoldServer makes replay id the one that runs on server: capture.ErrTargetBusy if another
// holds it. Holding it again is nothing.
func (s *Store) HoldServer(ctx context.Context, server string, id int64, now time.Time) error {
	it := holdItem{keys: keys{PK: holdPK(server), SK: skHold}, Holder: id, Updated: now.UTC()}
	err := s.table.Put(it).If("attribute_not_exists(pk) OR holder = ?", id).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("replay %d: %w", id, capture.ErrTargetBusy)
	}
	if err != nil {
		return fmt.Errorf("hold server %s for replay %d: %w", server, id, err)
	}
	return nil
}

// ReleaseServer lets go of server, if replay id holds it; releasing what one does not hold is
// nothing.
func (s *Store) ReleaseServer(ctx context.Context, server string, id int64) error {
	err := s.table.Delete("pk", holdPK(server)).Range("sk", skHold).If("holder = ?", id).Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("release server %s from replay %d: %w", server, id, err)
	}
	return nil
}

// ServerHolder returns the replay that holds server, 0 if none does.
func (s *Store) ServerHolder(ctx context.Context, server string) (int64, error) {
	var it holdItem
	err := s.table.Get("pk", holdPK(server)).Range("sk", dynamo.Equal, skHold).Consistent(true).One(ctx, &it)
	if err == dynamo.ErrNotFound {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the hold of server %s: %w", server, err)
	}
	return it.Holder, nil
}
