package metrics_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics/cwtest"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// ranCapture stores a capture of env that ran from start to end and is DONE.
func ranCapture(t *testing.T, st *store.Store, envID int64, name string, start, end time.Time) capture.Capture {
	t.Helper()
	ctx := context.Background()
	c, err := st.CreateCapture(ctx, capture.Capture{EnvID: envID, Name: name, OwnerID: auth.LocalSub("alice"), Status: capture.Started, Start: &start, Created: start, Updated: start})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		to capture.Status
		at time.Time
	}{{capture.Starting, start}, {capture.Running, start}, {capture.Stopping, end}, {capture.Done, end}} {
		next, err := capture.Move(c, step.to, step.at)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Move(ctx, next, c.Status); err != nil {
			t.Fatal(err)
		}
		c = next
		if step.to == capture.Running { // its recorder signed in and read the server's clock
			w := capture.Workload{Watermark: start, Begin: start}
			if err := st.SaveWorkload(ctx, c.ID, c.Workload, w); err != nil {
				t.Fatal(err)
			}
			c.Workload = w
		}
	}
	return c
}

// TestRDSMetricsOutliveCloudWatch keeps a done RDS capture's metrics through the real
// CloudWatch client (against recorded GetMetricData answers), at the stop and once more after
// the delay, then serves them through the API with CloudWatch gone.
func TestRDSMetricsOutliveCloudWatch(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t, nil)
	files := blob.Dir{Root: t.TempDir()}
	cw := cwtest.Start(t, filepath.Join("rdsmetrics", "testdata", "getmetricdata.json"))
	now := time.Now()
	clock := func() time.Time { return now }
	keeper := &metrics.Keeper{RDS: rdsmetrics.New(cwtest.Config, cw.URL()), Samples: st, Files: files, Now: clock}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	worker := &lifecycle.Worker{Store: st, Metrics: keeper, Now: clock, Log: quiet}

	id, _ := st.NewEnvironmentID(ctx)
	env, err := st.CreateEnvironment(ctx, capture.Environment{ID: id, Name: "prod", OwnerID: auth.LocalSub("alice"), Host: "db-prod.rds", Port: 3306, DBName: "shop", User: "admin", Instance: "db-prod", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// The recorded answers cover 12:00-12:03Z of 2026-11-28.
	start := time.Date(2026, 11, 28, 12, 0, 15, 0, time.UTC)
	end := start.Add(3 * time.Minute)
	c := ranCapture(t, st, env.ID, "checkout", start, end)

	now = end.Add(10 * time.Second) // the worker's keep, right after the stop
	if err := worker.KeepMetrics(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Capture(ctx, c.ID)
	if !got.Metrics.Stored || got.Metrics.Final {
		t.Fatalf("after the stop: %+v, want a stored copy that is not final", got.Metrics)
	}
	due, err := st.Due(ctx, capture.Done, end.Add(capture.MetricsDelay))
	if err != nil || len(due) != 1 || due[0].ID != c.ID {
		t.Fatalf("due for the tail: %v %v", due, err)
	}
	// A scheduler tick after the delay hands it back to the worker, which makes it final.
	trig := &recordedHandoffs{}
	s := &lifecycle.Scheduler{Store: st, Handoff: trig, Clock: fixedClock{end.Add(capture.MetricsDelay)}, StuckAfter: time.Hour, Log: quiet}
	if err := s.Tick(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if len(trig.events) != 1 || trig.events[0] != (lifecycle.Event{Action: lifecycle.ActionMetrics, CaptureID: c.ID}) {
		t.Fatalf("tick after the delay triggered %+v, want one metrics event", trig.events)
	}
	now = end.Add(capture.MetricsDelay + time.Second)
	if err := worker.Handle(ctx, trig.events[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Capture(ctx, c.ID); !got.Metrics.Final {
		t.Fatalf("after the tail: %+v, want final", got.Metrics)
	}
	if due, _ := st.Due(ctx, capture.Done, end.Add(24*time.Hour)); len(due) != 0 {
		t.Errorf("final metrics still due: %v", due)
	}
	if n := len(cw.Requests()); n != 4 {
		t.Errorf("%d GetMetricData requests, want 4 (two keeps of two pages)", n)
	}

	// A second capture whose metrics CloudWatch never gives: it gives up with a reason.
	cw.Close()
	lost := ranCapture(t, st, env.ID, "unlucky", start, end)
	for attempt := range capture.MaxMetricsAttempts {
		now = end.Add(time.Duration(attempt+1) * capture.MetricsDelay)
		if err := worker.KeepMetrics(ctx, lost.ID); err != nil {
			t.Fatal(err)
		}
	}
	lost, _ = st.Capture(ctx, lost.ID)
	if !lost.Metrics.Final || !lost.Metrics.Stored || !strings.Contains(lost.Reason, "metrics could not be read") {
		t.Fatalf("after %d failures: %+v %q", capture.MaxMetricsAttempts, lost.Metrics, lost.Reason)
	}

	// The API, with CloudWatch unreachable, serves what was kept.
	issuer, err := auth.LoadIssuer(filepath.Join(t.TempDir(), "token.key"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&api.Server{Store: st, Files: files, Metrics: keeper, Authenticate: issuer.Authenticate, Log: quiet, Now: time.Now}).Handler())
	defer srv.Close()
	tok, _ := issuer.Token("alice", time.Hour)
	get := func(path string) (int, []metricView) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []metricView
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, all := get("/api/captures/1/metrics")
	if code != 200 || len(all) != 4 {
		t.Fatalf("stored metrics: %d %+v", code, all)
	}
	wantPoints := map[string]int{"CPU UTILIZATION": 3, "READ IOPS": 3, "WRITE IOPS": 3, "FREEABLE MEMORY": 0}
	for _, m := range all {
		if len(m.DataPoints) != wantPoints[m.Type] || m.DataPoints == nil {
			t.Errorf("%s: %d points, want %d", m.Type, len(m.DataPoints), wantPoints[m.Type])
		}
		for i := 1; i < len(m.DataPoints); i++ {
			if m.DataPoints[i].Timestamp <= m.DataPoints[i-1].Timestamp {
				t.Errorf("%s: points out of order: %+v", m.Type, m.DataPoints)
			}
		}
	}
	if cpu := all[0]; cpu.Label != "CPUUtilization" || cpu.DataPoints[2].Maximum != 55 || cpu.DataPoints[0].Timestamp != "2026-11-28T12:00:00.000Z" || cpu.DataPoints[0].Unit != "Percent" {
		t.Errorf("CPU: %+v", cpu)
	}
	if code, one := get("/api/captures/1/metrics?type=" + url.QueryEscape("write iops")); code != 200 || len(one) != 1 || one[0].Label != "WriteIOPS" || one[0].DataPoints[1].Maximum != 200.5 {
		t.Errorf("?type=write iops: %d %+v", code, one)
	}
	if code, empty := get("/api/captures/2/metrics"); code != 200 || len(empty) != 4 || len(empty[0].DataPoints) != 0 {
		t.Errorf("metrics given up on: %d %+v, want the four series, empty", code, empty)
	}
}

type metricView struct {
	Label, Type, DisplayName string
	DataPoints               []struct {
		Timestamp string
		Maximum   float64
		Unit      string
	}
}

type recordedHandoffs struct{ events []lifecycle.Event }

func (r *recordedHandoffs) HandOff(_ context.Context, ev lifecycle.Event) error {
	r.events = append(r.events, ev)
	return nil
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                              { return c.t }
func (c fixedClock) SleepUntil(context.Context, time.Time) error { return nil }
