package store

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
)

// filtersItem is capture.Filters as stored: absent lists are absent.
type filtersItem struct {
	UsersInclude     []string `dynamo:"usersInclude,omitempty"`
	UsersExclude     []string `dynamo:"usersExclude,omitempty"`
	DatabasesInclude []string `dynamo:"databasesInclude,omitempty"`
	DatabasesExclude []string `dynamo:"databasesExclude,omitempty"`
}

func newFiltersItem(f capture.Filters) *filtersItem {
	if f.IsZero() {
		return nil
	}
	return &filtersItem{UsersInclude: f.Users.Include, UsersExclude: f.Users.Exclude,
		DatabasesInclude: f.Databases.Include, DatabasesExclude: f.Databases.Exclude}
}

func (f *filtersItem) filters() capture.Filters {
	if f == nil {
		return capture.Filters{}
	}
	return capture.Filters{
		Users:     capture.NameFilter{Include: f.UsersInclude, Exclude: f.UsersExclude},
		Databases: capture.NameFilter{Include: f.DatabasesInclude, Exclude: f.DatabasesExclude},
	}
}

// SetLimits changes a scheduled capture's limits and filters: capture.ErrNotScheduled once it
// has started (what it records is settled then), capture.ErrChanged if it changed meanwhile.
func (s *Store) SetLimits(ctx context.Context, c capture.Capture, l capture.Limits, f capture.Filters, now time.Time) (capture.Capture, error) {
	u := s.table.Update("pk", capturePK(c.ID)).Range("sk", skCapture).
		If("attribute_exists(pk) AND $ = ? AND updated = ?", "status", string(capture.Scheduled), c.Updated)
	setOrRemoveInt := func(name string, v int64) {
		if v > 0 {
			u.Set(name, v)
		} else {
			u.Remove(name)
		}
	}
	setOrRemoveInt("maxStatements", l.MaxStatements)
	setOrRemoveInt("maxBytes", l.MaxBytes)
	if fi := newFiltersItem(f); fi != nil {
		u.Set("filters", fi)
	} else {
		u.Remove("filters")
	}
	u.Set("updated", now.UTC())
	var it captureItem
	err := u.Value(ctx, &it)
	if dynamo.IsCondCheckFailed(err) {
		if c.Status != capture.Scheduled {
			return capture.Capture{}, capture.ErrNotScheduled
		}
		return capture.Capture{}, fmt.Errorf("set limits of capture %d: %w", c.ID, capture.ErrChanged)
	}
	if err != nil {
		return capture.Capture{}, fmt.Errorf("set limits of capture %d: %w", c.ID, err)
	}
	return it.capture(), nil
}
