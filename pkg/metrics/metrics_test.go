package metrics_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/metrics"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func TestFromSamples(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type point struct {
		at            int
		reads, writes float64
	}
	for _, tc := range []struct {
		name    string
		samples []metrics.Sample
		want    []point
	}{
		{"none", nil, nil},
		{"one sample has no interval", []metrics.Sample{{At: at(0), Reads: 5, Writes: 5, Uptime: 100}}, nil},
		{"rates per second, stamped at the interval's start", []metrics.Sample{
			{At: at(0), Reads: 100, Writes: 1000, Uptime: 100},
			{At: at(60), Reads: 160, Writes: 1000, Uptime: 160},
			{At: at(90), Reads: 160, Writes: 1300, Uptime: 190},
		}, []point{{0, 1, 0}, {60, 0, 10}}},
		{"out of order samples are put in order", []metrics.Sample{
			{At: at(60), Reads: 160, Writes: 0, Uptime: 160},
			{At: at(0), Reads: 100, Writes: 0, Uptime: 100},
		}, []point{{0, 1, 0}}},
		{"an interval across a restart has no point", []metrics.Sample{
			{At: at(0), Reads: 100, Writes: 100, Uptime: 5000},
			{At: at(60), Reads: 3, Writes: 7, Uptime: 20},
			{At: at(120), Reads: 63, Writes: 67, Uptime: 80},
		}, []point{{60, 1, 1}}},
		{"two samples at one instant make no point", []metrics.Sample{
			{At: at(0), Reads: 1, Uptime: 1}, {At: at(0), Reads: 2, Uptime: 1},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			series := metrics.FromSamples(tc.samples)
			if len(series) != 2 || series[0].Kind != metrics.ReadIOPS || series[1].Kind != metrics.WriteIOPS {
				t.Fatalf("series %+v, want READ IOPS and WRITE IOPS", series)
			}
			for _, s := range series {
				if s.Points == nil {
					t.Errorf("%s: nil points, want [] so the JSON is a list", s.Kind.Type)
				}
				if len(s.Points) != len(tc.want) {
					t.Fatalf("%s: %d points, want %d", s.Kind.Type, len(s.Points), len(tc.want))
				}
			}
			for i, w := range tc.want {
				r, wr := series[0].Points[i], series[1].Points[i]
				if !r.Time.Equal(at(w.at)) || r.Maximum != w.reads || wr.Maximum != w.writes || r.Unit != "Count/Second" {
					t.Errorf("point %d: reads %+v writes %+v, want %+v", i, r, wr, w)
				}
			}
		})
	}
}

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want metrics.Kind
		bad  bool
	}{
		{"", metrics.Kind{}, false},
		{"read iops", metrics.ReadIOPS, false},
		{"READ IOPS", metrics.ReadIOPS, false},
		{" Cpu Utilization ", metrics.CPU, false},
		{"freeable memory", metrics.FreeableMemory, false},
		{"ReadIOPS", metrics.Kind{}, true},
		{"disk", metrics.Kind{}, true},
	} {
		got, err := metrics.ParseType(tc.in)
		if tc.bad {
			if capture.KindOf(err) != capture.Invalid {
				t.Errorf("ParseType(%q): %v, want an Invalid error", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseType(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestOnly(t *testing.T) {
	all := []metrics.Series{{Kind: metrics.ReadIOPS, Points: []metrics.Point{{Time: t0, Maximum: 1}}}, {Kind: metrics.WriteIOPS}}
	if got := metrics.Only(all, metrics.Kind{}); len(got) != 2 {
		t.Errorf("no filter kept %d", len(got))
	}
	if got := metrics.Only(all, metrics.ReadIOPS); len(got) != 1 || got[0].Kind != metrics.ReadIOPS || len(got[0].Points) != 1 {
		t.Errorf("READ IOPS: %+v", got)
	}
	// A kind the environment does not measure is there, empty, rather than missing.
	if got := metrics.Only(all, metrics.CPU); len(got) != 1 || got[0].Kind != metrics.CPU || got[0].Points == nil || len(got[0].Points) != 0 {
		t.Errorf("CPU outside RDS: %+v", got)
	}
}

func TestKeptMetrics(t *testing.T) {
	start, end := t0, t0.Add(time.Hour)
	done := capture.Capture{ID: 1, Status: capture.Done, Start: &start, End: &end}
	fail := errors.New("throttled")
	for _, tc := range []struct {
		name      string
		c         capture.Capture
		late      bool
		err       error
		now       time.Time
		want      capture.MetricsState
		wantDue   time.Time // zero: not due
		hasReason bool
	}{
		{"counters are final at once", done, false, nil, end, capture.MetricsState{Stored: true, Final: true}, time.Time{}, false},
		{"CloudWatch at the stop lacks its tail", done, true, nil, end.Add(time.Second), capture.MetricsState{Stored: true}, end.Add(capture.MetricsDelay), false},
		{"CloudWatch after the delay is final", done, true, nil, end.Add(capture.MetricsDelay), capture.MetricsState{Stored: true, Final: true}, time.Time{}, false},
		{"a failure is tried again later", done, true, fail, end, capture.MetricsState{Attempts: 1}, end.Add(2 * capture.MetricsDelay), false},
		{"the last failure gives up with a reason", func() capture.Capture {
			c := done
			c.Metrics.Attempts = capture.MaxMetricsAttempts - 1
			return c
		}(), true, fail, end, capture.MetricsState{Final: true, Attempts: capture.MaxMetricsAttempts}, time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := capture.KeptMetrics(tc.c, tc.late, tc.err, tc.now)
			if got.Metrics != tc.want {
				t.Errorf("state %+v, want %+v", got.Metrics, tc.want)
			}
			due, ok := got.DueAt()
			if ok != !tc.wantDue.IsZero() || (ok && !due.Equal(tc.wantDue)) {
				t.Errorf("due %v %v, want %v", due, ok, tc.wantDue)
			}
			if (got.Reason != "") != tc.hasReason {
				t.Errorf("reason %q", got.Reason)
			}
		})
	}
	// A cancelled capture (never started) has no metrics to read.
	cancelled := capture.Capture{Status: capture.Done, End: &end}
	if _, ok := cancelled.DueAt(); ok {
		t.Error("a cancelled capture is due for metrics")
	}
}
