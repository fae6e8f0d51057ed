// Command get-capture-metrics is the Lambda function behind GET /api/captures/{id}/metrics.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withcloudwatch"
)

func main() { serve.Main(api.GetCaptureMetrics, withcloudwatch.ReadsMetrics) }
