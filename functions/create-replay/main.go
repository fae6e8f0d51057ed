// Command create-replay is the Lambda function behind POST /api/replays.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withworker"
)

func main() { serve.Main(api.CreateReplay, withworker.HandsWork) }
