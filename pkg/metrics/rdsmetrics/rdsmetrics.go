// Package rdsmetrics reads an RDS instance's metrics from CloudWatch. It is apart from package
// metrics so that only the functions that call CloudWatch link it. It makes its one call,
// GetMetricData, in CloudWatch's wire protocol (Smithy RPC v2 CBOR) through package awsreq,
// without the SDK's CloudWatch client and its model of every other call.
package rdsmetrics

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/awsreq"
	"github.com/mycrt/captures/pkg/metrics"
)

// Period is CloudWatch's finest standard resolution for RDS: one point a minute.
const Period = 60 * time.Second

// CloudWatch reads the AWS/RDS namespace.
type CloudWatch struct {
	cw awsreq.Client
}

// New calls CloudWatch with cfg's credentials at endpoint (CloudWatch's in cfg's region when
// empty).
func New(cfg aws.Config, endpoint string) CloudWatch {
	cw := awsreq.New(cfg, "monitoring", endpoint)
	cw.Errors = cborError
	return CloudWatch{cw: cw}
}

// cborError reads an RPC v2 CBOR error body: {"__type": ..., "message": ...}.
func cborError(body []byte) (code, message string) {
	v, err := cbor.Decode(body)
	m, ok := v.(cbor.Map)
	if err != nil || !ok {
		return "", ""
	}
	return str(m["__type"]), str(m["message"]) + str(m["Message"])
}

func str(v cbor.Value) string {
	s, _ := v.(cbor.String)
	return string(s)
}

func timestamp(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1000)}
}

// Window returns the Maximum of every metrics.Kinds series of instance over [start, end], one
// point a minute, all in one GetMetricData request followed through its pages.
func (c CloudWatch) Window(ctx context.Context, instance string, start, end time.Time) ([]metrics.Series, error) {
	// CloudWatch aligns one-minute periods to the minute; a window inside one minute would ask
	// for nothing, so the window is widened to whole minutes.
	start = start.UTC().Truncate(Period)
	end = end.UTC().Truncate(Period).Add(Period)
	queries := make(cbor.List, len(metrics.Kinds))
	series := make([]metrics.Series, len(metrics.Kinds))
	byID := map[string]*metrics.Series{}
	for i, k := range metrics.Kinds {
		id := fmt.Sprintf("m%d", i)
		queries[i] = cbor.Map{
			"Id":    cbor.String(id),
			"Label": cbor.String(k.Label),
			"MetricStat": cbor.Map{
				"Metric": cbor.Map{
					"Namespace":  cbor.String("AWS/RDS"),
					"MetricName": cbor.String(k.Label),
					"Dimensions": cbor.List{cbor.Map{"Name": cbor.String("DBInstanceIdentifier"), "Value": cbor.String(instance)}},
				},
				"Period": cbor.Uint(Period.Seconds()),
				"Stat":   cbor.String("Maximum"),
			},
			"ReturnData": cbor.Bool(true),
		}
		series[i] = metrics.Series{Kind: k, Points: []metrics.Point{}}
		byID[id] = &series[i]
	}
	in := cbor.Map{
		"MetricDataQueries": queries,
		"StartTime":         timestamp(start),
		"EndTime":           timestamp(end),
		"ScanBy":            cbor.String("TimestampAscending"),
	}
	for {
		page, err := c.getMetricData(ctx, in)
		if err != nil {
			return nil, awserr.Wrap("read the CloudWatch metrics of "+instance, err)
		}
		results, _ := page["MetricDataResults"].(cbor.List)
		for _, r := range results {
			r, _ := r.(cbor.Map)
			s, ok := byID[str(r["Id"])]
			if !ok {
				continue
			}
			if status := str(r["StatusCode"]); status == "Forbidden" || status == "InternalError" {
				return nil, fmt.Errorf("CloudWatch metrics of %s: %s is %s", instance, s.Kind.Label, status)
			}
			times, _ := r["Timestamps"].(cbor.List)
			values, _ := r["Values"].(cbor.List)
			for i, tv := range times {
				if i >= len(values) {
					break
				}
				t, terr := cbor.AsTime(tv)
				v, verr := cbor.AsFloat64(values[i])
				if terr != nil || verr != nil {
					return nil, fmt.Errorf("CloudWatch metrics of %s: a malformed point of %s", instance, s.Kind.Label)
				}
				s.Points = append(s.Points, metrics.Point{Time: t.UTC(), Maximum: v, Unit: s.Kind.Unit})
			}
		}
		next := str(page["NextToken"])
		if next == "" {
			break
		}
		in["NextToken"] = cbor.String(next)
	}
	for i := range series {
		metrics.Sort(&series[i])
	}
	return series, nil
}

// getMetricData is one GetMetricData call.
func (c CloudWatch) getMetricData(ctx context.Context, in cbor.Map) (cbor.Map, error) {
	_, body, err := c.cw.Do(ctx, awsreq.Request{
		Method: http.MethodPost,
		Path:   "/service/GraniteServiceVersion20100801/operation/GetMetricData",
		Header: http.Header{"Smithy-Protocol": {"rpc-v2-cbor"}, "Content-Type": {"application/cbor"}, "Accept": {"application/cbor"}},
		Body:   cbor.Encode(in),
	})
	if err != nil {
		return nil, err
	}
	v, err := cbor.Decode(body)
	page, ok := v.(cbor.Map)
	if err != nil || !ok {
		return nil, fmt.Errorf("monitoring: the answer is not a CBOR map")
	}
	return page, nil
}
