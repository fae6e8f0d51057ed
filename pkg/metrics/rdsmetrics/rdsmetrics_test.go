package rdsmetrics_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics/cwtest"
)

func newFake(t *testing.T) (*cwtest.Server, rdsmetrics.CloudWatch) {
	t.Helper()
	fake := cwtest.Start(t, "testdata/getmetricdata.json")
	return fake, rdsmetrics.New(cwtest.Config, fake.URL())
}

// TestSameWireAsTheSDK asks for one window through this package and through the SDK's
// CloudWatch client, and checks that CloudWatch would see the same requests and that both read
// the same points: the hand-written protocol is the SDK's.
func TestSameWireAsTheSDK(t *testing.T) {
	fake, cw := newFake(t)
	ctx := context.Background()
	start, end := t0.Add(15*time.Second), t0.Add(3*time.Minute+30*time.Second)
	series, err := cw.Window(ctx, "db-prod", start, end)
	if err != nil {
		t.Fatal(err)
	}
	ours := fake.Requests()

	sdk := cloudwatch.NewFromConfig(cwtest.Config, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	var queries []types.MetricDataQuery
	for i, k := range metrics.Kinds {
		queries = append(queries, types.MetricDataQuery{
			Id: aws.String(fmt.Sprintf("m%d", i)), Label: aws.String(k.Label), ReturnData: aws.Bool(true),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String("AWS/RDS"), MetricName: aws.String(k.Label),
					Dimensions: []types.Dimension{{Name: aws.String("DBInstanceIdentifier"), Value: aws.String("db-prod")}}},
				Period: aws.Int32(60), Stat: aws.String("Maximum"),
			},
		})
	}
	wStart, wEnd := t0, t0.Add(4*time.Minute)
	pages := cloudwatch.NewGetMetricDataPaginator(sdk, &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries, StartTime: &wStart, EndTime: &wEnd, ScanBy: types.ScanByTimestampAscending,
	})
	points := map[string]int{}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.MetricDataResults {
			points[*r.Label] += len(r.Values)
		}
	}
	theirs := fake.Requests()[len(ours):]
	if len(theirs) != len(ours) {
		t.Fatalf("%d requests, the SDK %d", len(ours), len(theirs))
	}
	for i := range ours {
		if a, b := plain(ours[i]), plain(theirs[i]); !reflect.DeepEqual(a, b) {
			t.Errorf("request %d differs:\n ours %v\n  SDK %v", i, ours[i], theirs[i])
		}
	}
	for _, s := range series {
		if len(s.Points) != points[s.Kind.Label] {
			t.Errorf("%s: %d points, the SDK read %d", s.Kind.Label, len(s.Points), points[s.Kind.Label])
		}
	}
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

// plain is v as Go values, times as time.Time, so that two encodings of one request compare
// equal whatever their map order or number widths.
func plain(v cbor.Value) any {
	switch v := v.(type) {
	case cbor.Map:
		out := map[string]any{}
		for k, e := range v {
			out[k] = plain(e)
		}
		return out
	case cbor.List:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case *cbor.Tag:
		t, err := cbor.AsTime(v)
		if err != nil {
			return err.Error()
		}
		return t.UTC()
	case cbor.Uint, cbor.NegInt:
		n, _ := cbor.AsInt64(v)
		return n
	case cbor.Float32, cbor.Float64:
		f, _ := cbor.AsFloat64(v)
		return f
	}
	return v
}
