package replay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/replay"
	"github.com/mycrt/captures/pkg/workload"
)

// TestRerunCountsOnce: an invocation killed after its progress was recorded, then run again
// from the checkpoint it began from (as the scheduler does when a heartbeat stops), counts
// each of the shard's statements once: the progress ends at the plan's total, not above it.
func TestRerunCountsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := appEvent
	events := []workload.Event{ev(0, "Connect", "app@h on shop using TCP/IP")}
	for i := range 40 {
		events = append(events, ev(1+i, "Query", "SELECT 1"))
		if i%20 == 19 {
			// Long enough that the shard records its progress (every second) while in it.
			events = append(events, ev(1+i, "Query", "SELECT SLEEP(1.5)"))
		}
	}
	events = append(events, ev(100, "Quit", ""))
	c := capture.Capture{ID: 4343, EnvID: f.env.ID}
	storeEvents(t, f, c, events)
	_, env := f.target(t, nil)

	r := capture.Replay{ID: 4343, CaptureID: c.ID, EnvID: env.ID, Speed: 0, Mode: capture.ReplayAll}
	plan, err := replay.Prepare(context.Background(), f.files, c, r)
	if err != nil {
		t.Fatal(err)
	}
	plan.Epoch, r.Plan = time.Now(), plan
	local := &replay.Local{}
	runner := &replay.Runner{Files: f.files, Dial: f.rec, Baton: local, Progress: local, Continue: local, Log: quiet, TempDir: t.TempDir()}
	job := replay.Job{Shard: replay.Shard{Replay: r.ID}, Replay: r}

	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	go func() {
		poll(20*time.Second, func() bool { return local.Progress(r.ID).Statements > 0 })
		kill()
	}()
	if _, err := runner.Run(ctx, env, job); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed invocation: %v, want the context's error", err)
	}
	killed := local.Progress(r.ID).Statements
	if killed == 0 || killed >= plan.Statements {
		t.Fatalf("the killed invocation recorded %d of %d statements: want some, not all", killed, plan.Statements)
	}
	res, err := runner.Run(context.Background(), env, job)
	if err != nil || !res.Done {
		t.Fatalf("rerun: %+v, %v", res, err)
	}
	if got := local.Progress(r.ID); got.Statements != plan.Statements || got.Errors != 0 {
		t.Errorf("progress %+v after a rerun, want %d statements (the killed invocation recorded %d), no errors", got, plan.Statements, killed)
	}
}
