// Command get-replay-metrics is the Lambda function behind GET /api/replays/{id}/metrics.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withreplaymetrics"
)

func main() { serve.Main(api.GetReplayMetrics, withreplaymetrics.ReadsReplayMetrics) }
