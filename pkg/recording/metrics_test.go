package recording_test

import (
	"context"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/metrics"
)

// TestStatusCountersMeasureTheWindow samples a real MariaDB's counters at each step of a
// capture: an idle interval, an interval of writes, and an idle one again, with writes before
// and after the capture that must not show in it.
func TestStatusCountersMeasureTheWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.runOrders(t, 1000, 1300) // before the capture
	c := f.begin(t, f.newCapture(t, "counters"))
	// Intended: the idle interval is real time in which nothing runs, its rate (counter delta
	// over its length) what is measured; a short one would turn the server's odd background
	// write into a rate like the inserts'.
	time.Sleep(1500 * time.Millisecond)
	if _, err := f.rec.Collect(ctx, f.env, f.reload(t, c)); err != nil { // idle so far
		t.Fatal(err)
	}
	writesFrom := time.Now()
	f.runOrders(t, 0, 300)
	writesTo := time.Now()
	if _, err := f.rec.Collect(ctx, f.env, f.reload(t, c)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // intended: the idle interval after the inserts, as above
	c = f.end(t, c)
	f.runOrders(t, 2000, 2300) // after the capture

	samples, err := f.store.Samples(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 4 {
		t.Fatalf("%d samples, want 4: at the start, at each of two collections, at the end", len(samples))
	}
	series := metrics.FromSamples(samples)
	writes := metrics.Only(series, metrics.WriteIOPS)[0].Points
	if len(writes) != 3 {
		t.Fatalf("WRITE IOPS: %d points, want 3 (one per interval)", len(writes))
	}
	for _, p := range writes {
		t.Logf("WRITE IOPS from %s: %.1f/s", p.Time.Format(time.RFC3339Nano), p.Maximum)
	}
	if writes[1].Maximum <= 0 {
		t.Errorf("WRITE IOPS over the 300 inserts (%s to %s) = %v, want above zero", writesFrom.Format(time.RFC3339Nano), writesTo.Format(time.RFC3339Nano), writes[1].Maximum)
	}
	// Idle, the server still writes a trickle of its own (redo checkpoints, page flushes): far
	// below the rate of the inserts, and nothing like the writes just outside the window.
	for _, idle := range []int{0, 2} {
		if writes[idle].Maximum*50 > writes[1].Maximum {
			t.Errorf("WRITE IOPS while idle (%v) is not far below the rate during the inserts (%v)", writes[idle].Maximum, writes[1].Maximum)
		}
	}
	// Every point lies inside the window: the first sample is taken as recording begins, the
	// last as it ends.
	if first, last := writes[0].Time, writes[len(writes)-1].Time; first.Before(samples[0].At) || !last.Before(samples[3].At) {
		t.Errorf("points from %s to %s, outside the window %s to %s", first, last, samples[0].At, samples[3].At)
	}
}
