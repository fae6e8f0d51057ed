package api_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/metrics"
)

type metricView struct {
	Label, Type, DisplayName string
	DataPoints               []struct {
		Timestamp string
		Maximum   float64
		Unit      string
	}
}

// failingCloudWatch is CloudWatch while it is down.
type failingCloudWatch struct{}

func (failingCloudWatch) Window(context.Context, string, time.Time, time.Time) ([]metrics.Series, error) {
	return nil, errors.New("dial tcp: connection refused")
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	env := h.environment("alice", map[string]bool{"bob": false})
	c := h.capture("alice", env.ID, "sampled", nil)
	forceStatus(t, h.server.Store, c.ID, capture.Running)
	t0 := time.Now().UTC().Truncate(time.Second)
	for i, s := range []metrics.Sample{
		{At: t0, Reads: 100, Writes: 50, Uptime: 1000},
		{At: t0.Add(60 * time.Second), Reads: 160, Writes: 170, Uptime: 1060},
	} {
		if err := h.server.Store.AddSample(ctx, c.ID, s); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
	}
	path := pathf("/api/captures/%d/metrics", c.ID)

	var all []metricView
	h.must("bob", "GET", path, nil, &all)
	if len(all) != 2 || all[0].Type != "READ IOPS" || all[1].Label != "WriteIOPS" || all[1].DisplayName != "WRITE IOPS" {
		t.Fatalf("outside RDS: %+v, want READ IOPS and WRITE IOPS only", all)
	}
	if p := all[1].DataPoints; len(p) != 1 || p[0].Maximum != 2 || p[0].Unit != "Count/Second" || p[0].Timestamp != t0.Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("WRITE IOPS points %+v, want 2/s at %s", p, t0.Format(time.RFC3339))
	}

	for _, tc := range []struct {
		query  string
		status int
		want   string // the one series' type, or the error
	}{
		{"read iops", 200, "READ IOPS"},
		{"WRITE IOPS", 200, "WRITE IOPS"},
		{"cpu utilization", 200, "CPU UTILIZATION"}, // known, not measured here: empty
		{"disk", 400, `Unknown metric type "disk": use one of CPU UTILIZATION, READ IOPS, WRITE IOPS, FREEABLE MEMORY`},
	} {
		q := path + "?type=" + url.QueryEscape(tc.query)
		r := h.do("alice", "GET", q, nil)
		if r.Status != tc.status {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
			continue
		}
		if tc.status != 200 {
			if msg := r.errorMessage(t); msg != tc.want {
				t.Errorf("%s: %q, want %q", q, msg, tc.want)
			}
			continue
		}
		var one []metricView
		r.decode(t, &one)
		if len(one) != 1 || one[0].Type != tc.want || one[0].DataPoints == nil {
			t.Errorf("%s: %+v", q, one)
		}
	}

	// The samples go with their capture.
	cur, err := h.server.Store.Capture(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.server.Store.SaveWorkload(ctx, c.ID, cur.Workload, capture.Workload{Watermark: t0}); err != nil {
		t.Fatal(err)
	}
	h.must("alice", "DELETE", pathf("/api/captures/%d", c.ID), nil, nil)
	if left, err := h.server.Store.Samples(ctx, c.ID); err != nil || len(left) != 0 {
		t.Errorf("samples after the capture was deleted: %d, %v", len(left), err)
	}

	// A running RDS capture reads CloudWatch live; CloudWatch down is a JSON 502 saying so.
	h.server.Metrics = &metrics.Keeper{RDS: failingCloudWatch{}, Samples: h.server.Store, Files: h.server.Files.(blob.Dir), Now: time.Now}
	var rdsEnv envView
	h.must("alice", "POST", "/api/environments", map[string]any{
		"envName": "on rds", "host": "db-prod.example.rds.amazonaws.com", "dbName": "shop", "user": "admin", "pass": "pw", "instance": "db-prod",
	}, &rdsEnv)
	rc := h.capture("alice", rdsEnv.ID, "on rds", nil)
	forceStatus(t, h.server.Store, rc.ID, capture.Running)
	r := h.do("alice", "GET", pathf("/api/captures/%d/metrics", rc.ID), nil)
	if r.Status != 502 || r.errorMessage(t) != "The capture's metrics cannot be read from CloudWatch right now: dial tcp: connection refused" {
		t.Errorf("CloudWatch down: %d %s", r.Status, r.Body)
	}
}
