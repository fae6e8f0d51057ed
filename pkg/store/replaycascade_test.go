package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/store"
)

// doneCapture stores a DONE capture in envID as the API makes one (its replays counted: none).
func doneCapture(t *testing.T, st *store.Store, envID int64, name string) capture.Capture {
	t.Helper()
	now := time.Now().UTC()
	c, err := st.CreateCapture(context.Background(), capture.Capture{EnvID: envID, Name: name, OwnerID: "a", Status: capture.Done,
		Start: &now, End: &now, Created: now, Updated: now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// replayOf stores a scheduled replay of c into target.
func replayOf(st *store.Store, c capture.Capture, target int64, name string) (capture.Replay, error) {
	at := time.Now().Add(time.Hour)
	r, err := capture.NewReplay(capture.ReplayRequest{Name: name, CaptureID: c.ID, EnvID: target, ScheduledStart: &at}, "a", time.Now())
	if err != nil {
		return capture.Replay{}, err
	}
	r.CaptureEnvID, r.Target = c.EnvID, "db-"+name+":3306"
	return st.CreateReplay(context.Background(), r)
}

// Every replay is counted on its capture in the transaction that makes it, so a capture's
// delete conditional on the count it read misses none; none is made of a capture that is gone,
// or whose environment is being deleted.
func TestReplaysCountedOnTheirCapture(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	target, _ := st.NewEnvironmentID(ctx)
	if _, err := st.CreateEnvironment(ctx, capture.Environment{ID: target, Name: "t", OwnerID: "a", Host: "h", Port: 1, DBName: "d", User: "u"}); err != nil {
		t.Fatal(err)
	}
	c := doneCapture(t, st, envID, "counted")
	if got, err := st.Capture(ctx, c.ID); err != nil || got.Replays != 0 || got.MayHaveReplays() {
		t.Fatalf("a new capture: %+v %v, want 0 replays", got, err)
	}
	if _, err := replayOf(st, c, target, "one replay"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteCapture(ctx, c); !errors.Is(err, capture.ErrChanged) {
		t.Errorf("delete as read before its replay: %v, want ErrChanged", err)
	}
	read, err := st.Capture(ctx, c.ID)
	if err != nil || read.Replays != 1 {
		t.Fatalf("after one replay: %+v %v", read, err)
	}
	gone := fmt.Sprintf("Capture %d does not exist", c.ID)
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T)
	}{
		{"capture's environment being deleted", func(t *testing.T) {
			if err := st.MarkEnvironmentDeleting(ctx, envID, time.Now()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.UnmarkEnvironmentDeleting(ctx, envID) })
		}},
		{"capture deleted", func(t *testing.T) {
			if err := st.DeleteCapture(ctx, read); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup(t)
			if _, err := replayOf(st, c, target, "refused"); err == nil || err.Error() != gone {
				t.Errorf("replay made: %v, want %q", err, gone)
			}
		})
	}
	if _, err := st.Capture(ctx, c.ID); !errors.Is(err, capture.ErrCaptureNotFound) {
		t.Errorf("no capture item made by the refused replay's count: %v", err)
	}
}

// A capture stored before replays were counted may have some: it says so, and its delete
// holds to the count being absent.
func TestCaptureOfUnknownReplays(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	store.EnsureCapture(t, st, 900, envID, capture.UnknownReplays)
	c, err := st.Capture(ctx, 900)
	if err != nil || c.Replays != capture.UnknownReplays || !c.MayHaveReplays() {
		t.Fatalf("%+v %v, want its replays unknown", c, err)
	}
	if err := st.DeleteCapture(ctx, c); err != nil {
		t.Errorf("delete: %v", err)
	}
}

// A capture's and an environment's replays, page by page: every one once, the last page says
// it is the last, and replays deleted between pages do not disturb the next.
func TestReplayPages(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	target, _ := st.NewEnvironmentID(ctx)
	if _, err := st.CreateEnvironment(ctx, capture.Environment{ID: target, Name: "t", OwnerID: "a", Host: "h", Port: 1, DBName: "d", User: "u"}); err != nil {
		t.Fatal(err)
	}
	c := doneCapture(t, st, envID, "paged")
	want := map[int64]bool{}
	for i := range 5 {
		r, err := replayOf(st, c, target, fmt.Sprintf("paged %d", i))
		if err != nil {
			t.Fatal(err)
		}
		want[r.ID] = true
	}
	for _, tt := range []struct {
		name   string
		pages  *store.ReplayPages
		remove bool // delete each page's replays before reading the next
	}{
		{"capture", st.CaptureReplayPages(c.ID, 2), false},
		{"target", st.EnvReplayPages(target, 2), false},
		{"capture's environment", st.EnvReplayPages(envID, 3), false},
		{"capture, deleting as it goes", st.CaptureReplayPages(c.ID, 2), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[int64]bool{}
			for n := 0; ; n++ {
				if n > 5 {
					t.Fatal("more pages than replays")
				}
				page, more, err := tt.pages.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page {
					if seen[r.ID] || !want[r.ID] {
						t.Errorf("replay %d listed again, or not one of %v", r.ID, want)
					}
					seen[r.ID] = true
					if tt.remove {
						if err := st.DeleteReplay(ctx, r); err != nil {
							t.Fatal(err)
						}
					}
				}
				if !more {
					break
				}
			}
			if len(seen) != len(want) {
				t.Errorf("listed %v, want %v", seen, want)
			}
			if page, more, err := tt.pages.Next(ctx); len(page) != 0 || more || err != nil {
				t.Errorf("after the last page: %v %v %v", page, more, err)
			}
		})
	}
	if page, more, err := st.CaptureReplayPages(c.ID, 2).Next(ctx); len(page) != 0 || more || err != nil {
		t.Errorf("a capture whose replays are deleted: %v %v %v", page, more, err)
	}
}

// A capture's delete reads its replays page by page, by name: a replay renamed meanwhile to a
// name on a page already read would be missed, and left (perhaps RUNNING) without its capture.
// A rename that moves a replay's name claim counts on its capture, so a delete conditional on
// the count read before it is refused (and, retried, reads the replay again); a rename that
// keeps the claim (a change of case) does not.
func TestReplayRenameCountsOnItsCapture(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	target, _ := st.NewEnvironmentID(ctx)
	if _, err := st.CreateEnvironment(ctx, capture.Environment{ID: target, Name: "t", OwnerID: "a", Host: "h", Port: 1, DBName: "d", User: "u"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, from, to string
		refused        bool
	}{
		{"to a name before it", "mmmm", "aaaa", true},
		{"to a name after it", "mmmm", "zzzz", true},
		{"its case only", "mmmm", "MMMM", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := doneCapture(t, st, envID, "renamed "+tt.to)
			r, err := replayOf(st, c, target, tt.from)
			if err != nil {
				t.Fatal(err)
			}
			read, err := st.Capture(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.RenameReplay(ctx, r, tt.to); err != nil {
				t.Fatal(err)
			}
			err = st.DeleteCapture(ctx, read)
			if refused := errors.Is(err, capture.ErrChanged); refused != tt.refused || err != nil && !refused {
				t.Fatalf("delete as read before the rename: %v, want refused %v", err, tt.refused)
			}
			if tt.refused {
				if read, err = st.Capture(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
				if err := st.DeleteCapture(ctx, read); err != nil {
					t.Errorf("delete as read after the rename: %v", err)
				}
			}
		})
	}
}
