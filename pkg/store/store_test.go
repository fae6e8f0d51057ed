package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// TestMoveIsConditional checks every move of the transition table on DynamoDB Local: it lands
// from the status it expects, and from any other status it is refused with ErrChanged and
// changes nothing.
func TestMoveIsConditional(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	n := 0
	for _, from := range capture.Statuses {
		for _, to := range capture.Statuses {
			if !capture.CanMove(from, to) {
				continue
			}
			n++
			start := now.Add(time.Hour)
			c, err := capture.New(capture.Request{Name: "move " + string(rune('a'+n)) + "xx", EnvID: envID, ScheduledStart: &start}, "a", now)
			if err != nil {
				t.Fatal(err)
			}
			if c, err = st.CreateCapture(ctx, c); err != nil {
				t.Fatal(err)
			}
			c.Status = from // as if it were there: the write below says where it really is
			next, err := capture.Move(c, to, now)
			if err != nil {
				t.Fatal(err)
			}
			err = st.Move(ctx, next, from)
			stored, _ := st.Capture(ctx, c.ID)
			if from == capture.Scheduled {
				if err != nil || stored.Status != to {
					t.Errorf("%s → %s: %v, stored %s", from, to, err, stored.Status)
				}
				continue
			}
			if !errors.Is(err, capture.ErrChanged) || stored.Status != capture.Scheduled {
				t.Errorf("%s → %s on a SCHEDULED capture: %v, stored %s; want ErrChanged and no change", from, to, err, stored.Status)
			}
		}
	}
}

// TestDueIndex checks the scheduler's view: live captures by due time, ended ones never.
func TestDueIndex(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	mk := func(name string, at time.Time) capture.Capture {
		c, err := capture.New(capture.Request{Name: name, EnvID: envID, ScheduledStart: &at}, "a", now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if c, err = st.CreateCapture(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	soon, later := mk("soon", now.Add(time.Minute)), mk("later", now.Add(time.Hour))
	cancelled := mk("cancelled", now.Add(2*time.Minute))
	next, _ := capture.Stop(cancelled, now)
	if err := st.Move(ctx, next, cancelled.Status); err != nil {
		t.Fatal(err)
	}
	due, err := st.Due(ctx, capture.Scheduled, now.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].ID != soon.ID {
		t.Fatalf("due within 30 minutes: %+v, want only %d", due, soon.ID)
	}
	due, _ = st.Due(ctx, capture.Scheduled, now.Add(2*time.Hour))
	if len(due) != 2 || due[0].ID != soon.ID || due[1].ID != later.ID {
		t.Fatalf("due within 2 hours: %+v, want %d then %d", due, soon.ID, later.ID)
	}
	done, _ := st.Due(ctx, capture.Done, now.Add(1000*time.Hour))
	if len(done) != 0 {
		t.Fatalf("ended captures in the due index: %+v", done)
	}
}

// newStoreWithEnv returns a store on a fresh table holding one environment.
func newStoreWithEnv(t *testing.T) (*store.Store, int64) {
	t.Helper()
	st := storetest.New(t, nil)
	ctx := context.Background()
	envID, _ := st.NewEnvironmentID(ctx)
	if _, err := st.CreateEnvironment(ctx, capture.Environment{ID: envID, Name: "e", OwnerID: "a", Host: "h", Port: 1, DBName: "d", User: "u"}); err != nil {
		t.Fatal(err)
	}
	return st, envID
}
