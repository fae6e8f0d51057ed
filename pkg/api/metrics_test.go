package api_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/store"
)

type metricView struct {
	Label, Type, DisplayName string
	DataPoints               []struct {
		Timestamp string
		Maximum   float64
		Unit      string
	}
}

// failingCloudWatch is CloudWatch while it is down; it counts the requests it gets.
type failingCloudWatch struct{ calls atomic.Int64 }

func (f *failingCloudWatch) Window(context.Context, string, time.Time, time.Time) ([]metrics.Series, error) {
	f.calls.Add(1)
	return nil, errors.New("dial tcp: connection refused")
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	env := h.environment("alice", map[string]bool{"bob": false})
	c := h.capture("alice", env.ID, "sampled", nil)
	forceStatus(t, h.server.Store, c.ID, capture.Running)
	t0 := time.Now().UTC().Truncate(time.Second)
	signedIn(t, h.server.Store, c.ID, t0)
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
	h.must("alice", "DELETE", pathf("/api/captures/%d", c.ID), nil, nil)
	if left, err := h.server.Store.Samples(ctx, c.ID); err != nil || len(left) != 0 {
		t.Errorf("samples after the capture was deleted: %d, %v", len(left), err)
	}

	// A running RDS capture reads CloudWatch live; CloudWatch down is a JSON 502 saying so.
	cw := &failingCloudWatch{}
	h.server.Metrics = &metrics.Keeper{RDS: cw, Samples: h.server.Store, Files: h.server.Files.(blob.Dir), Now: time.Now}
	var rdsEnv envView
	h.must("alice", "POST", "/api/environments", map[string]any{
		"envName": "on rds", "host": "db-prod.example.rds.amazonaws.com", "dbName": "shop", "user": "admin", "pass": "pw", "instance": "db-prod",
	}, &rdsEnv)

	// Captures whose recorder never signed in (scheduled, starting, failed before the log was
	// on) answer every series, empty, without asking CloudWatch: naming an instance is not
	// being allowed to watch it.
	for _, status := range []capture.Status{capture.Scheduled, capture.Starting, capture.Failed} {
		body := map[string]any(nil)
		if status == capture.Scheduled {
			body = map[string]any{"status": "SCHEDULED", "scheduledStart": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
		}
		nc := h.capture("alice", rdsEnv.ID, "never "+strings.ToLower(string(status)), body)
		forceStatus(t, h.server.Store, nc.ID, status)
		var got []metricView
		h.must("alice", "GET", pathf("/api/captures/%d/metrics", nc.ID), nil, &got)
		if len(got) != 4 || got[0].Type != "CPU UTILIZATION" {
			t.Errorf("%s, never signed in: %+v, want the four series", status, got)
		}
		for _, m := range got {
			if m.DataPoints == nil || len(m.DataPoints) != 0 {
				t.Errorf("%s, never signed in: %s has %v, want []", status, m.Type, m.DataPoints)
			}
		}
		if n := cw.calls.Load(); n != 0 {
			t.Fatalf("%s, never signed in: CloudWatch asked %d times, want never", status, n)
		}
	}

	rc := h.capture("alice", rdsEnv.ID, "on rds", nil)
	forceStatus(t, h.server.Store, rc.ID, capture.Running)
	signedIn(t, h.server.Store, rc.ID, time.Now())
	r := h.do("alice", "GET", pathf("/api/captures/%d/metrics", rc.ID), nil)
	if r.Status != 502 || r.errorMessage(t) != "The capture's metrics cannot be read from CloudWatch right now: dial tcp: connection refused" {
		t.Errorf("CloudWatch down: %d %s", r.Status, r.Body)
	}
	if n := cw.calls.Load(); n != 1 {
		t.Errorf("a capture that signed in asked CloudWatch %d times, want 1", n)
	}
}

// signedIn gives capture id the watermark its recorder sets once it has signed in to the
// database and turned the log on: what makes its metrics readable.
func signedIn(t testing.TB, st *store.Store, id int64, at time.Time) {
	t.Helper()
	ctx := context.Background()
	c, err := st.Capture(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveWorkload(ctx, id, c.Workload, capture.Workload{Watermark: at.UTC(), Begin: at.UTC()}); err != nil {
		t.Fatal(err)
	}
}
