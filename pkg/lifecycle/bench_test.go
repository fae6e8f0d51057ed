package lifecycle_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// stamped records when the scheduler handed each capture's start and stop to the worker, and
// passes the work on to a worker in process.
type stamped struct {
	next   *lifecycle.InProcess
	mu     sync.Mutex
	starts map[int64]time.Time
	stops  map[int64]time.Time
}

func (s *stamped) HandOff(ctx context.Context, ev lifecycle.Event) error {
	now := time.Now()
	s.mu.Lock()
	if ev.Action == lifecycle.ActionStart {
		s.starts[ev.CaptureID] = now
	} else {
		s.stops[ev.CaptureID] = now
	}
	s.mu.Unlock()
	return s.next.HandOff(ctx, ev)
}

// BenchmarkScheduler1000 schedules 1,000 captures of 60 s to start within one minute on
// DynamoDB Local and lets the scheduler run them as on AWS: one tick a minute, each tick
// covering the minute ahead. It reports how late starts and stops fired after their due second,
// and DynamoDB calls per capture (scheduler and worker together).
func BenchmarkScheduler1000(b *testing.B) {
	const n = 1000
	for range b.N {
		calls := &storetest.Calls{}
		st := storetest.New(b, calls)
		ctx := context.Background()
		envID, _ := st.NewEnvironmentID(ctx)
		if _, err := st.CreateEnvironment(ctx, capture.Environment{ID: envID, Name: "bench", OwnerID: "b", Host: "h", Port: 1, DBName: "d", User: "u"}); err != nil {
			b.Fatal(err)
		}
		// Creating 1,000 captures takes seconds; the first falls due well after that.
		t0 := time.Now().Add(20 * time.Second)
		due := map[int64]time.Time{}
		for i := range n {
			start := t0.Add(time.Duration(i) * time.Minute / n)
			duration := 60.0
			c, err := capture.New(capture.Request{Name: fmt.Sprintf("bench %d", i), EnvID: envID, Status: capture.Scheduled, ScheduledStart: &start, Duration: &duration}, "b", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if c, err = st.CreateCapture(ctx, c); err != nil {
				b.Fatal(err)
			}
			due[c.ID] = start
		}
		// Intended: the scheduler runs on the wall clock, as on AWS, and what is measured is how
		// late each start fires after its real second; the rule fires a second before the first.
		time.Sleep(time.Until(t0.Add(-time.Second)))
		calls.Reset()
		worker := &lifecycle.InProcess{Worker: &lifecycle.Worker{Store: st, Recorder: fakeRecorder{}, Now: time.Now, Log: quiet}}
		trig := &stamped{next: worker, starts: map[int64]time.Time{}, stops: map[int64]time.Time{}}
		s := &lifecycle.Scheduler{Store: st, Handoff: trig, Clock: lifecycle.RealClock{}, StuckAfter: 3 * time.Minute, Log: quiet}
		b.ResetTimer()
		for tick := range 3 { // the minute of starts, the minute of stops, and one to spare
			if err := s.Tick(ctx, time.Minute+5*time.Second); err != nil {
				b.Fatal(err)
			}
			worker.Wait()
			if len(trig.stops) == n {
				break
			}
			if d := time.Until(t0.Add(time.Duration(tick+1)*time.Minute - time.Second)); d > 0 {
				time.Sleep(d) // intended: the next minute's rule, on the wall clock as above
			}
		}
		b.StopTimer()
		var startLate, stopLate []float64
		for id, at := range due {
			s, ok1 := trig.starts[id]
			e, ok2 := trig.stops[id]
			if !ok1 || !ok2 {
				b.Fatalf("capture %d: started %v, stopped %v", id, ok1, ok2)
			}
			startLate = append(startLate, float64(s.Sub(at).Milliseconds()))
			stopLate = append(stopLate, float64(e.Sub(at.Add(time.Minute)).Milliseconds()))
		}
		total, _ := calls.Total()
		report(b, "start", startLate)
		report(b, "stop", stopLate)
		b.ReportMetric(float64(total)/n, "calls/capture")
	}
}

func report(b *testing.B, what string, ms []float64) {
	slices.Sort(ms)
	b.ReportMetric(ms[len(ms)/2], what+"-p50-ms")
	b.ReportMetric(ms[len(ms)*99/100], what+"-p99-ms")
	b.ReportMetric(ms[len(ms)-1], what+"-max-ms")
}
