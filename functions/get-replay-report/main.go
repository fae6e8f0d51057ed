// Command get-replay-report is the Lambda function behind GET /api/replays/{id}/report.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withs3"
)

func main() { serve.Main(api.GetReplayReport, withs3.KeepsFiles) }
