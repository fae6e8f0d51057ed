// Package withcloudwatch reads captures' metrics: CloudWatch for RDS environments, the table's
// counter samples for others, and the copies kept in the workload bucket.
package withcloudwatch

import (
	"time"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withs3"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics"
)

// Metrics reads and keeps captures' metrics.
func Metrics(a app.AWS) *metrics.Keeper {
	return &metrics.Keeper{
		RDS:     rdsmetrics.New(a.Config, app.Endpoint("CLOUDWATCH")),
		Samples: a.Store, Files: withs3.Files(a), Now: time.Now,
	}
}

// ReadsMetrics lets an API function read captures' metrics.
func ReadsMetrics(a app.AWS, s *api.Server) { s.Metrics = Metrics(a) }
