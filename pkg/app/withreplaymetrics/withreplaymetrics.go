// Package withreplaymetrics reads replays' targets' metrics from CloudWatch: nothing of a
// replay's metrics is kept in the table or the bucket, so unlike withcloudwatch it links no S3.
package withreplaymetrics

import (
	"time"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics"
)

// ReadsReplayMetrics lets an API function read replays' targets' metrics.
func ReadsReplayMetrics(a app.AWS, s *api.Server) {
	s.Metrics = &metrics.Keeper{RDS: rdsmetrics.New(a.Config, app.Endpoint("CLOUDWATCH")), Now: time.Now}
}
