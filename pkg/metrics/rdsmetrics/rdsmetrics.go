// Package rdsmetrics reads an RDS instance's metrics from CloudWatch. It is apart from package
// metrics so that only the functions that call CloudWatch link its client.
package rdsmetrics

import (
	"context"
	"fmt"
	"time"

	"github.com/mycrt/captures/pkg/awserr"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/mycrt/captures/pkg/metrics"
)

// Period is CloudWatch's finest standard resolution for RDS: one point a minute.
const Period = 60 * time.Second

// api is the part of CloudWatch this needs.
type api interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// CloudWatch reads the AWS/RDS namespace.
type CloudWatch struct {
	Client api
}

// Window returns the Maximum of every metrics.Kinds series of instance over [start, end], one
// point a minute, all in one GetMetricData request followed through its pages.
func (c CloudWatch) Window(ctx context.Context, instance string, start, end time.Time) ([]metrics.Series, error) {
	// CloudWatch aligns one-minute periods to the minute; a window inside one minute would ask
	// for nothing, so the window is widened to whole minutes.
	start = start.UTC().Truncate(Period)
	end = end.UTC().Truncate(Period).Add(Period)
	queries := make([]types.MetricDataQuery, len(metrics.Kinds))
	for i, k := range metrics.Kinds {
		queries[i] = types.MetricDataQuery{
			Id:    aws.String(fmt.Sprintf("m%d", i)),
			Label: aws.String(k.Label),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{
					Namespace:  aws.String("AWS/RDS"),
					MetricName: aws.String(k.Label),
					Dimensions: []types.Dimension{{Name: aws.String("DBInstanceIdentifier"), Value: aws.String(instance)}},
				},
				Period: aws.Int32(int32(Period.Seconds())),
				Stat:   aws.String("Maximum"),
			},
			ReturnData: aws.Bool(true),
		}
	}
	series := make([]metrics.Series, len(metrics.Kinds))
	byID := map[string]*metrics.Series{}
	for i, k := range metrics.Kinds {
		series[i] = metrics.Series{Kind: k, Points: []metrics.Point{}}
		byID[aws.ToString(queries[i].Id)] = &series[i]
	}
	pages := cloudwatch.NewGetMetricDataPaginator(c.Client, &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries,
		StartTime:         &start,
		EndTime:           &end,
		ScanBy:            types.ScanByTimestampAscending,
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, awserr.Wrap("read the CloudWatch metrics of "+instance, err)
		}
		for _, r := range page.MetricDataResults {
			s, ok := byID[aws.ToString(r.Id)]
			if !ok {
				continue
			}
			if r.StatusCode == types.StatusCodeForbidden || r.StatusCode == types.StatusCodeInternalError {
				return nil, fmt.Errorf("CloudWatch metrics of %s: %s is %s", instance, s.Kind.Label, r.StatusCode)
			}
			for i, t := range r.Timestamps {
				if i < len(r.Values) {
					s.Points = append(s.Points, metrics.Point{Time: t.UTC(), Maximum: r.Values[i], Unit: s.Kind.Unit})
				}
			}
		}
	}
	for i := range series {
		metrics.Sort(&series[i])
	}
	return series, nil
}
