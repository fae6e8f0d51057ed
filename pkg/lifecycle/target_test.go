package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
)

// beginCounter is a recorder that counts the recordings it was asked to begin.
type beginCounter struct {
	fakeRecorder
	begun *int
}

func (r beginCounter) Begin(context.Context, capture.Environment, capture.Capture) error {
	*r.begun++
	return nil
}

// A capture scheduled in an environment that was then made only a replay target (an edit the
// API allows while its captures are only scheduled) fails as it starts, saying why, and its
// recording is never begun: the target's user was not checked for the general log's
// privileges, and a replay may be writing there.
func TestCaptureOnATargetFails(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	begun := 0
	w := &lifecycle.Worker{Store: f.store, Recorder: beginCounter{begun: &begun}, Now: time.Now, Log: quiet}
	for _, tt := range []struct {
		name   string
		target bool
		want   capture.Status
	}{
		{"not a target", false, capture.Running},
		{"only a target", true, capture.Failed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := f.env
			env.Target = tt.target
			stored, err := f.store.UpdateEnvironment(ctx, f.env, env)
			if err != nil {
				t.Fatal(err)
			}
			f.env = stored
			c, err := capture.New(capture.Request{Name: "on " + tt.name, EnvID: f.env.ID}, "alice", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if c, err = f.store.CreateCapture(ctx, c); err != nil {
				t.Fatal(err)
			}
			before := begun
			if err := w.Start(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			got := f.get(t, c.ID)
			if got.Status != tt.want || tt.target && (begun != before || got.Reason != capture.ErrEnvTargetOnly.Message) {
				t.Errorf("%s, reason %q, begun %d times, want %s", got.Status, got.Reason, begun-before, tt.want)
			}
			if got.Status == capture.Running {
				next, _ := capture.Stop(got, time.Now())
				if err := f.store.Move(ctx, next, got.Status); err != nil {
					t.Fatal(err)
				}
				if err := w.Stop(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
