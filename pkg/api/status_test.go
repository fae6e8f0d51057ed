package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/store"
)

// forceStatus walks a capture along the lifecycle to status want, through the store's
// conditional moves, standing in for the worker that will do this in production.
func forceStatus(t testing.TB, st *store.Store, id int64, want capture.Status) {
	t.Helper()
	ctx := context.Background()
	path := []capture.Status{capture.Started, capture.Starting, capture.Running, capture.Stopping, capture.Done}
	for range 10 {
		c, err := st.Capture(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == want {
			return
		}
		next := want
		if want != capture.Failed {
			for i, s := range path[:len(path)-1] {
				if s == c.Status {
					next = path[i+1]
				}
			}
		}
		moved, err := capture.Move(c, next, time.Now())
		if err != nil {
			t.Fatalf("force capture %d to %s: %v", id, want, err)
		}
		if err := st.Move(ctx, moved, c.Status); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("capture %d never reached %s", id, want)
}
