package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// TestListKeysAsCapturesMove: a capture's place in lists follows it: its scheduled start while
// it is to begin, its start once it records, and for one cancelled before it began, the
// cancellation.
func TestListKeysAsCapturesMove(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	plan := func(name string, in time.Duration) capture.Capture {
		at := now.Add(in)
		c, err := capture.New(capture.Request{Name: name, EnvID: envID, ScheduledStart: &at}, "a", now)
		if err == nil {
			c, err = st.CreateCapture(ctx, c)
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	plan("later", 2*time.Hour)
	soon, cancelled := plan("soon", time.Hour), plan("cancelled", 3*time.Hour)
	order := func() []string {
		page, _, err := st.CapturesPage(ctx, []int64{envID}, store.CaptureQuery{}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range page {
			names = append(names, c.Name)
		}
		return names
	}
	if got := order(); !slices.Equal(got, []string{"cancelled", "later", "soon"}) {
		t.Errorf("planned: %v, want by scheduled start, latest first", got)
	}
	stop, err := capture.Stop(cancelled, now.Add(time.Minute))
	if err == nil {
		err = st.Move(ctx, stop, cancelled.Status)
	}
	if err != nil {
		t.Fatal(err)
	}
	// soon starts early, now+2h30 in its own clock: it records, so its start is what counts.
	started, _ := capture.Move(soon, capture.Started, now)
	starting, _ := capture.Move(started, capture.Starting, now)
	running, _ := capture.Move(starting, capture.Running, now.Add(150*time.Minute))
	for _, step := range []struct {
		next capture.Capture
		from capture.Status
	}{{started, capture.Scheduled}, {starting, capture.Started}, {running, capture.Starting}} {
		if err := st.Move(ctx, step.next, step.from); err != nil {
			t.Fatal(err)
		}
	}
	if got := order(); !slices.Equal(got, []string{"soon", "later", "cancelled"}) {
		t.Errorf("after a start and a cancellation: %v, want soon (started at +2h30), later (+2h), cancelled (at +1m)", got)
	}
}

// TestKeyListedCaptures: captures written before lists were ordered by time (no listKey) are
// missing from lists until the migration keys them, a few environments a call, and then done
// for good; a table made before the envStarts index gets it from CreateTable.
func TestKeyListedCaptures(t *testing.T) {
	db := storetest.DB(t)
	ctx := context.Background()
	name := fmt.Sprintf("old-%d", time.Now().UnixNano())
	var old []dynamo.Index
	for _, idx := range store.Indexes {
		if idx.Name != store.IndexEnvStarts {
			old = append(old, idx)
		}
	}
	ct := db.CreateTable(name, struct {
		PK string `dynamo:"pk,hash"`
		SK string `dynamo:"sk,range"`
	}{}).OnDemand(true)
	for _, idx := range old {
		ct.Index(idx)
	}
	if err := ct.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Table(name).DeleteTable().Run(context.Background()) })
	st := store.New(db, name)
	if err := st.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable on a table without envStarts: %v", err)
	}
	desc, err := db.Table(name).Describe().Run(ctx)
	if err != nil || !slices.ContainsFunc(desc.GSI, func(i dynamo.Index) bool { return i.Name == store.IndexEnvStarts }) {
		t.Fatalf("the table's indexes after CreateTable: %+v %v", desc.GSI, err)
	}

	now := time.Now().UTC()
	var envs []int64
	for i := range 5 {
		id, _ := st.NewEnvironmentID(ctx)
		if _, err := st.CreateEnvironment(ctx, capture.Environment{ID: id, Name: fmt.Sprint("e", i), OwnerID: "a", Host: "h", Port: 1, DBName: "d", User: "u"}); err != nil {
			t.Fatal(err)
		}
		envs = append(envs, id)
		for j := range 3 {
			c, _ := capture.New(capture.Request{Name: fmt.Sprintf("old %d %d", i, j), EnvID: id}, "a", now.Add(time.Duration(j)*time.Second))
			c, err := st.CreateCapture(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			// As the code before lists kept places wrote it.
			if err := db.Table(name).Update("pk", fmt.Sprintf("CAPTURE#%d", c.ID)).Range("sk", "CAPTURE").Remove("listKey").Run(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	listed := func() int {
		page, _, err := st.CapturesPage(ctx, envs, store.CaptureQuery{}, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(page)
	}
	if n := listed(); n != 0 {
		t.Fatalf("%d unkeyed captures listed, want none yet", n)
	}
	for call, wantDone := range []bool{false, false, true, true} {
		done, err := st.KeyListedCaptures(ctx, 2)
		if err != nil || done != wantDone {
			t.Fatalf("call %d: done %v %v, want %v", call, done, err, wantDone)
		}
	}
	if n := listed(); n != 15 {
		t.Errorf("%d captures listed once keyed, want 15", n)
	}
}
