package rdsmetrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics/cwtest"
)

func newFake(t *testing.T) (*cwtest.Server, rdsmetrics.CloudWatch) {
	t.Helper()
	fake, client := cwtest.Start(t, "testdata/getmetricdata.json")
	return fake, rdsmetrics.CloudWatch{Client: client}
}

var t0 = time.Unix(1795867200, 0).UTC() // 2026-11-28T12:00:00Z

func TestWindowPagesAndOrders(t *testing.T) {
	fake, cw := newFake(t)
	series, err := cw.Window(context.Background(), "db-prod", t0.Add(15*time.Second), t0.Add(3*time.Minute+30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	type pt struct {
		at  time.Duration
		max float64
	}
	want := map[string][]pt{
		"CPUUtilization": {{0, 10.25}, {time.Minute, 12.5}, {2 * time.Minute, 55}},
		"ReadIOPS":       {{0, 0.06666888896296544}, {time.Minute, 3.5}, {2 * time.Minute, 4}},
		"WriteIOPS":      {{0, 100}, {time.Minute, 200.5}, {2 * time.Minute, 0}},
		"FreeableMemory": {},
	}
	if len(series) != len(metrics.Kinds) {
		t.Fatalf("%d series, want %d", len(series), len(metrics.Kinds))
	}
	for i, s := range series {
		if s.Kind != metrics.Kinds[i] {
			t.Errorf("series %d is %s, want %s", i, s.Kind.Label, metrics.Kinds[i].Label)
		}
		w := want[s.Kind.Label]
		if s.Points == nil || len(s.Points) != len(w) {
			t.Fatalf("%s: %d points (%v), want %d", s.Kind.Label, len(s.Points), s.Points, len(w))
		}
		for j, p := range s.Points {
			if !p.Time.Equal(t0.Add(w[j].at)) || p.Maximum != w[j].max || p.Unit != s.Kind.Unit || p.Time.Location() != time.UTC {
				t.Errorf("%s point %d = %+v, want %v at %s in %s", s.Kind.Label, j, p, w[j].max, t0.Add(w[j].at), s.Kind.Unit)
			}
		}
	}

	if len(fake.Requests()) != 2 {
		t.Fatalf("%d requests, want 2 (one per page)", len(fake.Requests()))
	}
	first := fake.Requests()[0]
	start, _ := cbor.AsTime(first["StartTime"])
	end, _ := cbor.AsTime(first["EndTime"])
	if !start.Equal(t0) || !end.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("asked for [%s, %s], want the window widened to whole minutes [%s, %s]", start, end, t0, t0.Add(4*time.Minute))
	}
	if first["ScanBy"] != cbor.String("TimestampAscending") {
		t.Errorf("ScanBy %v", first["ScanBy"])
	}
	queries := first["MetricDataQueries"].(cbor.List)
	if len(queries) != 4 {
		t.Fatalf("%d queries in one request, want all 4", len(queries))
	}
	for i, q := range queries {
		stat := q.(cbor.Map)["MetricStat"].(cbor.Map)
		metric := stat["Metric"].(cbor.Map)
		dim := metric["Dimensions"].(cbor.List)[0].(cbor.Map)
		period, _ := cbor.AsInt64(stat["Period"])
		if metric["Namespace"] != cbor.String("AWS/RDS") || metric["MetricName"] != cbor.String(metrics.Kinds[i].Label) ||
			dim["Name"] != cbor.String("DBInstanceIdentifier") || dim["Value"] != cbor.String("db-prod") ||
			period != 60 || stat["Stat"] != cbor.String("Maximum") {
			t.Errorf("query %d: %v", i, q)
		}
	}
	if fake.Requests()[1]["NextToken"] != cbor.String("page-2") {
		t.Errorf("second request did not follow the token: %v", fake.Requests()[1]["NextToken"])
	}
}

func TestWindowErrors(t *testing.T) {
	fake, cw := newFake(t)
	fake.Fail, fake.FailCode = 403, "AccessDenied"
	_, err := cw.Window(context.Background(), "db-prod", t0, t0.Add(time.Minute))
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "db-prod") {
		t.Fatalf("a refused request: %v, want an error naming the instance and AWS's code", err)
	}
	// AWS's own message names the role's ARN and the account: kept for the log, not shown.
	if strings.Contains(err.Error(), "arn:aws") || strings.Contains(err.Error(), "123456789012") {
		t.Errorf("a refused request: %q shows AWS's text", err)
	}
	if d := awserr.Detail(err); !strings.Contains(d, "arn:aws:sts::123456789012") {
		t.Errorf("the log's detail %q lost AWS's text", d)
	}

	fake.Fail = 0
	fake.Pages[0].MetricDataResults[0].StatusCode = "Forbidden"
	if _, err := cw.Window(context.Background(), "db-prod", t0, t0.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("a Forbidden result: %v, want an error", err)
	}
}
