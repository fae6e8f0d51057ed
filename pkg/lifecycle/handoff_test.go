package lifecycle_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/lifecycle"
)

// gatedSweeps is a recorder whose sweeps wait for the gate, counting how many run at once.
type gatedSweeps struct {
	fakeRecorder
	gate            chan struct{}
	running, most   atomic.Int32
	started, ranAll atomic.Int32
}

func (r *gatedSweeps) Sweep(ctx context.Context, key string) error {
	n := r.running.Add(1)
	for m := r.most.Load(); n > m && !r.most.CompareAndSwap(m, n); m = r.most.Load() {
	}
	r.started.Add(1)
	<-r.gate
	r.running.Add(-1)
	r.ranAll.Add(1)
	return nil
}

// TestInProcessBoundsItsWork: however much work is handed over at once, at most Limit pieces
// run together; once closed, what still waits is dropped and Wait returns when what ran ends.
func TestInProcessBoundsItsWork(t *testing.T) {
	rec := &gatedSweeps{gate: make(chan struct{})}
	p := &lifecycle.InProcess{Worker: &lifecycle.Worker{Recorder: rec, Now: time.Now, Log: quiet}, Limit: 3}
	for range 20 {
		if err := p.HandOff(context.Background(), lifecycle.Sweep("server/x#1")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "3 sweeps started", func() bool { return rec.started.Load() >= 3 })
	p.Close()
	close(rec.gate)
	p.Wait()
	if most := rec.most.Load(); most != 3 {
		t.Errorf("%d sweeps ran at once, want the limit, 3", most)
	}
	if ran := rec.ranAll.Load(); ran != 3 {
		t.Errorf("%d of 20 sweeps ran, want only the 3 running at Close", ran)
	}
}
