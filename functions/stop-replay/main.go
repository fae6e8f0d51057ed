// Command stop-replay is the Lambda function behind POST /api/replays/{id}/stop.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withworker"
)

func main() { serve.Main(api.StopReplay, withworker.HandsWork) }
